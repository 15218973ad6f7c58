// The math kernels of the active table (ctest runs this once per forced ISA) against float64:
//   log: max 3.5 ulp over positive normals, exact 0 at 1     exp (x <= 0): max 2 ulp on [-87, 0]
//   logsumexp: max 4 ulp of the result + 2^-21 absolute      log_softmax: the same per element
//   widening: exact for all 65536 patterns
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernel_reference.hpp"
#include "kernels/kernel_table.hpp"
#include "xent/half.hpp"
#include "xent/kernels.hpp"

using xent::detail::DType;
using xent::detail::kernels;
using xent::test::bits_of;
using xent::test::float_of;
using xent::test::ulp_error;
using xent::test::ulp_of;

namespace {

constexpr double kLogUlp = 3.5;
constexpr double kExpUlp = 2.0;
constexpr double kExpSumUlp = 2.5;  // the exp inside sums, plus |x| * 2.8e-9 relative from its one-constant reduction
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool is_armv7_neon() { return std::string(kernels().name) == "neon"; }

int isa_rank(const std::string& name) {
  if (name == "scalar") return 0;
  if (name == "sse2") return 1;
  if (name == "avx2") return 2;
  if (name == "avx512") return 3;
  return -1;
}

// Largest ulp error of the active log over x[0..n) against std::log in double.
double max_log_ulp(const std::vector<float>& x, float* worst_x) {
  std::vector<float> y(x.size());
  kernels().log(x.data(), y.data(), x.size());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = ulp_error(y[i], std::log(static_cast<double>(x[i])));
    if (e > worst) {
      worst = e;
      *worst_x = x[i];
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("kernels: active_isa reports the table, and a forced XENT_ISA is honoured") {
  const std::string active = xent::active_isa();
  CHECK(active == kernels().name);
  const std::string best = xent::detail::best_kernels().name;
#if defined(XENT_HAVE_X86_KERNELS)
  CHECK(isa_rank(best) >= 1);
#elif defined(XENT_HAVE_NEON_KERNELS)
  CHECK((best == "neon64" || best == "neon"));
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && defined(XENT_BARE_METAL)
  CHECK(best == "helium");  // the bare-metal table with Helium loops (Cortex-M55)
#else
  CHECK(best == "scalar");
#endif
  const char* forced = std::getenv("XENT_ISA");
  if (forced == nullptr || *forced == '\0') {
    CHECK(active == best);
  } else if (std::string(forced) == "scalar") {
    CHECK(active == "scalar");
  } else if (isa_rank(forced) > 0 && isa_rank(best) > 0) {
    // A supported request is honoured; a higher unsupported one falls back to the best.
    CHECK(active == (isa_rank(forced) <= isa_rank(best) ? std::string(forced) : best));
  }
}

TEST_CASE("log: special values") {
  const float denorm_min = std::numeric_limits<float>::denorm_min();
  const float in[] = {1.0f, 0.0f, -0.0f, -1.0f, -kInf, kInf, kNaN, -kNaN, 0x1p-127f, denorm_min, 0x1p-126f,
                      std::numeric_limits<float>::max(), 2.0f};
  constexpr std::size_t n = sizeof in / sizeof in[0];
  float out[n];
  kernels().log(in, out, n);
  CHECK(bits_of(out[0]) == 0u);  // exactly +0 at 1
  CHECK(out[1] == -kInf);
  CHECK(out[2] == -kInf);
  CHECK(std::isnan(out[3]));
  CHECK(std::isnan(out[4]));
  CHECK(out[5] == kInf);
  CHECK(std::isnan(out[6]));
  CHECK(std::isnan(out[7]));
  if (is_armv7_neon()) {
    // armv7 NEON flushes subnormal inputs to zero, so their log is -inf (documented behaviour).
    CHECK(out[8] == -kInf);
    CHECK(out[9] == -kInf);
  } else {
    CHECK(ulp_error(out[8], std::log(0x1p-127)) <= kLogUlp);
    CHECK(ulp_error(out[9], std::log(0x1p-149)) <= kLogUlp);
  }
  CHECK(ulp_error(out[10], std::log(0x1p-126)) <= kLogUlp);
  CHECK(ulp_error(out[11], std::log(static_cast<double>(std::numeric_limits<float>::max()))) <= kLogUlp);
  CHECK(ulp_error(out[12], std::log(2.0)) <= kLogUlp);
  // The same values in every lane position, every tail length and through the unrolled loops
  // (up to 4 vectors of 16 per trip), in place (out may equal x).
  for (std::size_t len = 1; len <= 140; ++len) {
    std::vector<float> v(len);
    for (std::size_t i = 0; i < len; ++i) v[i] = in[(i + len) % n];
    xent::log(v.data(), v.data(), len);
    for (std::size_t i = 0; i < len; ++i) {
      const float x = in[(i + len) % n];
      if (std::isnan(x) || x < 0) {
        CHECK(std::isnan(v[i]));
      } else if (x == 0 || (is_armv7_neon() && x < 0x1p-126f)) {
        CHECK(v[i] == -kInf);
      } else {
        CHECK(ulp_error(v[i], std::log(static_cast<double>(x))) <= kLogUlp);
      }
    }
  }
}

TEST_CASE("log: max 3.5 ulp, relative accuracy near 1 (sampled)") {
  std::vector<float> x;
  // Every float within 2^16 ulps of 1, where confident predictions live.
  for (std::uint32_t b = bits_of(1.0f) - 65536; b <= bits_of(1.0f) + 65536; ++b) x.push_back(float_of(b));
  // Every binade, 2048 random mantissas each, plus the clip bounds.
  xent::test::Rng rng(3);
  for (std::uint32_t e = 1; e < 255; ++e) {
    for (int i = 0; i < 2048; ++i) x.push_back(float_of((e << 23) | static_cast<std::uint32_t>(rng.next() & 0x7fffffu)));
  }
  x.push_back(1e-7f);
  x.push_back(1.0f - 1e-7f);
  float worst_x = 0;
  const double worst = max_log_ulp(x, &worst_x);
  MESSAGE("log max ulp (sampled) on " << std::string(kernels().name) << ": " << worst << " at " << worst_x);
  CHECK(worst <= kLogUlp);
}

TEST_CASE("log: max 3.5 ulp over every positive normal float (exhaustive on the native path)") {
#if defined(__SANITIZE_ADDRESS__)
  constexpr bool kSanitized = true;
#else
  constexpr bool kSanitized = false;
#endif
  // The scalar table's log is the C library's logf, not our approximation: sampled above only.
  if (!XENT_EXHAUSTIVE_TESTS || kSanitized || std::string(kernels().name) == "scalar" ||
      std::string(kernels().name) != xent::detail::best_kernels().name) {
    MESSAGE("exhaustive log test skipped (forced lower ISA, scalar, sanitizer or XENT_EXHAUSTIVE_TESTS=0)");
    return;
  }
  // For a chunk of mantissas m, log(2^e m) = e ln2 + log(m): one double log per mantissa, reused for
  // all 254 exponents. ln2 in two parts keeps the reference exact to ~2^-60 relative.
  constexpr std::uint32_t kChunk = 1u << 15;
  constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;
  constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
  std::vector<double> log_m(kChunk);
  std::vector<float> x(kChunk), y(kChunk);
  double worst = 0;
  float worst_x = 0;
  for (std::uint32_t m0 = 0; m0 < (1u << 23); m0 += kChunk) {
    for (std::uint32_t i = 0; i < kChunk; ++i) log_m[i] = std::log(static_cast<double>(float_of((127u << 23) | (m0 + i))));
    for (std::uint32_t e = 1; e < 255; ++e) {
      for (std::uint32_t i = 0; i < kChunk; ++i) x[i] = float_of((e << 23) | (m0 + i));
      kernels().log(x.data(), y.data(), kChunk);
      const double n = static_cast<double>(static_cast<int>(e) - 127);
      const double hi = n * kLn2Hi, lo = n * kLn2Lo;
      // err = |y - ref| / ulp(ref), with 1 / ulp(ref) = 2^(23 - E) built from ref's exponent bits
      // (no frexp, no division), so this loop costs about a nanosecond per float.
      double chunk_worst = 0;
      for (std::uint32_t i = 0; i < kChunk; ++i) {
        const double ref = (hi + log_m[i]) + lo;
        std::uint64_t rb;
        std::memcpy(&rb, &ref, sizeof rb);
        const std::uint64_t inv_bits = (std::uint64_t{2046 + 23} << 52) - (rb & 0x7ff0000000000000ull);
        double inv_ulp;
        std::memcpy(&inv_ulp, &inv_bits, sizeof inv_ulp);
        const double err = std::fabs(static_cast<double>(y[i]) - ref) * inv_ulp;
        chunk_worst = err > chunk_worst ? err : chunk_worst;
      }
      if (chunk_worst > worst) {
        worst = chunk_worst;
        for (std::uint32_t i = 0; i < kChunk; ++i) {
          if (ulp_error(y[i], (hi + log_m[i]) + lo) >= worst * 0.999) worst_x = x[i];
        }
      }
    }
  }
  MESSAGE("log max ulp (exhaustive) on " << std::string(kernels().name) << ": " << worst << " at " << worst_x);
  CHECK(worst <= kLogUlp);
}

TEST_CASE("log: the table's interval edges, both sides of 1, and negative tiny inputs") {
  // The AVX-512 log picks one of 32 entries by bits 18..22 of x's mantissa, with z = x / 2^k in
  // [3/4, 3/2): every entry edge (and the ends 3/4 and 3/2), +-4 floats, over a range of binades.
  std::vector<float> x;
  for (int e : {-125, -64, -2, -1, 0, 1, 2, 64, 126}) {
    for (std::uint32_t j = 0; j <= 32; ++j) {
      // Edge j of z: 1 + j/32 for j <= 16 (z >= 1), else 1/2 + j/64 (z < 1).
      const float z = j <= 16 ? 1.0f + static_cast<float>(j) / 32.0f : 0.5f + static_cast<float>(j) / 64.0f;
      const std::uint32_t b = bits_of(std::ldexp(z, e));
      for (std::uint32_t d = b - 4; d <= b + 4; ++d) x.push_back(float_of(d));
    }
  }
  float worst_x = 0;
  const double worst = max_log_ulp(x, &worst_x);
  CAPTURE(worst_x);
  CHECK(worst <= kLogUlp);
  // Around 1 the result is relative to itself on both sides (not to a table entry's log).
  const float near_one[] = {1.0f, float_of(bits_of(1.0f) - 1), float_of(bits_of(1.0f) + 1), 0.9921875f, 1.015625f};
  float out[5];
  kernels().log(near_one, out, 5);
  CHECK(bits_of(out[0]) == 0u);
  for (int i = 1; i < 5; ++i) CHECK(ulp_error(out[i], std::log(static_cast<double>(near_one[i]))) <= kLogUlp);
  // Negative values of every size (subnormal, smallest normal, -1, -max) are NaN.
  const float neg[] = {-std::numeric_limits<float>::denorm_min(), -0x1p-126f, -1.0f, -std::numeric_limits<float>::max()};
  float neg_out[4];
  kernels().log(neg, neg_out, 4);
  for (float v : neg_out) CHECK(std::isnan(v));
}

namespace {

using ExpKernel = void (*)(const float*, float*, std::size_t) noexcept;

// An exp kernel over [-87, 0] against float64: each result within base_ulp plus per_x * |x| relative;
// then exp(+-0) = 1, NaN stays NaN, and far below ln(FLT_MIN) a value in [0, tiny_max].
void check_exp_kernel(ExpKernel fn, const char* what, double base_ulp, double per_x, float tiny_max) {
  std::vector<float> x;
  xent::test::Rng rng(5);
  for (int i = 0; i < 300000; ++i) x.push_back(rng.uniform(-87.0f, 0.0f));
  for (int i = 0; i < 200000; ++i) x.push_back(rng.uniform(-4.0f, 0.0f));
  for (int i = 0; i < 20000; ++i) x.push_back(-rng.uniform(0.0f, 1e-3f));
  for (float v = -87.0f; v <= 0.0f; v += 1.0f / 64) x.push_back(v);  // the reductions' boundaries
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), x.size());
  double worst = 0, worst_excess = -1;
  float worst_x = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(static_cast<double>(x[i]));
    const double e = ulp_error(y[i], ref);
    if (e > worst) {
      worst = e;
      worst_x = x[i];
    }
    worst_excess = std::max(worst_excess, e - (base_ulp + per_x * std::fabs(x[i]) * ref / ulp_of(ref)));
  }
  MESSAGE(std::string(what) << " max ulp on " << std::string(kernels().name) << ": " << worst << " at " << worst_x);
  CHECK(worst_excess <= 0.0);
  const float special[] = {0.0f, -0.0f, -kInf, kNaN, -100.0f, -88.0f, -1e30f};
  float out[7];
  fn(special, out, 7);
  CHECK(out[0] == 1.0f);
  CHECK(out[1] == 1.0f);
  CHECK(std::isnan(out[3]));
  for (int i : {2, 4, 5, 6}) {
    CHECK(out[i] >= 0.0f);
    CHECK(out[i] <= tiny_max);
  }
}

}  // namespace

TEST_CASE("exp: max 2 ulp on [-87, 0]") {
  // Far below ln(FLT_MIN): under FLT_MIN (SIMD clamps at -87.5; scalar std::exp gives 0 or a subnormal).
  check_exp_kernel(kernels().exp_nonpositive, "exp", kExpUlp, 0.0, 0x1p-126f);
}

TEST_CASE("exp inside sums: max 2.5 ulp + |x| * 2.8e-9 relative on [-87, 0]") {
  // One constant for ln 2 / N in the reduction: its float error (1.9e-9 in ln 2) adds |x| * 2.8e-9
  // relative. Far below ln(FLT_MIN) at most exp(-87), negligible in a sum >= 1.
  check_exp_kernel(kernels().exp_sum_terms, "sums' exp", kExpSumUlp, 2.8e-9, 1.7e-38f);
}

namespace {

double lse_tolerance(double ref) { return 4 * ulp_of(ref) + 0x1p-21; }

template <class Store>
void check_logsumexp_row(const std::vector<float>& row, DType type, Store&& store) {
  std::vector<double> ref_in(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) ref_in[i] = row[i];
  const double ref = xent::test::ref_logsumexp(ref_in);
  const float got = store(row);
  if (std::isnan(ref)) {
    CHECK(std::isnan(got));
  } else if (std::isinf(ref)) {
    CHECK(static_cast<double>(got) == ref);
  } else {
    INFO("n = " << row.size() << ", type " << static_cast<int>(type));
    CHECK(std::fabs(static_cast<double>(got) - ref) <= lse_tolerance(ref));
  }
}

void check_logsumexp_all_types(std::vector<float> row) {
  check_logsumexp_row(row, DType::f32, [](const std::vector<float>& r) { return xent::logsumexp(r.data(), r.size()); });
  // Rounded to the 16-bit type first, so the reference sees exactly the stored values.
  std::vector<xent::float16> h(row.size());
  std::vector<float> hr(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    h[i] = xent::to_float16(row[i]);
    hr[i] = xent::to_float(h[i]);
  }
  check_logsumexp_row(hr, DType::f16, [&h](const std::vector<float>&) { return xent::logsumexp(h.data(), h.size()); });
  std::vector<xent::bfloat16> b(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    b[i] = xent::to_bfloat16(row[i]);
    hr[i] = xent::to_float(b[i]);
  }
  check_logsumexp_row(hr, DType::bf16, [&b](const std::vector<float>&) { return xent::logsumexp(b.data(), b.size()); });
}

}  // namespace

TEST_CASE("logsumexp: random rows of every length 1..2049 and long rows, f32/f16/bf16") {
  xent::test::Rng rng(17);
  for (std::size_t n = 1; n <= 2049; n += (n < 80 ? 1 : 13)) {
    std::vector<float> row(n);
    for (float& v : row) v = rng.uniform(-20.0f, 20.0f);
    check_logsumexp_all_types(row);
  }
  // Beyond L1: the single-pass online path, with the max late in the row so lanes rescale.
  for (std::size_t n : {8191u, 8192u, 8193u, 40000u, 100003u}) {
    std::vector<float> row(n);
    for (std::size_t i = 0; i < n; ++i) row[i] = rng.uniform(-30.0f, 10.0f) + static_cast<float>(i) * (20.0f / static_cast<float>(n));
    check_logsumexp_all_types(row);
  }
}

TEST_CASE("logsumexp: adversarial rows") {
  for (std::size_t n : {1u, 3u, 4u, 7u, 8u, 15u, 16u, 17u, 31u, 33u, 64u, 65u, 1000u, 9000u, 20001u}) {
    CAPTURE(n);
    check_logsumexp_all_types(std::vector<float>(n, 3.0f));                      // all equal: m + log n
    check_logsumexp_all_types(std::vector<float>(n, -kInf));                     // all -inf: -inf
    check_logsumexp_all_types(std::vector<float>(n, 60000.0f));                  // huge
    check_logsumexp_all_types(std::vector<float>(n, -60000.0f));                 // tiny
    std::vector<float> one(n, -200.0f);
    one[n / 2] = 50.0f;  // one dominant: the others underflow entirely
    check_logsumexp_all_types(one);
    std::vector<float> with_inf(n, 1.5f);
    with_inf[n - 1] = -kInf;  // a -inf entry is just a zero term
    check_logsumexp_all_types(with_inf);
    std::vector<float> with_nan(n, 0.5f);
    with_nan[(n * 2) / 3] = kNaN;
    check_logsumexp_all_types(with_nan);
    std::vector<float> with_pinf(n, 0.5f);
    with_pinf[n / 3] = kInf;
    CHECK(xent::logsumexp(with_pinf.data(), n) == kInf);
    std::vector<float> big_range(n);
    for (std::size_t i = 0; i < n; ++i) big_range[i] = (i % 2 ? 1e30f : -1e30f) * static_cast<float>(i % 5);
    check_logsumexp_all_types(big_range);
  }
  // The online pass (rows > 8192): lanes that stay -inf for whole pieces, then rise; the row max
  // arriving in the last, partial vector; a NaN after every lane already has a finite max.
  for (std::size_t n : {8200u, 12289u, 30000u}) {
    CAPTURE(n);
    xent::test::Rng rng(n);
    std::vector<float> row(n, -kInf);
    for (std::size_t i = n / 2; i < n; ++i) row[i] = rng.uniform(-40.0f, 5.0f);
    row[n - 1] = 12.0f;
    check_logsumexp_all_types(row);
    row[n / 2 + 5] = kNaN;
    check_logsumexp_all_types(row);
    for (std::size_t i = 0; i < n; ++i) row[i] = static_cast<float>(i % 97) * -0.5f;  // max early, many equal
    check_logsumexp_all_types(row);
  }
  CHECK(xent::logsumexp(static_cast<const float*>(nullptr), 0) == -kInf);
  CHECK(std::fabs(xent::logsumexp(std::vector<float>(5, 0.0f).data(), 5) - std::log(5.0f)) <= 2 * ulp_of(std::log(5.0)));
}

TEST_CASE("log_softmax: every element against float64") {
  xent::test::Rng rng(23);
  for (std::size_t n = 1; n <= 300; n += (n < 40 ? 1 : 17)) {
    std::vector<float> x(n);
    for (float& v : x) v = rng.uniform(-40.0f, 40.0f);
    std::vector<double> xd(x.begin(), x.end());
    const double lse = xent::test::ref_logsumexp(xd);
    std::vector<float> out(n);
    xent::log_softmax(x.data(), out.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const double ref = xd[i] - lse;
      CHECK(std::fabs(static_cast<double>(out[i]) - ref) <= lse_tolerance(ref) + 4 * ulp_of(lse));
    }
    xent::log_softmax(x.data(), x.data(), n);  // in place
    for (std::size_t i = 0; i < n; ++i) CHECK(x[i] == out[i]);
  }
  float all_inf[3] = {-kInf, -kInf, -kInf};
  float out[3];
  xent::log_softmax(all_inf, out, 3);
  CHECK(std::isnan(out[0]));
}

TEST_CASE("widen: all 65536 float16 and bfloat16 patterns, every offset and tail") {
  std::vector<std::uint16_t> bits(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) bits[i] = static_cast<std::uint16_t>(i);
  std::vector<float> out(65536);
  kernels().widen_f16(bits.data(), out.data(), bits.size());
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const double want = xent::test::f16_value(static_cast<std::uint16_t>(i));
    if (std::isnan(want)) {
      REQUIRE(std::isnan(out[i]));
    } else {
      REQUIRE(static_cast<double>(out[i]) == want);
      REQUIRE(std::signbit(out[i]) == ((i & 0x8000u) != 0));
    }
  }
  kernels().widen_bf16(bits.data(), out.data(), bits.size());
  for (std::uint32_t i = 0; i < 65536; ++i) REQUIRE(bits_of(out[i]) == i << 16);
  // Short, unaligned spans: the tail handling must neither skip nor overrun.
  for (std::size_t off = 0; off < 3; ++off) {
    for (std::size_t len = 0; len <= 70; ++len) {
      std::vector<float> o(len + 2, 7.0f);
      xent::widen(reinterpret_cast<const xent::float16*>(bits.data() + 15360 + off), o.data() + 1, len);
      CHECK(o[0] == 7.0f);
      CHECK(o[len + 1] == 7.0f);
      for (std::size_t i = 0; i < len; ++i) CHECK(static_cast<double>(o[i + 1]) == xent::test::f16_value(bits[15360 + off + i]));
    }
  }
}
