#pragma once
// The SIMD kernels behind the metrics, for users who build their own pipelines.
// On x86 the best instruction set is chosen at run time (XENT_ISA=scalar|sse2|avx2|avx512 forces
// a lower one); on ARM NEON is chosen at compile time.
#include <cstddef>

#include "xent/half.hpp"

namespace xent {

// Natural log of n floats, at most 3.5 ulp over positive normals, exact 0 at 1; log(0) = -inf,
// log(x < 0) = NaN, log(inf) = inf, NaN stays NaN. out may equal x.
void log(const float* x, float* out, std::size_t n) noexcept;

// log(sum(exp(x))) with the max shift; -inf for n == 0 or all -inf; NaN if any NaN.
float logsumexp(const float* x, std::size_t n) noexcept;
float logsumexp(const float16* x, std::size_t n) noexcept;
float logsumexp(const bfloat16* x, std::size_t n) noexcept;

// out[i] = x[i] - logsumexp(x). out may equal x.
void log_softmax(const float* x, float* out, std::size_t n) noexcept;

// Widening of 16-bit storage to float32, vectorized.
void widen(const float16* x, float* out, std::size_t n) noexcept;
void widen(const bfloat16* x, float* out, std::size_t n) noexcept;

// "avx512", "avx2", "sse2", "neon64", "neon", "helium" (bare-metal Cortex-M55) or "scalar".
const char* active_isa() noexcept;

}  // namespace xent
