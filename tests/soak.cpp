// The soak (issue 13): N rows (10^8 by default) through four metrics - sparse and categorical, from
// probabilities and from logits - in batches of 1 to 4096 rows, 2 to 1000 classes, rank 2 and 3,
// float32 and float16, with and without sample weights, interleaved. Checks that total() and
// count() do not drift from a float64 reference by more than 1e-9 relative, and that nothing
// allocates.
//
// The reference is cheap and measures accumulation alone: each of the fixed batches is evaluated
// once by the functional form (the same kernels, and a row's loss does not depend on its batch:
// see test_determinism.cpp), its weighted float32 losses summed once in long double, and that sum
// scaled by how many times the soak feeds the batch. So the reference holds no per-element float32
// rounding of its own: what differs is only the metric's double additions over millions of updates.
//
// Usage: xent_soak [rows]. ctest runs 10^8 rows in a Release host build (a few seconds), 10^6
// under sanitizers or qemu-user and 10^5 on the microcontroller boards (tests/CMakeLists.txt).
// Exit status 0 when every check passes; one line per metric and a summary on stdout.
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "alloc_counter.hpp"
#include "xent/xent.hpp"

namespace {

using xent::Shape;
using xent::Status;
using xent::view;

enum MetricKind { kSparseProbs, kSparseLogits, kCategoricalProbs, kCategoricalLogits, kMetrics };
const char* const kMetricNames[kMetrics] = {"sparse, probabilities", "sparse, logits", "categorical, probabilities",
                                            "categorical, logits"};

// One batch the soak feeds again and again: its metric, shape, and its share of the rows.
struct Spec {
  MetricKind metric;
  std::size_t rows, classes;
  bool weighted;
  bool half = false;    // float16 predictions
  std::size_t lead = 0;  // > 0: rank 3, [rows / lead, lead, classes]
  double share = 0.0;    // of all rows
};

// Shares sum to 1: most rows in the common shapes, enough single-row and wide-class batches to
// matter (their cost is per call and per class).
const Spec kSpecs[] = {
    {kSparseProbs, 4096, 10, true, false, 0, 0.155},   {kSparseProbs, 1, 10, false, false, 0, 0.005},
    {kSparseProbs, 7, 3, true, false, 0, 0.05},        {kSparseProbs, 1000, 100, false, false, 0, 0.02},
    {kSparseLogits, 4096, 10, false, false, 0, 0.15},  {kSparseLogits, 64, 1000, true, false, 0, 0.005},
    {kSparseLogits, 257, 32, false, false, 0, 0.1},    {kSparseLogits, 3, 2, true, false, 0, 0.02},
    {kSparseLogits, 512, 10, true, true, 0, 0.05},     {kCategoricalProbs, 4096, 10, true, false, 0, 0.15},
    {kCategoricalProbs, 100, 17, false, false, 0, 0.05}, {kCategoricalProbs, 2, 5, true, false, 0, 0.02},
    {kCategoricalProbs, 512, 64, false, false, 0, 0.01}, {kCategoricalLogits, 4096, 10, false, false, 0, 0.1},
    {kCategoricalLogits, 33, 128, true, false, 0, 0.01}, {kCategoricalLogits, 1, 4, false, false, 0, 0.005},
    {kCategoricalLogits, 2048, 3, true, false, 8, 0.1},
};
constexpr std::size_t kSpecCount = sizeof kSpecs / sizeof kSpecs[0];

// A small deterministic generator (xorshift).
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  double uniform() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<double>(s >> 11) * 0x1p-53;
  }
};

// A batch's inputs, made once before the soak.
struct Batch {
  Spec spec;
  std::vector<float> pred, truth, weights;
  std::vector<xent::float16> pred16;
  std::vector<std::int32_t> labels;
  std::size_t reps = 0;          // updates of this batch in the soak
  long double total = 0.0L;      // sum of w * loss over the batch, from its float32 losses
  long double count = 0.0L;      // sum of w

  Shape pred_shape() const {
    return spec.lead > 0 ? Shape{spec.rows / spec.lead, spec.lead, spec.classes} : Shape{spec.rows, spec.classes};
  }
  Shape v_shape() const { return spec.lead > 0 ? Shape{spec.rows / spec.lead, spec.lead} : Shape{spec.rows}; }
  bool sparse() const { return spec.metric == kSparseProbs || spec.metric == kSparseLogits; }
  bool logits() const { return spec.metric == kSparseLogits || spec.metric == kCategoricalLogits; }
};

Batch make_batch(const Spec& spec, std::uint64_t seed) {
  Batch b;
  b.spec = spec;
  Rng rng(seed);
  const std::size_t n = spec.rows * spec.classes;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform();
    b.pred.push_back(b.logits() ? static_cast<float>(u * 20.0 - 10.0) : static_cast<float>(u * u + 1e-4));
    if (spec.half) b.pred16.push_back(xent::to_float16(b.pred.back()));
  }
  b.truth.assign(n, 0.0f);
  for (std::size_t r = 0; r < spec.rows; ++r) {
    const auto label = static_cast<std::int32_t>(rng.uniform() * static_cast<double>(spec.classes));
    b.labels.push_back(label);
    b.truth[r * spec.classes + static_cast<std::size_t>(label)] = 1.0f;
    b.weights.push_back(static_cast<float>(0.25 + rng.uniform()));
  }
  return b;
}

// One update of metric m with batch b (weights when the batch has them).
template <class M>
Status feed(M& m, const Batch& b) {
  const auto w = view(b.weights.data(), b.v_shape());
  const auto go = [&](auto p) {
    if constexpr (std::is_same_v<typename M::Options, xent::SparseOptions>) {
      const auto t = view(b.labels.data(), b.v_shape());
      return b.spec.weighted ? m.update_state(t, p, w) : m.update_state(t, p);
    } else {
      const auto t = view(b.truth.data(), b.pred_shape());
      return b.spec.weighted ? m.update_state(t, p, w) : m.update_state(t, p);
    }
  };
  return b.spec.half ? go(view(b.pred16.data(), b.pred_shape())) : go(view(b.pred.data(), b.pred_shape()));
}

// The batch's per-row losses (functional form), summed once.
bool reference(Batch& b) {
  std::vector<float> loss(b.spec.rows);
  const auto go = [&](auto p) {
    if (b.sparse()) {
      xent::SparseOptions o;
      o.from_logits = b.logits();
      return xent::sparse_categorical_crossentropy(view(b.labels.data(), b.v_shape()), p, loss.data(), loss.size(), o);
    }
    xent::CategoricalOptions o;
    o.from_logits = b.logits();
    return xent::categorical_crossentropy(view(b.truth.data(), b.pred_shape()), p, loss.data(), loss.size(), o);
  };
  const Status s = b.spec.half ? go(view(b.pred16.data(), b.pred_shape())) : go(view(b.pred.data(), b.pred_shape()));
  if (s != Status::ok) return false;
  for (std::size_t r = 0; r < b.spec.rows; ++r) {
    const long double w = b.spec.weighted ? static_cast<long double>(b.weights[r]) : 1.0L;
    b.total += w * static_cast<long double>(loss[r]);
    b.count += w;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const double wanted = argc > 1 ? std::strtod(argv[1], nullptr) : 1e8;
  if (!(wanted >= 1000.0)) {
    std::fprintf(stderr, "usage: xent_soak [rows >= 1000]\n");
    return 2;
  }
  std::vector<Batch> batches;
  std::size_t rows = 0;
  for (std::size_t i = 0; i < kSpecCount; ++i) {
    batches.push_back(make_batch(kSpecs[i], 1000 + i));
    Batch& b = batches.back();
    b.reps = static_cast<std::size_t>(std::ceil(wanted * b.spec.share / static_cast<double>(b.spec.rows)));
    rows += b.reps * b.spec.rows;
    if (!reference(b)) {
      std::printf("FAIL: the reference of batch %zu was refused\n", i);
      return 1;
    }
  }
  xent::SparseOptions sparse_logits;
  sparse_logits.from_logits = true;
  xent::CategoricalOptions categorical_logits;
  categorical_logits.from_logits = true;
  xent::SparseCategoricalCrossentropy<> sp, sl(sparse_logits);
  xent::CategoricalCrossentropy<> cp, cl(categorical_logits);

  // The counters can see an allocation (else "0 allocations" below would prove nothing).
  alloc_count::counting_start();
  int* volatile probe = new int(1);  // volatile: the pair cannot be optimized away
  delete probe;
  if (alloc_count::counting_stop().news != 1) {
    std::printf("FAIL: the allocation counter missed an operator new\n");
    return 1;
  }

  // Interleaved: in each of kRounds rounds every batch gets its share of updates.
  constexpr std::size_t kRounds = 64;
  std::size_t failures = 0;
  alloc_count::counting_start();
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  for (std::size_t round = 0; round < kRounds; ++round) {
    for (const Batch& b : batches) {
      const std::size_t n = b.reps * (round + 1) / kRounds - b.reps * round / kRounds;
      for (std::size_t i = 0; i < n; ++i) {
        Status s = Status::ok;
        switch (b.spec.metric) {
          case kSparseProbs: s = feed(sp, b); break;
          case kSparseLogits: s = feed(sl, b); break;
          case kCategoricalProbs: s = feed(cp, b); break;
          default: s = feed(cl, b); break;
        }
        failures += s == Status::ok ? 0 : 1;
      }
    }
  }
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const alloc_count::Counts allocations = alloc_count::counting_stop();

  long double ref_total[kMetrics] = {}, ref_count[kMetrics] = {};
  for (const Batch& b : batches) {
    ref_total[b.spec.metric] += static_cast<long double>(b.reps) * b.total;
    ref_count[b.spec.metric] += static_cast<long double>(b.reps) * b.count;
  }
  const double totals[kMetrics] = {sp.total(), sl.total(), cp.total(), cl.total()};
  const double counts[kMetrics] = {sp.count(), sl.count(), cp.count(), cl.count()};
  const float results[kMetrics] = {sp.result(), sl.result(), cp.result(), cl.result()};
  double worst = 0.0;
  bool ok = failures == 0 && allocations.news == 0 && allocations.mallocs == 0;
  for (int m = 0; m < kMetrics; ++m) {
    const double ref = static_cast<double>(ref_total[m]), refc = static_cast<double>(ref_count[m]);
    const double drift = std::fabs(totals[m] - ref) / std::fabs(ref);
    const double count_drift = std::fabs(counts[m] - refc) / refc;
    const float mean = static_cast<float>(ref / refc);
    const bool good = drift <= 1e-9 && count_drift <= 1e-9 && std::fabs(results[m] - mean) <= 2e-7f * std::fabs(mean);
    ok = ok && good;
    worst = std::fmax(worst, std::fmax(drift, count_drift));
    std::printf("%-28s total %.17g (float64 reference %.17g, drift %.2e), count %.17g (drift %.2e), result %.9g %s\n",
                kMetricNames[m], totals[m], ref, drift, counts[m], count_drift, static_cast<double>(results[m]),
                good ? "ok" : "FAIL");
  }
  std::printf("soak: %zu rows in %zu batch shapes, %.2f s wall, %.2f s CPU (%.3g rows/s of CPU, kernels %s); "
              "largest drift %.2e (limit 1e-9); %zu failed updates; allocations: %ld new, %ld malloc%s\n",
              rows, kSpecCount, seconds, cpu, static_cast<double>(rows) / cpu, xent::active_isa(), worst, failures,
              allocations.news, allocations.mallocs,
              XENT_TEST_COUNT_MALLOC ? "" : " (malloc not counted here: a sanitizer or libc owns it)");
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
