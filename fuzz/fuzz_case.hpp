#pragma once
// One update's inputs decoded from fuzz bytes, shared by fuzz_update.cpp and fuzz_losses.cpp:
// options (valid or not), the y_pred / y_true / sample_weight shapes (derived from y_pred by
// SEMANTICS.md's rules, or arbitrary), element types, values, and the two facts the invariants
// need: whether the library must accept the case, and whether the float64 reference
// (tests/metric_reference.hpp) applies to it. fuzz/make_corpus.py writes seeds in this format.
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

namespace detail {

// One dim from one byte: mostly small; class-axis sized; a few huge values; or 8 raw bytes.
inline std::size_t decode_dim(Bytes& in) {
  static constexpr std::uint64_t kHuge[15] = {
      1u << 16, 1u << 20, 1u << 31, 1ull << 32, (1ull << 32) + 1, 1ull << 40, 1ull << 62, 1ull << 63,
      ~0ull, ~0ull - 1, ~0ull >> 1, 3037000500ull, 4294967295ull, 65535, 257};
  const std::uint8_t d = in.u8();
  if (d < 200) return d % 10u;
  if (d < 240) return static_cast<std::size_t>(d - 200u) * 8u;
  return static_cast<std::size_t>(d < 255 ? kHuge[d - 240] : in.u64());  // truncated on 32-bit targets
}

inline std::vector<std::size_t> decode_dims(Bytes& in, std::size_t rank) {
  std::vector<std::size_t> d(rank);
  for (auto& x : d) x = decode_dim(in);
  return d;
}

// y_pred's dims must fit the buffer unless they cannot describe one at all (overflow, rank 9):
// a shape that fits size_t but not kMaxElements is halved along its largest dim until it fits.
inline void shrink_to_fit(std::vector<std::size_t>& d) {
  if (d.size() > xent::kMaxRank) return;
  for (;;) {
    std::size_t n = 1;
    bool overflow = false;
    for (std::size_t x : d) overflow = overflow || __builtin_mul_overflow(n, x, &n);
    bool zero = false;
    for (std::size_t x : d) zero = zero || x == 0;
    if (zero || overflow || n <= kMaxElements) return;
    std::size_t* largest = &d[0];
    for (auto& x : d)
      if (x > *largest) largest = &x;
    *largest /= 2;
  }
}

inline float decode_ls(Bytes& in) {
  switch (in.pick(8)) {
    case 1: return 0.1f;
    case 2: return 0.5f;
    case 3: return 1.0f;
    case 4: return std::numeric_limits<float>::quiet_NaN();
    case 5: return -0.25f;
    case 6: return 1.5f;
    case 7: return in.f32_bits();
    default: return 0.0f;
  }
}

// Float values of y_pred, y_true (categorical) or sample_weight: a mode, then up to 8 single
// values from the palette at chosen positions.
// rows: y_pred's geometry when known, so typical y_true is one-hot along the class axis.
enum class Role { pred_probs, pred_logits, truth, weight };
inline void fill_floats(Bytes& in, Tensor& t, Role role, std::size_t classes, const xref::Geometry* rows = nullptr) {
  const std::size_t n = t.size();
  const std::size_t mode = in.pick(5);
  Lcg g(mode == 0 || mode == 1 || mode == 4 ? in.u32() : 0u);
  const float constant = mode == 2 ? palette(in.u8(), in) : 0.0f;
  const std::size_t k = classes > 0 ? classes : 1;
  for (std::size_t i = 0; i < n; ++i) {
    float v = 0.0f;
    switch (mode) {
      case 0:  // typical data
        if (role == Role::pred_probs) v = g.unit();
        else if (role == Role::pred_logits) v = g.in(-10.0f, 10.0f);
        else if (role == Role::truth) v = rows == nullptr && g.next() % k == 0 ? 1.0f : 0.0f;
        else v = g.in(0.0f, 2.0f);
        break;
      case 1:  // any magnitude, either sign
        v = std::pow(10.0f, g.in(-45.0f, 38.5f)) * (g.next() & 1u ? -1.0f : 1.0f);
        break;
      case 2: v = constant; break;
      case 3: v = palette(in.u8(), in); break;
      default:  // confident rows (probabilities / logits), soft labels, mixed-sign weights
        if (role == Role::pred_probs) v = g.next() % k == 0 ? 1.0f : 1e-9f;
        else if (role == Role::pred_logits) v = g.next() % k == 0 ? 20.0f : -20.0f;
        else if (role == Role::truth) v = g.unit() / static_cast<float>(k);
        else v = g.in(-1.0f, 1.0f);
        break;
    }
    t.set_float(i, v);
  }
  if (mode == 0 && role == Role::truth && rows != nullptr && rows->elements() * k == n)
    for (std::size_t r = 0; r < rows->elements(); ++r)
      t.set_float(rows->row_offset(r) + (g.next() % k) * rows->class_stride(), 1.0f);
  const std::size_t specials = in.pick(9);
  for (std::size_t s = 0; s < specials; ++s) {
    const std::size_t at = in.u16();
    const float v = palette(in.u8(), in);
    if (n > 0) t.set_float(at % n, v);
  }
}

// A quantized tensor's parameters: mostly TFLite's fixed softmax / log_softmax ones or a logits
// scale a converter would choose, sometimes invalid (0, negative, NaN, infinite, a zero point
// outside the type) or extreme (subnormal, huge).
inline void decode_quantization(Bytes& in, Tensor& t) {
  const bool i8 = t.type == Elem::qi8;
  switch (in.pick(12)) {
    case 0: t.scale = 1.0f / 256.0f, t.zero_point = i8 ? -128 : 0; break;  // softmax outputs
    case 1: t.scale = 16.0f / 256.0f, t.zero_point = i8 ? 127 : 255; break;  // log_softmax outputs
    case 2: t.scale = 0.0f; break;
    case 3: t.scale = -0.1f; break;
    case 4: t.scale = std::numeric_limits<float>::quiet_NaN(); break;
    case 5: t.scale = std::numeric_limits<float>::infinity(); break;
    case 6: t.scale = in.f32_bits(), t.zero_point = static_cast<std::int32_t>(in.u32()); return;
    case 7: t.scale = std::numeric_limits<float>::denorm_min(); break;
    case 8: t.scale = 3e36f; break;
    default: t.scale = 0.01f + static_cast<float>(in.u8()) / 512.0f; break;  // logits: up to ~0.5 a step
  }
  switch (in.pick(8)) {
    case 0: break;  // as chosen above (0 unless fixed)
    case 1: t.zero_point = i8 ? static_cast<std::int8_t>(in.u8()) : in.u8(); break;
    case 2: t.zero_point = i8 ? 128 : 256; break;
    case 3: t.zero_point = i8 ? -129 : -1; break;
    case 4: t.zero_point = std::numeric_limits<std::int32_t>::min(); break;
    default: if (t.scale != 1.0f / 256.0f && t.scale != 16.0f / 256.0f) t.zero_point = i8 ? in.u8() % 32 - 16 : 128; break;
  }
}

// A sparse label from one byte: the edges of [0, K), ignore_class, the edges of each label type,
// and for float labels NaN, infinities, fractions and values beyond int64.
inline void set_label(Bytes& in, Tensor& t, std::size_t i, std::size_t classes, std::int64_t ignore) {
  const auto k = static_cast<std::int64_t>(classes);  // wraps for a class axis of 2^63 or more
  const auto last = static_cast<std::int64_t>(classes - 1);
  const bool as_float = t.type == Elem::f32;
  switch (in.pick(14)) {
    case 0: return t.set_int(i, -1);
    case 1: return t.set_int(i, k);
    case 2: return as_float ? t.set_float(i, static_cast<float>(k) - 0.5f) : t.set_int(i, last);
    case 3: return as_float ? t.set_float(i, -0.5f) : t.set_int(i, 0);
    case 4: return t.set_int(i, ignore);
    case 5: return as_float ? t.set_float(i, -1.5f) : t.set_int(i, std::numeric_limits<std::int32_t>::min());
    case 6: return as_float ? t.set_float(i, 9.3e18f) : t.set_int(i, std::numeric_limits<std::int64_t>::max());
    case 7: return as_float ? t.set_float(i, std::numeric_limits<float>::quiet_NaN()) : t.set_int(i, 255);
    case 8: return as_float ? t.set_float(i, std::numeric_limits<float>::infinity()) : t.set_int(i, 65535);
    case 9: return as_float ? t.set_float(i, in.f32_bits()) : t.set_int(i, static_cast<std::int64_t>(in.u64()));
    case 10: return t.set_int(i, 256);
    case 11: return as_float ? t.set_float(i, -std::numeric_limits<float>::infinity())
                             : t.set_int(i, std::numeric_limits<std::int64_t>::min());
    case 12: return t.set_int(i, std::int64_t{1} << 31);
    default: return as_float ? t.set_float(i, 1e-45f) : t.set_int(i, 65536);
  }
}

inline void fill_labels(Bytes& in, Tensor& t, std::size_t classes, std::int64_t ignore) {
  const std::size_t n = t.size();
  const std::size_t mode = in.pick(4);
  Lcg g(mode <= 1 ? in.u32() : 0u);
  const std::size_t k = classes > 0 ? classes : 1;
  if (mode == 2) {  // one value everywhere
    if (n > 0) set_label(in, t, 0, classes, ignore);
    for (std::size_t i = 1; i < n; ++i) t.type == Elem::f32 ? t.set_float(i, t.f[0]) : t.set_int(i, *t.label(0));
  }
  for (std::size_t i = 0; i < n && mode != 2; ++i) {
    if (mode == 3) set_label(in, t, i, classes, ignore);
    else if (mode == 1 && g.next() % 4 == 0) t.set_int(i, ignore);
    else t.set_int(i, static_cast<std::int64_t>(g.next() % k));
  }
  const std::size_t specials = in.pick(9);
  for (std::size_t s = 0; s < specials; ++s) {
    const std::size_t at = in.u16();
    if (n > 0) set_label(in, t, at % n, classes, ignore);
    else (void)in.u8();
  }
}

}  // namespace detail

// Decodes a case; weights only when with_weights (the functional forms take none).
inline Case decode_case(Bytes& in, bool with_weights) {
  using namespace detail;
  Case c;
  c.sparse = in.flag();
  c.capacity = kCapacities[in.pick(4)];
  const std::uint8_t flags = in.u8();
  c.from_logits = (flags & 1u) != 0;
  c.per_class = (flags & 2u) != 0;
  static constexpr std::uint8_t kPolicies[4] = {0, 1, 2, 255};  // the last two are no NanPolicy
  c.nan = static_cast<xent::NanPolicy>(kPolicies[(flags >> 2) & 3u]);
  c.ls = decode_ls(in);
  switch (in.pick(4)) {
    case 1: c.ignore = static_cast<std::int8_t>(in.u8()); break;
    case 2: c.ignore = static_cast<std::int64_t>(in.u64()); break;
    default: break;
  }
  c.pred.type = kPredTypes[in.pick(std::size(kPredTypes))];
  if (c.pred.quantized()) decode_quantization(in, c.pred);
  c.truth.type = c.sparse ? kLabelTypes[in.pick(std::size(kLabelTypes))] : kFloatTypes[in.pick(3)];
  c.weight.type = kFloatTypes[in.pick(3)];

  // y_pred and the class axis.
  std::vector<std::size_t> pd = decode_dims(in, in.pick(10));
  shrink_to_fit(pd);
  c.pred.set_dims(pd);
  c.axis = static_cast<std::int8_t>(in.u8());
  const auto rank = static_cast<int>(pd.size());
  c.axis_ok = rank >= 1 && rank <= static_cast<int>(xent::kMaxRank) && c.axis >= -rank && c.axis < rank;
  const bool pred_ok = c.axis_ok && c.pred.fits;
  std::vector<std::size_t> v_dims;
  if (pred_ok) {
    c.geometry = xref::geometry(pd, c.axis);
    v_dims = c.geometry.v_dims;
  } else if (!pd.empty()) {
    v_dims.assign(pd.begin(), pd.end() - 1);
  }
  bool coherent = pred_ok;

  // y_true: by the rules, or any shape.
  const std::uint8_t truth_mode = in.u8();
  std::vector<std::size_t> td = pd;
  if (truth_mode >= 0xF0) {
    td = decode_dims(in, in.pick(10));
    coherent = false;
  } else if (c.sparse && pred_ok) {
    const std::size_t form = truth_mode % 3;
    if (form == 0 || (form == 1 && v_dims.size() + 1 > xent::kMaxRank)) {
      td = v_dims;
    } else if (form == 1) {
      td = v_dims;
      td.push_back(1);
    } else {
      td[static_cast<std::size_t>(c.axis < 0 ? c.axis + rank : c.axis)] = 1;
    }
  }
  c.truth.set_dims(td);

  // sample_weight: none, one of the rules' shapes, or any shape.
  std::vector<std::size_t> wd;
  if (with_weights) {
    switch (in.pick(8)) {
      case 0: break;
      case 1: c.weighted = true; break;  // a scalar
      case 2: c.weighted = true, wd = v_dims; break;
      case 3: c.weighted = true, wd = v_dims, wd.push_back(1); break;
      case 4:
        c.weighted = true;
        if (!v_dims.empty()) wd.assign(v_dims.begin(), v_dims.end() - 1);
        break;
      case 5: {
        c.weighted = true;
        wd = v_dims;
        const std::uint8_t mask = in.u8();
        for (std::size_t i = 0; i < wd.size(); ++i)
          if ((mask >> (i % 8)) & 1u) wd[i] = 1;
        break;
      }
      case 6: {
        c.weighted = true;
        const std::size_t len = v_dims.size() <= 1 ? v_dims.size() : in.pick(v_dims.size());
        wd.assign(v_dims.begin(), v_dims.begin() + static_cast<std::ptrdiff_t>(len));
        break;
      }
      default:
        c.weighted = true;
        wd = decode_dims(in, in.pick(10));
        coherent = false;
        break;
    }
  }
  c.weight.set_dims(wd);

  switch (in.pick(16)) {  // now and then a null pointer
    case 1: c.pred.null = true; break;
    case 2: c.truth.null = true; break;
    case 3: c.weight.null = c.weighted; break;
    default: break;
  }

  // Values.
  c.pred.allocate();
  c.truth.allocate();
  c.weight.allocate();
  const std::size_t k = pred_ok ? c.geometry.classes : 1;
  fill_floats(in, c.pred, c.from_logits ? Role::pred_logits : Role::pred_probs, k);
  if (c.sparse) fill_labels(in, c.truth, k, c.ignore.value_or(-1));
  else fill_floats(in, c.truth, Role::truth, k, pred_ok && c.truth.count == c.pred.count ? &c.geometry : nullptr);
  if (c.weighted) fill_floats(in, c.weight, Role::weight, k);

  // What the reference needs: V's labels and weights, when the shapes follow the rules. A class
  // axis of length 0 leaves V's size unbounded by the buffer: no expectation then beyond no_classes.
  std::size_t v_count = 1;
  bool v_overflow = false;
  for (std::size_t x : v_dims) v_overflow = v_overflow || __builtin_mul_overflow(v_count, x, &v_count);
  coherent = coherent && !v_overflow && v_count <= kMaxElements;
  if (coherent && c.weighted) {
    std::vector<double> w(c.weight.seen.begin(), c.weight.seen.end());
    if (wd.empty()) w.resize(1);
    c.element_weights = xref::element_weights(v_dims, wd, w);
    coherent = c.element_weights.has_value();  // a derived shape the rules refuse: no expectation
  }
  c.shapes_coherent = coherent;
  if (coherent && c.sparse) {
    const std::size_t n = c.geometry.elements();
    c.labels.assign(n, 0);
    c.labels_valid = true;
    for (std::size_t v = 0; v < n; ++v) {
      const std::optional<std::int64_t> l = c.truth.label(v);
      const bool ignored = l.has_value() && c.ignore.has_value() && *l == *c.ignore;
      const bool in_range = l.has_value() && *l >= 0 && *l < static_cast<std::int64_t>(c.geometry.classes);
      c.labels_valid = c.labels_valid && (ignored || in_range);
      c.labels[v] = l.value_or(-1);
    }
  }
  return c;
}

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
