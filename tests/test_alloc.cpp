// No heap anywhere: every allocation is counted (tests/alloc_counter.hpp) while every update kind
// runs with the counters armed.
#include <doctest/doctest.h>

#include <type_traits>
#include <vector>

#include "alloc_counter.hpp"
#include "metric_test_util.hpp"

using alloc_count::counting_start;
using alloc_count::counting_stop;
using alloc_count::Counts;
using xent::Status;
using xent::view;

static_assert(std::is_trivially_destructible_v<xent::CategoricalCrossentropy<>>);
static_assert(std::is_trivially_destructible_v<xent::CategoricalCrossentropy<1000>>);
static_assert(std::is_trivially_destructible_v<xent::SparseCategoricalCrossentropy<>>);
static_assert(std::is_trivially_destructible_v<xent::SparseCategoricalCrossentropy<10>>);
static_assert(std::is_trivially_copyable_v<xent::SparseCategoricalCrossentropy<10>>);
// A literal type: a static metric is constant-initialized, no constructor runs at start-up.
constexpr xent::SparseCategoricalCrossentropy<> kConstantInitialized{};
static_assert(kConstantInitialized.count() == 0.0);

namespace {
xent::SparseCategoricalCrossentropy<10> g_static_sparse;  // static storage, as on a device
xent::CategoricalCrossentropy<> g_static_categorical({}, "static");
}  // namespace

TEST_CASE("alloc: the counters see allocations (the test can fail)") {
  counting_start();
  auto* v = new std::vector<int>(100);
  const Counts c = counting_stop();
  delete v;
  CHECK(c.news >= 1);
#if XENT_TEST_COUNT_MALLOC
  counting_start();
  void* p = std::malloc(64);
  const Counts m = counting_stop();
  std::free(p);
  CHECK(m.mallocs >= 1);
#endif
}

TEST_CASE("alloc: zero heap allocations across updates of every kind") {
  // Inputs prepared before arming.
  std::vector<float> pred(700 * 5);
  std::vector<float> onehot(700 * 5, 0.0f);
  std::vector<xent::float16> pred16(700 * 5);
  std::vector<xent::bfloat16> predbf(700 * 5);
  std::vector<std::int64_t> labels(700);
  std::vector<std::uint8_t> labels8(700);
  std::vector<float> flabels(700);
  std::vector<float> w(700, 0.5f);
  std::vector<xent::float16> w16(700, xent::to_float16(0.5f));
  std::vector<float> out(700);
  for (std::size_t i = 0; i < pred.size(); ++i) {
    pred[i] = 0.1f + static_cast<float>(i % 7) * 0.1f;
    pred16[i] = xent::to_float16(pred[i]);
    predbf[i] = xent::to_bfloat16(pred[i]);
  }
  for (std::size_t r = 0; r < 700; ++r) {
    labels[r] = static_cast<std::int64_t>(r % 5);
    labels8[r] = static_cast<std::uint8_t>(r % 5);
    flabels[r] = static_cast<float>(r % 5);
    onehot[r * 5 + r % 5] = 1.0f;
  }
  unsigned char bytes[xent::SparseCategoricalCrossentropy<10>::serialized_size];
  const float scalar_w = 2.0f;

  counting_start();
  int failures = 0;
  int calls = 0;
  int first_failure = -1;  // which call failed, for the message
  Status first_status = Status::ok;
  auto ok = [&](Status s) {
    ++calls;
    if (s != Status::ok && failures++ == 0) first_failure = calls, first_status = s;
  };
  {
    xent::SparseOptions so;
    so.per_class = true;
    so.nan_policy = xent::NanPolicy::reject;  // the two-pass path
    so.ignore_class = 3;
    xent::SparseCategoricalCrossentropy<10> s(so);
    ok(s.update_state(view(labels.data(), {700}), view(pred.data(), {700, 5})));
    ok(s.update_state(view(labels8.data(), {700}), view(pred16.data(), {700, 5}), view(w.data(), {700})));
    ok(s.update_state(view(flabels.data(), {700, 1}), view(predbf.data(), {700, 5}), view(w16.data(), {700})));
    xent::SparseOptions axis1 = so;
    axis1.axis = 1;
    xent::SparseCategoricalCrossentropy<10> s1(axis1);  // class axis not last: strided rows
    ok(s1.update_state(view(labels.data(), {7, 100}), view(pred.data(), {7, 5, 100}), view(&scalar_w, {})));
    xent::SparseCategoricalCrossentropy<10> other(so);
    ok(other.merge_state(s));
    ok(s.serialize(bytes, sizeof bytes));
    ok(other.deserialize(bytes, sizeof bytes));
    failures += s.update_state(view(labels.data(), {699}), view(pred.data(), {700, 5})) == Status::shape_mismatch ? 0 : 1;
    ok(xent::sparse_categorical_crossentropy(view(labels.data(), {700}), view(pred.data(), {700, 5}), out.data(), 700));
    (void)s.result();
    (void)s.per_class_result(2);
    s.reset_states();

    xent::CategoricalOptions co;
    co.from_logits = true;
    co.label_smoothing = 0.1f;
    co.per_class = true;
    xent::CategoricalCrossentropy<5> c(co);
    ok(c.update_state(view(onehot.data(), {700, 5}), view(pred.data(), {700, 5})));
    ok(c.update_state(view(onehot.data(), {700, 5}), view(pred16.data(), {700, 5}), view(w.data(), {700, 1})));
    co.nan_policy = xent::NanPolicy::reject;
    xent::CategoricalCrossentropy<5> cr(co);
    ok(cr.update_state(view(onehot.data(), {700, 5}), view(predbf.data(), {700, 5}), view(w16.data(), {700, 1})));
    ok(xent::categorical_crossentropy(view(onehot.data(), {700, 5}), view(pred.data(), {700, 5}), out.data(), 700));

    ok(g_static_sparse.update_state(view(labels.data(), {700}), view(pred.data(), {700, 5})));
    ok(g_static_categorical.update_state(view(onehot.data(), {700, 5}), view(pred.data(), {700, 5})));
    (void)xent::status_message(Status::corrupt_state);
  }
  const Counts c = counting_stop();
  const std::string how = XENT_TEST_COUNT_MALLOC ? "yes" : "no (a sanitizer owns malloc)";
  MESSAGE("malloc counted: " << how);
  INFO("first failing call " << first_failure << " status " << static_cast<int>(first_status));
  CHECK(failures == 0);
  CHECK(c.news == 0);
  CHECK(c.mallocs == 0);
  CHECK(g_static_sparse.count() == 700.0);
  CHECK(std::string(g_static_categorical.name()) == "static");

}

TEST_CASE("alloc: names are copied into a fixed 64-byte buffer, truncated") {
  const std::string long_name(100, 'x');
  xent::SparseCategoricalCrossentropy<> m({}, long_name.c_str());
  CHECK(std::string(m.name()) == std::string(63, 'x'));
  xent::SparseCategoricalCrossentropy<> n({}, nullptr);
  CHECK(std::string(n.name()).empty());
  CHECK(sizeof(xent::SparseCategoricalCrossentropy<>) <= 256);
  CHECK(sizeof(xent::CategoricalCrossentropy<>) <= 256);
  CHECK(sizeof(xent::CategoricalCrossentropy<10>) <= 256 + 160);
}
