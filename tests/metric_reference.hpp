#pragma once
// The float64 reference of SEMANTICS.md, written plainly from the text: per-row losses, the
// sample-weight rules, total/count, per-class sums. The fast kernels and the metrics are checked
// against it. It works on float32 values (16-bit inputs widened first), as the spec says Keras does.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace xref {

inline constexpr float kEps = 1e-7f;
inline constexpr float kOneMinusEps = 1.0f - 1e-7f;  // float32 arithmetic: bits 0x3F7FFFFE

// The float32 ulp of |x| (spacing above it); the subnormal spacing for tiny x.
inline double ulp32(double x) {
  const float f = static_cast<float>(std::fabs(x));
  if (!std::isfinite(f)) return 0.0;
  const float next = std::nextafter(f, std::numeric_limits<float>::infinity());
  return static_cast<double>(next) - static_cast<double>(f);
}

// A loss and the tolerance SEMANTICS.md "Tolerances" allows for it: 1e-6 * max(1, |loss|) plus
// 4 ulp of each log/exp result entering it (weighted by its coefficient in the loss).
struct Loss {
  double value = 0.0;
  double tol = 0.0;
};

inline double clip(double p) {
  const double lo = static_cast<double>(kEps);
  const double hi = static_cast<double>(kOneMinusEps);
  return p < lo ? lo : (p > hi ? hi : p);
}

// t' of label smoothing, in float32 as Keras computes it.
inline double smoothed(float t, float ls, std::size_t k) {
  if (!(ls > 0.0f)) return static_cast<double>(t);
  return static_cast<double>(t * (1.0f - ls) + ls / static_cast<float>(k));
}

// Row element c is p[c * stride].
inline Loss categorical_row(const float* p, const float* t, std::size_t k, std::size_t stride, bool logits, float ls,
                            std::vector<double>* shares = nullptr) {
  Loss out;
  double log_terms = 0.0;
  if (shares != nullptr) shares->assign(k, 0.0);
  if (logits) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c) m = std::fmax(m, static_cast<double>(p[c * stride]));
    double s = 0.0;
    for (std::size_t c = 0; c < k; ++c) s += std::exp(static_cast<double>(p[c * stride]) - m);
    const double log_s = std::log(s);
    for (std::size_t c = 0; c < k; ++c) {
      const double tc = smoothed(t[c * stride], ls, k);
      const double zc = static_cast<double>(p[c * stride]) - m;
      const double term = tc * (log_s - zc);
      out.value += term;
      if (shares != nullptr) (*shares)[c] = term;
      log_terms += std::fabs(tc) * (ulp32(log_s) + ulp32(zc) + ulp32(std::exp(zc)));
    }
  } else {
    double s = 0.0;
    for (std::size_t c = 0; c < k; ++c) s += static_cast<double>(p[c * stride]);
    for (std::size_t c = 0; c < k; ++c) {
      const double tc = smoothed(t[c * stride], ls, k);
      const double q = clip(static_cast<double>(p[c * stride]) / s);
      const double term = -tc * std::log(q);
      out.value += term;
      if (shares != nullptr) (*shares)[c] = term;
      log_terms += std::fabs(tc) * ulp32(std::log(q));
    }
  }
  out.tol = 1e-6 * std::fmax(1.0, std::fabs(out.value)) + 4.0 * log_terms;
  return out;
}

// Sparse: z = log(clip(p)) (probabilities) or the logits; loss = logsumexp(z) - z[label];
// the label-smoothing extension: (1 - ls) * nll + ls * mean_k(logsumexp(z) - z_k).
inline Loss sparse_row(const float* p, std::size_t k, std::size_t stride, std::int64_t label, bool logits,
                       float ls) {
  Loss out;
  std::vector<double> z(k);
  for (std::size_t c = 0; c < k; ++c) {
    const double v = static_cast<double>(p[c * stride]);
    z[c] = logits ? v : std::log(clip(v));
  }
  double lse = 0.0;
  double log_terms = 0.0;
  if (logits) {
    double m = -std::numeric_limits<double>::infinity();
    for (double v : z) m = std::fmax(m, v);
    double s = 0.0;
    for (double v : z) s += std::exp(v - m);
    lse = m + std::log(s);
    log_terms = ulp32(std::log(s)) + ulp32(z[static_cast<std::size_t>(label)] - m) + ulp32(m);
  } else {
    double s = 0.0;
    for (std::size_t c = 0; c < k; ++c) s += clip(static_cast<double>(p[c * stride]));
    lse = std::log(s);
    log_terms = ulp32(lse) + ulp32(z[static_cast<std::size_t>(label)]);
  }
  const double nll = lse - z[static_cast<std::size_t>(label)];
  if (ls > 0.0f) {
    double mean = 0.0;
    for (double v : z) mean += lse - v;
    mean /= static_cast<double>(k);
    const double l = static_cast<double>(ls);
    out.value = (1.0 - l) * nll + l * mean;
    log_terms += ulp32(mean);
  } else {
    out.value = nll;
  }
  out.tol = 1e-6 * std::fmax(1.0, std::fabs(out.value)) + 4.0 * log_terms;
  return out;
}

// y_pred's geometry for a class axis: [outer, K, inner]; V = the shape without the axis.
struct Geometry {
  std::size_t outer = 1, classes = 0, inner = 1;
  std::vector<std::size_t> v_dims;
  std::size_t elements() const { return outer * inner; }
  // Offset of element (v, class 0) in y_pred and the stride between classes.
  std::size_t row_offset(std::size_t v) const { return (v / inner) * classes * inner + v % inner; }
  std::size_t class_stride() const { return inner; }
};

inline Geometry geometry(const std::vector<std::size_t>& shape, int axis) {
  Geometry g;
  const std::size_t a = static_cast<std::size_t>(axis < 0 ? axis + static_cast<int>(shape.size()) : axis);
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i < a) g.outer *= shape[i];
    if (i > a) g.inner *= shape[i];
    if (i != a) g.v_dims.push_back(shape[i]);
  }
  g.classes = shape[a];
  return g;
}

// The sample-weight rules of SEMANTICS.md, applied literally: per element of V the weight it
// gets, and the divisor of the prefix fallback (V averaged over the trailing axes: the element
// enters with w / group). nullopt: shape_mismatch (rule 5).
struct ElementWeights {
  std::vector<double> w;  // per element of V
  double group = 1.0;
};

inline std::optional<ElementWeights> element_weights(const std::vector<std::size_t>& v_dims,
                                                     const std::vector<std::size_t>& w_dims,
                                                     const std::vector<double>& w) {
  std::size_t n = 1;
  for (std::size_t d : v_dims) n *= d;
  ElementWeights out;
  out.w.assign(n, 0.0);
  if (w_dims.empty()) {  // rule 1
    for (auto& x : out.w) x = w[0];
    return out;
  }
  std::vector<std::size_t> d = w_dims;  // rule 2
  if (d.size() == v_dims.size() + 1 && d.back() == 1) d.pop_back();
  else if (!v_dims.empty() && d.size() + 1 == v_dims.size()) d.push_back(1);
  // The V multi-index of each element, walked by decomposition (no odometer, unlike the library).
  auto v_index = [&](std::size_t flat) {
    std::vector<std::size_t> idx(v_dims.size());
    for (std::size_t j = v_dims.size(); j-- > 0;) {
      idx[j] = flat % v_dims[j];
      flat /= v_dims[j];
    }
    return idx;
  };
  bool broadcast = d.size() == v_dims.size();
  for (std::size_t j = 0; broadcast && j < d.size(); ++j) broadcast = d[j] == 1 || d[j] == v_dims[j];
  if (broadcast) {  // rule 3
    for (std::size_t e = 0; e < n; ++e) {
      const auto idx = v_index(e);
      std::size_t off = 0;
      for (std::size_t j = 0; j < d.size(); ++j) off = off * d[j] + (d[j] == 1 ? 0 : idx[j]);
      out.w[e] = w[off];
    }
    return out;
  }
  bool prefix = d.size() < v_dims.size();
  for (std::size_t j = 0; prefix && j < d.size(); ++j) prefix = d[j] == v_dims[j];
  if (prefix) {  // rule 4
    for (std::size_t j = d.size(); j < v_dims.size(); ++j) out.group *= static_cast<double>(v_dims[j]);
    for (std::size_t e = 0; e < n; ++e) {
      const auto idx = v_index(e);
      std::size_t off = 0;
      for (std::size_t j = 0; j < d.size(); ++j) off = off * d[j] + idx[j];
      out.w[e] = w[off];
    }
    return out;
  }
  return std::nullopt;  // rule 5
}

// A whole update's sums. labels (sparse) hold the truncated class index, or the ignore mark.
struct Batch {
  std::vector<Loss> losses;  // per element of V (0 for ignored)
  double total = 0.0;
  double count = 0.0;
  double abs_err = 0.0;  // sum of |w| * tol over the elements, over group
  std::vector<double> class_total, class_count;
};

struct Spec {
  bool sparse = false;
  bool logits = false;
  float ls = 0.0f;
  int axis = -1;
  std::optional<std::int64_t> ignore;
};

// pred: y_pred's values as float; truth: categorical y_true values (same shape) or sparse labels
// (one per element of V, already truncated). weights: per element of V with their group, or null.
inline Batch evaluate(const Spec& s, const std::vector<std::size_t>& shape, const std::vector<float>& pred,
                      const std::vector<float>& truth, const std::vector<std::int64_t>& labels,
                      const ElementWeights* weights) {
  const Geometry g = geometry(shape, s.axis);
  Batch b;
  b.class_total.assign(g.classes, 0.0);
  b.class_count.assign(g.classes, 0.0);
  const double group = weights != nullptr ? weights->group : 1.0;
  std::vector<double> shares;
  double batch_w = 0.0;
  for (std::size_t v = 0; v < g.elements(); ++v) {
    const double w = weights != nullptr ? weights->w[v] : 1.0;
    const std::size_t off = g.row_offset(v);
    Loss l;
    if (s.sparse) {
      if (s.ignore && labels[v] == *s.ignore) {
        b.losses.push_back(Loss{});
        continue;
      }
      l = sparse_row(pred.data() + off, g.classes, g.class_stride(), labels[v], s.logits, s.ls);
      const auto c = static_cast<std::size_t>(labels[v]);
      b.class_total[c] += l.value * w / group;
      b.class_count[c] += w / group;
    } else {
      l = categorical_row(pred.data() + off, truth.data() + off, g.classes, g.class_stride(), s.logits, s.ls,
                          &shares);
      for (std::size_t c = 0; c < g.classes; ++c) b.class_total[c] += shares[c] * w / group;
      batch_w += w / group;
    }
    b.losses.push_back(l);
    b.total += l.value * w / group;
    b.count += w / group;
    b.abs_err += std::fabs(w) * l.tol / group;
  }
  if (!s.sparse)
    for (auto& c : b.class_count) c = batch_w;
  return b;
}

}  // namespace xref
