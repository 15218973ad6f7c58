// Quantized int8 / uint8 predictions (xent/quantized.hpp): the parameter checks, TFLite's fixed
// softmax and log_softmax parameters, long and short rows on every layout, against float64
// evaluations of the dequantized values (metric_reference.hpp). The random shapes, options and
// weights are in test_metrics_random.cpp; the real digits data in test_digits.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "metric_reference.hpp"
#include "metric_test_util.hpp"

using xent::Status;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

template <class M>
std::vector<unsigned char> bytes_of(const M& m) {
  std::vector<unsigned char> b(M::serialized_size);
  REQUIRE(m.serialize(b.data(), b.size()) == Status::ok);
  return b;
}

}  // namespace

TEST_CASE("quantized: a bad scale or zero point is invalid_option, found before anything changes") {
  const std::int8_t qi[6] = {-115, 115, -128, -102, 77, -102};  // ~ the worked example, 1/256, -128
  const std::uint8_t qu[6] = {13, 243, 0, 26, 205, 26};
  const int labels[2] = {1, 2};
  const float onehot[6] = {0, 1, 0, 0, 0, 1};
  const float weights[2] = {0.3f, 0.7f};
  const xent::Shape shape{2, 3};
  struct Bad {
    float scale;
    std::int32_t zp_i8, zp_u8;
  };
  const Bad bad[] = {{0.0f, 0, 0},     {-0.0f, 0, 0},        {-1.0f / 256, -128, 0}, {kNaN, -128, 0},
                     {kInf, -128, 0},  {-kInf, -128, 0},     {1.0f / 256, -129, -1}, {1.0f / 256, 128, 256},
                     {1.0f / 256, INT32_MIN, INT32_MAX}, {1.0f / 256, 1000, -1000}};

  xent::SparseOptions so;
  so.per_class = true;
  xent::CategoricalOptions co;
  co.per_class = true;
  xent::SparseCategoricalCrossentropy<4> sparse(so);
  xent::CategoricalCrossentropy<4> cat(co);
  // A first good update, so that "unchanged" means something.
  REQUIRE(sparse.update_state(xent::view(labels, {2}), xent::quantized(qi, shape, 1.0f / 256, -128)) == Status::ok);
  REQUIRE(cat.update_state(xent::view(onehot, shape), xent::quantized(qu, shape, 1.0f / 256, 0)) == Status::ok);
  const auto sparse_before = bytes_of(sparse);
  const auto cat_before = bytes_of(cat);

  for (const Bad& b : bad) {
    INFO("scale " << b.scale << " zero points " << b.zp_i8 << " / " << b.zp_u8);
    const auto pi = xent::quantized(qi, shape, b.scale, b.zp_i8);
    const auto pu = xent::quantized(qu, shape, b.scale, b.zp_u8);
    CHECK(sparse.update_state(xent::view(labels, {2}), pi) == Status::invalid_option);
    CHECK(sparse.update_state(xent::view(labels, {2}), pu, xent::view(weights, {2})) == Status::invalid_option);
    CHECK(cat.update_state(xent::view(onehot, shape), pu) == Status::invalid_option);
    CHECK(cat.update_state(xent::view(onehot, shape), pi, xent::view(weights, {2})) == Status::invalid_option);
    // Even a batch of zero rows: the parameters are wrong whatever the data.
    CHECK(sparse.update_state(xent::view(labels, {0}), xent::quantized(qi, {0, 3}, b.scale, b.zp_i8)) ==
          Status::invalid_option);
    float out[3] = {7.0f, 7.0f, 7.0f};
    CHECK(xent::sparse_categorical_crossentropy(xent::view(labels, {2}), pu, out, 3) == Status::invalid_option);
    CHECK(xent::categorical_crossentropy(xent::view(onehot, shape), pi, out, 3) == Status::invalid_option);
    CHECK((out[0] == 7.0f && out[1] == 7.0f && out[2] == 7.0f));  // untouched
  }
  CHECK(bytes_of(sparse) == sparse_before);
  CHECK(bytes_of(cat) == cat_before);

  // The edges of the valid ranges are accepted.
  const float edges[] = {std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(), 1e-30f, 1e30f,
                         std::numeric_limits<float>::max()};
  xent::SparseOptions logits;
  logits.from_logits = true;
  for (float s : edges) {
    for (std::int32_t zp : {-128, 127}) {
      float out[2];
      CHECK(xent::sparse_categorical_crossentropy(xent::view(labels, {2}), xent::quantized(qi, shape, s, zp), out, 2, logits) ==
            Status::ok);
    }
    for (std::int32_t zp : {0, 255}) {
      float out[2];
      CHECK(xent::sparse_categorical_crossentropy(xent::view(labels, {2}), xent::quantized(qu, shape, s, zp), out, 2, logits) ==
            Status::ok);
    }
  }
}

TEST_CASE("quantized: the other errors are the float path's, in the same order") {
  const std::int8_t q[6] = {1, 2, 3, 4, 5, 6};
  const int labels[2] = {1, 3};
  xent::SparseCategoricalCrossentropy<> m;
  CHECK(m.update_state(xent::view(labels, {2}), xent::quantized(q, {2, 3}, 0.1f, 0)) == Status::label_out_of_range);
  CHECK(m.update_state(xent::view(labels, {3}), xent::quantized(q, {2, 3}, 0.1f, 0)) == Status::shape_mismatch);
  CHECK(m.update_state(xent::view(labels, {2}), xent::quantized<std::int8_t>(nullptr, {2, 3}, 0.1f, 0)) ==
        Status::null_data);
  CHECK(m.update_state(xent::view(labels, {2}), xent::quantized(q, {}, 0.1f, 0)) == Status::rank_out_of_range);
  CHECK(m.count() == 0.0);
}

namespace {

// Random rows of logits and their softmax / log_softmax in double.
struct Rows {
  std::size_t rows = 0, k = 0;
  std::vector<double> logp;  // log_softmax, row-major
  std::vector<std::int64_t> labels;
};

Rows random_rows(std::mt19937_64& g, std::size_t rows, std::size_t k) {
  Rows r;
  r.rows = rows;
  r.k = k;
  std::uniform_real_distribution<double> u(-6.0, 6.0);
  for (std::size_t i = 0; i < rows; ++i) {
    std::vector<double> z(k);
    double m = -1e300;
    for (double& v : z) v = u(g), m = std::fmax(m, v);
    if (i % 4 == 1) z[i % k] += 14.0, m = std::fmax(m, z[i % k]);  // confident rows
    double s = 0.0;
    for (double v : z) s += std::exp(v - m);
    for (double v : z) r.logp.push_back(v - m - std::log(s));
    r.labels.push_back(static_cast<std::int64_t>(g() % k));
  }
  return r;
}

template <class T>
T clamp_q(double q) {
  const double lo = std::is_same_v<T, std::int8_t> ? -128.0 : 0.0;
  return static_cast<T>(std::fmin(std::fmax(q, lo), lo + 255.0));
}

// The per-element reference of a batch given as float32 values (shape [rows, k], class axis last).
std::vector<xref::Loss> reference(const Rows& r, const std::vector<float>& values, bool sparse, bool logits) {
  std::vector<xref::Loss> out;
  std::vector<float> onehot(r.rows * r.k, 0.0f);
  for (std::size_t i = 0; i < r.rows; ++i) onehot[i * r.k + static_cast<std::size_t>(r.labels[i])] = 1.0f;
  for (std::size_t i = 0; i < r.rows; ++i) {
    const float* p = values.data() + i * r.k;
    out.push_back(sparse ? xref::sparse_row(p, r.k, 1, r.labels[i], logits, 0.0f)
                         : xref::categorical_row(p, onehot.data() + i * r.k, r.k, 1, logits, 0.0f));
  }
  return out;
}

// Per-element losses of a quantized batch through the functional forms.
template <class T>
std::vector<float> losses(const Rows& r, const std::vector<T>& q, float scale, std::int32_t zp, bool sparse, bool logits) {
  std::vector<float> out(r.rows, -1.0f);
  std::vector<float> onehot(r.rows * r.k, 0.0f);
  for (std::size_t i = 0; i < r.rows; ++i) onehot[i * r.k + static_cast<std::size_t>(r.labels[i])] = 1.0f;
  const auto pv = xent::quantized(q.data(), {r.rows, r.k}, scale, zp);
  Status s = Status::ok;
  if (sparse) {
    xent::SparseOptions o;
    o.from_logits = logits;
    s = xent::sparse_categorical_crossentropy(xent::view(r.labels.data(), {r.rows}), pv, out.data(), out.size(), o);
  } else {
    xent::CategoricalOptions o;
    o.from_logits = logits;
    s = xent::categorical_crossentropy(xent::view(onehot.data(), {r.rows, r.k}), pv, out.data(), out.size(), o);
  }
  REQUIRE(s == Status::ok);
  return out;
}

std::vector<float> float_losses(const Rows& r, const std::vector<float>& p, bool sparse, bool logits) {
  std::vector<float> out(r.rows, -1.0f);
  std::vector<float> onehot(r.rows * r.k, 0.0f);
  for (std::size_t i = 0; i < r.rows; ++i) onehot[i * r.k + static_cast<std::size_t>(r.labels[i])] = 1.0f;
  Status s = Status::ok;
  if (sparse) {
    xent::SparseOptions o;
    o.from_logits = logits;
    s = xent::sparse_categorical_crossentropy(xent::view(r.labels.data(), {r.rows}), xent::view(p.data(), {r.rows, r.k}),
                                              out.data(), out.size(), o);
  } else {
    xent::CategoricalOptions o;
    o.from_logits = logits;
    s = xent::categorical_crossentropy(xent::view(onehot.data(), {r.rows, r.k}), xent::view(p.data(), {r.rows, r.k}),
                                       out.data(), out.size(), o);
  }
  REQUIRE(s == Status::ok);
  return out;
}

}  // namespace

TEST_CASE("quantized: TFLite's softmax outputs (int8 1/256, -128; uint8 1/256, 0) as probabilities") {
  // Dequantized values are exactly (q - zp) / 256 (the scale is a power of two), so the reference
  // reads the integers directly; int8 and uint8 encode the same values and give the same bits.
  std::mt19937_64 g(808);
  for (std::size_t k : {2u, 3u, 10u, 17u, 64u, 100u, 1000u, 5000u}) {
    const Rows r = random_rows(g, k > 1000 ? 5 : 37, k);
    std::vector<std::int8_t> qi;
    std::vector<std::uint8_t> qu;
    std::vector<float> seen;
    for (double lp : r.logp) {
      const double q = std::nearbyint(std::exp(lp) * 256.0);
      qi.push_back(clamp_q<std::int8_t>(q - 128.0));
      qu.push_back(clamp_q<std::uint8_t>(q));
      seen.push_back(static_cast<float>(qu.back()) / 256.0f);
    }
    for (bool sparse : {true, false}) {
      const auto want = reference(r, seen, sparse, false);
      const auto got_i8 = losses(r, qi, 1.0f / 256, -128, sparse, false);
      const auto got_u8 = losses(r, qu, 1.0f / 256, 0, sparse, false);
      for (std::size_t i = 0; i < r.rows; ++i) {
        INFO("K " << k << " row " << i << (sparse ? " sparse" : " categorical") << " got " << got_i8[i] << " want "
                  << want[i].value);
        CHECK(std::fabs(static_cast<double>(got_i8[i]) - want[i].value) <= want[i].tol);
        CHECK(mt::ulp_distance(got_i8[i], got_u8[i]) == 0);
      }
    }
  }
}

TEST_CASE("quantized: TFLite's log_softmax outputs (int8 16/256, 127; uint8 16/256, 255) as logits") {
  // q = round(log p * 16) + zp covers log p down to -255/16 = -15.94 (below: clamped). From logits,
  // the loss must be that of the float probabilities the bytes encode, exp(value) (no clipping:
  // e^-15.94 > 1e-7), and both within the float64 reference's tolerance of the dequantized values.
  std::mt19937_64 g(909);
  for (std::size_t k : {2u, 3u, 10u, 17u, 64u, 100u, 1000u, 5000u}) {
    const Rows r = random_rows(g, k > 1000 ? 5 : 37, k);
    std::vector<std::int8_t> qi;
    std::vector<std::uint8_t> qu;
    std::vector<float> seen, probs;
    for (double lp : r.logp) {
      const double q = std::nearbyint(lp * 16.0);
      qi.push_back(clamp_q<std::int8_t>(q + 127.0));
      qu.push_back(clamp_q<std::uint8_t>(q + 255.0));
      seen.push_back(static_cast<float>(qi.back() - 127) / 16.0f);  // exact: a multiple of 1/16
      probs.push_back(static_cast<float>(std::exp(static_cast<double>(seen.back()))));
    }
    for (bool sparse : {true, false}) {
      const auto want_logits = reference(r, seen, sparse, true);
      const auto want_probs = reference(r, probs, sparse, false);
      const auto got_i8 = losses(r, qi, 16.0f / 256, 127, sparse, true);
      const auto got_u8 = losses(r, qu, 16.0f / 256, 255, sparse, true);
      const auto got_probs = float_losses(r, probs, sparse, false);
      for (std::size_t i = 0; i < r.rows; ++i) {
        INFO("K " << k << " row " << i << (sparse ? " sparse" : " categorical") << " got " << got_i8[i] << " from probs "
                  << got_probs[i] << " want " << want_logits[i].value);
        CHECK(std::fabs(static_cast<double>(got_i8[i]) - want_logits[i].value) <= want_logits[i].tol);
        CHECK(mt::ulp_distance(got_i8[i], got_u8[i]) == 0);
        // The two float64 references agree to the float32 rounding of exp; the library's two paths
        // within both tolerances.
        CHECK(std::fabs(want_logits[i].value - want_probs[i].value) <= 1e-6 * std::fmax(1.0, want_logits[i].value));
        CHECK(std::fabs(static_cast<double>(got_i8[i] - got_probs[i])) <= want_logits[i].tol + want_probs[i].tol);
      }
    }
  }
}
