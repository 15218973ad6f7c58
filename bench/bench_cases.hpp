#pragma once
// The cases every benchmark family shares: one metric update of xent, or the same result from a
// baseline. Names follow "<group>/<case>/<implementation>" so bench/report.py can pair them.
#include <cstddef>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include "baselines.hpp"
#include "bench_data.hpp"
#include "bench_spec.hpp"

namespace xent_bench {

// Registers "<group>/<case>/xent" and one benchmark per baseline that offers the kind. Each
// baseline is checked against xent before it is timed (SkipWithError beyond 1e-5 relative);
// xent itself is checked against the scalar reference.
void register_case(const std::string& group, const std::string& case_name, const Spec& spec,
                   bool with_scalar, bool with_xsimd, bool with_eigen, bool with_torch);

// The race of issue 14: "<group>/<case>/xent" and one benchmark per peer (SLEEF, Highway, oneDNN,
// XNNPACK) that was found and offers the kind, checked against xent as above.
void register_race(const std::string& group, const std::string& case_name, const Spec& spec);

// The peers that were found (null entries skipped), in report order.
const Baseline* const* peer_baselines(std::size_t* count);

// XENT_BENCH_ITERATIONS=N in the environment fixes every benchmark at N iterations, so two runs
// under callgrind differ by exactly the timed work (bench/instructions.py).
benchmark::internal::Benchmark* tune(benchmark::internal::Benchmark* b);

template <class... Args>
benchmark::internal::Benchmark* add_benchmark(const std::string& name, Args&&... args) {
  return tune(benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...));
}

// items = floats of y_pred, a "rows/s" rate, bytes = bytes of y_pred.
void set_counters(benchmark::State& state, std::size_t rows, std::size_t floats, std::size_t bytes_per_float);

}  // namespace xent_bench
