// The one compiled update path of both metrics: plan -> row blocks through the kernel table ->
// batch sums in double -> commit only when everything succeeded.
#include <cmath>
#include <cstring>

#include "kernels/kernel_table.hpp"
#include "plan.hpp"
#include "xent/detail/core.hpp"

namespace xent::detail {
namespace {

// Rows per kernel call. Below kMaxBlockRows on purpose: three per-row buffers of this many
// entries plus the kernels' own frames must stay under the 4 KiB stack budget of a public call.
// Categorical blocks sit on the deepest kernel chain (painted 3.8 KiB with 32 rows); sparse ones
// have ~0.7 KiB to spare, and 64 rows cut a 10-class update's time by 13% (half the per-block
// overhead of a 2 ns row).
#if defined(XENT_BARE_METAL)
// Bare metal: 1.5 KiB of stack a public call (ports/cortex-m/budgets.py paints it), so 16 rows,
// 192-byte buffers; the block's own work (~100 instructions) is small beside 16 rows of scalar math.
constexpr std::size_t kBlockRows = 16;
constexpr std::size_t kSparseBlockRows = 16;
#else
constexpr std::size_t kBlockRows = 32;
constexpr std::size_t kSparseBlockRows = 64;
#endif
static_assert(kSparseBlockRows <= kMaxBlockRows && kBlockRows % 16 == 0 && kSparseBlockRows % 16 == 0,
              "whole lane groups per block");

// Yields the sample weights of consecutive elements of V, block by block, as float (every weight
// type widens to float exactly).
class WeightSource {
 public:
  WeightSource(const Plan& p, const Erased* w) noexcept : plan_(p), weight_(w) {
    if (p.weight_layout == Plan::WeightLayout::scalar) scalar_ = static_cast<float>(load_weight(*w, 0));
  }
  // Weights of V elements [begin, begin + n), called with consecutive ranges. Out of line: once per
  // block, and its odometer's registers then stay out of run_batch's frame.
  [[gnu::noinline]] void fill(std::size_t begin, std::size_t n, float* out) noexcept {
    switch (plan_.weight_layout) {
      case Plan::WeightLayout::scalar:
        for (std::size_t i = 0; i < n; ++i) out[i] = scalar_;
        return;
      case Plan::WeightLayout::contiguous:
        if (plan_.group == 1) {
          fill_run(begin, n, out);
        } else {
          std::size_t index = begin / plan_.group;
          std::size_t rem = begin % plan_.group;
          for (std::size_t i = 0; i < n; ++i) {
            out[i] = static_cast<float>(load_weight(*weight_, index));
            if (++rem == plan_.group) rem = 0, ++index;
          }
        }
        return;
      default:
        for (std::size_t i = 0; i < n; ++i) out[i] = next_strided();
        return;
    }
  }

 private:
  void fill_run(std::size_t begin, std::size_t n, float* out) noexcept {
    const void* base = weight_->data;
    switch (weight_->type) {
      case ElemType::f16:
        core_kernels().widen_f16(static_cast<const std::uint16_t*>(base) + begin, out, n);
        return;
      case ElemType::bf16:
        core_kernels().widen_bf16(static_cast<const std::uint16_t*>(base) + begin, out, n);
        return;
      default:
        std::memcpy(out, static_cast<const float*>(base) + begin, n * sizeof(float));
        return;
    }
  }
  // An odometer over V's dims with the weight's strides (0 where broadcast): no division.
  float next_strided() noexcept {
    const auto v = static_cast<float>(load_weight(*weight_, offset_));
    for (std::size_t j = plan_.v_rank; j-- > 0;) {
      offset_ += plan_.w_strides[j];
      if (++index_[j] < plan_.v_dims[j]) break;
      offset_ -= plan_.w_strides[j] * plan_.v_dims[j];
      index_[j] = 0;
    }
    return v;
  }

  const Plan& plan_;
  const Erased* weight_;
  float scalar_ = 0.0f;
  std::size_t index_[kMaxRank] = {};
  std::size_t offset_ = 0;
};

// Adds a block's losses (times weights) into total/count in double. kSkip: rows with label < 0
// (ignore_class) add nothing. Returns the block's total, whose finiteness tells whether every
// loss was finite: weights are checked finite beforehand, a non-finite loss makes the sum inf
// or NaN (times a zero weight: NaN), and finite float losses times float weights cannot
// overflow a double sum. So no per-element test.
template <bool kWeighted, bool kSkip>
double accumulate(const float* loss, const float* w, const std::int32_t* labels, std::size_t n,
                  double& count) noexcept {
  double t = 0.0;
  if constexpr (!kWeighted && !kSkip) {  // the common case: a sum, and n rows
    // Four chains of dependent double adds instead of one (4 cycles an add): at 10 classes a
    // single chain was a third of the time per row.
    double t1 = 0.0, t2 = 0.0, t3 = 0.0;
    std::size_t r = 0;
    for (; r + 4 <= n; r += 4) {
      t += static_cast<double>(loss[r]);
      t1 += static_cast<double>(loss[r + 1]);
      t2 += static_cast<double>(loss[r + 2]);
      t3 += static_cast<double>(loss[r + 3]);
    }
    for (; r < n; ++r) t += static_cast<double>(loss[r]);
    t1 += t2 + t3;
    count += static_cast<double>(n);
    return t + t1;
  }
  double c = 0.0;
  for (std::size_t r = 0; r < n; ++r) {
    if (kSkip && labels[r] < 0) continue;
    const auto l = static_cast<double>(loss[r]);
    if constexpr (kWeighted) {
      t += l * static_cast<double>(w[r]);
      c += static_cast<double>(w[r]);
    } else {
      t += l;
      c += 1.0;
    }
  }
  count += c;
  return t;
}

// The rows [begin, begin + n) of V as kernel blocks: contiguous rows when the class axis is last,
// else a run of consecutive positions of one outer slice with interleaved classes.
struct Block {
  std::size_t begin = 0;
  std::size_t rows = 0;
  std::size_t offset = 0;  // in elements of y_pred
  std::size_t row_stride = 0;
  std::size_t class_stride = 1;
};

Block block_at(const Plan& p, std::size_t begin, std::size_t max_rows) noexcept {
  Block b;
  b.begin = begin;
  const std::size_t left = p.elements - begin;
  if (p.inner == 1) {
    b.rows = left < max_rows ? left : max_rows;
    b.offset = begin * p.classes;
    b.row_stride = p.classes;
    b.class_stride = 1;
  } else {
    const std::size_t o = begin / p.inner;
    const std::size_t i0 = begin % p.inner;
    const std::size_t run = p.inner - i0;
    b.rows = run < max_rows ? run : max_rows;
    b.offset = o * p.classes * p.inner + i0;
    b.row_stride = 1;
    b.class_stride = p.inner;
  }
  return b;
}

Rows rows_of(const Erased& e, std::size_t elem_bytes, const Plan& p, const Block& b) noexcept {
  Rows r;
  r.data = static_cast<const unsigned char*>(e.data) + b.offset * elem_bytes;
  r.type = kernel_type(e.type);
  r.rows = b.rows;
  r.classes = p.classes;
  r.row_stride = b.row_stride;
  r.class_stride = b.class_stride;
  r.scale = e.scale;
  r.zero_point = e.zero_point;
  return r;
}

struct Sums {
  double total = 0.0;
  double count = 0.0;
};

#if defined(__ARM_FP) && !(__ARM_FP & 8)
// No double-precision unit (Cortex-M4F): a double add is a ~75-instruction library call, a few a
// block. So the unweighted losses of a batch are summed in a float pair (TwoSum: hi + lo is their
// exact sum but for lo's own roundings, ~2^-48 relative) and the rows counted as an integer; both
// enter the double sums once a batch. A block that would make the pair non-finite (an inf or NaN
// loss, or a float overflow) is refused: accumulate sums it in double.
class PairSum {
 public:
  bool add(const float* loss, std::size_t n) noexcept {
    float hi = hi_, lo = lo_;
    for (std::size_t r = 0; r < n; ++r) {
      const float s = hi + loss[r];
      const float x_part = s - hi;
      lo += (hi - (s - x_part)) + (loss[r] - x_part);
      hi = s;
    }
    if (!(hi - hi == 0.0f && lo - lo == 0.0f)) return false;
    hi_ = hi;
    lo_ = lo;
    rows_ += n;
    return true;
  }
  double total(double t) const noexcept { return t + (static_cast<double>(hi_) + static_cast<double>(lo_)); }
  double count(double c) const noexcept { return c + static_cast<double>(rows_); }

 private:
  float hi_ = 0.0f;
  float lo_ = 0.0f;
  std::size_t rows_ = 0;
};
#else
struct PairSum {  // double adds are cheap: every block goes to accumulate
  static constexpr bool add(const float*, std::size_t) noexcept { return false; }
  static constexpr double total(double t) noexcept { return t; }
  static constexpr double count(double c) noexcept { return c; }
};
#endif

// One pass over the batch. check_finite: stop at the first block whose sum is not finite, i.e.
// that holds a non-finite loss (NanPolicy::reject).
// class_total/class_count non-null: distribute into the per-class sums as it goes (only called so
// when nothing can fail any more).
template <bool kSparse>
Status run_batch(const CoreOptions& o, const Plan& p, const Erased& y_true, const Erased& y_pred,
                 const Erased* weight, bool check_finite, double* class_total, double* class_count,
                 Sums& sums) noexcept {
  const auto& k = core_kernels();
  LossParams params;
  params.from_logits = o.from_logits;
  params.label_smoothing = o.label_smoothing;
  constexpr bool sparse = kSparse;
  constexpr std::size_t kRows = kSparse ? kSparseBlockRows : kBlockRows;
  const double group = static_cast<double>(p.group);

  float loss[kRows];
  std::int32_t labels[kSparse ? kRows : 1];  // read only by sparse blocks
  float weights[kRows];  // also the per-row weights handed to the class-share kernel

  WeightSource source(p, weight);
  const bool skip = sparse && o.has_ignore;
  double total = 0.0;
  double count = 0.0;
  PairSum pair;
  for (std::size_t begin = 0; begin < p.elements;) {
    const Block b = block_at(p, begin, kRows);
    const Rows pred = rows_of(y_pred, p.pred_elem_bytes, p, b);
    Rows truth;
    if constexpr (sparse) {
      load_labels(o, y_true, b.begin, b.rows, labels);
      k.sparse_rows(pred, labels, params, loss);
    } else {
      truth = rows_of(y_true, p.truth_elem_bytes, p, b);
      k.categorical_rows(pred, truth, params, loss);
    }
    if (p.weighted) source.fill(b.begin, b.rows, weights);
    if (p.weighted || skip || !pair.add(loss, b.rows)) {
      double t = 0.0;
      if (p.weighted)
        t = skip ? accumulate<true, true>(loss, weights, labels, b.rows, count)
                 : accumulate<true, false>(loss, weights, labels, b.rows, count);
      else
        t = skip ? accumulate<false, true>(loss, weights, labels, b.rows, count)
                 : accumulate<false, false>(loss, weights, labels, b.rows, count);
      if (check_finite && !std::isfinite(t)) return Status::non_finite_input;
      total += t;
    }

    if (class_total != nullptr) {
      if constexpr (sparse) {
        for (std::size_t r = 0; r < b.rows; ++r) {
          if (labels[r] < 0) continue;
          const auto c = static_cast<std::size_t>(labels[r]);
          const double w = p.weighted ? static_cast<double>(weights[r]) / group : 1.0;
          class_total[c] += static_cast<double>(loss[r]) * w;
          class_count[c] += w;
        }
      } else {
        for (std::size_t r = 0; r < b.rows; ++r)
          weights[r] = p.weighted ? static_cast<float>(static_cast<double>(weights[r]) / group) : 1.0f;
        k.categorical_class_shares(pred, truth, params, weights, class_total);
      }
    }
    begin += b.rows;
  }
  sums.total = pair.total(total) / group;
  sums.count = pair.count(count) / group;
  return Status::ok;
}

template <bool kSparse>
Status update_kind(const CoreOptions& o, const Erased& y_true, const Erased& y_pred, const Erased* weight,
                   const Accumulators& acc) noexcept {
  Plan p;
  Status s = make_plan(o, y_true, y_pred, weight, acc.capacity, p);
  if (s != Status::ok || p.elements == 0) return s;

  const bool reject = o.nan_policy == NanPolicy::reject;
  const bool per_class = o.per_class && acc.class_total != nullptr;
  Sums sums;
  if (per_class && reject) {
    // Check the whole batch first, then distribute in a second pass: the per-class sums must not
    // change when a later row turns out non-finite, and there is no heap to keep the losses in.
    s = run_batch<kSparse>(o, p, y_true, y_pred, weight, true, nullptr, nullptr, sums);
    if (s != Status::ok) return s;
    Sums again;
    (void)run_batch<kSparse>(o, p, y_true, y_pred, weight, false, acc.class_total, acc.class_count, again);
  } else {
    // Nothing can fail after the plan except a reject, and then nothing is distributed.
    s = run_batch<kSparse>(o, p, y_true, y_pred, weight, reject, per_class ? acc.class_total : nullptr,
                           per_class ? acc.class_count : nullptr, sums);
    if (s != Status::ok) return s;
  }
  if (per_class && !kSparse) {
    // Every class receives the row's weight: per-class results then add up to result().
    for (std::size_t c = 0; c < p.classes; ++c) acc.class_count[c] += sums.count;
  }
  *acc.total += sums.total;
  *acc.count += sums.count;
  return Status::ok;
}

template <bool kSparse>
Status losses_kind(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, float* out,
                   std::size_t out_size) noexcept {
  CoreOptions o = options;
  o.per_class = false;  // no per-class sums in the functional form
  Plan p;
  const Status s = make_plan(o, y_true, y_pred, nullptr, 0, p);
  if (s != Status::ok || p.elements == 0) return s;
  if (out == nullptr) return Status::null_data;
  if (out_size < p.elements) return Status::buffer_too_small;

  const auto& k = core_kernels();
  LossParams params;
  params.from_logits = o.from_logits;
  params.label_smoothing = o.label_smoothing;
  std::int32_t labels[kBlockRows];
  for (std::size_t begin = 0; begin < p.elements;) {
    const Block b = block_at(p, begin, kBlockRows);
    const Rows pred = rows_of(y_pred, p.pred_elem_bytes, p, b);
    if constexpr (kSparse) {
      load_labels(o, y_true, b.begin, b.rows, labels);
      k.sparse_rows(pred, labels, params, out + b.begin);
    } else {
      k.categorical_rows(pred, rows_of(y_true, p.truth_elem_bytes, p, b), params, out + b.begin);
    }
    begin += b.rows;
  }
  if (o.nan_policy == NanPolicy::reject) {
    for (std::size_t i = 0; i < p.elements; ++i)
      if (!std::isfinite(out[i])) return Status::non_finite_input;
  }
  return Status::ok;
}

}  // namespace

Status update_sparse(const CoreOptions& o, const Erased& y_true, const Erased& y_pred, const Erased* weight,
                     const Accumulators& acc) noexcept {
  return update_kind<true>(o, y_true, y_pred, weight, acc);
}
Status update_categorical(const CoreOptions& o, const Erased& y_true, const Erased& y_pred, const Erased* weight,
                          const Accumulators& acc) noexcept {
  return update_kind<false>(o, y_true, y_pred, weight, acc);
}
Status losses_sparse(const CoreOptions& o, const Erased& y_true, const Erased& y_pred, float* out,
                     std::size_t out_size) noexcept {
  return losses_kind<true>(o, y_true, y_pred, out, out_size);
}
Status losses_categorical(const CoreOptions& o, const Erased& y_true, const Erased& y_pred, float* out,
                          std::size_t out_size) noexcept {
  return losses_kind<false>(o, y_true, y_pred, out, out_size);
}

bool same_options(const CoreOptions& a, const CoreOptions& b) noexcept {
  std::uint32_t la = 0;
  std::uint32_t lb = 0;
  std::memcpy(&la, &a.label_smoothing, sizeof la);
  std::memcpy(&lb, &b.label_smoothing, sizeof lb);
  return a.kind == b.kind && a.from_logits == b.from_logits && la == lb && a.axis == b.axis &&
         a.nan_policy == b.nan_policy && a.per_class == b.per_class && a.has_ignore == b.has_ignore &&
         (!a.has_ignore || a.ignore_class == b.ignore_class);
}

void merge(const Accumulators& acc, const double* other_total, const double* other_count,
           const double* other_class_total, const double* other_class_count) noexcept {
  *acc.total += *other_total;
  *acc.count += *other_count;
  if (acc.class_total == nullptr || other_class_total == nullptr) return;
  for (std::size_t c = 0; c < acc.capacity; ++c) {
    acc.class_total[c] += other_class_total[c];
    acc.class_count[c] += other_class_count[c];
  }
}

float mean_or_zero(double total, double count) noexcept {
  // divide_no_nan; the quotient is formed in double (correctly rounded on every target) and
  // rounded to float once.
  return count == 0.0 ? 0.0f : static_cast<float>(total / count);
}

}  // namespace xent::detail
