#include "xent/status.hpp"

namespace xent {

const char* status_message(Status status) noexcept {
  switch (status) {
    case Status::ok: return "The operation succeeded.";
    case Status::null_data: return "A view with elements has a null data pointer.";
    case Status::rank_out_of_range: return "y_pred has rank 0, or an input has a rank above kMaxRank (8).";
    case Status::shape_mismatch: return "The shapes of y_true, y_pred and sample_weight do not fit together.";
    case Status::too_many_classes: return "The class axis is longer than the metric's MaxClasses.";
    case Status::no_classes: return "The class axis has length 0 while the batch has rows.";
    case Status::label_out_of_range:
      return "A sparse label is outside [0, number of classes), is not ignore_class, or is a NaN/inf float.";
    case Status::invalid_option:
      return "An option is invalid: label_smoothing outside [0, 1], axis outside [-rank, rank), or per_class "
             "without MaxClasses.";
    case Status::non_finite_input: return "NanPolicy::reject: the batch has a NaN or infinite loss or weight.";
    case Status::incompatible_state: return "The other state has another metric kind, options or capacity.";
    case Status::buffer_too_small: return "The output buffer is smaller than required.";
    case Status::corrupt_state: return "The serialized state fails its checks (magic, version, size or checksum).";
  }
  return "Unknown status value.";
}

}  // namespace xent
