#pragma once
// Metric adapters: a chunk's untyped data handed to the library's typed views and metric calls
// (update_state, and the functional forms that locate a non-finite loss).
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cli/source.hpp"
#include "xent/xent.hpp"

namespace xent::cli {

template <class F>
Status with_float(const Chunk& c, F&& f) {
  if (c.elem == Elem::f16) return f(view(static_cast<const float16*>(c.data), c.shape));
  return f(view(static_cast<const float*>(c.data), c.shape));
}

// y_pred: floats, or quantized int8 / uint8 as stored with the chunk's scale and zero point.
template <class F>
Status with_pred(const Chunk& c, F&& f) {
  if (c.elem == Elem::qi8)
    return f(quantized(static_cast<const std::int8_t*>(c.data), c.shape, c.scale, c.zero_point));
  if (c.elem == Elem::qu8)
    return f(quantized(static_cast<const std::uint8_t*>(c.data), c.shape, c.scale, c.zero_point));
  return with_float(c, f);
}

template <class F>
Status with_label(const Chunk& c, F&& f) {
  switch (c.elem) {
    case Elem::i32: return f(view(static_cast<const std::int32_t*>(c.data), c.shape));
    case Elem::i64: return f(view(static_cast<const std::int64_t*>(c.data), c.shape));
    case Elem::u8: return f(view(static_cast<const std::uint8_t*>(c.data), c.shape));
    case Elem::u16: return f(view(static_cast<const std::uint16_t*>(c.data), c.shape));
    default: return f(view(static_cast<const float*>(c.data), c.shape));
  }
}

template <class M>
struct IsSparse : std::false_type {};
template <std::size_t N>
struct IsSparse<SparseCategoricalCrossentropy<N>> : std::true_type {};

template <class M, class F>
Status with_truth(const Chunk& t, F&& f) {
  if constexpr (IsSparse<M>::value) return with_label(t, f);
  else return with_float(t, f);
}

template <class M>
Status update(M& metric, const Chunk& t, const Chunk& p, const Chunk* w) {
  return with_truth<M>(t, [&](auto tv) {
    return with_pred(p, [&](auto pv) -> Status {
      if (w == nullptr) return metric.update_state(tv, pv);
      return with_float(*w, [&](auto wv) { return metric.update_state(tv, pv, wv); });
    });
  });
}

// Per-element losses of one chunk (to locate a non-finite loss after Status::non_finite_input).
template <class M>
Status chunk_losses(const M& metric, const Chunk& t, const Chunk& p, float* out, std::size_t n) {
  return with_truth<M>(t, [&](auto tv) {
    return with_pred(p, [&](auto pv) -> Status {
      if constexpr (IsSparse<M>::value) return sparse_categorical_crossentropy(tv, pv, out, n, metric.options());
      else return categorical_crossentropy(tv, pv, out, n, metric.options());
    });
  });
}

}  // namespace xent::cli
