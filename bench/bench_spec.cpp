#include "bench_spec.hpp"

#include <cmath>

#include "bench_data.hpp"
#include "xent/metrics.hpp"

namespace xent_bench {
namespace {

unsigned parts_for(Kind kind) {
  switch (kind) {
    case Kind::sparse_logits: return kLogits;
    case Kind::sparse_logits_f16: return kLogits | kHalf;
    case Kind::sparse_probs: return kProbs;
    case Kind::categorical_logits: return kLogits | kOneHot;
    case Kind::categorical_probs: return kProbs | kOneHot;
  }
  return kLogits;
}

}  // namespace

Case case_of(const Spec& spec) {
  const Batch& b = batch(spec.rows, spec.classes, parts_for(spec.kind));
  Case c;
  const bool logits = spec.kind == Kind::sparse_logits || spec.kind == Kind::categorical_logits;
  c.pred = spec.kind == Kind::sparse_logits_f16 ? nullptr  // 16-bit baselines read pred_f16
           : logits                             ? b.logits.data()
                                                : b.probs.data();
  c.pred_f16 = b.logits_f16.empty() ? nullptr : &b.logits_f16[0].bits;
  c.truth = b.onehot.empty() ? nullptr : b.onehot.data();
  c.labels = b.labels.data();
  c.labels64 = b.labels64.data();
  c.rows = b.rows;
  c.classes = b.classes;
  c.label_smoothing = spec.label_smoothing;
  return c;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::sparse_logits: return "sparse_logits_f32";
    case Kind::sparse_logits_f16: return "sparse_logits_f16";
    case Kind::sparse_probs: return "sparse_probs_f32";
    case Kind::categorical_logits: return "categorical_logits_f32";
    case Kind::categorical_probs: return "categorical_probs_f32";
  }
  return "?";
}

double xent_total(const Spec& spec) {
  const Batch& b = batch(spec.rows, spec.classes, parts_for(spec.kind));
  const xent::Shape shape{b.rows, b.classes};
  xent::Status status = xent::Status::ok;
  double total = 0.0;
  switch (spec.kind) {
    case Kind::sparse_logits:
    case Kind::sparse_logits_f16:
    case Kind::sparse_probs: {
      xent::SparseOptions o;
      o.from_logits = spec.kind != Kind::sparse_probs;
      xent::SparseCategoricalCrossentropy<> m(o);
      const auto labels = xent::view(b.labels.data(), {b.rows});
      if (spec.kind == Kind::sparse_logits_f16)
        status = m.update_state(labels, xent::view(b.logits_f16.data(), shape));
      else
        status = m.update_state(labels, xent::view(o.from_logits ? b.logits.data() : b.probs.data(), shape));
      total = m.total();
      break;
    }
    case Kind::categorical_logits:
    case Kind::categorical_probs: {
      xent::CategoricalOptions o;
      o.from_logits = spec.kind == Kind::categorical_logits;
      o.label_smoothing = spec.label_smoothing;
      xent::CategoricalCrossentropy<> m(o);
      status = m.update_state(xent::view(b.onehot.data(), shape),
                              xent::view(o.from_logits ? b.logits.data() : b.probs.data(), shape));
      total = m.total();
      break;
    }
  }
  return status == xent::Status::ok ? total : std::nan("");
}

double (*baseline_fn(const Baseline& b, Kind kind))(const Case&) {
  switch (kind) {
    case Kind::sparse_logits: return b.sparse_logits;
    case Kind::sparse_logits_f16: return b.sparse_logits_f16;
    case Kind::sparse_probs: return b.sparse_probs;
    case Kind::categorical_logits: return b.categorical_logits;
    case Kind::categorical_probs: return b.categorical_probs;
  }
  return nullptr;
}

}  // namespace xent_bench
