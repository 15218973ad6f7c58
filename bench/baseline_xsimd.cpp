// The "xsimd-naive" baseline: what a user writes with xsimd 8.1 in an afternoon. Two passes
// (max, then exp-sum), xsimd::exp / xsimd::log, one vector accumulator, a scalar std:: tail.
// Compiled for the best ISA of the build machine (bench/CMakeLists.txt), so the comparison is fair.
#include <algorithm>
#include <cmath>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "baselines.hpp"

namespace xent_bench {
namespace {

using B = xsimd::batch<float>;
constexpr std::size_t kW = B::size;

float row_max(const float* z, std::size_t k) {
  float m = -std::numeric_limits<float>::infinity();
  std::size_t i = 0;
  if (k >= kW) {
    B vm = B::load_unaligned(z);
    for (i = kW; i + kW <= k; i += kW) vm = xsimd::max(vm, B::load_unaligned(z + i));
    alignas(64) float lanes[kW];
    vm.store_aligned(lanes);
    for (float v : lanes) m = std::max(m, v);
  }
  for (; i < k; ++i) m = std::max(m, z[i]);
  return m;
}

float row_exp_sum(const float* z, std::size_t k, float m) {
  const B vm(m);
  B acc(0.0f);
  std::size_t i = 0;
  for (; i + kW <= k; i += kW) acc += xsimd::exp(B::load_unaligned(z + i) - vm);
  float s = xsimd::hadd(acc);
  for (; i < k; ++i) s += std::exp(z[i] - m);
  return s;
}

double sparse_logits(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* z = c.pred + r * c.classes;
    const float m = row_max(z, c.classes);
    const float lse = std::log(row_exp_sum(z, c.classes, m)) + m;
    total += static_cast<double>(lse - z[c.labels[r]]);
  }
  return total;
}

double sparse_probs(const Case& c) {
  const B lo(kEps), hi(kOneMinusEps);
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* p = c.pred + r * c.classes;
    B acc(0.0f);
    std::size_t i = 0;
    for (; i + kW <= c.classes; i += kW) acc += xsimd::clip(B::load_unaligned(p + i), lo, hi);
    float s = xsimd::hadd(acc);
    for (; i < c.classes; ++i) s += std::clamp(p[i], kEps, kOneMinusEps);
    total += static_cast<double>(std::log(s) - std::log(std::clamp(p[c.labels[r]], kEps, kOneMinusEps)));
  }
  return total;
}

double categorical_logits(const Case& c) {
  const float ls = c.label_smoothing;
  const float keep = ls > 0.0f ? 1.0f - ls : 1.0f;
  const float spread = ls > 0.0f ? ls / static_cast<float>(c.classes) : 0.0f;
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* z = c.pred + r * c.classes;
    const float* t = c.truth + r * c.classes;
    const float m = row_max(z, c.classes);
    const float log_s = std::log(row_exp_sum(z, c.classes, m));
    const B vm(m), vlog_s(log_s), vkeep(keep), vspread(spread);
    B acc(0.0f);
    std::size_t i = 0;
    for (; i + kW <= c.classes; i += kW) {
      const B tt = xsimd::fma(B::load_unaligned(t + i), vkeep, vspread);
      acc += tt * (vlog_s - (B::load_unaligned(z + i) - vm));
    }
    float loss = xsimd::hadd(acc);
    for (; i < c.classes; ++i) loss += (t[i] * keep + spread) * (log_s - (z[i] - m));
    total += static_cast<double>(loss);
  }
  return total;
}

double categorical_probs(const Case& c) {
  const float ls = c.label_smoothing;
  const float keep = ls > 0.0f ? 1.0f - ls : 1.0f;
  const float spread = ls > 0.0f ? ls / static_cast<float>(c.classes) : 0.0f;
  const B lo(kEps), hi(kOneMinusEps), vkeep(keep), vspread(spread);
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* p = c.pred + r * c.classes;
    const float* t = c.truth + r * c.classes;
    B vs(0.0f);
    std::size_t i = 0;
    for (; i + kW <= c.classes; i += kW) vs += B::load_unaligned(p + i);
    float s = xsimd::hadd(vs);
    for (; i < c.classes; ++i) s += p[i];
    const B vsum(s);
    B acc(0.0f);
    for (i = 0; i + kW <= c.classes; i += kW) {
      const B q = xsimd::clip(B::load_unaligned(p + i) / vsum, lo, hi);
      acc += xsimd::fma(B::load_unaligned(t + i), vkeep, vspread) * xsimd::log(q);
    }
    float loss = xsimd::hadd(acc);
    for (; i < c.classes; ++i) loss += (t[i] * keep + spread) * std::log(std::clamp(p[i] / s, kEps, kOneMinusEps));
    total -= static_cast<double>(loss);
  }
  return total;
}

void log_n(const float* x, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + kW <= n; i += kW) xsimd::log(B::load_unaligned(x + i)).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = std::log(x[i]);
}

float logsumexp(const float* x, std::size_t n) {
  const float m = row_max(x, n);
  return std::log(row_exp_sum(x, n, m)) + m;
}

// Four independent accumulators: enough to stream at the memory limit.
double sum(const float* x, std::size_t n) {
  B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
  std::size_t i = 0;
  for (; i + 4 * kW <= n; i += 4 * kW) {
    a0 += B::load_unaligned(x + i);
    a1 += B::load_unaligned(x + i + kW);
    a2 += B::load_unaligned(x + i + 2 * kW);
    a3 += B::load_unaligned(x + i + 3 * kW);
  }
  float s = xsimd::hadd((a0 + a1) + (a2 + a3));
  for (; i < n; ++i) s += x[i];
  return static_cast<double>(s);
}

}  // namespace

const Baseline& xsimd_baseline() {
  static const Baseline b{"xsimd_naive",      sparse_logits,     nullptr, sparse_probs,
                          categorical_logits, categorical_probs, log_n,   logsumexp,
                          sum};
  return b;
}

const char* xsimd_baseline_arch() { return xsimd::default_arch::name(); }

}  // namespace xent_bench
