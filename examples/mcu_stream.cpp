// Bare-metal example: a classifier's loss watched on a stream of its outputs, everything in static
// storage (no heap, no exceptions), as firmware next to TFLite Micro would do it. It first prints
// SEMANTICS.md's worked examples, then feeds 64 batches of 8 ten-class logit rows, as an inference
// loop would produce them, into one metric with per-class sums, and prints the stream's loss.
#include <xent/xent.hpp>

#include <cstdint>
#include <cstdio>

namespace {

constexpr std::size_t kClasses = 10, kBatch = 8, kBatches = 64;

// One batch of model outputs and its labels, overwritten by each "inference".
float g_logits[kBatch][kClasses];
std::int32_t g_labels[kBatch];

xent::SparseOptions stream_options() {
  xent::SparseOptions o;
  o.from_logits = true;
  o.per_class = true;
  return o;
}
xent::SparseCategoricalCrossentropy<kClasses> g_loss(stream_options(), "stream_loss");

// A stand-in for the model: a deterministic generator of logits whose top class is the label
// three times out of four, with margins like a trained digit classifier's.
std::uint32_t g_seed = 12345u;
float next_uniform() {  // in [0, 1)
  g_seed = g_seed * 1664525u + 1013904223u;
  return static_cast<float>(g_seed >> 8) * (1.0f / 16777216.0f);
}
void infer_batch() {
  for (std::size_t r = 0; r < kBatch; ++r) {
    const std::int32_t label = static_cast<std::int32_t>(next_uniform() * kClasses);
    const bool right = next_uniform() < 0.75f;
    const std::size_t top = right ? static_cast<std::size_t>(label) : (static_cast<std::size_t>(label) + 1) % kClasses;
    for (std::size_t k = 0; k < kClasses; ++k) g_logits[r][k] = 4.0f * next_uniform() - 2.0f;
    g_logits[r][top] += 6.0f;
    g_labels[r] = label;
  }
}

bool worked_examples() {
  static const float y_pred[2][3] = {{0.05f, 0.95f, 0.0f}, {0.1f, 0.8f, 0.1f}};
  static const float one_hot[2][3] = {{0, 1, 0}, {0, 0, 1}};
  static const std::int32_t labels[2] = {1, 2};
  static const float weights[2] = {0.3f, 0.7f};
  static xent::SparseCategoricalCrossentropy<> sparse, weighted;
  static xent::CategoricalCrossentropy<> categorical;
  const auto pred = xent::view(&y_pred[0][0], {2, 3});
  if (sparse.update_state(xent::view(labels, {2}), pred) != xent::Status::ok ||
      categorical.update_state(xent::view(&one_hot[0][0], {2, 3}), pred) != xent::Status::ok ||
      weighted.update_state(xent::view(labels, {2}), pred, xent::view(weights, {2})) != xent::Status::ok)
    return false;
  std::printf("worked examples: sparse %.7f categorical %.7f weighted %.7f\n", static_cast<double>(sparse.result()),
              static_cast<double>(categorical.result()), static_cast<double>(weighted.result()));
  return true;
}

}  // namespace

int main() {
  if (!worked_examples()) return 1;
  for (std::size_t b = 0; b < kBatches; ++b) {
    infer_batch();
    const xent::Status s =
        g_loss.update_state(xent::view(g_labels, {kBatch}), xent::view(&g_logits[0][0], {kBatch, kClasses}));
    if (s != xent::Status::ok) {
      std::printf("batch %u: %s\n", static_cast<unsigned>(b), xent::status_message(s));
      return 1;
    }
  }
  std::printf("%s over %.0f rows: %.7f (kernels: %s)\n", g_loss.name(), g_loss.count(),
              static_cast<double>(g_loss.result()), xent::active_isa());
  for (std::size_t k = 0; k < kClasses; ++k)
    std::printf("  class %u: %.0f rows, loss %.4f\n", static_cast<unsigned>(k), g_loss.per_class_count(k),
                static_cast<double>(g_loss.per_class_result(k)));
  return 0;
}
