# Header-only dependencies from Debian packages.
# The Debian xsimd package's CMake target links a non-existent `xtl`, and in a cross build
# adding /usr/include as an include directory would shadow the target's own libc headers.
# So each header tree is exposed through a private directory of symlinks in the build tree.
set(_xent_dep_include "${PROJECT_BINARY_DIR}/_deps/include")
file(MAKE_DIRECTORY "${_xent_dep_include}")

function(_xent_link_header_dir var header subdir)
  find_path(${var} ${header} PATHS /usr/include /usr/local/include
            NO_CMAKE_FIND_ROOT_PATH)
  if(${var})
    if(NOT EXISTS "${_xent_dep_include}/${subdir}")
      file(CREATE_LINK "${${var}}/${subdir}" "${_xent_dep_include}/${subdir}" SYMBOLIC)
    endif()
  endif()
  set(${var} "${${var}}" PARENT_SCOPE)
endfunction()

_xent_link_header_dir(XENT_XSIMD_INCLUDE_DIR xsimd/xsimd.hpp xsimd)
if(NOT XENT_XSIMD_INCLUDE_DIR)
  message(FATAL_ERROR "xsimd headers not found: apt-get install libxsimd-dev")
endif()
add_library(xent_xsimd INTERFACE)
target_include_directories(xent_xsimd SYSTEM INTERFACE "$<BUILD_INTERFACE:${_xent_dep_include}>")

if(XENT_BUILD_TESTS OR XENT_BUILD_FUZZERS)
  _xent_link_header_dir(XENT_DOCTEST_INCLUDE_DIR doctest/doctest.h doctest)
  if(NOT XENT_DOCTEST_INCLUDE_DIR)
    message(FATAL_ERROR "doctest not found: apt-get install doctest-dev")
  endif()
  add_library(xent_doctest INTERFACE)
  target_include_directories(xent_doctest SYSTEM INTERFACE "${_xent_dep_include}")
  if(CMAKE_CXX_FLAGS MATCHES "-fno-exceptions")
    # Without exceptions doctest refuses REQUIRE unless asked to keep it (a failed one ends the run).
    target_compile_definitions(xent_doctest INTERFACE DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS)
  endif()
  if(XENT_BARE_METAL)
    # newlib on a microcontroller: no threads, no POSIX signals.
    target_compile_definitions(xent_doctest INTERFACE DOCTEST_CONFIG_NO_MULTITHREADING DOCTEST_CONFIG_NO_POSIX_SIGNALS)
  endif()
  find_file(XENT_DOCTEST_CMAKE doctest.cmake
            PATHS /usr/lib/cmake/doctest /usr/share/doctest/cmake /usr/local/lib/cmake/doctest
            NO_CMAKE_FIND_ROOT_PATH NO_DEFAULT_PATH)
  if(NOT XENT_DOCTEST_CMAKE)
    message(FATAL_ERROR "doctest.cmake not found: apt-get install doctest-dev")
  endif()
  include("${XENT_DOCTEST_CMAKE}")
endif()
