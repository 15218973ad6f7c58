// The speed budget's firmware: instructions per element of xent against the plain Keras formulas
// over newlib's expf/logf, in the same image. Run it under `qemu-system-arm -icount shift=0`
// (budgets.py does): each instruction then advances the virtual clock by 1 ns, so the SysTick
// counter, clocked by the core's clock, counts instructions / (1e9 / f). f is calibrated against a
// loop of known length, so the figures need no board constant. Prints one line per case:
//   case <name> <elements> <xent instructions> <baseline instructions>
// and exits 1 when a case's results disagree (a check that both sides computed the same thing).
#include <xent/kernels.hpp>
#include <xent/metrics.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace {

// ---- the instruction counter ------------------------------------------------------------------

volatile std::uint32_t& reg(std::uint32_t address) { return *reinterpret_cast<volatile std::uint32_t*>(address); }
constexpr std::uint32_t kSystCsr = 0xE000E010u, kSystRvr = 0xE000E014u, kSystCvr = 0xE000E018u;
constexpr std::uint32_t kSystMask = 0xFFFFFFu;  // a 24-bit down counter

void start_systick() {
  reg(kSystRvr) = kSystMask;
  reg(kSystCvr) = 0;
  reg(kSystCsr) = 5u;  // enabled, processor clock, no interrupt
}
// The compiler barriers keep the measured work between the two reads.
std::uint32_t ticks() {
  __asm__ volatile("" ::: "memory");
  const std::uint32_t t = reg(kSystCvr);
  __asm__ volatile("" ::: "memory");
  return t;
}
std::uint32_t elapsed(std::uint32_t from, std::uint32_t to) { return (from - to) & kSystMask; }

// Instructions per SysTick tick, from a loop of 2 * kLoops + 1 instructions (subs, bne).
double instructions_per_tick() {
  constexpr std::uint32_t kLoops = 1000000;
  const std::uint32_t t0 = ticks();
  std::uint32_t n = kLoops;
  __asm__ volatile("1: subs %0, #1\n\tbne 1b" : "+r"(n));
  const std::uint32_t t1 = ticks();
  return (2.0 * kLoops + 1.0) / elapsed(t0, t1);
}
double g_per_tick = 0.0;

template <class F>
double count(F&& f) {
  const std::uint32_t t0 = ticks();
  f();
  const std::uint32_t t1 = ticks();
  return elapsed(t0, t1) * g_per_tick;
}

// ---- data -------------------------------------------------------------------------------------

std::uint32_t g_seed = 2024u;
float uniform(float lo, float hi) {
  g_seed = g_seed * 1664525u + 1013904223u;
  return lo + (hi - lo) * static_cast<float>(g_seed >> 8) * (1.0f / 16777216.0f);
}

constexpr std::size_t kMaxElements = 32 * 1000;
float g_pred[kMaxElements];
float g_truth[256 * 10];
std::int32_t g_labels[256];
float g_out[4096];

// Logits like a classifier's: noise, and the label's class ahead most of the time.
void make_logits(std::size_t rows, std::size_t classes) {
  for (std::size_t r = 0; r < rows; ++r) {
    g_labels[r] = static_cast<std::int32_t>(uniform(0.0f, static_cast<float>(classes))) % static_cast<std::int32_t>(classes);
    for (std::size_t k = 0; k < classes; ++k) g_pred[r * classes + k] = uniform(-4.0f, 4.0f);
    g_pred[r * classes + static_cast<std::size_t>(g_labels[r])] += 5.0f;
  }
}

// Softmax-like probabilities (positive, rows summing to about 1) and one-hot truth.
void make_probabilities(std::size_t rows, std::size_t classes) {
  for (std::size_t r = 0; r < rows; ++r) {
    float sum = 0.0f;
    for (std::size_t k = 0; k < classes; ++k) sum += g_pred[r * classes + k] = uniform(0.01f, 1.0f);
    const auto label = static_cast<std::size_t>(uniform(0.0f, static_cast<float>(classes))) % classes;
    g_pred[r * classes + label] += 2.0f;
    sum += 2.0f;
    for (std::size_t k = 0; k < classes; ++k) {
      g_pred[r * classes + k] /= sum;
      g_truth[r * classes + k] = k == label ? 1.0f : 0.0f;
    }
  }
}

// ---- the baselines: Keras's formulas, written plainly over newlib ---------------------------

// mean(-log_softmax(z)[y]): log_softmax = z - max - log(sum(exp(z - max))).
[[gnu::noinline]] float keras_sparse_from_logits(const std::int32_t* y, const float* z, std::size_t rows,
                                                 std::size_t classes) {
  float total = 0.0f;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = z + r * classes;
    float m = row[0];
    for (std::size_t k = 1; k < classes; ++k)
      if (row[k] > m) m = row[k];
    float s = 0.0f;
    for (std::size_t k = 0; k < classes; ++k) s += expf(row[k] - m);
    total += logf(s) - (row[y[r]] - m);
  }
  return total / static_cast<float>(rows);
}

// mean(-sum(t * log(clip(p / sum(p), eps, 1 - eps)))).
[[gnu::noinline]] float keras_categorical(const float* t, const float* p, std::size_t rows, std::size_t classes) {
  const float eps = 1e-7f;
  float total = 0.0f;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = p + r * classes;
    float s = 0.0f;
    for (std::size_t k = 0; k < classes; ++k) s += row[k];
    float loss = 0.0f;
    for (std::size_t k = 0; k < classes; ++k) {
      float q = row[k] / s;
      q = q < eps ? eps : (q > 1.0f - eps ? 1.0f - eps : q);
      loss -= t[r * classes + k] * logf(q);
    }
    total += loss;
  }
  return total / static_cast<float>(rows);
}

[[gnu::noinline]] void newlib_log(const float* x, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = logf(x[i]);
}

// ---- the cases --------------------------------------------------------------------------------

bool g_ok = true;

void report(const char* name, std::size_t elements, double ours, double base, float ours_value, float base_value) {
  const float diff = std::fabs(ours_value - base_value);
  const bool agree = diff <= 1e-4f * std::fabs(base_value) + 1e-6f;
  g_ok = g_ok && agree;
  std::printf("case %s %u %.0f %.0f%s\n", name, static_cast<unsigned>(elements), ours, base,
              agree ? "" : " RESULTS DISAGREE");
  if (!agree) std::printf("  xent %.9g, baseline %.9g\n", static_cast<double>(ours_value), static_cast<double>(base_value));
}

void sparse_case(const char* name, std::size_t rows, std::size_t classes) {
  make_logits(rows, classes);
  xent::SparseOptions o;
  o.from_logits = true;
  xent::SparseCategoricalCrossentropy<> metric(o);
  xent::Status s = xent::Status::ok;
  const double ours = count([&] {
    s = metric.update_state(xent::view(g_labels, {rows}), xent::view(static_cast<const float*>(g_pred), {rows, classes}));
  });
  float base_value = 0.0f;
  const double base = count([&] { base_value = keras_sparse_from_logits(g_labels, g_pred, rows, classes); });
  g_ok = g_ok && s == xent::Status::ok;
  report(name, rows * classes, ours, base, metric.result(), base_value);
}

void categorical_case(const char* name, std::size_t rows, std::size_t classes) {
  make_probabilities(rows, classes);
  xent::CategoricalCrossentropy<> metric;
  xent::Status s = xent::Status::ok;
  const double ours = count([&] {
    s = metric.update_state(xent::view(static_cast<const float*>(g_truth), {rows, classes}),
                            xent::view(static_cast<const float*>(g_pred), {rows, classes}));
  });
  float base_value = 0.0f;
  const double base = count([&] { base_value = keras_categorical(g_truth, g_pred, rows, classes); });
  g_ok = g_ok && s == xent::Status::ok;
  report(name, rows * classes, ours, base, metric.result(), base_value);
}

void log_case(const char* name, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) g_pred[i] = uniform(1e-6f, 1.0f);
  const double ours = count([&] { xent::log(g_pred, g_out, n); });
  const float ours_first = g_out[n / 2];
  const double base = count([&] { newlib_log(g_pred, g_out, n); });
  report(name, n, ours, base, ours_first, g_out[n / 2]);
}

}  // namespace

int main() {
  start_systick();
  g_per_tick = instructions_per_tick();
  std::printf("instructions per tick %.4f (kernels: %s)\n", g_per_tick, xent::active_isa());
  sparse_case("sparse_logits_32x1000", 32, 1000);
  sparse_case("sparse_logits_256x10", 256, 10);
  categorical_case("categorical_probs_256x10", 256, 10);
  log_case("log_4096", 4096);
  return g_ok ? 0 : 1;
}
