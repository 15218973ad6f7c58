// The stack and RAM budgets' firmware. Stack: paints the stack below the current stack pointer,
// calls one public entry point with its worst-case inputs, and finds the lowest word that changed
// (the high-water mark, the caller's small wrapper frame included; the metrics are in static
// storage, as a firmware keeps them). Every entry point, every
// element type, weights of each layout, per-class sums with both NaN policies, a class axis that
// is not last, the functional forms, the kernels and the C API. Prints
//   stack <bytes> <case>    one line a case, then   stack max <bytes> <case>
//   sizeof <bytes> <type>   for the metric types
// and exits 1 when a case fails or the deepest exceeds XENT_STACK_BUDGET bytes.
#include <xent/xent.h>

#include <xent/xent.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>

#ifndef XENT_STACK_BUDGET
#define XENT_STACK_BUDGET 1536
#endif

namespace {

using xent::bfloat16;
using xent::float16;

constexpr std::uint32_t kPaint = 0x5A17C0DEu;
constexpr std::size_t kPaintWords = 4096;  // 16 KiB below the stack pointer

bool g_ok = true;
std::size_t g_max = 0;
const char* g_max_name = "";

// Paints, calls fn, and returns the bytes below the stack pointer that fn wrote. noinline: its own
// frame is settled before the stack pointer is read.
[[gnu::noinline]] std::size_t high_water(bool (*fn)()) {
  std::uint32_t* sp = nullptr;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  volatile std::uint32_t* bottom = sp - kPaintWords;
  for (std::size_t i = 0; i < kPaintWords; ++i) bottom[i] = kPaint;
  const bool ok = fn();
  std::size_t i = 0;
  while (i < kPaintWords && bottom[i] == kPaint) ++i;
  g_ok = g_ok && ok;
  return (kPaintWords - i) * sizeof(std::uint32_t);
}

void measure(const char* name, bool (*fn)()) {
  const std::size_t bytes = high_water(fn);
  std::printf("stack %u %s\n", static_cast<unsigned>(bytes), name);
  if (bytes > g_max) g_max = bytes, g_max_name = name;
}

// ---- inputs: 70 rows (more than one block of rows) of 12 classes, and one row of 1,000 ----------

constexpr std::size_t kRows = 70, kClasses = 12, kLong = 1000;
float g_f32[kRows * kClasses];
float16 g_f16[kRows * kClasses];
bfloat16 g_bf16[kRows * kClasses];
float g_truth[kRows * kClasses];
float16 g_truth16[kRows * kClasses];
std::int32_t g_i32[kRows];
std::int64_t g_i64[kRows];
std::uint8_t g_u8[kRows];
std::uint16_t g_u16[kRows];
float g_flabels[kRows];
float g_w[kRows];
float16 g_w16[kRows];
float g_long[kLong];
float g_out[kLong];
unsigned char g_bytes[1024];
std::int8_t g_q8[kRows * kClasses];  // quantized predictions: int8 logits, and the same bytes as uint8

void fill() {
  std::uint32_t seed = 99;
  for (std::size_t i = 0; i < kRows * kClasses; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const float v = 0.05f + static_cast<float>(seed >> 8) * (1.0f / 16777216.0f);
    g_f32[i] = v;
    g_f16[i] = xent::to_float16(v);
    g_bf16[i] = xent::to_bfloat16(v);
    g_q8[i] = static_cast<std::int8_t>(static_cast<int>(seed >> 24) - 128);
  }
  for (std::size_t r = 0; r < kRows; ++r) {
    const auto y = static_cast<std::int32_t>(r % kClasses);
    g_i32[r] = y;
    g_i64[r] = y;
    g_u8[r] = static_cast<std::uint8_t>(y);
    g_u16[r] = static_cast<std::uint16_t>(y);
    g_flabels[r] = static_cast<float>(y);
    g_w[r] = 0.5f + static_cast<float>(r % 3);
    g_w16[r] = xent::to_float16(g_w[r]);
    for (std::size_t k = 0; k < kClasses; ++k) {
      g_truth[r * kClasses + k] = k == static_cast<std::size_t>(y) ? 1.0f : 0.0f;
      g_truth16[r * kClasses + k] = xent::to_float16(g_truth[r * kClasses + k]);
    }
  }
  for (std::size_t k = 0; k < kLong; ++k) g_long[k] = static_cast<float>(k % 17) * 0.25f - 2.0f;
}

template <class T>
const T* preds();
template <>
const float* preds<float>() { return g_f32; }
template <>
const float16* preds<float16>() { return g_f16; }
template <>
const bfloat16* preds<bfloat16>() { return g_bf16; }

template <class L>
const L* labels();
template <>
const std::int32_t* labels<std::int32_t>() { return g_i32; }
template <>
const std::int64_t* labels<std::int64_t>() { return g_i64; }
template <>
const std::uint8_t* labels<std::uint8_t>() { return g_u8; }
template <>
const std::uint16_t* labels<std::uint16_t>() { return g_u16; }
template <>
const float* labels<float>() { return g_flabels; }

bool ok(xent::Status s) { return s == xent::Status::ok; }

// ---- the cases ------------------------------------------------------------------------------

template <class L, class P, bool kLogits>
bool sparse_plain() {
  xent::SparseOptions o;
  o.from_logits = kLogits;
  static xent::SparseCategoricalCrossentropy<> m(o);
  return ok(m.update_state(xent::view(labels<L>(), {kRows}), xent::view(preds<P>(), {kRows, kClasses})));
}

// Every sparse option that adds work: per-class sums, reject (two passes), smoothing, ignore_class.
xent::SparseOptions everything_options() {
  xent::SparseOptions o;
  o.from_logits = true;
  o.per_class = true;
  o.nan_policy = xent::NanPolicy::reject;
  o.label_smoothing = 0.1f;
  o.ignore_class = 3;
  return o;
}

template <class P>
bool sparse_everything() {  // per-class sums, reject (two passes), smoothing, ignore_class, weights
  static xent::SparseCategoricalCrossentropy<kClasses> m(everything_options());
  return ok(m.update_state(xent::view(g_i64, {kRows}), xent::view(preds<P>(), {kRows, kClasses}),
                           xent::view(g_w16, {kRows})));
}

bool sparse_axis0_broadcast_weights() {  // classes interleaved (axis 0), a weight broadcast over an axis
  xent::SparseOptions o;
  o.axis = 0;
  static xent::SparseCategoricalCrossentropy<> m(o);
  return ok(m.update_state(xent::view(g_i32, {7, 10}), xent::view(g_f32, {kClasses, 7, 10}), xent::view(g_w, {7, 1})));
}

bool sparse_long_logits() {
  xent::SparseOptions o;
  o.from_logits = true;
  static xent::SparseCategoricalCrossentropy<> m(o);
  return ok(m.update_state(xent::view(g_i32, {1}), xent::view(g_long, {1, kLong})));
}

template <class T, class P, bool kLogits>
bool categorical_plain() {
  xent::CategoricalOptions o;
  o.from_logits = kLogits;
  static xent::CategoricalCrossentropy<> m(o);
  if constexpr (std::is_same_v<T, float16>) {
    return ok(m.update_state(xent::view(g_truth16, {kRows, kClasses}), xent::view(preds<P>(), {kRows, kClasses})));
  } else {
    return ok(m.update_state(xent::view(g_truth, {kRows, kClasses}), xent::view(preds<P>(), {kRows, kClasses})));
  }
}

template <class P, bool kLogits>
bool categorical_everything() {
  xent::CategoricalOptions o;
  o.from_logits = kLogits;
  o.per_class = true;
  o.nan_policy = xent::NanPolicy::reject;
  o.label_smoothing = 0.1f;
  static xent::CategoricalCrossentropy<kClasses> m(o);
  return ok(m.update_state(xent::view(g_truth16, {kRows, kClasses}), xent::view(preds<P>(), {kRows, kClasses}),
                           xent::view(g_w, {kRows})));
}

bool categorical_axis1_strided_weights() {
  xent::CategoricalOptions o;
  o.axis = 1;
  o.per_class = true;
  static xent::CategoricalCrossentropy<kClasses> m(o);
  return ok(m.update_state(xent::view(g_truth, {7, kClasses, 10}), xent::view(g_f32, {7, kClasses, 10}),
                           xent::view(g_w, {1, 10})));
}

// Quantized predictions (int8 logits, uint8 softmax outputs) with every option: their own row paths.
bool sparse_quantized_everything() {
  static xent::SparseCategoricalCrossentropy<kClasses> m(everything_options());
  return ok(m.update_state(xent::view(g_i32, {kRows}), xent::quantized(g_q8, {kRows, kClasses}, 0.05f, -3),
                           xent::view(g_w16, {kRows})));
}

bool categorical_quantized_everything() {
  xent::CategoricalOptions o;
  o.per_class = true;
  o.nan_policy = xent::NanPolicy::reject;
  o.label_smoothing = 0.1f;
  static xent::CategoricalCrossentropy<kClasses> m(o);
  const auto* u8 = reinterpret_cast<const std::uint8_t*>(g_q8);
  return ok(m.update_state(xent::view(g_truth16, {kRows, kClasses}), xent::quantized(u8, {kRows, kClasses}, 1.0f / 256, 0),
                           xent::view(g_w, {kRows})));
}

bool functional_sparse() {
  xent::SparseOptions o;
  o.from_logits = true;
  return ok(xent::sparse_categorical_crossentropy(xent::view(g_u16, {kRows}), xent::view(g_bf16, {kRows, kClasses}),
                                                  g_out, kLong, o));
}

bool functional_categorical() {
  return ok(xent::categorical_crossentropy(xent::view(g_truth16, {kRows, kClasses}), xent::view(g_f16, {kRows, kClasses}),
                                           g_out, kLong));
}

bool state_calls() {  // serialize, deserialize, merge, results
  static xent::SparseCategoricalCrossentropy<kClasses> a, b;
  if (!ok(a.serialize(g_bytes, sizeof g_bytes))) return false;
  if (!ok(b.deserialize(g_bytes, decltype(a)::serialized_size))) return false;
  if (!ok(a.merge_state(b))) return false;
  a.reset_state();
  return a.result() == 0.0f && a.per_class_result(1) == 0.0f;
}

bool kernels() {
  xent::log(g_f32, g_out, kRows * kClasses);
  const float a = xent::logsumexp(g_long, kLong) + xent::logsumexp(g_f16, kRows) + xent::logsumexp(g_bf16, kRows);
  xent::log_softmax(g_long, g_out, kLong);
  xent::widen(g_f16, g_out, kRows);
  xent::widen(g_bf16, g_out, kRows);
  return a == a;
}

bool c_api() {
  static xent_metric m;  // the C API's metrics are the caller's storage too
  xent_options o = xent_default_options();
  o.from_logits = 1;
  o.nan_reject = 1;
  o.label_smoothing = 0.1f;
  if (xent_metric_init(&m, XENT_CATEGORICAL, &o, "c") != XENT_OK) return false;
  static const xent_tensor truth = {g_truth16, XENT_F16, 2, {kRows, kClasses}, 1.0f, 0};
  static const xent_tensor pred = {g_bf16, XENT_BF16, 2, {kRows, kClasses}, 1.0f, 0};
  static const xent_tensor weight = {g_w16, XENT_F16, 1, {kRows}, 1.0f, 0};
  if (xent_metric_update(&m, &truth, &pred, &weight) != XENT_OK) return false;
  static xent_metric s;
  if (xent_metric_init(&s, XENT_SPARSE, nullptr, nullptr) != XENT_OK) return false;
  static const xent_tensor labels = {g_i64, XENT_I64, 1, {kRows}, 1.0f, 0};
  static const xent_tensor probs = {g_f32, XENT_F32, 2, {kRows, kClasses}, 1.0f, 0};
  if (xent_metric_update(&s, &labels, &probs, nullptr) != XENT_OK) return false;
  if (xent_metric_serialize(&s, g_bytes, sizeof g_bytes) != XENT_OK) return false;
  if (xent_metric_deserialize(&s, g_bytes, xent_metric_serialized_size()) != XENT_OK) return false;
  return xent_metric_merge(&s, &s) == XENT_OK && xent_metric_result(&m) > 0.0f;
}

template <class T>
void print_size(const char* name) {
  std::printf("sizeof %u %s\n", static_cast<unsigned>(sizeof(T)), name);
}

}  // namespace

int main() {
  fill();
  measure("sparse f32 probabilities, int32 labels", &sparse_plain<std::int32_t, float, false>);
  measure("sparse f32 logits, int32 labels", &sparse_plain<std::int32_t, float, true>);
  measure("sparse f16 logits, int64 labels", &sparse_plain<std::int64_t, float16, true>);
  measure("sparse bf16 probabilities, uint8 labels", &sparse_plain<std::uint8_t, bfloat16, false>);
  measure("sparse f16 probabilities, uint16 labels", &sparse_plain<std::uint16_t, float16, false>);
  measure("sparse bf16 logits, float labels", &sparse_plain<float, bfloat16, true>);
  measure("sparse f32 per-class, reject, smoothing, ignore_class, f16 weights", &sparse_everything<float>);
  measure("sparse bf16 per-class, reject, smoothing, ignore_class, f16 weights", &sparse_everything<bfloat16>);
  measure("sparse axis 0, broadcast weights", &sparse_axis0_broadcast_weights);
  measure("sparse f32 logits, 1000 classes", &sparse_long_logits);
  measure("categorical f32/f32 probabilities", &categorical_plain<float, float, false>);
  measure("categorical f32/f32 logits", &categorical_plain<float, float, true>);
  measure("categorical f16/bf16 probabilities", &categorical_plain<float16, bfloat16, false>);
  measure("categorical f16/f16 logits", &categorical_plain<float16, float16, true>);
  measure("categorical f32 per-class, reject, smoothing, weights", &categorical_everything<float, false>);
  measure("categorical f16 logits per-class, reject, smoothing, weights", &categorical_everything<float16, true>);
  measure("categorical axis 1, broadcast weights, per-class", &categorical_axis1_strided_weights);
  measure("sparse int8 logits per-class, reject, smoothing, ignore_class, f16 weights", &sparse_quantized_everything);
  measure("categorical uint8 probabilities per-class, reject, smoothing, weights", &categorical_quantized_everything);
  measure("functional sparse (bf16 logits)", &functional_sparse);
  measure("functional categorical (f16)", &functional_categorical);
  measure("serialize, deserialize, merge, reset", &state_calls);
  measure("kernels: log, logsumexp, log_softmax, widen", &kernels);
  measure("C API: init, update (f16/bf16, int64/f32), serialize, merge", &c_api);
  std::printf("stack max %u %s\n", static_cast<unsigned>(g_max), g_max_name);

  print_size<xent::SparseCategoricalCrossentropy<>>("SparseCategoricalCrossentropy<>");
  print_size<xent::CategoricalCrossentropy<>>("CategoricalCrossentropy<>");
  print_size<xent::SparseCategoricalCrossentropy<10>>("SparseCategoricalCrossentropy<10>");
  print_size<xent::CategoricalCrossentropy<10>>("CategoricalCrossentropy<10>");
  print_size<xent::SparseCategoricalCrossentropy<100>>("SparseCategoricalCrossentropy<100>");
  print_size<xent_metric>("xent_metric (C API)");

  if (!g_ok) std::printf("a case failed\n");
  return g_ok && g_max <= XENT_STACK_BUDGET ? 0 : 1;
}
