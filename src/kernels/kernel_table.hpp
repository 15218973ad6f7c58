#pragma once
// The internal kernel interface: what the metrics (semantics) ask of the kernels (speed).
// One KernelTable per compiled instruction set; kernels() returns the one chosen for this process.
// A kernel never knows about sample weights, shapes or options beyond the LossParams below.
#include <cstddef>
#include <cstdint>

namespace xent::detail {

// qi8 / qu8: quantized int8 / uint8 predictions, element value float32(scale * (q - zero_point)).
enum class DType : std::uint8_t { f32, f16, bf16, i32, i64, u8, u16, qi8, qu8 };

// A block of rows: element (r, k) is at data[r * row_stride + k * class_stride] (in elements).
// Either class_stride == 1 (contiguous rows, class axis last) or row_stride == 1 (the rows of a
// block are consecutive positions after a class axis that is not last: classes interleaved).
struct Rows {
  const void* data = nullptr;
  DType type = DType::f32;  // predictions: f32, f16, bf16, qi8 or qu8
  std::size_t rows = 0;
  std::size_t classes = 0;
  std::size_t row_stride = 0;
  std::size_t class_stride = 1;
  float scale = 1.0f;  // qi8 / qu8 only (validated: finite, > 0; zero_point in the type's range)
  std::int32_t zero_point = 0;
};

struct LossParams {
  bool from_logits = false;
  float label_smoothing = 0.0f;  // validated in [0, 1] by the caller
};

// At most this many rows per call, so per-row outputs fit on the caller's stack.
inline constexpr std::size_t kMaxBlockRows = 256;

struct KernelTable {
  const char* name;  // "avx512", "avx2", "sse2", "neon64", "neon", "helium", "scalar"

  // The public kernels of <xent/kernels.hpp>.
  void (*log)(const float* x, float* out, std::size_t n) noexcept;
  float (*logsumexp)(const void* x, DType type, std::size_t n) noexcept;
  void (*log_softmax)(const float* x, float* out, std::size_t n) noexcept;
  void (*widen_f16)(const std::uint16_t* x, float* out, std::size_t n) noexcept;
  void (*widen_bf16)(const std::uint16_t* x, float* out, std::size_t n) noexcept;

  // Per-row sparse loss (SEMANTICS.md), rows <= kMaxBlockRows. labels[r] is in [0, K) (validated
  // by the caller) or -1 for an ignored row, whose loss is exactly 0.
  void (*sparse_rows)(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                      float* loss) noexcept;
  // Per-row categorical loss; truth has pred's geometry (its own dtype), rows <= kMaxBlockRows.
  void (*categorical_rows)(const Rows& pred, const Rows& truth, const LossParams& params,
                           float* loss) noexcept;
  // Per-class shares of the categorical loss: class_total[k] += row_weight[r] * (-t'_k * log q_k)
  // (logits: t'_k * (log S - (z_k - max))), accumulated in double.
  void (*categorical_class_shares)(const Rows& pred, const Rows& truth, const LossParams& params,
                                   const float* row_weight, double* class_total) noexcept;

  // Added by the kernels (internal, for the tests): the exp that logsumexp uses, for x <= 0:
  // <= 2 ulp on [-87, 0]; below -87.5 (and for -inf) a value in [0, FLT_MIN]; NaN stays NaN.
  void (*exp_nonpositive)(const float* x, float* out, std::size_t n) noexcept;
  // The cheaper exp that logsumexp's sums use, for x <= 0: <= 2.5 ulp + |x| * 2.8e-9 relative on [-87, 0].
  void (*exp_sum_terms)(const float* x, float* out, std::size_t n) noexcept;
};

// The table chosen for this process: on x86 the best the CPU runs, lowered by XENT_ISA; on ARM
// the NEON table when compiled in; otherwise the scalar table. Chosen once, thread-safe.
const KernelTable& kernels() noexcept;

// Whether the AVX-512 kernels may use AVX512-VBMI (the byte-table pass over long quantized rows):
// the CPU has it and XENT_ISA is not `avx512-novbmi`, which runs the AVX-512 kernels as on a CPU
// without it (Skylake-X), so the tests reach that path on any AVX-512 machine. Decided once.
bool avx512_vbmi_allowed() noexcept;
// The same, and the CPU has AVX512-VNNI too (byte dot products, vpdpbusd): the short quantized rows'
// integer sums. Off whenever avx512_vbmi_allowed() is.
bool avx512_vnni_allowed() noexcept;

// The best table this process could run, ignoring XENT_ISA (the tests use it to decide whether
// the current run is on the native path).
const KernelTable& best_kernels() noexcept;

// The scalar kernels (kernels/scalar.cpp), the entries of its table.
namespace scalar {
void log(const float* x, float* out, std::size_t n) noexcept;
float logsumexp(const void* x, DType type, std::size_t n) noexcept;
void log_softmax(const float* x, float* out, std::size_t n) noexcept;
void widen_f16(const std::uint16_t* x, float* out, std::size_t n) noexcept;
void widen_bf16(const std::uint16_t* x, float* out, std::size_t n) noexcept;
void sparse_rows(const Rows& pred, const std::int32_t* labels, const LossParams& params, float* loss) noexcept;
void categorical_rows(const Rows& pred, const Rows& truth, const LossParams& params, float* loss) noexcept;
void categorical_class_shares(const Rows& pred, const Rows& truth, const LossParams& params,
                              const float* row_weight, double* class_total) noexcept;
}  // namespace scalar

// The kernels the library's own code calls (update.cpp, kernels_api.cpp): the chosen table; on
// bare metal, where that is the scalar table, its kernels called directly, so that a firmware links
// only the kernels its calls reach (through the table it would link all of them: the flash budget).
#if defined(XENT_BARE_METAL)
struct DirectKernels {
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
  static constexpr const char* name = "helium";  // its float32 loops in Helium (kernels/helium_rows.hpp)
#else
  static constexpr const char* name = "scalar";
#endif
  static constexpr auto log = &scalar::log;
  static constexpr auto logsumexp = &scalar::logsumexp;
  static constexpr auto log_softmax = &scalar::log_softmax;
  static constexpr auto widen_f16 = &scalar::widen_f16;
  static constexpr auto widen_bf16 = &scalar::widen_bf16;
  static constexpr auto sparse_rows = &scalar::sparse_rows;
  static constexpr auto categorical_rows = &scalar::categorical_rows;
  static constexpr auto categorical_class_shares = &scalar::categorical_class_shares;
};
inline DirectKernels core_kernels() noexcept { return {}; }
#else
inline const KernelTable& core_kernels() noexcept { return kernels(); }
#endif

}  // namespace xent::detail
