# Bare-metal Cortex-M (toolchains/arm-none-eabi.cmake): every executable from here on links the
# QEMU board port (ports/cortex-m) and runs under ports/cortex-m/run.sh. With XENT_MCU_PORT=OFF
# the library alone is built, for a firmware with its own startup code and linker script.
option(XENT_MCU_PORT "Link tests and examples with ports/cortex-m (QEMU's boards)" ON)
if(NOT XENT_MCU_PORT)
  set(XENT_BUILD_TESTS OFF)
  set(XENT_BUILD_EXAMPLES OFF)
  return()
endif()
add_subdirectory(ports/cortex-m)
link_libraries(xent_cortex_m_port)
set(CMAKE_CROSSCOMPILING_EMULATOR "${PROJECT_SOURCE_DIR}/ports/cortex-m/run.sh;${XENT_MCU_BOARD}")
