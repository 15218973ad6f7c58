#!/bin/sh
# run.sh BOARD ELF [ARG...]: runs a bare-metal program on QEMU's BOARD (mps2-an386, mps3-an547)
# with semihosting, passing ARGs, and exits with the program's exit status (124 after
# XENT_MCU_TIMEOUT seconds, default 300). CMake uses it as CMAKE_CROSSCOMPILING_EMULATOR.
# XENT_MCU_QEMU_ARGS adds options (e.g. "-icount shift=0" to count instructions).
set -eu
board=$1
elf=$2
shift 2
set -- "$elf" "$@"
args=""
for a in "$@"; do
  # Quote for the program's argument splitter (startup.c), then double commas for QEMU's parser.
  q=$(printf '%s' "$a" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/,/,,/g')
  args="$args,arg=\"$q\""
done
exec timeout "${XENT_MCU_TIMEOUT:-300}" qemu-system-arm -M "$board" -nographic -monitor none \
  -serial null ${XENT_MCU_QEMU_ARGS:-} -semihosting-config "enable=on,target=native$args" -kernel "$elf"
