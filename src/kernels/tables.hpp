#pragma once
// The compiled kernel tables, one per instruction set, each in its own namespace (ODR).
#include "kernels/kernel_table.hpp"

namespace xent::detail {
namespace scalar { const KernelTable& table() noexcept; }
#if defined(XENT_HAVE_X86_KERNELS)
namespace sse2 { const KernelTable& table() noexcept; }
namespace avx2 { const KernelTable& table() noexcept; }
namespace avx512 { const KernelTable& table() noexcept; }
#endif
#if defined(XENT_HAVE_NEON_KERNELS)
namespace neon { const KernelTable& table() noexcept; }
#endif
}  // namespace xent::detail
