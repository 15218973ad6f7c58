#pragma once
// Keras's CategoricalCrossentropy and SparseCategoricalCrossentropy metrics (SEMANTICS.md).
// The templates only turn typed views into type-erased ones; all the work is one compiled core
// shared by both metrics (src/plan.cpp, src/update.cpp, src/serialize.cpp).
//
// MaxClasses == 0: any number of classes, no per-class storage.
// MaxClasses  > 0: at most that many classes (Status::too_many_classes beyond), per-class totals
//                  and counts inline (options.per_class).
// Every object is trivially destructible, allocation-free, usable in static storage; not thread-safe.
#include <cstddef>
#include <cstdint>

#include "xent/any_view.hpp"
#include "xent/detail/core.hpp"
#include "xent/half.hpp"
#include "xent/options.hpp"
#include "xent/quantized.hpp"
#include "xent/shape.hpp"
#include "xent/status.hpp"

namespace xent {
namespace detail {

// What y_pred may be in the typed overloads: a View of float32 / float16 / bfloat16 or a
// QuantizedView; whether a View's elements are right is a static_assert with a message.
template <class P>
inline constexpr bool kIsPredView = false;
template <class T>
inline constexpr bool kIsPredView<View<T>> = true;
template <class Q>
inline constexpr bool kIsPredView<QuantizedView<Q>> = true;
template <class P>
inline constexpr bool kIsPredElem = true;  // QuantizedView checks its own element type
template <class T>
inline constexpr bool kIsPredElem<View<T>> = kIsFloatElem<T>;

// The part both metrics share: name, sums, per-class sums. Options live in the derived class
// because their public types differ.
template <std::size_t MaxClasses>
class MetricState {
 public:
  float result() const noexcept { return mean_or_zero(total_, count_); }
  constexpr double total() const noexcept { return total_; }
  constexpr double count() const noexcept { return count_; }
  void reset_state() noexcept {
    total_ = 0.0;
    count_ = 0.0;
    // In place: assigning a fresh ClassStore would put a temporary of 16 * MaxClasses bytes on
    // the stack in unoptimized builds.
    if constexpr (MaxClasses > 0) {
      for (std::size_t k = 0; k < MaxClasses; ++k) {
        classes_.total[k] = 0.0;
        classes_.count[k] = 0.0;
      }
    }
  }
  void reset_states() noexcept { reset_state(); }  // the TF 2.4 name
  constexpr const char* name() const noexcept { return name_; }
  // Per-class mean (options.per_class); 0 when the class has no weight yet or k is out of range.
  float per_class_result(std::size_t k) const noexcept {
    if constexpr (MaxClasses == 0) {
      (void)k;
      return 0.0f;
    } else {
      return k < MaxClasses ? mean_or_zero(classes_.total[k], classes_.count[k]) : 0.0f;
    }
  }
  double per_class_count(std::size_t k) const noexcept {
    if constexpr (MaxClasses == 0) {
      (void)k;
      return 0.0;
    } else {
      return k < MaxClasses ? classes_.count[k] : 0.0;
    }
  }
  double per_class_total(std::size_t k) const noexcept {
    if constexpr (MaxClasses == 0) {
      (void)k;
      return 0.0;
    } else {
      return k < MaxClasses ? classes_.total[k] : 0.0;
    }
  }
  static constexpr std::size_t max_classes = MaxClasses;
  static constexpr std::size_t serialized_size = serialized_size_for(MaxClasses);

 protected:
  constexpr explicit MetricState(const char* name) noexcept {
    std::size_t i = 0;
    if (name != nullptr)
      for (; i + 1 < kNameSize && name[i] != '\0'; ++i) name_[i] = name[i];
    for (; i < kNameSize; ++i) name_[i] = '\0';
  }
  Accumulators accumulators() noexcept {
    return Accumulators{&total_, &count_, classes_.total_ptr(), classes_.count_ptr(), MaxClasses};
  }
  // One update for every overload: the arguments erased (View, QuantizedView or AnyView), the
  // weights optional.
  template <class T, class P>
  Status update_with(const CoreOptions& options, const T& y_true, const P& y_pred) noexcept {
    return update(options, erase(y_true), erase(y_pred), nullptr, accumulators());
  }
  template <class T, class P, class W>
  Status update_with(const CoreOptions& options, const T& y_true, const P& y_pred, const W& sample_weight) noexcept {
    const Erased w = erase(sample_weight);
    return update(options, erase(y_true), erase(y_pred), &w, accumulators());
  }
  Status merge_from(const CoreOptions& mine, const CoreOptions& theirs, const MetricState& other) noexcept {
    if (!same_options(mine, theirs)) return Status::incompatible_state;
    merge(accumulators(), &other.total_, &other.count_, other.classes_.total_ptr(), other.classes_.count_ptr());
    return Status::ok;
  }
  Status serialize_with(const CoreOptions& options, unsigned char* out, std::size_t capacity) const noexcept {
    return detail::serialize(options, &total_, &count_, classes_.total_ptr(), classes_.count_ptr(), MaxClasses,
                             out, capacity);
  }

 private:
  char name_[kNameSize] = {};
  double total_ = 0.0;
  double count_ = 0.0;
  ClassStore<MaxClasses> classes_{};
};

// Everything of a metric but its name and y_true's element types: Options is CategoricalOptions
// or SparseOptions.
template <class Opts, std::size_t MaxClasses>
class Metric : public MetricState<MaxClasses> {
  static constexpr bool kSparse = std::is_same_v<Opts, SparseOptions>;
  template <class T>
  static constexpr void check_truth() noexcept {
    static_assert(kSparse || kIsFloatElem<T>, "y_true must be float, xent::float16 or xent::bfloat16");
    static_assert(!kSparse || kIsLabelElem<T>, "labels must be int32, int64, uint8, uint16 or float");
  }

 public:
  using Options = Opts;

  // y_pred: a View (float32, float16, bfloat16) or a QuantizedView (xent/quantized.hpp: int8 / uint8
  // with scale and zero point).
  template <class T, class P, std::enable_if_t<kIsPredView<P>, int> = 0>
  [[nodiscard]] Status update_state(View<T> y_true, P y_pred) noexcept {
    check_truth<T>();
    static_assert(kIsPredElem<P>, "y_pred must be float, xent::float16 or xent::bfloat16");
    return this->update_with(core_options(options_), y_true, y_pred);
  }
  template <class T, class P, class W, std::enable_if_t<kIsPredView<P>, int> = 0>
  [[nodiscard]] Status update_state(View<T> y_true, P y_pred, View<W> sample_weight) noexcept {
    check_truth<T>();
    static_assert(kIsPredElem<P>, "y_pred must be float, xent::float16 or xent::bfloat16");
    static_assert(kIsFloatElem<W>, "sample_weight must be float, xent::float16 or xent::bfloat16");
    return this->update_with(core_options(options_), y_true, y_pred, sample_weight);
  }
  // Element types known at run time (xent/any_view.hpp); a type an argument does not take is
  // Status::invalid_option.
  [[nodiscard]] Status update_state(const AnyView& y_true, const AnyView& y_pred) noexcept {
    return this->update_with(core_options(options_), y_true, y_pred);
  }
  [[nodiscard]] Status update_state(const AnyView& y_true, const AnyView& y_pred, const AnyView& sample_weight) noexcept {
    return this->update_with(core_options(options_), y_true, y_pred, sample_weight);
  }
  // Same kind, options and MaxClasses (the type) else Status::incompatible_state.
  [[nodiscard]] Status merge_state(const Metric& other) noexcept {
    return this->merge_from(core_options(options_), core_options(other.options_), other);
  }
  const Options& options() const noexcept { return options_; }
  // Little-endian, versioned, checksummed; serialized_size bytes; the same bytes on every target.
  [[nodiscard]] Status serialize(unsigned char* out, std::size_t capacity) const noexcept {
    return this->serialize_with(core_options(options_), out, capacity);
  }
  // Replaces total/count (and per-class sums) by the serialized ones; kind, options and capacity
  // must match (incompatible_state), the bytes must pass their checks (corrupt_state).
  [[nodiscard]] Status deserialize(const unsigned char* in, std::size_t size) noexcept {
    return detail::deserialize(core_options(options_), this->accumulators(), in, size);
  }

 protected:
  constexpr Metric(const Options& options, const char* name) noexcept : MetricState<MaxClasses>(name), options_(options) {}

 private:
  Options options_;
};

}  // namespace detail

// y_true one-hot or soft (same shape and any float type as y_pred), y_pred float/float16/bfloat16
// or quantized int8/uint8 (QuantizedView).
template <std::size_t MaxClasses = 0>
class CategoricalCrossentropy : public detail::Metric<CategoricalOptions, MaxClasses> {
 public:
  constexpr explicit CategoricalCrossentropy(const CategoricalOptions& options = {},
                                             const char* name = "categorical_crossentropy") noexcept
      : detail::Metric<CategoricalOptions, MaxClasses>(options, name) {}
};

// y_true integer class indices (int32, int64, uint8, uint16, or float truncated toward zero).
template <std::size_t MaxClasses = 0>
class SparseCategoricalCrossentropy : public detail::Metric<SparseOptions, MaxClasses> {
 public:
  constexpr explicit SparseCategoricalCrossentropy(const SparseOptions& options = {},
                                                   const char* name = "sparse_categorical_crossentropy") noexcept
      : detail::Metric<SparseOptions, MaxClasses>(options, name) {}
};

}  // namespace xent
