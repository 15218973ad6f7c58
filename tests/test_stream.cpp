// A stream of 20 million rows: total and count in double keep the mean exact where a float32
// accumulator drifts (and a float32 count stops at 2^24 = 16,777,216).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "metric_test_util.hpp"

using xent::Status;
using xent::view;

TEST_CASE("stream: 20 million rows keep an exact mean") {
  // K = 2 probabilities (the cheapest rows: two logs each), a batch of 4000 rows reused 5000
  // times (20,000,000 rows).
  constexpr std::size_t kRows = 4000;
  constexpr std::size_t kBatches = 5000;
  std::vector<float> probs(2 * kRows);
  std::vector<std::int32_t> labels(kRows);
  for (std::size_t r = 0; r < kRows; ++r) {
    probs[2 * r] = 0.05f + static_cast<float>(r % 13) * 0.07f;
    probs[2 * r + 1] = 1.0f - probs[2 * r];
    labels[r] = static_cast<std::int32_t>(r % 3 == 0 ? 1 : 0);
  }
  const xent::SparseOptions o;
  // The per-row losses of one batch, summed in double: the exact batch total of the metric.
  std::vector<float> loss(kRows);
  REQUIRE(xent::sparse_categorical_crossentropy(view(labels.data(), {kRows}), view(probs.data(), {kRows, 2}),
                                                loss.data(), kRows, o) == Status::ok);
  double batch_total = 0.0;
  for (float l : loss) batch_total += static_cast<double>(l);
  const double mean = batch_total / kRows;

  xent::SparseCategoricalCrossentropy<> m(o);
  float f32_total = 0.0f;  // what a float32 accumulator (Keras's) would hold
  float f32_count = 0.0f;
  for (std::size_t b = 0; b < kBatches; ++b) {
    REQUIRE(m.update_state(view(labels.data(), {kRows}), view(probs.data(), {kRows, 2})) == Status::ok);
    f32_total += static_cast<float>(batch_total);
    f32_count += static_cast<float>(kRows);
  }
  CHECK(m.count() == 20000000.0);
  // Each batch adds the same double; 5000 additions of a ~2,700 total lose nothing near 1.4e7.
  CHECK(std::fabs(m.total() - batch_total * kBatches) <= 1e-9 * batch_total * kBatches);
  CHECK(mt::ulp_distance(m.result(), static_cast<float>(mean)) <= 1);
  // The float32 accumulator is visibly off by then (the reason for double).
  CHECK(mt::rel_err(static_cast<double>(f32_total / f32_count), mean) > 1e-6);
  // And a float32 count of single rows stops at 2^24.
  float stuck = 16777216.0f;
  stuck += 1.0f;
  CHECK(stuck == 16777216.0f);
}
