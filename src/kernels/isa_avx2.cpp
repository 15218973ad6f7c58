// The kernels of simd_kernels.hpp compiled for AVX2 + FMA + F16C (8 lanes), in their own namespace.
#define XENT_KERNEL_NS avx2
#include "kernels/simd_kernels.hpp"
#include "kernels/tables.hpp"

namespace xent::detail::avx2 {

const KernelTable& table() noexcept {
  static constexpr KernelTable kTable = make_table<xsimd::fma3<xsimd::avx2>>("avx2");
  return kTable;
}

}  // namespace xent::detail::avx2
