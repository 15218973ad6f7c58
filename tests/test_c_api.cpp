// The C API mirrors the C++ metrics: same values, same errors, same bytes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "xent/xent.h"
#include "xent/xent.hpp"
#include "metric_test_util.hpp"

namespace {

using mt::worked::kPred;
using mt::worked::kOneHot;
const std::int64_t kLabels[2] = {1, 2};  // XENT_I64 labels
using mt::worked::kWeights;

xent_tensor tensor(const void* data, xent_dtype type, std::size_t rank, std::size_t d0, std::size_t d1 = 0) {
  xent_tensor t{};
  t.data = data;
  t.dtype = type;
  t.rank = rank;
  t.dims[0] = d0;
  t.dims[1] = d1;
  return t;
}

}  // namespace

TEST_CASE("c api: the worked examples of SEMANTICS.md, both kinds") {
  xent_metric sparse;
  xent_metric categorical;
  REQUIRE(xent_metric_init(&sparse, XENT_SPARSE, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_init(&categorical, XENT_CATEGORICAL, nullptr, "cce") == XENT_OK);
  const xent_tensor pred = tensor(kPred, XENT_F32, 2, 2, 3);
  const xent_tensor labels = tensor(kLabels, XENT_I64, 1, 2);
  const xent_tensor onehot = tensor(kOneHot, XENT_F32, 2, 2, 3);
  const xent_tensor weights = tensor(kWeights, XENT_F32, 1, 2);

  REQUIRE(xent_metric_update(&sparse, &labels, &pred, nullptr) == XENT_OK);
  REQUIRE(xent_metric_update(&categorical, &onehot, &pred, nullptr) == XENT_OK);
  CHECK(xent_metric_result(&sparse) == doctest::Approx(1.1769392).epsilon(1e-6));
  CHECK(xent_metric_result(&categorical) == doctest::Approx(1.1769392).epsilon(1e-6));
  CHECK(xent_metric_count(&sparse) == 2.0);
  CHECK(std::strcmp(xent_metric_name(&sparse), "sparse_categorical_crossentropy") == 0);
  CHECK(std::strcmp(xent_metric_name(&categorical), "cce") == 0);

  xent_metric_reset(&sparse);
  CHECK(xent_metric_result(&sparse) == 0.0f);
  REQUIRE(xent_metric_update(&sparse, &labels, &pred, &weights) == XENT_OK);
  CHECK(xent_metric_result(&sparse) == doctest::Approx(1.6271976).epsilon(1e-6));

  // The same arithmetic as the C++ class, bit for bit.
  xent::SparseCategoricalCrossentropy<> cpp;
  REQUIRE(cpp.update_state(xent::view(kLabels, {2}), xent::view(kPred, {2, 3}), xent::view(kWeights, {2})) ==
          xent::Status::ok);
  CHECK(xent_metric_total(&sparse) == cpp.total());
  CHECK(xent_metric_count(&sparse) == cpp.count());
}

TEST_CASE("c api: 16-bit predictions and options") {
  xent::float16 pred16[6];
  for (int i = 0; i < 6; ++i) pred16[i] = xent::to_float16(kPred[i]);
  xent_options options = xent_default_options();
  options.has_ignore_class = 1;
  options.ignore_class = 2;  // the second row is ignored: only 0.0513 remains
  xent_metric m;
  REQUIRE(xent_metric_init(&m, XENT_SPARSE, &options, nullptr) == XENT_OK);
  const xent_tensor pred = tensor(pred16, XENT_F16, 2, 2, 3);
  const xent_tensor labels = tensor(kLabels, XENT_I64, 1, 2);
  REQUIRE(xent_metric_update(&m, &labels, &pred, nullptr) == XENT_OK);
  const double p1 = static_cast<double>(xent::to_float(pred16[1]));
  const double s = static_cast<double>(xent::to_float(pred16[0])) + p1 + 1e-7;  // the 0 is clipped to eps
  CHECK(xent_metric_count(&m) == 1.0);
  CHECK(static_cast<double>(xent_metric_result(&m)) == doctest::Approx(std::log(s) - std::log(p1)).epsilon(1e-6));
}

TEST_CASE("c api: errors leave the state unchanged and read as C++'s") {
  xent_metric m;
  REQUIRE(xent_metric_init(&m, XENT_SPARSE, nullptr, nullptr) == XENT_OK);
  const xent_tensor pred = tensor(kPred, XENT_F32, 2, 2, 3);
  const xent_tensor labels = tensor(kLabels, XENT_I64, 1, 2);
  REQUIRE(xent_metric_update(&m, &labels, &pred, nullptr) == XENT_OK);
  unsigned char before[512];
  REQUIRE(xent_metric_serialized_size() <= sizeof before);
  REQUIRE(xent_metric_serialize(&m, before, sizeof before) == XENT_OK);

  const std::int64_t bad[2] = {1, 3};
  const xent_tensor bad_labels = tensor(bad, XENT_I64, 1, 2);
  CHECK(xent_metric_update(&m, &bad_labels, &pred, nullptr) == XENT_LABEL_OUT_OF_RANGE);
  const xent_tensor wrong_shape = tensor(kLabels, XENT_I64, 1, 3);
  CHECK(xent_metric_update(&m, &wrong_shape, &pred, nullptr) == XENT_SHAPE_MISMATCH);
  const xent_tensor f16_labels = tensor(kLabels, XENT_F16, 1, 2);
  CHECK(xent_metric_update(&m, &f16_labels, &pred, nullptr) == XENT_INVALID_OPTION);  // not a label dtype
  xent_tensor deep = pred;
  deep.rank = 9;
  CHECK(xent_metric_update(&m, &labels, &deep, nullptr) == XENT_RANK_OUT_OF_RANGE);
  // Any rank a C struct can hold is refused at once (it used to be walked dim by dim: a hang).
  deep.rank = SIZE_MAX;
  CHECK(xent_metric_update(&m, &labels, &deep, nullptr) == XENT_RANK_OUT_OF_RANGE);
  xent_tensor deep_labels = labels;
  deep_labels.rank = SIZE_MAX / 2 + 1;
  CHECK(xent_metric_update(&m, &deep_labels, &pred, nullptr) == XENT_RANK_OUT_OF_RANGE);
  CHECK(xent::Shape::from(pred.dims, SIZE_MAX).rank() == xent::kMaxRank + 1);
  CHECK_FALSE(xent::Shape::from(pred.dims, SIZE_MAX).valid());
  CHECK(xent_metric_update(&m, nullptr, &pred, nullptr) == XENT_NULL_DATA);

  unsigned char after[512];
  REQUIRE(xent_metric_serialize(&m, after, sizeof after) == XENT_OK);
  CHECK(std::memcmp(before, after, xent_metric_serialized_size()) == 0);
  CHECK(std::strcmp(xent_status_message(XENT_LABEL_OUT_OF_RANGE),
                    xent::status_message(xent::Status::label_out_of_range)) == 0);

  xent_metric never_initialised;
  std::memset(&never_initialised, 0, sizeof never_initialised);
  CHECK(xent_metric_update(&never_initialised, &labels, &pred, nullptr) == XENT_NULL_DATA);
  CHECK(xent_metric_init(&m, static_cast<xent_kind>(0), nullptr, nullptr) == XENT_INVALID_OPTION);
}

TEST_CASE("c api: merge and serialization round trip") {
  xent_metric a;
  xent_metric b;
  xent_metric c;
  REQUIRE(xent_metric_init(&a, XENT_CATEGORICAL, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_init(&b, XENT_CATEGORICAL, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_init(&c, XENT_SPARSE, nullptr, nullptr) == XENT_OK);
  const xent_tensor row0 = tensor(kPred, XENT_F32, 2, 1, 3);
  const xent_tensor row1 = tensor(kPred + 3, XENT_F32, 2, 1, 3);
  const xent_tensor t0 = tensor(kOneHot, XENT_F32, 2, 1, 3);
  const xent_tensor t1 = tensor(kOneHot + 3, XENT_F32, 2, 1, 3);
  REQUIRE(xent_metric_update(&a, &t0, &row0, nullptr) == XENT_OK);
  REQUIRE(xent_metric_update(&b, &t1, &row1, nullptr) == XENT_OK);
  REQUIRE(xent_metric_merge(&a, &b) == XENT_OK);
  CHECK(xent_metric_result(&a) == doctest::Approx(1.1769392).epsilon(1e-6));
  CHECK(xent_metric_merge(&a, &c) == XENT_INCOMPATIBLE_STATE);

  unsigned char bytes[512];
  const std::size_t n = xent_metric_serialized_size();
  REQUIRE(xent_metric_serialize(&a, bytes, sizeof bytes) == XENT_OK);
  CHECK(xent_metric_serialize(&a, bytes, n - 1) == XENT_BUFFER_TOO_SMALL);
  xent_metric restored;
  REQUIRE(xent_metric_init(&restored, XENT_CATEGORICAL, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_deserialize(&restored, bytes, n) == XENT_OK);
  CHECK(xent_metric_total(&restored) == xent_metric_total(&a));
  CHECK(xent_metric_count(&restored) == 2.0);
  CHECK(xent_metric_deserialize(&c, bytes, n) == XENT_INCOMPATIBLE_STATE);
  bytes[n / 2] ^= 0x40;
  CHECK(xent_metric_deserialize(&restored, bytes, n) == XENT_CORRUPT_STATE);
  CHECK(xent_metric_count(&restored) == 2.0);
}

TEST_CASE("c api: quantized predictions, the C++ QuantizedView's values bit for bit") {
  // The worked example as TFLite's softmax outputs: int8 (1/256, -128) and uint8 (1/256, 0).
  const std::int8_t qi[6] = {-115, 115, -128, -102, 77, -102};
  const std::uint8_t qu[6] = {13, 243, 0, 26, 205, 26};
  const xent_tensor labels = tensor(kLabels, XENT_I64, 1, 2);
  const xent_tensor onehot = tensor(kOneHot, XENT_F32, 2, 2, 3);
  const xent_tensor weights = tensor(kWeights, XENT_F32, 1, 2);
  xent_tensor pi = tensor(qi, XENT_QI8, 2, 2, 3);
  pi.scale = 1.0f / 256;
  pi.zero_point = -128;
  xent_tensor pu = tensor(qu, XENT_QU8, 2, 2, 3);
  pu.scale = 1.0f / 256;
  pu.zero_point = 0;

  xent_metric sparse, categorical;
  REQUIRE(xent_metric_init(&sparse, XENT_SPARSE, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_init(&categorical, XENT_CATEGORICAL, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_update(&sparse, &labels, &pi, &weights) == XENT_OK);
  REQUIRE(xent_metric_update(&categorical, &onehot, &pu, nullptr) == XENT_OK);
  // The dequantized values are k / 256 exactly: 13, 243, 0 (clipped to eps) and 26, 205, 26.
  const double l1 = std::log(13.0 / 256 + 243.0 / 256 + static_cast<double>(1e-7f)) - std::log(243.0 / 256);
  const double l2 = std::log(257.0 / 256) - std::log(26.0 / 256);
  CHECK(static_cast<double>(xent_metric_result(&sparse)) == doctest::Approx(0.3 * l1 + 0.7 * l2).epsilon(1e-6));
  CHECK(static_cast<double>(xent_metric_result(&categorical)) == doctest::Approx((l1 + l2) / 2).epsilon(1e-6));

  xent::SparseCategoricalCrossentropy<> s_cpp;
  xent::CategoricalCrossentropy<> c_cpp;
  REQUIRE(s_cpp.update_state(xent::view(kLabels, {2}), xent::quantized(qi, {2, 3}, 1.0f / 256, -128),
                             xent::view(kWeights, {2})) == xent::Status::ok);
  REQUIRE(c_cpp.update_state(xent::view(kOneHot, {2, 3}), xent::quantized(qu, {2, 3}, 1.0f / 256, 0)) == xent::Status::ok);
  CHECK(xent_metric_total(&sparse) == s_cpp.total());
  CHECK(xent_metric_count(&sparse) == s_cpp.count());
  CHECK(xent_metric_total(&categorical) == c_cpp.total());
}

TEST_CASE("c api: quantized errors: bad scale or zero point, quantized where only floats or labels go, unknown dtypes") {
  const std::int8_t qi[6] = {-115, 115, -128, -102, 77, -102};
  const xent_tensor labels = tensor(kLabels, XENT_I64, 1, 2);
  const xent_tensor onehot = tensor(kOneHot, XENT_F32, 2, 2, 3);
  xent_tensor pred = tensor(qi, XENT_QI8, 2, 2, 3);
  pred.scale = 1.0f / 256;
  pred.zero_point = -128;
  xent_metric sparse, categorical;
  REQUIRE(xent_metric_init(&sparse, XENT_SPARSE, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_init(&categorical, XENT_CATEGORICAL, nullptr, nullptr) == XENT_OK);
  REQUIRE(xent_metric_update(&sparse, &labels, &pred, nullptr) == XENT_OK);
  unsigned char before[512], after[512];
  REQUIRE(xent_metric_serialize(&sparse, before, sizeof before) == XENT_OK);

  xent_tensor zeroed = pred;  // a tensor zero-initialised by a caller who forgot the parameters
  zeroed.scale = 0.0f;
  zeroed.zero_point = 0;
  CHECK(xent_metric_update(&sparse, &labels, &zeroed, nullptr) == XENT_INVALID_OPTION);
  xent_tensor nan_scale = pred;
  nan_scale.scale = std::nanf("");
  CHECK(xent_metric_update(&sparse, &labels, &nan_scale, nullptr) == XENT_INVALID_OPTION);
  xent_tensor wide_zero = pred;
  wide_zero.zero_point = 128;  // beyond int8
  CHECK(xent_metric_update(&sparse, &labels, &wide_zero, nullptr) == XENT_INVALID_OPTION);
  xent_tensor u8_zero = pred;
  u8_zero.dtype = XENT_QU8;
  u8_zero.zero_point = -1;  // below uint8
  CHECK(xent_metric_update(&sparse, &labels, &u8_zero, nullptr) == XENT_INVALID_OPTION);
  // Quantized labels, weights or soft labels: not theirs to take.
  const xent_tensor q_labels = tensor(qi, XENT_QI8, 1, 2);
  CHECK(xent_metric_update(&sparse, &q_labels, &pred, nullptr) == XENT_INVALID_OPTION);
  xent_tensor q_weights = tensor(qi, XENT_QU8, 1, 2);
  q_weights.scale = 1.0f;
  CHECK(xent_metric_update(&sparse, &labels, &pred, &q_weights) == XENT_INVALID_OPTION);
  xent_tensor q_onehot = pred;
  CHECK(xent_metric_update(&categorical, &q_onehot, &pred, nullptr) == XENT_INVALID_OPTION);
  CHECK(xent_metric_update(&categorical, &onehot, &pred, &q_weights) == XENT_INVALID_OPTION);
  // Integer labels are no predictions; a dtype beyond the enum is refused, not read by its low byte
  // (263 = 256 + XENT_QI8).
  const xent_tensor u8_pred = tensor(qi, XENT_U8, 2, 2, 3);
  CHECK(xent_metric_update(&sparse, &labels, &u8_pred, nullptr) == XENT_INVALID_OPTION);
  // As a C caller may store them, in the enum's own size (one byte where enums are short).
  using Raw = std::underlying_type_t<xent_dtype>;
  int tried = 0;
  for (long long code : {263LL, 9LL, 200LL, -1LL, -249LL}) {
    const auto raw = static_cast<Raw>(code);
    if (static_cast<long long>(raw) != code) continue;  // not storable in this ABI's xent_dtype
    xent_tensor unknown = pred;
    std::memcpy(&unknown.dtype, &raw, sizeof raw);
    CHECK(xent_metric_update(&sparse, &labels, &unknown, nullptr) == XENT_INVALID_OPTION);
    ++tried;
  }
  CHECK(tried >= 2);

  REQUIRE(xent_metric_serialize(&sparse, after, sizeof after) == XENT_OK);
  CHECK(std::memcmp(before, after, xent_metric_serialized_size()) == 0);
  CHECK(xent_metric_count(&categorical) == 0.0);
}
