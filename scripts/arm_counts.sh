#!/usr/bin/env bash
# The ARM instruction table of the README (issue 14, targets A1-A2 of docs/PERFORMANCE.md): builds
# the counting program (bench/arm_counts.cpp) and the qemu plugin (bench/qemu-count/) in the aarch64
# and armhf presets, counts under qemu-user (Cortex-A72, Cortex-A7) and prints the table. Exits 1
# when a target is missed. Extra arguments go to bench/report.py. Repeated runs reuse build/<preset>.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
xent_need_packages "${XENT_HOST_PACKAGES[@]}" "${XENT_CROSS_PACKAGES[@]}"
for preset in aarch64 armhf; do
  [ -f "build/$preset/CMakeCache.txt" ] || cmake --preset "$preset" >/dev/null
  cmake --build "build/$preset" -j2 --target xent_arm_counts xent_count_plugin >/dev/null
done
exec python3 bench/report.py --arm-only --cross-build build/aarch64 --cross-build build/armhf "$@"
