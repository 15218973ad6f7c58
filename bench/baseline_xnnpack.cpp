// XNNPACK (libxnnpack-dev, the engine behind TFLite's CPU delegate): the f32 softmax operator
// with no thread pool. The operator is created once per class count (outside the timing); each
// update sets it up on the batch, runs it into a rows x classes output tensor, and the loss is
// -log(softmax[label]) summed: softmax then the label's log, the route an XNNPACK graph takes.
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include <xnnpack.h>

#include "baselines.hpp"

namespace xent_bench {
namespace {

struct Softmax {
  xnn_operator_t op = nullptr;
  std::vector<float> out;
};

Softmax* softmax_for(std::size_t rows, std::size_t classes) {
  static const bool ready = xnn_initialize(nullptr) == xnn_status_success;
  static std::map<std::size_t, Softmax> cache;
  if (!ready) return nullptr;
  Softmax& s = cache[classes];
  if (s.op == nullptr && xnn_create_softmax_nc_f32(classes, classes, classes, 0, &s.op) != xnn_status_success)
    return nullptr;
  if (s.out.size() < rows * classes) s.out.resize(rows * classes);
  return &s;
}

double sparse_logits(const Case& c) {
  Softmax* s = softmax_for(c.rows, c.classes);
  if (s == nullptr || xnn_setup_softmax_nc_f32(s->op, c.rows, c.pred, s->out.data(), nullptr) != xnn_status_success ||
      xnn_run_operator(s->op, nullptr) != xnn_status_success)
    return std::nan("");  // fails the check against xent, so it is reported, never timed
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r)
    total -= std::log(static_cast<double>(s->out[r * c.classes + static_cast<std::size_t>(c.labels[r])]));
  return total;
}

}  // namespace

const Baseline* xnnpack_baseline() {
  static const Baseline b{"xnnpack", sparse_logits, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return &b;
}

}  // namespace xent_bench
