#pragma once
// 16-bit floating-point storage types. Arithmetic always happens in float32 after widening.
#include <cstdint>

namespace xent {

struct float16 { std::uint16_t bits; };    // IEEE 754 binary16
struct bfloat16 { std::uint16_t bits; };   // the upper half of a binary32

float to_float(float16 h) noexcept;        // exact
float16 to_float16(float f) noexcept;      // round to nearest even; overflow to inf; NaN stays NaN
float to_float(bfloat16 h) noexcept;       // exact
bfloat16 to_bfloat16(float f) noexcept;    // round to nearest even; NaN stays NaN

}  // namespace xent
