#pragma once
// The thin compat layer over xsimd 8.1, and the only header that includes it: batch aliases,
// bit casts, shifts, fma, horizontal max, padded tail loads here; at the end, by concern, the
// widening loads (widen.hpp: float16/bfloat16 per architecture, the bytes of quantized predictions)
// and short rows as columns with small lookups (columns.hpp).
// Everything here is a template on the xsimd arch tag, so per-ISA copies never collide (ODR).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>
#if defined(__F16C__) || defined(__AVX2__) || defined(__AVX512F__)
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

// Fused multiply-add, x * y + z with one rounding. xsimd 8.1 has no AVX-512 fma: its generic
// x * y + z fuses only where GCC contracts it after inlining, which sanitizer builds do not (measured:
// the sums' exp at 67 ulp there). AVX-512 calls the intrinsic; the others are xsimd's (FMA3, NEON
// vfma; SSE2 has none and rounds twice).
template <class A>
inline vf<A> fma(const vf<A>& x, const vf<A>& y, const vf<A>& z, xsimd::generic) noexcept {
  return xsimd::fma(x, y, z);
}
#if defined(__AVX512F__)
template <class A>
inline vf<A> fma(const vf<A>& x, const vf<A>& y, const vf<A>& z, xsimd::avx512f) noexcept {
  return _mm512_fmadd_ps(x, y, z);
}
#endif
template <class A>
inline vf<A> fma(const vf<A>& x, const vf<A>& y, const vf<A>& z) noexcept {
  return fma<A>(x, y, z, A{});
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

}  // namespace xent::simd

// The rest of the layer, by concern.
#include "simd/widen.hpp"    // IWYU pragma: export
#include "simd/columns.hpp"  // IWYU pragma: export
