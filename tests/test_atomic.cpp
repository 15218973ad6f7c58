// Every error of API.md's Status, each with the metric's bytes checked unchanged after it: an
// update either applies fully or changes nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "metric_test_util.hpp"

using xent::Status;
using xent::view;

namespace {
using mt::worked::kPred;
using mt::worked::kOneHot;
using mt::worked::kLabels;
using mt::worked::kWeights;

xent::Shape rank9() {
  const std::size_t d[9] = {1, 1, 1, 1, 1, 1, 1, 2, 3};
  return xent::Shape::from(d, 9);
}

// A metric with some state already (per-class too), so "unchanged" means something.
template <class M>
M primed(typename M::Options o = {}) {
  M m(o);
  if constexpr (std::is_same_v<typename M::Options, xent::SparseOptions>)
    REQUIRE(m.update_state(view(kLabels, {2}), view(kPred, {2, 3}), view(kWeights, {2})) == Status::ok);
  else
    REQUIRE(m.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3}), view(kWeights, {2})) == Status::ok);
  return m;
}
}  // namespace

TEST_CASE("atomic: every sparse update error leaves the state bit-for-bit unchanged") {
  using M = xent::SparseCategoricalCrossentropy<4>;
  xent::SparseOptions pc;
  pc.per_class = true;
  M m = primed<M>(pc);
  const auto before = mt::raw(m);
  const float nan = std::numeric_limits<float>::quiet_NaN();

  CHECK(m.update_state(view(kLabels, {2}), view<float>(nullptr, {2, 3})) == Status::null_data);
  CHECK(m.update_state(view<int>(nullptr, {2}), view(kPred, {2, 3})) == Status::null_data);
  CHECK(m.update_state(view(kLabels, {2}), view(kPred, {2, 3}), view<float>(nullptr, {2})) == Status::null_data);
  CHECK(m.update_state(view(kLabels, {}), view(kPred, {})) == Status::rank_out_of_range);
  CHECK(m.update_state(view(kLabels, {2}), view(kPred, rank9())) == Status::rank_out_of_range);
  CHECK(m.update_state(view(kLabels, rank9()), view(kPred, {2, 3})) == Status::rank_out_of_range);
  CHECK(m.update_state(view(kLabels, {2}), view(kPred, {2, 3}), view(kWeights, rank9())) == Status::rank_out_of_range);
  CHECK(m.update_state(view(kLabels, {3}), view(kPred, {2, 3})) == Status::shape_mismatch);
  CHECK(m.update_state(view(kLabels, {2}), view(kPred, {2, 3}), view(kWeights, {3})) == Status::shape_mismatch);
  CHECK(m.update_state(view(kLabels, {1}), view(kPred, {1, 6})) == Status::too_many_classes);
  CHECK(m.update_state(view(kLabels, {2}), view(kPred, {2, 0})) == Status::no_classes);
  const int out_of_range[2] = {1, 3};
  CHECK(m.update_state(view(out_of_range, {2}), view(kPred, {2, 3})) == Status::label_out_of_range);
  const std::int64_t late_bad[300] = {};  // all 0 but the last
  std::vector<std::int64_t> many(late_bad, late_bad + 300);
  many[299] = -5;
  std::vector<float> many_pred(900, 0.3f);
  CHECK(m.update_state(view(many.data(), {300}), view(many_pred.data(), {300, 3})) == Status::label_out_of_range);
  CHECK(mt::raw(m) == before);

  for (float ls : {-0.1f, 1.5f, nan}) {
    xent::SparseOptions o = pc;
    o.label_smoothing = ls;
    M fresh(o);
    const auto b0 = mt::raw(fresh);
    CHECK(fresh.update_state(view(kLabels, {2}), view(kPred, {2, 3})) == Status::invalid_option);
    CHECK(mt::raw(fresh) == b0);
  }
  for (int axis : {2, -3, 100}) {
    xent::SparseOptions o = pc;
    o.axis = axis;
    M fresh(o);
    const auto b0 = mt::raw(fresh);
    CHECK(fresh.update_state(view(kLabels, {2}), view(kPred, {2, 3})) == Status::invalid_option);
    CHECK(mt::raw(fresh) == b0);
  }
  {
    xent::SparseCategoricalCrossentropy<> no_capacity(pc);  // per_class needs MaxClasses > 0
    const auto b0 = mt::raw(no_capacity);
    CHECK(no_capacity.update_state(view(kLabels, {2}), view(kPred, {2, 3})) == Status::invalid_option);
    CHECK(mt::raw(no_capacity) == b0);
  }
  CHECK(mt::raw(m) == before);
}

TEST_CASE("atomic: NanPolicy::reject with per-class sums: a bad row in a later block changes nothing") {
  // 600 rows = three kernel blocks; the infinite loss is in the last one, after per-class sums
  // of the first blocks would already have been touched by a one-pass implementation.
  for (bool sparse : {true, false}) {
    std::vector<float> pred(600 * 4, 0.25f);
    std::vector<float> truth(600 * 4, 0.0f);
    std::vector<int> labels(600);
    for (int r = 0; r < 600; ++r) {
      labels[static_cast<std::size_t>(r)] = r % 4;
      truth[static_cast<std::size_t>(4 * r + r % 4)] = 1.0f;
      pred[static_cast<std::size_t>(4 * r + r % 4)] = 0.5f;
    }
    // Logits: a -inf on the label's class gives +inf loss.
    pred[4 * 590 + 2] = -std::numeric_limits<float>::infinity();
    if (sparse) {
      xent::SparseOptions o;
      o.per_class = true;
      o.from_logits = true;
      o.nan_policy = xent::NanPolicy::reject;
      xent::SparseCategoricalCrossentropy<4> m = primed<xent::SparseCategoricalCrossentropy<4>>(o);
      const auto before = mt::raw(m);
      CHECK(m.update_state(view(labels.data(), {600}), view(pred.data(), {600, 4})) == Status::non_finite_input);
      CHECK(mt::raw(m) == before);
      pred[4 * 590 + 2] = 0.25f;
      REQUIRE(m.update_state(view(labels.data(), {600}), view(pred.data(), {600, 4})) == Status::ok);
      CHECK(m.per_class_count(0) == doctest::Approx(150 + 0.0));  // rows with label 0 (+ primed: none)
    } else {
      xent::CategoricalOptions o;
      o.per_class = true;
      o.from_logits = true;
      o.nan_policy = xent::NanPolicy::reject;
      xent::CategoricalCrossentropy<4> m = primed<xent::CategoricalCrossentropy<4>>(o);
      const auto before = mt::raw(m);
      CHECK(m.update_state(view(truth.data(), {600, 4}), view(pred.data(), {600, 4})) == Status::non_finite_input);
      CHECK(mt::raw(m) == before);
    }
  }
}

TEST_CASE("atomic: every categorical update error leaves the state bit-for-bit unchanged") {
  using M = xent::CategoricalCrossentropy<3>;
  xent::CategoricalOptions pc;
  pc.per_class = true;
  M m = primed<M>(pc);
  const auto before = mt::raw(m);
  CHECK(m.update_state(view(kOneHot, {2, 3}), view<float>(nullptr, {2, 3})) == Status::null_data);
  CHECK(m.update_state(view<float>(nullptr, {2, 3}), view(kPred, {2, 3})) == Status::null_data);
  CHECK(m.update_state(view(kOneHot, {}), view(kPred, {})) == Status::rank_out_of_range);
  CHECK(m.update_state(view(kOneHot, rank9()), view(kPred, rank9())) == Status::rank_out_of_range);
  CHECK(m.update_state(view(kOneHot, {3, 2}), view(kPred, {2, 3})) == Status::shape_mismatch);
  CHECK(m.update_state(view(kOneHot, {6}), view(kPred, {2, 3})) == Status::shape_mismatch);
  CHECK(m.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3}), view(kWeights, {1, 2})) == Status::shape_mismatch);
  CHECK(m.update_state(view(kOneHot, {1, 6}), view(kPred, {1, 6})) == Status::too_many_classes);
  CHECK(m.update_state(view(kOneHot, {2, 0}), view(kPred, {2, 0})) == Status::no_classes);
  CHECK(mt::raw(m) == before);

  xent::CategoricalOptions reject = pc;
  reject.nan_policy = xent::NanPolicy::reject;
  M r = primed<M>(reject);
  const auto rb = mt::raw(r);
  const float nan_pred[6] = {0.05f, std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.1f, 0.8f, 0.1f};
  CHECK(r.update_state(view(kOneHot, {2, 3}), view(nan_pred, {2, 3})) == Status::non_finite_input);
  const float inf_w[2] = {1.0f, -std::numeric_limits<float>::infinity()};
  CHECK(r.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3}), view(inf_w, {2})) == Status::non_finite_input);
  CHECK(mt::raw(r) == rb);
}

TEST_CASE("atomic: zero-row batches are successful no-ops, whatever the pointers") {
  xent::SparseCategoricalCrossentropy<4> m = primed<xent::SparseCategoricalCrossentropy<4>>();
  const auto before = mt::raw(m);
  CHECK(m.update_state(view<int>(nullptr, {0}), view<float>(nullptr, {0, 3})) == Status::ok);
  CHECK(m.update_state(view<int>(nullptr, {0}), view<float>(nullptr, {0, 3}), view<float>(nullptr, {0})) ==
        Status::ok);
  CHECK(m.update_state(view<int>(nullptr, {2, 0}), view<float>(nullptr, {2, 0, 3})) == Status::ok);
  // The class axis empty and no rows either: still nothing to do.
  CHECK(m.update_state(view<int>(nullptr, {0}), view<float>(nullptr, {0, 0})) == Status::ok);
  CHECK(mt::raw(m) == before);
  // Shapes are still checked on an empty batch.
  CHECK(m.update_state(view<int>(nullptr, {1}), view<float>(nullptr, {0, 3})) == Status::shape_mismatch);
  float out[1] = {9.0f};
  CHECK(xent::sparse_categorical_crossentropy(view<int>(nullptr, {0}), view<float>(nullptr, {0, 3}), out, 0) ==
        Status::ok);
  CHECK(out[0] == 9.0f);
}

TEST_CASE("functional forms: out too small or null, and errors leave out untouched") {
  float out[3] = {7.0f, 7.0f, 7.0f};
  CHECK(xent::sparse_categorical_crossentropy(view(kLabels, {2}), view(kPred, {2, 3}), out, 1) ==
        Status::buffer_too_small);
  CHECK(xent::categorical_crossentropy(view(kOneHot, {2, 3}), view(kPred, {2, 3}), out, 1) ==
        Status::buffer_too_small);
  CHECK(xent::categorical_crossentropy(view(kOneHot, {2, 3}), view(kPred, {2, 3}), nullptr, 2) == Status::null_data);
  CHECK(xent::categorical_crossentropy(view(kOneHot, {3, 2}), view(kPred, {2, 3}), out, 3) == Status::shape_mismatch);
  xent::CategoricalOptions bad;
  bad.label_smoothing = 2.0f;
  CHECK(xent::categorical_crossentropy(view(kOneHot, {2, 3}), view(kPred, {2, 3}), out, 3, bad) ==
        Status::invalid_option);
  CHECK(out[0] == 7.0f);
  CHECK(out[1] == 7.0f);
  // A larger out is fine: only the first elements are written.
  REQUIRE(xent::categorical_crossentropy(view(kOneHot, {2, 3}), view(kPred, {2, 3}), out, 3) == Status::ok);
  CHECK(out[2] == 7.0f);
  CHECK(std::fabs(static_cast<double>(out[0] + out[1]) / 2 - 1.1769392) < 1e-6);
}

TEST_CASE("status_message: one sentence for every Status") {
  for (int s = 0; s <= static_cast<int>(Status::corrupt_state); ++s) {
    const char* msg = xent::status_message(static_cast<Status>(s));
    REQUIRE(msg != nullptr);
    const std::string text(msg);
    CHECK(text.size() > 10);
    CHECK(text.back() == '.');
  }
  CHECK(std::string(xent::status_message(Status::label_out_of_range)).find("label") != std::string::npos);
  CHECK(std::string(xent::status_message(static_cast<Status>(99))).size() > 0);
}
