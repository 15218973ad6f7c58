// SparseCategoricalCrossentropy: the worked examples, the row examples, every label type, the
// label-shape rules, ignore_class and out-of-range labels.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "metric_reference.hpp"
#include "metric_test_util.hpp"

using xent::Status;
using xent::view;

namespace {
using mt::worked::kPred;
using mt::worked::kWeights;

template <class L>
void check_worked_example() {
  const L labels[2] = {static_cast<L>(1), static_cast<L>(2)};
  xent::SparseCategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(labels, {2}), view(kPred, {2, 3})) == Status::ok);
  CHECK(mt::ulp_distance(m.result(), 1.1769392f) <= 1);
  CHECK(m.count() == 2.0);
  xent::SparseCategoricalCrossentropy<> w;
  REQUIRE(w.update_state(view(labels, {2}), view(kPred, {2, 3}), view(kWeights, {2})) == Status::ok);
  CHECK(mt::ulp_distance(w.result(), 1.6271976f) <= 1);
  w.reset_states();
  CHECK(w.result() == 0.0f);
  CHECK(w.count() == 0.0);
}
}  // namespace

TEST_CASE("sparse: worked examples of SEMANTICS.md for every label type") {
  check_worked_example<std::int32_t>();
  check_worked_example<std::int64_t>();
  check_worked_example<std::uint8_t>();
  check_worked_example<std::uint16_t>();
  check_worked_example<float>();
  // Integer types are matched by size and signedness, so the platform's spellings all work.
  check_worked_example<int>();
  check_worked_example<long>();
  check_worked_example<long long>();
  check_worked_example<unsigned char>();
  check_worked_example<unsigned short>();
  xent::SparseCategoricalCrossentropy<> fresh;
  CHECK(fresh.result() == 0.0f);
  CHECK(std::string(fresh.name()) == "sparse_categorical_crossentropy");
}

TEST_CASE("sparse: the row examples (clip, log, log-softmax)") {
  float out[1] = {};
  const int one[1] = {1};
  REQUIRE(xent::sparse_categorical_crossentropy(view(one, {1}), view(kPred, {1, 3}), out, 1) == Status::ok);
  // SEMANTICS.md quotes 0.051293444 (TensorFlow's float32 logs); the float64 evaluation of the
  // same formula with the float32 sum of the clipped row (exact order-free here: 1 + 2^-23) is
  // 0.0512934253, 5 ulp lower. Hold both: the spec's tolerance around its value, and a few ulp
  // around the exact one, which also tells it apart from the categorical 0.051293306 (32 ulp away).
  CHECK(std::fabs(static_cast<double>(out[0]) - 0.051293444) <= 1e-6);
  const double exact = std::log(1.0 + std::ldexp(1.0, -23)) - std::log(static_cast<double>(0.95f));
  CHECK(mt::ulp_distance(out[0], static_cast<float>(exact)) <= 4);
  CHECK(mt::ulp_distance(out[0], 0.051293306f) >= 28);
  const float confident[3] = {0, 1, 0};
  REQUIRE(xent::sparse_categorical_crossentropy(view(one, {1}), view(confident, {1, 3}), out, 1) == Status::ok);
  CHECK(mt::ulp_distance(out[0], 2.3841855e-07f) <= 2);
  const float zeros[3] = {0, 0, 0};
  REQUIRE(xent::sparse_categorical_crossentropy(view(one, {1}), view(zeros, {1, 3}), out, 1) == Status::ok);
  // log(3e-7) - log(1e-7): the tolerance is 4 ulp of those logs (~16), not of the result.
  const xref::Loss log3 = xref::sparse_row(zeros, 3, 1, 1, false, 0.0f);
  CHECK(std::fabs(log3.value - std::log(3.0)) < 1e-6);
  CHECK(std::fabs(static_cast<double>(out[0]) - log3.value) <= log3.tol);
  // The all-zero row is finite, so even the reject policy takes it.
  xent::SparseOptions o;
  o.nan_policy = xent::NanPolicy::reject;
  xent::SparseCategoricalCrossentropy<> m(o);
  REQUIRE(m.update_state(view(one, {1}), view(zeros, {1, 3})) == Status::ok);
  CHECK(std::fabs(static_cast<double>(m.result()) - log3.value) <= log3.tol);
}

TEST_CASE("sparse: a confident row is right to a few ulp") {
  // sum(clip(p)) is exactly 1 in float32 in any order, so the loss is -log(1 - 2^-k).
  for (int k = 20; k <= 22; ++k) {
    const float h = std::ldexp(1.0f, -k - 1);
    const float p[3] = {1.0f - 2 * h, h, h};
    const int label[1] = {0};
    float out[1] = {};
    REQUIRE(xent::sparse_categorical_crossentropy(view(label, {1}), view(p, {1, 3}), out, 1) == Status::ok);
    const double want = -std::log(1.0 - std::ldexp(1.0, -k));
    CHECK(mt::ulp_distance(out[0], static_cast<float>(want)) <= 4);
  }
}

TEST_CASE("sparse: logits, -inf logits in other classes give finite losses") {
  const float ninf = -std::numeric_limits<float>::infinity();
  const float z[6] = {2.0f, ninf, 0.5f, ninf, 3.0f, 0.25f};
  const std::int64_t labels[2] = {0, 2};
  xent::SparseOptions o;
  o.from_logits = true;
  float out[2] = {};
  REQUIRE(xent::sparse_categorical_crossentropy(view(labels, {2}), view(z, {2, 3}), out, 2, o) == Status::ok);
  for (int r = 0; r < 2; ++r) {
    const auto want = xref::sparse_row(z + 3 * r, 3, 1, labels[r], true, 0.0f);
    CHECK(std::isfinite(out[r]));
    CHECK(std::fabs(static_cast<double>(out[r]) - want.value) <= want.tol);
  }
  // The label on the -inf class: +inf, refused by reject, propagated by default.
  const std::int64_t bad[1] = {1};
  REQUIRE(xent::sparse_categorical_crossentropy(view(bad, {1}), view(z, {1, 3}), out, 1, o) == Status::ok);
  CHECK(std::isinf(out[0]));
  o.nan_policy = xent::NanPolicy::reject;
  xent::SparseCategoricalCrossentropy<> strict(o);
  const auto before = mt::raw(strict);
  CHECK(strict.update_state(view(bad, {1}), view(z, {1, 3})) == Status::non_finite_input);
  CHECK(mt::raw(strict) == before);
}

TEST_CASE("sparse: float labels are truncated toward zero as Keras casts them") {
  const float labels[2] = {1.9f, 2.5f};  // -> 1, 2
  xent::SparseCategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(labels, {2}), view(kPred, {2, 3})) == Status::ok);
  CHECK(mt::ulp_distance(m.result(), 1.1769392f) <= 1);
  const float negative_fraction[2] = {-0.75f, 2.0f};  // -0.75 -> 0, in range
  float out[2] = {};
  REQUIRE(xent::sparse_categorical_crossentropy(view(negative_fraction, {2}), view(kPred, {2, 3}), out, 2) ==
          Status::ok);
  CHECK(std::fabs(static_cast<double>(out[0]) - xref::sparse_row(kPred, 3, 1, 0, false, 0.0f).value) < 1e-6);
}

TEST_CASE("sparse: label shapes V, V + [1], and y_pred's shape with the class axis set to 1") {
  const int labels[2] = {1, 2};
  for (const xent::Shape& s : {xent::Shape{2}, xent::Shape{2, 1}}) {
    xent::SparseCategoricalCrossentropy<> m;
    REQUIRE(m.update_state(view(labels, s), view(kPred, {2, 3})) == Status::ok);
    CHECK(mt::ulp_distance(m.result(), 1.1769392f) <= 1);
  }
  // Class axis 0 of a [3, 2] y_pred: labels [2], [2, 1] or [1, 2] (the axis set to 1).
  const float pt[6] = {0.05f, 0.1f, 0.95f, 0.8f, 0.0f, 0.1f};
  xent::SparseOptions o;
  o.axis = 0;
  for (const xent::Shape& s : {xent::Shape{2}, xent::Shape{2, 1}, xent::Shape{1, 2}}) {
    xent::SparseCategoricalCrossentropy<> m(o);
    REQUIRE(m.update_state(view(labels, s), view(pt, {3, 2})) == Status::ok);
    CHECK(mt::ulp_distance(m.result(), 1.1769392f) <= 1);
  }
  // A single row: y_pred [3], V is a scalar; labels [] or [1].
  for (const xent::Shape& s : {xent::Shape{}, xent::Shape{1}}) {
    xent::SparseCategoricalCrossentropy<> m;
    REQUIRE(m.update_state(view(labels, s), view(kPred, {3})) == Status::ok);
    CHECK(mt::ulp_distance(m.result(), 0.051293444f) <= 8);
    CHECK(m.count() == 1.0);
  }
  for (const xent::Shape& s : {xent::Shape{1}, xent::Shape{2, 2}, xent::Shape{1, 2}, xent::Shape{}, xent::Shape{3}}) {
    xent::SparseCategoricalCrossentropy<> m;
    CHECK(m.update_state(view(labels, s), view(kPred, {2, 3})) == Status::shape_mismatch);
    CHECK(m.count() == 0.0);
  }
}

TEST_CASE("sparse: ignore_class gives loss 0 and weight 0, and is never range-checked") {
  const std::int64_t labels[4] = {1, -1, 2, 7};
  const float pred[12] = {0.05f, 0.95f, 0.0f, 0.3f, 0.3f, 0.4f, 0.1f, 0.8f, 0.1f, 0.2f, 0.2f, 0.6f};
  for (std::int64_t ignored : {-1, 7}) {
    xent::SparseOptions o;
    o.ignore_class = ignored;
    xent::SparseCategoricalCrossentropy<> m(o);
    const Status s = m.update_state(view(labels, {4}), view(pred, {4, 3}));
    // Only one of -1 and 7 is ignored; the other is out of range.
    CHECK(s == Status::label_out_of_range);
    CHECK(m.count() == 0.0);
  }
  const std::int64_t ok_labels[4] = {1, 7, 2, 7};
  xent::SparseOptions o;
  o.ignore_class = 7;
  xent::SparseCategoricalCrossentropy<> m(o);
  REQUIRE(m.update_state(view(ok_labels, {4}), view(pred, {4, 3})) == Status::ok);
  CHECK(m.count() == 2.0);
  CHECK(mt::ulp_distance(m.result(), 1.1769392f) <= 1);
  // With weights the ignored rows add nothing to the count either.
  const float w[4] = {0.3f, 100.0f, 0.7f, 100.0f};
  xent::SparseCategoricalCrossentropy<> mw(o);
  REQUIRE(mw.update_state(view(ok_labels, {4}), view(pred, {4, 3}), view(w, {4})) == Status::ok);
  CHECK(mw.count() == doctest::Approx(1.0).epsilon(1e-7));
  CHECK(mt::ulp_distance(mw.result(), 1.6271976f) <= 1);
  float out[4] = {-1, -1, -1, -1};
  REQUIRE(xent::sparse_categorical_crossentropy(view(ok_labels, {4}), view(pred, {4, 3}), out, 4, o) == Status::ok);
  CHECK(out[1] == 0.0f);
  CHECK(out[3] == 0.0f);
  // A batch of only ignored rows: count 0, result 0.
  const std::int64_t all_ignored[2] = {7, 7};
  xent::SparseCategoricalCrossentropy<> none(o);
  REQUIRE(none.update_state(view(all_ignored, {2}), view(kPred, {2, 3})) == Status::ok);
  CHECK(none.count() == 0.0);
  CHECK(none.result() == 0.0f);
}

TEST_CASE("sparse: labels out of range fail and change nothing") {
  xent::SparseCategoricalCrossentropy<> m;
  const int good[2] = {1, 2};
  REQUIRE(m.update_state(view(good, {2}), view(kPred, {2, 3})) == Status::ok);
  const auto before = mt::raw(m);
  const int negative[2] = {1, -1};
  const int equal_k[2] = {3, 0};
  const std::uint8_t big_u8[2] = {0, 200};
  const std::int64_t huge[2] = {0, std::int64_t{1} << 40};
  const float nan_label[2] = {0.0f, std::numeric_limits<float>::quiet_NaN()};
  const float inf_label[2] = {std::numeric_limits<float>::infinity(), 0.0f};
  const float float_k[2] = {3.0f, 0.0f};
  CHECK(m.update_state(view(negative, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  CHECK(m.update_state(view(equal_k, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  CHECK(m.update_state(view(big_u8, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  CHECK(m.update_state(view(huge, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  CHECK(m.update_state(view(nan_label, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  CHECK(m.update_state(view(inf_label, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  CHECK(m.update_state(view(float_k, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  CHECK(mt::raw(m) == before);
  float out[2] = {5.0f, 5.0f};
  CHECK(xent::sparse_categorical_crossentropy(view(equal_k, {2}), view(kPred, {2, 3}), out, 2) ==
        Status::label_out_of_range);
  CHECK(out[0] == 5.0f);  // untouched: the error is found before any arithmetic
  // A NaN float label equal to nothing is out of range even with an ignore_class set.
  xent::SparseOptions o;
  o.ignore_class = 0;
  xent::SparseCategoricalCrossentropy<> mi(o);
  CHECK(mi.update_state(view(nan_label, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
}

TEST_CASE("sparse: label smoothing extension (1-ls)*nll + ls*mean_k(-log q_k)") {
  const int labels[2] = {1, 2};
  for (bool logits : {false, true}) {
    xent::SparseOptions o;
    o.from_logits = logits;
    o.label_smoothing = 0.2f;
    float out[2] = {};
    REQUIRE(xent::sparse_categorical_crossentropy(view(labels, {2}), view(kPred, {2, 3}), out, 2, o) == Status::ok);
    for (int r = 0; r < 2; ++r) {
      const auto want = xref::sparse_row(kPred + 3 * r, 3, 1, labels[r], logits, 0.2f);
      CHECK(std::fabs(static_cast<double>(out[r]) - want.value) <= want.tol);
    }
  }
}
