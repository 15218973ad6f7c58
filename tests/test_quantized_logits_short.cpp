// Short int8 / uint8 logits rows (4..16 classes): on AVX512-VBMI the byte-table kernels of
// src/kernels/simd/q8_logits.hpp, elsewhere the float path; on every ISA against float64
// evaluations of the dequantized values (metric_reference.hpp): sparse (ignored labels, weights)
// and categorical (soft truth, label smoothing), whole and partial groups of 16 rows, scales with
// 255 s just under and over 64 (the kernels' limit), zero points anywhere, TFLite's log_softmax
// parameters, rows whose bytes are all low (terms far below the table's reference), and a row's
// bits against the same row alone.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#if !defined(XENT_BARE_METAL)
#include <thread>
#endif
#include <type_traits>
#include <vector>

#include "kernels/kernel_table.hpp"
#include "metric_reference.hpp"
#include "metric_test_util.hpp"
#include "xent/kernels.hpp"

using xent::Status;

namespace {

struct Params {
  float scale;
  std::int32_t zp_i8, zp_u8;
};

// 255 s from 1 to just over 64, and TFLite's log_softmax (16/256; int8 127, uint8 255).
const Params kParams[] = {{1.0f / 255, -128, 0},    {0.05f, 0, 128},        {0.1f, 100, 3},   {16.0f / 256, 127, 255},
                          {63.9f / 255, -7, 250},   {64.1f / 255, 31, 17},  {0.7f, -128, 0}};

template <class T>
struct Batch {
  std::size_t rows = 0, k = 0;
  std::vector<T> q;
  std::vector<float> z;      // the dequantized values, float32(s (q - zp)) as TFLite's
  std::vector<float> truth;  // categorical: a soft distribution per row
  std::vector<std::int64_t> labels;
};

template <class T>
Batch<T> make_batch(std::mt19937_64& g, std::size_t rows, std::size_t k, float scale, std::int32_t zp) {
  constexpr int lo = std::is_same_v<T, std::int8_t> ? -128 : 0;
  Batch<T> b;
  b.rows = rows;
  b.k = k;
  for (std::size_t i = 0; i < rows; ++i) {
    // Every third row's bytes all low (max far below the type's top byte); others anywhere.
    const int span = i % 3 == 2 ? 12 : 256;
    double t_sum = 0.0;
    std::vector<double> t(k);
    for (std::size_t c = 0; c < k; ++c) {
      const int v = lo + static_cast<int>(g() % static_cast<std::uint64_t>(span));
      b.q.push_back(static_cast<T>(v));
      b.z.push_back(scale * static_cast<float>(v - zp));  // one float rounding
      t[c] = static_cast<double>(g() % 1000) * (g() % 4 == 0 ? 0.0 : 1.0);
      t_sum += t[c];
    }
    for (std::size_t c = 0; c < k; ++c) b.truth.push_back(t_sum > 0.0 ? static_cast<float>(t[c] / t_sum) : (c == 0 ? 1.0f : 0.0f));
    b.labels.push_back(i % 5 == 3 ? -1 : static_cast<std::int64_t>(g() % k));  // -1: ignore_class
  }
  return b;
}

template <class T>
std::vector<float> losses(const Batch<T>& b, std::size_t r0, std::size_t rows, float scale, std::int32_t zp, bool sparse,
                          float ls) {
  std::vector<float> out(rows, -7.0f);
  const auto pv = xent::quantized(b.q.data() + r0 * b.k, {rows, b.k}, scale, zp);
  Status s = Status::ok;
  if (sparse) {
    xent::SparseOptions o;
    o.from_logits = true;
    o.ignore_class = -1;
    o.label_smoothing = ls;
    s = xent::sparse_categorical_crossentropy(xent::view(b.labels.data() + r0, {rows}), pv, out.data(), out.size(), o);
  } else {
    xent::CategoricalOptions o;
    o.from_logits = true;
    o.label_smoothing = ls;
    s = xent::categorical_crossentropy(xent::view(b.truth.data() + r0 * b.k, {rows, b.k}), pv, out.data(), out.size(), o);
  }
  REQUIRE(s == Status::ok);
  return out;
}

// Whether these rows take the byte-table kernels (q8_logits.hpp): AVX-512 with VBMI, 255 s <= 64.
bool byte_table_kernels(float scale) {
  return std::string(xent::active_isa()) == "avx512" && xent::detail::avx512_vbmi_allowed() && 255.0f * scale <= 64.0f;
}

// The sparse kernel's bound (q8_logits.hpp): 2^-21 for S's 8 roundings, 3.5 ulp of log S (the
// library's log), half an ulp of z_label - m and of the loss; values from float64.
double sparse_kernel_bound(const float* z, std::size_t k, std::int64_t label) {
  double m = z[0], s = 0.0;
  for (std::size_t c = 1; c < k; ++c) m = std::fmax(m, static_cast<double>(z[c]));
  for (std::size_t c = 0; c < k; ++c) s += std::exp(static_cast<double>(z[c]) - m);
  const double shifted = static_cast<double>(z[static_cast<std::size_t>(label)]) - m;
  return 0x1p-21 * 1.001 + 3.5 * xref::ulp32(std::log(s)) + 0.5 * xref::ulp32(shifted) + 0.5 * xref::ulp32(std::log(s) - shifted);
}

template <class T>
void check_type(std::mt19937_64& g) {
  constexpr bool i8 = std::is_same_v<T, std::int8_t>;
  for (const Params& p : kParams) {
    const std::int32_t zp = i8 ? p.zp_i8 : p.zp_u8;
    for (std::size_t k = 4; k <= 16; ++k) {
      for (std::size_t rows : {1u, 5u, 16u, 17u, 40u}) {
        const Batch<T> b = make_batch<T>(g, rows, k, p.scale, zp);
        for (bool sparse : {true, false}) {
          for (float ls : {0.0f, 0.1f}) {
            const auto got = losses(b, 0, rows, p.scale, zp, sparse, ls);
            for (std::size_t i = 0; i < rows; ++i) {
              const float* z = b.z.data() + i * k;
              xref::Loss want;
              if (sparse) {
                if (b.labels[i] < 0) {
                  CHECK(got[i] == 0.0f);
                  continue;
                }
                want = xref::sparse_row(z, k, 1, b.labels[i], true, ls);
              } else {
                want = xref::categorical_row(z, b.truth.data() + i * k, k, 1, true, ls);
              }
              INFO((i8 ? "int8" : "uint8") << " scale " << p.scale << " zp " << zp << " K " << k << " rows " << rows << " row " << i
                                          << (sparse ? " sparse" : " categorical") << " ls " << ls << " got " << got[i] << " want "
                                          << want.value);
              CHECK(std::fabs(static_cast<double>(got[i]) - want.value) <= want.tol);
              if (sparse && !(ls > 0.0f) && byte_table_kernels(p.scale)) {
                CHECK(std::fabs(static_cast<double>(got[i]) - want.value) <= sparse_kernel_bound(z, k, b.labels[i]));
              }
            }
            // A row's bits do not depend on the rows beside it (its group, a partial one or not).
            for (std::size_t i = 0; i < rows; i += 7) {
              const auto alone = losses(b, i, 1, p.scale, zp, sparse, ls);
              CHECK(mt::ulp_distance(alone[0], got[i]) == 0);
            }
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("quantized logits short: int8 rows of 4..16 classes against float64, both metrics") {
  std::mt19937_64 g(1212);
  check_type<std::int8_t>(g);
}

TEST_CASE("quantized logits short: uint8 rows of 4..16 classes against float64, both metrics") {
  std::mt19937_64 g(1213);
  check_type<std::uint8_t>(g);
}

TEST_CASE("quantized logits short: weighted sparse and categorical results against float64") {
  std::mt19937_64 g(1214);
  for (std::size_t k : {4u, 10u, 13u, 16u}) {
    const std::size_t rows = 37;
    const float scale = 0.07f;
    const std::int32_t zp = -20;
    const Batch<std::int8_t> b = make_batch<std::int8_t>(g, rows, k, scale, zp);
    std::vector<float> w(rows);
    for (float& v : w) v = static_cast<float>(g() % 100) / 25.0f;
    const auto pv = xent::quantized(b.q.data(), {rows, k}, scale, zp);
    xent::SparseOptions so;
    so.from_logits = true;
    so.ignore_class = -1;
    xent::SparseCategoricalCrossentropy<> sm(so);
    REQUIRE(sm.update_state(xent::view(b.labels.data(), {rows}), pv, xent::view(w.data(), {rows})) == Status::ok);
    xent::CategoricalOptions co;
    co.from_logits = true;
    xent::CategoricalCrossentropy<> cm(co);
    REQUIRE(cm.update_state(xent::view(b.truth.data(), {rows, k}), pv, xent::view(w.data(), {rows})) == Status::ok);
    double s_total = 0.0, s_count = 0.0, s_tol = 0.0, c_total = 0.0, c_count = 0.0, c_tol = 0.0;
    for (std::size_t i = 0; i < rows; ++i) {
      const double wi = static_cast<double>(w[i]);
      const float* z = b.z.data() + i * k;
      if (b.labels[i] >= 0) {
        const xref::Loss l = xref::sparse_row(z, k, 1, b.labels[i], true, 0.0f);
        s_total += wi * l.value;
        s_tol += wi * l.tol;
        s_count += wi;
      }
      const xref::Loss l = xref::categorical_row(z, b.truth.data() + i * k, k, 1, true, 0.0f);
      c_total += wi * l.value;
      c_tol += wi * l.tol;
      c_count += wi;
    }
    INFO("K " << k);
    CHECK(std::fabs(sm.total() - s_total) <= s_tol + 1e-9 * s_total);
    CHECK(sm.count() == doctest::Approx(s_count).epsilon(1e-12));
    CHECK(std::fabs(cm.total() - c_total) <= c_tol + 1e-9 * c_total);
    CHECK(cm.count() == doctest::Approx(c_count).epsilon(1e-12));
  }
}

#if !defined(XENT_BARE_METAL)  // no threads on a microcontroller
TEST_CASE("quantized logits short: threads racing to fill the table cache get the same bits as one thread after") {
  // Scales no other test uses: on AVX512-VBMI the first calls race to fill the table slots (or find
  // them all taken and build their own tables); every way must give the same bits.
  constexpr std::size_t kRows = 40, kK = 10, kThreads = 4, kScales = 6;
  std::mt19937_64 g(1215);
  std::vector<Batch<std::int8_t>> batches;
  for (std::size_t j = 0; j < kScales; ++j) batches.push_back(make_batch<std::int8_t>(g, kRows, kK, 0.0311f + 0.0007f * static_cast<float>(j), 5));
  std::vector<std::vector<float>> got(kThreads * kScales * 2);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t n = 0; n < kScales; ++n) {
        const std::size_t j = (n + t) % kScales;  // each thread its own order
        const float scale = 0.0311f + 0.0007f * static_cast<float>(j);
        got[(t * kScales + j) * 2] = losses(batches[j], 0, kRows, scale, 5, true, 0.0f);
        got[(t * kScales + j) * 2 + 1] = losses(batches[j], 0, kRows, scale, 5, false, 0.0f);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t j = 0; j < kScales; ++j) {
    const float scale = 0.0311f + 0.0007f * static_cast<float>(j);
    const auto sparse = losses(batches[j], 0, kRows, scale, 5, true, 0.0f);
    const auto cat = losses(batches[j], 0, kRows, scale, 5, false, 0.0f);
    for (std::size_t t = 0; t < kThreads; ++t) {
      for (std::size_t i = 0; i < kRows; ++i) {
        INFO("scale " << j << " thread " << t << " row " << i);
        CHECK(mt::ulp_distance(got[(t * kScales + j) * 2][i], sparse[i]) == 0);
        CHECK(mt::ulp_distance(got[(t * kScales + j) * 2 + 1][i], cat[i]) == 0);
      }
    }
  }
}
#endif
