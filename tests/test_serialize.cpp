// merge_state, serialize and deserialize: round trips, golden bytes that must be the same on
// every target, and every failure leaving the state unchanged.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#if !defined(XENT_BARE_METAL)
#include <thread>
#endif
#include <vector>

#include "metric_test_util.hpp"

using xent::Status;
using xent::view;

namespace {
using mt::worked::kPred;
using mt::worked::kLabels;
using mt::worked::kOneHot;

void put_le(std::vector<unsigned char>& b, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
std::uint64_t bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
}  // namespace

TEST_CASE("serialize: the golden bytes of a known state, identical on every target") {
  // Written by hand from the documented layout: sparse, from_logits, ignore_class -1, axis -1,
  // label_smoothing 0.25, MaxClasses 2, total 3.0, count 2.0, per-class (1.0, 0.5), (2.0, 1.5).
  std::vector<unsigned char> g = {'X', 'E', 'N', 'T'};
  put_le(g, 1, 2);                    // version
  put_le(g, 2, 1);                    // kind: sparse
  put_le(g, 1 | 2 | 4, 1);            // from_logits, per_class, has ignore_class
  put_le(g, 0x3E800000u, 4);          // 0.25f
  put_le(g, 0xFFFFFFFFu, 4);          // axis -1
  put_le(g, 0xFFFFFFFFFFFFFFFFu, 8);  // ignore_class -1
  put_le(g, 2, 8);                    // capacity
  put_le(g, bits(3.0), 8);
  put_le(g, bits(2.0), 8);
  put_le(g, bits(1.0), 8);
  put_le(g, bits(0.5), 8);
  put_le(g, bits(2.0), 8);
  put_le(g, bits(1.5), 8);
  put_le(g, mt::crc32(g.data(), g.size()), 4);
  using M = xent::SparseCategoricalCrossentropy<2>;
  REQUIRE(g.size() == M::serialized_size);

  xent::SparseOptions o;
  o.from_logits = true;
  o.per_class = true;
  o.ignore_class = -1;
  o.label_smoothing = 0.25f;
  M m(o);
  REQUIRE(m.deserialize(g.data(), g.size()) == Status::ok);
  CHECK(m.total() == 3.0);
  CHECK(m.count() == 2.0);
  CHECK(m.result() == 1.5f);
  CHECK(m.per_class_result(0) == 2.0f);
  CHECK(m.per_class_count(1) == 1.5);
  std::vector<unsigned char> out(M::serialized_size + 3, 0xAB);
  REQUIRE(m.serialize(out.data(), out.size()) == Status::ok);
  CHECK(std::equal(g.begin(), g.end(), out.begin()));
  CHECK(out[M::serialized_size] == 0xAB);  // nothing written past serialized_size
}

TEST_CASE("serialize: round trip of both metrics, and merge adds states exactly") {
  xent::CategoricalOptions co;
  co.per_class = true;
  co.label_smoothing = 0.1f;
  xent::CategoricalCrossentropy<3> a(co);
  REQUIRE(a.update_state(view(kOneHot, {2, 3}), view(kPred, {2, 3})) == Status::ok);
  unsigned char buf[xent::CategoricalCrossentropy<3>::serialized_size];
  REQUIRE(a.serialize(buf, sizeof buf) == Status::ok);
  xent::CategoricalCrossentropy<3> b(co, "copy");
  REQUIRE(b.deserialize(buf, sizeof buf) == Status::ok);
  CHECK(b.total() == a.total());
  CHECK(b.count() == a.count());
  for (std::size_t k = 0; k < 3; ++k) CHECK(b.per_class_result(k) == a.per_class_result(k));
  // Per-class shares add up to the row losses (every class counts every row).
  double shares = 0;
  for (std::size_t k = 0; k < 3; ++k) shares += a.per_class_total(k);
  CHECK(shares == doctest::Approx(a.total()).epsilon(1e-6));
  CHECK(a.per_class_count(0) == a.count());
  a.reset_state();  // per-class sums too
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(a.per_class_total(k) == 0.0);
    CHECK(a.per_class_count(k) == 0.0);
  }
  CHECK(a.count() == 0.0);

  // Two halves merged equal the whole, bit for bit.
  xent::SparseOptions so;
  so.per_class = true;
  xent::SparseCategoricalCrossentropy<3> whole(so), first(so), second(so);
  REQUIRE(whole.update_state(view(kLabels, {1}), view(kPred, {1, 3})) == Status::ok);
  REQUIRE(whole.update_state(view(kLabels + 1, {1}), view(kPred + 3, {1, 3})) == Status::ok);
  REQUIRE(first.update_state(view(kLabels, {1}), view(kPred, {1, 3})) == Status::ok);
  REQUIRE(second.update_state(view(kLabels + 1, {1}), view(kPred + 3, {1, 3})) == Status::ok);
  REQUIRE(first.merge_state(second) == Status::ok);
  CHECK(first.total() == whole.total());
  CHECK(first.count() == whole.count());
  CHECK(mt::ulp_distance(first.result(), 1.1769392f) <= 1);
  for (std::size_t k = 0; k < 3; ++k) CHECK(first.per_class_total(k) == whole.per_class_total(k));
  CHECK(first.per_class_count(1) == 1.0);
  CHECK(first.per_class_count(0) == 0.0);
  CHECK(first.per_class_result(0) == 0.0f);  // empty class: 0, not NaN
}

TEST_CASE("serialize: failures (buffer, corruption, other kind/options/capacity) change nothing") {
  xent::SparseOptions so;
  so.per_class = true;
  using M = xent::SparseCategoricalCrossentropy<3>;
  M m(so);
  REQUIRE(m.update_state(view(kLabels, {2}), view(kPred, {2, 3})) == Status::ok);
  std::vector<unsigned char> good(M::serialized_size);
  CHECK(m.serialize(good.data(), good.size() - 1) == Status::buffer_too_small);
  REQUIRE(m.serialize(good.data(), good.size()) == Status::ok);

  M target(so);
  REQUIRE(target.update_state(view(kLabels, {1}), view(kPred, {1, 3})) == Status::ok);
  const auto before = mt::raw(target);
  // Every single flipped bit is caught (the checksum covers every byte before it).
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::vector<unsigned char> bad = good;
      bad[i] = static_cast<unsigned char>(bad[i] ^ (1u << bit));
      CHECK(target.deserialize(bad.data(), bad.size()) == Status::corrupt_state);
    }
  }
  CHECK(target.deserialize(good.data(), good.size() - 1) == Status::corrupt_state);
  CHECK(target.deserialize(good.data(), 10) == Status::corrupt_state);
  CHECK(target.deserialize(nullptr, 0) == Status::corrupt_state);
  CHECK(mt::raw(target) == before);

  // Valid bytes of another kind, options or capacity: incompatible.
  xent::SparseOptions other = so;
  other.from_logits = true;
  M logits(other);
  CHECK(logits.deserialize(good.data(), good.size()) == Status::incompatible_state);
  xent::SparseCategoricalCrossentropy<4> wider(so);
  std::vector<unsigned char> wide(xent::SparseCategoricalCrossentropy<4>::serialized_size, 0);
  std::memcpy(wide.data(), good.data(), good.size());
  CHECK(wider.deserialize(wide.data(), wide.size()) == Status::incompatible_state);
  xent::CategoricalOptions co;
  co.per_class = true;
  xent::CategoricalCrossentropy<3> cat(co);
  CHECK(cat.deserialize(good.data(), good.size()) == Status::incompatible_state);
  CHECK(logits.count() == 0.0);
  CHECK(wider.count() == 0.0);
  CHECK(cat.count() == 0.0);

  // merge_state across options: refused, nothing added.
  for (int variant = 0; variant < 5; ++variant) {
    xent::SparseOptions o = so;
    if (variant == 0) o.label_smoothing = 0.5f;
    if (variant == 1) o.axis = 0;
    if (variant == 2) o.ignore_class = 1;
    if (variant == 3) o.nan_policy = xent::NanPolicy::reject;
    if (variant == 4) o.per_class = false;
    M different(o);
    const auto b0 = mt::raw(target);
    CHECK(target.merge_state(different) == Status::incompatible_state);
    CHECK(mt::raw(target) == b0);
  }
}

TEST_CASE("merge: one metric per thread, merged, equals one metric over everything") {
  // 4 threads x 1000 rows of K = 7 logits; the merged total equals the sum of the per-thread totals.
  constexpr std::size_t kThreads = 4, kRows = 1000, kK = 7;
  std::vector<float> logits(kThreads * kRows * kK);
  std::vector<std::int32_t> labels(kThreads * kRows);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 37) % 101) / 10.0f - 5.0f;
  for (std::size_t r = 0; r < labels.size(); ++r) labels[r] = static_cast<std::int32_t>((r * 3) % kK);
  xent::SparseOptions o;
  o.from_logits = true;
  using M = xent::SparseCategoricalCrossentropy<>;
  M parts[kThreads] = {M(o), M(o), M(o), M(o)};
  Status status[kThreads] = {};
  auto part = [&](std::size_t t) {
    status[t] = parts[t].update_state(view(labels.data() + t * kRows, {kRows}),
                                      view(logits.data() + t * kRows * kK, {kRows, kK}));
  };
#if defined(XENT_BARE_METAL)
  for (std::size_t t = 0; t < kThreads; ++t) part(t);   // no threads on a microcontroller
#else
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) threads.emplace_back(part, t);
  for (auto& th : threads) th.join();
#endif
  M merged(o);
  double total = 0.0;
  for (std::size_t t = 0; t < kThreads; ++t) {
    CHECK(status[t] == Status::ok);
    REQUIRE(merged.merge_state(parts[t]) == Status::ok);
    total += parts[t].total();
  }
  M whole(o);
  REQUIRE(whole.update_state(view(labels.data(), {kThreads * kRows}), view(logits.data(), {kThreads * kRows, kK})) ==
          Status::ok);
  CHECK(merged.count() == 4000.0);
  CHECK(merged.total() == total);
  CHECK(std::fabs(merged.total() - whole.total()) <= 1e-12 * whole.total());
  CHECK(mt::ulp_distance(merged.result(), whole.result()) <= 1);
}
