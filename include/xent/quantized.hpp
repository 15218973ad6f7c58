#pragma once
// Quantized predictions: a model's int8 / uint8 output tensor with its per-tensor scale and zero
// point (TensorFlow Lite, TFLite Micro). Element q stands for the float32 value
//
//     float32(scale * (q - zero_point))
//
// computed as TFLite dequantizes: q - zero_point exactly in int32, converted to float (exact: it is at
// most 255 in magnitude), then one multiply by scale, so one rounding. SEMANTICS.md then applies to
// those values unchanged. The kernels widen the bytes in registers: no float copy of the batch.
//
// Both metrics' update_state and both functional forms take a QuantizedView as y_pred, with
// from_logits true (quantized logits, or log_softmax outputs) or false (probabilities, e.g. softmax
// outputs) and every option. scale must be finite and > 0 and zero_point within T's range, else
// Status::invalid_option, found before any arithmetic (nothing is half-applied).
// TFLite's fixed output parameters: softmax int8 (1/256, -128), uint8 (1/256, 0); log_softmax
// int8 (16/256, 127), uint8 (16/256, 255).
#include <cstdint>
#include <type_traits>

#include "xent/shape.hpp"

namespace xent {

template <class T>
struct QuantizedView {
  static_assert(std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t>,
                "quantized predictions are std::int8_t or std::uint8_t");
  const T* data = nullptr;
  Shape shape;
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

template <class T>
constexpr QuantizedView<T> quantized(const T* data, Shape shape, float scale, std::int32_t zero_point) noexcept {
  return QuantizedView<T>{data, shape, scale, zero_point};
}

}  // namespace xent
