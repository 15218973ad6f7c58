// The public kernels of <xent/kernels.hpp>: thin forwards to the table chosen for this process.
#include <cstdint>

#include "kernels/kernel_table.hpp"
#include "xent/kernels.hpp"

namespace xent {

static_assert(sizeof(float16) == sizeof(std::uint16_t) && sizeof(bfloat16) == sizeof(std::uint16_t),
              "16-bit storage types must be bare bit patterns");

void log(const float* x, float* out, std::size_t n) noexcept { detail::core_kernels().log(x, out, n); }

float logsumexp(const float* x, std::size_t n) noexcept {
  return detail::core_kernels().logsumexp(x, detail::DType::f32, n);
}
float logsumexp(const float16* x, std::size_t n) noexcept {
  return detail::core_kernels().logsumexp(x, detail::DType::f16, n);
}
float logsumexp(const bfloat16* x, std::size_t n) noexcept {
  return detail::core_kernels().logsumexp(x, detail::DType::bf16, n);
}

void log_softmax(const float* x, float* out, std::size_t n) noexcept {
  detail::core_kernels().log_softmax(x, out, n);
}

void widen(const float16* x, float* out, std::size_t n) noexcept {
  detail::core_kernels().widen_f16(reinterpret_cast<const std::uint16_t*>(x), out, n);
}
void widen(const bfloat16* x, float* out, std::size_t n) noexcept {
  detail::core_kernels().widen_bf16(reinterpret_cast<const std::uint16_t*>(x), out, n);
}

const char* active_isa() noexcept { return detail::core_kernels().name; }

}  // namespace xent
