// Scalar kernels: the plain, obviously-correct path (XENT_SIMD=OFF builds and XENT_ISA=scalar).
// std::log/std::exp per element (<= 1 ulp each); row sums in 4 float32 lanes, flushed every 64
// elements into a double, so long rows keep ~1e-7 relative accuracy.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/half_bits.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/tables.hpp"

namespace xent::detail::scalar {
namespace {

constexpr float kEps = 1e-7f;                // float32(1e-7), bits 0x33D6BF95
constexpr float kOneMinusEps = 1.0f - kEps;  // computed in float32, bits 0x3F7FFFFE

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

// NaN-propagating max: once m is NaN, nothing replaces it.
float row_max(const Rows& pred, std::size_t r) noexcept {
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t k = 0; k < pred.classes; ++k) {
    const float z = at(pred, r, k);
    if (z > m || z != z) m = (m != m) ? m : z;
  }
  return m;
}

// log(sum(exp(z - m))) for a row whose max m is finite.
float row_log_sum_exp_shifted(const Rows& pred, std::size_t r, float m) noexcept {
  RowSum s;
  for (std::size_t k = 0; k < pred.classes; ++k) s.add(std::exp(at(pred, r, k) - m));
  return std::log(s.result());
}

struct Smoothing {
  float scale = 1.0f;   // 1 - ls
  float offset = 0.0f;  // ls / K
  bool on = false;
  Smoothing(float ls, std::size_t k) noexcept
      : scale(1.0f - ls), offset(ls / static_cast<float>(k)), on(ls > 0.0f) {}
  float apply(float t) const noexcept { return on ? t * scale + offset : t; }
};

float sparse_row(const Rows& pred, std::size_t r, std::int32_t label, const LossParams& params) noexcept {
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
  const float log_s = std::log(s.result());
  const float nll = log_s - std::log(clip(at(pred, r, y)));
  if (!(ls > 0.0f)) return nll;
  RowSum logs;
  for (std::size_t k = 0; k < pred.classes; ++k) logs.add(std::log(clip(at(pred, r, k))));
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
    f(k, -(smooth.apply(at(truth, r, k)) * std::log(clip(at(pred, r, k) / total))));
  }
}

void sparse_rows(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                 float* loss) noexcept {
  for (std::size_t r = 0; r < pred.rows; ++r) loss[r] = sparse_row(pred, r, labels[r], params);
}

void categorical_rows(const Rows& pred, const Rows& truth, const LossParams& params, float* loss) noexcept {
  for (std::size_t r = 0; r < pred.rows; ++r) {
    RowSum sum;
    categorical_row(pred, truth, r, params, [&sum](std::size_t, float share) { sum.add(share); });
    loss[r] = sum.result();
  }
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
  for (std::size_t i = 0; i < n; ++i) out[i] = std::log(x[i]);
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
  for (std::size_t i = 0; i < n; ++i) out[i] = std::exp(x[i]);
}

void widen_f16(const std::uint16_t* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = f16_bits_to_float(x[i]);
}

void widen_bf16(const std::uint16_t* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = bf16_bits_to_float(x[i]);
}

constexpr KernelTable kTable = {
    "scalar",   &log,        &logsumexp,  &log_softmax, &widen_f16, &widen_bf16, &sparse_rows,
    &categorical_rows, &categorical_class_shares, &exp_nonpositive,
    &exp_nonpositive,  // the sums' exp is the same std::exp here
};

}  // namespace

const KernelTable& table() noexcept { return kTable; }

}  // namespace xent::detail::scalar
