// Scalar kernels: the plain path (XENT_SIMD=OFF builds and XENT_ISA=scalar) and the bare-metal one.
// Hosted: std::log/std::exp per element (<= 1 ulp each). Bare metal with a fused multiply-add
// (XENT_SCALAR_POLY: Cortex-M4F, M7, M55): the SIMD kernels' polynomials one element at a time
// (kernels/scalar_math.hpp, held to the same bounds by the kernel tests), and float32 rows with
// contiguous classes take loops written for a single-issue core. Row sums in 4 float32 lanes,
// flushed every 64 elements into a double, so long rows keep ~1e-7 relative accuracy.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/constants.hpp"
#include "kernels/half_bits.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/tables.hpp"

#if defined(XENT_BARE_METAL) && defined(__ARM_FEATURE_FMA)
#define XENT_SCALAR_POLY 1
#include "kernels/scalar_math.hpp"
#include "kernels/scalar_rows.hpp"
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
// Helium with floating point (Cortex-M55): the float32 loops four lanes at a time; the table is
// then named "helium".
#include "kernels/helium_rows.hpp"
#define XENT_HELIUM 1
#endif
#endif

namespace xent::detail::scalar {
namespace {

#if defined(XENT_HELIUM)
namespace rows = helium;  // the float32 loops (kernels/helium_rows.hpp, or scalar_rows.hpp)
constexpr const char* kName = "helium";
#elif defined(XENT_SCALAR_POLY)
namespace rows = scalar_rows;
constexpr const char* kName = "scalar";
#else
constexpr const char* kName = "scalar";
#endif

#if defined(XENT_SCALAR_POLY)
float log_of(float x) noexcept { return scalar_math::log_any(x); }
float exp_of(float x) noexcept { return scalar_math::exp_nonpositive(x); }
float exp_term(float x) noexcept { return scalar_math::exp_sum_term(x); }
#else
float log_of(float x) noexcept { return std::log(x); }
float exp_of(float x) noexcept { return std::exp(x); }
float exp_term(float x) noexcept { return std::exp(x); }  // the sums' exp is the same std::exp here
#endif

// Out of line: inlining the dtype switch into every loop made this table ~4x larger (armv7 .text).
[[gnu::noinline]] float at(const Rows& rows, std::size_t r, std::size_t k) noexcept {
  return load_element(rows.data, rows.type, r * rows.row_stride + k * rows.class_stride, rows.scale, rows.zero_point);
}

// clip_by_value: NaN passes through (it compares false both ways).
float clip(float p) noexcept { return p < kEps ? kEps : (p > kOneMinusEps ? kOneMinusEps : p); }

// A float32 sum in 4 lanes, flushed into a double every 64 terms (16 per lane).
class RowSum {
 public:
  void add(float v) noexcept {
    lane_[count_ & 3u] += v;
    if ((++count_ & 63u) == 0) flush();
  }
  float result() noexcept {
    // Up to 64 terms, the lanes alone: the same float as a flush into 0.0 (-0 becomes +0 there
    // too), without a double add (a library call where the FPU is single-precision only).
    if (count_ < 64) return ((lane_[0] + lane_[1]) + (lane_[2] + lane_[3])) + 0.0f;
    flush();
    return static_cast<float>(total_);
  }

 private:
  void flush() noexcept {
    total_ += static_cast<double>((lane_[0] + lane_[1]) + (lane_[2] + lane_[3]));
    lane_[0] = lane_[1] = lane_[2] = lane_[3] = 0.0f;
  }
  double total_ = 0.0;
  float lane_[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  std::size_t count_ = 0;
};

#if defined(XENT_SCALAR_POLY)
// The row's floats when it is float32 with contiguous classes (kernels/scalar_rows.hpp), else null.
const float* f32_row(const Rows& rows, std::size_t r) noexcept {
  if (rows.type != DType::f32 || rows.class_stride != 1) return nullptr;
  return static_cast<const float*>(rows.data) + r * rows.row_stride;
}
#endif

// NaN-propagating max: once m is NaN, nothing replaces it.
float row_max(const Rows& pred, std::size_t r) noexcept {
#if defined(XENT_SCALAR_POLY)
  // NaN skipped: returned when finite, a NaN among finite values still reaches the exp sum.
  if (const float* z = f32_row(pred, r)) {
    const float m = rows::max(z, pred.classes);
    if (std::isfinite(m)) return m;
  }
#endif
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t k = 0; k < pred.classes; ++k) {
    const float z = at(pred, r, k);
    if (z > m || z != z) m = (m != m) ? m : z;
  }
  return m;
}

// log(sum(exp(z - m))) for a row whose max m is finite.
float row_log_sum_exp_shifted(const Rows& pred, std::size_t r, float m) noexcept {
#if defined(XENT_SCALAR_POLY)
  if (const float* z = f32_row(pred, r))
    return rows::Exp::log_sum(z, pred.classes, m);
#endif
  RowSum s;
  for (std::size_t k = 0; k < pred.classes; ++k) s.add(exp_term(at(pred, r, k) - m));
  return log_of(s.result());
}

struct Smoothing {
  float scale = 1.0f;   // 1 - ls
  float offset = 0.0f;  // ls / K
  bool on = false;
  Smoothing(float ls, std::size_t k) noexcept
      : scale(1.0f - ls), offset(ls / static_cast<float>(k)), on(ls > 0.0f) {}
  float apply(float t) const noexcept { return on ? t * scale + offset : t; }
};

// Out of line: the row loops below stay small (their registers, and the fast path's).
[[gnu::noinline]] float sparse_row(const Rows& pred, std::size_t r, std::int32_t label,
                                   const LossParams& params) noexcept {
  if (label < 0) return 0.0f;
  const auto y = static_cast<std::size_t>(label);
  const float ls = params.label_smoothing;
  const float kf = static_cast<float>(pred.classes);
  if (params.from_logits) {
    const float m = row_max(pred, r);
    const float log_s = row_log_sum_exp_shifted(pred, r, m);
    const float nll = log_s - (at(pred, r, y) - m);
    if (!(ls > 0.0f)) return nll;
    RowSum shifted;
    for (std::size_t k = 0; k < pred.classes; ++k) shifted.add(at(pred, r, k) - m);
    const float smooth = log_s - shifted.result() / kf;
    return (1.0f - ls) * nll + ls * smooth;
  }
  RowSum s;
  for (std::size_t k = 0; k < pred.classes; ++k) s.add(clip(at(pred, r, k)));
  const float log_s = log_of(s.result());
  const float nll = log_s - log_of(clip(at(pred, r, y)));
  if (!(ls > 0.0f)) return nll;
  RowSum logs;
  for (std::size_t k = 0; k < pred.classes; ++k) logs.add(log_of(clip(at(pred, r, k))));
  const float smooth = log_s - logs.result() / kf;
  return (1.0f - ls) * nll + ls * smooth;
}

// Calls f(k, share) with share = -t'_k log q_k (probabilities) or t'_k (log S - (z_k - m)) (logits).
template <class F>
void categorical_row(const Rows& pred, const Rows& truth, std::size_t r, const LossParams& params,
                     F&& f) noexcept {
  const Smoothing smooth(params.label_smoothing, pred.classes);
  if (params.from_logits) {
    const float m = row_max(pred, r);
    const float log_s = row_log_sum_exp_shifted(pred, r, m);
    for (std::size_t k = 0; k < pred.classes; ++k) {
      f(k, smooth.apply(at(truth, r, k)) * (log_s - (at(pred, r, k) - m)));
    }
    return;
  }
  RowSum s;
  for (std::size_t k = 0; k < pred.classes; ++k) s.add(at(pred, r, k));
  const float total = s.result();
  for (std::size_t k = 0; k < pred.classes; ++k) {
    f(k, -(smooth.apply(at(truth, r, k)) * log_of(clip(at(pred, r, k) / total))));
  }
}

[[gnu::noinline]] float categorical_row_loss(const Rows& pred, const Rows& truth, std::size_t r,
                                            const LossParams& params) noexcept {
  RowSum sum;
  categorical_row(pred, truth, r, params, [&sum](std::size_t, float share) { sum.add(share); });
  return sum.result();
}

#if defined(XENT_SCALAR_POLY)
// Sparse from logits, float32 rows, no smoothing: shifted by the label's logit
// (ExpRows::sparse_logits); the rows it leaves take the max shift of sparse_row.
[[gnu::noinline]] void sparse_logits_f32(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                         float* loss) noexcept {
  rows::Exp::sparse_logits(f32_row(pred, 0), pred.rows, pred.row_stride, pred.classes, labels, loss,
                             [&](std::size_t r) { return sparse_row(pred, r, labels[r], params); });
}

// Categorical from probabilities, float32 rows: scalar_rows::categorical_probs (a zero target's
// log skipped); the rows it leaves take categorical_row_loss.
[[gnu::noinline]] void categorical_probs_f32(const Rows& pred, const Rows& truth, const LossParams& params,
                                             float* loss) noexcept {
  rows::categorical_probs_rows(f32_row(pred, 0), f32_row(truth, 0), pred.rows, pred.row_stride,
                                      truth.row_stride, pred.classes, params.label_smoothing, loss,
                                      [&](std::size_t r) { return categorical_row_loss(pred, truth, r, params); });
}
#endif

}  // namespace

// The table's kernels, external: the bare-metal core calls them directly (kernel_table.hpp).

void sparse_rows(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                 float* loss) noexcept {
#if defined(XENT_SCALAR_POLY)
  // From logits, float32 rows, no smoothing (a tail call: the generic loop's frame stays small).
  if (params.from_logits && !(params.label_smoothing > 0.0f) && f32_row(pred, 0) != nullptr)
    return sparse_logits_f32(pred, labels, params, loss);
#endif
  for (std::size_t r = 0; r < pred.rows; ++r) loss[r] = sparse_row(pred, r, labels[r], params);
}

void categorical_rows(const Rows& pred, const Rows& truth, const LossParams& params, float* loss) noexcept {
#if defined(XENT_SCALAR_POLY)
  // Probabilities, float32 rows (a tail call, as in sparse_rows).
  if (!params.from_logits && f32_row(pred, 0) != nullptr && f32_row(truth, 0) != nullptr)
    return categorical_probs_f32(pred, truth, params, loss);
#endif
  for (std::size_t r = 0; r < pred.rows; ++r) loss[r] = categorical_row_loss(pred, truth, r, params);
}

void categorical_class_shares(const Rows& pred, const Rows& truth, const LossParams& params,
                              const float* row_weight, double* class_total) noexcept {
  for (std::size_t r = 0; r < pred.rows; ++r) {
    const double w = row_weight != nullptr ? static_cast<double>(row_weight[r]) : 1.0;
    categorical_row(pred, truth, r, params, [w, class_total](std::size_t k, float share) {
      class_total[k] += w * static_cast<double>(share);
    });
  }
}

void log(const float* x, float* out, std::size_t n) noexcept {
#if defined(XENT_SCALAR_POLY)
  rows::log(x, out, n);
#else
  for (std::size_t i = 0; i < n; ++i) out[i] = log_of(x[i]);
#endif
}

float logsumexp(const void* x, DType type, std::size_t n) noexcept {
  const Rows row{x, type, 1, n, n, 1};
  const float m = row_max(row, 0);
  if (m != m || std::isinf(m)) return m;  // NaN, all -inf (or n == 0), or a +inf entry
  return m + row_log_sum_exp_shifted(row, 0, m);
}

void log_softmax(const float* x, float* out, std::size_t n) noexcept {
  const Rows row{x, DType::f32, 1, n, n, 1};
  const float m = row_max(row, 0);
  const float log_s = (m != m || std::isinf(m)) ? m - m : row_log_sum_exp_shifted(row, 0, m);
  for (std::size_t i = 0; i < n; ++i) out[i] = (x[i] - m) - log_s;
}

void exp_nonpositive(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = exp_of(x[i]);
}

void exp_sum_terms(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = exp_term(x[i]);
}

void widen_f16(const std::uint16_t* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = f16_bits_to_float(x[i]);
}

void widen_bf16(const std::uint16_t* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = bf16_bits_to_float(x[i]);
}

constexpr KernelTable kTable = {
    kName,      &log,        &logsumexp,  &log_softmax, &widen_f16, &widen_bf16, &sparse_rows,
    &categorical_rows, &categorical_class_shares, &exp_nonpositive, &exp_sum_terms,
};

const KernelTable& table() noexcept { return kTable; }

}  // namespace xent::detail::scalar
