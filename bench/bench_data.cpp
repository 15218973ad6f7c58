#include "bench_data.hpp"

#include <cstring>
#include <map>
#include <memory>
#include <utility>

namespace xent_bench {
namespace {

// xorshift64*: fast enough to fill 256 MB in well under a second, and the same on every machine.
struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) {
    const float u = static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
  }
};

void add_parts(Batch& b, unsigned parts) {
  const std::size_t n = b.size();
  if (b.labels.empty()) {
    Rng rng(b.rows * 131 + b.classes);
    b.labels.resize(b.rows);
    b.labels64.resize(b.rows);
    for (std::size_t r = 0; r < b.rows; ++r) {
      b.labels[r] = static_cast<std::int32_t>(rng.next() % b.classes);
      b.labels64[r] = b.labels[r];
    }
  }
  // Logits in [-8, 8): spread like a trained classifier's, exp never overflows.
  if (b.logits.empty() && (parts & (kLogits | kProbs | kHalf | kBHalf | kLogitsI8 | kProbsI8))) {
    Rng rng(b.rows * 7 + b.classes * 3 + 1);
    b.logits.resize(n);
    for (auto& v : b.logits) v = rng.uniform(-8.0f, 8.0f);
  }
  if ((parts & kProbsI8) && b.probs.empty()) parts |= kProbs;
  if ((parts & kProbs) && b.probs.empty()) {
    b.probs.resize(n);
    for (std::size_t r = 0; r < b.rows; ++r) {
      const float* z = b.logits.data() + r * b.classes;
      float* p = b.probs.data() + r * b.classes;
      double m = -1e300;
      for (std::size_t k = 0; k < b.classes; ++k) m = z[k] > m ? z[k] : m;
      double s = 0.0;
      for (std::size_t k = 0; k < b.classes; ++k) s += std::exp(static_cast<double>(z[k]) - m);
      for (std::size_t k = 0; k < b.classes; ++k)
        p[k] = static_cast<float>(std::exp(static_cast<double>(z[k]) - m) / s);
    }
  }
  if ((parts & kOneHot) && b.onehot.empty()) {
    b.onehot.assign(n, 0.0f);
    for (std::size_t r = 0; r < b.rows; ++r) b.onehot[r * b.classes + static_cast<std::size_t>(b.labels[r])] = 1.0f;
  }
  if ((parts & kHalf) && b.logits_f16.empty()) {
    b.logits_f16.resize(n);
    for (std::size_t i = 0; i < n; ++i) b.logits_f16[i] = xent::to_float16(b.logits[i]);
  }
  if ((parts & kLogitsI8) && b.logits_i8.empty()) {
    // Asymmetric int8 as TFLite's converter chooses it for an activation of range [lo, hi] (widened
    // to hold 0): scale = (hi - lo) / 255, zero point = -128 - round(lo / scale), so lo maps to -128,
    // hi to 127 and 0 is exact. The range is the batch's own, as a calibration set would give.
    float lo = 0.0f, hi = 0.0f;
    for (float v : b.logits) lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    b.logits_i8_scale = (hi - lo) / 255.0f;
    const long zp = -128 - std::lround(lo / b.logits_i8_scale);
    b.logits_i8_zero_point = static_cast<std::int32_t>(zp < -128 ? -128 : zp > 127 ? 127 : zp);
    b.logits_i8.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      b.logits_i8[i] = quantize_tflite(b.logits[i], b.logits_i8_scale, b.logits_i8_zero_point);
  }
  if ((parts & kProbsI8) && b.probs_i8.empty()) {
    b.probs_i8.resize(n);
    for (std::size_t i = 0; i < n; ++i) b.probs_i8[i] = quantize_tflite(b.probs[i], kSoftmaxI8Scale, kSoftmaxI8ZeroPoint);
  }
  if ((parts & kBHalf) && b.logits_bf16.empty()) {
    b.logits_bf16.resize(n);
    for (std::size_t i = 0; i < n; ++i) b.logits_bf16[i] = xent::to_bfloat16(b.logits[i]);
  }
}

}  // namespace

const Batch& batch(std::size_t rows, std::size_t classes, unsigned parts) {
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<Batch>> cache;
  auto& slot = cache[{rows, classes}];
  if (!slot) {
    slot = std::make_unique<Batch>();
    slot->rows = rows;
    slot->classes = classes;
  }
  add_parts(*slot, parts);
  return *slot;
}

const std::vector<float>& log_input() {
  static const std::vector<float> x = [] {
    const Batch& b = batch(1, std::size_t{1} << 20, kLogits);
    std::vector<float> v(b.logits.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::exp(1.5f * b.logits[i] - 4.0f);
    return v;
  }();
  return x;
}

bool logs_agree(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(a[i] - b[i]) <= 1e-5f * std::fmax(1.0f, std::fabs(b[i])))) return false;
  return true;
}

float half_bits_to_float(std::uint16_t bits) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exp = (bits >> 10) & 0x1Fu;
  const std::uint32_t man = bits & 0x3FFu;
  float mag;
  if (exp == 0) {
    mag = std::ldexp(static_cast<float>(man), -24);  // zero or subnormal
  } else if (exp == 31) {
    mag = man ? std::nanf("") : HUGE_VALF;
  } else {
    mag = std::ldexp(static_cast<float>(man | 0x400u), static_cast<int>(exp) - 25);
  }
  std::uint32_t out;
  std::memcpy(&out, &mag, sizeof out);
  out |= sign;
  std::memcpy(&mag, &out, sizeof out);
  return mag;
}

}  // namespace xent_bench
