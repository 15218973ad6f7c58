#pragma once
// Single-precision log and exp one element at a time, for the scalar kernels on bare-metal cores
// with a fused multiply-add (Cortex-M4F, M7, M55: FPv4/FPv5), where newlib's logf/expf cost ~40-70
// instructions. The SIMD kernels' algorithms and constants (kernels/constants.hpp), arranged for
// a single-issue core: fewest instructions, float only (an M4 has no double-precision unit).
//   log: the 32-entry table log: max 3.5 ulp over positive normals (measured 2.39 over all of them),
//        exact 0 at 1;
//   exp (x <= 0): degree-6 polynomial, 2^k by an integer shift: max 2 ulp on [-87, 0] (measured 0.89);
//   the sums' exp (x <= 0): 2^(k/64) from a table times 1 + f q(f): max 2.5 ulp + |x| * 2.8e-9
//        relative on [-87, 0] (measured 1.12 ulp on [-1, 0]).
// Bounds as the kernel tests hold them (tests/test_kernels_math.cpp, run on the boards); the
// figures measured over every float of the range, on a host with FMA (the same arithmetic).
#include <array>
#include <cstdint>

#include "kernels/constants.hpp"
#include "kernels/half_bits.hpp"

#if !defined(__ARM_FEATURE_FMA) && !defined(__FMA__)
#error "kernels/scalar_math.hpp needs a fused multiply-add in hardware"
#endif

namespace xent::detail::scalar_math {

inline float fma(float a, float b, float c) noexcept { return __builtin_fmaf(a, b, c); }

// The table log's entries side by side (one address for both loads), with logc for z < 1 taken
// without its kLn2: x = 2^e' z with e' = e + 1 there, and logc - kLn2 is exact (Sterbenz: logc is
// at least kLn2 / 2), so e' kLn2 + (logc - kLn2) is the same sum as e kLn2 + logc.
struct LogEntry {
  float invc;
  float logc;
};
constexpr std::array<LogEntry, 32> log_entries() noexcept {
  std::array<LogEntry, 32> t{};
  for (std::size_t j = 0; j < 32; ++j) t[j] = {kLogTableInvC[j], j < 16 ? kLogTableLogC[j] : kLogTableLogC[j] - kLn2};
  return t;
}
alignas(8) inline constexpr std::array<LogEntry, 32> kLogEntries = log_entries();

// log of a positive normal float, from its bits: x = 2^e' z, z in [3/4, 3/2) (the bits of 0.75
// subtracted, e' is the exponent field of the difference), entry j by bits 18..22 of x (those of z),
// r = z invc - 1 in [-1/64, 1/32) exact in one fused multiply-add, and
// log x = e' kLn2 + logc + r + r^2 (c0 + c1 r + c2 r^2) (kLogTableQ: log(1 + r) = r Q(r)).
inline float log_normal(std::uint32_t b) noexcept {
  const std::uint32_t t = b - 0x3f400000u;
  std::int32_t e = static_cast<std::int32_t>(t) >> 23;
  // Opaque to the optimizer: b - (e << 23) is then one subtract with a shifted operand, where GCC
  // would rebuild e << 23 as t & 0xff800000 (two instructions).
  __asm__("" : "+r"(e));
  const float z = bits_to_float(b - (static_cast<std::uint32_t>(e) << 23));
  const LogEntry& c = kLogEntries[(b >> 18) & 31u];
  const float r = fma(z, c.invc, -1.0f);
  const float h = fma(static_cast<float>(e), kLn2, c.logc);
  const float r2 = r * r;
  const float a = fma(kLogTableQ[2], r2, fma(kLogTableQ[1], r, kLogTableQ[0]));
  return fma(r2, a, h + r);
}

// Zero, subnormals, negatives, inf and NaN.
[[gnu::cold, gnu::noinline]] inline float log_special(float x) noexcept {
  if (x != x) return x;
  if (x < 0.0f) return kNaN;
  if (x == 0.0f) return -kInf;
  if (x == kInf) return kInf;
  // A positive subnormal: x 2^23 is normal.
  return log_normal(float_to_bits(x * 0x1p23f)) - 23.0f * kLn2Hi - 23.0f * kLn2Lo;
}

// Positive normal floats are [0x00800000, 0x7f7fffff] as bits: one unsigned compare.
inline bool is_positive_normal(std::uint32_t b) noexcept { return b - 0x00800000u < 0x7f000000u; }

inline float log_any(float x) noexcept {
  const std::uint32_t b = float_to_bits(x);
  return is_positive_normal(b) ? log_normal(b) : log_special(x);
}

// exp(x) for x <= 0, max 2 ulp on [-87, 0]: kernels/simd/math.hpp's exp_parts. Below -87.5 (and
// -inf) a value under FLT_MIN; NaN stays NaN.
inline float exp_nonpositive(float x) noexcept {
  if (x < kExpClamp) x = kExpClamp;
  const float kf = fma(x, kLog2e, kExpMagic);
  const float k = kf - kExpMagic;
  const float f = fma(k, -kLn2Lo, fma(k, -kLn2Hi, x));
  float q = kExpQ[4];
  for (int i = 3; i >= 0; --i) q = fma(q, f, kExpQ[i]);
  const float p = fma(fma(q, f, 1.0f), f, 1.0f);
  return p * bits_to_float(float_to_bits(kf) << 23);  // 2^k: kf's low bits are k + 127
}

// The sums' exp in parts, term = scale (1 + q1 u): k = round(64 x / ln2) in kf's low bits,
// f = x - k ln2/64 (one constant: the |x| * 2.8e-9 term), scale = 2^(k/64) (the table's entry
// k mod 64 with k div 64 added to its exponent), u = f (f + q0/q1), so that 1 + q1 u = 1 + f q(f).
// A sum keeps Σ scale and Σ scale u apart: one multiply-add fewer a term. False when k is out of
// [-126 * 64, 128 * 64): x < -87.3 (e^x < 2^-126), x > 88.7, -inf or a NaN with its sign set (a
// NaN with its sign clear gets scale 1 and u NaN).
constexpr std::uint32_t kExpSumLow = 0x4b400000u - 126u * 64u;      // kf's bits at k = -126 * 64
constexpr std::uint32_t kExpSumSpan = 126u * 64u + 127u * 64u + 63u;  // up to k = 127 * 64 + 63
[[gnu::always_inline]] inline float exp_sum_kf(float x) noexcept { return fma(x, kLog2e * 64.0f, kExpTableMagic); }
[[gnu::always_inline]] inline void exp_sum_finish(float x, float kf, float& scale, float& u) noexcept {
  constexpr float kQ0OverQ1 = kExpTableQ64[0] / kExpTableQ64[1];
  const std::uint32_t kb = float_to_bits(kf);
  const float f = fma(kf - kExpTableMagic, -kLn2 / 64.0f, x);
  scale = bits_to_float(static_cast<std::uint32_t>(kExpTable64[kb & 63u]) + (kb << 17));
  u = f * (f + kQ0OverQ1);
}
[[gnu::always_inline]] inline bool exp_sum_parts(float x, float& scale, float& u) noexcept {
  const float kf = exp_sum_kf(x);
  if (float_to_bits(kf) - kExpSumLow > kExpSumSpan) return false;
  exp_sum_finish(x, kf, scale, u);
  return true;
}

// A term out of exp_sum_parts' range: e^x < 2^-126 (and -inf) adds 0; a NaN, or e^x above 2^127,
// gives NaN (for a sum shifted below its max: the caller's sign to shift by the max instead).
[[gnu::cold, gnu::noinline]] inline float exp_sum_out_of_range(float x) noexcept { return x < 0.0f ? 0.0f : kNaN; }

// exp(x) for x <= 0 as one term of a sum: max 2.5 ulp + |x| * 2.8e-9 relative on [-87, 0].
inline float exp_sum_term(float x) noexcept {
  float scale = 0.0f, u = 0.0f;
  if (!exp_sum_parts(x, scale, u)) return exp_sum_out_of_range(x);
  return fma(kExpTableQ64[1], scale * u, scale);
}

}  // namespace xent::detail::scalar_math
