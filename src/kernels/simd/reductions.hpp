// Reductions over a contiguous span (float32, or 16-bit or quantized 8-bit widened in registers): sums, max, sum of
// exp(x - m), and max with S = sum(exp(x - max)): two passes up to kTwoPassMax floats, above that
// one online pass with a running max per lane, rescaled only when it rises. Sums: 4 vector
// accumulators flushed into a double every 64 vectors.
// Part of the Kernels<A> chain assembled by kernels/simd_kernels.hpp (one copy per ISA namespace).
#pragma once

#include "kernels/simd/math.hpp"
#include "kernels/half_bits.hpp"

// The byte-table pass over long quantized rows (table_expsum): AVX-512 builds with GCC or Clang.
#if defined(__AVX512BW__) && defined(__GNUC__)
#define XENT_Q8_BYTE_TABLE 1
#else
#define XENT_Q8_BYTE_TABLE 0
#endif

namespace xent::detail::XENT_KERNEL_NS {

// Rows longer than this (in floats) take the single-pass online logsumexp instead of two passes.
constexpr std::size_t kTwoPassMax = 8192;
// Online pass: the lane sums are folded into a double every kPiece floats (accuracy; one exp each).
constexpr std::size_t kPiece = 2048;

template <class A>
struct Reductions : Math<A> {
  using typename Math<A>::F;
  using typename Math<A>::I;
  using Math<A>::W;
  using Math<A>::exp_core;
  using Math<A>::exp_sum_parts;
  using Math<A>::prefetch_lines;
  using Math<A>::tail_mask_zero;

  // ---- contiguous sources: float32, or 16-bit widened in registers -----------------------------

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

  // Quantized predictions (qi8 / qu8) widened in registers: u = byte ^ flip is q (uint8) or q + 128
  // (int8) as an exact float, and value = (u - zero) * scale with zero = zero_point (+ 128): exact
  // up to the multiply, kept unfused (simd::rounded), so each value is float32(scale * (q - zp)),
  // one rounding, bit for bit the scalar dequantize (TFLite's). Then the float32 kernels' bounds.
  struct Quant {
    std::uint8_t flip;
    std::int32_t zero_i;
    float scale_f;
    F zero, scale;
    Quant(DType type, float s, std::int32_t zero_point) noexcept
        : flip(type == DType::qi8 ? 0x80 : 0),
          zero_i(type == DType::qi8 ? zero_point + 128 : zero_point),
          scale_f(s),
          zero(static_cast<float>(zero_i)),
          scale(s) {}
    explicit Quant(const Rows& rows) noexcept : Quant(rows.type, rows.scale, rows.zero_point) {}
    F apply(const I& u) const noexcept { return simd::rounded<A>((xsimd::to_float(u) - zero) * scale); }
    F at(const std::uint8_t* p) const noexcept { return apply(simd::widen_u8<A>(p, flip)); }
    float one(std::uint8_t b) const noexcept { return dequantize(b ^ flip, zero_i, scale_f); }
  };
  static bool quantized(DType t) noexcept { return t == DType::qi8 || t == DType::qu8; }

  struct SrcQ8 {
    const std::uint8_t* p;
    Quant q;
    F load(std::size_t i) const noexcept { return q.at(p + i); }
    void prefetch(std::size_t i) const noexcept { prefetch_lines(p + i, 4 * W); }
    F partial(std::size_t i, std::size_t n, float fill) const noexcept {
      alignas(64) float lanes[W];
      for (std::size_t j = 0; j < W; ++j) lanes[j] = j < n ? q.one(p[i + j]) : fill;
      return F::load_aligned(lanes);
    }
  };

  // Long quantized rows where one register holds a 16-entry table (AVX-512): with z = s a + e (a =
  // q - zp, e the dequantization's rounding) and m = s a_max + e_max, each term
  // exp(z - m) = exp(-s d) exp(e) exp(-e_max), d = a_max - a in [0, 255]:
  // exp(-s d) = hi[d >> 4] lo[d & 15] (two in-register lookups; entries exp(-16 s j), exp(-s i)
  // rounded from double), exp(e) as 1 + e (e recovered exactly by an FMA; |e| <= 2^-24 |z| <= 2^-14,
  // so e^2 / 2 is under 0.03 ulp), exp(-e_max) once per row in double. Each term within 2 ulp
  // of exp(z - m): no polynomial, no range reduction. Measured on Zen 5 at 256 x 32,000 int8: 7.6
  // G elements/s against 5.0 for the widening exp pass (float32 rows: 7.0). A 256-entry table of
  // the terms read by a gather measured 2.9 (AVX-512) and 0.8 (AVX2) G/s: slower than computing them.
  static constexpr bool kExpSplit = simd::lookup_size<A>() == 16;
  // AVX2's 8-entry lookups: three factors, exp(-s d) = top3[d >> 6] mid[(d >> 3) & 7] lo[d & 7]
  // (within 3 ulp with the correction: one rounding more). 256 x 32,000 int8 forced to AVX2 on the
  // AMD EPYC: 2.9 G elements/s (the widening exp pass) -> 4.4 (float32 rows: 4.5).
  static constexpr bool kExpSplit3 = simd::lookup_size<A>() == 8;
  // Rows this long or more: the tables (one exp, 4 squarings and 30 products in double, per row) cost
  // under a quarter of what they save. 255 s <= 1024 keeps |e| <= 2^-14 (1 + e is exp(e) to 0.03 ulp);
  // larger scales take the widening exp pass.
  static constexpr std::size_t kExpSplitMin = 1024;

  // max and S of a quantized row at p (its Rows for the type and parameters): the max on the bytes
  // (a register of bytes per compare; the dequantization is increasing), then one pass for S, whatever
  // the length: the row is a quarter of its float size, and the max pass costs a sixteenth of the exp
  // pass or less; on AVX512-VBMI, long rows with 255 s <= kOnePassRange skip it (table_expsum finds
  // the max). No vector here: the sums build theirs in sibling frames (stack: M1).
  static void quant_max_sum(const std::uint8_t* p, const Rows& rows, float* m_out, float* s_out) noexcept {
    const std::size_t n = rows.classes;
    const std::uint8_t flip = rows.type == DType::qi8 ? 0x80 : 0;
#if XENT_Q8_BYTE_TABLE
    if (n >= kExpSplitMin && 255.0f * rows.scale <= 1024.0f && has_vbmi()) {
      // The byte table relative to u_ref: 255 (no max pass) or the top of the max's block of 16.
      const bool one_pass = 255.0f * rows.scale <= kOnePassRange;
      const std::int32_t u_ref = one_pass ? 255 : (static_cast<std::int32_t>(simd::max_u8<A>(p, n, flip)) | 15);
      std::int32_t u_top = 0;
      const double s_ref = table_expsum(p, n, rows, u_ref, &u_top);
      const std::int32_t off = flip != 0 ? 128 : 0;
      const float m = dequantize(u_top - off, rows.zero_point, rows.scale);
      const float z_ref = dequantize(u_ref - off, rows.zero_point, rows.scale);
      *m_out = m;
      *s_out = static_cast<float>(s_ref * std::exp(static_cast<double>(z_ref) - static_cast<double>(m)));
      return;
    }
#endif
    const auto top = static_cast<std::uint8_t>(simd::max_u8<A>(p, n, flip) ^ flip);  // the raw byte
    const float m = dequantize(static_cast<std::int32_t>(top ^ flip) - (flip != 0 ? 128 : 0), rows.zero_point, rows.scale);
    *m_out = m;
    double s = 0.0;
    std::size_t done = 0;
    if constexpr (kExpSplit || kExpSplit3) {
      if (n >= kExpSplitMin && 255.0f * rows.scale <= 1024.0f) {
        done = n - n % (4 * W);  // the tables' pass stops at a whole block
        s = split_expsum(p, done, rows, top, m);
      }
    }
    if (done < n) s += expsum_q8(p + done, n - done, rows, m);
    *s_out = static_cast<float>(s);
  }
  [[gnu::noinline]] static double expsum_q8(const std::uint8_t* p, std::size_t n, const Rows& rows, float m) noexcept {
    return span_expsum(SrcQ8{p, Quant(rows)}, n, m);
  }

#if XENT_Q8_BYTE_TABLE
  // AVX512-VBMI (Ice Lake, Zen 4 and later; checked at run time, else split_expsum): the row's 256
  // possible terms as a table in 16 registers, read with byte permutes, no arithmetic per element.
  // Terms relative to z_ref = z(u_ref) (u = byte ^ flip), u_ref = 16 j_ref + 15: 255 where 255 s <=
  // kOnePassRange (no max pass: the row is read once, its max found alongside, one byte max per
  // 64), else the top of the max's block of 16 (the caller's max_u8 pass). The caller turns the sum
  // S_ref into S = S_ref exp(z_ref - m) in double.
  // Entry t(b) = exp(z(b) - z_ref), d = u_ref - u: exp(-s d) = hi[j] lo_rev[i] in double (blocks
  // of 16 bytes share hi; relative error under 2^-44) times exp(e - e_ref) = 1 + x + x^2 / 2, x =
  // e - e_ref from the FMA residuals (exact) in float (|x| <= 2^-13 as 255 s <= 1024: error under
  // 2^-36), in double, rounded once to float: within 0.5 ulp + 2^-36 relative of exp(z - z_ref)
  // (split_expsum: 2 ulp). Every term that matters is a normal float: one pass, t >= exp(-255 s)
  // >= exp(-64); else S_ref >= t(max) >= exp(-15 s) >= exp(-61), and a subnormal term's error
  // (2^-150) is under 2^-63 of S_ref. Blocks above u_ref (never read) hold 0.
  // The table is stored as four byte planes (plane q: byte q of every t(b), 4 registers of 64);
  // per 64 bytes of row: per plane two vpermi2b (bits 0-6) and a blend on bit 7, then the planes
  // are interleaved back into floats (8 unpacks, elements in another order: a sum does not care)
  // and summed (2 accumulators, into a double every 1,024 elements). 16 shuffles per 64 elements
  // where split_expsum's widening and 16-entry lookups took 12 plus 28 arithmetic ops; 512-bit
  // shuffles issue one per cycle on the AMD EPYC (AVX-512) measured: the loop alone runs 14 G
  // elements/s in L1 against split_expsum's 6.6. The table costs ~200 vector ops per row.
  // 256 x 32,000 int8 logits (L2): 6.4 G elements/s (split_expsum) -> 12.3-12.5; 2048 x 32,768
  // from DRAM: 5.8 -> 12.0-12.2 (one pass, the next row prefetched: 0.97x the rate in L2).
  static bool has_vbmi() noexcept { return avx512_vbmi_allowed(); }
  // Four byte planes (bytes 0-3 of 64 floats) interleaved back into floats and added.
  // Two accumulators (registers are short: the table holds 16): one add each per 64 bytes.
  [[gnu::always_inline]] static inline void add_planes(const __m512i (&pl)[4], __m512& a0, __m512& a1) noexcept {
    const __m512i w0 = _mm512_unpacklo_epi8(pl[0], pl[1]), w1 = _mm512_unpackhi_epi8(pl[0], pl[1]);
    const __m512i w2 = _mm512_unpacklo_epi8(pl[2], pl[3]), w3 = _mm512_unpackhi_epi8(pl[2], pl[3]);
    a0 = _mm512_add_ps(a0, _mm512_add_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(w0, w2)), _mm512_castsi512_ps(_mm512_unpackhi_epi16(w0, w2))));
    a1 = _mm512_add_ps(a1, _mm512_add_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(w1, w3)), _mm512_castsi512_ps(_mm512_unpackhi_epi16(w1, w3))));
  }
  static constexpr float kOnePassRange = 64.0f;

  // The table of t(b) = exp(z(b) - z_ref), z_ref = z(u_ref), u_ref = 16 j_ref + 15 (see table_expsum), as
  // four byte planes: t[plane][c] holds byte `plane` of the entries of raw bytes 64 c .. 64 c + 63.
  // Shared by table_expsum (long rows) and the short rows of kernels/simd/q8_logits.hpp.
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static inline void byte_table(const Quant& q, std::int32_t u_ref,
                                                                             __m512i (&t)[4][4]) noexcept {
    // exp(-s i) for i = 15 - lane (lo_rev) and exp(-16 s j) for j = lane (hi), in double: lane by
    // lane the product of the powers w^1, w^2, w^4, w^8 its exponent's bits select (each from w
    // by squarings: relative error under 2^-48), in registers (no table on the stack).
    const double w1 = std::exp(-static_cast<double>(q.scale_f)), w2 = w1 * w1, w4 = w2 * w2, w8 = w4 * w4;
    const double v1 = w8 * w8, v2 = v1 * v1, v4 = v2 * v2, v8 = v4 * v4;
    __m512d lo_rev0 = _mm512_set1_pd(1.0), lo_rev1 = lo_rev0, hi0 = lo_rev0, hi1 = lo_rev0;
    {
      // Lane l of half 0 has exponent 15 - l (lo_rev) or l (hi); half 1: 7 - l or 8 + l.
      const double wb[4] = {w1, w2, w4, w8}, vb[4] = {v1, v2, v4, v8};
#pragma GCC unroll 4
      for (int bit = 0; bit < 4; ++bit) {
        __mmask8 m0 = 0, m1 = 0, h0 = 0, h1 = 0;
        for (int l = 0; l < 8; ++l) {
          m0 = static_cast<__mmask8>(m0 | (((15 - l) >> bit & 1) << l));
          m1 = static_cast<__mmask8>(m1 | (((7 - l) >> bit & 1) << l));
          h0 = static_cast<__mmask8>(h0 | ((l >> bit & 1) << l));
          h1 = static_cast<__mmask8>(h1 | (((8 + l) >> bit & 1) << l));
        }
        lo_rev0 = _mm512_mask_mul_pd(lo_rev0, m0, lo_rev0, _mm512_set1_pd(wb[bit]));
        lo_rev1 = _mm512_mask_mul_pd(lo_rev1, m1, lo_rev1, _mm512_set1_pd(wb[bit]));
        hi0 = _mm512_mask_mul_pd(hi0, h0, hi0, _mm512_set1_pd(vb[bit]));
        hi1 = _mm512_mask_mul_pd(hi1, h1, hi1, _mm512_set1_pd(vb[bit]));
      }
    }
    const __m512 s = _mm512_set1_ps(q.scale_f);
    // With a = u - zero, z = float32(s a) and e = z - s a (exact as a float: the FMA's residual),
    // x = e - e_ref; r = s a - z and r_ref likewise, so -x = r + e_ref = r - r_ref.
    const float a_ref = static_cast<float>(u_ref - q.zero_i), z_ref = a_ref * q.scale_f;
    const __m512 neg_r_ref = _mm512_set1_ps(-std::fma(a_ref, q.scale_f, -z_ref));
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // vpermb pattern gathering byte q of 16 floats into 128-bit lane q.
    const __m512i planes_of = _mm512_set_epi8(63, 59, 55, 51, 47, 43, 39, 35, 31, 27, 23, 19, 15, 11, 7, 3,  //
                                              62, 58, 54, 50, 46, 42, 38, 34, 30, 26, 22, 18, 14, 10, 6, 2,  //
                                              61, 57, 53, 49, 45, 41, 37, 33, 29, 25, 21, 17, 13, 9, 5, 1,   //
                                              60, 56, 52, 48, 44, 40, 36, 32, 28, 24, 20, 16, 12, 8, 4, 0);
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m512i x[4];
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        // Raw bytes 16 (4 c + r) + i: u = 16 ub + i (the flip moves whole blocks of 16), and as
        // u_ref = 16 jr + 15, d = u_ref - u = 16 (jr - ub) + 15 - i: hi[jr - ub] lo_rev[i].
        const int ub = (4 * c + r) ^ (q.flip >> 4), j = (u_ref >> 4) - ub;
        // exp(-16 s j); blocks above u_ref (j < 0, never read): 0.
        const __m512d h = _mm512_maskz_permutex2var_pd(j >= 0 ? 0xff : 0, hi0, _mm512_set1_epi64(j & 15), hi1);
        const __m512 a = _mm512_add_ps(_mm512_set1_ps(static_cast<float>(16 * ub - q.zero_i)), iota);  // exact
        const __m512 z = _mm512_mul_ps(a, s);  // the dequantized value: one rounding
        const __m512 nx = _mm512_add_ps(_mm512_fmsub_ps(a, s, z), neg_r_ref);  // -x, |x| <= 2^-13
        const __m512 y = _mm512_mul_ps(nx, _mm512_fmsub_ps(nx, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));  // x + x^2 / 2
        const __m512d y0 = _mm512_cvtps_pd(_mm512_castps512_ps256(y));
        const __m512d y1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(y), 1)));
        const __m512d e0 = _mm512_mul_pd(h, lo_rev0), e1 = _mm512_mul_pd(h, lo_rev1);  // exp(-s d)
        const __m256 f0 = _mm512_cvtpd_ps(_mm512_fmadd_pd(e0, y0, e0)), f1 = _mm512_cvtpd_ps(_mm512_fmadd_pd(e1, y1, e1));
        const __m512 f = _mm512_insertf32x8(_mm512_castps256_ps512(f0), f1, 1);
        x[r] = _mm512_permutexvar_epi8(planes_of, _mm512_castps_si512(f));
      }
      // 4x4 transpose of 128-bit lanes: t[q][c] lane r = x[r] lane q.
      const __m512i a01 = _mm512_shuffle_i64x2(x[0], x[1], 0x44), b01 = _mm512_shuffle_i64x2(x[0], x[1], 0xEE);
      const __m512i a23 = _mm512_shuffle_i64x2(x[2], x[3], 0x44), b23 = _mm512_shuffle_i64x2(x[2], x[3], 0xEE);
      t[0][c] = _mm512_shuffle_i64x2(a01, a23, 0x88);
      t[1][c] = _mm512_shuffle_i64x2(a01, a23, 0xDD);
      t[2][c] = _mm512_shuffle_i64x2(b01, b23, 0x88);
      t[3][c] = _mm512_shuffle_i64x2(b01, b23, 0xDD);
    }
  }

  [[gnu::noinline, gnu::target("avx512vbmi")]] static double table_expsum(const std::uint8_t* p, std::size_t n,
                                                                         const Rows& rows, std::int32_t u_ref,
                                                                         std::int32_t* u_top) noexcept {
    const Quant q(rows);
    __m512i t[4][4];  // t[plane][c]: byte plane of the entries 64 c .. 64 c + 63
    byte_table(q, u_ref, t);
    // The next row (rows.row_stride bytes on; past the block, prefetches are dropped), a line per
    // 64 bytes: its bytes arrive while this row's sum runs from cache, and its max pass finds them
    // there (2048 x 32768 int8 from DRAM, then two passes: 8.6 -> 10.9 G elements/s).
    const std::size_t ahead = rows.row_stride;
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(q.flip));
    __m512i top = _mm512_setzero_si512();  // the max of byte ^ flip per byte lane
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    double total = 0.0;
    unsigned since = 0;
    for (std::size_t i = 0; i < n; i += 64) {
      __m512i pl[4];
      if (__builtin_expect(n - i >= 64, 1)) {
        __builtin_prefetch(p + ahead + i);
        const __m512i v = _mm512_loadu_si512(p + i);
        top = _mm512_max_epu8(top, _mm512_xor_si512(v, flip));
        const __mmask64 k = _mm512_movepi8_mask(v);
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c)
          pl[c] = _mm512_mask_blend_epi8(k, _mm512_permutex2var_epi8(t[c][0], v, t[c][1]), _mm512_permutex2var_epi8(t[c][2], v, t[c][3]));
      } else {  // the last n - i < 64 bytes: lanes past the row read 0 and add 0
        const __mmask64 in = (1ull << (n - i)) - 1;
        const __m512i v = _mm512_maskz_loadu_epi8(in, p + i);
        top = _mm512_mask_max_epu8(top, in, top, _mm512_xor_si512(v, flip));
        const __mmask64 k = _mm512_movepi8_mask(v);
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c)
          pl[c] = _mm512_maskz_mov_epi8(in, _mm512_mask_blend_epi8(k, _mm512_permutex2var_epi8(t[c][0], v, t[c][1]),
                                                                   _mm512_permutex2var_epi8(t[c][2], v, t[c][3])));
      }
      add_planes(pl, a0, a1);
      if (++since == 16) {  // into the double every 1,024 elements
        total += static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(a0, a1)));
        a0 = a1 = _mm512_setzero_ps();
        since = 0;
      }
    }
    // The largest byte of top: bytes folded into the low byte of each 32-bit lane.
    const __m512i top16 = _mm512_max_epu8(top, _mm512_srli_epi32(top, 16));
    const __m512i top8 = _mm512_max_epu8(top16, _mm512_srli_epi32(top16, 8));
    *u_top = static_cast<std::int32_t>(_mm512_reduce_max_epu32(_mm512_and_si512(top8, _mm512_set1_epi32(0xff))));
    return total + static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(a0, a1)));
  }
#endif

  // n: a multiple of 4 W.
  [[gnu::noinline]] static double split_expsum(const std::uint8_t* p, std::size_t n, const Rows& rows, std::uint8_t top,
                                               float m) noexcept {
    const Quant q(rows);
    // hi[j] = exp(-16 s j), lo[i] = exp(-s i): powers in double (each within 1e-15 relative), rounded.
    alignas(64) std::int32_t hi[16], lo[16];
    {
      double step = std::exp(-static_cast<double>(q.scale_f));
      double l = 1.0, h = 1.0;
      for (std::size_t i = 0; i < 16; ++i, l *= step) lo[i] = static_cast<std::int32_t>(float_to_bits(static_cast<float>(l)));
      for (int i = 0; i < 4; ++i) step *= step;  // exp(-16 s)
      for (std::size_t j = 0; j < 16; ++j, h *= step) hi[j] = static_cast<std::int32_t>(float_to_bits(static_cast<float>(h)));
    }
    // AVX2 (8-entry lookups): d = 64 k + 8 j + i, exp(-s d) = top3[k] mid[j] lo[i], from double too.
    alignas(64) std::int32_t mid[8] = {}, top3[8] = {};
    if constexpr (kExpSplit3) {
      double step = std::exp(-8.0 * static_cast<double>(q.scale_f)), h = 1.0;
      for (std::size_t j = 0; j < 8; ++j, h *= step) mid[j] = static_cast<std::int32_t>(float_to_bits(static_cast<float>(h)));
      step = std::exp(-64.0 * static_cast<double>(q.scale_f));
      h = 1.0;
      for (std::size_t k = 0; k < 4; ++k, h *= step) top3[k] = static_cast<std::int32_t>(float_to_bits(static_cast<float>(h)));
    }
    const I u_top(static_cast<std::int32_t>(top ^ q.flip)), zero(q.zero_i);
    const F neg_scale(-q.scale_f);
    F a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    auto term = [&](std::size_t i) {
      const I u = simd::widen_u8<A>(p + i, q.flip);
      const I d = u_top - u;
      F hl;
      if constexpr (kExpSplit3) {
        hl = (simd::as_float<A>(simd::lookup<A>(simd::sra<6, A>(d), top3)) * simd::as_float<A>(simd::lookup<A>(simd::sra<3, A>(d), mid))) *
             simd::as_float<A>(simd::lookup<A>(d, lo));
      } else {
        hl = simd::as_float<A>(simd::lookup<A>(simd::sra<4, A>(d), hi)) * simd::as_float<A>(simd::lookup<A>(d, lo));
      }
      const F af = xsimd::to_float(u - zero);
      const F z = simd::rounded<A>(af * q.scale);
      return simd::fma<A>(hl, simd::fma<A>(af, neg_scale, z), hl);  // hl (1 + e), e = z - s a exactly
    };
    double total = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      prefetch_lines(p + i, 4 * W);
      a0 += term(i);
      a1 += term(i + W);
      a2 += term(i + 2 * W);
      a3 += term(i + 3 * W);
      if (++since == 16) {
        total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
        a0 = a1 = a2 = a3 = F(0.0f);
        since = 0;
      }
    }
    total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
    // exp(-e_max): e_max = m - s a_max, exact in double.
    const double a_max = static_cast<double>(static_cast<std::int32_t>(top ^ q.flip) - q.zero_i);
    return total * std::exp(-(static_cast<double>(m) - static_cast<double>(q.scale_f) * a_max));
  }

  // ---- reductions over a contiguous float span ----------------------------------------------

  // Sum of f(x) over p[0..n) (or a source's n elements): 4 accumulators, flushed into a double
  // every 64 vectors.
  template <class Fn>
  static double span_sum(const float* p, std::size_t n, Fn&& f) noexcept {
    return span_sum(SrcF32{p}, n, f);
  }
  template <class S, class Fn>
  static double span_sum(const S& src, std::size_t n, Fn&& f) noexcept {
    F a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    double total = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      a0 += f(src.load(i));
      a1 += f(src.load(i + W));
      a2 += f(src.load(i + 2 * W));
      a3 += f(src.load(i + 3 * W));
      if (++since == 16) {
        total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
        a0 = a1 = a2 = a3 = F(0.0f);
        since = 0;
      }
    }
    for (; i + W <= n; i += W) a1 += f(src.load(i));
    if (i < n) a2 += tail_mask_zero(f(src.partial(i, n - i, 0.0f)), n - i);
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

  // sum(exp(x - m)): the exp's final product fused into the accumulators; prefetches as the online pass.
  template <class S>
  static double span_expsum(const S& src, std::size_t n, float m) noexcept {
    const F mv(m);
    F a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f), e, scale;
    double total = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      // kPrefetchAhead beyond (rows after this one in a contiguous block): their loads from L3 then
      // overlap this pass's arithmetic instead of stalling the next row's max pass. 4,096 x 1,000
      // fp32 (16 MB): 1.7-2.4x faster (interleaved A/B runs, Zen 5); rows in L2 unchanged or faster.
      src.prefetch(i);
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
};

}  // namespace xent::detail::XENT_KERNEL_NS
