#pragma once
// What a user would otherwise write, each computing the same Keras result as xent (SEMANTICS.md):
// a scalar std::log/std::exp reference, a plain two-pass xsimd version (xsimd::log / xsimd::exp,
// one accumulator, scalar tail), Eigen 3.4 array expressions, and libtorch when it is installed.
// Baselines return the batch total (per-row float32 losses summed in double), which is what a
// metric update adds to `total`. A null entry means "not offered by this baseline".
//
// The sparse-from-probabilities formula is the cheap identity of SEMANTICS.md in every baseline,
// log(sum clip p) - log(clip p[label]) (one log per row, not K): the fair, strong version.
#include <cstddef>
#include <cstdint>

namespace xent_bench {

inline constexpr float kEps = 1e-7f;
inline constexpr float kOneMinusEps = 1.0f - kEps;

// One batch of rows x classes, row-major, class axis last.
struct Case {
  const float* pred = nullptr;            // logits or probabilities
  const std::uint16_t* pred_f16 = nullptr;  // the same values as IEEE binary16 bits (16-bit cases)
  const float* truth = nullptr;           // categorical: one-hot (or soft) rows
  const std::int32_t* labels = nullptr;   // sparse
  const std::int64_t* labels64 = nullptr; // sparse, for libtorch
  std::size_t rows = 0;
  std::size_t classes = 0;
  float label_smoothing = 0.0f;           // categorical only
};

struct Baseline {
  const char* name;
  double (*sparse_logits)(const Case&);
  double (*sparse_logits_f16)(const Case&);
  double (*sparse_probs)(const Case&);
  double (*categorical_logits)(const Case&);
  double (*categorical_probs)(const Case&);
  void (*log)(const float* x, float* out, std::size_t n);
  float (*logsumexp)(const float* x, std::size_t n);
  double (*sum)(const float* x, std::size_t n);  // the memory-bandwidth limit
};

// Sparse from logits over per-row logsumexps: the batch total of lse(row) - z[label].
template <class RowLse>
double sparse_logits_by_rows(const Case& c, RowLse&& lse) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const float* z = c.pred + r * c.classes;
    total += static_cast<double>(lse(z, c.classes) - z[c.labels[r]]);
  }
  return total;
}

const Baseline& scalar_baseline();
const Baseline& xsimd_baseline();
const Baseline* eigen_baseline();       // whole-matrix expressions; null when built without Eigen
const Baseline* eigen_rows_baseline();  // the same one row at a time; null when built without Eigen
const Baseline* torch_baseline();  // null when built without libtorch

// The field's kernels (issue 14), each null when its package was not found. Sparse from logits by
// each library's natural route, and its log where it has one (the R1-R3 targets).
const Baseline* sleef_baseline();      // Sleef_expf*_u10 logsumexp; Sleef_logf*_u35
const Baseline* sleef_u10_baseline();  // log only: Sleef_logf*_u10
const Baseline* hwy_baseline();        // Highway contrib/math Exp and Log, static target
const Baseline* onednn_baseline();     // oneDNN log-softmax primitive, one thread
const Baseline* xnnpack_baseline();    // XNNPACK softmax operator, no thread pool

// The user's dequantization of an int8 model output (TFLite's rule): out[i] = float(scale * (q[i] -
// zero_point)), one rounding, into a float buffer of n; the float path then runs on out (Q1-Q3).
void dequantize_i8(const std::int8_t* q, std::size_t n, float scale, std::int32_t zero_point, float* out);

// Facts about how the baselines were built, for the JSON context.
const char* xsimd_baseline_arch();  // xsimd::default_arch::name() in the baseline translation unit
const char* eigen_simd_info();      // Eigen::SimdInstructionSetsInUse(), or "absent"
const char* torch_info();           // version and CPU capability, or "absent"
const char* sleef_info();           // the vector forms used, or "absent"
const char* hwy_info();             // Highway's static target, or "absent"
const char* onednn_info();          // version and threading, or "absent"

}  // namespace xent_bench
