// The cases of the targets table (docs/PERFORMANCE.md, P1-P7) and the whole metric updates.
// Eigen and libtorch are registered wherever they offer the case, so P7 ("Eigen slower than ours
// on every case above") reads straight off the same rows.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "bench_cases.hpp"
#include "xent/kernels.hpp"

namespace xent_bench {
namespace {

std::string case_name(Kind kind, std::size_t rows, std::size_t classes, float ls = 0.0f) {
  std::string name = kind_name(kind);
  if (ls > 0.0f) name += "_ls0.1";
  return name + "_" + std::to_string(rows) + "x" + std::to_string(classes);
}

void add(const std::string& group, Kind kind, std::size_t rows, std::size_t classes, float ls, bool scalar,
         bool xsimd, bool eigen, bool torch) {
  const Spec spec{kind, rows, classes, ls};
  register_case(group, case_name(kind, rows, classes, ls), spec, scalar, xsimd, eigen, torch);
}

// The memory-bandwidth limit: a plain sum over the same buffer (P3's 256 MiB, P1's 32.8 MB).
void run_sum(benchmark::State& state, std::size_t rows, std::size_t classes) {
  const Batch& b = batch(rows, classes, kLogits);
  const double ref = scalar_baseline().sum(b.logits.data(), b.size());
  const double fast = xsimd_baseline().sum(b.logits.data(), b.size());
  // Summation order differs; agreement within float rounding of a 64M-term sum is all we ask.
  if (!agree(ref, fast, 1e-3)) {
    state.SkipWithError("the sum baseline disagrees with a scalar sum");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(xsimd_baseline().sum(b.logits.data(), b.size()));
  set_counters(state, rows, b.size(), sizeof(float));
}

// P5: the fast log over 1M positive floats (log_input), against each baseline's log.
void run_log(benchmark::State& state, const Baseline* b) {
  const std::vector<float>& x = log_input();
  std::vector<float> out(x.size()), ours(x.size());
  xent::log(x.data(), ours.data(), x.size());
  if (b != nullptr) {
    b->log(x.data(), out.data(), x.size());
    if (!logs_agree(out, ours)) {
      state.SkipWithError((std::string(b->name) + " log disagrees with xent::log").c_str());
      return;
    }
    for (auto _ : state) {
      b->log(x.data(), out.data(), x.size());
      benchmark::ClobberMemory();
    }
  } else {
    scalar_baseline().log(x.data(), out.data(), x.size());
    if (!logs_agree(ours, out)) {
      state.SkipWithError("xent::log disagrees with std::log");
      return;
    }
    for (auto _ : state) {
      xent::log(x.data(), out.data(), x.size());
      benchmark::ClobberMemory();
    }
  }
  set_counters(state, 1, x.size(), sizeof(float));
}

void add_race(const std::string& group, std::size_t rows, std::size_t classes) {
  register_race(group, case_name(Kind::sparse_logits, rows, classes), Spec{Kind::sparse_logits, rows, classes, 0.0f});
}

}  // namespace

void register_targets() {
  constexpr float kNone = 0.0f;
  // P1: sparse from logits, fp32, 256 x 32,000.
  add("P1", Kind::sparse_logits, 256, 32000, kNone, true, true, true, true);
  // For the report's diagnosis (no target): the same rows hot in L2 (4 x 32,000 = 512 KB), and the
  // memory limit of P1's 32.8 MB batch.
  add("P1", Kind::sparse_logits, 4, 32000, kNone, false, true, true, false);
  add_benchmark("P1/" + case_name(Kind::sparse_logits, 256, 32000) + "/sum", run_sum, std::size_t{256},
                std::size_t{32000});
  // P2: the same from fp16 logits, in cache and from a 128 MiB fp16 buffer (P3's 64M logits).
  add("P2", Kind::sparse_logits_f16, 256, 32000, kNone, false, false, true, false);
  add("P2", Kind::sparse_logits_f16, 2048, 32768, kNone, false, false, true, false);
  // For the report's diagnosis of P2 from DRAM (no target): fp16 rows hot in L2 (4 x 32,000 = 256 KB).
  add("P2", Kind::sparse_logits_f16, 4, 32000, kNone, false, false, false, false);
  // P3: one pass over 256 MiB of fp32 logits, against a plain sum over the same buffer.
  add("P3", Kind::sparse_logits, 2048, 32768, kNone, false, false, true, false);
  add_benchmark("P3/" + case_name(Kind::sparse_logits, 2048, 32768) + "/sum", run_sum,
                               std::size_t{2048}, std::size_t{32768});
  // P4: 10 classes, 4,096 rows, every metric x input kind.
  for (Kind kind : {Kind::sparse_logits, Kind::sparse_probs, Kind::categorical_logits, Kind::categorical_probs})
    add("P4", kind, 4096, 10, kNone, true, true, true, true);
  // P5: fast log over 1M floats.
  const std::string p5 = "P5/log_f32_1048576/";
  add_benchmark(p5 + "xent", run_log, nullptr);
  add_benchmark(p5 + "scalar", run_log, &scalar_baseline());
  add_benchmark(p5 + "xsimd_naive", run_log, &xsimd_baseline());
  if (const Baseline* e = eigen_baseline()) add_benchmark(p5 + "eigen", run_log, e);
  if (const Baseline* t = torch_baseline()) add_benchmark(p5 + "torch", run_log, t);
  // R1-R3 (issue 14): the race against the field's kernels, where they are installed.
  add_race("R1", 256, 32000);
  add_race("R1", 4096, 1000);
  add_race("R2", 4096, 10);
  const std::string r3 = "R3/log_f32_1048576/";
  add_benchmark(r3 + "xent", run_log, nullptr);
  for (const Baseline* b : {sleef_baseline(), sleef_u10_baseline(), hwy_baseline()})
    if (b != nullptr) add_benchmark(r3 + b->name, run_log, b);
  // P6: categorical from probabilities, label smoothing 0.1, 1,000 classes.
  add("P6", Kind::categorical_probs, 256, 1000, 0.1f, true, true, true, true);
}

void register_metric_updates() {
  // Whole updates: both metrics x probabilities/logits x K, about 1M floats of y_pred per update.
  for (Kind kind : {Kind::sparse_probs, Kind::sparse_logits, Kind::categorical_probs, Kind::categorical_logits}) {
    for (std::size_t k : {10, 100, 1000, 32000, 128000}) {
      const std::size_t rows = std::max<std::size_t>(8, (std::size_t{1} << 20) / k);
      add("metric", kind, rows, k, 0.0f, false, false, false, false);
    }
  }
}

}  // namespace xent_bench
