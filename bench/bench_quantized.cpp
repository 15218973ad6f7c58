// The quantized cases of issue 12 (docs/PERFORMANCE.md, Q1-Q3): xent on int8 model outputs
// (xent::quantized), and what a user writes today, "<group>/<case>/dequantize_xent": dequantize the
// batch into a float buffer (TFLite's rule, baseline_dequantize.cpp) and then xent's float32 path.
// The float32 rows they are compared with are P1's, P3's and P4's, timed in the same run.
//
// The int8 inputs are bench_data's logits and softmax probabilities quantized as a TFLite model's
// output would be (quantize_tflite): logits with a scale and zero point from their range,
// probabilities with the fixed int8 softmax parameters (1/256, -128).
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "bench_cases.hpp"
#include "xent/metrics.hpp"
#include "xent/quantized.hpp"

namespace xent_bench {
namespace {

// An int8 case: the float32 kind it mirrors (same rows, labels and metric), from int8 predictions.
struct QSpec {
  Kind kind = Kind::sparse_logits;
  std::size_t rows = 0;
  std::size_t classes = 0;
};

bool from_logits(Kind kind) { return kind == Kind::sparse_logits || kind == Kind::categorical_logits; }
bool is_sparse(Kind kind) { return kind == Kind::sparse_logits || kind == Kind::sparse_probs; }

// "sparse_logits_i8_256x32000": the float32 case's name with its dtype replaced.
std::string case_name(const QSpec& s) {
  std::string name = kind_name(s.kind);
  name.replace(name.rfind("_f32"), 4, "_i8");
  return name + "_" + std::to_string(s.rows) + "x" + std::to_string(s.classes);
}

struct QInput {
  const Batch* batch;
  const std::int8_t* q;
  float scale;
  std::int32_t zero_point;
};

QInput input_of(const QSpec& s) {
  const unsigned parts = (from_logits(s.kind) ? kLogitsI8 : kProbsI8) | (is_sparse(s.kind) ? 0u : kOneHot);
  const Batch& b = batch(s.rows, s.classes, parts);
  if (from_logits(s.kind)) return {&b, b.logits_i8.data(), b.logits_i8_scale, b.logits_i8_zero_point};
  return {&b, b.probs_i8.data(), kSoftmaxI8Scale, kSoftmaxI8ZeroPoint};
}

// One fresh metric's update over the case's truth and these predictions: the batch total.
template <class Pred>
double update_total(const QSpec& s, const Batch& b, Pred pred) {
  xent::Status status;
  double total;
  if (is_sparse(s.kind)) {
    xent::SparseOptions o;
    o.from_logits = from_logits(s.kind);
    xent::SparseCategoricalCrossentropy<> m(o);
    status = m.update_state(xent::view(b.labels.data(), {b.rows}), pred);
    total = m.total();
  } else {
    xent::CategoricalOptions o;
    o.from_logits = from_logits(s.kind);
    xent::CategoricalCrossentropy<> m(o);
    status = m.update_state(xent::view(b.onehot.data(), {b.rows, b.classes}), pred);
    total = m.total();
  }
  return status == xent::Status::ok ? total : std::nan("");
}

double xent_int8_total(const QSpec& s) {
  const QInput in = input_of(s);
  return update_total(s, *in.batch, xent::quantized(in.q, {s.rows, s.classes}, in.scale, in.zero_point));
}

// The user's float buffer for a case (rows x classes floats), made on first use and kept for the run.
std::vector<float>& float_buffer(const QSpec& s) {
  static std::map<std::tuple<int, std::size_t, std::size_t>, std::vector<float>> buffers;
  auto& buf = buffers[std::make_tuple(static_cast<int>(s.kind), s.rows, s.classes)];
  buf.resize(s.rows * s.classes);
  return buf;
}

double dequantize_then_xent(const QSpec& s) {
  const QInput in = input_of(s);
  std::vector<float>& buf = float_buffer(s);
  dequantize_i8(in.q, buf.size(), in.scale, in.zero_point, buf.data());
  return update_total(s, *in.batch, xent::view(buf.data(), {s.rows, s.classes}));
}

// The scalar reference (std::exp / std::log loops) over the dequantized values, once per case.
double reference_total(const QSpec& s) {
  static std::map<std::tuple<int, std::size_t, std::size_t>, double> cache;
  const auto key = std::make_tuple(static_cast<int>(s.kind), s.rows, s.classes);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const QInput in = input_of(s);
    std::vector<float>& buf = float_buffer(s);
    dequantize_i8(in.q, buf.size(), in.scale, in.zero_point, buf.data());
    Case c = case_of(Spec{s.kind, s.rows, s.classes, 0.0f});
    c.pred = buf.data();
    it = cache.emplace(key, baseline_fn(scalar_baseline(), s.kind)(c)).first;
  }
  return it->second;
}

// The quantization's parameters and its effect on the loss (the int8 total against the float32
// logits' or probabilities' total), reported beside the rate; no target.
void set_quant_counters(benchmark::State& state, const QSpec& s, double int8_total) {
  const QInput in = input_of(s);
  state.counters["q_scale"] = in.scale;
  state.counters["q_zero_point"] = in.zero_point;
  const double f32 = xent_total(Spec{s.kind, s.rows, s.classes, 0.0f});
  state.counters["q_loss_shift"] = (int8_total - f32) / static_cast<double>(s.rows);  // mean per-row loss change
}

void run_int8(benchmark::State& state, QSpec s) {
  const double ours = xent_int8_total(s);
  const double ref = reference_total(s);
  if (!agree(ours, ref)) {
    state.SkipWithError(("xent (int8) disagrees with the scalar reference on the dequantized values: " +
                         std::to_string(ours) + " vs " + std::to_string(ref))
                            .c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(xent_int8_total(s));
  set_counters(state, s.rows, s.rows * s.classes, sizeof(std::int8_t));
  set_quant_counters(state, s, ours);
}

void run_dequantize(benchmark::State& state, QSpec s) {
  const double theirs = dequantize_then_xent(s);
  const double ours = xent_int8_total(s);
  if (!agree(ours, theirs)) {
    state.SkipWithError(("dequantize + xent float32 disagrees with xent (int8): " + std::to_string(theirs) + " vs " +
                         std::to_string(ours))
                            .c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(dequantize_then_xent(s));
  set_counters(state, s.rows, s.rows * s.classes, sizeof(std::int8_t));
}

void add(const std::string& group, const QSpec& s, bool with_baseline) {
  const std::string prefix = group + "/" + case_name(s) + "/";
  add_benchmark(prefix + "xent", run_int8, s);
  if (with_baseline) add_benchmark(prefix + "dequantize_xent", run_dequantize, s);
}

}  // namespace

void register_quantized() {
  // Q1: sparse from int8 logits, 256 x 32,000 (rows in L2, as P1), against P1's float32 rate.
  add("Q1", QSpec{Kind::sparse_logits, 256, 32000}, true);
  // For the report's diagnosis of Q2 (no target): int8 rows hot in L2 (4 x 32,000 = 128 KB).
  add("Q1", QSpec{Kind::sparse_logits, 4, 32000}, false);
  // Q2: the same from DRAM: P3's 64M logits, 64 MiB of int8 (twice the L3) against P3's 256 MiB of float32.
  add("Q2", QSpec{Kind::sparse_logits, 2048, 32768}, true);
  // Q3: 4,096 x 10, int8 softmax outputs (probabilities) and int8 logits, both metrics, against P4 per row.
  for (Kind kind : {Kind::sparse_probs, Kind::sparse_logits, Kind::categorical_probs, Kind::categorical_logits})
    add("Q3", QSpec{kind, 4096, 10}, true);
}

}  // namespace xent_bench
