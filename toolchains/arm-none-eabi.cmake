# Debian's arm-none-eabi gcc 12 with newlib, for bare-metal Cortex-M. XENT_MCU_CPU picks the core
# (cortex-m4: FPv4-SP single-precision FPU; cortex-m55: FPv5 with double precision and Helium);
# the tests run on QEMU's board for that core through ports/cortex-m/run.sh.
# For your own board: keep the flags, and link your startup code and linker script instead of
# ports/cortex-m (XENT_MCU_PORT=OFF).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR cortex-m)   # neither x86 nor an A-profile ARM: the scalar kernel table
set(CMAKE_C_COMPILER   arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)   # no startup code for try_compile's executables

set(XENT_MCU_CPU "cortex-m4" CACHE STRING "cortex-m4 or cortex-m55")
if(XENT_MCU_CPU STREQUAL "cortex-m4")
  set(_xent_mcu_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(XENT_MCU_CPU STREQUAL "cortex-m55")
  # -Wno-psabi: GCC notes an ABI change of GCC 9 for structs with doubles passed on the stack.
  set(_xent_mcu_flags "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -Wno-psabi")
else()
  message(FATAL_ERROR "XENT_MCU_CPU must be cortex-m4 or cortex-m55, not '${XENT_MCU_CPU}'")
endif()
set(CMAKE_C_FLAGS_INIT   "${_xent_mcu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${_xent_mcu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")
# Release at -O2: on these single-issue cores -O3 ran the same instruction counts
# (ports/cortex-m/budgets.py) in a third more code (make_plan: 5.9 KB against 2.1 KB).
set(CMAKE_C_FLAGS_RELEASE_INIT "-O2 -DNDEBUG")
set(CMAKE_CXX_FLAGS_RELEASE_INIT "-O2 -DNDEBUG")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
