// Chooses the kernel table once per process (see kernel_table.hpp).
#include "kernels/kernel_table.hpp"
#include "kernels/tables.hpp"

namespace xent::detail {

const KernelTable& best_kernels() noexcept {
  static const KernelTable& best = scalar::table();
  return best;
}

const KernelTable& kernels() noexcept {
  static const KernelTable& chosen = best_kernels();
  return chosen;
}

}  // namespace xent::detail
