// Google Highway 1.0 (libhwy-dev): hwy/contrib/math's Exp (1 ulp) and Log (4 ulp) on the static
// target of this build (-march=native: AVX-512 here). Sparse from logits as a Highway user writes
// it: per row a max pass, then sum(Exp(z - max)) with two accumulators, loss = max + log(S) - z_y.
// Tails are masked loads (FirstN); Exp is documented on [-FLT_MAX, 104], so masked lanes read 0.
// GCC 12 reports its own AVX-512 intrinsics' _mm512_undefined_* as uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <cmath>
#include <limits>

// Only the static target (this build's flags): Highway 1.0.3's dynamic target list has no slot for
// the AVX-512 of -march=native on Zen 5 and refuses to compile otherwise.
#define HWY_COMPILE_ONLY_STATIC 1
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "baselines.hpp"

namespace xent_bench {
namespace {

namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;

float row_logsumexp(const float* z, std::size_t k) {
  const D d;
  const std::size_t w = hn::Lanes(d);
  auto m0 = hn::Set(d, -std::numeric_limits<float>::infinity()), m1 = m0;
  std::size_t i = 0;
  for (; i + 2 * w <= k; i += 2 * w) {
    m0 = hn::Max(m0, hn::LoadU(d, z + i));
    m1 = hn::Max(m1, hn::LoadU(d, z + i + w));
  }
  for (; i + w <= k; i += w) m0 = hn::Max(m0, hn::LoadU(d, z + i));
  if (i < k) {
    const auto mask = hn::FirstN(d, k - i);
    m1 = hn::Max(m1, hn::IfThenElse(mask, hn::MaskedLoad(mask, d, z + i), m1));
  }
  const float m = hn::GetLane(hn::MaxOfLanes(d, hn::Max(m0, m1)));
  const auto mv = hn::Set(d, m);
  auto s0 = hn::Zero(d), s1 = s0;
  i = 0;
  for (; i + 2 * w <= k; i += 2 * w) {
    s0 = hn::Add(s0, hn::Exp(d, hn::Sub(hn::LoadU(d, z + i), mv)));
    s1 = hn::Add(s1, hn::Exp(d, hn::Sub(hn::LoadU(d, z + i + w), mv)));
  }
  for (; i + w <= k; i += w) s0 = hn::Add(s0, hn::Exp(d, hn::Sub(hn::LoadU(d, z + i), mv)));
  if (i < k) {
    const auto mask = hn::FirstN(d, k - i);
    s1 = hn::Add(s1, hn::IfThenElseZero(mask, hn::Exp(d, hn::Sub(hn::MaskedLoad(mask, d, z + i), mv))));
  }
  return m + std::log(hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1))));
}

double sparse_logits(const Case& c) { return sparse_logits_by_rows(c, row_logsumexp); }

void log_all(const float* x, float* out, std::size_t n) {
  const D d;
  const std::size_t w = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + w <= n; i += w) hn::StoreU(hn::Log(d, hn::LoadU(d, x + i)), d, out + i);
  if (i < n) {
    const auto mask = hn::FirstN(d, n - i);
    const auto v = hn::IfThenElse(mask, hn::MaskedLoad(mask, d, x + i), hn::Set(d, 1.0f));
    hn::BlendedStore(hn::Log(d, v), mask, d, out + i);
  }
}

float logsumexp(const float* x, std::size_t n) { return row_logsumexp(x, n); }

}  // namespace

const Baseline* hwy_baseline() {
  static const Baseline b{"hwy", sparse_logits, nullptr, nullptr, nullptr, nullptr, log_all, logsumexp, nullptr};
  return &b;
}

const char* hwy_info() { return hwy::TargetName(HWY_STATIC_TARGET); }

}  // namespace xent_bench
