#pragma once
// A view whose element type is known only at run time (a file's dtype, a C caller's tensor): the
// same metrics and functional forms take it in place of View<T> / QuantizedView<T>, with one
// compiled path instead of a template per combination of types (the C API is built on it: its
// 5 x 5 x 4 typed combinations were most of the ARM library's .text, M2).
// An element type the argument does not take (say float16 labels, or a quantized weight) is
// Status::invalid_option, as the typed views' static_asserts would have refused it.
#include <cstdint>

#include "xent/shape.hpp"

namespace xent {

// The element types, numbered as the C API's xent_dtype. f16 / bf16: xent::float16 / bfloat16
// bits; qi8 / qu8: quantized int8_t / uint8_t predictions (scale and zero_point, as QuantizedView).
enum class ElementType : std::uint8_t { f32, f16, bf16, i32, i64, u8, u16, qi8, qu8 };

struct AnyView {
  const void* data = nullptr;
  ElementType type = ElementType::f32;
  Shape shape;
  float scale = 1.0f;           // qi8 / qu8 only
  std::int32_t zero_point = 0;  // qi8 / qu8 only
};

}  // namespace xent
