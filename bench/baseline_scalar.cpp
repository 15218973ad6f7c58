// The scalar reference: the Keras formulas as plain loops over std::exp / std::log in float32.
// It is also the reference every xent case is checked against before timing.
#include <algorithm>
#include <cmath>
#include <limits>

#include "baselines.hpp"
#include "bench_data.hpp"

namespace xent_bench {
namespace {

// Per-element math in float32 as Keras does; sums in double, so that a reference over a million
// terms is not itself 1e-4 off (a sequential float32 sum would be).
template <class Load>
float row_logsumexp(Load load, std::size_t k) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < k; ++i) m = std::max(m, load(i));
  double s = 0.0;
  for (std::size_t i = 0; i < k; ++i) s += static_cast<double>(std::exp(load(i) - m));
  return std::log(static_cast<float>(s)) + m;
}

float smoothed(float t, float ls, std::size_t k) {
  return ls > 0.0f ? t * (1.0f - ls) + ls / static_cast<float>(k) : t;
}

double sparse_logits(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* z = c.pred + r * c.classes;
    const float lse = row_logsumexp([z](std::size_t i) { return z[i]; }, c.classes);
    total += static_cast<double>(lse - z[c.labels[r]]);
  }
  return total;
}

double sparse_logits_f16(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const std::uint16_t* z = c.pred_f16 + r * c.classes;
    const float lse = row_logsumexp([z](std::size_t i) { return half_bits_to_float(z[i]); }, c.classes);
    total += static_cast<double>(lse - half_bits_to_float(z[c.labels[r]]));
  }
  return total;
}

double sparse_probs(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* p = c.pred + r * c.classes;
    double s = 0.0;
    for (std::size_t k = 0; k < c.classes; ++k) s += static_cast<double>(std::clamp(p[k], kEps, kOneMinusEps));
    total += static_cast<double>(std::log(static_cast<float>(s)) -
                                 std::log(std::clamp(p[c.labels[r]], kEps, kOneMinusEps)));
  }
  return total;
}

double categorical_logits(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* z = c.pred + r * c.classes;
    const float* t = c.truth + r * c.classes;
    float m = -std::numeric_limits<float>::infinity();
    for (std::size_t k = 0; k < c.classes; ++k) m = std::max(m, z[k]);
    double s = 0.0;
    for (std::size_t k = 0; k < c.classes; ++k) s += static_cast<double>(std::exp(z[k] - m));
    const float log_s = std::log(static_cast<float>(s));
    double loss = 0.0;
    for (std::size_t k = 0; k < c.classes; ++k)
      loss += static_cast<double>(smoothed(t[k], c.label_smoothing, c.classes) * (log_s - (z[k] - m)));
    total += static_cast<double>(static_cast<float>(loss));
  }
  return total;
}

double categorical_probs(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* p = c.pred + r * c.classes;
    const float* t = c.truth + r * c.classes;
    double sd = 0.0;
    for (std::size_t k = 0; k < c.classes; ++k) sd += static_cast<double>(p[k]);
    const float s = static_cast<float>(sd);
    double loss = 0.0;
    for (std::size_t k = 0; k < c.classes; ++k)
      loss -= static_cast<double>(smoothed(t[k], c.label_smoothing, c.classes) *
                                  std::log(std::clamp(p[k] / s, kEps, kOneMinusEps)));
    total += static_cast<double>(static_cast<float>(loss));
  }
  return total;
}

void log_n(const float* x, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = std::log(x[i]);
}

float logsumexp(const float* x, std::size_t n) {
  return row_logsumexp([x](std::size_t i) { return x[i]; }, n);
}

double sum(const float* x, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]);
  return s;
}

}  // namespace

const Baseline& scalar_baseline() {
  static const Baseline b{"scalar",           sparse_logits,     sparse_logits_f16, sparse_probs,
                          categorical_logits, categorical_probs, log_n,             logsumexp,
                          sum};
  return b;
}

}  // namespace xent_bench
