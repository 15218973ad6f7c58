# Warning flags for every target we own; third-party headers come in as SYSTEM.
add_library(xent_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(xent_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow
    $<$<BOOL:${XENT_WARNINGS_AS_ERRORS}>:-Werror>)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(arm|armv7)")
    # gcc notes an ABI change of vector arguments since gcc 7; we never pass vectors across builds.
    target_compile_options(xent_warnings INTERFACE -Wno-psabi)
  endif()
endif()
