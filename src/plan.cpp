// The plan: every error of an update is found here, before any arithmetic, so an update that
// fails leaves the metric's state exactly as it was.
#include "plan.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "xent/half.hpp"

namespace xent::detail {
namespace {

static_assert(static_cast<int>(ElemType::f32) == static_cast<int>(DType::f32) &&
                  static_cast<int>(ElemType::f16) == static_cast<int>(DType::f16) &&
                  static_cast<int>(ElemType::bf16) == static_cast<int>(DType::bf16) &&
                  static_cast<int>(ElemType::i32) == static_cast<int>(DType::i32) &&
                  static_cast<int>(ElemType::i64) == static_cast<int>(DType::i64) &&
                  static_cast<int>(ElemType::u8) == static_cast<int>(DType::u8) &&
                  static_cast<int>(ElemType::u16) == static_cast<int>(DType::u16) &&
                  static_cast<int>(ElemType::qi8) == static_cast<int>(DType::qi8) &&
                  static_cast<int>(ElemType::qu8) == static_cast<int>(DType::qu8),
              "the public element tags must match the kernels' DType");
constexpr bool same_tag(ElementType a, ElemType b) noexcept { return static_cast<int>(a) == static_cast<int>(b); }
static_assert(same_tag(ElementType::f32, ElemType::f32) && same_tag(ElementType::f16, ElemType::f16) &&
                  same_tag(ElementType::bf16, ElemType::bf16) && same_tag(ElementType::i32, ElemType::i32) &&
                  same_tag(ElementType::i64, ElemType::i64) && same_tag(ElementType::u8, ElemType::u8) &&
                  same_tag(ElementType::u16, ElemType::u16) && same_tag(ElementType::qi8, ElemType::qi8) &&
                  same_tag(ElementType::qu8, ElemType::qu8),
              "AnyView's ElementType numbers the tags as ElemType");

constexpr std::size_t kSizeMax = std::numeric_limits<std::size_t>::max();

bool is_float_type(ElemType t) noexcept { return t == ElemType::f32 || t == ElemType::f16 || t == ElemType::bf16; }
bool is_quantized(ElemType t) noexcept { return t == ElemType::qi8 || t == ElemType::qu8; }
bool is_label_type(ElemType t) noexcept {
  return t == ElemType::f32 || t == ElemType::i32 || t == ElemType::i64 || t == ElemType::u8 || t == ElemType::u16;
}

// A quantized prediction's parameters: scale finite and > 0 (NaN fails too), zero point a value of
// the element type (TFLite's rule), so every q - zero_point is within [-255, 255].
bool quantization_ok(const Erased& e) noexcept {
  if (!(e.scale > 0.0f && e.scale <= std::numeric_limits<float>::max())) return false;
  const std::int32_t lo = e.type == ElemType::qi8 ? -128 : 0;
  return e.zero_point >= lo && e.zero_point <= lo + 255;
}

std::size_t elem_bytes(ElemType t) noexcept {
  switch (t) {
    case ElemType::f16:
    case ElemType::bf16:
    case ElemType::u16: return 2;
    case ElemType::u8:
    case ElemType::qi8:
    case ElemType::qu8: return 1;
    case ElemType::i64: return 8;
    default: return 4;
  }
}

bool dims_equal(const std::size_t* a, const Shape& b, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// Sparse label shape (SEMANTICS.md): V; V + [1]; or y_pred's shape with the class axis set to 1.
bool label_shape_ok(const Shape& label, const Shape& pred, std::size_t axis, const Plan& p) noexcept {
  const std::size_t lr = label.rank();
  if (lr == p.v_rank && dims_equal(p.v_dims, label, p.v_rank)) return true;
  if (lr == p.v_rank + 1 && dims_equal(p.v_dims, label, p.v_rank) && label[p.v_rank] == 1) return true;
  if (lr == pred.rank()) {
    for (std::size_t i = 0; i < lr; ++i)
      if (label[i] != (i == axis ? 1 : pred[i])) return false;
    return true;
  }
  return false;
}

// The five weight rules of SEMANTICS.md, in order. Fills w_strides and group.
Status plan_weight(const Shape& w, Plan& p) noexcept {
  p.weighted = true;
  for (std::size_t i = 0; i < kMaxRank; ++i) p.w_strides[i] = 0;
  p.group = 1;
  // Rule 1: a scalar applies to every element (all strides 0).
  if (w.rank() == 0) return Status::ok;
  // Rule 2: squeeze a trailing 1, or append one.
  std::size_t dims[kMaxRank + 1] = {};
  std::size_t rank = w.rank();
  for (std::size_t i = 0; i < rank; ++i) dims[i] = w[i];
  if (rank == p.v_rank + 1 && dims[rank - 1] == 1) {
    --rank;
  } else if (p.v_rank >= 1 && rank == p.v_rank - 1) {
    dims[rank++] = 1;
  }
  // Row-major strides of the (possibly squeezed/expanded) weight; the trailing 1 changes none.
  std::size_t strides[kMaxRank + 1] = {};
  std::size_t s = 1;
  for (std::size_t i = rank; i-- > 0;) {
    strides[i] = s;
    s *= dims[i] == 0 ? 1 : dims[i];
  }
  // Rule 3: same rank, each dim 1 or equal: broadcast.
  if (rank == p.v_rank) {
    bool ok = true;
    for (std::size_t i = 0; i < rank; ++i) ok = ok && (dims[i] == 1 || dims[i] == p.v_dims[i]);
    if (ok) {
      for (std::size_t i = 0; i < rank; ++i) p.w_strides[i] = dims[i] == 1 ? 0 : strides[i];
      return Status::ok;
    }
  }
  // Rule 4: a prefix of V's shape: V averaged over the remaining trailing axes, then weighted.
  if (rank < p.v_rank) {
    bool ok = true;
    for (std::size_t i = 0; i < rank; ++i) ok = ok && dims[i] == p.v_dims[i];
    if (ok) {
      for (std::size_t i = 0; i < rank; ++i) p.w_strides[i] = strides[i];
      for (std::size_t i = rank; i < p.v_rank; ++i) p.group *= p.v_dims[i];
      return Status::ok;
    }
  }
  return Status::shape_mismatch;  // rule 5
}

// Weight index == V index / group whenever each stride is V's row-major stride over group along
// every dim longer than 1 (the prefix fallback always is); all strides 0 is a scalar.
Plan::WeightLayout weight_layout(const Plan& p) noexcept {
  if (p.group > 1) return Plan::WeightLayout::contiguous;  // rule 4: index = V index / group
  bool scalar = true;
  bool contiguous = true;
  std::size_t stride = 1;
  for (std::size_t j = p.v_rank; j-- > 0;) {
    if (p.v_dims[j] > 1) {
      scalar = scalar && p.w_strides[j] == 0;
      contiguous = contiguous && p.w_strides[j] * p.group == stride;
    }
    stride *= p.v_dims[j];
  }
  if (scalar) return Plan::WeightLayout::scalar;
  return contiguous ? Plan::WeightLayout::contiguous : Plan::WeightLayout::strided;
}

template <class T>
const T* typed(const Erased& e) noexcept {
  return static_cast<const T*>(e.data);
}

// One label as an int64 class index; false for a NaN/inf float or one beyond int64.
bool to_index(std::int32_t x, std::int64_t& out) noexcept { return out = x, true; }
bool to_index(std::int64_t x, std::int64_t& out) noexcept { return out = x, true; }
bool to_index(std::uint8_t x, std::int64_t& out) noexcept { return out = x, true; }
bool to_index(std::uint16_t x, std::int64_t& out) noexcept { return out = x, true; }
bool to_index(float x, std::int64_t& out) noexcept {
  // Truncated toward zero, as Keras's cast; 2^63 is exactly representable as a float.
  if (!(std::fabs(x) < 9.2233720368547758e18f)) return false;  // NaN, inf, or too large
  out = static_cast<std::int64_t>(x);
  return true;
}

// Without ignore_class: one branch-free pass the compiler can vectorize. A float label is valid
// when its truncation is in [0, K), i.e. -1 < x < K (NaN fails both compares); compared in
// double, which holds every float and every K exactly.
template <class T>
bool labels_in_range(const T* labels, std::size_t n, std::int64_t k) noexcept {
  unsigned bad = 0;  // an integer OR, which vectorizes (a bool one does not)
  if constexpr (std::is_same_v<T, float>) {
    const auto kd = static_cast<double>(k);
    for (std::size_t i = 0; i < n; ++i) {
      const auto x = static_cast<double>(labels[i]);
      bad |= static_cast<unsigned>(!(x > -1.0 && x < kd));
    }
  } else if constexpr (sizeof(T) < 8) {
    // k <= INT32_MAX here (too_many_classes above), so 32-bit unsigned compares suffice.
    const auto uk = static_cast<std::uint32_t>(k);
    for (std::size_t i = 0; i < n; ++i)
      bad |= static_cast<unsigned>(static_cast<std::uint32_t>(labels[i]) >= uk);  // negatives wrap high
  } else {
    const auto uk = static_cast<std::uint64_t>(k);
    for (std::size_t i = 0; i < n; ++i) bad |= static_cast<unsigned>(static_cast<std::uint64_t>(labels[i]) >= uk);
  }
  return bad == 0;
}

// One label as an int64 class index, through a switch on its type: the compact path used with
// ignore_class (per-type loops there would only add code size for a rarer case).
bool label_at(const Erased& labels, std::size_t i, std::int64_t& out) noexcept {
  switch (labels.type) {
    case ElemType::i32: return to_index(typed<std::int32_t>(labels)[i], out);
    case ElemType::i64: return to_index(typed<std::int64_t>(labels)[i], out);
    case ElemType::u8: return to_index(typed<std::uint8_t>(labels)[i], out);
    case ElemType::u16: return to_index(typed<std::uint16_t>(labels)[i], out);
    default: return to_index(typed<float>(labels)[i], out);
  }
}

template <class T>
void convert_labels(const T* labels, std::size_t n, std::int32_t* out) noexcept {
  // Validated: every label is a class index (floats truncate toward zero).
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int32_t>(labels[i]);
}

Status check_labels(const CoreOptions& o, const Erased& labels, const Plan& p) noexcept {
  const auto k = static_cast<std::int64_t>(p.classes);
  const std::size_t n = p.elements;
  if (o.has_ignore) {
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t v = 0;
      if (!label_at(labels, i, v)) return Status::label_out_of_range;  // NaN/inf float
      if (v == o.ignore_class) continue;                                // never range-checked
      if (v < 0 || v >= k) return Status::label_out_of_range;
    }
    return Status::ok;
  }
  bool ok = false;
  switch (labels.type) {
    case ElemType::i32: ok = labels_in_range(typed<std::int32_t>(labels), n, k); break;
    case ElemType::i64: ok = labels_in_range(typed<std::int64_t>(labels), n, k); break;
    case ElemType::u8: ok = labels_in_range(typed<std::uint8_t>(labels), n, k); break;
    case ElemType::u16: ok = labels_in_range(typed<std::uint16_t>(labels), n, k); break;
    case ElemType::f32: ok = labels_in_range(typed<float>(labels), n, k); break;
    default: return Status::invalid_option;
  }
  return ok ? Status::ok : Status::label_out_of_range;
}

Status check_weights_finite(const Erased& w) noexcept {
  const std::size_t n = w.shape->size();
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(load_weight(w, i))) return Status::non_finite_input;
  return Status::ok;
}

}  // namespace

double load_weight(const Erased& weight, std::size_t index) noexcept {
  switch (weight.type) {
    case ElemType::f16: return static_cast<double>(to_float(typed<float16>(weight)[index]));
    case ElemType::bf16: return static_cast<double>(to_float(typed<bfloat16>(weight)[index]));
    default: return static_cast<double>(typed<float>(weight)[index]);
  }
}

void load_labels(const CoreOptions& o, const Erased& labels, std::size_t begin, std::size_t n,
                 std::int32_t* out) noexcept {
  if (o.has_ignore) {
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t v = 0;
      (void)label_at(labels, begin + i, v);  // validated by make_plan
      out[i] = v == o.ignore_class ? -1 : static_cast<std::int32_t>(v);
    }
    return;
  }
  switch (labels.type) {
    case ElemType::i32: return convert_labels(typed<std::int32_t>(labels) + begin, n, out);
    case ElemType::i64: return convert_labels(typed<std::int64_t>(labels) + begin, n, out);
    case ElemType::u8: return convert_labels(typed<std::uint8_t>(labels) + begin, n, out);
    case ElemType::u16: return convert_labels(typed<std::uint16_t>(labels) + begin, n, out);
    default: return convert_labels(typed<float>(labels) + begin, n, out);
  }
}

Status make_plan(const CoreOptions& o, const Erased& y_true, const Erased& y_pred, const Erased* weight,
                 std::size_t capacity, Plan& p) noexcept {
  // Options first: they are wrong whatever the data.
  if (!(o.label_smoothing >= 0.0f && o.label_smoothing <= 1.0f)) return Status::invalid_option;  // NaN too
  if (o.per_class && capacity == 0) return Status::invalid_option;
  if (o.nan_policy != NanPolicy::propagate && o.nan_policy != NanPolicy::reject) return Status::invalid_option;

  // Element types (and a quantized prediction's parameters) next: a run-time typed view (AnyView,
  // the C API) is refused for its type before its shape, as the typed templates refuse it at compile time.
  if (!is_float_type(y_pred.type) && !(is_quantized(y_pred.type) && quantization_ok(y_pred)))
    return Status::invalid_option;
  if (o.kind == Kind::categorical ? !is_float_type(y_true.type) : !is_label_type(y_true.type))
    return Status::invalid_option;
  if (weight != nullptr && !is_float_type(weight->type)) return Status::invalid_option;

  // Ranks.
  const Shape& ps = *y_pred.shape;
  const std::size_t rank = ps.rank();
  if (rank == 0 || rank > kMaxRank) return Status::rank_out_of_range;
  if (y_true.shape->rank() > kMaxRank) return Status::rank_out_of_range;
  if (weight != nullptr && weight->shape->rank() > kMaxRank) return Status::rank_out_of_range;

  // Class axis.
  const auto irank = static_cast<long>(rank);
  if (o.axis < -irank || o.axis >= irank) return Status::invalid_option;
  const std::size_t axis = static_cast<std::size_t>(o.axis < 0 ? o.axis + irank : o.axis);
  p.classes = ps[axis];
  p.outer = 1;
  p.inner = 1;
  p.v_rank = 0;
  for (std::size_t i = 0; i < rank; ++i) {
    if (i == axis) continue;
    p.v_dims[p.v_rank++] = ps[i];
  }
  // A shape whose element count does not fit in size_t describes no buffer.
  if (ps.size() == kSizeMax) return Status::shape_mismatch;
  for (std::size_t i = 0; i < axis; ++i) p.outer *= ps[i];
  for (std::size_t i = axis + 1; i < rank; ++i) p.inner *= ps[i];
  p.elements = p.outer * p.inner;
  p.pred_elem_bytes = elem_bytes(y_pred.type);
  p.truth_elem_bytes = elem_bytes(y_true.type);

  // y_true's shape.
  if (o.kind == Kind::categorical) {
    if (*y_true.shape != ps) return Status::shape_mismatch;
  } else if (!label_shape_ok(*y_true.shape, ps, axis, p)) {
    return Status::shape_mismatch;
  }
  // sample_weight's shape.
  p.weighted = false;
  p.group = 1;
  p.weight_layout = Plan::WeightLayout::none;
  if (weight != nullptr) {
    const Status s = plan_weight(*weight->shape, p);
    if (s != Status::ok) return s;
    p.weight_layout = weight_layout(p);
  }

  // Capacity: the kernels take class indices as int32.
  if ((capacity > 0 && p.classes > capacity) ||
      p.classes > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    return Status::too_many_classes;
  if (p.elements == 0) return Status::ok;  // zero rows: a successful no-op
  if (p.classes == 0) return Status::no_classes;

  if (y_pred.data == nullptr || y_true.data == nullptr) return Status::null_data;
  if (weight != nullptr && weight->data == nullptr && weight->shape->size() > 0) return Status::null_data;

  if (o.kind == Kind::sparse) {
    const Status s = check_labels(o, y_true, p);
    if (s != Status::ok) return s;
  }
  if (weight != nullptr && o.nan_policy == NanPolicy::reject) {
    const Status s = check_weights_finite(*weight);
    if (s != Status::ok) return s;
  }
  return Status::ok;
}

}  // namespace xent::detail
