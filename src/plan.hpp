#pragma once
// The plan of one update: every check of SEMANTICS.md / API.md done before any arithmetic, and
// the geometry the row loop walks. Shared by both metrics and the functional forms.
#include <cstddef>
#include <cstdint>

#include "kernels/kernel_table.hpp"
#include "xent/detail/core.hpp"
#include "xent/shape.hpp"
#include "xent/status.hpp"

namespace xent::detail {

// y_pred seen as [outer, K, inner]; V (the per-element loss) as [outer, inner] in row-major order,
// which is also the order of the labels and of out in the functional forms.
struct Plan {
  std::size_t classes = 0;   // K
  std::size_t outer = 0;
  std::size_t inner = 0;
  std::size_t elements = 0;  // size of V = outer * inner
  std::size_t pred_elem_bytes = 4;
  std::size_t truth_elem_bytes = 4;

  // V's shape (rank of y_pred - 1), and the weight's stride along each of its dims (0 where the
  // weight is broadcast, and along every trailing axis of the prefix fallback).
  std::size_t v_rank = 0;
  std::size_t v_dims[kMaxRank] = {};
  std::size_t w_strides[kMaxRank] = {};
  bool weighted = false;
  // How the row loop fetches weights: one value for all; weight index = V index / group (a weight
  // of V's shape, or the prefix fallback); or an odometer over the strides (broadcast).
  enum class WeightLayout : std::uint8_t { none, scalar, contiguous, strided };
  WeightLayout weight_layout = WeightLayout::none;
  // Prefix fallback (rule 4): V is averaged over groups of this many trailing elements. The loop
  // sums loss * w per element and divides the batch sums by it, the same as mean(V) * w.
  std::size_t group = 1;
};

// Checks options, ranks, axis, shapes, capacity, null data, labels (sparse) and, with
// NanPolicy::reject, the weights. Status::ok with plan.elements == 0 is a zero-row no-op.
Status make_plan(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, const Erased* weight,
                 std::size_t capacity, Plan& plan) noexcept;

// Labels [begin, begin + n) as kernel labels: the class index, or -1 for an ignored entry.
// Only called after make_plan validated every label.
void load_labels(const CoreOptions& options, const Erased& labels, std::size_t begin, std::size_t n,
                 std::int32_t* out) noexcept;

// One sample weight element widened to double.
double load_weight(const Erased& weight, std::size_t index) noexcept;

inline DType kernel_type(ElemType t) noexcept { return static_cast<DType>(static_cast<std::uint8_t>(t)); }

}  // namespace xent::detail
