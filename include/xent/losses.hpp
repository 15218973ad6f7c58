#pragma once
// Keras's functional categorical_crossentropy / sparse_categorical_crossentropy with reduction
// none: one loss per element of V (y_pred's shape without the class axis), written to out.
//
// out_size must be at least the number of elements of V, else Status::buffer_too_small (out is
// caller-owned memory, so a short buffer is a buffer problem, not a shape problem); a null out
// with elements gives Status::null_data. Ignored entries (sparse ignore_class) get 0.
// On an error found before any arithmetic (every Status except non_finite_input) out is untouched.
// With NanPolicy::reject and a non-finite loss the call returns non_finite_input and out holds the
// computed losses, non-finite ones included, so the caller can find them. per_class is ignored.
#include <cstddef>

#include "xent/any_view.hpp"
#include "xent/detail/core.hpp"
#include "xent/options.hpp"
#include "xent/quantized.hpp"
#include "xent/shape.hpp"
#include "xent/status.hpp"

namespace xent {

template <class T, class P>
[[nodiscard]] Status categorical_crossentropy(View<T> y_true, View<P> y_pred, float* out, std::size_t out_size,
                                              const CategoricalOptions& options = {}) noexcept {
  static_assert(detail::kIsFloatElem<T>, "y_true must be float, xent::float16 or xent::bfloat16");
  static_assert(detail::kIsFloatElem<P>, "y_pred must be float, xent::float16 or xent::bfloat16");
  return detail::losses(detail::core_options(options), detail::erase(y_true), detail::erase(y_pred), out, out_size);
}

template <class L, class P>
[[nodiscard]] Status sparse_categorical_crossentropy(View<L> y_true, View<P> y_pred, float* out,
                                                     std::size_t out_size, const SparseOptions& options = {}) noexcept {
  static_assert(detail::kIsLabelElem<L>, "labels must be int32, int64, uint8, uint16 or float");
  static_assert(detail::kIsFloatElem<P>, "y_pred must be float, xent::float16 or xent::bfloat16");
  return detail::losses(detail::core_options(options), detail::erase(y_true), detail::erase(y_pred), out, out_size);
}

// y_pred quantized (xent/quantized.hpp): int8 / uint8 with scale and zero point.
template <class T, class Q>
[[nodiscard]] Status categorical_crossentropy(View<T> y_true, QuantizedView<Q> y_pred, float* out,
                                              std::size_t out_size, const CategoricalOptions& options = {}) noexcept {
  static_assert(detail::kIsFloatElem<T>, "y_true must be float, xent::float16 or xent::bfloat16");
  return detail::losses(detail::core_options(options), detail::erase(y_true), detail::erase(y_pred), out, out_size);
}

template <class L, class Q>
[[nodiscard]] Status sparse_categorical_crossentropy(View<L> y_true, QuantizedView<Q> y_pred, float* out,
                                                     std::size_t out_size, const SparseOptions& options = {}) noexcept {
  static_assert(detail::kIsLabelElem<L>, "labels must be int32, int64, uint8, uint16 or float");
  return detail::losses(detail::core_options(options), detail::erase(y_true), detail::erase(y_pred), out, out_size);
}

// Element types known at run time (xent/any_view.hpp); a type an argument does not take is
// Status::invalid_option.
[[nodiscard]] inline Status categorical_crossentropy(const AnyView& y_true, const AnyView& y_pred, float* out,
                                                     std::size_t out_size, const CategoricalOptions& options = {}) noexcept {
  return detail::losses(detail::core_options(options), detail::erase(y_true), detail::erase(y_pred), out, out_size);
}
[[nodiscard]] inline Status sparse_categorical_crossentropy(const AnyView& y_true, const AnyView& y_pred, float* out,
                                                            std::size_t out_size, const SparseOptions& options = {}) noexcept {
  return detail::losses(detail::core_options(options), detail::erase(y_true), detail::erase(y_pred), out, out_size);
}

}  // namespace xent
