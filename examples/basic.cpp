// The README's example: Keras's worked example, on the stack, with no allocation.
#include <xent/xent.hpp>

#include <cstdio>

int main() {
  const float y_pred[2][3] = {{0.05f, 0.95f, 0.0f}, {0.1f, 0.8f, 0.1f}};
  const float one_hot[2][3] = {{0, 1, 0}, {0, 0, 1}};
  const int labels[2] = {1, 2};
  const float weights[2] = {0.3f, 0.7f};

  xent::SparseCategoricalCrossentropy<> sparse;
  xent::CategoricalCrossentropy<> categorical;
  if (sparse.update_state(xent::view(labels, {2}), xent::view(&y_pred[0][0], {2, 3})) != xent::Status::ok) return 1;
  if (categorical.update_state(xent::view(&one_hot[0][0], {2, 3}), xent::view(&y_pred[0][0], {2, 3})) !=
      xent::Status::ok)
    return 1;

  xent::SparseCategoricalCrossentropy<> weighted;
  const xent::Status s = weighted.update_state(xent::view(labels, {2}), xent::view(&y_pred[0][0], {2, 3}),
                                               xent::view(weights, {2}));
  if (s != xent::Status::ok) {
    std::fprintf(stderr, "%s\n", xent::status_message(s));
    return 1;
  }
  std::printf("sparse %.7f categorical %.7f weighted %.7f (kernels: %s)\n", static_cast<double>(sparse.result()),
              static_cast<double>(categorical.result()), static_cast<double>(weighted.result()), xent::active_isa());
  return 0;
}
