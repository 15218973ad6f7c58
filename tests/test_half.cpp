// float16 / bfloat16 conversions: exhaustive widening against the bit-field formula, and
// round-to-nearest-even narrowing checked against the neighbours of the result.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>

#include "kernel_reference.hpp"
#include "xent/half.hpp"

using xent::test::bits_of;
using xent::test::float_of;

TEST_CASE("half: to_float(float16) is exact for all 65536 patterns") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float got = xent::to_float(xent::float16{bits});
    const double want = xent::test::f16_value(bits);
    if (std::isnan(want)) {
      REQUIRE(std::isnan(got));
      REQUIRE(std::signbit(got) == ((h & 0x8000u) != 0));
      REQUIRE(((bits_of(got) >> 13) & 0x3ffu) == (h & 0x3ffu));  // payload kept
    } else {
      REQUIRE(static_cast<double>(got) == want);
      REQUIRE(std::signbit(got) == ((h & 0x8000u) != 0));  // -0 stays -0
    }
  }
}

TEST_CASE("half: to_float(bfloat16) is the upper half of a binary32") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float got = xent::to_float(xent::bfloat16{static_cast<std::uint16_t>(h)});
    REQUIRE(bits_of(got) == (h << 16));
  }
}

namespace {
// The float16 nearest to f (ties to even), by comparing with the neighbours in double.
void check_f16_rounding(float f) {
  const xent::float16 r = xent::to_float16(f);
  const double x = f;
  if (std::isnan(f)) {
    CHECK(std::isnan(xent::to_float(r)));
    return;
  }
  const double got = xent::test::f16_value(r.bits);
  if (std::isinf(got)) {
    CHECK(std::fabs(x) >= 65520.0);  // the halfway point between 65504 and 2^16
    CHECK(std::signbit(got) == std::signbit(x));
    return;
  }
  const double err = std::fabs(got - x);
  const std::uint16_t mag = r.bits & 0x7fffu;
  const auto sign = static_cast<std::uint16_t>(r.bits & 0x8000u);
  if (mag < 0x7bff) {
    const double up = xent::test::f16_value(static_cast<std::uint16_t>(sign | (mag + 1)));
    CHECK(err <= std::fabs(up - x));
    if (err == std::fabs(up - x)) CHECK((mag & 1u) == 0);
  } else {
    CHECK(std::fabs(x) < 65520.0);
  }
  if (mag > 0) {
    const double down = xent::test::f16_value(static_cast<std::uint16_t>(sign | (mag - 1)));
    CHECK(err <= std::fabs(down - x));
    if (err == std::fabs(down - x)) CHECK((mag & 1u) == 0);
  }
  if (got != 0.0) CHECK(std::signbit(got) == std::signbit(x));
}
}  // namespace

TEST_CASE("half: to_float16 rounds to nearest even") {
  // Every half value, the midpoints between neighbours and points just beside them.
  for (std::uint32_t h = 0; h < 0x7c00; ++h) {
    const double v = xent::test::f16_value(static_cast<std::uint16_t>(h));
    const double next = h + 1 < 0x7c00 ? xent::test::f16_value(static_cast<std::uint16_t>(h + 1)) : 65536.0;
    const auto mid = static_cast<float>((v + next) / 2);  // exact in float32
    for (float f : {static_cast<float>(v), mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      check_f16_rounding(f);
      check_f16_rounding(-f);
      CHECK(xent::to_float(xent::to_float16(f)) == xent::to_float(xent::to_float16(-f)) * -1.0f);
    }
    CHECK(xent::to_float16(static_cast<float>(v)).bits == h);  // exact values round-trip
  }
  xent::test::Rng rng(7);
  for (int i = 0; i < 200000; ++i) check_f16_rounding(float_of(static_cast<std::uint32_t>(rng.next())));
  CHECK(xent::to_float16(65519.996f).bits == 0x7bff);
  CHECK(xent::to_float16(65520.0f).bits == 0x7c00);
  CHECK(xent::to_float16(1e30f).bits == 0x7c00);
  CHECK(xent::to_float16(-INFINITY).bits == 0xfc00);
  CHECK(xent::to_float16(0x1p-25f).bits == 0x0000);               // tie to even: zero
  CHECK(xent::to_float16(std::nextafter(0x1p-25f, 1.0f)).bits == 0x0001);
  CHECK(xent::to_float16(0x1p-149f).bits == 0x0000);
  CHECK(xent::to_float16(-0.0f).bits == 0x8000);
  CHECK(std::isnan(xent::to_float(xent::to_float16(NAN))));
}

TEST_CASE("half: to_bfloat16 rounds to nearest even") {
  CHECK(xent::to_bfloat16(1.0f).bits == 0x3f80);
  CHECK(xent::to_bfloat16(float_of(0x3f808000u)).bits == 0x3f80);  // tie, even stays
  CHECK(xent::to_bfloat16(float_of(0x3f818000u)).bits == 0x3f82);  // tie, odd rounds up
  CHECK(xent::to_bfloat16(float_of(0x3f808001u)).bits == 0x3f81);
  CHECK(xent::to_bfloat16(float_of(0x7f7fffffu)).bits == 0x7f80);  // overflow to inf
  CHECK(xent::to_bfloat16(-INFINITY).bits == 0xff80);
  const xent::bfloat16 nan = xent::to_bfloat16(float_of(0x7f800001u));  // a NaN whose payload is all low bits
  CHECK(std::isnan(xent::to_float(nan)));
  xent::test::Rng rng(11);
  for (int i = 0; i < 200000; ++i) {
    const float f = float_of(static_cast<std::uint32_t>(rng.next()));
    if (std::isnan(f)) continue;
    const xent::bfloat16 r = xent::to_bfloat16(f);
    const double got = xent::to_float(r);
    if (std::isinf(got) && !std::isinf(f)) {
      CHECK(std::fabs(static_cast<double>(f)) >= 0x1.ffp127);  // past the last halfway point
      continue;
    }
    const double down = static_cast<double>(float_of(bits_of(f) & 0xffff0000u));
    const double up = static_cast<double>(float_of((bits_of(f) & 0xffff0000u) + 0x10000u));
    const double x = f;
    CHECK(std::fabs(got - x) <= std::fabs(down - x));
    CHECK(std::fabs(got - x) <= std::fabs(up - x));
  }
}
