#pragma once
// Widening loads of the compat layer (simd.hpp): float16/bfloat16 halves to floats per
// architecture, and the bytes of quantized predictions (xor flip, zero-extended; rows joined;
// the byte max).
// Part of simd.hpp, which includes it at its end: include simd.hpp, not this file.

namespace xent::simd {

// ---- 16-bit widening: `size` halves at p (unaligned) to floats -----------------------------

// Zero-extended 16-bit lanes as int32.
template <class A>
inline vi<A> load_u16(const std::uint16_t* p, xsimd::generic) noexcept {
  alignas(64) std::int32_t lanes[vi<A>::size];
  for (std::size_t i = 0; i < vi<A>::size; ++i) lanes[i] = p[i];
  return vi<A>::load_aligned(lanes);
}
#if defined(__SSE2__)
template <class A>
inline vi<A> load_u16(const std::uint16_t* p, xsimd::sse2) noexcept {
  const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm_unpacklo_epi16(h, _mm_setzero_si128());
}
#endif
#if defined(__AVX2__)
template <class A>
inline vi<A> load_u16(const std::uint16_t* p, xsimd::avx) noexcept {
  return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#endif
#if defined(__AVX512F__)
template <class A>
inline vi<A> load_u16(const std::uint16_t* p, xsimd::avx512f) noexcept {
  return _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
template <class A>
inline vi<A> load_u16(const std::uint16_t* p, xsimd::neon) noexcept {
  return vreinterpretq_s32_u32(vmovl_u16(vld1_u16(p)));
}
#endif

// Exact float16 -> float32 with integer operations only: normals and inf/NaN by moving the
// fields, subnormals as (integer mantissa) * 2^-24, so no float32 subnormal is ever formed and
// flush-to-zero modes cannot change the result.
template <class A>
inline vf<A> widen_f16(const std::uint16_t* p, xsimd::generic) noexcept {
  const vi<A> h = load_u16<A>(p, A{});
  const vi<A> magnitude = h & vi<A>(0x7fff);
  const vi<A> sign = shl<16, A>(h & vi<A>(0x8000));
  const vi<A> normal = shl<13, A>(magnitude) + vi<A>(112 << 23);
  const vi<A> special = shl<13, A>(magnitude) | vi<A>(0x7f800000);
  const vi<A> subnormal = as_int<A>(xsimd::to_float(magnitude) * vf<A>(0x1p-24f));
  const vi<A> v = xsimd::select(magnitude < vi<A>(0x400), subnormal,
                                xsimd::select(magnitude >= vi<A>(0x7c00), special, normal));
  return as_float<A>(v | sign);
}
#if defined(__F16C__)
template <class A>
inline vf<A> widen_f16(const std::uint16_t* p, xsimd::avx) noexcept {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#endif
#if defined(__AVX512F__)
template <class A>
inline vf<A> widen_f16(const std::uint16_t* p, xsimd::avx512f) noexcept {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#endif
#if (defined(__ARM_NEON) || defined(__ARM_NEON__)) && (defined(__aarch64__) || defined(__ARM_FP16_FORMAT_IEEE))
template <class A>
inline vf<A> widen_f16(const std::uint16_t* p, xsimd::neon) noexcept {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
#endif

template <class A>
inline vf<A> widen_f16(const std::uint16_t* p) noexcept {
  return widen_f16<A>(p, A{});
}

template <class A>
inline vf<A> widen_bf16(const std::uint16_t* p) noexcept {
  return as_float<A>(shl<16, A>(load_u16<A>(p, A{})));
}

// ---- 8-bit widening (quantized predictions): bytes xor flip, zero-extended to int32 ------------
// The xor maps int8 onto uint8 in order (q ^ 0x80 = q + 128, flip 0x80; uint8: flip 0), so one
// zero-extending path serves both types.

// `size` bytes at p.
template <class A>
inline vi<A> widen_u8(const std::uint8_t* p, std::uint8_t flip, xsimd::generic) noexcept {
  alignas(64) std::int32_t lanes[vi<A>::size];
  for (std::size_t i = 0; i < vi<A>::size; ++i) lanes[i] = p[i] ^ flip;
  return vi<A>::load_aligned(lanes);
}
#if defined(__SSE2__)
template <class A>
inline vi<A> widen_u8(const std::uint8_t* p, std::uint8_t flip, xsimd::sse2) noexcept {
  std::int32_t w;
  std::memcpy(&w, p, sizeof w);
  const __m128i b = _mm_xor_si128(_mm_cvtsi32_si128(w), _mm_set1_epi8(static_cast<char>(flip)));
  const __m128i zero = _mm_setzero_si128();
  return _mm_unpacklo_epi16(_mm_unpacklo_epi8(b, zero), zero);
}
#endif
#if defined(__AVX2__)
template <class A>
inline vi<A> widen_u8(const std::uint8_t* p, std::uint8_t flip, xsimd::avx) noexcept {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm256_cvtepu8_epi32(_mm_xor_si128(b, _mm_set1_epi8(static_cast<char>(flip))));
}
#endif
#if defined(__AVX512F__)
template <class A>
inline vi<A> widen_u8(const std::uint8_t* p, std::uint8_t flip, xsimd::avx512f) noexcept {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm512_cvtepu8_epi32(_mm_xor_si128(b, _mm_set1_epi8(static_cast<char>(flip))));
}
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
template <class A>
inline vi<A> widen_u8(const std::uint8_t* p, std::uint8_t flip, xsimd::neon) noexcept {
  std::uint32_t w;
  std::memcpy(&w, p, sizeof w);  // four bytes: a full 8-byte load could leave the buffer
  const uint8x8_t b = veor_u8(vreinterpret_u8_u32(vdup_n_u32(w)), vdup_n_u8(flip));
  return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(b))));
}
#endif
template <class A>
inline vi<A> widen_u8(const std::uint8_t* p, std::uint8_t flip) noexcept {
  return widen_u8<A>(p, flip, A{});
}

// A vector whose 128-bit block b holds the four bytes at p + b * step (b < size / 4), widened.
template <class A>
inline vi<A> join_rows_u8(const std::uint8_t* p, std::size_t step, std::uint8_t flip, xsimd::generic) noexcept {
  alignas(64) std::int32_t lanes[vi<A>::size];
  for (std::size_t i = 0; i < vi<A>::size; ++i) lanes[i] = p[(i / 4) * step + i % 4] ^ flip;
  return vi<A>::load_aligned(lanes);
}
#if defined(__SSE2__)
template <class A>
inline vi<A> join_rows_u8(const std::uint8_t* p, std::size_t, std::uint8_t flip, xsimd::sse2) noexcept {
  return widen_u8<A>(p, flip, xsimd::sse2{});  // one block
}
#endif
#if defined(__AVX2__)
template <class A>
inline vi<A> join_rows_u8(const std::uint8_t* p, std::size_t step, std::uint8_t flip, xsimd::avx) noexcept {
  std::int32_t w[2];
  for (std::size_t b = 0; b < 2; ++b) std::memcpy(&w[b], p + b * step, sizeof w[b]);
  const __m128i v = _mm_set_epi32(0, 0, w[1], w[0]);
  return _mm256_cvtepu8_epi32(_mm_xor_si128(v, _mm_set1_epi8(static_cast<char>(flip))));
}
#endif
#if defined(__AVX512F__)
template <class A>
inline vi<A> join_rows_u8(const std::uint8_t* p, std::size_t step, std::uint8_t flip, xsimd::avx512f) noexcept {
  std::int32_t w[4];
  for (std::size_t b = 0; b < 4; ++b) std::memcpy(&w[b], p + b * step, sizeof w[b]);
  const __m128i v = _mm_set_epi32(w[3], w[2], w[1], w[0]);
  return _mm512_cvtepu8_epi32(_mm_xor_si128(v, _mm_set1_epi8(static_cast<char>(flip))));
}
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
template <class A>
inline vi<A> join_rows_u8(const std::uint8_t* p, std::size_t, std::uint8_t flip, xsimd::neon) noexcept {
  return widen_u8<A>(p, flip, xsimd::neon{});  // one block
}
#endif
template <class A>
inline vi<A> join_rows_u8(const std::uint8_t* p, std::size_t step, std::uint8_t flip) noexcept {
  return join_rows_u8<A>(p, step, flip, A{});
}

// The largest p[i] ^ flip over n >= 1 bytes, a register of bytes at a time.
template <class A>
inline std::uint8_t max_u8(const std::uint8_t* p, std::size_t n, std::uint8_t flip, xsimd::generic) noexcept {
  unsigned m = 0;
  for (std::size_t i = 0; i < n; ++i) m = (p[i] ^ flip) > m ? (p[i] ^ flip) : m;
  return static_cast<std::uint8_t>(m);
}
// Register-wide maxima (R bytes), then the scalar loop over the register and the tail.
template <std::size_t R, class V, class Load, class Max, class Xor>
inline std::uint8_t max_u8_blocks(const std::uint8_t* p, std::size_t n, std::uint8_t flip, V fl, Load load, Max max,
                                  Xor x) noexcept {
  std::size_t i = 0;
  unsigned m = 0;
  if (n >= R) {
    V acc = x(load(p), fl);
    for (i = R; i + R <= n; i += R) acc = max(acc, x(load(p + i), fl));
    alignas(64) std::uint8_t lanes[R];
    std::memcpy(lanes, &acc, R);
    for (std::size_t j = 0; j < R; ++j) m = lanes[j] > m ? lanes[j] : m;
  }
  for (; i < n; ++i) m = (p[i] ^ flip) > m ? (p[i] ^ flip) : m;
  return static_cast<std::uint8_t>(m);
}
#if defined(__SSE2__)
template <class A>
inline std::uint8_t max_u8(const std::uint8_t* p, std::size_t n, std::uint8_t flip, xsimd::sse2) noexcept {
  return max_u8_blocks<16>(
      p, n, flip, _mm_set1_epi8(static_cast<char>(flip)),
      [](const std::uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); },
      [](__m128i a, __m128i b) { return _mm_max_epu8(a, b); }, [](__m128i a, __m128i b) { return _mm_xor_si128(a, b); });
}
#endif
#if defined(__AVX2__)
template <class A>
inline std::uint8_t max_u8(const std::uint8_t* p, std::size_t n, std::uint8_t flip, xsimd::avx) noexcept {
  return max_u8_blocks<32>(
      p, n, flip, _mm256_set1_epi8(static_cast<char>(flip)),
      [](const std::uint8_t* q) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)); },
      [](__m256i a, __m256i b) { return _mm256_max_epu8(a, b); },
      [](__m256i a, __m256i b) { return _mm256_xor_si256(a, b); });
}
#endif
#if defined(__AVX512BW__)
template <class A>
inline std::uint8_t max_u8(const std::uint8_t* p, std::size_t n, std::uint8_t flip, xsimd::avx512bw) noexcept {
  return max_u8_blocks<64>(
      p, n, flip, _mm512_set1_epi8(static_cast<char>(flip)),
      [](const std::uint8_t* q) { return _mm512_loadu_si512(q); }, [](__m512i a, __m512i b) { return _mm512_max_epu8(a, b); },
      [](__m512i a, __m512i b) { return _mm512_xor_si512(a, b); });
}
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
template <class A>
inline std::uint8_t max_u8(const std::uint8_t* p, std::size_t n, std::uint8_t flip, xsimd::neon) noexcept {
  return max_u8_blocks<16>(
      p, n, flip, vdupq_n_u8(flip), [](const std::uint8_t* q) { return vld1q_u8(q); },
      [](uint8x16_t a, uint8x16_t b) { return vmaxq_u8(a, b); }, [](uint8x16_t a, uint8x16_t b) { return veorq_u8(a, b); });
}
#endif
template <class A>
inline std::uint8_t max_u8(const std::uint8_t* p, std::size_t n, std::uint8_t flip) noexcept {
  return max_u8<A>(p, n, flip, A{});
}

// a / b, correctly rounded. xsimd 8.1 divides float batches on AArch64 as on armv7, by a reciprocal
// estimate and two Newton steps: not IEEE division, and a subnormal divisor gives -inf (a huge one
// 0). AArch64 has a true vector divide; armv7 has none (and flushes subnormals anyway: README).
template <class A>
inline vf<A> div(const vf<A>& a, const vf<A>& b) noexcept {
#if defined(__aarch64__)
  if constexpr (vf<A>::size == 4) return vf<A>(vdivq_f32(a, b));
#endif
  return a / b;
}

// v as computed, opaque to the optimizer: GCC contracts a * b + c into one fused operation across
// statements, which would skip the rounding of a dequantized value (scale * (q - zp)) before it is
// used; the values must be the float32 products, rounded once, as TFLite's.
template <class A>
inline vf<A> rounded(const vf<A>& v) noexcept {
  typename vf<A>::register_type r = v;
#if defined(__SSE2__)
  __asm__("" : "+v"(r));
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
  __asm__("" : "+w"(r));
#endif
  return r;
}

}  // namespace xent::simd
