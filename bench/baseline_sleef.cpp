// SLEEF 3.5 (libsleef-dev): the vector math library's own exp and log, on the widest vectors this
// build has (-march=native: AVX-512, else AVX2). Sparse from logits as a user of SLEEF writes it:
// per row a max pass, then sum(Sleef_expf(z - max)) with two accumulators, loss = max + log(S) - z_y.
// GCC 12 reports its own AVX-512 intrinsics' _mm512_undefined_* as uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <cmath>
#include <limits>

#include <immintrin.h>
#include <sleef.h>

#include "baselines.hpp"

namespace xent_bench {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

#if defined(__AVX512F__)
using V = __m512;
constexpr std::size_t kW = 16;
V load(const float* p) { return _mm512_loadu_ps(p); }
// Lanes [n, 16) read `fill`; a masked load touches nothing beyond p + n.
V load_tail(const float* p, std::size_t n, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), static_cast<__mmask16>((1u << n) - 1u), p);
}
void store_tail(float* p, V v, std::size_t n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v); }
V splat(float x) { return _mm512_set1_ps(x); }
V vmax(V a, V b) { return _mm512_max_ps(a, b); }
V vadd(V a, V b) { return _mm512_add_ps(a, b); }
V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
float hmax(V v) { return _mm512_reduce_max_ps(v); }
float hadd(V v) { return _mm512_reduce_add_ps(v); }
V vexp(V v) { return Sleef_expf16_u10(v); }
V vlog_u35(V v) { return Sleef_logf16_u35(v); }
V vlog_u10(V v) { return Sleef_logf16_u10(v); }
#define XENT_SLEEF_FORM "Sleef_expf16_u10 / Sleef_logf16_u35 (AVX-512)"
#elif defined(__AVX2__)
using V = __m256;
constexpr std::size_t kW = 8;
V load(const float* p) { return _mm256_loadu_ps(p); }
V load_tail(const float* p, std::size_t n, float fill) {
  alignas(32) float buf[8];
  for (std::size_t i = 0; i < 8; ++i) buf[i] = i < n ? p[i] : fill;
  return _mm256_load_ps(buf);
}
void store_tail(float* p, V v, std::size_t n) {
  alignas(32) float buf[8];
  _mm256_store_ps(buf, v);
  for (std::size_t i = 0; i < n; ++i) p[i] = buf[i];
}
V splat(float x) { return _mm256_set1_ps(x); }
V vmax(V a, V b) { return _mm256_max_ps(a, b); }
V vadd(V a, V b) { return _mm256_add_ps(a, b); }
V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
float hmax(V v) {
  alignas(32) float buf[8];
  _mm256_store_ps(buf, v);
  float m = buf[0];
  for (float x : buf) m = x > m ? x : m;
  return m;
}
float hadd(V v) {
  alignas(32) float buf[8];
  _mm256_store_ps(buf, v);
  float s = 0.0f;
  for (float x : buf) s += x;
  return s;
}
V vexp(V v) { return Sleef_expf8_u10(v); }
V vlog_u35(V v) { return Sleef_logf8_u35(v); }
V vlog_u10(V v) { return Sleef_logf8_u10(v); }
#define XENT_SLEEF_FORM "Sleef_expf8_u10 / Sleef_logf8_u35 (AVX2)"
#endif

#if defined(__AVX512F__) || defined(__AVX2__)
float row_logsumexp(const float* z, std::size_t k) {
  V m0 = splat(-kInf), m1 = m0;
  std::size_t i = 0;
  for (; i + 2 * kW <= k; i += 2 * kW) {
    m0 = vmax(m0, load(z + i));
    m1 = vmax(m1, load(z + i + kW));
  }
  for (; i + kW <= k; i += kW) m0 = vmax(m0, load(z + i));
  if (i < k) m1 = vmax(m1, load_tail(z + i, k - i, -kInf));
  const float m = hmax(vmax(m0, m1));
  const V mv = splat(m);
  V s0 = splat(0.0f), s1 = s0;
  i = 0;
  for (; i + 2 * kW <= k; i += 2 * kW) {
    s0 = vadd(s0, vexp(vsub(load(z + i), mv)));
    s1 = vadd(s1, vexp(vsub(load(z + i + kW), mv)));
  }
  for (; i + kW <= k; i += kW) s0 = vadd(s0, vexp(vsub(load(z + i), mv)));
  if (i < k) s1 = vadd(s1, vexp(vsub(load_tail(z + i, k - i, -kInf), mv)));  // exp(-inf) = 0
  return m + std::log(hadd(vadd(s0, s1)));
}

double sparse_logits(const Case& c) { return sparse_logits_by_rows(c, row_logsumexp); }

template <V (*kLog)(V)>
void log_all(const float* x, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + kW <= n; i += kW) {
#if defined(__AVX512F__)
    _mm512_storeu_ps(out + i, kLog(load(x + i)));
#else
    _mm256_storeu_ps(out + i, kLog(load(x + i)));
#endif
  }
  if (i < n) store_tail(out + i, kLog(load_tail(x + i, n - i, 1.0f)), n - i);
}

float logsumexp(const float* x, std::size_t n) { return row_logsumexp(x, n); }
#endif

}  // namespace

const Baseline* sleef_baseline() {
#if defined(__AVX512F__) || defined(__AVX2__)
  static const Baseline b{"sleef", sparse_logits, nullptr, nullptr, nullptr, nullptr, log_all<vlog_u35>, logsumexp,
                          nullptr};
  return &b;
#else
  return nullptr;  // SLEEF's x86 vector forms need AVX2 at least
#endif
}

const Baseline* sleef_u10_baseline() {
#if defined(__AVX512F__) || defined(__AVX2__)
  static const Baseline b{"sleef_u10", nullptr, nullptr, nullptr, nullptr, nullptr, log_all<vlog_u10>, nullptr, nullptr};
  return &b;
#else
  return nullptr;
#endif
}

const char* sleef_info() {
#if defined(XENT_SLEEF_FORM)
  return "SLEEF " XENT_SLEEF_FORM;
#else
  return "SLEEF (no AVX2 form in this build)";
#endif
}

}  // namespace xent_bench
