#pragma once
// Every fallible call returns a Status; nothing in xent throws.

namespace xent {

enum class Status : int {
  ok = 0,
  null_data,           // a view with elements has a null pointer
  rank_out_of_range,   // y_pred of rank 0, or any rank above kMaxRank
  shape_mismatch,      // y_true / y_pred / sample_weight shapes do not fit
  too_many_classes,    // class axis longer than the metric's MaxClasses (when MaxClasses > 0)
  no_classes,          // class axis of length 0 while the batch has rows
  label_out_of_range,  // sparse label outside [0, K), not ignore_class, or a NaN/inf float label
  invalid_option,      // label_smoothing outside [0, 1], axis outside [-rank, rank), ...
  non_finite_input,    // NanPolicy::reject and a NaN/inf loss or weight in the batch
  incompatible_state,  // merge_state / deserialize with another kind, options or capacity
  buffer_too_small,    // serialize into a buffer shorter than serialized_size
  corrupt_state,       // deserialize of bytes that fail their checks
};

// One clear English sentence in static storage; never null.
const char* status_message(Status status) noexcept;

}  // namespace xent
