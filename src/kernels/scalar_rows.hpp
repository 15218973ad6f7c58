#pragma once
// Loops over float32 rows with contiguous classes, for the scalar kernels on bare metal
// (kernels/scalar.cpp with XENT_SCALAR_POLY): written for a single-issue in-order core, where the
// instruction count is the time. Sums as RowSum makes them (4 float lanes, every 64 terms into a
// double). Each function says when it leaves the row to the generic path.
#include <cstddef>
#include <cstdint>

#include "kernels/scalar_math.hpp"

namespace xent::detail::scalar_rows {

using scalar_math::fma;

// Chunks of at most 64 terms: the 4 lanes' sum of one chunk, added into a double when there are
// several (one chunk stays a float: the same value, no double add).
constexpr std::size_t kChunk = 64;
inline float finish(double total, float chunk, std::size_t n) noexcept {
  return n <= kChunk ? chunk : static_cast<float>(total + static_cast<double>(chunk));
}

// The max of n floats with NaN skipped (-inf when all are NaN, or n == 0).
[[gnu::noinline]] inline float max(const float* z, std::size_t n) noexcept {
  float m0 = -kInf, m1 = -kInf;
  const float* end = z + (n & ~std::size_t{1});
  for (; z != end; z += 2) {
    m0 = z[0] > m0 ? z[0] : m0;
    m1 = z[1] > m1 ? z[1] : m1;
  }
  if ((n & 1u) != 0 && z[0] > m0) m0 = z[0];
  return m1 > m0 ? m1 : m0;
}

// log of n floats, 4 at a time under one test: the 4 values of b - 0x00800000 OR-ed below
// 0x7f000000 means each is, i.e. all are positive normals (so every x below 2^64 passes).
inline void log(const float* x, float* out, std::size_t n) noexcept {
  const float* end4 = x + (n & ~std::size_t{3});
  for (; x != end4; x += 4, out += 4) {
    const std::uint32_t b0 = float_to_bits(x[0]), b1 = float_to_bits(x[1]), b2 = float_to_bits(x[2]),
                        b3 = float_to_bits(x[3]);
    if (((b0 - 0x00800000u) | (b1 - 0x00800000u) | (b2 - 0x00800000u) | (b3 - 0x00800000u)) < 0x7f000000u) {
      out[0] = scalar_math::log_normal(b0);
      out[1] = scalar_math::log_normal(b1);
      out[2] = scalar_math::log_normal(b2);
      out[3] = scalar_math::log_normal(b3);
    } else {
      for (std::size_t k = 0; k < 4; ++k) out[k] = scalar_math::log_any(x[k]);
    }
  }
  for (const float* end = x + (n & 3u); x != end; ++x, ++out) *out = scalar_math::log_any(*x);
}

// The sum of n floats.
inline float sum(const float* p, std::size_t n) noexcept {
  double total = 0.0;
  for (std::size_t left = n;;) {
    const std::size_t chunk = left < kChunk ? left : kChunk;
    const float* end4 = p + (chunk & ~std::size_t{3});
    const float* end = p + chunk;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (; p != end4; p += 4) {
      s0 += p[0];
      s1 += p[1];
      s2 += p[2];
      s3 += p[3];
    }
    for (; p != end; ++p) s0 += p[0];
    const float s = (s0 + s1) + (s2 + s3);
    left -= chunk;
    if (left == 0) return finish(total, s, n);
    total += static_cast<double>(s);
  }
}

// Sum of e^(z_k - c) over n <= 64 floats, each term scale (1 + q1 u) (scalar_math::exp_sum_parts):
// Σ scale in 4 lanes carries the sum, Σ scale u (under 1% of it) one lane. c may be below the max
// (the label's logit): terms up to 2^127 are right. NaN when a term is NaN or beyond 2^127 (the
// caller's generic path decides then).
[[gnu::always_inline]] inline float exp_sum_chunk(const float* z, std::size_t n, float c) noexcept {
  float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, b = 0.0f;
  const auto term = [c, &b](float zk, float& a) {
    const float x = zk - c;
    float scale = 0.0f, u = 0.0f;
    if (!scalar_math::exp_sum_parts(x, scale, u)) {
      a += scalar_math::exp_sum_out_of_range(x);
      return;
    }
    a += scale;
    b = fma(scale, u, b);
  };
  // Four terms under one range test of k: [-127 * 64, 129 * 64), exp_sum_parts' range and 64 values
  // beyond each end that do no harm: below, a subnormal scale (the term is under 2^-126 either
  // way); above, an inf or NaN scale (a sum that is not finite: the caller's generic path).
  constexpr std::uint32_t kLow = scalar_math::kExpSumLow - 64u;
  const float* end4 = z + (n & ~std::size_t{3});
  const float* end = z + n;
  for (; z != end4; z += 4) {
    const float x0 = z[0] - c, x1 = z[1] - c, x2 = z[2] - c, x3 = z[3] - c;
    const float k0 = scalar_math::exp_sum_kf(x0), k1 = scalar_math::exp_sum_kf(x1), k2 = scalar_math::exp_sum_kf(x2),
                k3 = scalar_math::exp_sum_kf(x3);
    if (((float_to_bits(k0) - kLow) | (float_to_bits(k1) - kLow) | (float_to_bits(k2) - kLow) |
         (float_to_bits(k3) - kLow)) >= 256u * 64u) {
      term(z[0], a0);
      term(z[1], a1);
      term(z[2], a2);
      term(z[3], a3);
      continue;
    }
    float s0, s1, s2, s3, u0, u1, u2, u3;
    scalar_math::exp_sum_finish(x0, k0, s0, u0);
    scalar_math::exp_sum_finish(x1, k1, s1, u1);
    scalar_math::exp_sum_finish(x2, k2, s2, u2);
    scalar_math::exp_sum_finish(x3, k3, s3, u3);
    a0 += s0;
    a1 += s1;
    a2 += s2;
    a3 += s3;
    b = fma(s0, u0, b);
    b = fma(s1, u1, b);
    b = fma(s2, u2, b);
    b = fma(s3, u3, b);
  }
  for (; z != end; ++z) term(z[0], a0);
  return fma(kExpTableQ64[1], b, (a0 + a1) + (a2 + a3));
}

// Rows of e^(z_k - c) sums around a chunk sum kSum (n <= 64; exp_sum_chunk here, or Helium's),
// which is inlined into the sparse row loop only.
template <float (*kSum)(const float*, std::size_t, float) noexcept>
struct ExpRows {
  // Out of line: one copy for the callers whose rows are not the hot loop.
  [[gnu::noinline]] static float chunk(const float* z, std::size_t n, float c) noexcept { return kSum(z, n, c); }

  // Longer rows: chunks of 64 terms added into a double.
  [[gnu::noinline]] static float long_row(const float* z, std::size_t n, float c) noexcept {
    double total = 0.0;
    for (; n > kChunk; n -= kChunk, z += kChunk) total += static_cast<double>(chunk(z, kChunk, c));
    return static_cast<float>(total + static_cast<double>(chunk(z, n, c)));
  }

  // log(sum e^(z_k - c)) for the generic paths (called as a tail call: no frame left below).
  [[gnu::noinline]] static float log_sum(const float* z, std::size_t n, float c) noexcept {
    return scalar_math::log_any(n <= kChunk ? chunk(z, n, c) : long_row(z, n, c));
  }

  // Sparse losses from logits (no smoothing) of rows float32 rows of `classes` logits, row_stride
  // apart: log(S), S = sum e^(z_k - z_label) >= 1, shifted by the label's logit instead of the max
  // (no max pass, no cancellation). Rows with a negative label and rows whose S is not finite (a
  // NaN or inf logit, or one 88 above the label's) get fallback(r) instead.
  template <class Fallback>
  static void sparse_logits(const float* z, std::size_t rows, std::size_t row_stride, std::size_t classes,
                            const std::int32_t* labels, float* loss, Fallback&& fallback) noexcept {
    for (std::size_t r = 0; r < rows; ++r, z += row_stride) {
      const std::int32_t y = labels[r];
      const float s = y < 0 ? kNaN : classes <= kChunk ? kSum(z, classes, z[y]) : long_row(z, classes, z[y]);
      loss[r] = s - s == 0.0f ? scalar_math::log_normal(float_to_bits(s)) : fallback(r);
    }
  }
};
using Exp = ExpRows<&exp_sum_chunk>;

// The categorical loss of a row of probabilities p with targets t (label smoothing ls), when the
// row's sum S is finite and nonzero; false leaves the row to the generic path. Each clip(p / S) is
// then a positive normal float with a finite log, so a zero target adds exactly 0 and its log is
// skipped (one log a row for one-hot targets).
[[gnu::always_inline]] inline bool categorical_probs(const float* p, const float* t, std::size_t n, float ls, float& loss) noexcept {
  const float total = sum(p, n);
  if (!(total - total == 0.0f && total != 0.0f)) return false;  // inf, NaN or 0
  const bool smooth = ls > 0.0f;
  const float scale = 1.0f - ls, offset = ls / static_cast<float>(n);
  const auto share = [p, t, total, smooth, scale, offset](std::size_t k) {
    const float target = smooth ? t[k] * scale + offset : t[k];  // as Smoothing::apply
    if (target == 0.0f) return 0.0f;
    const float q = p[k] / total;
    const float clipped = q < kEps ? kEps : (q > kOneMinusEps ? kOneMinusEps : q);
    return target * scalar_math::log_normal(float_to_bits(clipped));
  };
  double all = 0.0;
  std::size_t k = 0;
  for (std::size_t left = n;;) {
    const std::size_t chunk = left < kChunk ? left : kChunk;
    const std::size_t end4 = k + (chunk & ~std::size_t{3});
    const std::size_t end = k + chunk;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (; k != end4; k += 4) {
      s0 += share(k);
      s1 += share(k + 1);
      s2 += share(k + 2);
      s3 += share(k + 3);
    }
    for (; k != end; ++k) s0 += share(k);
    const float s = (s0 + s1) + (s2 + s3);
    left -= chunk;
    if (left == 0) {
      loss = 0.0f - finish(all, s, n);  // +0 for a zero sum, as the generic path
      return true;
    }
    all += static_cast<double>(s);
  }
}

// Categorical losses from probabilities of rows float32 rows (categorical_probs); the rows it
// leaves get fallback(r).
template <class Fallback>
void categorical_probs_rows(const float* p, const float* t, std::size_t rows, std::size_t pred_stride,
                            std::size_t truth_stride, std::size_t classes, float ls, float* loss,
                            Fallback&& fallback) noexcept {
  for (std::size_t r = 0; r < rows; ++r, p += pred_stride, t += truth_stride)
    if (!categorical_probs(p, t, classes, ls, loss[r])) loss[r] = fallback(r);
}

}  // namespace xent::detail::scalar_rows
