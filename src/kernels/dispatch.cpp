// Chooses the kernel table once per process (see kernel_table.hpp).
#include "kernels/kernel_table.hpp"
#include "kernels/tables.hpp"

namespace xent::detail {

const KernelTable& kernels() noexcept {
  static const KernelTable& chosen = scalar::table();
  return chosen;
}

}  // namespace xent::detail
