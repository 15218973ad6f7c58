#pragma once
#include <cstdint>
#include <optional>

namespace xent {

enum class NanPolicy : std::uint8_t {
  propagate,  // a NaN loss enters total and result() stays NaN until reset (Keras)
  reject,     // a batch with a NaN/inf loss or weight is refused with Status::non_finite_input
};

struct CategoricalOptions {
  bool from_logits = false;
  float label_smoothing = 0.0f;  // in [0, 1]
  int axis = -1;                 // class axis of y_pred, in [-rank, rank)
  NanPolicy nan_policy = NanPolicy::propagate;
  bool per_class = false;        // needs MaxClasses > 0
};

struct SparseOptions {
  bool from_logits = false;
  int axis = -1;
  std::optional<std::int64_t> ignore_class;
  float label_smoothing = 0.0f;  // beyond Keras: (1-ls)*nll + ls*mean_k(-log q_k); 0 = Keras
  NanPolicy nan_policy = NanPolicy::propagate;
  bool per_class = false;
};

}  // namespace xent
