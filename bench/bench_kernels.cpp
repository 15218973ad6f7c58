// The public kernels alone, by row length 10 .. 1M: log, logsumexp (fp32 / fp16 / bf16), log_softmax.
// Short rows are timed over a 64K-float buffer of consecutive rows, so per-call overhead shows in rows/s.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "bench_cases.hpp"
#include "xent/kernels.hpp"

namespace xent_bench {
namespace {

constexpr std::size_t kLengths[] = {10, 100, 1000, 10000, 100000, 1000000};

std::size_t rows_for(std::size_t n) { return n >= 65536 ? 1 : 65536 / n; }

enum class Dt { f32, f16, bf16 };

float xent_lse(const Batch& b, Dt dt, std::size_t r) {
  const std::size_t at = r * b.classes;
  switch (dt) {
    case Dt::f32: return xent::logsumexp(b.logits.data() + at, b.classes);
    case Dt::f16: return xent::logsumexp(b.logits_f16.data() + at, b.classes);
    case Dt::bf16: return xent::logsumexp(b.logits_bf16.data() + at, b.classes);
  }
  return 0.0f;
}

double xent_lse_all(const Batch& b, Dt dt) {
  double s = 0.0;
  for (std::size_t r = 0; r < b.rows; ++r) s += static_cast<double>(xent_lse(b, dt, r));
  return s;
}

void run_logsumexp(benchmark::State& state, Dt dt, const Baseline* base) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const Batch& b = batch(rows_for(n), n, dt == Dt::f32 ? kLogits : dt == Dt::f16 ? kHalf : kBHalf);
  const double ours = xent_lse_all(b, dt);
  // The reference for 16-bit rows is the scalar one on the widened values (bf16 widening is a shift).
  std::vector<float> widened;
  const float* ref_data = b.logits.data();
  if (dt != Dt::f32) {
    widened.resize(b.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (dt == Dt::f16) {
        widened[i] = half_bits_to_float(b.logits_f16[i].bits);
      } else {
        const std::uint32_t bits = static_cast<std::uint32_t>(b.logits_bf16[i].bits) << 16;
        std::memcpy(&widened[i], &bits, sizeof bits);
      }
    }
    ref_data = widened.data();
  }
  const Baseline& check = base != nullptr ? *base : scalar_baseline();
  double theirs = 0.0;
  for (std::size_t r = 0; r < b.rows; ++r) theirs += static_cast<double>(check.logsumexp(ref_data + r * n, n));
  if (!agree(ours, theirs)) {
    state.SkipWithError((std::string(check.name) + " logsumexp disagrees with xent").c_str());
    return;
  }
  if (base != nullptr) {
    for (auto _ : state)
      for (std::size_t r = 0; r < b.rows; ++r) benchmark::DoNotOptimize(base->logsumexp(ref_data + r * n, n));
  } else {
    for (auto _ : state)
      for (std::size_t r = 0; r < b.rows; ++r) benchmark::DoNotOptimize(xent_lse(b, dt, r));
  }
  set_counters(state, b.rows, b.size(), dt == Dt::f32 ? 4 : 2);
}

// log and log_softmax: one call over n floats per row of the buffer.
const Batch& positive_batch(std::size_t n) { return batch(rows_for(n), n, kProbs); }

void run_log(benchmark::State& state, const Baseline* base) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const Batch& b = positive_batch(n);
  std::vector<float> out(b.size()), ref(b.size());
  xent::log(b.probs.data(), out.data(), b.size());
  const Baseline& check = base != nullptr ? *base : scalar_baseline();
  check.log(b.probs.data(), ref.data(), b.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (!(std::fabs(out[i] - ref[i]) <= 1e-5f * std::fmax(1.0f, std::fabs(ref[i])))) {
      state.SkipWithError((std::string(check.name) + " log disagrees with xent::log").c_str());
      return;
    }
  }
  for (auto _ : state) {
    for (std::size_t r = 0; r < b.rows; ++r) {
      const std::size_t at = r * n;
      if (base != nullptr) base->log(b.probs.data() + at, out.data() + at, n);
      else xent::log(b.probs.data() + at, out.data() + at, n);
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, b.rows, b.size(), sizeof(float));
}

void run_log_softmax(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const Batch& b = batch(rows_for(n), n, kLogits);
  std::vector<float> out(b.size());
  // Check: sum(exp(out)) == 1 per row.
  xent::log_softmax(b.logits.data(), out.data(), n);
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(out[i]));
  if (!agree(s, 1.0)) {
    state.SkipWithError("log_softmax rows do not sum to 1");
    return;
  }
  for (auto _ : state) {
    for (std::size_t r = 0; r < b.rows; ++r) xent::log_softmax(b.logits.data() + r * n, out.data() + r * n, n);
    benchmark::ClobberMemory();
  }
  set_counters(state, b.rows, b.size(), sizeof(float));
}

void lengths(benchmark::internal::Benchmark* b) {
  for (std::size_t n : kLengths) b->Arg(static_cast<std::int64_t>(n));
}

}  // namespace

void register_kernels() {
  std::vector<const Baseline*> bases = {nullptr, &scalar_baseline(), &xsimd_baseline()};
  if (eigen_baseline() != nullptr) bases.push_back(eigen_baseline());
  for (const Baseline* base : bases) {
    const std::string impl = base != nullptr ? base->name : "xent";
    if (base == nullptr || base->log != nullptr)
      add_benchmark("kernel/log/" + impl, run_log, base)->Apply(lengths);
  }
  for (const Baseline* base : bases) {
    if (base != nullptr && base == eigen_baseline()) continue;  // Eigen's logsumexp is in every P case
    const std::string impl = base != nullptr ? base->name : "xent";
    add_benchmark("kernel/logsumexp_f32/" + impl, run_logsumexp, Dt::f32, base)
        ->Apply(lengths);
  }
  add_benchmark("kernel/logsumexp_f16/xent", run_logsumexp, Dt::f16, nullptr)->Apply(lengths);
  add_benchmark("kernel/logsumexp_bf16/xent", run_logsumexp, Dt::bf16, nullptr)->Apply(lengths);
  add_benchmark("kernel/log_softmax_f32/xent", run_log_softmax)->Apply(lengths);
}

}  // namespace xent_bench
