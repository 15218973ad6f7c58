#include "bench_cases.hpp"

#include <cmath>
#include <cstdlib>
#include <map>
#include <tuple>

namespace xent_bench {
namespace {

std::size_t bytes_per_pred(Kind kind) { return kind == Kind::sparse_logits_f16 ? 2 : 4; }

// The scalar reference of a case, computed once per run (the 256 MB case takes a while).
double reference_total(const Spec& spec) {
  static std::map<std::tuple<int, std::size_t, std::size_t, float>, double> cache;
  const auto key = std::make_tuple(static_cast<int>(spec.kind), spec.rows, spec.classes, spec.label_smoothing);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const Case c = case_of(spec);
    it = cache.emplace(key, baseline_fn(scalar_baseline(), spec.kind)(c)).first;
  }
  return it->second;
}

void run_xent(benchmark::State& state, Spec spec) {
  const double ours = xent_total(spec);
  const double ref = reference_total(spec);
  if (!agree(ours, ref)) {
    state.SkipWithError(("xent disagrees with the scalar reference: " + std::to_string(ours) + " vs " +
                         std::to_string(ref))
                            .c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(xent_total(spec));
  set_counters(state, spec.rows, spec.rows * spec.classes, bytes_per_pred(spec.kind));
}

void run_baseline(benchmark::State& state, Spec spec, const Baseline* b) {
  auto fn = baseline_fn(*b, spec.kind);
  const Case c = case_of(spec);
  const double theirs = fn(c);
  const double ours = xent_total(spec);
  if (!agree(ours, theirs)) {
    state.SkipWithError((std::string(b->name) + " disagrees with xent: " + std::to_string(theirs) + " vs " +
                         std::to_string(ours))
                            .c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(fn(c));
  set_counters(state, spec.rows, spec.rows * spec.classes, bytes_per_pred(spec.kind));
}

}  // namespace

void register_case(const std::string& group, const std::string& case_name, const Spec& spec, bool with_scalar,
                   bool with_xsimd, bool with_eigen, bool with_torch) {
  const std::string prefix = group + "/" + case_name + "/";
  add_benchmark(prefix + "xent", run_xent, spec);
  const Baseline* chosen[] = {with_scalar ? &scalar_baseline() : nullptr, with_xsimd ? &xsimd_baseline() : nullptr,
                              with_eigen ? eigen_baseline() : nullptr, with_eigen ? eigen_rows_baseline() : nullptr,
                              with_torch ? torch_baseline() : nullptr};
  for (const Baseline* b : chosen) {
    if (b == nullptr || baseline_fn(*b, spec.kind) == nullptr) continue;
    add_benchmark(prefix + b->name, run_baseline, spec, b);
  }
}

const Baseline* const* peer_baselines(std::size_t* count) {
  static const Baseline* const peers[] = {sleef_baseline(), hwy_baseline(), onednn_baseline(), xnnpack_baseline()};
  *count = sizeof peers / sizeof peers[0];
  return peers;
}

void register_race(const std::string& group, const std::string& case_name, const Spec& spec) {
  const std::string prefix = group + "/" + case_name + "/";
  add_benchmark(prefix + "xent", run_xent, spec);
  std::size_t n = 0;
  const Baseline* const* peers = peer_baselines(&n);
  for (std::size_t i = 0; i < n; ++i) {
    if (peers[i] == nullptr || baseline_fn(*peers[i], spec.kind) == nullptr) continue;
    add_benchmark(prefix + peers[i]->name, run_baseline, spec, peers[i]);
  }
}

benchmark::internal::Benchmark* tune(benchmark::internal::Benchmark* b) {
  static const long iterations = [] {
    const char* env = std::getenv("XENT_BENCH_ITERATIONS");
    return env != nullptr ? std::strtol(env, nullptr, 10) : 0L;
  }();
  if (iterations > 0) b->Iterations(static_cast<benchmark::IterationCount>(iterations));
  return b;
}

void set_counters(benchmark::State& state, std::size_t rows, std::size_t floats, std::size_t bytes_per_float) {
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(iterations * static_cast<std::int64_t>(floats));
  state.SetBytesProcessed(iterations * static_cast<std::int64_t>(floats * bytes_per_float));
  state.counters["floats"] = static_cast<double>(floats);  // per iteration, for bench/instructions.py
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace xent_bench
