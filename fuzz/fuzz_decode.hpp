#pragma once
// Fuzz bytes into one update's inputs (fz::Case, fuzz_case.hpp): dims, label smoothing, floats
// from a palette of edge values, quantization parameters, labels, and the whole case
// (decode_case). fuzz/make_corpus.py writes seeds in this format.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "fuzz_case.hpp"

namespace fz {

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

}  // namespace fz
