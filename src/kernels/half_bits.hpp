#pragma once
// Portable, exact 16-bit -> float32 widening and float32 -> 16-bit rounding on bit patterns, and the
// scalar element loader (quantized bytes included).
// Used by the scalar path, the public to_float/to_float16/to_bfloat16 and the SIMD tails. `static`:
// each translation unit (each compiled with its own ISA flags) keeps its own copy, so no ODR merge
// can hand an AVX-512 copy to the SSE2 path.
#include <cstdint>
#include <cstddef>
#include <cstring>

#include "kernels/kernel_table.hpp"

namespace xent::detail {

static inline float bits_to_float(std::uint32_t u) noexcept {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

static inline std::uint32_t float_to_bits(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Exact. Subnormal halves go through an integer-to-float product, never a float32 subnormal,
// so the result is right even where the FPU flushes subnormals (armv7 NEON).
static inline float f16_bits_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return bits_to_float(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  return bits_to_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

static inline float bf16_bits_to_float(std::uint16_t h) noexcept {
  return bits_to_float(static_cast<std::uint32_t>(h) << 16);
}

// Round to nearest even; overflow to inf; NaN stays a (quiet) NaN with its sign.
static inline std::uint16_t float_to_f16_bits(float f) noexcept {
  std::uint32_t x = float_to_bits(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
  if (x >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  const std::uint32_t biased = x >> 23;
  if (biased < 113) {  // below 2^-14: a half subnormal (or zero)
    if (biased < 102) return sign;  // below 2^-25: rounds to zero (2^-25 itself ties to even 0)
    const std::uint32_t mantissa = (x & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - biased;  // value / 2^-24 = mantissa >> shift
    std::uint32_t q = mantissa >> shift;
    const std::uint32_t rem = mantissa & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u) != 0)) ++q;
    return static_cast<std::uint16_t>(sign | q);
  }
  const std::uint32_t rebased = x - (112u << 23);
  std::uint32_t q = rebased >> 13;
  const std::uint32_t rem = rebased & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u) != 0)) ++q;  // a carry into the exponent is right
  return static_cast<std::uint16_t>(sign | q);
}

static inline std::uint16_t float_to_bf16_bits(float f) noexcept {
  const std::uint32_t x = float_to_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// TFLite's dequantization: q - zero_point exactly in int32 (|q - zp| <= 255: an exact float), one
// rounding in the multiply.
static inline float dequantize(std::int32_t q, std::int32_t zero_point, float scale) noexcept {
  return static_cast<float>(q - zero_point) * scale;
}

// Element i of a typed buffer as float: the scalar loader shared by the scalar table and the SIMD
// kernels' gathers and tails. scale and zero_point: quantized types only.
static inline float load_element(const void* data, DType type, std::size_t i, float scale = 1.0f,
                                 std::int32_t zero_point = 0) noexcept {
  switch (type) {
    case DType::qi8: return dequantize(static_cast<const std::int8_t*>(data)[i], zero_point, scale);
    case DType::qu8: return dequantize(static_cast<const std::uint8_t*>(data)[i], zero_point, scale);
    case DType::f32: return static_cast<const float*>(data)[i];
    case DType::f16: return f16_bits_to_float(static_cast<const std::uint16_t*>(data)[i]);
    case DType::bf16: return bf16_bits_to_float(static_cast<const std::uint16_t*>(data)[i]);
    case DType::i32: return static_cast<float>(static_cast<const std::int32_t*>(data)[i]);
    case DType::i64: return static_cast<float>(static_cast<const std::int64_t*>(data)[i]);
    case DType::u8: return static_cast<float>(static_cast<const std::uint8_t*>(data)[i]);
    case DType::u16: return static_cast<float>(static_cast<const std::uint16_t*>(data)[i]);
  }
  return 0.0f;
}

}  // namespace xent::detail
