// Chooses the kernel table once per process: on x86 the best ISA the CPU and OS support (cpuid +
// xgetbv), lowered by XENT_ISA=scalar|sse2|avx2|avx512; on ARM the NEON table when compiled in
// (XENT_ISA=scalar still forces the scalar path); otherwise the scalar table. Bare metal
// (XENT_BARE_METAL) reads no environment: the table compiled for the core is the one.
#include <cstdlib>
#include <cstring>

#include "kernels/kernel_table.hpp"
#include "kernels/tables.hpp"

#if defined(XENT_HAVE_X86_KERNELS)
#include <cpuid.h>
#endif

namespace xent::detail {
namespace {

#if defined(XENT_HAVE_X86_KERNELS)
enum class X86Level { sse2 = 1, avx2 = 2, avx512 = 3 };

unsigned long long xgetbv0() noexcept {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

X86Level detect_x86() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return X86Level::sse2;
  const bool osxsave = (c & (1u << 27)) != 0;
  const bool fma = (c & (1u << 12)) != 0;
  const bool f16c = (c & (1u << 29)) != 0;
  const bool avx = (c & (1u << 28)) != 0;
  if (!osxsave || !avx) return X86Level::sse2;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6u) == 0x6u;     // XMM and YMM saved by the OS
  const bool zmm_state = (xcr0 & 0xe6u) == 0xe6u;   // plus opmask and both ZMM halves
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return X86Level::sse2;
  const bool avx2 = (b & (1u << 5)) != 0;
  const bool avx512 = (b & (1u << 16)) != 0 && (b & (1u << 28)) != 0 &&  // F, CD
                      (b & (1u << 17)) != 0 && (b & (1u << 30)) != 0;    // DQ, BW
  if (!(ymm_state && avx2 && fma && f16c)) return X86Level::sse2;
  if (avx512 && zmm_state) return X86Level::avx512;
  return X86Level::avx2;
}

const KernelTable& x86_table(X86Level level) noexcept {
  switch (level) {
    case X86Level::avx512: return avx512::table();
    case X86Level::avx2: return avx2::table();
    case X86Level::sse2: break;
  }
  return sse2::table();
}
#endif

#if !defined(XENT_BARE_METAL)
bool isa_forced(const char* name) noexcept {
  const char* forced = std::getenv("XENT_ISA");
  return forced != nullptr && std::strcmp(forced, name) == 0;
}

const KernelTable& choose() noexcept {
  if (isa_forced("scalar")) return scalar::table();
#if defined(XENT_HAVE_X86_KERNELS)
  const char* forced = std::getenv("XENT_ISA");
  X86Level level = detect_x86();
  if (forced != nullptr) {
    // A lower request is honoured; a higher one than the CPU runs falls back to the best.
    if (std::strcmp(forced, "sse2") == 0 && level > X86Level::sse2) level = X86Level::sse2;
    if (std::strcmp(forced, "avx2") == 0 && level > X86Level::avx2) level = X86Level::avx2;
  }
  return x86_table(level);
#else
  return best_kernels();
#endif
}
#endif

}  // namespace

bool avx512_vbmi_allowed() noexcept {
#if defined(XENT_HAVE_X86_KERNELS) && !defined(XENT_BARE_METAL)
  static const bool allowed = __builtin_cpu_supports("avx512vbmi") && !isa_forced("avx512-novbmi");
  return allowed;
#else
  return false;
#endif
}

bool avx512_vnni_allowed() noexcept {
#if defined(XENT_HAVE_X86_KERNELS) && !defined(XENT_BARE_METAL)
  static const bool allowed = __builtin_cpu_supports("avx512vnni") && avx512_vbmi_allowed();
  return allowed;
#else
  return false;
#endif
}

const KernelTable& best_kernels() noexcept {
#if defined(XENT_HAVE_X86_KERNELS)
  static const KernelTable& best = x86_table(detect_x86());
#elif defined(XENT_HAVE_NEON_KERNELS)
  static const KernelTable& best = neon::table();
#else
  const KernelTable& best = scalar::table();
#endif
  return best;
}

const KernelTable& kernels() noexcept {
#if defined(XENT_BARE_METAL)
  return best_kernels();   // fixed at compile time: no environment to read
#else
  static const KernelTable& chosen = choose();
  return chosen;
#endif
}

}  // namespace xent::detail
