// The flash budget's firmware: one metric, SparseCategoricalCrossentropy<> from float32 logits.
// Built twice (budgets/CMakeLists.txt): with XENT_FLASH_WITH_XENT=1 it links xent, with 0 it does
// the same input and output without it; the difference of their sizes is what xent costs a firmware.
#include <cstdint>
#include <cstring>

#include "semihost.h"
#if XENT_FLASH_WITH_XENT
#include <xent/metrics.hpp>
#endif

namespace {

// SEMANTICS.md's worked example as logits (log of the probabilities): loss 1.1769392.
const float kLogits[2][3] = {{-2.9957323f, -0.0512933f, -16.118095f}, {-2.3025851f, -0.2231435f, -2.3025851f}};
const std::int32_t kLabels[2] = {1, 2};

#if XENT_FLASH_WITH_XENT
xent::SparseOptions logits() {
  xent::SparseOptions o;
  o.from_logits = true;
  return o;
}
xent::SparseCategoricalCrossentropy<> g_metric(logits());
#endif

// The result's bits in hex: no printf, so the firmware is the smallest that shows a result.
void print_bits(float v) {
  std::uint32_t u = 0;
  std::memcpy(&u, &v, sizeof u);
  char line[] = "result 0x........\n";
  for (int i = 0; i < 8; ++i) line[9 + i] = "0123456789abcdef"[(u >> (28 - 4 * i)) & 0xFu];
  xent_semihost_write(1, line, sizeof line - 1);
}

}  // namespace

int main() {
#if XENT_FLASH_WITH_XENT
  if (g_metric.update_state(xent::view(kLabels, {2}), xent::view(&kLogits[0][0], {2, 3})) != xent::Status::ok)
    return 1;
  print_bits(g_metric.result());
#else
  // The same data read and a value printed, so only the metric's code differs.
  volatile float sink = kLogits[0][kLabels[0]] + kLogits[1][kLabels[1]];
  print_bits(sink);
#endif
  return 0;
}
