#pragma once
// The thin compat layer over xsimd 8.1, and the only header that includes it: batch aliases,
// bit casts, horizontal max, padded tail loads, and float16/bfloat16 widening per architecture
// (F16C on AVX2/AVX-512, vcvt_f32_f16 on NEON, an exact integer method elsewhere).
// Everything here is a template on the xsimd arch tag, so per-ISA copies never collide (ODR).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>
#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace xent::simd {

template <class A>
using vf = xsimd::batch<float, A>;
template <class A>
using vi = xsimd::batch<std::int32_t, A>;
template <class A>
using vb = xsimd::batch_bool<float, A>;

// Bit casts. On NEON, xsimd 8.1 routes these through a table of function pointers that GCC does
// not always fold, leaving a call per vector in the hot loops: use the intrinsic directly.
template <class A>
inline vi<A> as_int(const vf<A>& x, xsimd::generic) noexcept {
  return xsimd::bitwise_cast<vi<A>>(x);
}
template <class A>
inline vf<A> as_float(const vi<A>& x, xsimd::generic) noexcept {
  return xsimd::bitwise_cast<vf<A>>(x);
}
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
template <class A>
inline vi<A> as_int(const vf<A>& x, xsimd::neon) noexcept {
  return vreinterpretq_s32_f32(x);
}
template <class A>
inline vf<A> as_float(const vi<A>& x, xsimd::neon) noexcept {
  return vreinterpretq_f32_s32(x);
}
#endif
template <class A>
inline vi<A> as_int(const vf<A>& x) noexcept {
  return as_int<A>(x, A{});
}
template <class A>
inline vf<A> as_float(const vi<A>& x) noexcept {
  return as_float<A>(x, A{});
}

// Shifts by a constant. xsimd 8.1 on armv7 shifts NEON lanes through an out-of-line switch over
// every possible count; the immediate forms keep them single instructions.
template <int N, class A>
inline vi<A> shl(const vi<A>& x, xsimd::generic) noexcept {
  return x << N;
}
template <int N, class A>
inline vi<A> sra(const vi<A>& x, xsimd::generic) noexcept {
  return x >> N;
}
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
template <int N, class A>
inline vi<A> shl(const vi<A>& x, xsimd::neon) noexcept {
  return vshlq_n_s32(x, N);
}
template <int N, class A>
inline vi<A> sra(const vi<A>& x, xsimd::neon) noexcept {
  return vshrq_n_s32(x, N);
}
#endif
template <int N, class A>
inline vi<A> shl(const vi<A>& x) noexcept {
  return shl<N, A>(x, A{});
}
template <int N, class A>
inline vi<A> sra(const vi<A>& x) noexcept {
  return sra<N, A>(x, A{});
}

// Horizontal max through memory: once per row, so its cost does not matter; NaN lanes are skipped.
template <class A>
inline float hmax(const vf<A>& x) noexcept {
  alignas(64) float lanes[vf<A>::size];
  x.store_aligned(lanes);
  float m = lanes[0];
  for (std::size_t i = 1; i < vf<A>::size; ++i) m = lanes[i] > m ? lanes[i] : m;
  return m;
}

template <class A>
inline float lane0(const vf<A>& x) noexcept {
  alignas(64) float lanes[vf<A>::size];
  x.store_aligned(lanes);
  return lanes[0];
}

// The first n < size floats of p, the other lanes set to fill; never reads past p + n.
template <class A>
inline vf<A> load_partial(const float* p, std::size_t n, float fill) noexcept {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) {
    const auto k = static_cast<__mmask16>((1u << n) - 1u);
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), k, p);
  }
#endif
  // Element by element, no memcpy: a call there makes GCC spill every live vector around it,
  // which multiplies the callers' stack frames (M1).
  alignas(64) float lanes[vf<A>::size];
  for (std::size_t i = 0; i < vf<A>::size; ++i) lanes[i] = i < n ? p[i] : fill;
  return vf<A>::load_aligned(lanes);
}

template <class A>
inline void store_partial(const vf<A>& x, float* p, std::size_t n) noexcept {
#if defined(__AVX512F__)
  if constexpr (vf<A>::size == 16) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), x);
    return;
  }
#endif
  alignas(64) float lanes[vf<A>::size];
  x.store_aligned(lanes);
  for (std::size_t i = 0; i < vf<A>::size; ++i)
    if (i < n) p[i] = lanes[i];
}

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

}  // namespace xent::simd
