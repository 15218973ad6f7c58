#pragma once
// Short rows as columns (simd.hpp's compat layer): W rows four classes at a time, joined, transposed
// in 128-bit blocks and stored as columns; small in-register lookups; the table log's reduction.
// Part of simd.hpp, which includes it at its end: include simd.hpp, not this file.

namespace xent::simd {

// ---- columns of short rows: W rows, four classes at a time ----------------------------------
// A row's four consecutive floats travel as one 128-bit register (a "quad"); transpose_quads turns
// the W quads of W rows into four vectors, one per class, lane j from row j: on x86 and NEON the
// quads are combined into 128-bit blocks and transposed 4x4 inside each block (8 in-lane shuffles
// for any W, instead of W log2 W for a full W x W transpose).
#if defined(__SSE2__)
template <class A>
using quad = __m128;
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
template <class A>
using quad = float32x4_t;
#else
template <class A>
struct quad {
  float v[4];
};
#endif

template <class A>
inline quad<A> quad_load(const float* p) noexcept {
#if defined(__SSE2__)
  return _mm_loadu_ps(p);
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
  return vld1q_f32(p);
#else
  return quad<A>{{p[0], p[1], p[2], p[3]}};
#endif
}

// A vector whose 128-bit block b is q[b * step] (b < W / 4).
template <class A>
inline vf<A> join_quads(const quad<A>* q, std::size_t step) noexcept {
  [[maybe_unused]] constexpr std::size_t W = vf<A>::size;
  static_cast<void>(step);  // unused with one block
#if defined(__AVX512F__)
  if constexpr (W == 16) {
    const __m512 lo = _mm512_insertf32x4(_mm512_castps128_ps512(q[0]), q[step], 1);
    return _mm512_insertf32x4(_mm512_insertf32x4(lo, q[2 * step], 2), q[3 * step], 3);
  }
#endif
#if defined(__AVX__)
  if constexpr (W == 8) return _mm256_insertf128_ps(_mm256_castps128_ps256(q[0]), q[step], 1);
#endif
#if defined(__SSE2__) || defined(__ARM_NEON) || defined(__ARM_NEON__)
  if constexpr (W == 4) return q[0];
#endif
#if !defined(__SSE2__) && !defined(__ARM_NEON) && !defined(__ARM_NEON__)
  alignas(64) float lanes[W];
  for (std::size_t j = 0; j < W; ++j) lanes[j] = q[(j / 4) * step].v[j % 4];
  return vf<A>::load_aligned(lanes);
#endif
}

// A vector whose 128-bit block b is the four floats at p + b * step (b < W / 4).
template <class A>
inline vf<A> join_rows(const float* p, std::size_t step) noexcept {
  quad<A> q[vf<A>::size / 4];
  for (std::size_t b = 0; b < vf<A>::size / 4; ++b) q[b] = quad_load<A>(p + b * step);
  return join_quads<A>(q, 1);
}

// join_rows of the floats at p and at p + 4: eight floats of each of the W / 4 rows (AVX-512: two
// 256-bit loads per pair of rows and one block shuffle per vector instead of a 128-bit insert each).
template <class A>
inline void join_rows8(const float* p, std::size_t step, vf<A>& lo, vf<A>& hi) noexcept {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) {
    const __m512 a = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(p))),
                                                         _mm256_castps_pd(_mm256_loadu_ps(p + step)), 1));
    const __m512 b = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(p + 2 * step))),
                                                         _mm256_castps_pd(_mm256_loadu_ps(p + 3 * step)), 1));
    lo = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));  // first four floats of each row
    hi = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return;
  }
#endif
  lo = join_rows<A>(p, step);
  hi = join_rows<A>(p + 4, step);
}

// A 4x4 transpose inside every 128-bit block: element e of block b of z[i] goes to element i of
// block b of z[e].
template <class A>
inline void transpose_blocks(vf<A>* z) noexcept {
  [[maybe_unused]] constexpr std::size_t W = vf<A>::size;
#if defined(__SSE2__)
  if constexpr (W == 4) {
    const __m128 t0 = _mm_unpacklo_ps(z[0], z[1]), t1 = _mm_unpackhi_ps(z[0], z[1]);
    const __m128 t2 = _mm_unpacklo_ps(z[2], z[3]), t3 = _mm_unpackhi_ps(z[2], z[3]);
    z[0] = _mm_movelh_ps(t0, t2);
    z[1] = _mm_movehl_ps(t2, t0);
    z[2] = _mm_movelh_ps(t1, t3);
    z[3] = _mm_movehl_ps(t3, t1);
  }
#endif
#if defined(__AVX__)
  if constexpr (W == 8) {
    const __m256 t0 = _mm256_unpacklo_ps(z[0], z[1]), t1 = _mm256_unpackhi_ps(z[0], z[1]);
    const __m256 t2 = _mm256_unpacklo_ps(z[2], z[3]), t3 = _mm256_unpackhi_ps(z[2], z[3]);
    z[0] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    z[1] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
    z[2] = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
    z[3] = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
  }
#endif
#if defined(__AVX512F__)
  if constexpr (W == 16) {
    const __m512 t0 = _mm512_unpacklo_ps(z[0], z[1]), t1 = _mm512_unpackhi_ps(z[0], z[1]);
    const __m512 t2 = _mm512_unpacklo_ps(z[2], z[3]), t3 = _mm512_unpackhi_ps(z[2], z[3]);
    z[0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    z[1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    z[2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
    z[3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  }
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
  static_assert(W == 4, "NEON vectors hold one block");
  const float32x4x2_t a = vtrnq_f32(z[0], z[1]);  // [z0_0 z1_0 z0_2 z1_2], [z0_1 z1_1 z0_3 z1_3]
  const float32x4x2_t b = vtrnq_f32(z[2], z[3]);
  z[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
  z[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
  z[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
  z[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
#endif
#if !defined(__SSE2__) && !defined(__ARM_NEON) && !defined(__ARM_NEON__)
  alignas(64) float in[4][W], out[4][W];
  for (std::size_t i = 0; i < 4; ++i) z[i].store_aligned(in[i]);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < W; ++j) out[j % 4][j - j % 4 + i] = in[i][j];
  for (std::size_t i = 0; i < 4; ++i) z[i] = vf<A>::load_aligned(out[i]);
#endif
}

// out[i] lane j = element i of q[j], for j < W (q holds W quads).
template <class A>
inline void transpose_quads(const quad<A>* q, vf<A>* out) noexcept {
  for (std::size_t i = 0; i < 4; ++i) out[i] = join_quads<A>(q + i, 4);  // block b: row i + 4b
  transpose_blocks<A>(out);
}

// The four floats at p of each of W rows (stride floats apart) into dst, one vector per float:
// dst[i * W + j] = p[j * stride + i]. NEON loads them transposed, one structure load per row into
// lane j of four registers, and stores the four with one or two instructions: 6 in all instead of
// 4 loads, 8 shuffles and 4 stores (counted under qemu: a 10-class tile 129 -> ~40 on aarch64).
// In asm because GCC 12 copies the whole register quadruple around each lane load of the intrinsic.
template <class A>
inline void store_columns(const float* p, std::size_t stride, float* dst) noexcept {
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
  using Quad = float[4];  // the asm's memory operands: four floats read per row, 16 written
  using Block = float[16];
#endif
#if defined(__aarch64__) && (defined(__ARM_NEON) || defined(__ARM_NEON__))
  __asm__("ld4 {v16.s, v17.s, v18.s, v19.s}[0], [%[r0]]\n\t"
          "ld4 {v16.s, v17.s, v18.s, v19.s}[1], [%[r1]]\n\t"
          "ld4 {v16.s, v17.s, v18.s, v19.s}[2], [%[r2]]\n\t"
          "ld4 {v16.s, v17.s, v18.s, v19.s}[3], [%[r3]]\n\t"
          "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[dst]]"
          : "=m"(*reinterpret_cast<Block*>(dst))
          : [r0] "r"(p), [r1] "r"(p + stride), [r2] "r"(p + 2 * stride), [r3] "r"(p + 3 * stride), [dst] "r"(dst),
            "m"(*reinterpret_cast<const Quad*>(p)), "m"(*reinterpret_cast<const Quad*>(p + stride)),
            "m"(*reinterpret_cast<const Quad*>(p + 2 * stride)), "m"(*reinterpret_cast<const Quad*>(p + 3 * stride))
          : "v16", "v17", "v18", "v19");
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
  // Lanes 0 and 1 are the low halves (d16, d18, d20, d22) of q8..q11, lanes 2 and 3 the high ones.
  float* out = dst;
  __asm__("vld4.32 {d16[0], d18[0], d20[0], d22[0]}, [%[r0]]\n\t"
          "vld4.32 {d16[1], d18[1], d20[1], d22[1]}, [%[r1]]\n\t"
          "vld4.32 {d17[0], d19[0], d21[0], d23[0]}, [%[r2]]\n\t"
          "vld4.32 {d17[1], d19[1], d21[1], d23[1]}, [%[r3]]\n\t"
          "vst1.32 {d16, d17, d18, d19}, [%[out]]!\n\t"
          "vst1.32 {d20, d21, d22, d23}, [%[out]]"
          : "=m"(*reinterpret_cast<Block*>(dst)), [out] "+r"(out)
          : [r0] "r"(p), [r1] "r"(p + stride), [r2] "r"(p + 2 * stride), [r3] "r"(p + 3 * stride),
            "m"(*reinterpret_cast<const Quad*>(p)), "m"(*reinterpret_cast<const Quad*>(p + stride)),
            "m"(*reinterpret_cast<const Quad*>(p + 2 * stride)), "m"(*reinterpret_cast<const Quad*>(p + 3 * stride))
          : "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23");
#else
  constexpr std::size_t W = vf<A>::size;
  quad<A> q[W];
#pragma GCC unroll 16
  for (std::size_t j = 0; j < W; ++j) q[j] = quad_load<A>(p + j * stride);
  vf<A> col[4];
  transpose_quads<A>(q, col);
#pragma GCC unroll 4
  for (std::size_t i = 0; i < 4; ++i) col[i].store_aligned(dst + i * W);
#endif
}

// Element E of every 128-bit block of v, repeated over its block.
template <int E, class A>
inline vf<A> block_broadcast(const vf<A>& v) noexcept {
  [[maybe_unused]] constexpr std::size_t W = vf<A>::size;
#if defined(__SSE2__)
  if constexpr (W == 4) return _mm_shuffle_ps(v, v, E * 0x55);
#endif
#if defined(__AVX__)
  if constexpr (W == 8) return _mm256_permute_ps(v, E * 0x55);
#endif
#if defined(__AVX512F__)
  if constexpr (W == 16) return _mm512_permute_ps(v, E * 0x55);
#endif
#if defined(__aarch64__) && (defined(__ARM_NEON) || defined(__ARM_NEON__))
  return vdupq_laneq_f32(v, E);
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
  return vdupq_lane_f32(E < 2 ? vget_low_f32(v) : vget_high_f32(v), E & 1);
#endif
#if !defined(__SSE2__) && !defined(__ARM_NEON) && !defined(__ARM_NEON__)
  alignas(64) float lanes[W];
  v.store_aligned(lanes);
  for (std::size_t j = 0; j < W; ++j) lanes[j] = lanes[j - j % 4 + E];
  return vf<A>::load_aligned(lanes);
#endif
}

// A table in one register, indexed by the low bits of each lane (vpermd): 16 int32 entries on
// AVX-512, 8 on AVX2. lookup_size<A>() is 0 where no single instruction does it (SSE2, NEON,
// generic); callers then take another path and never call lookup. The table is 64-byte aligned.
template <class A>
constexpr std::size_t lookup_size() noexcept {
#if defined(__AVX512F__)
  if (vi<A>::size == 16) return 16;
#endif
#if defined(__AVX2__)
  if (vi<A>::size == 8) return 8;
#endif
  return 0;
}
template <class A>
inline vi<A> lookup(const vi<A>& idx, const std::int32_t* table) noexcept {
  static_assert(lookup_size<A>() != 0, "no register lookup on this architecture");
#if defined(__AVX512F__)
  if constexpr (vi<A>::size == 16) return _mm512_permutexvar_epi32(idx, _mm512_load_si512(table));
#endif
#if defined(__AVX2__)
  if constexpr (vi<A>::size == 8) {
    return _mm256_permutevar8x32_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(table)), idx);
  }
#endif
  (void)table;  // unused where no branch above is compiled (clang warns even without an instantiation)
  return idx;   // unreachable (the assertion above)
}

// ---- the table log's reduction and lookups (AVX-512 only) -----------------------------------
// Where vgetmantps/vgetexpps and a two-register permute exist, the log reads a 32-entry table;
// elsewhere it keeps its polynomial (AVX2 would need 4 permutes and blends per lookup and the
// exponent by hand: no fewer operations than the polynomial).
template <class A>
constexpr bool kHasLogLookup =
#if defined(__AVX512F__)
    vf<A>::size == 16;
#else
    false;
#endif

// Declared everywhere (the kernels name them in an `if constexpr (kHasLogLookup<A>)` branch), defined
// for AVX-512 only.
template <class A>
void log_lookup_split(const vf<A>& x, vf<A>& z, vf<A>& e) noexcept;
template <class A>
vf<A> log_lookup32(const vi<A>& idx, const vf<A>& lo, const vf<A>& hi) noexcept;
template <class A>
vf<A> log_lookup_fixup(const vf<A>& y, const vf<A>& x) noexcept;
#if defined(__AVX512F__)
// x = 2^e m, m in [1, 2): e = floor(log2 x) as a float, and z = m or m / 2, in [3/4, 3/2). Both
// exact for every positive x, subnormals included (unless DAZ is set: then they are zeros).
template <class A>
inline void log_lookup_split(const vf<A>& x, vf<A>& z, vf<A>& e) noexcept {
  z = _mm512_getmant_ps(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
  e = _mm512_getexp_ps(x);
}

// Entry (idx mod 32) of the 32 floats lo (entries 0..15) and hi (16..31); bits 5..31 of idx are ignored.
template <class A>
inline vf<A> log_lookup32(const vi<A>& idx, const vf<A>& lo, const vf<A>& hi) noexcept {
  return _mm512_permutex2var_ps(lo, idx, hi);
}

// y where x is positive (normal or subnormal: vgetmantps/vgetexpps take both), else log's special
// value by x's class (vfixupimmps, one instruction): +-0 -> -inf, negative or -inf -> NaN,
// +inf -> +inf, NaN -> x quieted. The response nibbles, class 7 (positive) down to 0 (QNaN):
// keep, NaN, +inf, NaN, -inf, keep (+1), quiet x, quiet x.
template <class A>
inline vf<A> log_lookup_fixup(const vf<A>& y, const vf<A>& x) noexcept {
  return _mm512_fixupimm_ps(y, x, _mm512_set1_epi32(0x03530422), 0);
}
#endif

}  // namespace xent::simd
