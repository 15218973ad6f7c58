// The kernels of simd_kernels.hpp compiled for AVX-512 F/CD/DQ/BW (16 lanes), in their own namespace.
// GCC 12 reports its own AVX-512 intrinsics' _mm512_undefined_* as uninitialized (GCC bug 105593).
// Clang (the fuzz preset) has no -Wmaybe-uninitialized and would warn about the unknown group.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define XENT_KERNEL_NS avx512
#include "kernels/simd_kernels.hpp"
#include "kernels/tables.hpp"

namespace xent::detail::avx512 {

const KernelTable& table() noexcept {
  static constexpr KernelTable kTable = make_table<xsimd::avx512bw>("avx512");
  return kTable;
}

}  // namespace xent::detail::avx512
