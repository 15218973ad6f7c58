#pragma once
// Turning a non-ok Status from the library into the one line a user needs: the file at fault and,
// where it can be found, the offending label, weight or loss with its position.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cli/adapters.hpp"
#include "cli/eval.hpp"

namespace xent::cli {

struct Geometry {
  std::size_t axis = 0;      // the class axis of y_pred, normalised
  std::size_t classes = 0;
  std::size_t rows = 0;      // y_pred's first dimension
  bool chunked = false;      // rank >= 2: chunks of rows along axis 0 (axis 1 when the class axis is 0)
  std::size_t chunk_rows = 0;
  std::size_t loss_dims[npy::kMaxRank] = {};  // V: y_pred's shape without the class axis
  std::size_t loss_rank = 0;
};

// Labels: the first offending entry of a chunk that the library refused with label_out_of_range.
bool find_bad_label(const Chunk& c, std::size_t classes, const std::optional<std::int64_t>& ignore,
                    std::size_t& at, std::string& text);

template <class M>
int explain_failure(Status status, const M& metric, const Spec& spec, Source& truth, Source& pred, Source* weights,
                    const Geometry& g, const Chunk& t, const Chunk& p, const Chunk* w, std::size_t r0,
                    std::size_t r1, std::FILE* err) {
  const std::string rows = g.chunked ? " in rows " + std::to_string(r0) + "-" + std::to_string(r1 - 1) : "";
  switch (status) {
    case Status::label_out_of_range: {
      std::size_t at = 0;
      std::string value;
      if (find_bad_label(t, g.classes, spec.ignore_class, at, value)) {
        const npy::Header& h = truth.header();
        return report(err, kExitData, "%s: label %s at %s is outside [0, %zu)", truth.name.c_str(), value.c_str(),
                      position_text(t.first + at, h.shape, h.rank).c_str(), g.classes);
      }
      return report(err, kExitData, "%s: a label%s is outside [0, %zu)", truth.name.c_str(), rows.c_str(),
                    g.classes);
    }
    case Status::shape_mismatch: {
      if (weights != nullptr) {
        M probe(metric.options());
        if (update(probe, t, p, nullptr) == Status::ok)
          return report(err, kExitData, "%s: sample weights of shape %s do not fit the losses of shape %s (%s "
                        "without its class axis %zu)", weights->name.c_str(), weights->shape().c_str(),
                        shape_text(g.loss_dims, g.loss_rank).c_str(), pred.name.c_str(), g.axis);
      }
      return report(err, kExitData, "%s: y_true of shape %s does not fit y_pred %s of shape %s (class axis %zu)",
                    truth.name.c_str(), truth.shape().c_str(), pred.name.c_str(), pred.shape().c_str(), g.axis);
    }
    case Status::non_finite_input: {
      if (w != nullptr && w->elem == Elem::f32) {
        const float* v = static_cast<const float*>(w->data);
        for (std::size_t i = 0; i < w->shape.size(); ++i)
          if (!std::isfinite(v[i]))
            return report(err, kExitData, "%s: sample weight %s at %s is not finite (--nan reject)",
                          weights->name.c_str(), float_text(static_cast<double>(v[i])).c_str(),
                          position_text(w->first + i, weights->header().shape, weights->header().rank).c_str());
      } else if (w != nullptr) {
        const float16* v = static_cast<const float16*>(w->data);
        for (std::size_t i = 0; i < w->shape.size(); ++i)
          if (!std::isfinite(to_float(v[i])))
            return report(err, kExitData, "%s: sample weight %s at %s is not finite (--nan reject)",
                          weights->name.c_str(), float_text(static_cast<double>(to_float(v[i]))).c_str(),
                          position_text(w->first + i, weights->header().shape, weights->header().rank).c_str());
      }
      std::size_t n = 1;
      for (std::size_t i = 0; i < g.loss_rank; ++i) n *= i == 0 && g.chunked ? r1 - r0 : g.loss_dims[i];
      std::vector<float> losses(n);
      const std::size_t first = g.chunked && g.rows > 0 ? r0 * (n / std::max<std::size_t>(1, r1 - r0)) : 0;
      (void)chunk_losses(metric, t, p, losses.data(), n);
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(losses[i]))
          return report(err, kExitData, "%s: the loss at %s is %s (--nan reject refuses non-finite losses)",
                        pred.name.c_str(), position_text(first + i, g.loss_dims, g.loss_rank).c_str(),
                        float_text(static_cast<double>(losses[i])).c_str());
      return report(err, kExitData, "%s: a non-finite loss or weight%s (--nan reject)", pred.name.c_str(),
                    rows.c_str());
    }
    case Status::no_classes:
      return report(err, kExitData, "%s: the class axis %zu of shape %s has length 0", pred.name.c_str(), g.axis,
                    pred.shape().c_str());
    default:
      return report(err, kExitData, "%s: %s", pred.name.c_str(), status_message(status));
  }
}

}  // namespace xent::cli
