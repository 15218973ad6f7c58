// The evaluation loop: checks that the arrays fit each other, plans how each is chunked, builds
// the metric from the Spec and feeds it chunk by chunk (errors explained by explain.hpp).
#include "cli/eval.hpp"

#include <algorithm>

#include "cli.hpp"
#include "cli/adapters.hpp"
#include "cli/explain.hpp"
#include "cli/output.hpp"

namespace xent::cli {
namespace {

constexpr std::size_t kDefaultChunkElements = std::size_t{1} << 20;

bool is_float(npy::DType t) { return t == npy::DType::f4 || t == npy::DType::f2 || t == npy::DType::f8; }

template <class M>
int run_metric(M& metric, const Spec& spec, Source& truth, Source& pred, Source* weights, const Geometry& g,
               Outcome& out, std::FILE* err) {
  Progress progress(err, spec.progress && g.chunked, g.rows);
  std::size_t r0 = 0;
  do {
    const std::size_t r1 = g.chunked ? std::min(g.rows, r0 + g.chunk_rows) : g.rows;
    Chunk t, p, w;
    npy::Error e;
    for (auto [source, chunk] : {std::pair{&truth, &t}, std::pair{&pred, &p}, std::pair{weights, &w}}) {
      if (source != nullptr && !take(*source, r0, r1, *chunk, e)) {
        progress.clear();
        return report(err, kExitData, "%s: %s", source->name.c_str(), e.text);
      }
    }
    const Status status = update(metric, t, p, weights != nullptr ? &w : nullptr);
    if (status != Status::ok) {
      progress.clear();
      return explain_failure(status, metric, spec, truth, pred, weights, g, t, p, weights != nullptr ? &w : nullptr,
                             r0, r1, err);
    }
    ++out.chunks;
    r0 = r1;
    progress.update(r0);
  } while (r0 < g.rows);
  progress.clear();
  out.metric = metric.name();
  out.result = metric.result();
  out.total = metric.total();
  out.count = metric.count();
  out.per_class_requested = spec.per_class;
  if (spec.per_class) {
    for (std::size_t k = 0; k < g.classes; ++k)
      out.per_class.push_back({metric.per_class_result(k), metric.per_class_total(k), metric.per_class_count(k)});
  }
  return kExitOk;
}

}  // namespace

int evaluate(const Spec& spec, Source& truth, Source& pred, Source* weights, Outcome& out, std::FILE* err) {
  out = Outcome{};
  const npy::Header& ph = pred.header();
  const bool eight_bit = ph.dtype == npy::DType::i1 || ph.dtype == npy::DType::u1;
  if (spec.quantized ? !eight_bit : !is_float(ph.dtype))
    return report(err, kExitData, "%s: y_pred must hold floats (<f4, <f2 or <f8), or 8-bit values (|i1, |u1) with a "
                  "scale and zero point, not %s", pred.name.c_str(), npy::dtype_name(ph.dtype));
  if (ph.rank == 0)
    return report(err, kExitData, "%s: y_pred is a scalar; it needs a class axis", pred.name.c_str());
  const long rank = static_cast<long>(ph.rank);
  if (spec.axis < -rank || spec.axis >= rank)
    return report(err, kExitData, "%s: --axis %d is outside [%ld, %ld) for y_pred of shape %s", pred.name.c_str(),
                  spec.axis, -rank, rank, pred.shape().c_str());
  Geometry g;
  g.axis = static_cast<std::size_t>(spec.axis < 0 ? spec.axis + rank : spec.axis);
  g.classes = ph.shape[g.axis];
  g.chunked = ph.rank >= 2;
  g.rows = g.axis == 0 && g.chunked ? ph.shape[1] : ph.shape[0];
  for (std::size_t i = 0; i < ph.rank; ++i)
    if (i != g.axis) g.loss_dims[g.loss_rank++] = ph.shape[i];
  if (spec.per_class && g.classes > kPerClassMaxClasses)
    return report(err, kExitData, "%s: --per-class supports at most %u classes, the class axis has %zu",
                  pred.name.c_str(), kPerClassMaxClasses, g.classes);

  pred.role = Role::pred;
  pred.quantized = spec.quantized;
  pred.scale = spec.pred_scale;
  pred.zero_point = spec.pred_zero_point;
  truth.role = spec.sparse ? Role::labels : Role::truth;
  if (weights != nullptr) weights->role = Role::weights;
  // Rank 1 (a single row of classes): one update. Otherwise chunks of rows along axis 0, or with
  // the class axis first along axis 1 (y_pred[:, r0:r1] copied class by class).
  if (g.chunked) {
    const npy::Header& th = truth.header();
    const auto misfit = [&] {
      return report(err, kExitData, "%s: y_true of shape %s does not fit y_pred %s of shape %s (class axis %zu)",
                    truth.name.c_str(), truth.shape().c_str(), pred.name.c_str(), pred.shape().c_str(), g.axis);
    };
    pred.sliced = truth.sliced = true;
    if (g.axis != 0) {
      if (th.rank == 0 || th.shape[0] != g.rows) return misfit();
    } else {
      pred.slice_axis = 1;
      pred.gather = ph.shape[0] > 1;
      if (!spec.sparse) {
        // Categorical y_true has y_pred's shape exactly.
        if (th.rank != ph.rank || !std::equal(th.shape, th.shape + th.rank, ph.shape)) return misfit();
        truth.slice_axis = 1;
        truth.gather = pred.gather;
      } else if (th.rank == ph.rank && th.shape[0] == 1 && th.shape[1] == g.rows) {
        truth.slice_axis = 1;  // y_pred's shape with the class axis set to 1: contiguous
      } else if (th.rank == 0 || th.shape[0] != g.rows) {
        return misfit();
      }
    }
    if (weights != nullptr) {
      const npy::Header& wh = weights->header();
      // A scalar weight, or one of first dimension 1 (broadcast over rows), goes whole with every chunk.
      if (wh.rank > 0 && wh.shape[0] == g.rows) weights->sliced = true;
      else if (wh.rank > 0 && wh.shape[0] != 1)
        return report(err, kExitData, "%s: sample weights have %zu rows, y_pred %s has %zu",
                      weights->name.c_str(), wh.shape[0], pred.name.c_str(), g.rows);
    }
  }
  for (Source* s : {&truth, &pred, weights}) {
    if (s == nullptr) continue;
    s->row_elems = 1;
    for (std::size_t i = s->slice_axis + 1; i < s->header().rank; ++i) s->row_elems *= s->header().shape[i];
    plan_source(*s);
  }
  // Elements of y_pred per row (all classes).
  const std::size_t pred_row = g.rows > 0 ? std::max<std::size_t>(1, ph.count / g.rows) : 1;
  g.chunk_rows = spec.chunk_rows > 0 ? spec.chunk_rows : std::max<std::size_t>(1, kDefaultChunkElements / pred_row);
  // No data (a zero dimension): one update of the whole shape. The header alone can claim 2^62
  // rows, which would otherwise be walked a million at a time, for hours.
  if (ph.count == 0) g.chunk_rows = std::max<std::size_t>(1, g.rows);

  out.rows = g.rows;
  out.classes = g.classes;
  out.pred_dtype = npy::dtype_name(ph.dtype);
  out.quantized = spec.quantized;
  out.pred_scale = spec.pred_scale;
  out.pred_zero_point = spec.pred_zero_point;
  out.elements = g.classes > 0 ? ph.count / g.classes : 0;
  if (g.classes == 0) {
    std::size_t n = 1;
    for (std::size_t i = 0; i < g.loss_rank; ++i) n *= g.loss_dims[i];
    out.elements = n;
  }

  if (spec.sparse) {
    SparseOptions o;
    o.from_logits = spec.from_logits;
    o.label_smoothing = spec.label_smoothing;
    o.axis = spec.axis;
    o.ignore_class = spec.ignore_class;
    o.nan_policy = spec.nan_reject ? NanPolicy::reject : NanPolicy::propagate;
    o.per_class = spec.per_class;
    if (spec.per_class) {
      SparseCategoricalCrossentropy<kPerClassMaxClasses> m(o);
      return run_metric(m, spec, truth, pred, weights, g, out, err);
    }
    SparseCategoricalCrossentropy<> m(o);
    return run_metric(m, spec, truth, pred, weights, g, out, err);
  }
  CategoricalOptions o;
  o.from_logits = spec.from_logits;
  o.label_smoothing = spec.label_smoothing;
  o.axis = spec.axis;
  o.nan_policy = spec.nan_reject ? NanPolicy::reject : NanPolicy::propagate;
  o.per_class = spec.per_class;
  if (spec.per_class) {
    CategoricalCrossentropy<kPerClassMaxClasses> m(o);
    return run_metric(m, spec, truth, pred, weights, g, out, err);
  }
  CategoricalCrossentropy<> m(o);
  return run_metric(m, spec, truth, pred, weights, g, out, err);
}

}  // namespace xent::cli
