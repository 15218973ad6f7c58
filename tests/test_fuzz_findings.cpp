// What the fuzz harnesses of fuzz/ found, one case per finding, each reproducing it with the
// input that found it (kept as fuzz/corpus/<harness>/finding-*). The fuzz preset also builds this
// file with clang's sanitizers, which report what GCC's do not (-fsanitize=enum).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "c_api_enums.h"
#include "metric_test_util.hpp"
#include "xent/xent.h"

namespace {

constexpr std::size_t kHugeRank = std::numeric_limits<std::size_t>::max();

std::vector<unsigned char> c_state(const xent_metric& m) {
  std::vector<unsigned char> b(xent_metric_serialized_size());
  REQUIRE(xent_metric_serialize(&m, b.data(), b.size()) == XENT_OK);
  return b;
}

}  // namespace

// fuzz_c_api, finding-rank-hang: a tensor struct whose rank is a huge size_t (what an uninitialised
// field of C firmware holds) made Shape::from loop `rank` times: a hang, not rank_out_of_range.
TEST_CASE("fuzz finding: any rank, however large, is rank_out_of_range at once") {
  const std::size_t dims[xent::kMaxRank] = {2, 3, 1, 1, 1, 1, 1, 1};
  for (std::size_t rank : {xent::kMaxRank + 1, std::size_t{1} << 31, kHugeRank}) {  // 32-bit size_t too
    const xent::Shape s = xent::Shape::from(dims, rank);
    CHECK_FALSE(s.valid());
    CHECK(s.rank() == xent::kMaxRank + 1);
    CHECK(s[0] == 2);
  }
  const float pred[6] = {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f};
  const std::int32_t labels[2] = {1, 2};
  xent_metric m{};
  REQUIRE(xent_metric_init(&m, XENT_SPARSE, nullptr, nullptr) == XENT_OK);
  xent_tensor p{};
  p.data = pred;
  p.dtype = XENT_F32;
  p.rank = kHugeRank;
  p.dims[0] = 2;
  p.dims[1] = 3;
  xent_tensor y{};
  y.data = labels;
  y.dtype = XENT_I32;
  y.rank = 1;
  y.dims[0] = 2;
  const std::vector<unsigned char> before = c_state(m);
  CHECK(xent_metric_update(&m, &y, &p, nullptr) == XENT_RANK_OUT_OF_RANGE);
  p.rank = 2;
  y.rank = kHugeRank;
  CHECK(xent_metric_update(&m, &y, &p, nullptr) == XENT_RANK_OUT_OF_RANGE);
  CHECK(xent_metric_update(&m, &y, &p, &y) == XENT_INVALID_OPTION);  // int32 weights: the dtype first
  CHECK(c_state(m) == before);
}

// fuzz_c_api, finding-enum-*: a C caller may store any int in an enum field or argument (a dtype
// code, a kind, a status); the C API loaded them as C++ enums, whose values outside the
// enumerators' range are undefined (clang: "load of value 9, which is not a valid value for type
// 'xent_dtype'"). Every such value must be refused (or described) like any other bad code.
TEST_CASE("fuzz finding: the C API takes enum codes outside its enumerators from C") {
  xent_metric m{};
  for (int kind : {0, 3, 7, 255, -1, 1 << 30}) {
    CHECK(xent_test_init_code(&m, kind, nullptr, nullptr) == XENT_INVALID_OPTION);
    CHECK(xent_metric_count(&m) == 0.0);  // never initialised: every call answers as for a null metric
  }
  REQUIRE(xent_test_init_code(&m, XENT_SPARSE, nullptr, "s") == XENT_OK);
  const float pred[6] = {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f};
  const std::int32_t labels[2] = {1, 2};
  const float weights[2] = {0.3f, 0.7f};
  xent_tensor p{};
  p.data = pred;
  p.rank = 2;
  p.dims[0] = 2;
  p.dims[1] = 3;
  xent_tensor y{};
  y.data = labels;
  y.rank = 1;
  y.dims[0] = 2;
  xent_tensor w = y;
  w.data = weights;
  xent_test_set_dtype_code(&p, XENT_F32);
  xent_test_set_dtype_code(&y, XENT_I32);
  xent_test_set_dtype_code(&w, XENT_F32);
  const std::vector<unsigned char> before = c_state(m);
  // Codes that stay outside the enumerators also where C enums are one byte (arm-none-eabi's
  // short enums store -1 as 255 and 1000 as 232).
  for (int code : {7, 9, 100, 255, -1, 1000}) {
    xent_tensor bad_p = p, bad_y = y, bad_w = w;
    xent_test_set_dtype_code(&bad_p, code);
    xent_test_set_dtype_code(&bad_y, code);
    xent_test_set_dtype_code(&bad_w, code);
    CHECK((xent_test_dtype_code(&bad_p) < XENT_F32 || xent_test_dtype_code(&bad_p) > XENT_U16));
    CHECK(xent_metric_update(&m, &y, &bad_p, nullptr) == XENT_INVALID_OPTION);
    CHECK(xent_metric_update(&m, &bad_y, &p, nullptr) == XENT_INVALID_OPTION);
    CHECK(xent_metric_update(&m, &y, &p, &bad_w) == XENT_INVALID_OPTION);
  }
  CHECK(c_state(m) == before);
  REQUIRE(xent_metric_update(&m, &y, &p, &w) == XENT_OK);
  CHECK(xent_metric_result(&m) == doctest::Approx(1.6271976).epsilon(1e-6));

  for (int code : {12, 200, 255, -1}) {
    const char* msg = xent_test_status_message_code(code);
    REQUIRE(msg != nullptr);
    CHECK(std::strcmp(msg, "Unknown status value.") == 0);
  }
  CHECK(std::strcmp(xent_test_status_message_code(XENT_CORRUPT_STATE), xent_status_message(XENT_CORRUPT_STATE)) == 0);
}

// Found replaying the update corpus on aarch64: xsimd 8.1 divides float batches there by a
// reciprocal estimate, and a row of subnormal probabilities (total 1.07e-42, here int8 127 with the
// smallest scale, or the same floats) gave the loss of a clipped zero (16.1) instead of log K: the
// kernels now divide through simd::div (vdivq_f32). armv7 NEON flushes subnormals (README): skipped.
TEST_CASE("fuzz finding: probabilities of subnormal size divide correctly (categorical, every path)") {
#if !(defined(__ARM_NEON) && !defined(__aarch64__))
  const float tiny = 127 * std::numeric_limits<float>::denorm_min();
  for (const std::size_t k : {3u, 6u, 40u, 200u}) {
    for (const std::size_t rows : {1u, 2u, 5u}) {
      CAPTURE(k);
      CAPTURE(rows);
      std::vector<float> p(rows * k, tiny), t(rows * k, 0.0f);
      std::vector<std::int8_t> q(rows * k, 127);
      for (std::size_t r = 0; r < rows; ++r) t[r * k + r % k] = 1.0f;
      std::vector<float> out(rows), out_q(rows);
      REQUIRE(xent::categorical_crossentropy(xent::view(t.data(), {rows, k}), xent::view(p.data(), {rows, k}),
                                             out.data(), rows) == xent::Status::ok);
      REQUIRE(xent::categorical_crossentropy(xent::view(t.data(), {rows, k}),
                                             xent::quantized(q.data(), {rows, k}, std::numeric_limits<float>::denorm_min(), 0),
                                             out_q.data(), rows) == xent::Status::ok);
      for (std::size_t r = 0; r < rows; ++r) {
        CHECK(out[r] == doctest::Approx(std::log(static_cast<double>(k))).epsilon(1e-6));
        CHECK(out_q[r] == out[r]);
      }
    }
  }
#endif
}
