// An outside program written against the public API only.
#include <xent/xent.hpp>

#include <cstdio>

int main() {
  const float y_pred[] = {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f};
  const int labels[] = {1, 2};
  xent::SparseCategoricalCrossentropy<> metric;
  if (metric.update_state(xent::view(labels, {2}), xent::view(y_pred, {2, 3})) != xent::Status::ok) return 1;
  std::printf("%.7f (%s)\n", static_cast<double>(metric.result()), xent::active_isa());
  return 0;
}
