#pragma once
// Deterministic inputs shared by every benchmark, and the agreement check baselines must pass
// before they are timed. Large buffers are made once, on first use, so a filtered run stays small.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "xent/half.hpp"

namespace xent_bench {

// A batch of rows x classes in every layout the cases need. Probabilities are normalised rows
// (a softmax of the logits); truth is one-hot at labels; the 16-bit copies hold the same logits.
struct Batch {
  std::size_t rows = 0;
  std::size_t classes = 0;
  std::vector<float> logits;
  std::vector<float> probs;
  std::vector<float> onehot;
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> labels64;  // for libtorch
  std::vector<xent::float16> logits_f16;
  std::vector<xent::bfloat16> logits_bf16;
  // Quantized as a TFLite model's output tensor would be (quantize_tflite): the logits with a scale and
  // zero point chosen from their range, the probabilities (softmax outputs) with TFLite's fixed
  // int8 softmax parameters (kSoftmaxI8Scale, kSoftmaxI8ZeroPoint).
  std::vector<std::int8_t> logits_i8;
  float logits_i8_scale = 1.0f;
  std::int32_t logits_i8_zero_point = 0;
  std::vector<std::int8_t> probs_i8;

  std::size_t size() const noexcept { return rows * classes; }
};

enum Parts : unsigned {
  kLogits = 1u,
  kProbs = 2u,
  kOneHot = 4u,
  kHalf = 8u,    // logits_f16
  kBHalf = 16u,  // logits_bf16
  kLogitsI8 = 32u,  // logits_i8 (with its scale and zero point)
  kProbsI8 = 64u,   // probs_i8
};

// TFLite's fixed output parameters of an int8 softmax: real = (q + 128) / 256.
inline constexpr float kSoftmaxI8Scale = 1.0f / 256.0f;
inline constexpr std::int32_t kSoftmaxI8ZeroPoint = -128;

// TFLite's quantization of one value: q = clamp(round(x / scale) + zero_point, -128, 127), rounding
// half away from zero (TfLiteRound).
inline std::int8_t quantize_tflite(float x, float scale, std::int32_t zero_point) {
  const long q = std::lround(x / scale) + zero_point;
  return static_cast<std::int8_t>(q < -128 ? -128 : q > 127 ? 127 : q);
}

// The batch for (rows, classes), built with at least the parts asked for; cached for the run.
const Batch& batch(std::size_t rows, std::size_t classes, unsigned parts);

// P5's input: 2^20 positive normal floats, exp of [-16, 8) (probabilities down to 1e-7, some above 1).
const std::vector<float>& log_input();

// Two logs of the same input agree within 1e-5 absolute (below 1) or relative (above), element by element.
bool logs_agree(const std::vector<float>& a, const std::vector<float>& b);

// Independent float16 -> float32 (for references; the library has its own).
float half_bits_to_float(std::uint16_t bits) noexcept;

// |a - b| <= rel * max(|a|, |b|), and both finite.
inline bool agree(double a, double b, double rel = 1e-5) {
  if (!std::isfinite(a) || !std::isfinite(b)) return false;
  return std::fabs(a - b) <= rel * std::fmax(std::fabs(a), std::fabs(b));
}

}  // namespace xent_bench
