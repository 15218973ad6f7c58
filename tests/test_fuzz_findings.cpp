// What the fuzz harnesses of fuzz/ found, one case per finding, each reproducing it with the
// input that found it (kept as fuzz/corpus/<harness>/finding-*). The fuzz preset also builds this
// file with clang's sanitizers, which report what GCC's do not (-fsanitize=enum).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

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
  for (std::size_t rank : {xent::kMaxRank + 1, std::size_t{1} << 40, kHugeRank}) {
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
