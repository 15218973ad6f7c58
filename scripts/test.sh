#!/usr/bin/env bash
# Every test on every target: installs what is missing, then configures, builds and runs ctest for
# each preset: host, asan (Address+UB sanitizers), noexcept (-fno-exceptions -fno-rtti),
# scalar (no SIMD), aarch64 and armhf (under qemu-user on a pinned CPU), cortex-m4 and cortex-m55
# (bare metal, under qemu-system-arm on QEMU's mps2-an386 and mps3-an547 boards), fuzz (clang's
# libFuzzer harnesses of fuzz/, XENT_FUZZ_SECONDS each, 60 by default).
# `scripts/test.sh host scalar` runs only the presets named. Repeated runs reuse build/<preset>.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(host asan noexcept scalar aarch64 armhf cortex-m4 cortex-m55 fuzz)
needs=("${XENT_HOST_PACKAGES[@]}")
for p in "${presets[@]}"; do
  case "$p" in
    aarch64|armhf) needs+=("${XENT_CROSS_PACKAGES[@]}");;
    cortex-m*) needs+=("${XENT_MCU_PACKAGES[@]}");;
    fuzz) needs+=("${XENT_FUZZ_PACKAGES[@]}");;
  esac
done
xent_need_packages "${needs[@]}"

failed=()
for p in "${presets[@]}"; do
  echo "=== preset $p ==="
  start=$SECONDS
  if cmake --workflow --preset "$p"; then
    echo "=== preset $p passed in $((SECONDS - start)) s ==="
  else
    echo "=== preset $p FAILED ==="
    failed+=("$p")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed presets: ${failed[*]}"
  exit 1
fi
echo "all presets passed: ${presets[*]}"
