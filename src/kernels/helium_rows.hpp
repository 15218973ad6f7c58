#pragma once
// The loops of kernels/scalar_rows.hpp four lanes at a time with Helium (MVE, floating point: the
// Cortex-M55), for the bare-metal table then named "helium" (kernels/scalar.cpp). Each lane runs the
// arithmetic of scalar_math.hpp (the same fused multiply-adds and tables), so the bounds are the
// same; what a lane cannot take (a special log input, an exp term out of the table's range) goes to
// the scalar code.
#include <arm_mve.h>

#include <cstddef>
#include <cstdint>

#include "kernels/scalar_math.hpp"
#include "kernels/scalar_rows.hpp"

namespace xent::detail::helium {

using scalar_rows::kChunk;

// a + b + c + d of the lanes, paired as RowSum's lanes.
[[gnu::always_inline]] inline float lanes_sum(float32x4_t v) noexcept {
  return (vgetq_lane_f32(v, 0) + vgetq_lane_f32(v, 1)) + (vgetq_lane_f32(v, 2) + vgetq_lane_f32(v, 3));
}

// The max of n floats with NaN skipped (vmaxnm), -inf when all are NaN or n == 0.
inline float max(const float* z, std::size_t n) noexcept {
  float32x4_t m = vdupq_n_f32(-kInf);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) m = vmaxnmq_f32(m, vld1q_f32(z + i));
  float r = vmaxnmvq_f32(-kInf, m);
  for (; i < n; ++i) r = z[i] > r ? z[i] : r;
  return r;
}

// The sum of n floats: 4 lanes, chunks of 64 into a double (scalar_rows::sum).
inline float sum(const float* p, std::size_t n) noexcept {
  double total = 0.0;
  for (std::size_t left = n;;) {
    const std::size_t chunk = left < kChunk ? left : kChunk;
    float32x4_t s = vdupq_n_f32(0.0f);
    std::size_t i = 0;
    for (; i + 4 <= chunk; i += 4) s = vaddq_f32(s, vld1q_f32(p + i));
    if (i < chunk) s = vaddq_m_f32(s, s, vldrwq_z_f32(p + i, vctp32q(chunk - i)), vctp32q(chunk - i));
    const float c = lanes_sum(s);
    p += chunk;
    left -= chunk;
    if (left == 0) return scalar_rows::finish(total, c, n);
    total += static_cast<double>(c);
  }
}

// Four terms of exp_sum: scalar_math::exp_sum_parts in lanes (the same operations), accumulated in
// a and b (under predicate p for the row's last lanes). t collects k's offsets in the window
// [-127 * 64, 129 * 64) (scalar_rows::exp_sum_chunk's four-term test).
template <bool kPredicated>
[[gnu::always_inline]] inline void exp_terms(float32x4_t z, float c, mve_pred16_t p, float32x4_t& a, float32x4_t& b,
                                             uint32x4_t& t) noexcept {
  constexpr float kQ0OverQ1 = kExpTableQ64[0] / kExpTableQ64[1];
  const float32x4_t x = vsubq_n_f32(z, c);
  const float32x4_t kf = vfmaq_n_f32(vdupq_n_f32(kExpTableMagic), x, kLog2e * 64.0f);
  const uint32x4_t kb = vreinterpretq_u32_f32(kf);
  const uint32x4_t offset = vsubq_n_u32(kb, scalar_math::kExpSumLow - 64u);
  const float32x4_t f = vfmaq_n_f32(x, vsubq_n_f32(kf, kExpTableMagic), -kLn2 / 64.0f);
  const int32x4_t entry = vldrwq_gather_shifted_offset_s32(kExpTable64, vandq_u32(kb, vdupq_n_u32(63u)));
  const float32x4_t scale = vreinterpretq_f32_u32(vaddq_u32(vreinterpretq_u32_s32(entry), vshlq_n_u32(kb, 17)));
  const float32x4_t u = vmulq_f32(f, vaddq_n_f32(f, kQ0OverQ1));
  if constexpr (kPredicated) {
    t = vorrq_m_u32(t, t, offset, p);
    a = vaddq_m_f32(a, a, scale, p);
    b = vfmaq_m_f32(b, scale, u, p);
  } else {
    (void)p;
    t = vorrq_u32(t, offset);
    a = vaddq_f32(a, scale);
    b = vfmaq_f32(b, scale, u);
  }
}

// scalar_rows::exp_sum_chunk in lanes (n <= 64): when a term's k leaves the window the row is summed
// again by the scalar code, which takes each term exactly.
[[gnu::always_inline]] inline float exp_sum_chunk(const float* z, std::size_t n, float c) noexcept {
  float32x4_t a = vdupq_n_f32(0.0f), b = vdupq_n_f32(0.0f);
  uint32x4_t t = vdupq_n_u32(0u);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) exp_terms<false>(vld1q_f32(z + i), c, 0, a, b, t);
  if (i < n) {
    const mve_pred16_t p = vctp32q(static_cast<std::uint32_t>(n - i));
    exp_terms<true>(vldrwq_z_f32(z + i, p), c, p, a, b, t);
  }
  if (vmaxvq_u32(0u, t) >= 256u * 64u) return scalar_rows::Exp::chunk(z, n, c);
  return lanes_sum(vfmaq_n_f32(a, b, kExpTableQ64[1]));
}

using Exp = scalar_rows::ExpRows<&exp_sum_chunk>;

// log of four lanes of positive normal bits b (scalar_math::log_normal in lanes).
[[gnu::always_inline]] inline float32x4_t log_normal(uint32x4_t b) noexcept {
  const int32x4_t e = vshrq_n_s32(vreinterpretq_s32_u32(vsubq_n_u32(b, 0x3f400000u)), 23);
  const float32x4_t z = vreinterpretq_f32_u32(vsubq_u32(b, vshlq_n_u32(vreinterpretq_u32_s32(e), 23)));
  // Byte offsets of the entries {invc, logc} (scalar_math::kLogEntries): 8 (bits 18..22 of b).
  const uint32x4_t off = vshlq_n_u32(vandq_u32(vshrq_n_u32(b, 18), vdupq_n_u32(31u)), 3);
  const float* table = &scalar_math::kLogEntries[0].invc;
  const float32x4_t invc = vldrwq_gather_offset_f32(table, off);
  const float32x4_t logc = vldrwq_gather_offset_f32(table + 1, off);
  const float32x4_t r = vfmasq_n_f32(z, invc, -1.0f);
  const float32x4_t h = vfmaq_n_f32(logc, vcvtq_f32_s32(e), kLn2);
  const float32x4_t r2 = vmulq_f32(r, r);
  const float32x4_t a = vfmaq_n_f32(vfmaq_n_f32(vdupq_n_f32(kLogTableQ[0]), r, kLogTableQ[1]), r2, kLogTableQ[2]);
  return vfmaq_f32(vaddq_f32(h, r), r2, a);
}

// log of n floats, four lanes at a time; four with a special value among them go to the scalar log.
inline void log(const float* x, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32x4_t b = vreinterpretq_u32_f32(vld1q_f32(x + i));
    if (vmaxvq_u32(0u, vsubq_n_u32(b, 0x00800000u)) < 0x7f000000u) {
      vst1q_f32(out + i, log_normal(b));
    } else {
      for (std::size_t k = i; k < i + 4; ++k) out[k] = scalar_math::log_any(x[k]);
    }
  }
  for (; i < n; ++i) out[i] = scalar_math::log_any(x[i]);
}

// Categorical rows stay scalar (scalar_rows::categorical_probs_rows): with one-hot targets their
// work is one division and one log a row, and four-lane tests of the targets measured no faster.
using scalar_rows::categorical_probs_rows;

}  // namespace xent::detail::helium
