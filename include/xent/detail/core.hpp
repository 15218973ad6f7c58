#pragma once
// The bridge between the typed templates of metrics.hpp / losses.hpp and the one compiled core
// (src/plan.cpp, src/update.cpp, src/serialize.cpp). Not part of the public API: names here may
// change. Every typed view becomes an Erased (pointer, element tag, shape; scale and zero point for
// quantized predictions), so every combination of element types shares one copy of the code.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "xent/any_view.hpp"
#include "xent/half.hpp"
#include "xent/options.hpp"
#include "xent/quantized.hpp"
#include "xent/shape.hpp"
#include "xent/status.hpp"

namespace xent::detail {

// Same values as the kernels' DType (src/kernels/kernel_table.hpp), the public ElementType and the
// C API's xent_dtype; the core checks that. qi8 / qu8: quantized predictions, not the u8 of labels.
enum class ElemType : std::uint8_t { f32, f16, bf16, i32, i64, u8, u16, qi8, qu8, unsupported };

template <class T>
constexpr ElemType elem_type_of() noexcept {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, float>) return ElemType::f32;
  else if constexpr (std::is_same_v<U, float16>) return ElemType::f16;
  else if constexpr (std::is_same_v<U, bfloat16>) return ElemType::bf16;
  // Integers by size and signedness, so int / long / long long all find their tag.
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 4) return ElemType::i32;
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U> && sizeof(U) == 8) return ElemType::i64;
  else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 1 &&
                     !std::is_same_v<U, bool>) return ElemType::u8;
  else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U> && sizeof(U) == 2) return ElemType::u16;
  else return ElemType::unsupported;
}

template <class T>
inline constexpr bool kIsFloatElem =
    elem_type_of<T>() == ElemType::f32 || elem_type_of<T>() == ElemType::f16 || elem_type_of<T>() == ElemType::bf16;
template <class T>
inline constexpr bool kIsLabelElem = elem_type_of<T>() == ElemType::f32 || elem_type_of<T>() == ElemType::i32 ||
                                     elem_type_of<T>() == ElemType::i64 || elem_type_of<T>() == ElemType::u8 ||
                                     elem_type_of<T>() == ElemType::u16;

// Borrows the view's shape (a pointer, not a 72-byte copy in every caller's frame: M1), so an
// Erased lives no longer than the call it is made for.
struct Erased {
  const void* data = nullptr;
  ElemType type = ElemType::f32;
  const Shape* shape = nullptr;
  float scale = 1.0f;            // qi8 / qu8 only: value = float32(scale * (q - zero_point))
  std::int32_t zero_point = 0;
};

template <class T>
constexpr Erased erase(const View<T>& v) noexcept {
  return Erased{static_cast<const void*>(v.data), elem_type_of<T>(), &v.shape};
}
template <class T>
constexpr Erased erase(const QuantizedView<T>& v) noexcept {
  return Erased{static_cast<const void*>(v.data), std::is_same_v<T, std::int8_t> ? ElemType::qi8 : ElemType::qu8,
                &v.shape, v.scale, v.zero_point};
}
// The tag as given; the plan refuses one its argument does not take (or no element type at all).
constexpr Erased erase(const AnyView& v) noexcept {
  return Erased{v.data, static_cast<ElemType>(static_cast<std::uint8_t>(v.type)), &v.shape, v.scale, v.zero_point};
}

enum class Kind : std::uint8_t { categorical = 1, sparse = 2 };

// Both metrics' options in one shape, so plan, commit and serialization are shared.
struct CoreOptions {
  Kind kind = Kind::categorical;
  bool from_logits = false;
  float label_smoothing = 0.0f;
  int axis = -1;
  NanPolicy nan_policy = NanPolicy::propagate;
  bool per_class = false;
  bool has_ignore = false;
  std::int64_t ignore_class = 0;
};

constexpr CoreOptions core_options(const CategoricalOptions& o) noexcept {
  CoreOptions c;
  c.kind = Kind::categorical;
  c.from_logits = o.from_logits;
  c.label_smoothing = o.label_smoothing;
  c.axis = o.axis;
  c.nan_policy = o.nan_policy;
  c.per_class = o.per_class;
  return c;
}
constexpr CoreOptions core_options(const SparseOptions& o) noexcept {
  CoreOptions c;
  c.kind = Kind::sparse;
  c.from_logits = o.from_logits;
  c.label_smoothing = o.label_smoothing;
  c.axis = o.axis;
  c.nan_policy = o.nan_policy;
  c.per_class = o.per_class;
  c.has_ignore = o.ignore_class.has_value();
  c.ignore_class = o.ignore_class.value_or(0);
  return c;
}

// The mutable state the core updates. class_total / class_count are null when capacity == 0.
struct Accumulators {
  double* total;
  double* count;
  double* class_total;
  double* class_count;
  std::size_t capacity;  // MaxClasses
};

// One metric update: plan (every check), row blocks through the kernels, commit on success only.
// weight may be null (no sample_weight). One compiled function per kind, and an inline choice: the
// typed templates' options.kind is a constant, so a program links the code of the kinds it uses.
Status update_sparse(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, const Erased* weight,
                     const Accumulators& acc) noexcept;
Status update_categorical(const CoreOptions& options, const Erased& y_true, const Erased& y_pred,
                          const Erased* weight, const Accumulators& acc) noexcept;
inline Status update(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, const Erased* weight,
                     const Accumulators& acc) noexcept {
  return options.kind == Kind::sparse ? update_sparse(options, y_true, y_pred, weight, acc)
                                      : update_categorical(options, y_true, y_pred, weight, acc);
}

// Per-element losses (reduction none) into out[0 .. size of V); one function per kind, as update.
Status losses_sparse(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, float* out,
                     std::size_t out_size) noexcept;
Status losses_categorical(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, float* out,
                          std::size_t out_size) noexcept;
inline Status losses(const CoreOptions& options, const Erased& y_true, const Erased& y_pred, float* out,
                     std::size_t out_size) noexcept {
  return options.kind == Kind::sparse ? losses_sparse(options, y_true, y_pred, out, out_size)
                                      : losses_categorical(options, y_true, y_pred, out, out_size);
}

// Options equal in every field that changes the arithmetic (label_smoothing compared by bits).
bool same_options(const CoreOptions& a, const CoreOptions& b) noexcept;

// Adds other's sums into acc (same capacity, checked by the caller's types).
void merge(const Accumulators& acc, const double* other_total, const double* other_count,
           const double* other_class_total, const double* other_class_count) noexcept;

constexpr std::size_t kSerialHeaderSize = 4 + 2 + 1 + 1 + 4 + 4 + 8 + 8 + 8 + 8;  // see serialize.cpp
constexpr std::size_t serialized_size_for(std::size_t capacity) noexcept {
  return kSerialHeaderSize + 16 * capacity + 4;
}
Status serialize(const CoreOptions& options, const double* total, const double* count, const double* class_total,
                 const double* class_count, std::size_t capacity, unsigned char* out, std::size_t size) noexcept;
Status deserialize(const CoreOptions& options, const Accumulators& acc, const unsigned char* in,
                   std::size_t size) noexcept;

// float(total / count), 0 when count == 0 (divide_no_nan).
float mean_or_zero(double total, double count) noexcept;

// Per-class storage, inline; nothing at all for MaxClasses == 0.
template <std::size_t N>
struct ClassStore {
  double total[N] = {};
  double count[N] = {};
  constexpr double* total_ptr() noexcept { return total; }
  constexpr double* count_ptr() noexcept { return count; }
  constexpr const double* total_ptr() const noexcept { return total; }
  constexpr const double* count_ptr() const noexcept { return count; }
};
template <>
struct ClassStore<0> {
  constexpr double* total_ptr() noexcept { return nullptr; }
  constexpr double* count_ptr() noexcept { return nullptr; }
  constexpr const double* total_ptr() const noexcept { return nullptr; }
  constexpr const double* count_ptr() const noexcept { return nullptr; }
};

inline constexpr std::size_t kNameSize = 64;

}  // namespace xent::detail
