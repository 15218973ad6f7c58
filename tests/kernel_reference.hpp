#pragma once
// Float64 references for the kernel tests, and ulp helpers. Written from SEMANTICS.md, independent
// of the kernels: every formula here is evaluated in double on the same float32 inputs.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace xent::test {

inline std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The spacing of float32 around the float nearest to `ref` (the ulp used by every bound).
inline double ulp_of(double ref) {
  const double a = std::fabs(ref);
  if (a < 0x1p-126) return 0x1p-149;
  int e = 0;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  return std::ldexp(1.0, e - 24);
}

// Error of a float32 result against a float64 reference, in float32 ulps of the reference.
inline double ulp_error(float got, double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : std::numeric_limits<double>::infinity();
  if (std::isinf(ref)) return (static_cast<double>(got) == ref) ? 0.0 : std::numeric_limits<double>::infinity();
  return std::fabs(static_cast<double>(got) - ref) / ulp_of(ref);
}

// Exact half -> double, straight from the bit fields.
inline double f16_value(std::uint16_t h) {
  const int sign = (h & 0x8000) ? -1 : 1;
  const int e = (h >> 10) & 0x1f;
  const int m = h & 0x3ff;
  if (e == 0x1f) return m ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
  if (e == 0) return sign * std::ldexp(static_cast<double>(m), -24);
  return sign * std::ldexp(static_cast<double>(m + 1024), e - 25);
}

constexpr float kEps = 1e-7f;
constexpr float kOneMinusEps = 1.0f - 1e-7f;
inline double clip_ref(double p) { return p < kEps ? kEps : (p > kOneMinusEps ? kOneMinusEps : p); }

// A sum formed in double and rounded once to float32: "the float32 sum" without order effects.
inline double f32_sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return static_cast<double>(static_cast<float>(s));
}

inline double ref_logsumexp(const std::vector<double>& z) {
  double m = -std::numeric_limits<double>::infinity();
  for (double v : z) {
    if (std::isnan(v)) return v;
    m = std::max(m, v);
  }
  if (std::isinf(m)) return m;
  double s = 0;
  for (double v : z) s += std::exp(v - m);
  return m + std::log(s);
}

// log(sum(exp(z - m))) with m = max(z) returned through m: the logits half of both references.
inline double ref_log_sum_exp_shifted(const std::vector<double>& z, double& m) {
  m = -std::numeric_limits<double>::infinity();
  for (double v : z) m = std::max(m, v);
  std::vector<double> e;
  for (double v : z) e.push_back(std::exp(v - m));
  return std::log(f32_sum(e));
}

// Sparse loss of one row (SEMANTICS.md); label -1 is an ignored row.
inline double ref_sparse(const std::vector<double>& p, int label, bool from_logits, double ls) {
  if (label < 0) return 0.0;
  const double k = static_cast<double>(p.size());
  std::vector<double> neg_log_q(p.size());
  if (from_logits) {
    double m = 0.0;
    const double log_s = ref_log_sum_exp_shifted(p, m);
    for (std::size_t i = 0; i < p.size(); ++i) neg_log_q[i] = log_s - (p[i] - m);
  } else {
    std::vector<double> c;
    for (double v : p) c.push_back(clip_ref(v));
    const double log_s = std::log(f32_sum(c));
    for (std::size_t i = 0; i < p.size(); ++i) neg_log_q[i] = log_s - std::log(c[i]);
  }
  const double nll = neg_log_q[static_cast<std::size_t>(label)];
  if (!(ls > 0)) return nll;
  double mean = 0;
  for (double v : neg_log_q) mean += v;
  mean /= k;
  return (1 - ls) * nll + ls * mean;
}

// Per-class shares of the categorical loss of one row; the loss is their sum.
inline std::vector<double> ref_categorical_shares(const std::vector<double>& p, const std::vector<double>& t,
                                                  bool from_logits, float ls) {
  const std::size_t k = p.size();
  std::vector<double> share(k);
  std::vector<double> ts(k);
  for (std::size_t i = 0; i < k; ++i) {
    // t' = t (1 - ls) + ls / K in float32, as the semantics say.
    ts[i] = ls > 0 ? static_cast<double>(static_cast<float>(t[i]) * (1.0f - ls) + ls / static_cast<float>(k)) : t[i];
  }
  if (from_logits) {
    double m = 0.0;
    const double log_s = ref_log_sum_exp_shifted(p, m);
    for (std::size_t i = 0; i < k; ++i) share[i] = ts[i] * (log_s - (p[i] - m));
  } else {
    const double s = f32_sum(p);
    for (std::size_t i = 0; i < k; ++i) share[i] = -ts[i] * std::log(clip_ref(p[i] / s));
  }
  return share;
}

inline double ref_categorical(const std::vector<double>& p, const std::vector<double>& t, bool from_logits,
                              float ls) {
  double sum = 0;
  for (double v : ref_categorical_shares(p, t, from_logits, ls)) sum += v;
  return sum;
}

// A small deterministic generator (xorshift), so failures reproduce.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }  // [0, 1)
  float uniform(float lo, float hi) { return lo + static_cast<float>(uniform()) * (hi - lo); }

 private:
  std::uint64_t s_;
};

}  // namespace xent::test
