// Both metrics and the functional forms against the float64 reference (tests/metric_reference.hpp)
// on random inputs: ranks 1..8, every class axis, every element type, every sample-weight rule,
// label smoothing, ignore_class, confident rows, rows with zeros, per-class sums; quantized int8 /
// uint8 predictions against the reference evaluated on their dequantized values.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "metric_reference.hpp"
#include "metric_test_util.hpp"

using xent::Status;

namespace {

enum class Ty { f32, f16, bf16, i32, i64, u8, u16, qi8, qu8 };

// One input array in the storage type under test, plus the values the library sees.
struct Store {
  Ty ty = Ty::f32;
  std::vector<float> f;
  std::vector<xent::float16> h;
  std::vector<xent::bfloat16> b;
  std::vector<std::int32_t> i32;
  std::vector<std::int64_t> i64;
  std::vector<std::uint8_t> u8;
  std::vector<std::uint16_t> u16;
  std::vector<std::int8_t> i8;  // qi8 (qu8 data lives in u8)
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  std::vector<float> seen;

  static Store floats(Ty ty, const std::vector<float>& v) {
    Store s;
    s.ty = ty;
    for (float x : v) {
      if (ty == Ty::f16) s.h.push_back(xent::to_float16(x)), s.seen.push_back(xent::to_float(s.h.back()));
      else if (ty == Ty::bf16) s.b.push_back(xent::to_bfloat16(x)), s.seen.push_back(xent::to_float(s.b.back()));
      else s.f.push_back(x), s.seen.push_back(x);
    }
    return s;
  }

  // v quantized with (scale, zero_point): q = clamp(round(x / scale) + zero_point); seen holds the
  // dequantized float32(scale * (q - zero_point)) (the double product is exact, then rounded once).
  static Store quantize(Ty ty, const std::vector<float>& v, float scale, std::int32_t zero_point) {
    Store s;
    s.ty = ty;
    s.scale = scale;
    s.zero_point = zero_point;
    const double lo = ty == Ty::qi8 ? -128.0 : 0.0;
    for (float x : v) {
      const double q = std::fmin(std::fmax(std::nearbyint(static_cast<double>(x) / scale) + zero_point, lo), lo + 255.0);
      if (ty == Ty::qi8) s.i8.push_back(static_cast<std::int8_t>(q));
      else s.u8.push_back(static_cast<std::uint8_t>(q));
      s.seen.push_back(static_cast<float>(static_cast<double>(scale) * (q - zero_point)));
    }
    return s;
  }
};

template <class F>
auto with_float(const Store& s, const xent::Shape& shape, F&& f) {
  switch (s.ty) {
    case Ty::f16: return f(xent::view(s.h.data(), shape));
    case Ty::bf16: return f(xent::view(s.b.data(), shape));
    default: return f(xent::view(s.f.data(), shape));
  }
}
// Predictions: the float types, or a quantized view.
template <class F>
auto with_pred(const Store& s, const xent::Shape& shape, F&& f) {
  if (s.ty == Ty::qi8) return f(xent::quantized(s.i8.data(), shape, s.scale, s.zero_point));
  if (s.ty == Ty::qu8) return f(xent::quantized(s.u8.data(), shape, s.scale, s.zero_point));
  return with_float(s, shape, std::forward<F>(f));
}
template <class F>
auto with_label(const Store& s, const xent::Shape& shape, F&& f) {
  switch (s.ty) {
    case Ty::i32: return f(xent::view(s.i32.data(), shape));
    case Ty::i64: return f(xent::view(s.i64.data(), shape));
    case Ty::u8: return f(xent::view(s.u8.data(), shape));
    case Ty::u16: return f(xent::view(s.u16.data(), shape));
    default: return f(xent::view(s.f.data(), shape));
  }
}

struct Rng {
  std::mt19937_64 g;
  explicit Rng(std::uint64_t seed) : g(seed) {}
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(g() % n); }
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(g) < p; }
};

constexpr std::size_t kCap = 256;
int g_non_finite_cases = 0;  // how many cases exercised a NaN/inf total (reported, so coverage shows)  // MaxClasses of the per-class metrics

struct Case {
  bool sparse = false;
  std::vector<std::size_t> shape;
  int axis = -1;
  bool logits = false;
  float ls = 0.0f;
  std::optional<std::int64_t> ignore;
  bool per_class = false;
  bool reject = false;  // NanPolicy::reject
  Ty pred_ty = Ty::f32, truth_ty = Ty::f32, weight_ty = Ty::f32;
  int weight_rule = 0;  // 0 none, 1 scalar, 2 full, 3 squeeze (V + [1]), 4 expand (rank - 1), 5 broadcast, 6 prefix
  std::vector<std::size_t> w_dims;
  std::string describe() const {
    std::string s = sparse ? "sparse" : "categorical";
    s += " shape [";
    for (std::size_t d : shape) s += std::to_string(d) + ",";
    s += "] axis " + std::to_string(axis) + (logits ? " logits" : " probs") + " ls " + std::to_string(ls) +
         " pred " + std::to_string(static_cast<int>(pred_ty)) + " truth " + std::to_string(static_cast<int>(truth_ty)) +
         " weight rule " + std::to_string(weight_rule) + " wty " + std::to_string(static_cast<int>(weight_ty)) +
         (per_class ? " per_class" : "") + (reject ? " reject" : "") + (ignore ? " ignore " + std::to_string(*ignore) : "");
    return s;
  }
};

// forced_k > 0: that many classes, rank 2..4 (fewer rows for thousands of classes).
Case make_case(Rng& rng, bool sparse, std::size_t forced_k = 0) {
  Case c;
  c.sparse = sparse;
  const std::size_t rank = forced_k > 0 ? 2 + rng.below(3) : 1 + (rng.chance(0.5) ? rng.below(3) : rng.below(8));
  static const std::size_t kClasses[] = {1, 2, 3, 5, 10, 17, 40, 130};
  const std::size_t k = forced_k > 0 ? forced_k : kClasses[rng.below(8)];
  const std::size_t axis = rng.below(rank);
  std::size_t v_budget = forced_k > 500 ? 12 : 700;
  for (std::size_t i = 0; i < rank; ++i) {
    if (i == axis) {
      c.shape.push_back(k);
      continue;
    }
    std::size_t d = 1 + rng.below(rank <= 3 ? 9 : 3);
    if (d > v_budget) d = 1;
    v_budget /= d;
    c.shape.push_back(d);
  }
  c.axis = rng.chance(0.5) ? static_cast<int>(axis) : static_cast<int>(axis) - static_cast<int>(rank);
  c.logits = rng.chance(0.5);
  static const float kLs[] = {0.0f, 0.0f, 0.1f, 0.37f, 1.0f};
  c.ls = sparse && rng.chance(0.6) ? 0.0f : kLs[rng.below(5)];
  c.pred_ty = static_cast<Ty>(rng.below(3));
  c.truth_ty = sparse ? static_cast<Ty>(std::vector<int>{0, 3, 4, 5, 6}[rng.below(5)]) : static_cast<Ty>(rng.below(3));
  if (c.truth_ty == Ty::u8 && k > 255) c.truth_ty = Ty::u16;  // uint8 labels cannot name class 256 and beyond
  if (sparse && rng.chance(0.3)) {
    // An ignore value the label type can hold: in range (a real class), or outside it.
    const std::int64_t options[] = {0, static_cast<std::int64_t>(k) + 3, -1};
    std::int64_t ig = options[rng.below(3)];
    if (ig < 0 && (c.truth_ty == Ty::u8 || c.truth_ty == Ty::u16)) ig = static_cast<std::int64_t>(k);
    c.ignore = ig;
  }
  c.per_class = k <= kCap && rng.chance(0.3);
  c.reject = rng.chance(0.3);
  c.weight_ty = static_cast<Ty>(rng.below(3));
  c.weight_rule = static_cast<int>(rng.below(7));

  const xref::Geometry g = xref::geometry(c.shape, c.axis);
  const auto& v = g.v_dims;
  switch (c.weight_rule) {
    case 1: break;  // scalar: rank 0
    case 2: c.w_dims = v; break;
    case 3: c.w_dims = v, c.w_dims.push_back(1); break;
    case 4:
      if (v.empty()) c.weight_rule = 0;
      else c.w_dims.assign(v.begin(), v.end() - 1);
      break;
    case 5:
      c.w_dims = v;
      for (auto& d : c.w_dims)
        if (rng.chance(0.5)) d = 1;
      break;
    case 6:
      if (v.size() < 2) c.weight_rule = 2, c.w_dims = v;
      else c.w_dims.assign(v.begin(), v.begin() + static_cast<long>(rng.below(v.size() - 1)));
      if (c.weight_rule == 6 && c.w_dims.empty()) c.w_dims.push_back(v[0]), c.w_dims.resize(1);
      break;
    default: break;
  }
  return c;
}

// A row of K values written at y_pred[off + c * stride].
void fill_row(Rng& rng, const Case& c, std::size_t k, std::int64_t label, float* row, std::size_t stride) {
  const int kind = static_cast<int>(rng.below(10));
  for (std::size_t j = 0; j < k; ++j) {
    float x = 0.0f;
    if (c.logits) {
      x = kind < 7 ? rng.uniform(-8.0f, 8.0f) : rng.uniform(-80.0f, 80.0f);
    } else {
      x = rng.uniform(0.0f, 1.0f);
      if (kind == 6 && rng.chance(0.5)) x = 0.0f;  // rows with zeros
    }
    row[j * stride] = x;
  }
  const std::size_t hot = label >= 0 && static_cast<std::size_t>(label) < k ? static_cast<std::size_t>(label) : 0;
  if (kind >= 8) {  // confident: loss ~1e-7
    for (std::size_t j = 0; j < k; ++j) row[j * stride] = c.logits ? -20.0f : 1e-9f;
    row[hot * stride] = c.logits ? 20.0f : 1.0f;
  }
  if (kind == 7 && c.sparse && !c.logits)  // all zero: log(K) for sparse
    for (std::size_t j = 0; j < k; ++j) row[j * stride] = 0.0f;
}

// Quantization parameters for a batch of predictions, as a converter would pick them: probabilities
// often with TFLite's fixed softmax parameters, logits spanning their range (sometimes the fixed
// log_softmax parameters, which clamp positive values to 0).
Store quantize_pred(Rng& rng, const Case& c, const std::vector<float>& pred) {
  const bool i8 = c.pred_ty == Ty::qi8;
  const std::int32_t lo = i8 ? -128 : 0;
  float scale = 0.0f;
  std::int32_t zp = 0;
  if (!c.logits && rng.chance(0.5)) {
    scale = 1.0f / 256.0f, zp = lo;  // softmax outputs
  } else if (!c.logits) {
    scale = rng.uniform(1.0f / 300.0f, 1.0f / 100.0f), zp = lo + static_cast<std::int32_t>(rng.below(21));
  } else if (rng.chance(0.2)) {
    scale = 16.0f / 256.0f, zp = lo + 255;  // log_softmax outputs
  } else {
    float mn = 0.0f, mx = 0.0f;
    for (float x : pred) mn = std::fmin(mn, x), mx = std::fmax(mx, x);
    scale = (mx - mn) / 255.0f * rng.uniform(1.0f, 1.5f);
    if (!(scale > 0.0f)) scale = 0.1f;
    zp = lo - static_cast<std::int32_t>(std::nearbyint(mn / scale));
    zp = zp < lo ? lo : (zp > lo + 255 ? lo + 255 : zp);
  }
  return Store::quantize(c.pred_ty, pred, scale, zp);
}

bool close(double got, double want, double tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= tol;
}

void run_case(const Case& c, Rng& rng) {
  INFO(c.describe());
  const xref::Geometry g = xref::geometry(c.shape, c.axis);
  const std::size_t n = g.elements();
  const std::size_t k = g.classes;
  std::size_t total = 1;
  for (std::size_t d : c.shape) total *= d;

  // Labels first (the confident rows put their mass on the label).
  std::vector<std::int64_t> labels(n);
  std::vector<float> label_values(n);
  for (std::size_t v = 0; v < n; ++v) {
    labels[v] = static_cast<std::int64_t>(rng.below(k));
    if (c.ignore && rng.chance(0.2)) labels[v] = *c.ignore;
    label_values[v] = static_cast<float>(labels[v]);
    if (c.truth_ty == Ty::f32 && labels[v] >= 0) label_values[v] += 0.5f;  // truncated toward zero
  }
  std::vector<float> pred(total);
  std::vector<float> truth(total, 0.0f);
  for (std::size_t v = 0; v < n; ++v) {
    const std::size_t off = g.row_offset(v);
    fill_row(rng, c, k, labels[v], pred.data() + off, g.class_stride());
    if (!c.sparse) {
      if (rng.chance(0.7)) {
        truth[off + static_cast<std::size_t>(labels[v]) * g.class_stride()] = 1.0f;
      } else {  // soft labels
        float s = 0.0f;
        for (std::size_t j = 0; j < k; ++j) s += truth[off + j * g.class_stride()] = rng.uniform(0.0f, 1.0f);
        for (std::size_t j = 0; j < k; ++j) truth[off + j * g.class_stride()] /= s;
      }
    }
  }
  const bool quantized = c.pred_ty == Ty::qi8 || c.pred_ty == Ty::qu8;
  const Store pred_store = quantized ? quantize_pred(rng, c, pred) : Store::floats(c.pred_ty, pred);
  INFO("scale " << pred_store.scale << " zero point " << pred_store.zero_point);
  Store truth_store;
  if (c.sparse) {
    truth_store.ty = c.truth_ty;
    for (std::size_t v = 0; v < n; ++v) {
      truth_store.i32.push_back(static_cast<std::int32_t>(labels[v]));
      truth_store.i64.push_back(labels[v]);
      truth_store.u8.push_back(static_cast<std::uint8_t>(labels[v]));
      truth_store.u16.push_back(static_cast<std::uint16_t>(labels[v]));
      truth_store.f.push_back(label_values[v]);
    }
  } else {
    truth_store = Store::floats(c.truth_ty, truth);
  }
  std::size_t wn = 1;
  for (std::size_t d : c.w_dims) wn *= d;
  std::vector<float> wv(wn);
  for (auto& w : wv) w = rng.chance(0.1) ? 0.0f : rng.uniform(0.0f, 2.0f);
  const Store weight_store = Store::floats(c.weight_ty, wv);

  // The reference.
  xref::Spec spec;
  spec.sparse = c.sparse;
  spec.logits = c.logits;
  spec.ls = c.ls;
  spec.axis = c.axis;
  spec.ignore = c.ignore;
  std::optional<xref::ElementWeights> ew;
  if (c.weight_rule != 0) {
    std::vector<double> wd(weight_store.seen.begin(), weight_store.seen.end());
    ew = xref::element_weights(g.v_dims, c.w_dims, wd);
    REQUIRE(ew.has_value());
  }
  const xref::Batch want = xref::evaluate(spec, c.shape, pred_store.seen, truth_store.seen, labels,
                                          ew ? &*ew : nullptr);

  const xent::Shape pshape = mt::shape_of(c.shape);
  // y_true's shape: V for sparse (sometimes V + [1] or the class axis set to 1).
  std::vector<std::size_t> tdims = c.shape;
  if (c.sparse) {
    const int form = static_cast<int>(rng.below(3));
    if (form == 0) tdims = g.v_dims;
    else if (form == 1) tdims = g.v_dims, tdims.push_back(1);
    else tdims[static_cast<std::size_t>(c.axis < 0 ? c.axis + static_cast<int>(c.shape.size()) : c.axis)] = 1;
    if (tdims.size() > xent::kMaxRank) tdims = g.v_dims;
  }
  const xent::Shape tshape = mt::shape_of(tdims);
  const xent::Shape wshape = mt::shape_of(c.w_dims);

  // Functional form: per-element losses.
  std::vector<float> out(n + 1, -7.0f);
  Status fs = Status::ok;
  if (c.sparse) {
    xent::SparseOptions o;
    o.from_logits = c.logits;
    o.axis = c.axis;
    o.ignore_class = c.ignore;
    o.label_smoothing = c.ls;
    fs = with_label(truth_store, tshape, [&](auto t) {
      return with_pred(pred_store, pshape,
                        [&](auto p) { return xent::sparse_categorical_crossentropy(t, p, out.data(), n, o); });
    });
  } else {
    xent::CategoricalOptions o;
    o.from_logits = c.logits;
    o.axis = c.axis;
    o.label_smoothing = c.ls;
    fs = with_float(truth_store, tshape, [&](auto t) {
      return with_pred(pred_store, pshape,
                        [&](auto p) { return xent::categorical_crossentropy(t, p, out.data(), n, o); });
    });
  }
  REQUIRE(fs == Status::ok);
  CHECK(out[n] == -7.0f);  // nothing written past V
  int bad = 0;
  for (std::size_t v = 0; v < n && bad < 3; ++v) {
    if (!close(static_cast<double>(out[v]), want.losses[v].value, want.losses[v].tol)) {
      ++bad;
      INFO("element " << v << " got " << out[v] << " want " << want.losses[v].value << " tol " << want.losses[v].tol);
      CHECK(false);
    }
  }

  // The metric.
  auto check_metric = [&](auto& m) {
    Status s = Status::ok;
    auto upd = [&](auto t, auto p) {
      if (c.weight_rule == 0) return m.update_state(t, p);
      return with_float(weight_store, wshape, [&](auto w) { return m.update_state(t, p, w); });
    };
    if constexpr (std::is_same_v<typename std::decay_t<decltype(m)>::Options, xent::SparseOptions>) {
      s = with_label(truth_store, tshape,
                     [&](auto t) { return with_pred(pred_store, pshape, [&](auto p) { return upd(t, p); }); });
    } else {
      s = with_float(truth_store, tshape,
                     [&](auto t) { return with_pred(pred_store, pshape, [&](auto p) { return upd(t, p); }); });
    }
    if (!std::isfinite(want.total)) {
      ++g_non_finite_cases;
      if (c.reject) {
        CHECK(s == Status::non_finite_input);
        CHECK(m.count() == 0.0);
      } else {
        REQUIRE(s == Status::ok);
        CHECK(std::isnan(m.total()));
      }
      return;
    }
    REQUIRE(s == Status::ok);
    CHECK(std::fabs(m.total() - want.total) <= want.abs_err + 1e-12);
    CHECK(std::fabs(m.count() - want.count) <= 1e-9 * std::fmax(1.0, std::fabs(want.count)));
    if (want.count != 0.0) {
      const double r = want.total / want.count;
      CHECK(std::fabs(static_cast<double>(m.result()) - r) <=
            1e-6 * std::fabs(r) + want.abs_err / std::fabs(want.count) + xref::ulp32(r));
    } else {
      CHECK(m.result() == 0.0f);
    }
    if constexpr (std::decay_t<decltype(m)>::max_classes > 0) {
      for (std::size_t j = 0; j < k; ++j) {
        CHECK(std::fabs(m.per_class_total(j) - want.class_total[j]) <= want.abs_err + 1e-12);
        CHECK(std::fabs(m.per_class_count(j) - want.class_count[j]) <= 1e-6 * std::fmax(1.0, want.class_count[j]));
      }
    }
  };
  if (c.sparse) {
    xent::SparseOptions o;
    o.from_logits = c.logits;
    o.axis = c.axis;
    o.ignore_class = c.ignore;
    o.label_smoothing = c.ls;
    o.per_class = c.per_class;
    o.nan_policy = c.reject ? xent::NanPolicy::reject : xent::NanPolicy::propagate;
    if (c.per_class) {
      xent::SparseCategoricalCrossentropy<kCap> m(o);
      check_metric(m);
    } else {
      xent::SparseCategoricalCrossentropy<> m(o);
      check_metric(m);
    }
  } else {
    xent::CategoricalOptions o;
    o.from_logits = c.logits;
    o.axis = c.axis;
    o.label_smoothing = c.ls;
    o.per_class = c.per_class;
    o.nan_policy = c.reject ? xent::NanPolicy::reject : xent::NanPolicy::propagate;
    if (c.per_class) {
      xent::CategoricalCrossentropy<kCap> m(o);
      check_metric(m);
    } else {
      xent::CategoricalCrossentropy<> m(o);
      check_metric(m);
    }
  }
}

}  // namespace

TEST_CASE("metrics vs the float64 reference: sparse, random shapes, axes, types and weights") {
  Rng rng(20261123);
  for (int i = 0; i < 300; ++i) run_case(make_case(rng, true), rng);
}

TEST_CASE("metrics vs the float64 reference: categorical, random shapes, axes, types and weights") {
  Rng rng(11232026);
  g_non_finite_cases = 0;
  for (int i = 0; i < 300; ++i) run_case(make_case(rng, false), rng);
  MESSAGE("categorical cases with a non-finite total (all-zero rows): " << g_non_finite_cases);
  CHECK(g_non_finite_cases > 0);
}

TEST_CASE("metrics vs the float64 reference: quantized int8 / uint8 predictions, both metrics") {
  Rng rng(12012027);
  for (int i = 0; i < 400; ++i) {
    Case c = make_case(rng, i % 2 == 0);
    c.pred_ty = rng.chance(0.5) ? Ty::qi8 : Ty::qu8;
    run_case(c, rng);
  }
}

TEST_CASE("metrics vs the float64 reference: quantized, every K from 1 to 70 and thousands, ranks 2 to 4") {
  Rng rng(12022027);
  std::vector<std::size_t> ks;
  for (std::size_t k = 1; k <= 70; ++k) ks.push_back(k);
  for (std::size_t k : {255u, 1000u, 2049u, 4099u}) ks.push_back(k);
  for (std::size_t k : ks) {
    for (bool sparse : {true, false}) {
      Case c = make_case(rng, sparse, k);
      c.pred_ty = rng.chance(0.5) ? Ty::qi8 : Ty::qu8;
      run_case(c, rng);
    }
  }
}
