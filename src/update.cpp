// The one compiled update path of both metrics: plan -> row blocks through the kernel table ->
// batch sums in double -> commit only when everything succeeded.
#include <cmath>
#include <cstring>

#include "kernels/kernel_table.hpp"
#include "plan.hpp"
#include "xent/detail/core.hpp"

namespace xent::detail {
namespace {

// Walks V in row-major order and yields the sample weight of each element: an odometer over V's
// dims with the weight's strides (0 where it is broadcast), so no per-element division.
class WeightCursor {
 public:
  WeightCursor(const Plan& p, const Erased* w) noexcept : plan_(p), weight_(w) {}
  double next() noexcept {
    const double v = load_weight(*weight_, offset_);
    for (std::size_t j = plan_.v_rank; j-- > 0;) {
      offset_ += plan_.w_strides[j];
      if (++index_[j] < plan_.v_dims[j]) break;
      offset_ -= plan_.w_strides[j] * plan_.v_dims[j];
      index_[j] = 0;
    }
    return v;
  }

 private:
  const Plan& plan_;
  const Erased* weight_;
  std::size_t index_[kMaxRank] = {};
  std::size_t offset_ = 0;
};

// The rows [begin, begin + n) of V as kernel blocks: contiguous rows when the class axis is last,
// else a run of consecutive positions of one outer slice with interleaved classes.
struct Block {
  std::size_t begin = 0;
  std::size_t rows = 0;
  std::size_t offset = 0;  // in elements of y_pred
  std::size_t row_stride = 0;
  std::size_t class_stride = 1;
};

Block block_at(const Plan& p, std::size_t begin) noexcept {
  Block b;
  b.begin = begin;
  const std::size_t left = p.elements - begin;
  if (p.inner == 1) {
    b.rows = left < kMaxBlockRows ? left : kMaxBlockRows;
    b.offset = begin * p.classes;
    b.row_stride = p.classes;
    b.class_stride = 1;
  } else {
    const std::size_t o = begin / p.inner;
    const std::size_t i0 = begin % p.inner;
    const std::size_t run = p.inner - i0;
    b.rows = run < kMaxBlockRows ? run : kMaxBlockRows;
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
  return r;
}

struct Sums {
  double total = 0.0;
  double count = 0.0;
};

// One pass over the batch. check_finite: stop at the first non-finite loss (NanPolicy::reject).
// class_total/class_count non-null: distribute into the per-class sums as it goes (only called so
// when nothing can fail any more).
Status run_batch(const CoreOptions& o, const Plan& p, const Erased& y_true, const Erased& y_pred,
                 const Erased* weight, bool check_finite, double* class_total, double* class_count,
                 Sums& sums) noexcept {
  const KernelTable& k = kernels();
  LossParams params;
  params.from_logits = o.from_logits;
  params.label_smoothing = o.label_smoothing;
  const bool sparse = o.kind == Kind::sparse;
  const double group = static_cast<double>(p.group);

  float loss[kMaxBlockRows];
  union {
    std::int32_t labels[kMaxBlockRows];  // sparse
    float row_weight[kMaxBlockRows];     // categorical per-class shares
  } scratch;

  WeightCursor cursor(p, weight);
  double total = 0.0;
  double count = 0.0;
  for (std::size_t begin = 0; begin < p.elements;) {
    const Block b = block_at(p, begin);
    const Rows pred = rows_of(y_pred, p.pred_elem_bytes, p, b);
    Rows truth;
    if (sparse) {
      load_labels(o, y_true, b.begin, b.rows, scratch.labels);
      k.sparse_rows(pred, scratch.labels, params, loss);
    } else {
      truth = rows_of(y_true, p.truth_elem_bytes, p, b);
      k.categorical_rows(pred, truth, params, loss);
    }
    for (std::size_t r = 0; r < b.rows; ++r) {
      const double w = p.weighted ? cursor.next() : 1.0;
      if (sparse && scratch.labels[r] < 0) continue;  // ignore_class: nothing to total or count
      const float l = loss[r];
      if (check_finite && !std::isfinite(l)) return Status::non_finite_input;
      total += static_cast<double>(l) * w;
      count += w;
      if (class_total != nullptr) {
        if (sparse) {
          const auto c = static_cast<std::size_t>(scratch.labels[r]);
          class_total[c] += static_cast<double>(l) * w / group;
          class_count[c] += w / group;
        } else {
          scratch.row_weight[r] = static_cast<float>(w / group);
        }
      }
    }
    if (class_total != nullptr && !sparse) k.categorical_class_shares(pred, truth, params, scratch.row_weight, class_total);
    begin += b.rows;
  }
  sums.total = total / group;
  sums.count = count / group;
  return Status::ok;
}

}  // namespace

Status update(const CoreOptions& o, const Erased& y_true, const Erased& y_pred, const Erased* weight,
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
    s = run_batch(o, p, y_true, y_pred, weight, true, nullptr, nullptr, sums);
    if (s != Status::ok) return s;
    Sums again;
    (void)run_batch(o, p, y_true, y_pred, weight, false, acc.class_total, acc.class_count, again);
  } else {
    // Nothing can fail after the plan except a reject, and then nothing is distributed.
    s = run_batch(o, p, y_true, y_pred, weight, reject, per_class ? acc.class_total : nullptr,
                  per_class ? acc.class_count : nullptr, sums);
    if (s != Status::ok) return s;
  }
  if (per_class && o.kind == Kind::categorical) {
    // Every class receives the row's weight: per-class results then add up to result().
    for (std::size_t c = 0; c < p.classes; ++c) acc.class_count[c] += sums.count;
  }
  *acc.total += sums.total;
  *acc.count += sums.count;
  return Status::ok;
}

Status losses(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, float* out,
              std::size_t out_size) noexcept {
  CoreOptions o = options;
  o.per_class = false;  // no per-class sums in the functional form
  Plan p;
  const Status s = make_plan(o, y_true, y_pred, nullptr, 0, p);
  if (s != Status::ok || p.elements == 0) return s;
  if (out == nullptr) return Status::null_data;
  if (out_size < p.elements) return Status::buffer_too_small;

  const KernelTable& k = kernels();
  LossParams params;
  params.from_logits = o.from_logits;
  params.label_smoothing = o.label_smoothing;
  std::int32_t labels[kMaxBlockRows];
  for (std::size_t begin = 0; begin < p.elements;) {
    const Block b = block_at(p, begin);
    const Rows pred = rows_of(y_pred, p.pred_elem_bytes, p, b);
    if (o.kind == Kind::sparse) {
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
