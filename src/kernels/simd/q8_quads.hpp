// Short quantized rows (4 <= K <= 16 classes, row stride <= 16 bytes) on AVX-512 with VBMI and VNNI:
// 16 rows at a time as "byte quads", one 64-byte register per four classes of the 16 rows, summed in
// the integer domain by byte dot products (vpdpbusd) instead of widened, converted and dequantized
// element by element. Sparse probabilities are done here whole (sparse_probs_q8); categorical
// probabilities take their row totals here (group_totals), and for groups of one-hot truth each
// row's predicted byte at its 1 (onehot_pick); their logs are in categorical_rows.hpp (categorical_q8).
// Every other ISA or CPU keeps the QuadRowsQ8 path (avx512_vnni_allowed() at run time).
// Part of the Kernels<A> chain assembled by kernels/simd_kernels.hpp (one copy per ISA namespace).
#pragma once

#include "kernels/simd/rows.hpp"

namespace xent::detail::XENT_KERNEL_NS {

template <class A>
struct Q8Quads : RowAccess<A> {
  using typename RowAccess<A>::F;
  using typename RowAccess<A>::Quant;
  using RowAccess<A>::W;
  using RowAccess<A>::quantized;
  using RowAccess<A>::log_any;

  // Whether the byte quads take this block (quantized, contiguous classes, 4 <= K <= 16, stride <= 16).
  static bool byte_quads([[maybe_unused]] const Rows& pred) noexcept {
#if XENT_Q8_BYTE_TABLE
    if constexpr (W == 16) {
      return quantized(pred.type) && pred.class_stride == 1 && pred.classes >= 4 && pred.classes <= 16 &&
             pred.row_stride <= 16 && avx512_vnni_allowed();
    }
#endif
    return false;
  }

  // Smallest u in [0, 256] (u = byte ^ flip) whose dequantized value is >= thr (> thr if strict);
  // 256: none. The dequantization is non-decreasing in u (scale > 0), so a walk from the guess
  // thr / scale ends after a step or two.
  static std::int32_t first_u(const Quant& q, float thr, bool strict) noexcept {
    const auto ok = [&](std::int32_t u) {
      const float v = dequantize(u, q.zero_i, q.scale_f);
      return strict ? v > thr : v >= thr;
    };
    double t = static_cast<double>(q.zero_i) + static_cast<double>(thr) / static_cast<double>(q.scale_f);
    t = t < 0.0 ? 0.0 : (t > 256.0 ? 256.0 : std::ceil(t));
    auto u = static_cast<std::int32_t>(t);
    while (u > 0 && ok(u - 1)) --u;
    while (u < 256 && !ok(u)) ++u;
    return u;
  }

#if XENT_Q8_BYTE_TABLE
  // ---- byte quads ------------------------------------------------------------------------------
  // Quad q of a group (c = 4q, the last one at K - 4 as for_quads) is one register whose dword at
  // position 4L + d holds classes c .. c + 3 of one row: row 4L + d (kNatural: dword order = row
  // order, the sparse sums need no transpose), or row 4d + L (lane L widened by vpmovzxbd is
  // QuadRowsQ8's vector L: block b holds row 4b + L, as the float32 truth's QuadRows). Rows 0-7 are
  // permuted (vpermt2b) out of a 128-byte window at the group's start, rows 8-15 with the same
  // index out of one at 8 * stride, and the two blended. No byte past the block is read (masked
  // loads near its end: missing rows read zeros and are dropped).
  template <std::size_t N>  // N: the number of quads, or 4 for any (nq of them used)
  struct QuadSetup {
    __m512i idx[N];   // permute index of each quad
    __m512i cls[N];   // each byte's class (0xff: a last quad's byte read already)
    __mmask64 fresh;  // the last quad's bytes not read already
    std::size_t nq;
  };

  // The permute index of the quad at class 0 (add c for the quad at c): byte 16 L + 4 d + j is
  // (its row within the window) * stride + j, the row 4 (L % 2) + d (kNatural) or 4 (d % 2) + L.
  // In registers (the metrics call per block of 16-64 rows: no scalar loop per call).
  template <bool kNatural>
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static __m512i quad_index(std::size_t stride) noexcept {
    const __m512i jv = _mm512_set1_epi32(0x03020100);
    const __m512i rows = kNatural ? _mm512_set_epi32(0x07070707, 0x06060606, 0x05050505, 0x04040404, 0x03030303, 0x02020202,
                                                     0x01010101, 0, 0x07070707, 0x06060606, 0x05050505, 0x04040404,
                                                     0x03030303, 0x02020202, 0x01010101, 0)
                                  : _mm512_set_epi32(0x07070707, 0x03030303, 0x07070707, 0x03030303, 0x06060606, 0x02020202,
                                                     0x06060606, 0x02020202, 0x05050505, 0x01010101, 0x05050505, 0x01010101,
                                                     0x04040404, 0, 0x04040404, 0);
    // row * stride <= 112: a 16-bit product per byte pair leaves each byte its own
    return _mm512_add_epi8(_mm512_mullo_epi16(rows, _mm512_set1_epi16(static_cast<short>(stride))), jv);
  }

  // Per call: each quad's index and classes, and the last quad's bytes not read already.
  template <bool kNatural, std::size_t N>
  [[gnu::always_inline, gnu::target("avx512vbmi,avx512vnni")]] static void quad_setup(std::size_t k_n, std::size_t stride,
                                                                                     QuadSetup<N>& st) noexcept {
    st.nq = N < 4 ? N : (k_n + 3) / 4;  // N < 4: the caller dispatched on it
    const __m512i jv = _mm512_set1_epi32(0x03020100);
    const __m512i base = quad_index<kNatural>(stride);
    st.fresh = _mm512_cmpge_epu8_mask(jv, _mm512_set1_epi8(static_cast<char>(4 * st.nq - k_n)));  // bytes j < 4 nq - K: read
#pragma GCC unroll 4
    for (std::size_t q = 0; q < N; ++q) {
      const __m512i c = _mm512_set1_epi8(static_cast<char>(q + 1 < st.nq ? 4 * q : k_n - 4));
      st.idx[q] = _mm512_add_epi8(base, c);
      st.cls[q] = _mm512_add_epi8(jv, c);
      if (q + 1 == st.nq) st.cls[q] = _mm512_mask_mov_epi8(_mm512_set1_epi8(-1), st.fresh, st.cls[q]);
    }
  }

  // The four 64-byte loads of the group at byte offset g (of `bytes` in the block), XORed with flip
  // (int8 -> u = q + 128: one unsigned arithmetic for both types; zero keeps the raw bytes).
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static void load_group(const std::uint8_t* base, std::size_t g,
                                                                                     std::size_t stride, std::size_t bytes,
                                                                                     __m512i flip, __m512i (&w)[4]) noexcept {
    const std::size_t h = g + 8 * stride;
    if (h + 128 <= bytes) {
      w[0] = _mm512_loadu_si512(base + g);
      w[1] = _mm512_loadu_si512(base + g + 64);
      w[2] = _mm512_loadu_si512(base + h);
      w[3] = _mm512_loadu_si512(base + h + 64);
    } else {
      const std::size_t at[4] = {g, g + 64, h, h + 64};
      for (std::size_t i = 0; i < 4; ++i) {
        const std::size_t n = at[i] >= bytes ? 0 : bytes - at[i];
        const __mmask64 m = n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
        w[i] = _mm512_maskz_loadu_epi8(m, n == 0 ? base : base + at[i]);
      }
    }
    for (std::size_t i = 0; i < 4; ++i) w[i] = _mm512_xor_si512(w[i], flip);
  }

  template <bool kNatural>
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static __m512i quad(const __m512i (&w)[4], const __m512i& idx) noexcept {
    const __m512i a = _mm512_permutex2var_epi8(w[0], idx, w[1]), b = _mm512_permutex2var_epi8(w[2], idx, w[3]);
    return kNatural ? _mm512_mask_blend_epi64(0xf0, a, b) : _mm512_mask_blend_epi32(0xcccc, a, b);
  }

  // ---- sparse probabilities, no smoothing ------------------------------------------------------
  // clip(p) is p, eps below u_lo and 1 - eps from u_hi on (the thresholds found once per call, exact:
  // first_u). Per row S = s * sum_mid (u - z) + n_lo eps + n_hi (1 - eps): the sum of the mid bytes
  // and the counts (n_lo + 32 n_hi in one byte code, K <= 16) exact in int32 by vpdpbusd; the label's
  // byte picked by a byte compare with the classes and summed out the same way, p_label = clip(s (u
  // - z)) as the semantics dequantize. S is rounded three times (two FMAs and n_hi (1 - eps)) where
  // the float32 path rounds each dequantized value and each addition: |S - S64| <= 4 * 2^-24 S64
  // with S64 the float64 sum of the clipped dequantized values (each within 2^-24 relative of s (u -
  // z)), so log S is within 2.4e-7 absolute of its float64 value, inside SEMANTICS.md's 1e-6.
  // Integer sums are exact, so a row's loss depends on its bytes only (not on the group: chunking).
  static void sparse_probs_q8(const Rows& pred, const std::int32_t* labels, float* loss) noexcept {
    const Quant q(pred);
    const std::int32_t u_lo = first_u(q, kEps, false), u_hi = first_u(q, kOneMinusEps, true);
    const auto run = [&](auto nq) {  // the quads' count known at compile time: all in registers (stack: M1)
      if (u_hi <= 255) {
        sparse_probs_q8<decltype(nq)::value, true>(pred, labels, loss, u_lo, u_hi);
      } else {
        sparse_probs_q8<decltype(nq)::value, false>(pred, labels, loss, u_lo, u_hi);
      }
    };
    switch ((pred.classes + 3) / 4) {
      case 1: return run(std::integral_constant<std::size_t, 1>{});
      case 2: return run(std::integral_constant<std::size_t, 2>{});
      case 3: return run(std::integral_constant<std::size_t, 3>{});
      default: return run(std::integral_constant<std::size_t, 4>{});
    }
  }

  template <std::size_t NQ, bool kHi>
  [[gnu::noinline, gnu::target("avx512vbmi,avx512vnni")]] static void sparse_probs_q8(const Rows& pred, const std::int32_t* labels,
                                                                                     float* loss, std::int32_t u_lo,
                                                                                     std::int32_t u_hi) noexcept {
    const Quant q(pred);
    const std::size_t k_n = pred.classes, stride = pred.row_stride;
    const auto* base = static_cast<const std::uint8_t*>(pred.data);
    const std::size_t bytes = (pred.rows - 1) * stride + k_n;
    QuadSetup<NQ> st;
    quad_setup<true>(k_n, stride, st);
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(q.flip)), ones = _mm512_set1_epi8(1), hi_code = _mm512_set1_epi8(32);
    const __m512i vlo = _mm512_set1_epi8(static_cast<char>(u_lo > 255 ? 255 : u_lo));
    const __m512i vhi = _mm512_set1_epi8(static_cast<char>(u_hi > 255 ? 255 : u_hi));
    const __mmask64 lo_all = u_lo > 255 ? ~__mmask64{0} : 0;  // every byte below eps
    const __m512i byte0 = _mm512_set4_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0x00000000);  // byte 0 of each dword
    const __m512i zero_k = _mm512_set1_epi32(q.zero_i), kv = _mm512_set1_epi32(static_cast<std::int32_t>(k_n));
    const __m512 scale = _mm512_set1_ps(q.scale_f), zero_f = _mm512_set1_ps(static_cast<float>(q.zero_i));
    const __m512 eps = _mm512_set1_ps(kEps), one_eps = _mm512_set1_ps(kOneMinusEps);
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      __m512i w[4];
      load_group(base, r0 * stride, stride, bytes, flip, w);
      const __m512i lab = count == W ? _mm512_loadu_si512(labels + r0)
                                     : _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), static_cast<__mmask16>((1u << count) - 1),
                                                               labels + r0);
      const __m512i lb = _mm512_shuffle_epi8(lab, byte0);
      __m512i sum = _mm512_setzero_si512(), cnt = sum, picked = sum;
#pragma GCC unroll 4
      for (std::size_t i = 0; i < NQ; ++i) {
        const __m512i p = quad<true>(w, st.idx[i]);
        const __mmask64 fresh = i + 1 == NQ ? st.fresh : ~__mmask64{0};
        const __mmask64 lo = (_mm512_cmplt_epu8_mask(p, vlo) | lo_all) & fresh;
        __mmask64 mid = fresh & ~lo;
        __m512i code = _mm512_maskz_mov_epi8(lo, ones);
        if constexpr (kHi) {
          const __mmask64 hi = _mm512_cmpge_epu8_mask(p, vhi) & fresh;
          mid &= ~hi;
          code = _mm512_mask_mov_epi8(code, hi, hi_code);
        }
        sum = _mm512_dpbusd_epi32(sum, _mm512_maskz_mov_epi8(mid, p), ones);
        cnt = _mm512_dpbusd_epi32(cnt, code, ones);
        picked = _mm512_mask_mov_epi8(picked, _mm512_cmpeq_epi8_mask(st.cls[i], lb), p);
      }
      const __m512i n_lo = _mm512_and_si512(cnt, _mm512_set1_epi32(31)), n_hi = _mm512_srli_epi32(cnt, 5);
      const __m512i n_mid = _mm512_sub_epi32(_mm512_sub_epi32(kv, n_lo), n_hi);
      const __m512i a_sum = _mm512_sub_epi32(sum, _mm512_mullo_epi32(n_mid, zero_k));
      const __m512 s_row = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a_sum), scale,
                                           _mm512_fmadd_ps(_mm512_cvtepi32_ps(n_lo), eps,
                                                           _mm512_mul_ps(_mm512_cvtepi32_ps(n_hi), one_eps)));
      const __m512 u_label = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), picked, ones));
      const F p_label = simd::rounded<A>(F(_mm512_mul_ps(_mm512_sub_ps(u_label, zero_f), scale)));  // exact: u - z < 2^24
      const __mmask16 ignored = _mm512_cmplt_epi32_mask(lab, _mm512_setzero_si512());
      const F pl = _mm512_mask_mov_ps(__m512(RowAccess<A>::clip(p_label)), ignored, _mm512_set1_ps(1.0f));
      const F out = _mm512_maskz_mov_ps(static_cast<__mmask16>(~ignored), __m512(log_any(F(s_row)) - log_any(pl)));
      RowAccess<A>::store_rows(out, loss + r0, count);
    }
  }

  // ---- categorical probabilities: the rows' totals ---------------------------------------------
  // The group at r0 as byte quads stored to buf (quad q at buf + 64 q, kNatural false: read back
  // by QuadBytes) and its rows' totals S = s * sum (u - z), natural row order, exact but for the one
  // rounding of the product (the float32 path: each value and each addition rounded).
  [[gnu::always_inline, gnu::target("avx512vbmi,avx512vnni")]] static F group_totals(const Rows& pred, std::size_t r0,
                                                                                    const QuadSetup<4>& st, std::uint8_t* buf) noexcept {
    const Quant q(pred);
    const std::size_t k_n = pred.classes, stride = pred.row_stride;
    __m512i w[4];
    load_group(static_cast<const std::uint8_t*>(pred.data), r0 * stride, stride, (pred.rows - 1) * stride + k_n,
               _mm512_set1_epi8(static_cast<char>(q.flip)), w);
    __m512i sum = _mm512_setzero_si512();
    for (std::size_t i = 0; i < st.nq; ++i) {
      const __m512i p = quad<false>(w, st.idx[i]);
      _mm512_store_si512(buf + 64 * i, p);
      sum = _mm512_dpbusd_epi32(sum, i + 1 == st.nq ? _mm512_maskz_mov_epi8(st.fresh, p) : p, _mm512_set1_epi8(1));
    }
    const __m512i a = _mm512_sub_epi32(sum, _mm512_set1_epi32(q.zero_i * static_cast<std::int32_t>(k_n)));
    // dword 4 L + d holds row 4 d + L: row r from dword 4 (r % 4) + r / 4
    const __m512i to_rows = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(to_rows, _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(q.scale_f)));
  }

  // One-hot truth (contiguous float32 rows of K, the group's `count` rows at t): when every value is
  // 0 or 1 and each row has a single 1, u_label gets each row's byte (u) at its 1 (natural order)
  // from the quads group_totals stored in buf, and it returns true. Its truth bytes (0 / 1 packed
  // into tbuf, 16 K bytes at most) take the same permutes as the predictions', the last quad's bytes
  // read already masked out, and the pick is summed out by vpdpbusd, as the sparse labels'.
  [[gnu::always_inline, gnu::target("avx512vbmi,avx512vnni")]] static bool onehot_pick(const float* t, std::size_t count,
                                                                                      std::size_t k_n, const QuadSetup<4>& st,
                                                                                      const std::uint8_t* buf, std::uint8_t* tbuf,
                                                                                      __m512i& u_label) noexcept {
    const std::size_t n = count * k_n;
    __mmask16 other = 0;  // lanes neither 0 nor 1
    for (std::size_t i = 0; i < n; i += 16) {
      const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(m, t + i);
      other |= static_cast<__mmask16>(m & ~(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_EQ_OQ) |
                                            _mm512_cmp_ps_mask(v, _mm512_set1_ps(1.0f), _CMP_EQ_OQ)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(tbuf + i), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v)));
    }
    if (other != 0) return false;
    __m512i w[4];
    load_group(tbuf, 0, k_n, n, _mm512_setzero_si512(), w);
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i picked = _mm512_setzero_si512(), cnt = picked;
    for (std::size_t i = 0; i < st.nq; ++i) {
      const __m512i tq = quad<false>(w, st.idx[i]);
      const __mmask64 hit = _mm512_test_epi8_mask(tq, tq) & (i + 1 == st.nq ? st.fresh : ~__mmask64{0});
      picked = _mm512_mask_mov_epi8(picked, hit, _mm512_load_si512(buf + 64 * i));
      cnt = _mm512_dpbusd_epi32(cnt, _mm512_maskz_mov_epi8(hit, ones), ones);
    }
    const __m512i to_rows = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __mmask16 real = count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1);
    const __mmask16 single = _mm512_cmpeq_epi32_mask(_mm512_permutexvar_epi32(to_rows, cnt), _mm512_set1_epi32(1));
    if ((single & real) != real) return false;
    u_label = _mm512_permutexvar_epi32(to_rows, _mm512_dpbusd_epi32(_mm512_setzero_si512(), picked, ones));
    return true;
  }
#endif

  // Quads stored by group_totals, read as QuadRowsQ8 would read them: vector i's block b holds
  // classes c .. c + 3 of row 4b + i, dequantized (the same values: exact semantics).
  struct QuadBytes {
    const std::uint8_t* buf;
    Quant q;
    F vec(std::size_t c, std::size_t i) const noexcept { return q.apply(simd::widen_u8<A>(buf + 64 * ((c + 3) / 4) + 16 * i, 0)); }
  };
};

}  // namespace xent::detail::XENT_KERNEL_NS
