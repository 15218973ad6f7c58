#!/usr/bin/env bash
# The main job: installs what is missing, builds the host release and runs `xent demo`
# on the bundled handwritten-digits data. Repeated runs reuse build/host.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
xent_need_packages "${XENT_HOST_PACKAGES[@]}"
if [ ! -f build/host/CMakeCache.txt ]; then
  cmake --preset host >/dev/null
fi
cmake --build build/host --target xent_cli -j "$(nproc)" >/dev/null
exec build/host/tools/xent demo "$@"
