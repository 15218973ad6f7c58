// ARM instruction counts (issue 14): speed cannot be timed under an emulator, but executed
// instructions can be counted there. Each case runs once between the markers of the qemu plugin
// bench/qemu-count/xent_count.c, for xent and for the scalar and plain-xsimd baselines compiled
// for the same target, after each baseline's result was checked against xent (and xent against
// the scalar reference) outside the counted regions. Same inputs as xent_bench (bench_data).
//
//   qemu-aarch64 -cpu cortex-a72 -L /usr/aarch64-linux-gnu
//       -plugin build/aarch64/bench/qemu-count/libxent_count.so,out=counts.txt
//       build/aarch64/bench/xent_arm_counts [SUBSTRING]
//
// stdout: "isa <xent::active_isa()>", then one line per counted region in order,
// "region <index> <case> <implementation> <elements>"; the plugin's file has the counts by index.
// bench/report.py --cross-build runs it and prints the table. A SUBSTRING argument keeps only the
// cases whose name contains it. Exit 1 when a result disagrees (nothing of that case is counted).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "baselines.hpp"
#include "bench_data.hpp"
#include "bench_spec.hpp"
#include "xent/kernels.hpp"

// The markers the plugin finds by symbol name: each compiles to a lone return. The empty asm
// keeps each a call of its own (never inlined, never merged with the other).
extern "C" {
[[gnu::noinline]] void xent_count_begin() noexcept { __asm__ volatile("" ::: "memory"); }
[[gnu::noinline]] void xent_count_end() noexcept { __asm__ volatile("" ::: "memory"); }
}

namespace {

using namespace xent_bench;

unsigned g_regions = 0;
volatile double g_sink = 0.0;  // results stored here, so no counted call is optimised away

template <class Run>
void count(const std::string& case_name, const char* impl, std::size_t elements, Run&& run) {
  xent_count_begin();
  run();
  xent_count_end();
  std::printf("region %u %s %s %zu\n", g_regions++, case_name.c_str(), impl, elements);
}

bool metric_case(const char* filter, Kind kind, std::size_t rows, std::size_t classes) {
  const std::string name = std::string(kind_name(kind)) + "_" + std::to_string(rows) + "x" + std::to_string(classes);
  if (std::strstr(name.c_str(), filter) == nullptr) return true;
  const Spec spec{kind, rows, classes, 0.0f};
  const Case c = case_of(spec);
  const Baseline* baselines[] = {&scalar_baseline(), &xsimd_baseline()};
  const double ours = xent_total(spec);
  const double reference = baseline_fn(scalar_baseline(), kind)(c);
  if (!agree(ours, reference)) {
    std::fprintf(stderr, "%s: xent %.9g disagrees with the scalar reference %.9g\n", name.c_str(), ours, reference);
    return false;
  }
  for (const Baseline* b : baselines) {
    const double theirs = baseline_fn(*b, kind)(c);
    if (!agree(ours, theirs)) {
      std::fprintf(stderr, "%s: %s %.9g disagrees with xent %.9g\n", name.c_str(), b->name, theirs, ours);
      return false;
    }
  }
  const std::size_t n = rows * classes;
  count(name, "xent", n, [&] { g_sink = xent_total(spec); });
  for (const Baseline* b : baselines) {
    const auto fn = baseline_fn(*b, kind);
    count(name, b->name, n, [&] { g_sink = fn(c); });
  }
  return true;
}

bool log_case(const char* filter) {
  const std::string name = "log_f32_1048576";
  if (std::strstr(name.c_str(), filter) == nullptr) return true;
  const std::vector<float>& x = log_input();
  std::vector<float> ours(x.size()), theirs(x.size());
  const Baseline* baselines[] = {&scalar_baseline(), &xsimd_baseline()};
  xent::log(x.data(), ours.data(), x.size());
  for (const Baseline* b : baselines) {
    b->log(x.data(), theirs.data(), x.size());
    if (!logs_agree(ours, theirs)) {
      std::fprintf(stderr, "%s: %s disagrees with xent::log\n", name.c_str(), b->name);
      return false;
    }
  }
  count(name, "xent", x.size(), [&] { xent::log(x.data(), theirs.data(), x.size()); });
  for (const Baseline* b : baselines) count(name, b->name, x.size(), [&] { b->log(x.data(), theirs.data(), x.size()); });
  g_sink = static_cast<double>(theirs[0]);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : "";
  std::printf("isa %s\n", xent::active_isa());
  bool ok = metric_case(filter, Kind::sparse_logits, 64, 32000);
  ok = metric_case(filter, Kind::sparse_logits, 4096, 10) && ok;
  ok = metric_case(filter, Kind::categorical_probs, 4096, 10) && ok;
  ok = log_case(filter) && ok;
  return ok ? 0 : 1;
}
