// CategoricalCrossentropy: the worked examples of SEMANTICS.md, the row examples, options and
// edge cases, each against a value stated in the spec or computed by tests/metric_reference.hpp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "metric_reference.hpp"
#include "metric_test_util.hpp"

using xent::Status;
using xent::view;

namespace {
using mt::worked::kPred;
using mt::worked::kOneHot;
using mt::worked::kWeights;
}  // namespace

TEST_CASE("categorical: worked examples of SEMANTICS.md") {
  xent::CategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3})) == Status::ok);
  CHECK(mt::ulp_distance(m.result(), 1.1769392f) <= 1);
  CHECK(m.count() == 2.0);
  CHECK(m.total() == doctest::Approx(0.0513 + 2.3026).epsilon(1e-3));

  xent::CategoricalCrossentropy<> w;
  REQUIRE(w.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3}), view(kWeights, {2})) == Status::ok);
  CHECK(mt::ulp_distance(w.result(), 1.6271976f) <= 1);
  CHECK(w.count() == doctest::Approx(1.0).epsilon(1e-7));

  w.reset_states();
  CHECK(w.result() == 0.0f);
  CHECK(w.total() == 0.0);
  CHECK(w.count() == 0.0);
  m.reset_state();
  CHECK(m.result() == 0.0f);
  // A fresh metric is 0 too (divide_no_nan), and the default name is Keras's.
  xent::CategoricalCrossentropy<> fresh;
  CHECK(fresh.result() == 0.0f);
  CHECK(std::string(fresh.name()) == "categorical_crossentropy");
}

TEST_CASE("categorical: the row examples (normalise, clip, log)") {
  float out[1] = {};
  const float onehot_row[3] = {0, 1, 0};
  REQUIRE(xent::categorical_crossentropy(view(onehot_row, {3}), view(kPred, {3}), out, 1) == Status::ok);
  CHECK(mt::ulp_distance(out[0], 0.051293306f) <= 2);

  const float confident[3] = {0, 1, 0};
  REQUIRE(xent::categorical_crossentropy(view(onehot_row, {3}), view(confident, {3}), out, 1) == Status::ok);
  CHECK(mt::ulp_distance(out[0], 1.1920930e-07f) <= 2);

  const float zeros[3] = {0, 0, 0};
  REQUIRE(xent::categorical_crossentropy(view(onehot_row, {3}), view(zeros, {3}), out, 1) == Status::ok);
  CHECK(std::isnan(out[0]));
}

TEST_CASE("categorical: a confident row is right to a few ulp (log accurate relative to its result)") {
  // Inputs whose float32 normalisation is exact, so the float64 reference is the float32 truth:
  // the loss is -log(1 - 2^-k) ~ 2^-k, which an absolutely-accurate log would get badly wrong.
  for (int k = 21; k <= 23; ++k) {
    const float small = std::ldexp(1.0f, -k);
    const float p[3] = {1.0f - small, small, 0.0f};
    const float t[3] = {1, 0, 0};
    float out[1] = {};
    REQUIRE(xent::categorical_crossentropy(view(t, {3}), view(p, {3}), out, 1) == Status::ok);
    const double want = -std::log(xref::clip(1.0 - std::ldexp(1.0, -k)));
    CHECK(mt::ulp_distance(out[0], static_cast<float>(want)) <= 4);
  }
}

TEST_CASE("categorical: logits, -inf logits and label smoothing against the reference") {
  const float z[6] = {2.0f, -1.0f, 0.5f, -std::numeric_limits<float>::infinity(), 3.0f, 0.25f};
  const float t[6] = {0, 1, 0, 0, 0, 1};
  xent::CategoricalOptions o;
  o.from_logits = true;
  for (float ls : {0.0f, 0.1f, 1.0f}) {
    o.label_smoothing = ls;
    float out[2] = {};
    REQUIRE(xent::categorical_crossentropy(view(t, {2, 3}), view(z, {2, 3}), out, 2, o) == Status::ok);
    for (int r = 0; r < 2; ++r) {
      const xref::Loss want = xref::categorical_row(z + 3 * r, t + 3 * r, 3, 1, true, ls);
      if (r == 1) {
        // Smoothing puts weight on the -inf class: its term is +inf. Without smoothing the
        // -inf class has t' = 0, and the formula's 0 * inf is NaN (as in TF's kernel).
        if (ls > 0.0f) CHECK(std::isinf(out[r]));
        else CHECK(std::isnan(out[r]));
        continue;
      }
      CHECK(std::isfinite(out[r]));
      CHECK(std::fabs(static_cast<double>(out[r]) - want.value) <= want.tol);
    }
    xent::CategoricalCrossentropy<> m(o);
    REQUIRE(m.update_state(view(t, {1, 3}), view(z, {1, 3})) == Status::ok);
    const xref::Loss want = xref::categorical_row(z, t, 3, 1, true, ls);
    CHECK(std::fabs(m.total() - want.value) <= want.tol);
  }
}

TEST_CASE("categorical: NaN propagates by default and is refused under NanPolicy::reject") {
  const float zeros_row[6] = {0.2f, 0.3f, 0.5f, 0, 0, 0};  // second row all zero: 0/0
  xent::CategoricalCrossentropy<> keras;
  REQUIRE(keras.update_state(view(kOneHot, {2, 3}), view(zeros_row, {2, 3})) == Status::ok);
  CHECK(std::isnan(keras.result()));
  CHECK(keras.count() == 2.0);
  REQUIRE(keras.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3})) == Status::ok);
  CHECK(std::isnan(keras.result()));  // stays NaN until reset
  keras.reset_state();
  REQUIRE(keras.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3})) == Status::ok);
  CHECK(mt::ulp_distance(keras.result(), 1.1769392f) <= 1);

  xent::CategoricalOptions o;
  o.nan_policy = xent::NanPolicy::reject;
  xent::CategoricalCrossentropy<> strict(o);
  REQUIRE(strict.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3})) == Status::ok);
  const auto before = mt::raw(strict);
  CHECK(strict.update_state(view(kOneHot, {2, 3}), view(zeros_row, {2, 3})) == Status::non_finite_input);
  CHECK(mt::raw(strict) == before);
  const float nan_weight[2] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK(strict.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3}), view(nan_weight, {2})) ==
        Status::non_finite_input);
  const float inf_weight[2] = {std::numeric_limits<float>::infinity(), 1.0f};
  CHECK(strict.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3}), view(inf_weight, {2})) ==
        Status::non_finite_input);
  CHECK(mt::raw(strict) == before);
  CHECK(mt::ulp_distance(strict.result(), 1.1769392f) <= 1);

  // The functional form reports it too, and leaves the losses in out.
  float out[2] = {};
  CHECK(xent::categorical_crossentropy(view(kOneHot, {2, 3}), view(zeros_row, {2, 3}), out, 2, o) ==
        Status::non_finite_input);
  CHECK(std::isnan(out[1]));
}

TEST_CASE("categorical: soft labels and 16-bit inputs") {
  const float soft[6] = {0.2f, 0.7f, 0.1f, 0.25f, 0.25f, 0.5f};
  const mt::Typed<xent::float16> p16({0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f});
  const mt::Typed<xent::bfloat16> t16({0.2f, 0.7f, 0.1f, 0.25f, 0.25f, 0.5f});
  xent::CategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(t16.data.data(), {2, 3}), view(p16.data.data(), {2, 3})) == Status::ok);
  double want = 0.0;
  double tol = 0.0;
  for (int r = 0; r < 2; ++r) {
    const auto l = xref::categorical_row(p16.seen.data() + 3 * r, t16.seen.data() + 3 * r, 3, 1, false, 0.0f);
    want += l.value / 2;
    tol += l.tol / 2;
  }
  CHECK(std::fabs(static_cast<double>(m.result()) - want) <= tol + xref::ulp32(want));
  (void)soft;
}

TEST_CASE("categorical: a class axis that is not last reads the same rows") {
  // [2, 3] with axis -1 equals its transpose [3, 2] with axis 0.
  const float pt[6] = {0.05f, 0.1f, 0.95f, 0.8f, 0.0f, 0.1f};
  const float tt[6] = {0, 0, 1, 0, 0, 1};
  xent::CategoricalOptions o;
  o.axis = 0;
  xent::CategoricalCrossentropy<> m(o);
  REQUIRE(m.update_state(view(tt, {3, 2}), view(pt, {3, 2})) == Status::ok);
  CHECK(mt::ulp_distance(m.result(), 1.1769392f) <= 1);
}
