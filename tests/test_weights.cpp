// The sample_weight rules of SEMANTICS.md one by one, with values computed by hand from the
// reference's per-row losses.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "metric_reference.hpp"
#include "metric_test_util.hpp"

using xent::Status;
using xent::view;

namespace {

// y_pred [2, 3, 4] probabilities (V = [2, 3]), labels [2, 3].
struct Batch {
  float pred[24];
  int labels[6];
  double loss[6];
  Batch() {
    for (int i = 0; i < 24; ++i) pred[i] = 0.05f + 0.9f * static_cast<float>((i * 7) % 11) / 10.0f;
    for (int v = 0; v < 6; ++v) {
      labels[v] = (v * 3) % 4;
      loss[v] = xref::sparse_row(pred + 4 * v, 4, 1, labels[v], false, 0.0f).value;
    }
  }
};

void check_result(const xent::SparseCategoricalCrossentropy<>& m, double total, double count) {
  CHECK(m.total() == doctest::Approx(total).epsilon(1e-6));
  CHECK(m.count() == doctest::Approx(count).epsilon(1e-9));
  CHECK(static_cast<double>(m.result()) == doctest::Approx(total / count).epsilon(1e-6));
}

}  // namespace

TEST_CASE("weights: rule 1, a scalar applies to every element") {
  Batch b;
  const float w = 2.5f;
  xent::SparseCategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(&w, {})) == Status::ok);
  double t = 0;
  for (double l : b.loss) t += 2.5 * l;
  check_result(m, t, 2.5 * 6);
}

TEST_CASE("weights: rule 2, squeeze a trailing 1 or append one, then rule 3 broadcast") {
  Batch b;
  const float per_row[2] = {0.5f, 2.0f};  // [2] -> [2, 1], broadcast over the 3 positions
  xent::SparseCategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(per_row, {2})) == Status::ok);
  double t = 0;
  for (int v = 0; v < 6; ++v) t += per_row[v / 3] * b.loss[v];
  check_result(m, t, 3 * 0.5 + 3 * 2.0);

  const float full[6] = {1, 2, 3, 4, 5, 6};  // [2, 3, 1] -> [2, 3]
  xent::SparseCategoricalCrossentropy<> m2;
  REQUIRE(m2.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(full, {2, 3, 1})) == Status::ok);
  t = 0;
  for (int v = 0; v < 6; ++v) t += full[v] * b.loss[v];
  check_result(m2, t, 21);
}

TEST_CASE("weights: rule 3, broadcast along dims of 1") {
  Batch b;
  const float per_pos[3] = {1.0f, 0.0f, 3.0f};  // [1, 3]
  xent::SparseCategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(per_pos, {1, 3})) == Status::ok);
  double t = 0;
  for (int v = 0; v < 6; ++v) t += per_pos[v % 3] * b.loss[v];
  check_result(m, t, 2 * 4.0);
  const float one[1] = {4.0f};  // [1, 1]
  xent::SparseCategoricalCrossentropy<> m2;
  REQUIRE(m2.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(one, {1, 1})) == Status::ok);
  t = 0;
  for (int v = 0; v < 6; ++v) t += 4.0 * b.loss[v];
  check_result(m2, t, 24);
}

TEST_CASE("weights: rule 4, a prefix of V's shape averages V over the trailing axes") {
  // y_pred [2, 3, 2, 4]: V = [2, 3, 2]; w [2] is neither broadcastable after rule 2 nor equal rank.
  float pred[48];
  int labels[12];
  for (int i = 0; i < 48; ++i) pred[i] = 0.02f + static_cast<float>((i * 5) % 13) / 13.0f;
  for (int v = 0; v < 12; ++v) labels[v] = (v * 5 + 1) % 4;
  const float w[2] = {0.25f, 3.0f};
  xent::SparseCategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(labels, {2, 3, 2}), view(pred, {2, 3, 2, 4}), view(w, {2})) == Status::ok);
  double t = 0;
  for (int g = 0; g < 2; ++g) {
    double mean = 0;
    for (int v = 6 * g; v < 6 * g + 6; ++v) mean += xref::sparse_row(pred + 4 * v, 4, 1, labels[v], false, 0.0f).value;
    t += w[g] * mean / 6;
  }
  check_result(m, t, 3.25);  // count += sum(w)
}

TEST_CASE("weights: rule 5, anything else is shape_mismatch") {
  Batch b;
  const float w[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  xent::SparseCategoricalCrossentropy<> m;
  // ([1] is valid: rule 2 makes it [1, 1], which broadcasts.)
  for (const xent::Shape& s : {xent::Shape{3}, xent::Shape{2, 2}, xent::Shape{6}, xent::Shape{2, 3, 2},
                               xent::Shape{3, 2}, xent::Shape{2, 3, 1, 1}, xent::Shape{1, 2, 3}}) {
    CHECK(m.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(w, s)) == Status::shape_mismatch);
  }
  CHECK(m.count() == 0.0);
  CHECK(m.total() == 0.0);
}

TEST_CASE("weights: zero, negative and 16-bit weights") {
  Batch b;
  const float zero[2] = {0.0f, 0.0f};
  xent::SparseCategoricalCrossentropy<> m;
  REQUIRE(m.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(zero, {2})) == Status::ok);
  CHECK(m.count() == 0.0);
  CHECK(m.total() == 0.0);
  CHECK(m.result() == 0.0f);  // divide_no_nan

  const float neg[2] = {2.0f, -1.0f};  // legal, divides normally
  xent::SparseCategoricalCrossentropy<> n;
  REQUIRE(n.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(neg, {2})) == Status::ok);
  double t = 0;
  for (int v = 0; v < 6; ++v) t += neg[v / 3] * b.loss[v];
  check_result(n, t, 3.0);

  const float cancel[2] = {1.0f, -1.0f};  // count 0: result 0 although total is not
  xent::SparseCategoricalCrossentropy<> c;
  REQUIRE(c.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(cancel, {2})) == Status::ok);
  CHECK(c.count() == 0.0);
  CHECK(c.result() == 0.0f);

  const std::vector<float> wv = {0.3f, 1.7f, 0.1f, 2.2f, 0.9f, 1.0f};
  const mt::Typed<xent::float16> h(wv);
  const mt::Typed<xent::bfloat16> bf(wv);
  xent::SparseCategoricalCrossentropy<> mh;
  xent::SparseCategoricalCrossentropy<> mb;
  REQUIRE(mh.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(h.data.data(), {2, 3})) == Status::ok);
  REQUIRE(mb.update_state(view(b.labels, {2, 3}), view(b.pred, {2, 3, 4}), view(bf.data.data(), {2, 3})) == Status::ok);
  double th = 0, ch = 0, tb = 0, cb = 0;
  for (int v = 0; v < 6; ++v) {
    th += static_cast<double>(h.seen[static_cast<std::size_t>(v)]) * b.loss[v];
    ch += static_cast<double>(h.seen[static_cast<std::size_t>(v)]);
    tb += static_cast<double>(bf.seen[static_cast<std::size_t>(v)]) * b.loss[v];
    cb += static_cast<double>(bf.seen[static_cast<std::size_t>(v)]);
  }
  check_result(mh, th, ch);
  check_result(mb, tb, cb);
  CHECK(h.seen[0] != bf.seen[0]);  // the two 16-bit formats really differ here
}

TEST_CASE("weights: a weighted categorical metric with a class axis that is not last") {
  // y_pred [3, 2] with axis 0 is the worked example transposed; weights follow V = [2].
  const float pt[6] = {0.05f, 0.1f, 0.95f, 0.8f, 0.0f, 0.1f};
  const float tt[6] = {0, 0, 1, 0, 0, 1};
  const float w[2] = {0.3f, 0.7f};
  xent::CategoricalOptions o;
  o.axis = 0;
  xent::CategoricalCrossentropy<> m(o);
  REQUIRE(m.update_state(view(tt, {3, 2}), view(pt, {3, 2}), view(w, {2})) == Status::ok);
  CHECK(mt::ulp_distance(m.result(), 1.6271976f) <= 1);
}
