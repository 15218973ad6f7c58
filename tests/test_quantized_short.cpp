// Short quantized probability rows (4 <= K <= 16 contiguous classes): on AVX-512 with VBMI and VNNI
// they take the byte-quad kernels (kernels/simd/q8_quads.hpp: integer row sums, clip thresholds on
// the bytes), elsewhere the dequantizing quads; every ISA against the float64 reference of the
// dequantized values (metric_reference.hpp). Partial groups (rows 1..40), int8 and uint8, zero
// points at the type's minimum and mid-range (negative values: clipped low, categorical totals <= 0),
// scales reaching 1 - eps and all below eps, ignored labels, weights, label smoothing (categorical), both
// metrics.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "metric_reference.hpp"
#include "metric_test_util.hpp"

using xent::Status;

namespace {

struct Params {
  float scale;
  std::int32_t zp_i8, zp_u8;
  const char* what;
};

constexpr Params kParams[] = {
    {1.0f / 256, -128, 0, "TFLite softmax (type minimum)"},
    {1.0f / 255, -128, 0, "1/255: the top byte dequantizes to 1 > 1 - eps"},
    {1.0f / 128, 0, 128, "mid-range zero point: negative values"},
    {1.0f / 64, -100, 28, "1/64: many values above 1 - eps"},
    {1e-9f, -128, 0, "every value below eps"},
    {0.37f / 256, -120, 5, "a scale that is no power of two"},
};

template <class T>
float deq(T q, std::int32_t zp, float scale) {
  return static_cast<float>(static_cast<std::int32_t>(q) - zp) * scale;  // SEMANTICS.md's dequantization
}

// Random bytes: uniform, with some rows one large byte over small ones (confident rows).
template <class T>
std::vector<T> random_bytes(std::mt19937_64& g, std::size_t rows, std::size_t k) {
  constexpr int lo = std::is_signed_v<T> ? -128 : 0;
  std::vector<T> q(rows * k);
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t c = 0; c < k; ++c) {
      const int v = i % 3 == 1 ? static_cast<int>(g() % 8) : static_cast<int>(g() % 256);
      q[i * k + c] = static_cast<T>(lo + v);
    }
    if (i % 3 == 1) q[i * k + static_cast<std::size_t>(g() % k)] = static_cast<T>(lo + 255 - static_cast<int>(g() % 4));
  }
  return q;
}

bool close(float got, double want, double tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(static_cast<double>(got) - want) <= tol;
}

template <class T>
void check_type(std::uint64_t seed) {
  std::mt19937_64 g(seed);
  for (const Params& pr : kParams) {
    const std::int32_t zp = std::is_signed_v<T> ? pr.zp_i8 : pr.zp_u8;
    for (std::size_t k = 4; k <= 16; ++k) {
      for (std::size_t rows : {1u, 3u, 15u, 16u, 17u, 31u, 40u}) {
        const std::vector<T> q = random_bytes<T>(g, rows, k);
        std::vector<float> values(q.size());
        for (std::size_t i = 0; i < q.size(); ++i) values[i] = deq(q[i], zp, pr.scale);
        const std::int64_t ignore = static_cast<std::int64_t>(k) + 2;
        std::vector<std::int64_t> labels(rows);
        std::vector<float> onehot(rows * k, 0.0f), soft(rows * k, 0.0f), weights(rows);
        for (std::size_t i = 0; i < rows; ++i) {
          labels[i] = i % 7 == 3 ? ignore : static_cast<std::int64_t>(g() % k);
          onehot[i * k + static_cast<std::size_t>(labels[i] == ignore ? 0 : labels[i])] = 1.0f;
          for (std::size_t c = 0; c < k; ++c) soft[i * k + c] = static_cast<float>(g() % 5) * 0.25f;
          weights[i] = static_cast<float>(g() % 9) * 0.125f + 0.25f;
        }
        const auto pv = xent::quantized(q.data(), {rows, k}, pr.scale, zp);
        INFO(pr.what << ", K " << k << ", rows " << rows << (std::is_signed_v<T> ? ", int8" : ", uint8"));

        // Sparse: per-row losses and a weighted metric, ignored rows 0 and out of the count.
        xent::SparseOptions so;
        so.ignore_class = ignore;
        std::vector<float> got(rows, -1.0f);
        REQUIRE(xent::sparse_categorical_crossentropy(xent::view(labels.data(), {rows}), pv, got.data(), rows, so) == Status::ok);
        double total = 0.0, count = 0.0, err = 0.0;
        for (std::size_t i = 0; i < rows; ++i) {
          if (labels[i] == ignore) {
            CHECK(got[i] == 0.0f);
            continue;
          }
          const xref::Loss want = xref::sparse_row(values.data() + i * k, k, 1, labels[i], false, 0.0f);
          INFO("sparse row " << i << " got " << got[i] << " want " << want.value);
          CHECK(close(got[i], want.value, want.tol));
          total += weights[i] * want.value;
          count += weights[i];
          err += weights[i] * want.tol;
        }
        xent::SparseCategoricalCrossentropy<> sm(so);
        REQUIRE(sm.update_state(xent::view(labels.data(), {rows}), pv, xent::view(weights.data(), {rows})) == Status::ok);
        if (count > 0.0) {
          const double want = total / count;
          CHECK(std::fabs(static_cast<double>(sm.result()) - want) <= 1e-6 * std::fmax(1.0, std::fabs(want)) + err / count);
        }

        // Categorical: one-hot and soft truth, per-row losses (with and without label smoothing) and a
        // weighted metric.
        for (const std::vector<float>* t : {&onehot, &soft}) {
          xent::CategoricalOptions smooth;
          smooth.label_smoothing = 0.1f;
          std::vector<float> cs(rows, -1.0f);
          REQUIRE(xent::categorical_crossentropy(xent::view(t->data(), {rows, k}), pv, cs.data(), rows, smooth) == Status::ok);
          for (std::size_t i = 0; i < rows; ++i) {
            const xref::Loss want = xref::categorical_row(values.data() + i * k, t->data() + i * k, k, 1, false, 0.1f, nullptr);
            INFO("smoothed categorical row " << i << " got " << cs[i] << " want " << want.value);
            CHECK(close(cs[i], want.value, want.tol));
          }
          std::vector<float> cg(rows, -1.0f);
          REQUIRE(xent::categorical_crossentropy(xent::view(t->data(), {rows, k}), pv, cg.data(), rows) == Status::ok);
          double ct = 0.0, cc = 0.0, ce = 0.0;
          bool finite = true;
          for (std::size_t i = 0; i < rows; ++i) {
            const xref::Loss want = xref::categorical_row(values.data() + i * k, t->data() + i * k, k, 1, false, 0.0f, nullptr);
            INFO("categorical row " << i << (t == &soft ? " soft" : " one-hot") << " got " << cg[i] << " want " << want.value);
            CHECK(close(cg[i], want.value, want.tol));
            finite = finite && std::isfinite(want.value);
            ct += weights[i] * want.value;
            cc += weights[i];
            ce += weights[i] * want.tol;
          }
          xent::CategoricalCrossentropy<> cm;
          REQUIRE(cm.update_state(xent::view(t->data(), {rows, k}), pv, xent::view(weights.data(), {rows})) == Status::ok);
          if (finite) {
            const double want = ct / cc;
            CHECK(std::fabs(static_cast<double>(cm.result()) - want) <= 1e-6 * std::fmax(1.0, std::fabs(want)) + ce / cc);
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("quantized short rows: int8 probabilities, K 4..16, partial groups, against float64") { check_type<std::int8_t>(1201); }

TEST_CASE("quantized short rows: uint8 probabilities, K 4..16, partial groups, against float64") { check_type<std::uint8_t>(1202); }

TEST_CASE("quantized short rows: a one-hot row's categorical loss has the same bits beside soft rows") {
  // On AVX-512 VBMI + VNNI a group of 16 one-hot rows takes one log per row; a soft row in the group
  // sends it through the general pass. A row's bits must not depend on its neighbours (chunking).
  std::mt19937_64 g(1203);
  for (std::size_t k = 4; k <= 16; ++k) {
    for (std::size_t rows : {16u, 21u, 40u}) {
      const std::vector<std::int8_t> q = random_bytes<std::int8_t>(g, rows, k);
      std::vector<float> onehot(rows * k, 0.0f);
      for (std::size_t i = 0; i < rows; ++i) onehot[i * k + static_cast<std::size_t>(g() % k)] = 1.0f;
      std::vector<float> mixed = onehot;
      for (std::size_t c = 0; c < k; ++c) mixed[5 * k + c] = 1.0f / static_cast<float>(k);  // row 5: soft
      for (std::size_t c = 0; c < k; ++c) mixed[(rows - 1) * k + c] = c == 0 ? 0.5f : 0.0f;  // last row: not one-hot
      const auto pv = xent::quantized(q.data(), {rows, k}, 1.0f / 256, -128);
      std::vector<float> a(rows), b(rows);
      REQUIRE(xent::categorical_crossentropy(xent::view(onehot.data(), {rows, k}), pv, a.data(), rows) == Status::ok);
      REQUIRE(xent::categorical_crossentropy(xent::view(mixed.data(), {rows, k}), pv, b.data(), rows) == Status::ok);
      for (std::size_t i = 0; i < rows; ++i) {
        if (i == 5 || i + 1 == rows) continue;
        INFO("K " << k << " rows " << rows << " row " << i);
        CHECK(mt::ulp_distance(a[i], b[i]) == 0);
      }
    }
  }
}
