// The kernels of simd_kernels.hpp compiled for SSE2 (4 lanes; float16 by the integer method), in their own namespace.
#define XENT_KERNEL_NS sse2
#include "kernels/simd_kernels.hpp"
#include "kernels/tables.hpp"

namespace xent::detail::sse2 {

const KernelTable& table() noexcept {
  static constexpr KernelTable kTable = make_table<xsimd::sse2>("sse2");
  return kTable;
}

}  // namespace xent::detail::sse2
