// Elementwise math over one vector type F = simd::vf<A>: log, exp and their parts, clip; the public
// elementwise kernels (log over an array, the tests' view of the two exps).
// log: division-free, 1+r in [2/3, 4/3), r + r^2 P6(r) by Horner: max 3.5 ulp (measured 3.27, SSE2 3.47), exact 0 at 1;
// AVX-512: a 32-entry table (vgetmantps/vgetexpps, permutes), |r| < 1/32, r Q3(r): measured 1.59 ulp, exact 0 at 1.
// exp (x <= 0): magic-bias rounding, degree-6 polynomial, 2^k by an integer shift: max 2 ulp on
// [-87, 0] (measured 0.97). Inside sums a cheaper one: 2^(k/16) (AVX-512) or 2^(k/8) (AVX2) from a
// register table times a degree-3 polynomial, else degree 5: max 2.5 ulp + |x| * 2.8e-9 relative
// (measured 1.7 / 1.9 / 2.3 ulp on [-1, 0] for AVX-512 / AVX2 / SSE2; the |x| term is below e^x).
// Part of the Kernels<A> chain assembled by kernels/simd_kernels.hpp (one copy per ISA namespace).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/constants.hpp"
#include "simd/simd.hpp"

// The root of the chain: every other kernels/simd/ header includes this one.
#ifndef XENT_KERNEL_NS
#error "define XENT_KERNEL_NS (the ISA's namespace) before including kernels/simd_kernels.hpp"
#endif

namespace xent::detail::XENT_KERNEL_NS {

// Whether simd::fma fuses here (SSE2 has none: a multiply and an add, two roundings).
#if defined(__FMA__) || defined(__AVX512F__) || defined(__ARM_FEATURE_FMA)
constexpr bool kFusedFma = true;
#else
constexpr bool kFusedFma = false;
#endif

// The online pass prefetches this many bytes ahead: the hardware prefetcher alone left it at 81-85%
// of a plain sum's rate over a 32.8 MB batch; 8 KiB ahead, 92-93% (randomly interleaved A/B runs).
constexpr std::size_t kPrefetchAhead = 8192;

alignas(64) constexpr float kIota[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                         16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                         32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                         48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

template <class A>
struct Math {
  using F = simd::vf<A>;
  using I = simd::vi<A>;
  using B = xsimd::batch_bool<float, A>;
  static constexpr std::size_t W = F::size;
  static_assert(W <= 16, "kIota and the tile sizes assume at most 16 lanes");
  // Interleaved lanes: a second copy of the lane kernels without the get_other call, where its
  // spills (32- and 64-byte vectors) would cost most stack; 4-lane ISAs keep one copy (M2).
  static constexpr bool kSplitFast = W >= 8;

  // ---- elementwise math -------------------------------------------------------------------

  // log of N vectors of positive normal floats (the clipped probabilities): max 3.5 ulp, exact 0
  // at 1. Step by step across the N vectors, so their independent chains are interleaved in program
  // order: Horner's chain is long, and the out-of-order window then always holds work from all N.
  template <std::size_t N>
  [[gnu::always_inline]] static void log_core_n(F (&v)[N]) noexcept {
    if constexpr (simd::kHasLogLookup<A>) {
      log_table_n(v);
      return;
    }
    I t[N];
    F r[N], h[N], p[N];
    for (std::size_t k = 0; k < N; ++k) t[k] = simd::as_int<A>(v[k]) - I(0x3f2aaaab);  // bits of 2/3
    // 1 + r = x / 2^n in [2/3, 4/3), r exact; n = t >> 23 (floor), the mantissa t mod 2^23 + bits(2/3).
    for (std::size_t k = 0; k < N; ++k) r[k] = simd::as_float<A>((t[k] & I(0x007fffff)) + I(0x3f2aaaab)) - F(1.0f);
    // n ln2 + r first (off the critical path): with ln2 in one float its 1.9e-9 error is under 0.07
    // ulp of any result with n != 0 (those are at least 0.28 in magnitude); n = 0 leaves r exact.
    for (std::size_t k = 0; k < N; ++k) h[k] = simd::fma<A>(xsimd::to_float(simd::sra<23, A>(t[k])), F(kLn2), r[k]);
    // Horner: the fewest multiply-adds (the throughput limit).
    for (std::size_t k = 0; k < N; ++k) p[k] = simd::fma<A>(F(kLogP[6]), r[k], F(kLogP[5]));
    for (int i = 4; i >= 0; --i)
      for (std::size_t k = 0; k < N; ++k) p[k] = simd::fma<A>(p[k], r[k], F(kLogP[i]));
    for (std::size_t k = 0; k < N; ++k) v[k] = simd::fma<A>(r[k] * r[k], p[k], h[k]);
  }

  // log_core_n by the 32-entry table (AVX-512): 11 vector operations instead of 16. Roundings: r
  // (none next to 1), e kLn2 + logc (exact for e = -1 or 0 next to 1), r Q's, and the last FMA.
  // Also exact for positive subnormals (vgetmantps/vgetexpps normalize them). Fused multiply-adds
  // always (simd::fma): unfused, r = z invc - 1 alone would cost up to 30 ulp.
  template <std::size_t N>
  [[gnu::always_inline]] static void log_table_n(F (&v)[N]) noexcept {
    const F invc0 = F::load_aligned(kLogTableInvC), invc1 = F::load_aligned(kLogTableInvC + 16);
    const F logc0 = F::load_aligned(kLogTableLogC), logc1 = F::load_aligned(kLogTableLogC + 16);
    F r[N], h[N], q[N];
    for (std::size_t k = 0; k < N; ++k) {
      F z, e;
      simd::log_lookup_split<A>(v[k], z, e);
      const I j = simd::sra<18, A>(simd::as_int<A>(z));
      r[k] = simd::fma<A>(z, simd::log_lookup32<A>(j, invc0, invc1), F(-1.0f));
      h[k] = simd::fma<A>(e, F(kLn2), simd::log_lookup32<A>(j, logc0, logc1));
    }
    for (std::size_t k = 0; k < N; ++k) q[k] = simd::fma<A>(F(kLogTableQ[2]), r[k], F(kLogTableQ[1]));
    for (std::size_t k = 0; k < N; ++k) q[k] = simd::fma<A>(q[k], r[k], F(kLogTableQ[0]));
    for (std::size_t k = 0; k < N; ++k) q[k] = simd::fma<A>(q[k], r[k], F(1.0f));
    for (std::size_t k = 0; k < N; ++k) v[k] = simd::fma<A>(r[k], q[k], h[k]);
  }

  [[gnu::always_inline]] static F log_core(const F& x) noexcept {
    F v[1] = {x};
    log_core_n(v);
    return v[0];
  }

  // The cold branch: zero, subnormals, negatives, inf and NaN.
  [[gnu::noinline]] static F log_special(F x) noexcept {
    const B small = x < F(0x1p-126f);  // zero, subnormal or negative (armv7 NEON: subnormals read as 0)
    const F scaled = xsimd::select(small, x * F(0x1p23f), x);
    F y = log_core(scaled);
    y = xsimd::select(small, y - F(23.0f * kLn2Hi) - F(23.0f * kLn2Lo), y);  // undo the 2^23
    y = xsimd::select(scaled == F(0.0f), F(-kInf), y);
    y = xsimd::select(x < F(0.0f), F(kNaN), y);
    y = xsimd::select(x == F(kInf), F(kInf), y);
    return xsimd::select(xsimd::isnan(x), x, y);
  }

  // Positive normal lanes: one integer compare, bits + 0x7f800000 wraps [0x00800000, 0x7f7fffff]
  // onto [INT_MIN, 0xff000000) and everything else (zero, subnormals, inf, NaN, negatives) above it.
  using IB = xsimd::batch_bool<std::int32_t, A>;
  static constexpr std::int32_t kNormalWrap = 0x7f800000;
  static constexpr std::int32_t kNormalEnd = static_cast<std::int32_t>(0xff000000u);
  [[gnu::always_inline]] static IB is_normal(const F& x) noexcept {
    return simd::as_int<A>(x) + I(kNormalWrap) < I(kNormalEnd);
  }

  // log of anything: max 3.5 ulp over positive normals; log(0) = -inf, log(x < 0) = NaN, inf, NaN.
  [[gnu::always_inline]] static F log_any(const F& x) noexcept {
    if (xsimd::all(is_normal(x))) return log_core(x);
    return log_special(x);
  }

  // exp(x) for x <= 0 as p * scale (so a sum can fuse the product into its accumulator): max 2 ulp
  // on [-87, 0]; below -87.5 (and -inf) the clamp gives a value under FLT_MIN; NaN passes.
  [[gnu::always_inline]] static void exp_parts(const F& x_in, F& p, F& scale) noexcept {
    const F x = xsimd::max(F(kExpClamp), x_in);  // operand order keeps NaN (x86 returns the second)
    const F kf = simd::fma<A>(x, F(kLog2e), F(kExpMagic));
    const F k = kf - F(kExpMagic);
    F f = simd::fma<A>(k, F(-kLn2Hi), x);
    f = simd::fma<A>(k, F(-kLn2Lo), f);
    F q = F(kExpQ[4]);
    for (int i = 3; i >= 0; --i) q = simd::fma<A>(q, f, F(kExpQ[i]));
    q = simd::fma<A>(q, f, F(1.0f));
    p = simd::fma<A>(q, f, F(1.0f));                               // 1 + f (1 + f Q(f))
    scale = simd::as_float<A>(simd::shl<23, A>(simd::as_int<A>(kf)));  // 2^k: the low bits of kf are k + 127
  }

  // The cheaper exp inside sums (logsumexp's S): a degree-5 polynomial, 8 FMA-class operations per
  // vector, or with a register table (AVX-512: N = 16, AVX2: N = 8) a degree-3 one, 6 of them. One
  // constant for ln 2 / N where the FMA fuses (SSE2: two). Each term's relative error is <= 2.5 ulp +
  // |x| * 2.8e-9 (ln 2's float error); the terms with large |x| are below e^x, so S (>= 1) keeps a
  // relative error under 2.5 ulp.
  static constexpr std::size_t kExpN = simd::lookup_size<A>();
  [[gnu::always_inline]] static void exp_sum_parts(const F& x_in, F& p, F& scale) noexcept {
    if constexpr (kExpN != 0) {
      static_assert(kExpN == 16 || kExpN == 8, "tables for N = 16 and 8");
      constexpr const float* q = kExpN == 16 ? kExpTableQ16 : kExpTableQ8;
      const F x = xsimd::max(F(kExpTableClamp), x_in);  // NaN passes (the second operand)
      const F kf = simd::fma<A>(x, F(kLog2e * kExpN), F(kExpTableMagic));
      const F f = simd::fma<A>(kf - F(kExpTableMagic), F(-kLn2 / kExpN), x);
      p = simd::fma<A>(simd::fma<A>(simd::fma<A>(F(q[2]), f, F(q[1])), f, F(q[0])), f, F(1.0f));
      // k = N (k div N) + j: the table's entry j, with k << (23 - log2 N) adding k div N to its exponent
      // (kf's bits are 0x4b400000 + k; the constant part shifts out).
      const I kb = simd::as_int<A>(kf);
      const I entry = simd::lookup<A>(kb, kExpN == 16 ? kExpTable16 : kExpTable8);
      scale = simd::as_float<A>(entry + simd::shl<kExpN == 16 ? 19 : 20, A>(kb));
    } else {
      const F x = xsimd::max(F(kExpClamp), x_in);
      const F kf = simd::fma<A>(x, F(kLog2e), F(kExpMagic));
      F f;
      if constexpr (kFusedFma) {
        f = simd::fma<A>(kf - F(kExpMagic), F(-kLn2), x);
      } else {  // k ln2 rounded to float would cost |x| * 2^-24 relative
        const F k = kf - F(kExpMagic);
        f = simd::fma<A>(k, F(-kLn2Lo), simd::fma<A>(k, F(-kLn2Hi), x));
      }
      F q = F(kExpSumQ[3]);
      for (int i = 2; i >= 0; --i) q = simd::fma<A>(q, f, F(kExpSumQ[i]));
      q = simd::fma<A>(q, f, F(1.0f));
      p = simd::fma<A>(q, f, F(1.0f));
      scale = simd::as_float<A>(simd::shl<23, A>(simd::as_int<A>(kf)));
    }
  }

  static F exp_sum_term(const F& x) noexcept {
    F p, scale;
    exp_sum_parts(x, p, scale);
    return p * scale;
  }

  static F exp_core(const F& x) noexcept {
    F p, scale;
    exp_parts(x, p, scale);
    return p * scale;
  }

  [[gnu::always_inline]] static F clip(const F& p) noexcept {
    // Operand order keeps NaN: x86 max/min return the second operand when either is NaN.
    return xsimd::min(F(kOneMinusEps), xsimd::max(F(kEps), p));
  }

  static F tail_mask_zero(const F& v, std::size_t n) noexcept {  // lanes >= n set to 0
    return xsimd::select(F::load_aligned(kIota) < F(static_cast<float>(n)), v, F(0.0f));
  }

  // The cache lines kAhead bytes beyond [p, p + bytes), for reading (kWrite 0) or writing (1). A
  // prefetch never faults, so reaching past the end of the row (or of the buffer) is harmless.
  // (Addresses as integers: a pointer formed past the end of the array would be undefined.)
  template <std::size_t kAhead = kPrefetchAhead, int kWrite = 0>
  static void prefetch_lines(const void* p, std::size_t bytes) noexcept {
    const std::uintptr_t c = reinterpret_cast<std::uintptr_t>(p) + kAhead;
    for (std::size_t b = 0; b < bytes; b += 64) __builtin_prefetch(reinterpret_cast<const void*>(c + b), kWrite);
  }

  // ---- the elementwise kernels of the table (log; the tests' view of the two exps) ----------

  // Blocks of four vectors from i while every lane is a positive normal; returns where it stopped.
  // Its own frame with no call inside, so the constants stay in registers across the loop.
  [[gnu::noinline]] static std::size_t log_normal_blocks(const float* x, float* out, std::size_t i, std::size_t n) noexcept {
    const I wrap(kNormalWrap);
    for (; i + 4 * W <= n; i += 4 * W) {  // four vectors per trip: more independent work in flight
      F v[4] = {F::load_unaligned(x + i), F::load_unaligned(x + i + W), F::load_unaligned(x + i + 2 * W),
                F::load_unaligned(x + i + 3 * W)};
      // is_normal for the four at once: one compare of the largest wrapped bits.
      const I m01 = xsimd::max(simd::as_int<A>(v[0]) + wrap, simd::as_int<A>(v[1]) + wrap);
      const I m23 = xsimd::max(simd::as_int<A>(v[2]) + wrap, simd::as_int<A>(v[3]) + wrap);
      if (!xsimd::all(xsimd::max(m01, m23) < I(kNormalEnd))) break;
      // Both streams 4 KiB ahead, the output for writing: +5-10% at 1M floats from L3 (Zen 5).
      prefetch_lines<4096>(x + i, 4 * W * sizeof(float));
      prefetch_lines<4096, 1>(out + i, 4 * W * sizeof(float));
      log_core_n(v);
      for (std::size_t k = 0; k < 4; ++k) v[k].store_unaligned(out + i + k * W);
    }
    return i;
  }

  // The table log over any floats (AVX-512): positive subnormals are exact inputs there and
  // log_lookup_fixup sets the other special lanes, so no lane needs the cold branch.
  [[gnu::noinline]] static void log_table_all(const float* x, float* out, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      F v[4], in[4];
      for (std::size_t k = 0; k < 4; ++k) v[k] = in[k] = F::load_unaligned(x + i + k * W);
      prefetch_lines<4096>(x + i, 4 * W * sizeof(float));  // as in log_normal_blocks
      prefetch_lines<4096, 1>(out + i, 4 * W * sizeof(float));
      log_table_n(v);
      for (std::size_t k = 0; k < 4; ++k) simd::log_lookup_fixup<A>(v[k], in[k]).store_unaligned(out + i + k * W);
    }
    for (; i < n; i += W) {
      const std::size_t left = n - i < W ? n - i : W;
      const F in = simd::load_partial<A>(x + i, left, 1.0f);
      F v[1] = {in};
      log_table_n(v);
      simd::store_partial<A>(simd::log_lookup_fixup<A>(v[0], in), out + i, left);
    }
  }

  static void log(const float* x, float* out, std::size_t n) noexcept {
    if constexpr (simd::kHasLogLookup<A>) {
      log_table_all(x, out, n);
    } else {
      std::size_t i = 0;
      for (;;) {
        i = log_normal_blocks(x, out, i, n);
        if (i + 4 * W > n) break;
        for (std::size_t j = i; j < i + 4 * W; j += W) log_special(F::load_unaligned(x + j)).store_unaligned(out + j);
        i += 4 * W;
      }
      for (; i + W <= n; i += W) log_any(F::load_unaligned(x + i)).store_unaligned(out + i);
      if (i < n) simd::store_partial<A>(log_any(simd::load_partial<A>(x + i, n - i, 1.0f)), out + i, n - i);
    }
  }

  // An elementwise kernel over n floats (the tests' view of the two exps); the tail reads 0 beyond n.
  template <F (*kFn)(const F&)>
  static void elementwise(const float* x, float* out, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + W <= n; i += W) kFn(F::load_unaligned(x + i)).store_unaligned(out + i);
    if (i < n) simd::store_partial<A>(kFn(simd::load_partial<A>(x + i, n - i, 0.0f)), out + i, n - i);
  }
};

}  // namespace xent::detail::XENT_KERNEL_NS
