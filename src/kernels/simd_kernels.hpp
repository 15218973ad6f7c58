// The SIMD kernels, written once over an xsimd arch tag A and compiled per ISA: each isa_*.cpp
// defines XENT_KERNEL_NS and includes this file, so every helper lives in that ISA's namespace (ODR).
// log: division-free, 1+r in [2/3, 4/3), r + r^2 P6(r) by Horner: max 3.5 ulp (measured 3.27, SSE2 3.47), exact 0 at 1;
// AVX-512: a 32-entry table (vgetmantps/vgetexpps, permutes), |r| < 1/32, r Q3(r): measured 1.59 ulp, exact 0 at 1.
// exp (x <= 0): magic-bias rounding, degree-6 polynomial, 2^k by an integer shift: max 2 ulp on
// [-87, 0] (measured 0.97). Inside sums a cheaper one: 2^(k/16) (AVX-512) or 2^(k/8) (AVX2) from a
// register table times a degree-3 polynomial, else degree 5: max 2.5 ulp + |x| * 2.8e-9 relative
// (measured 1.7 / 1.9 / 2.3 ulp on [-1, 0] for AVX-512 / AVX2 / SSE2; the |x| term is below e^x).
// logsumexp: two passes up to 8192 floats; above that one online pass with a running max per lane,
// rescaled only when it rises. Row sums: 4 vector accumulators flushed into a double every 64 vectors
// (lanes-as-rows: a compensated float sum every 16 terms; short float32 rows in four-class blocks,
// *_quads: float sums of at most 16 terms per lane, then 4).
// The scalar table (scalar.cpp) is a separate plain implementation over std::log/std::exp.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/half_bits.hpp"
#include "kernels/kernel_table.hpp"
#include "simd/simd.hpp"

#ifndef XENT_KERNEL_NS
#error "define XENT_KERNEL_NS (the ISA's namespace) before including simd_kernels.hpp"
#endif

namespace xent::detail::XENT_KERNEL_NS {

constexpr float kEps = 1e-7f;
constexpr float kOneMinusEps = 1.0f - kEps;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

constexpr float kLn2 = 0.693147182f;
// ln 2 split so that n * kLn2Hi is exact for |n| < 2^15 (the exp's range reduction).
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
// log(1 + r) = r + r^2 P(r) on r in [-1/3, 1/3]: P of degree 6, minimax in ulps of the result
// (tools/fit_log.py): 2.6 ulp before rounding. Degree 5 would be 19 ulp; degree 7 costs one more FMA.
constexpr float kLogP[7] = {-4.999992014e-01f, 3.333642420e-01f, -2.500907929e-01f, 1.982825862e-01f,
                            -1.639090217e-01f, 1.692263850e-01f, -1.552951792e-01f};
// The AVX-512 log's table (tools/gen_log_table.py): x = 2^e m (m in [1, 2)), z = m or m / 2 in
// [3/4, 3/2) (vgetexpps, vgetmantps), and bits 18..22 of z pick entry j: invc ~ 1 / (middle of z's
// interval j, 1/32 wide above 1, 1/64 below), logc = -log(invc) (+ kLn2 where z < 1), each within
// 2^-11 ulp of its float (invc searched for it). Entries 0 and 31 hold the z just above and just
// below 1: invc = 1, logc = 0 and kLn2. Then r = z invc - 1 in [-1/64, 1/32) and
// log(1 + r) = r Q(r), Q = 1 + c0 r + c1 r^2 + c2 r^3 (0.12 ulp of the result before rounding).
alignas(64) constexpr float kLogTableInvC[32] = {
    1.000000000e+00f, 9.552043080e-01f, 9.275087118e-01f, 9.015070796e-01f, 8.768798113e-01f, 8.534204960e-01f,
    8.311185241e-01f, 8.100588918e-01f, 7.902936935e-01f, 7.711816430e-01f, 7.530797720e-01f, 7.354063988e-01f,
    7.190330029e-01f, 7.031499147e-01f, 6.882533431e-01f, 6.738138199e-01f, 1.319911599e+00f, 1.292992949e+00f,
    1.267663717e+00f, 1.242959023e+00f, 1.218688965e+00f, 1.196650624e+00f, 1.174646616e+00f, 1.152884483e+00f,
    1.132776499e+00f, 1.113232136e+00f, 1.093877554e+00f, 1.076010466e+00f, 1.057578325e+00f, 1.040357590e+00f,
    1.023729205e+00f, 1.000000000e+00f};
alignas(64) constexpr float kLogTableLogC[32] = {
    0.000000000e+00f, 4.583002627e-02f, 7.525309175e-02f, 1.036873832e-01f, 1.313853413e-01f, 1.585028917e-01f,
    1.849828660e-01f, 2.106483281e-01f, 2.353506386e-01f, 2.598313391e-01f, 2.835841179e-01f, 3.073320091e-01f,
    3.298480213e-01f, 3.521851599e-01f, 3.735982776e-01f, 3.948014379e-01f, 4.155824184e-01f, 4.361875355e-01f,
    4.559715688e-01f, 4.756523371e-01f, 4.953715205e-01f, 5.136206746e-01f, 5.321798325e-01f, 5.508801341e-01f,
    5.684754848e-01f, 5.858795643e-01f, 6.034184098e-01f, 6.198869944e-01f, 6.371654868e-01f, 6.535826921e-01f,
    6.696951389e-01f, 6.931471825e-01f};
constexpr float kLogTableQ[3] = {-5.000011325e-01f, 3.333690763e-01f, -2.441396564e-01f};
// exp(f) = 1 + f + f^2 Q(f) on |f| <= ln2/2: Q of degree 4, fitted for ulp error (0.04 ulp). A
// degree-3 Q (a degree-5 polynomial) fits to 1.35 ulp and measured 2.3 ulp after rounding: over the bound.
constexpr float kExpQ[5] = {4.999999001e-01f, 1.666651926e-01f, 4.166908701e-02f, 8.368847768e-03f,
                            1.378039207e-03f};
// The sums' exp: Q of degree 3 (a degree-5 polynomial), 1.35 ulp fit.
constexpr float kExpSumQ[4] = {4.999929935e-01f, 1.666724523e-01f, 4.188381526e-02f, 8.300990532e-03f};
constexpr float kLog2e = 1.44269502e+00f;
// The sums' exp where a register lookup exists (AVX-512, AVX2: simd::lookup): 2^(k/N) from a table of
// 2^(j/N), j = k mod N, times p(f) = 1 + f q(f), f = x - k ln2/N, q of degree 2 fitted for relative
// error (tools/fit_exp_table.py): N = 16 (0.013 ulp fit), N = 8 (0.21 ulp). Entries are the bits of
// 2^(j/N) (nearest float) minus j << (23 - log2 N), so that adding k << (23 - log2 N) gives 2^(k/N).
alignas(64) constexpr std::int32_t kExpTable16[16] = {
    0x3f800000, 0x3f7daac3, 0x3f7b95c2, 0x3f79c3d3, 0x3f7837f0, 0x3f76f532, 0x3f75fed7, 0x3f75583f,
    0x3f7504f3, 0x3f7508a4, 0x3f75672a, 0x3f76248c, 0x3f7744fd, 0x3f78ccdf, 0x3f7ac0c7, 0x3f7d257d};
constexpr float kExpTableQ16[3] = {1.000000003e+00f, 5.000161986e-01f, 1.666607432e-01f};
alignas(64) constexpr std::int32_t kExpTable8[8] = {0x3f800000, 0x3f7b95c2, 0x3f7837f0, 0x3f75fed7,
                                                    0x3f7504f3, 0x3f75672a, 0x3f7744fd, 0x3f7ac0c7};
constexpr float kExpTableQ8[3] = {1.000000049e+00f, 5.000647913e-01f, 1.666429782e-01f};
constexpr float kExpTableMagic = 12582912.0f;  // 1.5 * 2^23 rounds to an integer k in kf's low bits
constexpr float kExpTableClamp = -87.0f;       // keeps k div N >= -126, a normal 2^(k/N)
// Whether simd::fma fuses here (SSE2 has none: a multiply and an add, two roundings).
#if defined(__FMA__) || defined(__AVX512F__) || defined(__ARM_FEATURE_FMA)
constexpr bool kFusedFma = true;
#else
constexpr bool kFusedFma = false;
#endif
constexpr float kExpMagic = 12582912.0f + 127.0f;  // 1.5 * 2^23 rounds; + 127 pre-biases the exponent
constexpr float kExpClamp = -87.5f;  // keeps k >= -126, so 2^k is a normal float

// Rows longer than this (in floats) take the single-pass online logsumexp instead of two passes.
constexpr std::size_t kTwoPassMax = 8192;
// Online pass: the lane sums are folded into a double every kPiece floats (accuracy; one exp each).
constexpr std::size_t kPiece = 2048;
// The online pass prefetches this many bytes ahead: the hardware prefetcher alone left it at 81-85%
// of a plain sum's rate over a 32.8 MB batch; 8 KiB ahead, 92-93% (randomly interleaved A/B runs).
constexpr std::size_t kPrefetchAhead = 8192;
// Stack buffers (floats each): widened chunks, and transposed tiles of short rows (16 classes on
// AVX-512, 32 on AVX2, 64 on SSE2/NEON; smaller tiles send mid-size rows row by row, 1.5-3x slower).
// Each public call stays under 4 KiB of stack (-fstack-usage), the caller's row blocks included.
constexpr std::size_t kBuf = 64;
constexpr std::size_t kTile = 256;
// Categorical tiles come in pairs (predictions and truth) and sit deepest in the chain: smaller ones
// keep a weighted 16-bit update under 4 KiB (measured 4415 B with 256). Wider rows go row by row.
constexpr std::size_t kCatTile = 160;
// Rows per batch of per-row logs in the row-by-row path.
constexpr std::size_t kRowBatch = 32;

alignas(64) constexpr float kIota[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                         16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                         32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                         48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

template <class A>
struct Kernels {
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

  // ---- contiguous sources: float32, or 16-bit widened in registers -----------------------------

  // The cache lines kAhead bytes beyond [p, p + bytes), for reading (kWrite 0) or writing (1). A
  // prefetch never faults, so reaching past the end of the row (or of the buffer) is harmless.
  // (Addresses as integers: a pointer formed past the end of the array would be undefined.)
  template <std::size_t kAhead = kPrefetchAhead, int kWrite = 0>
  static void prefetch_lines(const void* p, std::size_t bytes) noexcept {
    const std::uintptr_t c = reinterpret_cast<std::uintptr_t>(p) + kAhead;
    for (std::size_t b = 0; b < bytes; b += 64) __builtin_prefetch(reinterpret_cast<const void*>(c + b), kWrite);
  }

  struct SrcF32 {
    const float* p;
    F load(std::size_t i) const noexcept { return F::load_unaligned(p + i); }
    void prefetch(std::size_t i) const noexcept { prefetch_lines(p + i, 4 * W * sizeof(float)); }
    F partial(std::size_t i, std::size_t n, float fill) const noexcept { return simd::load_partial<A>(p + i, n, fill); }
  };
  template <bool kF16>
  struct Src16 {
    const std::uint16_t* p;
    F load(std::size_t i) const noexcept { return kF16 ? simd::widen_f16<A>(p + i) : simd::widen_bf16<A>(p + i); }
    void prefetch(std::size_t i) const noexcept { prefetch_lines(p + i, 4 * W * sizeof(std::uint16_t)); }
    F partial(std::size_t i, std::size_t n, float fill) const noexcept {
      alignas(64) float lanes[W];
      for (std::size_t j = 0; j < W; ++j) lanes[j] = j < n ? (kF16 ? f16_bits_to_float(p[i + j]) : bf16_bits_to_float(p[i + j])) : fill;
      return F::load_aligned(lanes);
    }
  };

  // ---- reductions over a contiguous float span ----------------------------------------------

  // Sum of f(x) over p[0..n): 4 accumulators, flushed into a double every 64 vectors.
  template <class Fn>
  static double span_sum(const float* p, std::size_t n, Fn&& f) noexcept {
    F a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    double total = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      a0 += f(F::load_unaligned(p + i));
      a1 += f(F::load_unaligned(p + i + W));
      a2 += f(F::load_unaligned(p + i + 2 * W));
      a3 += f(F::load_unaligned(p + i + 3 * W));
      if (++since == 16) {
        total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
        a0 = a1 = a2 = a3 = F(0.0f);
        since = 0;
      }
    }
    for (; i + W <= n; i += W) a1 += f(F::load_unaligned(p + i));
    if (i < n) a2 += tail_mask_zero(f(simd::load_partial<A>(p + i, n - i, 0.0f)), n - i);
    return total + static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
  }

  // Sum of f(x, t) over two spans.
  template <class Fn>
  static double span_sum2(const float* p, const float* t, std::size_t n, Fn&& f) noexcept {
    F a0(0.0f), a1(0.0f);
    double total = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
      a0 += f(F::load_unaligned(p + i), F::load_unaligned(t + i));
      a1 += f(F::load_unaligned(p + i + W), F::load_unaligned(t + i + W));
      if (++since == 32) {
        total += static_cast<double>(xsimd::hadd(a0 + a1));
        a0 = a1 = F(0.0f);
        since = 0;
      }
    }
    for (; i + W <= n; i += W) a0 += f(F::load_unaligned(p + i), F::load_unaligned(t + i));
    if (i < n) {
      a1 += tail_mask_zero(f(simd::load_partial<A>(p + i, n - i, 0.5f), simd::load_partial<A>(t + i, n - i, 0.0f)), n - i);
    }
    return total + static_cast<double>(xsimd::hadd(a0 + a1));
  }

  template <class S>
  static F span_max(const S& src, std::size_t n, F m) noexcept {
    F m1(-kInf), m2(-kInf), m3(-kInf);
    std::size_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      m = xsimd::max(src.load(i), m);
      m1 = xsimd::max(src.load(i + W), m1);
      m2 = xsimd::max(src.load(i + 2 * W), m2);
      m3 = xsimd::max(src.load(i + 3 * W), m3);
    }
    for (; i + W <= n; i += W) m = xsimd::max(src.load(i), m);
    if (i < n) m = xsimd::max(src.partial(i, n - i, -kInf), m);
    return xsimd::max(xsimd::max(m, m1), xsimd::max(m2, m3));
  }

  // sum(exp(x - m)): the exp's final product fused into the accumulators.
  template <class S>
  static double span_expsum(const S& src, std::size_t n, float m) noexcept {
    const F mv(m);
    F a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f), e, scale;
    double total = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      exp_sum_parts(src.load(i) - mv, e, scale);
      a0 = simd::fma<A>(e, scale, a0);
      exp_sum_parts(src.load(i + W) - mv, e, scale);
      a1 = simd::fma<A>(e, scale, a1);
      exp_sum_parts(src.load(i + 2 * W) - mv, e, scale);
      a2 = simd::fma<A>(e, scale, a2);
      exp_sum_parts(src.load(i + 3 * W) - mv, e, scale);
      a3 = simd::fma<A>(e, scale, a3);
      if (++since == 16) {
        total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
        a0 = a1 = a2 = a3 = F(0.0f);
        since = 0;
      }
    }
    for (; i + W <= n; i += W) {
      exp_sum_parts(src.load(i) - mv, e, scale);
      a1 = simd::fma<A>(e, scale, a1);
    }
    if (i < n) {
      exp_sum_parts(src.partial(i, n - i, -kInf) - mv, e, scale);
      a2 += tail_mask_zero(e * scale, n - i);
    }
    return total + static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
  }

  // ---- reading rows: a row as contiguous float32 chunks --------------------------------------

  // Elements [k0, k0 + n) of row r as floats: the data itself when it is contiguous float32,
  // otherwise widened (or gathered) into buf (n <= kBuf).
  [[gnu::noinline]] static const float* chunk(const Rows& rows, std::size_t r, std::size_t k0, std::size_t n, float* buf) noexcept {
    const std::size_t off = r * rows.row_stride + k0 * rows.class_stride;
    if (rows.class_stride == 1) {
      if (rows.type == DType::f32) return static_cast<const float*>(rows.data) + off;
      if (rows.type == DType::f16 || rows.type == DType::bf16) {
        const std::uint16_t* h = static_cast<const std::uint16_t*>(rows.data) + off;
        widen_into(h, buf, n, rows.type == DType::f16);
        return buf;
      }
    }
    for (std::size_t i = 0; i < n; ++i) buf[i] = load_element(rows.data, rows.type, off + i * rows.class_stride);
    return buf;
  }

  static std::size_t chunk_length(const Rows& rows) noexcept {
    return rows.class_stride == 1 && rows.type == DType::f32 ? rows.classes : kBuf;
  }

  // fn(p, n, k0) over the chunks of row r.
  template <class Fn>
  static void for_chunks(const Rows& rows, std::size_t r, Fn&& fn) noexcept {
    alignas(64) float buf[kBuf];
    const std::size_t len = chunk_length(rows);
    for (std::size_t k0 = 0; k0 < rows.classes; k0 += len) {
      const std::size_t n = rows.classes - k0 < len ? rows.classes - k0 : len;
      fn(chunk(rows, r, k0, n, buf), n, k0);
    }
  }

  // fn(p, t, n, k0) over matching chunks of the same row of two blocks.
  template <class Fn>
  static void for_chunks2(const Rows& a, const Rows& b, std::size_t r, Fn&& fn) noexcept {
    alignas(64) float buf_a[kBuf];
    alignas(64) float buf_b[kBuf];
    const std::size_t la = chunk_length(a), lb = chunk_length(b);
    const std::size_t len = la < lb ? la : lb;
    for (std::size_t k0 = 0; k0 < a.classes; k0 += len) {
      const std::size_t n = a.classes - k0 < len ? a.classes - k0 : len;
      fn(chunk(a, r, k0, n, buf_a), chunk(b, r, k0, n, buf_b), n, k0);
    }
  }

  static void widen_into(const std::uint16_t* h, float* out, std::size_t n, bool f16) noexcept {
    std::size_t i = 0;
    if (f16) {
      for (; i + W <= n; i += W) simd::widen_f16<A>(h + i).store_unaligned(out + i);
      for (; i < n; ++i) out[i] = f16_bits_to_float(h[i]);
    } else {
      for (; i + W <= n; i += W) simd::widen_bf16<A>(h + i).store_unaligned(out + i);
      for (; i < n; ++i) out[i] = bf16_bits_to_float(h[i]);
    }
  }

  // max and S = sum(exp(x - max)) of n elements: two passes while the row fits in L1, else one
  // online pass (online_max_sum).
  template <class S>
  static void max_sum(const S& src, std::size_t n, float* m_out, float* s_out) noexcept {
    if (n <= kTwoPassMax) {
      const float m = simd::hmax<A>(span_max(src, n, F(-kInf)));
      *m_out = m;
      *s_out = static_cast<float>(span_expsum(src, n, m));
      return;
    }
    online_max_sum(src, n, m_out, s_out);
  }

  // One pass that reads each element once, from registers: every 4 vectors are loaded, their max
  // compared with a running max per lane, and only when a lane's max rises (rare after the first
  // few blocks) are that lane's sums rescaled by exp(old - new); then their exps are summed against
  // the lane's max. Every kPiece floats the lane sums go into a double relative to the row max so
  // far (itself rescaled, in double, when it rises). Loads and exps overlap: no second pass.
  // Vectors per trip of the online pass: 8 where 32 registers hold them (AVX-512: +8-13% in L2 and
  // +13% for float16 from DRAM), else 4 (AVX2's 16 registers lost 7-10% at 8; NEON/SSE2 stay small).
  static constexpr std::size_t kOnlineVectors = W == 16 ? 8 : 4;
  template <class S>
  [[gnu::always_inline]] static void online_max_sum(const S& src, std::size_t n, float* m_out, float* s_out) noexcept {
    // m: the running max per lane (the result); ms: the same floored at -FLT_MAX, the one subtracted,
    // so that a lane still at -inf turns -inf inputs into a zero-sized term instead of -inf - -inf.
    F m(-kInf), ms(-std::numeric_limits<float>::max());
    float row_m = -kInf;
    double total = 0.0;
    std::size_t i = 0;
    while (i < n) {
      const std::size_t end = n - i < kPiece ? n : i + kPiece;
      F a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f), e, scale;
      constexpr std::size_t V = kOnlineVectors;
      for (; i + V * W <= end; i += V * W) {
#pragma GCC unroll 8
        for (std::size_t k = 0; k < V; k += 4) src.prefetch(i + k * W);
        F x[V], b[V / 2];
#pragma GCC unroll 8
        for (std::size_t k = 0; k < V; ++k) x[k] = src.load(i + k * W);
#pragma GCC unroll 8
        for (std::size_t k = 0; k < V / 2; ++k) b[k] = xsimd::max(x[2 * k], x[2 * k + 1]);
        F bm = b[0];  // the block's max (it only feeds the predicted branch: a chain is fine)
#pragma GCC unroll 8
        for (std::size_t k = 1; k < V / 2; ++k) bm = xsimd::max(bm, b[k]);
        if (__builtin_expect(xsimd::any(bm > m), 0)) rise(bm, m, ms, a0, a1, a2, a3);
#pragma GCC unroll 8
        for (std::size_t k = 0; k < V; k += 4) {
          exp_sum_parts(x[k] - ms, e, scale);
          a0 = simd::fma<A>(e, scale, a0);
          exp_sum_parts(x[k + 1] - ms, e, scale);
          a1 = simd::fma<A>(e, scale, a1);
          exp_sum_parts(x[k + 2] - ms, e, scale);
          a2 = simd::fma<A>(e, scale, a2);
          exp_sum_parts(x[k + 3] - ms, e, scale);
          a3 = simd::fma<A>(e, scale, a3);
        }
      }
      for (; i < end; i += W) {  // the piece's last vectors (only in the row's last piece)
        const std::size_t len = end - i < W ? end - i : W;
        const F x = len == W ? src.load(i) : src.partial(i, len, -kInf);
        if (xsimd::any(x > m)) rise(x, m, ms, a0, a1, a2, a3);
        exp_sum_parts(x - ms, e, scale);
        a0 += len == W ? e * scale : tail_mask_zero(e * scale, len);
      }
      // Fold the piece's lane sums into the double, relative to the row's max so far.
      const float pm = simd::hmax<A>(m);
      if (pm > row_m) {
        total *= std::exp(static_cast<double>(row_m) - static_cast<double>(pm));  // 0 on the first rise
        row_m = pm;
      }
      const F lane = (a0 + a1) + (a2 + a3);
      const float row_ms = row_m > -std::numeric_limits<float>::max() ? row_m : -std::numeric_limits<float>::max();
      total += static_cast<double>(xsimd::hadd(lane * exp_core(ms - F(row_ms))));
    }
    *m_out = row_m;
    *s_out = static_cast<float>(total);
  }

  // Some lane's max rose (x > m there): rescale those lanes' sums by exp(m - new max). Inline: out of
  // line, the accumulators' addresses escape and GCC stores them on every trip.
  [[gnu::always_inline]] static void rise(const F& x, F& m, F& ms, F& a0, F& a1, F& a2, F& a3) noexcept {
    const F nm = xsimd::max(x, m);
    const F f = xsimd::select(nm > m, exp_core(m - nm), F(1.0f));  // m = -inf: exp gives ~0, not NaN
    a0 *= f;
    a1 *= f;
    a2 *= f;
    a3 *= f;
    m = nm;
    ms = xsimd::max(nm, F(-std::numeric_limits<float>::max()));
  }

  // Two sibling frames: the contiguous float rows, and the strided / integer ones with their buffer.
  static void row_max_sum(const Rows& rows, std::size_t r, float* m_out, float* s_out) noexcept {
    if (rows.class_stride == 1 && (rows.type == DType::f32 || rows.type == DType::f16 || rows.type == DType::bf16)) {
      row_max_sum_contiguous(rows, r, m_out, s_out);
    } else {
      row_max_sum_chunked(rows, r, m_out, s_out);
    }
  }

  [[gnu::noinline]] static void row_max_sum_contiguous(const Rows& rows, std::size_t r, float* m_out, float* s_out) noexcept {
    const std::size_t off = r * rows.row_stride;
    const auto* h = static_cast<const std::uint16_t*>(rows.data) + off;
    if (rows.type == DType::f32) return max_sum(SrcF32{static_cast<const float*>(rows.data) + off}, rows.classes, m_out, s_out);
    if (rows.type == DType::f16) return max_sum(Src16<true>{h}, rows.classes, m_out, s_out);
    max_sum(Src16<false>{h}, rows.classes, m_out, s_out);  // bf16
  }

  // Strided or integer rows (not a hot path, so compiled for size): two passes over widened chunks.
  [[gnu::cold]] static void row_max_sum_chunked(const Rows& rows, std::size_t r, float* m_out, float* s_out) noexcept {
    F mv(-kInf);
    for_chunks(rows, r, [&mv](const float* p, std::size_t n, std::size_t) { mv = span_max(SrcF32{p}, n, mv); });
    const float m = simd::hmax<A>(mv);
    double s = 0.0;
    for_chunks(rows, r, [&s, m](const float* p, std::size_t n, std::size_t) { s += span_expsum(SrcF32{p}, n, m); });
    *m_out = m;
    *s_out = static_cast<float>(s);
  }

  // ---- lanes as rows: W rows at once, class by class -----------------------------------------

  // Class k of rows r0 .. r0 + count - 1 (count <= W) as one vector; missing lanes read `fill`.
  struct Lanes {
    const void* data;
    DType type;
    std::size_t row_stride, class_stride, r0, count;
    float fill;

    // Float32 lanes known to be full (tiles, or a full group of interleaved float32): a plain load.
    F load(std::size_t k) const noexcept { return F::load_unaligned(static_cast<const float*>(data) + r0 + k * class_stride); }
    bool fast() const noexcept { return count == W && row_stride == 1 && type == DType::f32; }
    // kFast: the caller checked fast(), so no call to get_other (whose call makes GCC spill every
    // live vector around it: a bigger frame).
    template <bool kFast>
    F at(std::size_t k) const noexcept { return kFast ? load(k) : get(k); }

    // Inline only the common case (float32 lanes: tiles and interleaved float32); the rest is one
    // out-of-line copy, which keeps the library small (M2).
    F get(std::size_t k) const noexcept {
      if (count == W && row_stride == 1 && type == DType::f32) {
        return F::load_unaligned(static_cast<const float*>(data) + r0 + k * class_stride);
      }
      return get_other(k);
    }

    [[gnu::noinline]] F get_other(std::size_t k) const noexcept {
      const std::size_t off = r0 * row_stride + k * class_stride;
      if (count == W && row_stride == 1) {
        if (type == DType::f16) return simd::widen_f16<A>(static_cast<const std::uint16_t*>(data) + off);
        if (type == DType::bf16) return simd::widen_bf16<A>(static_cast<const std::uint16_t*>(data) + off);
      }
      alignas(64) float lanes[W];
      for (std::size_t j = 0; j < W; ++j) lanes[j] = j < count ? load_element(data, type, off + j * row_stride) : fill;
      return F::load_aligned(lanes);
    }
  };

  // A float sum per lane: a float partial sum added into a compensated (TwoSum) total by flush(),
  // which the callers do every kLaneChunk terms (for_lane_chunks) and before result().
  struct LaneSum {
    F hi = F(0.0f), lo = F(0.0f), part = F(0.0f);
    void add(const F& v) noexcept { part += v; }
    void flush() noexcept {
      const F t = hi + part;
      const F bp = t - hi;
      lo += (hi - (t - bp)) + (part - bp);
      hi = t;
      part = F(0.0f);
    }
    F result() const noexcept {
      return xsimd::select(xsimd::isinf(hi), hi, hi + lo);  // an infinite total leaves lo NaN
    }
  };
  static constexpr std::size_t kLaneChunk = 16;

  // fn(k) for k in [0, k_n), then flush() after every kLaneChunk classes and at the end.
  template <class Fn, class Flush>
  [[gnu::always_inline]] static void for_lane_chunks(std::size_t k_n, Fn&& fn, Flush&& flush) noexcept {
    for (std::size_t k0 = 0; k0 < k_n; k0 += kLaneChunk) {
      const std::size_t k1 = k_n - k0 < kLaneChunk ? k_n : k0 + kLaneChunk;
      for (std::size_t k = k0; k < k1; ++k) fn(k);
      flush();
    }
  }

  // The rows of a contiguous block with few classes, transposed into a stack tile so that the
  // lanes-as-rows code runs on it: tile[k * W + j] = element (r0 + j, k). Float32 rows go through
  // registers four classes at a time (simd::transpose_quads), 16-bit ones element by element.
  [[gnu::noinline]] static Lanes fill_tile(const Rows& rows, std::size_t r0, std::size_t count, float fill, float* tile) noexcept {
    const std::size_t k_n = rows.classes;
    if (rows.type == DType::f32 && count == W && k_n >= 4) {
      quads_to_tile(static_cast<const float*>(rows.data) + r0 * rows.row_stride, rows.row_stride, k_n, tile);
    } else {
      for (std::size_t j = 0; j < W; ++j) {
        const std::size_t off = (r0 + j) * rows.row_stride;
        for (std::size_t k = 0; k < k_n; ++k) tile[k * W + j] = j < count ? load_element(rows.data, rows.type, off + k) : fill;
      }
    }
    return Lanes{tile, DType::f32, 1, W, 0, W, fill};
  }

  // Rows of K >= 4 classes read four classes at a time: whole quads c = 0, 4, .. while c + 4 <= K,
  // then, when K is not a multiple of 4, the quad at K - 4 (its lanes below c were read already),
  // so no read leaves its row.
  static B last_quad_lanes(const F& cls, std::size_t c, std::size_t k_n) noexcept {  // the lanes not read yet
    return (cls >= F(static_cast<float>(c))) & (cls < F(static_cast<float>(k_n)));
  }

  // Each lane's class within its quad.
  alignas(64) static constexpr float kQuadIota[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};

  // fn(c0, tail, real) over a row block's quads in that order: the whole ones with tail false, then the
  // last one at K - 4 with tail true (a std::bool_constant) and real marking the lanes not read yet.
  template <class Fn>
  [[gnu::always_inline]] static void for_quads(std::size_t k_n, Fn&& fn) noexcept {
    std::size_t c = 0;
    for (; c + 4 <= k_n; c += 4) fn(c, std::false_type{}, B(true));
    if (c < k_n) {
      const F cls = F::load_aligned(kQuadIota) + F(static_cast<float>(k_n - 4));
      fn(k_n - 4, std::true_type{}, last_quad_lanes(cls, c, k_n));
    }
  }

  // v, or in a last quad's lanes already read, fill.
  template <bool kTail>
  [[gnu::always_inline]] static F unread(std::bool_constant<kTail>, const B& real, const F& v, const F& fill) noexcept {
    if constexpr (kTail) return xsimd::select(real, v, fill);
    return v;
  }

  // Four classes of W float32 rows at p (stride apart): vector i's block b holds row i + 4b.
  struct QuadCols {
    const float* p;
    std::size_t stride;
    F vec(std::size_t i) const noexcept { return simd::join_rows<A>(p + i * stride, 4 * stride); }
  };

  // Classes c .. c + 3 of W float32 rows at p (stride apart), row j in q[j].
  [[gnu::always_inline]] static void load_quads(const float* p, std::size_t stride, std::size_t c, simd::quad<A>* q) noexcept {
#pragma GCC unroll 16
    for (std::size_t j = 0; j < W; ++j) q[j] = simd::quad_load<A>(p + j * stride + c);
  }

  // Columns of W float32 rows of K >= 4 classes at p (stride apart) into the tile.
  [[gnu::always_inline]] static void quads_to_tile(const float* p, std::size_t stride, std::size_t k_n, float* tile) noexcept {
    simd::quad<A> q[W];
    F col[4];
    for (std::size_t c = 0; c < k_n; c += 4) {
      if (c + 4 > k_n) c = k_n - 4;
      load_quads(p, stride, c, q);
      simd::transpose_quads<A>(q, col);
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) col[i].store_aligned(tile + (c + i) * W);
    }
  }

  static bool use_tile(const Rows& rows) noexcept {
    return rows.class_stride == 1 && rows.classes * W <= kTile && rows.rows > 1;
  }

  static F load_labels(const std::int32_t* labels, std::size_t count) noexcept {
    if (count == W) return xsimd::to_float(I::load_unaligned(labels));
    alignas(64) float lanes[W];
    for (std::size_t j = 0; j < W; ++j) lanes[j] = j < count ? static_cast<float>(labels[j]) : -1.0f;
    return F::load_aligned(lanes);
  }

  static void store_rows(const F& v, float* out, std::size_t count) noexcept {
    if (count == W) {
      v.store_unaligned(out);
    } else {
      simd::store_partial<A>(v, out, count);
    }
  }

  // ---- per-row loss formulas on vectors of rows ---------------------------------------------

  struct Smooth {
    F scale, offset;
    float scale_f, offset_f;
    bool on;
    Smooth(float ls, std::size_t k) noexcept
        : scale(1.0f - ls), offset(ls / static_cast<float>(k)), scale_f(1.0f - ls), offset_f(ls / static_cast<float>(k)), on(ls > 0.0f) {}
    F apply(const F& t) const noexcept { return on ? t * scale + offset : t; }
  };

  // Sparse from probabilities: log(S) - log(p_label), smoothed: (1-ls) nll + ls (log S - L / K).
  static F sparse_probs_loss(const F& s, const F& p_label, const F& log_sum, float ls, float k) noexcept {
    const F log_s = log_any(s);
    const F nll = log_s - log_any(p_label);
    if (!(ls > 0.0f)) return nll;
    return F(1.0f - ls) * nll + F(ls) * (log_s - log_sum / F(k));
  }

  // Sparse from logits: log(S) - (z_label - m), smoothed with D = sum(z - m).
  static F sparse_logits_loss(const F& s, const F& shifted_label, const F& shifted_sum, float ls, float k) noexcept {
    const F log_s = log_any(s);
    const F nll = log_s - shifted_label;
    if (!(ls > 0.0f)) return nll;
    return F(1.0f - ls) * nll + F(ls) * (log_s - shifted_sum / F(k));
  }

  // ---- the table's row kernels ---------------------------------------------------------------

  // Sparse losses of the rows in lanes x (count <= W rows; labels of those rows); 0 for ignored rows.
  template <bool kFast>
  static F sparse_lanes(const Lanes& x, const std::int32_t* labels, std::size_t count, std::size_t k_n,
                        const LossParams& params) noexcept {
    const float ls = params.label_smoothing;
    const float kf = static_cast<float>(k_n);
    const bool smooth = ls > 0.0f;
    const F lab = load_labels(labels, count);
    F out;
    F kv(0.0f);  // k as a float (exact: K < 2^24)
    if (params.from_logits) {
      F m(-kInf);
      for (std::size_t k = 0; k < k_n; ++k) m = xsimd::max(x.template at<kFast>(k), m);
      LaneSum s, d;  // d (for smoothing) costs one add per class: cheaper than a second loop
      F z_label(0.0f);
      for_lane_chunks(
          k_n,
          [&](std::size_t k) {
            const F z = x.template at<kFast>(k) - m;
            s.add(exp_sum_term(z));
            d.add(z);
            z_label = xsimd::select(lab == kv, z, z_label);
            kv += F(1.0f);
          },
          [&] {
            s.flush();
            d.flush();
          });
      out = sparse_logits_loss(s.result(), z_label, smooth ? d.result() : F(0.0f), ls, kf);
    } else {
      LaneSum s, l;
      F p_label(1.0f);
      for_lane_chunks(
          k_n,
          [&](std::size_t k) {
            const F p = clip(x.template at<kFast>(k));
            s.add(p);
            if (smooth) l.add(log_core(p));
            p_label = xsimd::select(lab == kv, p, p_label);
            kv += F(1.0f);
          },
          [&] {
            s.flush();
            l.flush();
          });
      out = sparse_probs_loss(s.result(), p_label, smooth ? l.result() : F(0.0f), ls, kf);
    }
    return xsimd::select(lab < F(0.0f), F(0.0f), out);
  }

  static void sparse_rows(const Rows& pred, const std::int32_t* labels, const LossParams& params, float* loss) noexcept {
    if (use_tile(pred)) {
      sparse_rows_tiled(pred, labels, params, loss);
    } else if (pred.class_stride != 1) {
      sparse_rows_lanes(pred, labels, params, loss);
    } else {
      sparse_rows_by_row(pred, labels, params, loss);
    }
  }

  // Contiguous rows with few classes, transposed W rows at a time into a tile (own frame, as in
  // categorical_rows_tiled).
  // Float32 probabilities without smoothing take sparse_probs_quads (no tile).
  [[gnu::noinline]] static void sparse_rows_tiled(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                  float* loss) noexcept {
    if (pred.type == DType::f32 && !params.from_logits && !(params.label_smoothing > 0.0f) && pred.classes >= 4) {
      const std::size_t r0 = sparse_probs_quads(pred, labels, loss);
      if (r0 < pred.rows) {  // a last group of fewer rows: row by row, a sibling frame
        Rows rest = pred;
        rest.data = static_cast<const float*>(pred.data) + r0 * pred.row_stride;
        rest.rows = pred.rows - r0;
        sparse_rows_by_row(rest, labels + r0, params, loss + r0);
      }
    } else {
      sparse_rows_tile(pred, labels, params, loss);
    }
  }

  [[gnu::noinline]] static void sparse_rows_tile(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                 float* loss) noexcept {
    alignas(64) float buf[kTile];
    const float fill = params.from_logits ? 0.0f : 0.5f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const Lanes x = fill_tile(pred, r0, count, fill, buf);
      store_rows(sparse_lanes<true>(x, labels + r0, count, pred.classes, params), loss + r0, count);
    }
  }

  // Sparse from float32 probabilities without smoothing, short contiguous rows of K >= 4 classes,
  // W rows at a time and no tile: each vector holds four classes of W / 4 rows (simd::join_quads),
  // and the per-row sums of clip(p) and clip(p_label) come out of one in-block 4x4 transpose.
  // S: at most 16 float terms per lane, then 4 (K <= 64). A last group of fewer rows goes row by row.
  // Returns the rows done: all but a last group of fewer than W.
  [[gnu::noinline]] static std::size_t sparse_probs_quads(const Rows& pred, const std::int32_t* labels, float* loss) noexcept {
    const float* p = static_cast<const float*>(pred.data);
    std::size_t r0 = 0;
    for (; r0 + W <= pred.rows; r0 += W) {
      store_rows(sparse_probs_group(p + r0 * pred.row_stride, pred.row_stride, pred.classes, labels + r0), loss + r0, W);
    }
    return r0;
  }

  [[gnu::always_inline]] static F sparse_probs_group(const float* p, std::size_t stride, std::size_t k_n,
                                                     const std::int32_t* labels) noexcept {
    const F lab = load_labels(labels, W);
    const F lb[4] = {simd::block_broadcast<0, A>(lab), simd::block_broadcast<1, A>(lab), simd::block_broadcast<2, A>(lab),
                     simd::block_broadcast<3, A>(lab)};
    F s[4], pl[4];
    for (std::size_t i = 0; i < 4; ++i) s[i] = pl[i] = F(0.0f);
    F cls = F::load_aligned(kQuadIota);
    std::size_t c = 0;
    for (; W == 16 && c + 8 <= k_n; c += 8) {  // eight classes at a time (join_rows8) gains only on AVX-512
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) {
        F lo, hi;
        simd::join_rows8<A>(p + i * stride + c, 4 * stride, lo, hi);
        const F v = clip(lo), w = clip(hi);
        s[i] += v;
        pl[i] = xsimd::select(lb[i] == cls, v, pl[i]);
        s[i] += w;
        pl[i] = xsimd::select(lb[i] == cls + F(4.0f), w, pl[i]);
      }
      cls += F(8.0f);
    }
    for (; c + 4 <= k_n; c += 4, cls += F(4.0f)) {
      const QuadCols q{p + c, stride};
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) {
        const F v = clip(q.vec(i));  // block b: row i + 4b
        s[i] += v;
        pl[i] = xsimd::select(lb[i] == cls, v, pl[i]);
      }
    }
    if (c < k_n) {
      const QuadCols q{p + k_n - 4, stride};
      cls = F::load_aligned(kQuadIota) + F(static_cast<float>(k_n - 4));
      const B real = last_quad_lanes(cls, c, k_n);
      cls = xsimd::select(real, cls, F(-2.0f));  // no label matches the lanes read already
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) {
        const F v = clip(q.vec(i));
        s[i] += xsimd::select(real, v, F(0.0f));
        pl[i] = xsimd::select(lb[i] == cls, v, pl[i]);
      }
    }
    const B ignored = lab < F(0.0f);
    const F p_label = xsimd::select(ignored, F(1.0f), block_row_sums(pl));
    return xsimd::select(ignored, F(0.0f), log_any(block_row_sums(s)) - log_any(p_label));
  }

  // Interleaved classes: full float32 groups load directly, the rest through get_other.
  [[gnu::noinline]] static void sparse_rows_lanes(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                  float* loss) noexcept {
    const float fill = params.from_logits ? 0.0f : 0.5f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const Lanes x{pred.data, pred.type, pred.row_stride, pred.class_stride, r0, count, fill};
      const F out = kSplitFast && x.fast() ? sparse_lanes<true>(x, labels + r0, count, pred.classes, params)
                                           : sparse_lanes<false>(x, labels + r0, count, pred.classes, params);
      store_rows(out, loss + r0, count);
    }
  }

  // Row by row, the per-row logs batched kRowBatch rows at a time (its own frame: see kBuf).
  [[gnu::noinline]] static void sparse_rows_by_row(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                   float* loss) noexcept {
    const float ls = params.label_smoothing;
    const float kf = static_cast<float>(pred.classes);
    alignas(64) float a[kRowBatch], b[kRowBatch], c[kRowBatch];
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += kRowBatch) {
      const std::size_t count = pred.rows - r0 < kRowBatch ? pred.rows - r0 : kRowBatch;
      for (std::size_t j = 0; j < kRowBatch; ++j) {
        a[j] = b[j] = 1.0f;  // ignored and missing rows: harmless lanes, zeroed below
        c[j] = 0.0f;
      }
      for (std::size_t j = 0; j < count; ++j) {
        const std::size_t r = r0 + j;
        if (labels[r] < 0) continue;
        sparse_row_terms(pred, r, static_cast<std::size_t>(labels[r]), params, &a[j], &b[j], &c[j]);
      }
      for (std::size_t j = 0; j < count; j += W) {
        const std::size_t n = count - j < W ? count - j : W;
        const F va = F::load_aligned(a + j), vb = F::load_aligned(b + j), vc = F::load_aligned(c + j);
        const F out = params.from_logits ? sparse_logits_loss(va, vb, vc, ls, kf) : sparse_probs_loss(va, vb, vc, ls, kf);
        const F lab = load_labels(labels + r0 + j, n);
        store_rows(xsimd::select(lab < F(0.0f), F(0.0f), out), loss + r0 + j, n);
      }
    }
  }

  // Row r's terms for the sparse formulas: logits: S, z_y - m and (smoothed) sum(z - m);
  // probabilities: S, clip(p_y) and (smoothed) sum(log clip(p)). Inlined: as its own frame it
  // would stack on the batch arrays anyway, with more spills.
  [[gnu::always_inline]] static void sparse_row_terms(const Rows& pred, std::size_t r, std::size_t y, const LossParams& params,
                                                 float* a, float* b, float* c) noexcept {
    const bool smooth = params.label_smoothing > 0.0f;
    if (params.from_logits) {
      float m = 0.0f;
      row_max_sum(pred, r, &m, a);
      *b = load_element(pred.data, pred.type, r * pred.row_stride + y * pred.class_stride) - m;
      if (smooth) {
        double d = 0.0;
        const F mv(m);
        for_chunks(pred, r, [&d, &mv](const float* p, std::size_t n, std::size_t) {
          d += span_sum(p, n, [&mv](const F& z) { return z - mv; });
        });
        *c = static_cast<float>(d);
      }
    } else {
      double s = 0.0, l = 0.0;
      for_chunks(pred, r, [&](const float* p, std::size_t n, std::size_t) {
        s += span_sum(p, n, [](const F& v) { return clip(v); });
        if (smooth) l += span_sum(p, n, [](const F& v) { return log_core(clip(v)); });
      });
      *a = static_cast<float>(s);
      const float p_label = load_element(pred.data, pred.type, r * pred.row_stride + y * pred.class_stride);
      *b = p_label < kEps ? kEps : (p_label > kOneMinusEps ? kOneMinusEps : p_label);
      *c = static_cast<float>(l);
    }
  }

  // Categorical, lanes as rows: per lane the loss.
  template <bool kFast>
  static F categorical_lanes(const Lanes& x, const Lanes& t, std::size_t k_n, const LossParams& params) noexcept {
    const Smooth sm(params.label_smoothing, k_n);
    const F scale = sm.on ? sm.scale : F(1.0f), offset = sm.on ? sm.offset : F(0.0f);  // t * 1 + 0 == t
    LaneSum acc;
    if (params.from_logits) {
      F m(-kInf);
      for (std::size_t k = 0; k < k_n; ++k) m = xsimd::max(x.template at<kFast>(k), m);
      LaneSum s, tsum;
      for_lane_chunks(
          k_n,
          [&](std::size_t k) {
            const F z = x.template at<kFast>(k) - m;
            const F tk = simd::fma<A>(t.template at<kFast>(k), scale, offset);
            s.add(exp_sum_term(z));
            tsum.add(tk);
            acc.add(tk * z);
          },
          [&] {
            s.flush();
            tsum.flush();
            acc.flush();
          });
      // sum t' (log S - (z - m)) = log S * sum t' - sum t' (z - m)
      return log_any(s.result()) * tsum.result() - acc.result();
    }
    LaneSum s;
    for_lane_chunks(
        k_n, [&](std::size_t k) { s.add(x.template at<kFast>(k)); }, [&] { s.flush(); });
    const F total = s.result();
    for_lane_chunks(
        k_n,
        [&](std::size_t k) {
          const F q = clip(x.template at<kFast>(k) / total);
          acc.add(simd::fma<A>(t.template at<kFast>(k), scale, offset) * log_core(q) + (q - q));  // q - q: a NaN q (0/0) stays NaN
        },
        [&] { acc.flush(); });
    return F(0.0f) - acc.result();
  }

  // Row r of a categorical block, row by row: s (probabilities) or m and log S (logits).
  struct RowStats {
    float s = 0.0f, m = 0.0f, log_s = 0.0f;
  };

  static RowStats categorical_stats(const Rows& pred, std::size_t r, bool from_logits) noexcept {
    RowStats st;
    if (from_logits) {
      float s = 0.0f;
      row_max_sum(pred, r, &st.m, &s);
      st.s = s;
      st.log_s = simd::lane0<A>(log_any(F(s)));
    } else {
      double s = 0.0;
      for_chunks(pred, r, [&s](const float* p, std::size_t n, std::size_t) {
        s += span_sum(p, n, [](const F& v) { return v; });
      });
      st.s = static_cast<float>(s);
    }
    return st;
  }

  static void categorical_rows(const Rows& pred, const Rows& truth, const LossParams& params, float* loss) noexcept {
    if (use_tile(pred) && use_tile(truth)) {
      categorical_rows_tiled(pred, truth, params, loss);
    } else if (pred.class_stride != 1) {
      categorical_rows_lanes(pred, truth, params, loss);
    } else {
      categorical_rows_by_row(pred, truth, params, loss);
    }
  }

  // categorical_quads costs 5-8 KB of .text per NEON library (M2): ARM keeps the tiles.
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
  static constexpr bool kCategoricalQuads = false;
#else
  static constexpr bool kCategoricalQuads = true;
#endif

  // Float32 rows take categorical_quads (no tile), the others a tile per block of W rows. Separate
  // frames (noinline), so one call never stacks the tiles on top of the row buffers, nor the tiles
  // on top of the spills around get_other.
  [[gnu::noinline]] static void categorical_rows_tiled(const Rows& pred, const Rows& truth, const LossParams& params,
                                                       float* loss) noexcept {
    if (kCategoricalQuads && pred.type == DType::f32 && truth.type == DType::f32 && pred.classes >= 4) {
      // The groups categorical_quads leaves (see there) go row by row, in a sibling frame.
      for (std::size_t r0 = categorical_quads(pred, truth, params, loss, 0); r0 < pred.rows;) {
        Rows sp = pred, st = truth;
        sp.data = static_cast<const float*>(pred.data) + r0 * pred.row_stride;
        st.data = static_cast<const float*>(truth.data) + r0 * truth.row_stride;
        sp.rows = st.rows = pred.rows - r0 < W ? pred.rows - r0 : W;
        categorical_rows_by_row(sp, st, params, loss + r0);
        r0 = r0 + sp.rows < pred.rows ? categorical_quads(pred, truth, params, loss, r0 + sp.rows) : pred.rows;
      }
    } else if (pred.classes * W <= kCatTile) {
      categorical_rows_tile(pred, truth, params, loss);
    } else {
      categorical_rows_by_row(pred, truth, params, loss);
    }
  }

  [[gnu::noinline]] static void categorical_rows_tile(const Rows& pred, const Rows& truth, const LossParams& params,
                                                      float* loss) noexcept {
    alignas(64) float buf_p[kCatTile];
    alignas(64) float buf_t[kCatTile];
    const float fill = params.from_logits ? 0.0f : 1.0f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const Lanes x = fill_tile(pred, r0, count, fill, buf_p);
      const Lanes t = fill_tile(truth, r0, count, 0.0f, buf_t);
      store_rows(categorical_lanes<true>(x, t, pred.classes, params), loss + r0, count);
    }
  }

  // Categorical, float32 short contiguous rows, W rows at a time in four-class blocks as in
  // sparse_probs_quads, K >= 4. Logits: m, then S, sum t' and sum t' (z - m). Probabilities: S, then
  // sum t' log clip(p * (1 / S)): one more rounding than p / S, under 2 ulp of q and 1.2e-7 absolute
  // in its log. A group with an S that is not a positive normal float goes row by row (p / S, with
  // Keras's NaN for 0 / 0), as does a last group of fewer rows.
  // Rows from r0 on; returns the first row of a group it leaves (or the block's end).
  [[gnu::noinline]] static std::size_t categorical_quads(const Rows& pred, const Rows& truth, const LossParams& params, float* loss,
                                                         std::size_t r0) noexcept {
    const float* p = static_cast<const float*>(pred.data);
    const float* t = static_cast<const float*>(truth.data);
    for (; r0 + W <= pred.rows; r0 += W) {
      const QuadRows x{p + r0 * pred.row_stride, pred.row_stride}, y{t + r0 * truth.row_stride, truth.row_stride};
      F out;
      if (!categorical_group(x, y, pred.classes, params, out)) return r0;
      store_rows(out, loss + r0, W);
    }
    return r0;
  }

  struct QuadRows {
    const float* p;
    std::size_t stride;
  };

  // Row sums of four-class blocks: block b of v[i] holds row i + 4b.
  static F block_row_sums(F* v) noexcept {
    simd::transpose_blocks<A>(v);
    return (v[0] + v[1]) + (v[2] + v[3]);
  }

  [[gnu::always_inline]] static bool categorical_group(const QuadRows& x, const QuadRows& y, std::size_t k_n, const LossParams& params,
                                                       F& out) noexcept {
    const Smooth sm(params.label_smoothing, k_n);
    const F scale = sm.on ? sm.scale : F(1.0f), offset = sm.on ? sm.offset : F(0.0f);  // t * 1 + 0 == t
    F acc[4];
    for (std::size_t i = 0; i < 4; ++i) acc[i] = F(0.0f);
    if (params.from_logits) {
      F mx[4];
      for (std::size_t i = 0; i < 4; ++i) mx[i] = F(-kInf);
      for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
        const QuadCols q{x.p + c, x.stride};
#pragma GCC unroll 4
        for (std::size_t i = 0; i < 4; ++i) mx[i] = xsimd::max(unread(tail, real, q.vec(i), F(-kInf)), mx[i]);
      });
      simd::transpose_blocks<A>(mx);
      const F m = xsimd::max(xsimd::max(mx[0], mx[1]), xsimd::max(mx[2], mx[3]));
      const F mb[4] = {simd::block_broadcast<0, A>(m), simd::block_broadcast<1, A>(m), simd::block_broadcast<2, A>(m),
                       simd::block_broadcast<3, A>(m)};
      F s[4], ts[4];
      for (std::size_t i = 0; i < 4; ++i) s[i] = ts[i] = F(0.0f);
      for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
        const QuadCols q{x.p + c, x.stride};
        const QuadCols u{y.p + c, y.stride};
#pragma GCC unroll 4
        for (std::size_t i = 0; i < 4; ++i) {
          const F z = q.vec(i) - mb[i];
          const F tk = simd::fma<A>(u.vec(i), scale, offset);
          s[i] += unread(tail, real, exp_sum_term(z), F(0.0f));
          ts[i] += unread(tail, real, tk, F(0.0f));
          // (a lane read already may hold -inf - m: its tk * z is dropped, not multiplied by 0)
          if constexpr (decltype(tail)::value) {
            acc[i] += xsimd::select(real, tk * z, F(0.0f));
          } else {
            acc[i] = simd::fma<A>(tk, z, acc[i]);
          }
        }
      });
      // sum t' (log S - (z - m)) = log S * sum t' - sum t' (z - m)
      out = log_any(block_row_sums(s)) * block_row_sums(ts) - block_row_sums(acc);
      return true;
    }
    F sa[4];
    for (std::size_t i = 0; i < 4; ++i) sa[i] = F(0.0f);
    for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
      const QuadCols q{x.p + c, x.stride};
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) sa[i] += unread(tail, real, q.vec(i), F(0.0f));
    });
    const F total = block_row_sums(sa);
    if (!xsimd::all((total >= F(0x1p-126f)) & (total <= F(std::numeric_limits<float>::max())))) return false;
    const F inv = F(1.0f) / total;
    const F ib[4] = {simd::block_broadcast<0, A>(inv), simd::block_broadcast<1, A>(inv), simd::block_broadcast<2, A>(inv),
                     simd::block_broadcast<3, A>(inv)};
    for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
      const QuadCols q{x.p + c, x.stride};
      const QuadCols u{y.p + c, y.stride};
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) {
        const F tk = simd::fma<A>(u.vec(i), scale, offset);
        const F lq = log_core(clip(q.vec(i) * ib[i]));
        if constexpr (decltype(tail)::value) {
          acc[i] += xsimd::select(real, tk * lq, F(0.0f));
        } else {
          acc[i] = simd::fma<A>(tk, lq, acc[i]);
        }
      }
    });
    out = F(0.0f) - block_row_sums(acc);
    return true;
  }

  // Interleaved classes: full float32 groups load directly, the rest through get_other.
  [[gnu::noinline]] static void categorical_rows_lanes(const Rows& pred, const Rows& truth, const LossParams& params,
                                                       float* loss) noexcept {
    const float fill = params.from_logits ? 0.0f : 1.0f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const Lanes x{pred.data, pred.type, pred.row_stride, pred.class_stride, r0, count, fill};
      const Lanes t{truth.data, truth.type, truth.row_stride, truth.class_stride, r0, count, 0.0f};
      const F out = kSplitFast && x.fast() && t.fast() ? categorical_lanes<true>(x, t, pred.classes, params)
                                                       : categorical_lanes<false>(x, t, pred.classes, params);
      store_rows(out, loss + r0, count);
    }
  }

  [[gnu::noinline]] static void categorical_rows_by_row(const Rows& pred, const Rows& truth, const LossParams& params,
                                                        float* loss) noexcept {
    const Smooth sm(params.label_smoothing, pred.classes);
    // Probabilities in contiguous float32 rows: each row's total comes out of the previous row's
    // loss pass (probs_span's next), so a row is read from memory once for both.
    const bool f32_probs = !params.from_logits && pred.type == DType::f32 && pred.class_stride == 1 &&
                           truth.type == DType::f32 && truth.class_stride == 1;
    bool have_s = false;
    float s = 0.0f;
    for (std::size_t r = 0; r < pred.rows; ++r) {
      if (f32_probs) {
        if (!have_s) s = categorical_stats(pred, r, false).s;
        have_s = false;
        if (std::isfinite(s) && s != 0.0f) {  // else a NaN q is possible (0/0, inf/inf): the general path
          const float* p = static_cast<const float*>(pred.data) + r * pred.row_stride;
          const float* t = static_cast<const float*>(truth.data) + r * truth.row_stride;
          const float* next = r + 1 < pred.rows ? p + pred.row_stride : nullptr;
          loss[r] = static_cast<float>(-probs_span(p, t, pred.classes, F(s), sm, next, &s));
          have_s = next != nullptr;
          continue;
        }
      }
      // The statistics in their own frame; the loss inlined (out of line it measured 1.5x slower
      // per row on AVX-512 and AVX2).
      const RowStats st = categorical_stats(pred, r, params.from_logits);
      loss[r] = categorical_row_loss(pred, truth, r, st, params, sm);
    }
  }

  // sum over k of t'_k log clip(p_k / total) (no NaN q: total finite and non-zero), smoothed
  // t' = t scale + offset summed as scale sum(t L) + offset sum(L): one multiply-add per element
  // less than smoothing each t. Four vectors per trip through log_core_n; float lanes flushed into
  // doubles every 64 vectors. With next != nullptr, also *next_sum = the sum of next[0..n) (the
  // next row's total): its loads from L2/L3 then overlap this row's arithmetic instead of forming a
  // pass of their own (measured 18% of the row's time on AVX-512).
  static double probs_span(const float* p, const float* t, std::size_t n, const F& total, const Smooth& sm,
                           const float* next, float* next_sum) noexcept {
    F tl0(0.0f), tl1(0.0f), l0(0.0f), s0(0.0f);
    double sum_tl = 0.0, sum_l = 0.0, sum_next = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    const bool with_next = next != nullptr;
    // The quotients one block ahead: the division's latency then overlaps the previous block's log.
    F q[4];
    if (4 * W <= n) for (std::size_t k = 0; k < 4; ++k) q[k] = clip(F::load_unaligned(p + k * W) / total);
    for (; i + 4 * W <= n; i += 4 * W) {
      F v[4] = {q[0], q[1], q[2], q[3]};
      const float* ahead = i + 8 * W <= n ? p + i + 4 * W : p;  // unconditional: q stays in registers
      for (std::size_t k = 0; k < 4; ++k) q[k] = clip(F::load_unaligned(ahead + k * W) / total);
      log_core_n(v);
      tl0 = simd::fma<A>(F::load_unaligned(t + i), v[0], tl0);
      tl1 = simd::fma<A>(F::load_unaligned(t + i + W), v[1], tl1);
      tl0 = simd::fma<A>(F::load_unaligned(t + i + 2 * W), v[2], tl0);
      tl1 = simd::fma<A>(F::load_unaligned(t + i + 3 * W), v[3], tl1);
      l0 += (v[0] + v[1]) + (v[2] + v[3]);
      if (with_next) {
        s0 += (F::load_unaligned(next + i) + F::load_unaligned(next + i + W)) +
              (F::load_unaligned(next + i + 2 * W) + F::load_unaligned(next + i + 3 * W));
      }
      if (++since == 16) {
        sum_tl += static_cast<double>(xsimd::hadd(tl0 + tl1));
        sum_l += static_cast<double>(xsimd::hadd(l0));
        if (with_next) sum_next += static_cast<double>(xsimd::hadd(s0));
        tl0 = tl1 = l0 = s0 = F(0.0f);
        since = 0;
      }
    }
    if (i < n) {  // the last 1 .. 4W - 1 elements as one more block (single vectors would expose the latency)
      F v[4], tv[4];
      for (std::size_t k = 0; k < 4; ++k) {
        const std::size_t at = i + k * W, left = at < n ? n - at : 0;
        v[k] = left >= W ? F::load_unaligned(p + at) : left > 0 ? simd::load_partial<A>(p + at, left, 0.5f) : F(0.5f);
        tv[k] = left >= W ? F::load_unaligned(t + at) : left > 0 ? simd::load_partial<A>(t + at, left, 0.0f) : F(0.0f);
        if (with_next && left > 0) s0 += left >= W ? F::load_unaligned(next + at) : simd::load_partial<A>(next + at, left, 0.0f);
        v[k] = clip(v[k] / total);
      }
      log_core_n(v);
      for (std::size_t k = 0; k < 4; ++k) {
        const std::size_t at = i + k * W, left = at < n ? n - at : 0;
        tl0 = simd::fma<A>(tv[k], v[k], tl0);  // padding: t = 0
        l0 += left >= W ? v[k] : tail_mask_zero(v[k], left);
      }
    }
    if (with_next) *next_sum = static_cast<float>(sum_next + static_cast<double>(xsimd::hadd(s0)));
    sum_tl += static_cast<double>(xsimd::hadd(tl0 + tl1));
    sum_l += static_cast<double>(xsimd::hadd(l0));
    if (!sm.on) return sum_tl;
    return static_cast<double>(sm.scale_f) * sum_tl + static_cast<double>(sm.offset_f) * sum_l;
  }

  [[gnu::always_inline]] static float categorical_row_loss(const Rows& pred, const Rows& truth, std::size_t r, const RowStats& st,
                                                           const LossParams& params, const Smooth& sm) noexcept {
    {
      double acc = 0.0;
      if (params.from_logits) {
        const F mv(st.m), log_s(st.log_s);
        for_chunks2(pred, truth, r, [&](const float* p, const float* t, std::size_t n, std::size_t) {
          acc += span_sum2(p, t, n, [&](const F& z, const F& tk) { return sm.apply(tk) * (log_s - (z - mv)); });
        });
        return static_cast<float>(acc);
      } else {
        const F total(st.s);
        // q = p / s is NaN only for 0/0 or inf/inf: with s finite and non-zero no element can be
        // NaN (a NaN or inf p would have made s NaN or inf), so the NaN guard is skipped.
        const bool guard = !(std::isfinite(st.s) && st.s != 0.0f);
        for_chunks2(pred, truth, r, [&](const float* p, const float* t, std::size_t n, std::size_t) {
          if (guard) {
            acc += span_sum2(p, t, n, [&](const F& v, const F& tk) {
              const F q = clip(v / total);
              return sm.apply(tk) * log_core(q) + (q - q);
            });
          } else {
            acc += probs_span(p, t, n, total, sm, nullptr, nullptr);
          }
        });
        return static_cast<float>(-acc);
      }
    }
  }

  // Per-class shares: row by row for every layout (a reporting path, not a hot one).
  [[gnu::cold]] static void categorical_class_shares(const Rows& pred, const Rows& truth, const LossParams& params,
                                       const float* row_weight, double* class_total) noexcept {
    for (std::size_t r = 0; r < pred.rows; ++r) {
      const double w = row_weight != nullptr ? static_cast<double>(row_weight[r]) : 1.0;
      const RowStats st = categorical_stats(pred, r, params.from_logits);  // a sibling frame of the shares'
      categorical_row_shares(pred, truth, r, st, params, w, class_total);
    }
  }

  [[gnu::noinline]] static void categorical_row_shares(const Rows& pred, const Rows& truth, std::size_t r, const RowStats& st,
                                                       const LossParams& params, double w, double* class_total) noexcept {
    const Smooth sm(params.label_smoothing, pred.classes);
    alignas(64) float share[kBuf];
    {
      const F mv(st.m), log_s(st.log_s), total(st.s);
      const bool logits = params.from_logits;
      for_chunks2(pred, truth, r, [&](const float* p, const float* t, std::size_t n, std::size_t k0) {
        for (std::size_t i0 = 0; i0 < n; i0 += kBuf) {
          const std::size_t len = n - i0 < kBuf ? n - i0 : kBuf;
          for (std::size_t i = 0; i < len; i += W) {
            const std::size_t v = len - i < W ? len - i : W;
            const F x = v == W ? F::load_unaligned(p + i0 + i) : simd::load_partial<A>(p + i0 + i, v, 0.5f);
            const F tk = sm.apply(v == W ? F::load_unaligned(t + i0 + i) : simd::load_partial<A>(t + i0 + i, v, 0.0f));
            F y;
            if (logits) {
              y = tk * (log_s - (x - mv));
            } else {
              const F q = clip(x / total);
              y = F(0.0f) - (tk * log_core(q) + (q - q));
            }
            y.store_aligned(share + i);
          }
          for (std::size_t i = 0; i < len; ++i) class_total[k0 + i0 + i] += w * static_cast<double>(share[i]);
        }
      });
    }
  }

  // ---- the public kernels --------------------------------------------------------------------

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

  // Any NaN in the row (the cold check behind an infinite max).
  [[gnu::cold]] static bool has_nan(const Rows& row) noexcept {
    double count = 0.0;
    for_chunks(row, 0, [&count](const float* p, std::size_t n, std::size_t) {
      count += span_sum(p, n, [](const F& v) { return xsimd::select(xsimd::isnan(v), F(1.0f), F(0.0f)); });
    });
    return count > 0.0;
  }

  static float logsumexp(const void* x, DType type, std::size_t n) noexcept {
    const Rows row{x, type, 1, n, n, 1};
    float m = -kInf, s = 0.0f;
    row_max_sum(row, 0, &m, &s);
    if (std::isinf(m)) return has_nan(row) ? kNaN : m;  // all -inf (or n == 0), or a +inf entry
    return m + simd::lane0<A>(log_any(F(s)));
  }

  static void log_softmax(const float* x, float* out, std::size_t n) noexcept {
    const Rows row{x, DType::f32, 1, n, n, 1};
    float m = -kInf, s = 0.0f;
    row_max_sum(row, 0, &m, &s);
    const float log_s = std::isinf(m) ? kNaN : simd::lane0<A>(log_any(F(s)));
    const F mv(m), lv(log_s);
    std::size_t i = 0;
    for (; i + W <= n; i += W) ((F::load_unaligned(x + i) - mv) - lv).store_unaligned(out + i);
    if (i < n) simd::store_partial<A>((simd::load_partial<A>(x + i, n - i, 0.0f) - mv) - lv, out + i, n - i);
  }

  static void widen_f16(const std::uint16_t* x, float* out, std::size_t n) noexcept { widen_into(x, out, n, true); }
  static void widen_bf16(const std::uint16_t* x, float* out, std::size_t n) noexcept { widen_into(x, out, n, false); }
};

template <class A>
constexpr KernelTable make_table(const char* name) noexcept {
  using K = Kernels<A>;
  return KernelTable{name,
                     &K::log,
                     &K::logsumexp,
                     &K::log_softmax,
                     &K::widen_f16,
                     &K::widen_bf16,
                     &K::sparse_rows,
                     &K::categorical_rows,
                     &K::categorical_class_shares,
                     &K::template elementwise<&K::exp_core>,
                     &K::template elementwise<&K::exp_sum_term>};
}

}  // namespace xent::detail::XENT_KERNEL_NS
