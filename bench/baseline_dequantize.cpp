// What a user computes today from a quantized model output: dequantize the whole batch into a float
// buffer as TFLite does, then the float path. This is the first half, built with the baselines'
// native flags (the compiler vectorizes the loop), so the comparison is against a tuned copy.
#include "baselines.hpp"

namespace xent_bench {

void dequantize_i8(const std::int8_t* q, std::size_t n, float scale, std::int32_t zero_point, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = scale * static_cast<float>(static_cast<std::int32_t>(q[i]) - zero_point);
}

}  // namespace xent_bench
