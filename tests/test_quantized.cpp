// Quantized int8 / uint8 predictions (xent/quantized.hpp): the parameter checks, TFLite's fixed
// softmax and log_softmax parameters, long and short rows on every layout, against float64
// evaluations of the dequantized values (metric_reference.hpp). The random shapes, options and
// weights are in test_metrics_random.cpp; the real digits data in test_digits.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
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
