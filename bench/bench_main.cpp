// xent_bench: Google Benchmark main plus the facts bench/report.py prints next to the ratios:
// the active ISA, how the baselines were built, the CPU, sizeof each metric type, the measured
// stack depth of every public call (M1), heap allocations inside those calls, and a sampled ulp
// bound of xent::log. All of it goes into the JSON "context".
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "baselines.hpp"
#include "bench_data.hpp"
#include "xent/xent.h"
#include "xent/xent.hpp"

namespace xent_bench {
void register_targets();
void register_quantized();
void register_metric_updates();
void register_kernels();
}  // namespace xent_bench

// Every C++ allocation in the process goes through here, so a call into xent that allocated
// would show up in the count taken around it.
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

// All out of line: inlined, GCC 12 sees free() on a pointer from malloc behind operator new and
// reports a mismatch (-Wmismatched-new-delete, a false positive that depends on what else got inlined).
[[gnu::noinline]] void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size != 0 ? size : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace xent_bench {
namespace {

// ---- Stack depth of a call, measured: paint the stack below us, make the call, find the deepest
// byte it changed. Two patterns, so a value that happens to equal the paint is not missed.
constexpr std::size_t kPaintBytes = 64 * 1024;

__attribute__((noinline)) void paint_stack(unsigned char pattern) {
  unsigned char area[kPaintBytes];
  std::memset(area, pattern, sizeof area);
  benchmark::DoNotOptimize(area);  // keeps the stores
  benchmark::ClobberMemory();
}

template <class F>
__attribute__((noinline)) std::size_t stack_depth_once(F& call, unsigned char pattern) {
  volatile unsigned char marker = 0;
  const auto top = reinterpret_cast<std::uintptr_t>(&marker);
  paint_stack(pattern);
  call();
  // The painted area lies below `top`; scan upward from its bottom for the first changed byte.
  const volatile unsigned char* low = reinterpret_cast<const volatile unsigned char*>(top - kPaintBytes);
  std::size_t i = 0;
  while (i < kPaintBytes && low[i] == pattern) ++i;
  return kPaintBytes - i;
}

struct Probe {
  std::string name;
  std::size_t stack_bytes = 0;
  std::size_t allocations = 0;
  bool ok = true;
};

template <class F>
Probe probe(const char* name, F call) {
  call();  // warm: the dispatcher picks its table on first use
  Probe p;
  p.name = name;
  const std::size_t before = g_allocations.load();
  bool ok = true;
  auto checked = [&] { ok = call() && ok; };
  p.stack_bytes = std::max(stack_depth_once(checked, 0xA5), stack_depth_once(checked, 0x5A));
  p.allocations = g_allocations.load() - before;
  p.ok = ok;
  return p;
}

std::vector<Probe> probe_public_calls() {
  using namespace xent;
  std::vector<Probe> out;
  const Batch& small = batch(300, 10, kLogits | kProbs | kOneHot | kHalf | kBHalf | kProbsI8);  // crosses a 256-row block
  const Batch& mid = batch(64, 1000, kLogits | kProbs | kOneHot | kHalf | kBHalf);
  const Batch& wide = batch(3, 32000, kLogits | kProbs | kOneHot | kHalf | kBHalf);
  const Batch& row = batch(1, 200000, kLogits | kHalf | kBHalf);
  std::vector<float> scratch(row.size());
  std::vector<float> weights(300, 0.5f);

  out.push_back(probe("log", [&] {
    xent::log(row.logits.data(), scratch.data(), row.size());
    return true;
  }));
  out.push_back(probe("logsumexp_f32", [&] { return std::isfinite(logsumexp(row.logits.data(), row.size())); }));
  out.push_back(probe("logsumexp_f16", [&] { return std::isfinite(logsumexp(row.logits_f16.data(), row.size())); }));
  out.push_back(probe("logsumexp_bf16", [&] { return std::isfinite(logsumexp(row.logits_bf16.data(), row.size())); }));
  out.push_back(probe("log_softmax", [&] {
    log_softmax(row.logits.data(), scratch.data(), row.size());
    return true;
  }));
  out.push_back(probe("widen_f16", [&] {
    widen(row.logits_f16.data(), scratch.data(), row.size());
    return true;
  }));

  for (const Batch* b : {&small, &mid, &wide}) {
    const Shape shape{b->rows, b->classes};
    const std::string k = "_K" + std::to_string(b->classes);
    const auto labels = view(b->labels.data(), {b->rows});
    const auto w = view(weights.data(), {b->rows});
    for (bool logits : {false, true}) {
      const float* pred = logits ? b->logits.data() : b->probs.data();
      const std::string kind = logits ? "_logits" : "_probs";
      SparseOptions so;
      so.from_logits = logits;
      CategoricalOptions co;
      co.from_logits = logits;
      co.label_smoothing = 0.1f;
      // The metric objects are the caller's storage, outside the measured frames.
      SparseCategoricalCrossentropy<> sm(so);
      CategoricalCrossentropy<> cm(co);
      out.push_back(probe(("sparse.update_state" + kind + k).c_str(), [&] {
        return sm.update_state(labels, view(pred, shape), w) == Status::ok;
      }));
      out.push_back(probe(("categorical.update_state" + kind + k).c_str(), [&] {
        return cm.update_state(view(b->onehot.data(), shape), view(pred, shape), w) == Status::ok;
      }));
      out.push_back(probe(("sparse_categorical_crossentropy" + kind + k).c_str(), [&] {
        return sparse_categorical_crossentropy(labels, view(pred, shape), scratch.data(), scratch.size(), so) ==
               Status::ok;
      }));
      out.push_back(probe(("categorical_crossentropy" + kind + k).c_str(), [&] {
        return categorical_crossentropy(view(b->onehot.data(), shape), view(pred, shape), scratch.data(),
                                        scratch.size(), co) == Status::ok;
      }));
    }
    SparseOptions lo;
    lo.from_logits = true;
    SparseCategoricalCrossentropy<> m(lo);
    out.push_back(probe(("sparse.update_state_logits_f16" + k).c_str(), [&] {
      return m.update_state(labels, view(b->logits_f16.data(), shape)) == Status::ok;
    }));
    out.push_back(probe(("sparse.update_state_logits_bf16" + k).c_str(), [&] {
      return m.update_state(labels, view(b->logits_bf16.data(), shape)) == Status::ok;
    }));
    // 16-bit categorical rows take the transposed tiles on every ISA (the float32 ones may not).
    CategoricalOptions co;
    co.from_logits = true;
    CategoricalCrossentropy<> cm(co);
    out.push_back(probe(("categorical.update_state_logits_f16" + k).c_str(), [&] {
      return cm.update_state(view(b->onehot.data(), shape), view(b->logits_f16.data(), shape), w) == Status::ok;
    }));
  }
  // Per-class statistics (the class-share kernel), with the metric in static storage.
  out.push_back(probe("categorical<1000>.update_state_per_class_K1000", [&] {
    // Static, and built during the warm-up call: 16 KB of per-class sums are not stack.
    static CategoricalCrossentropy<1000> m([] {
      CategoricalOptions co;
      co.per_class = true;
      return co;
    }());
    return m.update_state(view(mid.onehot.data(), {mid.rows, mid.classes}),
                          view(mid.probs.data(), {mid.rows, mid.classes})) == Status::ok;
  }));
  out.push_back(probe("sparse<1000>.update_state_per_class_K1000", [&] {
    static SparseCategoricalCrossentropy<1000> m([] {
      SparseOptions so;
      so.per_class = true;
      return so;
    }());
    return m.update_state(view(mid.labels.data(), {mid.rows}), view(mid.probs.data(), {mid.rows, mid.classes})) ==
           Status::ok;
  }));
  // The C API (firmware): the same updates through xent_metric_update.
  for (const Batch* b : {&small, &mid}) {
    const std::string k = "_K" + std::to_string(b->classes);
    for (bool logits : {false, true}) {
      const std::string kind = logits ? "_logits" : "_probs";
      xent_tensor pred{logits ? b->logits.data() : b->probs.data(), XENT_F32, 2, {b->rows, b->classes}, 1.0f, 0};
      xent_tensor labels{b->labels.data(), XENT_I32, 1, {b->rows}, 1.0f, 0};
      xent_tensor onehot{b->onehot.data(), XENT_F32, 2, {b->rows, b->classes}, 1.0f, 0};
      xent_options o = xent_default_options();
      o.from_logits = logits ? 1 : 0;
      xent_metric sm, cm;
      const bool made = xent_metric_init(&sm, XENT_SPARSE, &o, nullptr) == XENT_OK &&
                        xent_metric_init(&cm, XENT_CATEGORICAL, &o, nullptr) == XENT_OK;
      out.push_back(probe(("C xent_metric_update sparse" + kind + k).c_str(), [&] {
        return made && xent_metric_update(&sm, &labels, &pred, nullptr) == XENT_OK;
      }));
      out.push_back(probe(("C xent_metric_update categorical" + kind + k).c_str(), [&] {
        return made && xent_metric_update(&cm, &onehot, &pred, nullptr) == XENT_OK;
      }));
    }
    // Weighted, float16 predictions: the C API's widest frame over the tiles.
    xent_tensor pred16{b->logits_f16.data(), XENT_F16, 2, {b->rows, b->classes}, 1.0f, 0};
    xent_tensor onehot{b->onehot.data(), XENT_F32, 2, {b->rows, b->classes}, 1.0f, 0};
    xent_tensor wt{weights.data(), XENT_F32, 1, {b->rows}, 1.0f, 0};
    xent_options o = xent_default_options();
    o.from_logits = 1;
    xent_metric cm;
    const bool made = xent_metric_init(&cm, XENT_CATEGORICAL, &o, nullptr) == XENT_OK;
    out.push_back(probe(("C xent_metric_update categorical weighted f16" + k).c_str(), [&] {
      return made && xent_metric_update(&cm, &onehot, &pred16, &wt) == XENT_OK;
    }));
  }
  // int8 probabilities (short rows: the byte quads on AVX-512 VBMI + VNNI), weighted, C++ and C.
  {
    const Shape shape{small.rows, small.classes};
    const auto q = quantized(small.probs_i8.data(), shape, kSoftmaxI8Scale, kSoftmaxI8ZeroPoint);
    const auto w = view(weights.data(), {small.rows});
    SparseCategoricalCrossentropy<> sm;
    CategoricalCrossentropy<> cm;
    out.push_back(probe("sparse.update_state_probs_i8_K10", [&] { return sm.update_state(view(small.labels.data(), {small.rows}), q, w) == Status::ok; }));
    out.push_back(probe("categorical.update_state_probs_i8_K10", [&] { return cm.update_state(view(small.onehot.data(), shape), q, w) == Status::ok; }));
    xent_tensor pred{small.probs_i8.data(), XENT_QI8, 2, {small.rows, small.classes}, kSoftmaxI8Scale, kSoftmaxI8ZeroPoint};
    xent_tensor labels{small.labels.data(), XENT_I32, 1, {small.rows}, 1.0f, 0};
    xent_tensor onehot{small.onehot.data(), XENT_F32, 2, {small.rows, small.classes}, 1.0f, 0};
    xent_tensor wt{weights.data(), XENT_F32, 1, {small.rows}, 1.0f, 0};
    xent_options o = xent_default_options();
    xent_metric csm, ccm;
    const bool made = xent_metric_init(&csm, XENT_SPARSE, &o, nullptr) == XENT_OK &&
                      xent_metric_init(&ccm, XENT_CATEGORICAL, &o, nullptr) == XENT_OK;
    out.push_back(probe("C xent_metric_update sparse_probs_i8_K10", [&] {
      return made && xent_metric_update(&csm, &labels, &pred, &wt) == XENT_OK;
    }));
    out.push_back(probe("C xent_metric_update categorical_probs_i8_K10", [&] {
      return made && xent_metric_update(&ccm, &onehot, &pred, &wt) == XENT_OK;
    }));
  }
  // Short int8 logits (src/kernels/simd/q8_logits.hpp on AVX512-VBMI), weighted, through the C API,
  // the byte table from its cache. (Its own table, when every cache slot is held by other threads'
  // calls, puts 1.2 KiB more on the stack: 3,887 B measured, forced, for the categorical update.)
  {
    static std::vector<std::int8_t> q8(small.rows * small.classes);
    for (std::size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<std::int8_t>(static_cast<int>(i * 37 % 256) - 128);
    xent_tensor pred{q8.data(), XENT_QI8, 2, {small.rows, small.classes}, 0.0627f, 3};
    xent_tensor onehot{small.onehot.data(), XENT_F32, 2, {small.rows, small.classes}, 1.0f, 0};
    xent_tensor labels{small.labels.data(), XENT_I32, 1, {small.rows}, 1.0f, 0};
    xent_tensor wt{weights.data(), XENT_F32, 1, {small.rows}, 1.0f, 0};
    xent_options o = xent_default_options();
    o.from_logits = 1;
    static xent_metric qc, qs;
    const bool made = xent_metric_init(&qc, XENT_CATEGORICAL, &o, nullptr) == XENT_OK &&
                      xent_metric_init(&qs, XENT_SPARSE, &o, nullptr) == XENT_OK;
    out.push_back(probe("C xent_metric_update categorical weighted qi8 logits_K10", [&, pred] {
      return made && xent_metric_update(&qc, &onehot, &pred, &wt) == XENT_OK;
    }));
    out.push_back(probe("C xent_metric_update sparse weighted qi8 logits_K10", [&, pred] {
      return made && xent_metric_update(&qs, &labels, &pred, &wt) == XENT_OK;
    }));
  }
  out.push_back(probe("serialize+deserialize", [&] {
    SparseCategoricalCrossentropy<> a, b;
    unsigned char bytes[SparseCategoricalCrossentropy<>::serialized_size];
    return a.serialize(bytes, sizeof bytes) == Status::ok && b.deserialize(bytes, sizeof bytes) == Status::ok &&
           a.merge_state(b) == Status::ok;
  }));
  return out;
}

// ---- xent::log accuracy on a sample (the exhaustive test lives in tests/): max ulp over 2^20
// random positive normal floats plus the neighbourhood of 1.
double log_max_ulp_sample() {
  std::vector<float> x;
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < (1 << 20); ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    std::uint32_t bits = static_cast<std::uint32_t>(s) & 0x7FFFFFFFu;
    const std::uint32_t exponent = (bits >> 23) & 0xFFu;
    if (exponent == 0 || exponent == 0xFF) bits = (bits & 0x807FFFFFu) | 0x3F000000u;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    x.push_back(f);
  }
  for (int i = -20000; i <= 20000; ++i) x.push_back(std::nextafter(1.0f, 2.0f) + static_cast<float>(i) * 6e-8f);
  std::vector<float> y(x.size());
  xent::log(x.data(), y.data(), x.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double exact = std::log(static_cast<double>(x[i]));
    if (exact == 0.0) {
      if (y[i] != 0.0f) worst = std::fmax(worst, 1e9);
      continue;
    }
    int e;
    std::frexp(exact, &e);
    const double ulp = std::ldexp(1.0, std::max(e - 24, -149));
    worst = std::fmax(worst, std::fabs(static_cast<double>(y[i]) - exact) / ulp);
  }
  return worst;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  for (const char* key : {"model name", "Model", "Hardware", "CPU part"}) {
    in.clear();
    in.seekg(0);
    while (std::getline(in, line)) {
      if (line.rfind(key, 0) == 0) {
        const auto colon = line.find(':');
        if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
      }
    }
  }
  return "unknown";
}

// The core clock while busy (R4's cycles), in MHz: a chain of dependent integer adds retires one
// per cycle on every x86 core, so the chain's length over its time is the clock (turbo included,
// unlike the nominal "mhz_per_cpu"). Timed in thread CPU time, as the rates are, so that time
// slices given to other processes do not count. Median of 5 runs of ~20 ms. 0 where there is no probe.
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double measured_mhz() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  constexpr std::uint64_t kTrips = 2000000;  // x 10 adds
  std::vector<double> mhz;
  for (int run = 0; run < 5; ++run) {
    std::uint64_t x = 0;
    const double t0 = thread_seconds();
    for (std::uint64_t i = 0; i < kTrips; ++i) {
      asm volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                   "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                   : "+r"(x));
    }
    const double dt = thread_seconds() - t0;
    benchmark::DoNotOptimize(x);
    mhz.push_back(static_cast<double>(kTrips) * 10.0 / dt / 1e6);
  }
  std::sort(mhz.begin(), mhz.end());
  return mhz[2];
#else
  return 0.0;
#endif
}

void add_context() {
  using benchmark::AddCustomContext;
  AddCustomContext("xent_version", xent::kVersionString);
  AddCustomContext("xent_isa", xent::active_isa());
  AddCustomContext("xent_build_type", XENT_BENCH_BUILD_TYPE);
  const char* forced = std::getenv("XENT_ISA");
  AddCustomContext("xent_isa_forced", forced != nullptr ? forced : "");
  AddCustomContext("cpu_model", cpu_model());
  AddCustomContext("baseline_flags", XENT_BENCH_BASELINE_FLAGS);
  AddCustomContext("xsimd_naive_arch", xsimd_baseline_arch());
  AddCustomContext("eigen", eigen_simd_info());
  AddCustomContext("torch", torch_info());
  AddCustomContext("sleef", sleef_info());
  AddCustomContext("hwy", hwy_info());
  AddCustomContext("onednn", onednn_info());
  AddCustomContext("xnnpack", xnnpack_baseline() != nullptr ? "XNNPACK softmax_nc_f32, no thread pool" : "absent");
  AddCustomContext("su_dir", XENT_BENCH_SU_DIR);
  AddCustomContext("sizeof CategoricalCrossentropy<>", std::to_string(sizeof(xent::CategoricalCrossentropy<>)));
  AddCustomContext("sizeof SparseCategoricalCrossentropy<>",
                   std::to_string(sizeof(xent::SparseCategoricalCrossentropy<>)));
  AddCustomContext("sizeof CategoricalCrossentropy<10>", std::to_string(sizeof(xent::CategoricalCrossentropy<10>)));
  AddCustomContext("sizeof SparseCategoricalCrossentropy<10>",
                   std::to_string(sizeof(xent::SparseCategoricalCrossentropy<10>)));
  AddCustomContext("sizeof CategoricalCrossentropy<1000>",
                   std::to_string(sizeof(xent::CategoricalCrossentropy<1000>)));
  AddCustomContext("sizeof SparseCategoricalCrossentropy<1000>",
                   std::to_string(sizeof(xent::SparseCategoricalCrossentropy<1000>)));

  // XENT_BENCH_FACTS=0 skips the probes below (seconds under valgrind, bench/instructions.py).
  const char* facts = std::getenv("XENT_BENCH_FACTS");
  if (facts != nullptr && std::strcmp(facts, "0") == 0) return;
  AddCustomContext("measured_mhz", std::to_string(static_cast<long>(measured_mhz())));
  const std::vector<Probe> probes = probe_public_calls();
  std::size_t peak = 0, allocations = 0;
  std::string peak_name, listing, failed;
  for (const Probe& p : probes) {
    if (p.stack_bytes > peak) peak = p.stack_bytes, peak_name = p.name;
    allocations += p.allocations;
    listing += (listing.empty() ? "" : ";") + p.name + "=" + std::to_string(p.stack_bytes);
    if (!p.ok) failed += (failed.empty() ? "" : ",") + p.name;
  }
  AddCustomContext("stack_peak_bytes", std::to_string(peak));
  AddCustomContext("stack_peak_call", peak_name);
  AddCustomContext("stack_bytes_by_call", listing);
  AddCustomContext("stack_probe_failed_calls", failed);
  AddCustomContext("heap_allocations_in_calls", std::to_string(allocations));
  char ulp[32];
  std::snprintf(ulp, sizeof ulp, "%.3f", log_max_ulp_sample());
  AddCustomContext("log_max_ulp_sample", ulp);
}

}  // namespace
}  // namespace xent_bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  xent_bench::register_targets();
  xent_bench::register_quantized();
  xent_bench::register_metric_updates();
  xent_bench::register_kernels();
  xent_bench::add_context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
