// The kernels of simd_kernels.hpp compiled for NEON: "neon64" on aarch64, "neon" on armv7
// (-mfpu=neon-vfpv4: FMA and float16 conversions; NEON flushes subnormals to zero there).
#define XENT_KERNEL_NS neon
#include "kernels/simd_kernels.hpp"
#include "kernels/tables.hpp"

namespace xent::detail::neon {

const KernelTable& table() noexcept {
#if defined(__aarch64__)
  static constexpr KernelTable kTable = make_table<xsimd::neon64>("neon64");
#else
  static constexpr KernelTable kTable = make_table<xsimd::neon>("neon");
#endif
  return kTable;
}

}  // namespace xent::detail::neon
