// float16 / bfloat16 conversions: exact widening, round-to-nearest-even narrowing.
#include "xent/half.hpp"

#include "kernels/half_bits.hpp"

namespace xent {

float to_float(float16 h) noexcept { return detail::f16_bits_to_float(h.bits); }
float16 to_float16(float f) noexcept { return float16{detail::float_to_f16_bits(f)}; }
float to_float(bfloat16 h) noexcept { return detail::bf16_bits_to_float(h.bits); }
bfloat16 to_bfloat16(float f) noexcept { return bfloat16{detail::float_to_bf16_bits(f)}; }

}  // namespace xent
