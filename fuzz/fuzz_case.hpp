#pragma once
// One update's inputs as the harnesses see them (fuzz_decode.hpp makes them from fuzz bytes):
// options (valid or not), the y_pred / y_true / sample_weight shapes (derived from y_pred by
// SEMANTICS.md's rules, or arbitrary), element types, values, and the two facts the invariants
// need: whether the library must accept the case, and whether the float64 reference
// (tests/metric_reference.hpp) applies to it.
#include <xent/xent.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <vector>

#include "fuzz_input.hpp"
#include "metric_reference.hpp"

namespace fz {

// qi8 / qu8: quantized int8 / uint8 predictions (xent::QuantizedView), with the tensor's scale and
// zero point.
enum class Elem : std::uint8_t { f32, f16, bf16, i32, i64, u8, u16, qi8, qu8 };
inline constexpr Elem kPredTypes[] = {Elem::f32, Elem::f16, Elem::bf16, Elem::qi8, Elem::qu8};
inline constexpr Elem kFloatTypes[] = {Elem::f32, Elem::f16, Elem::bf16};
inline constexpr Elem kLabelTypes[] = {Elem::i32, Elem::i64, Elem::u8, Elem::u16, Elem::f32};

// Elements per tensor: large enough for several row blocks, small enough for thousands of runs a second.
inline constexpr std::size_t kMaxElements = 4096;
// MaxClasses of the metric under test (0: no per-class storage; 300 holds every fitting class axis but not all).
inline constexpr std::size_t kCapacities[] = {0, 1, 10, 300};

// A tensor in its storage type, allocated to exactly its element count so ASan sees a read past it.
struct Tensor {
  Elem type = Elem::f32;
  std::vector<std::size_t> dims;  // as decoded; more than kMaxRank makes an invalid Shape
  xent::Shape shape;
  std::size_t count = 0;  // elements described by the shape, when it fits
  bool fits = true;       // the shape describes at most kMaxElements elements (or has a zero dim)
  bool null = false;      // the view gets a null pointer
  std::vector<float> f;
  std::vector<xent::float16> h;
  std::vector<xent::bfloat16> b;
  std::vector<std::int32_t> i32;
  std::vector<std::int64_t> i64;
  std::vector<std::uint8_t> u8;
  std::vector<std::uint16_t> u16;
  std::vector<std::int8_t> i8;  // qi8 (qu8 keeps its bytes in u8)
  float scale = 1.0f;           // qi8 / qu8: any float, valid or not
  std::int32_t zero_point = 0;  // qi8 / qu8: any int32, valid or not
  std::vector<float> seen;  // float types: each value as the library sees it after widening

  bool quantized() const { return type == Elem::qi8 || type == Elem::qu8; }
  // The parameters QuantizedView accepts: scale finite and > 0, zero_point in the type's range.
  bool quantization_valid() const {
    if (!quantized()) return true;
    const std::int32_t lo = type == Elem::qi8 ? -128 : 0;
    return std::isfinite(scale) && scale > 0.0f && zero_point >= lo && zero_point <= lo + 255;
  }

  void set_dims(const std::vector<std::size_t>& d) {
    dims = d;
    shape = xent::Shape::from(d.data(), d.size());
    count = 1;
    fits = d.size() <= xent::kMaxRank;
    bool zero = false;
    bool overflow = false;
    for (std::size_t x : d) {
      zero = zero || x == 0;
      overflow = overflow || __builtin_mul_overflow(count, x, &count);
    }
    if (zero) count = 0;
    else if (overflow || count > kMaxElements) fits = false;
    if (!fits) count = 0;
  }
  // Exactly count elements (one when count is 0, so the pointer is not null unless asked).
  void allocate() {
    const std::size_t n = count > 0 ? count : 1;
    seen.assign(n, 0.0f);
    switch (type) {
      case Elem::f32: f.assign(n, 0.0f); break;
      case Elem::f16: h.assign(n, xent::float16{0}); break;
      case Elem::bf16: b.assign(n, xent::bfloat16{0}); break;
      case Elem::i32: i32.assign(n, 0); break;
      case Elem::i64: i64.assign(n, 0); break;
      case Elem::u8: u8.assign(n, 0); break;
      case Elem::u16: u16.assign(n, 0); break;
      case Elem::qi8: i8.assign(n, 0); break;
      case Elem::qu8: u8.assign(n, 0); break;
    }
  }
  std::size_t size() const { return seen.size(); }
  // Quantized types store v by TFLite's rule, q = clamp(round(v / scale) + zero_point), NaN as the
  // zero point; what the library sees is TFLite's dequantization float32(scale * (q - zero_point)).
  void set_float(std::size_t i, float v) {
    if (quantized()) {
      const std::int32_t lo = type == Elem::qi8 ? -128 : 0;
      double q = static_cast<double>(zero_point);
      if (!std::isnan(v)) q = std::nearbyint(static_cast<double>(v) / static_cast<double>(scale)) + q;
      if (!(q >= lo)) q = lo;  // also a NaN quotient of an invalid scale
      if (q > lo + 255) q = lo + 255;
      const auto code = static_cast<std::int32_t>(q);
      if (type == Elem::qi8) i8[i] = static_cast<std::int8_t>(code);
      else u8[i] = static_cast<std::uint8_t>(code);
      seen[i] = static_cast<float>(static_cast<double>(code) - zero_point) * scale;
      return;
    }
    switch (type) {
      case Elem::f16: h[i] = xent::to_float16(v), seen[i] = xent::to_float(h[i]); return;
      case Elem::bf16: b[i] = xent::to_bfloat16(v), seen[i] = xent::to_float(b[i]); return;
      default: f[i] = v, seen[i] = v; return;
    }
  }
  // Integer labels wrap into their type, as a caller's cast would.
  void set_int(std::size_t i, std::int64_t v) {
    switch (type) {
      case Elem::i32: i32[i] = static_cast<std::int32_t>(v); return;
      case Elem::i64: i64[i] = v; return;
      case Elem::u8: u8[i] = static_cast<std::uint8_t>(v); return;
      case Elem::u16: u16[i] = static_cast<std::uint16_t>(v); return;
      default: f[i] = static_cast<float>(v), seen[i] = f[i]; return;
    }
  }
  // A sparse label as the class index SEMANTICS.md makes of it: floats truncated toward zero;
  // nullopt for a NaN, an infinity or a float beyond int64.
  std::optional<std::int64_t> label(std::size_t i) const {
    switch (type) {
      case Elem::i32: return i32[i];
      case Elem::i64: return i64[i];
      case Elem::u8: return u8[i];
      case Elem::u16: return u16[i];
      default: {
        const float x = f[i];
        if (!(std::fabs(x) < 9.2233720368547758e18f)) return std::nullopt;
        return static_cast<std::int64_t>(std::trunc(x));
      }
    }
  }
  template <class T>
  xent::View<T> view(const std::vector<T>& v) const {
    return xent::view(null ? nullptr : v.data(), shape);
  }
};

// Calls f with the tensor as a typed view of its element type, for each family of types.
template <class F>
auto with_float(const Tensor& t, F&& f) {
  switch (t.type) {
    case Elem::f16: return f(t.view(t.h));
    case Elem::bf16: return f(t.view(t.b));
    default: return f(t.view(t.f));
  }
}
template <class F>
auto with_pred(const Tensor& t, F&& f) {
  switch (t.type) {
    case Elem::qi8: return f(xent::quantized(t.null ? nullptr : t.i8.data(), t.shape, t.scale, t.zero_point));
    case Elem::qu8: return f(xent::quantized(t.null ? nullptr : t.u8.data(), t.shape, t.scale, t.zero_point));
    default: return with_float(t, f);
  }
}
template <class F>
auto with_label(const Tensor& t, F&& f) {
  switch (t.type) {
    case Elem::i32: return f(t.view(t.i32));
    case Elem::i64: return f(t.view(t.i64));
    case Elem::u8: return f(t.view(t.u8));
    case Elem::u16: return f(t.view(t.u16));
    default: return f(t.view(t.f));
  }
}

struct Case {
  bool sparse = false;
  std::size_t capacity = 0;
  bool from_logits = false;
  float ls = 0.0f;
  int axis = -1;
  std::optional<std::int64_t> ignore;
  xent::NanPolicy nan = xent::NanPolicy::propagate;
  bool per_class = false;
  Tensor pred, truth, weight;
  bool weighted = false;

  // Derived facts.
  bool axis_ok = false;
  xref::Geometry geometry;        // y_pred as [outer, K, inner] (when axis_ok and pred fits)
  bool shapes_coherent = false;   // y_true and sample_weight shaped by the rules from y_pred
  std::optional<xref::ElementWeights> element_weights;
  std::vector<std::int64_t> labels;  // sparse: per element of V (when shapes_coherent)
  bool labels_valid = false;

  bool reject() const { return nan == xent::NanPolicy::reject; }
  bool options_valid(bool need_capacity) const {
    const bool policy = nan == xent::NanPolicy::propagate || nan == xent::NanPolicy::reject;
    return ls >= 0.0f && ls <= 1.0f && policy && axis_ok && (!need_capacity || !per_class || capacity > 0);
  }
  // The library must accept this case (ok, or non_finite_input under NanPolicy::reject).
  // need_capacity: a metric (MaxClasses matters); false for the functional forms.
  bool must_accept(bool need_capacity) const {
    if (!options_valid(need_capacity) || !pred.quantization_valid() || !shapes_coherent || pred.null || truth.null ||
        (weighted && weight.null))
      return false;
    const std::size_t k = geometry.classes;
    if (need_capacity && capacity > 0 && k > capacity) return false;
    if (k > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return false;  // int32 class indices
    if (geometry.elements() == 0) return true;
    return k > 0 && (!sparse || labels_valid);
  }

  xent::CategoricalOptions categorical_options() const {
    xent::CategoricalOptions o;
    o.from_logits = from_logits;
    o.label_smoothing = ls;
    o.axis = axis;
    o.nan_policy = nan;
    o.per_class = per_class;
    return o;
  }
  xent::SparseOptions sparse_options() const {
    xent::SparseOptions o;
    o.from_logits = from_logits;
    o.label_smoothing = ls;
    o.axis = axis;
    o.ignore_class = ignore;
    o.nan_policy = nan;
    o.per_class = per_class;
    return o;
  }
};

// armv7 NEON flushes subnormals to zero (README): an all-subnormal row is not float32 arithmetic there.
#if defined(__ARM_NEON) && !defined(__aarch64__)
inline constexpr bool kFlushesSubnormals = true;
#else
inline constexpr bool kFlushesSubnormals = false;
#endif

// True when SEMANTICS.md's tolerance against the float64 reference is a fair test of this case:
// the library must accept it and its float32 arithmetic cannot overflow. Probabilities of
// CategoricalCrossentropy are summed in float32, so they must be non-negative and bounded;
// logits must keep z - max(z) finite; soft labels must be a distribution over the row (t >= 0,
// sum <= 1): SEMANTICS.md's y_true is one-hot or soft, and its 1e-6 absolute tolerance for small
// losses holds only then. The float32 row sum s carries up to a few ulp (1.2e-7 each), which
// -t log(p / s) passes on as sum(t) * 1.2e-7: with a label mass of 88.7 the fuzzer found a
// loss of 2.2e-5 off by 1e-5, as any float32 evaluation of the formula can be.
inline bool reference_applies(const Case& c, bool need_capacity) {
  if (!c.must_accept(need_capacity) || c.geometry.elements() == 0) return false;
  for (float p : c.pred.seen) {
    if (!std::isfinite(p)) return false;
    if (kFlushesSubnormals && p != 0.0f && std::fabs(p) < std::numeric_limits<float>::min()) return false;
    if (c.from_logits && std::fabs(p) > 1e30f) return false;
    if (!c.from_logits && !c.sparse && !(p >= 0.0f && p <= 1e30f)) return false;
  }
  if (!c.sparse) {
    for (float t : c.truth.seen)
      if (!(t >= 0.0f && t <= 1.0f)) return false;
    const xref::Geometry& g = c.geometry;
    for (std::size_t r = 0; r < g.elements(); ++r) {
      double mass = 0.0;
      for (std::size_t k = 0; k < g.classes; ++k) mass += static_cast<double>(c.truth.seen[g.row_offset(r) + k * g.class_stride()]);
      if (mass > 1.0 + 1e-6) return false;
    }
  }
  if (c.weighted)
    for (float w : c.weight.seen)
      if (!(std::fabs(w) <= 1e10f)) return false;
  return true;
}

inline xref::Batch reference(const Case& c) {
  xref::Spec s;
  s.sparse = c.sparse;
  s.logits = c.from_logits;
  s.ls = c.ls;
  s.axis = c.axis;
  s.ignore = c.ignore;
  return xref::evaluate(s, c.pred.dims, c.pred.seen, c.truth.seen, c.labels,
                        c.element_weights ? &*c.element_weights : nullptr);
}

// Prints a case (before a trap), so a finding can be read without a debugger.
inline void describe(const Case& c) {
  std::fprintf(stderr, "case: %s, MaxClasses %zu, %s, label_smoothing %.9g, axis %d, nan_policy %d%s\n",
               c.sparse ? "sparse" : "categorical", c.capacity, c.from_logits ? "logits" : "probabilities",
               static_cast<double>(c.ls), c.axis, static_cast<int>(c.nan), c.per_class ? ", per_class" : "");
  if (c.ignore) std::fprintf(stderr, "ignore_class %lld\n", static_cast<long long>(*c.ignore));
  auto print = [](const char* name, const Tensor& t, bool floats) {
    std::fprintf(stderr, "%s: type %d, dims [", name, static_cast<int>(t.type));
    if (t.quantized()) std::fprintf(stderr, "(scale %.9g, zero_point %d) ", static_cast<double>(t.scale), static_cast<int>(t.zero_point));
    for (std::size_t d : t.dims) std::fprintf(stderr, " %zu", d);
    std::fprintf(stderr, " ], values");
    for (std::size_t i = 0; i < t.size() && i < 64; ++i) {
      if (floats) std::fprintf(stderr, " %.9g", static_cast<double>(t.seen[i]));
      else std::fprintf(stderr, " %lld", static_cast<long long>(t.label(i).value_or(-999)));
    }
    std::fprintf(stderr, t.size() > 64 ? " ...\n" : "\n");
  };
  print("y_pred", c.pred, true);
  print("y_true", c.truth, !c.sparse);
  if (c.weighted) print("sample_weight", c.weight, true);
}

// A float value against its reference and tolerance (NaN must be NaN, an infinity the same one).
inline bool close(double got, double want, double tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= tol;
}

}  // namespace fz
