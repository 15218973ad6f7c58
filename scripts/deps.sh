# Sourced by the scripts in this folder: installs the Debian packages they need when missing.
# xent_need_packages PKG...: installs what is missing (as root), or prints the exact command and fails.
xent_need_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "xent: missing Debian packages; install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "xent: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What a host build needs (library, tests, tools, benchmarks with the Eigen baseline).
XENT_HOST_PACKAGES=(cmake make g++ libc6-dev pkg-config libxsimd-dev doctest-dev libbenchmark-dev libeigen3-dev)
# The field's kernels the benchmarks race (issue 14, R1-R3); each is skipped when absent.
XENT_PEER_PACKAGES=(libsleef-dev libhwy-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev)
# What the cross builds and their tests under qemu need in addition.
XENT_CROSS_PACKAGES=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)
# The bare-metal Cortex-M presets: the arm-none-eabi toolchain with newlib, QEMU's boards, and
# python3 for the budgets test (ports/cortex-m/budgets.py).
XENT_MCU_PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm python3)
# The fuzz preset: clang 14 with libFuzzer and the sanitizer runtimes, and llvm-symbolizer for reports.
XENT_FUZZ_PACKAGES=(clang libclang-rt-14-dev llvm-14)
