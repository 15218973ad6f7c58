// Fuzzes update_state of both metrics (MaxClasses 0, 1, 10, 300) on a metric that already holds
// state: any rank 0-9, dims, axis, options, element types, weight shapes and values.
// Invariants: a non-ok status leaves serialize()'s bytes identical; an update the rules allow is
// accepted; NanPolicy::reject never lets a non-finite loss in; and where the float64 reference
// applies, total, count, result() and the per-class sums agree with it within SEMANTICS.md's
// tolerance (per-class sums of classes the batch cannot reach never change).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fuzz_decode.hpp"
#include "metric_test_util.hpp"

namespace {

using xent::Status;

template <class M>
inline constexpr bool kSparse = std::is_same_v<typename M::Options, xent::SparseOptions>;

template <class M>
std::vector<unsigned char> state_bytes(const M& m) {
  std::vector<unsigned char> b(M::serialized_size);
  fz::require(m.serialize(b.data(), b.size()) == Status::ok, "serialize of a metric failed");
  return b;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The state before the fuzzed update: none, SEMANTICS.md's worked example (unweighted or
// weighted), or a batch with an all-zero probability row (NaN total for categorical). Whatever
// the options make of them, failed updates included.
template <class M>
void prior_state(M& m, std::size_t which) {
  using namespace mt::worked;
  const xent::Shape rows{2, 3};
  static const float kZeros[3] = {0.0f, 0.0f, 0.0f};
  auto truth = [&](std::size_t n) {
    if constexpr (kSparse<M>) return xent::view(kLabels, {n});
    else return xent::view(kOneHot, {n, 3});
  };
  switch (which) {
    case 1: (void)m.update_state(truth(2), xent::view(kPred, rows)); break;
    case 2: (void)m.update_state(truth(2), xent::view(kPred, rows), xent::view(kWeights, {2})); break;
    case 3:
      (void)m.update_state(truth(2), xent::view(kPred, rows));
      (void)m.update_state(truth(1), xent::view(kZeros, {1, 3}));
      break;
    default: break;
  }
}

template <class M>
Status update(M& m, const fz::Case& c) {
  auto with_truth = [&](auto&& f) {
    if constexpr (kSparse<M>) return fz::with_label(c.truth, f);
    else return fz::with_float(c.truth, f);
  };
  return with_truth([&](auto t) {
    return fz::with_pred(c.pred, [&](auto p) {
      if (!c.weighted) return m.update_state(t, p);
      return fz::with_float(c.weight, [&](auto w) { return m.update_state(t, p, w); });
    });
  });
}

// Sum over V of |weight| / group (ignored entries excluded): what count's rounding scales with.
double weight_mass(const fz::Case& c) {
  double s = 0.0;
  for (std::size_t v = 0; v < c.geometry.elements(); ++v) {
    if (c.sparse && c.ignore && c.labels[v] == *c.ignore) continue;
    s += c.element_weights ? std::fabs(c.element_weights->w[v]) / c.element_weights->group : 1.0;
  }
  return s;
}

template <class M>
void run(const fz::Case& c, std::size_t prior) {
  typename M::Options o;
  if constexpr (kSparse<M>) o = c.sparse_options();
  else o = c.categorical_options();
  M m(o);
  prior_state(m, prior);
  const std::vector<unsigned char> before = state_bytes(m);
  const double t0 = m.total();
  const double c0 = m.count();
  std::vector<double> class_t0(M::max_classes), class_c0(M::max_classes);
  for (std::size_t j = 0; j < M::max_classes; ++j) class_t0[j] = m.per_class_total(j), class_c0[j] = m.per_class_count(j);

  const Status s = update(m, c);
  if (s != Status::ok) {
    fz::require(state_bytes(m) == before, "a failed update changed the serialized state");
    fz::require(s != Status::non_finite_input || c.reject(), "non_finite_input without NanPolicy::reject");
    fz::require(!c.must_accept(true) || (s == Status::non_finite_input && c.reject()),
                "an update the rules allow was refused");
  } else if (c.reject() && std::isfinite(t0) && std::isfinite(c0)) {
    fz::require(std::isfinite(m.total()) && std::isfinite(m.count()), "NanPolicy::reject let a non-finite value in");
  }

  if (s == Status::ok && c.must_accept(true) && c.geometry.elements() == 0)
    fz::require(state_bytes(m) == before, "an update of zero rows changed the state");

  // Per-class sums the update may not touch: every class without per_class, and classes >= K.
  const bool per_class = c.per_class && M::max_classes > 0 && s == Status::ok;
  for (std::size_t j = 0; j < M::max_classes; ++j) {
    if (per_class && c.shapes_coherent && j < c.geometry.classes) continue;
    if (per_class && !c.shapes_coherent) continue;
    fz::require(same_bits(m.per_class_total(j), class_t0[j]) && same_bits(m.per_class_count(j), class_c0[j]),
                "an update changed a per-class sum it cannot reach");
  }

  if (!fz::reference_applies(c, true) || !std::isfinite(t0) || !std::isfinite(c0)) return;
  const xref::Batch want = fz::reference(c);
  if (!std::isfinite(want.total)) {
    if (c.reject()) fz::require(s == Status::non_finite_input, "NanPolicy::reject accepted a non-finite loss");
    else fz::require(s == Status::ok && !std::isfinite(m.total()), "a non-finite loss vanished from total");
    return;
  }
  fz::require(s == Status::ok, "a batch with finite losses was refused");
  // Against the reference: on a mismatch print the numbers and the case before the trap.
  auto check = [&](bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "before: total %.17g count %.17g; after: total %.17g count %.17g result %.9g; "
                 "reference batch: total %.17g count %.17g abs_err %.3g\n", t0, c0, m.total(), m.count(),
                 static_cast<double>(m.result()), want.total, want.count, want.abs_err);
    fz::describe(c);
    fz::broken(what);
  };
  const double mass = weight_mass(c);
  const double err_count = 1e-12 * (1.0 + mass + std::fabs(c0));
  const double err_total = want.abs_err + 1e-12 * (1.0 + std::fabs(t0));
  const double total = t0 + want.total;
  const double count = c0 + want.count;
  check(std::fabs(m.count() - count) <= err_count, "count() against the reference");
  check(std::fabs(m.total() - total) <= err_total, "total() against the reference");
  if (std::fabs(count) > 4.0 * err_count) {  // else total / count is ill-conditioned
    const double r = total / count;
    if (std::fabs(r) < 1e38) {
      const double tol = 1e-6 * std::fabs(r) + (err_total + std::fabs(r) * err_count) / std::fabs(count) + xref::ulp32(r);
      check(std::fabs(static_cast<double>(m.result()) - r) <= tol, "result() against the reference");
    }
  } else if (count == 0.0 && m.count() == 0.0) {
    check(m.result() == 0.0f, "result() of a zero count is not 0");
  }
  if (per_class) {
    // Per-class weights are rounded to float (categorical shares): 1e-6 of the weight mass covers it.
    for (std::size_t j = 0; j < c.geometry.classes; ++j) {
      check(std::fabs(m.per_class_total(j) - class_t0[j] - want.class_total[j]) <=
                err_total + 1e-12 * std::fabs(class_t0[j]),
            "per_class_total against the reference");
      check(std::fabs(m.per_class_count(j) - class_c0[j] - want.class_count[j]) <=
                1e-6 * (1.0 + mass) + 1e-12 * std::fabs(class_c0[j]),
            "per_class_count against the reference");
    }
  }
}

template <template <std::size_t> class Metric>
void run_kind(const fz::Case& c, std::size_t prior) {
  switch (c.capacity) {
    case 0: return run<Metric<0>>(c, prior);
    case 1: return run<Metric<1>>(c, prior);
    case 10: return run<Metric<10>>(c, prior);
    default: return run<Metric<300>>(c, prior);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::Bytes in(data, size);
  const std::size_t prior = in.pick(4);
  const fz::Case c = fz::decode_case(in, true);
  if (c.sparse) run_kind<xent::SparseCategoricalCrossentropy>(c, prior);
  else run_kind<xent::CategoricalCrossentropy>(c, prior);
  return 0;
}
