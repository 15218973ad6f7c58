# Which SIMD translation units this target compiles.
#   x86:  foo_sse2.cpp, foo_avx2.cpp, foo_avx512.cpp, each with its own flags; chosen at run time.
#   ARM:  foo_neon.cpp, with the toolchain's flags (NEON chosen at compile time).
#   XENT_SIMD=OFF or another processor: none of them; the scalar path alone.
set(XENT_ARCH "other")
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(XENT_ARCH "x86")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(XENT_ARCH "arm64")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(arm|armv7)")
  set(XENT_ARCH "arm32")
endif()
if(NOT XENT_SIMD)
  set(XENT_ARCH "scalar")
endif()
message(STATUS "xent: SIMD kernels for ${XENT_ARCH}")

set(XENT_FLAGS_sse2   -msse2)
set(XENT_FLAGS_avx2   -mavx2 -mfma -mf16c)
set(XENT_FLAGS_avx512 -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx2 -mfma -mf16c)

# xent_filter_isa_sources(<out-var> <sources>...): keeps the sources this target compiles and
# gives each per-ISA file its flags.
function(xent_filter_isa_sources out)
  set(kept)
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_(sse2|avx2|avx512)\\.cpp$")
      if(XENT_ARCH STREQUAL "x86")
        set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${XENT_FLAGS_${CMAKE_MATCH_1}}")
        list(APPEND kept ${src})
      endif()
    elseif(src MATCHES "_neon\\.cpp$")
      if(XENT_ARCH MATCHES "^arm")
        list(APPEND kept ${src})
      endif()
    else()
      list(APPEND kept ${src})
    endif()
  endforeach()
  set(${out} ${kept} PARENT_SCOPE)
endfunction()

# Definitions the dispatcher reads: which per-ISA namespaces exist in this build.
set(XENT_ISA_DEFINITIONS)
if(XENT_ARCH STREQUAL "x86")
  list(APPEND XENT_ISA_DEFINITIONS XENT_HAVE_X86_KERNELS=1)
elseif(XENT_ARCH MATCHES "^arm")
  list(APPEND XENT_ISA_DEFINITIONS XENT_HAVE_NEON_KERNELS=1)
endif()
if(CMAKE_SYSTEM_NAME STREQUAL "Generic")
  # Bare metal: the kernel table is fixed at compile time (no getenv, no cpuid).
  list(APPEND XENT_ISA_DEFINITIONS XENT_BARE_METAL=1)
endif()
