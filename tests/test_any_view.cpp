// AnyView (element types known at run time): the same sums as the typed views, and each argument
// refuses the element types it does not take with invalid_option, state unchanged.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "metric_test_util.hpp"

using xent::AnyView;
using xent::ElementType;
using xent::Status;

namespace {

constexpr ElementType kAll[] = {ElementType::f32, ElementType::f16, ElementType::bf16, ElementType::i32, ElementType::i64,
                                ElementType::u8,  ElementType::u16, ElementType::qi8,  ElementType::qu8};

// Storage big enough for 6 elements of any type, holding small valid values (labels 1 and 2, the
// worked example's probabilities), so that only the type decides.
struct Storage {
  float f32[6];
  xent::float16 f16[6];
  xent::bfloat16 bf16[6];
  std::int32_t i32[6] = {1, 2, 0, 0, 0, 0};
  std::int64_t i64[6] = {1, 2, 0, 0, 0, 0};
  std::uint8_t u8[6] = {1, 2, 0, 0, 0, 0};
  std::uint16_t u16[6] = {1, 2, 0, 0, 0, 0};
  std::int8_t qi8[6] = {-115, 115, -128, -102, 77, -102};
  std::uint8_t qu8[6] = {13, 243, 0, 26, 205, 26};
  Storage() {
    for (int i = 0; i < 6; ++i) {
      f32[i] = mt::worked::kPred[i];
      f16[i] = xent::to_float16(f32[i]);
      bf16[i] = xent::to_bfloat16(f32[i]);
    }
  }
  AnyView view(ElementType t, xent::Shape shape) const {
    AnyView v;
    v.type = t;
    v.shape = shape;
    v.scale = 1.0f / 256;
    v.zero_point = t == ElementType::qi8 ? -128 : 0;
    switch (t) {
      case ElementType::f32: v.data = f32; break;
      case ElementType::f16: v.data = f16; break;
      case ElementType::bf16: v.data = bf16; break;
      case ElementType::i32: v.data = i32; break;
      case ElementType::i64: v.data = i64; break;
      case ElementType::u8: v.data = u8; break;
      case ElementType::u16: v.data = u16; break;
      case ElementType::qi8: v.data = qi8; break;
      case ElementType::qu8: v.data = qu8; break;
    }
    return v;
  }
};

bool is_float(ElementType t) { return t == ElementType::f32 || t == ElementType::f16 || t == ElementType::bf16; }
bool is_pred(ElementType t) { return is_float(t) || t == ElementType::qi8 || t == ElementType::qu8; }
bool is_label(ElementType t) {
  return t == ElementType::f32 || t == ElementType::i32 || t == ElementType::i64 || t == ElementType::u8 ||
         t == ElementType::u16;
}

}  // namespace

TEST_CASE("any view: each argument takes exactly its element types") {
  const Storage st;
  const float weights[2] = {0.3f, 0.7f};
  const AnyView w{weights, ElementType::f32, {2}, 1.0f, 0};
  for (ElementType truth : kAll) {
    for (ElementType pred : kAll) {
      INFO("truth " << static_cast<int>(truth) << " pred " << static_cast<int>(pred));
      xent::SparseCategoricalCrossentropy<> s;
      xent::CategoricalCrossentropy<> c;
      const Status ss = s.update_state(st.view(truth, {2}), st.view(pred, {2, 3}), w);
      const Status cs = c.update_state(st.view(truth, {2, 3}), st.view(pred, {2, 3}));
      CHECK((ss == Status::ok) == (is_label(truth) && is_pred(pred)));
      CHECK((cs == Status::ok) == (is_float(truth) && is_pred(pred)));
      if (ss != Status::ok) CHECK((ss == Status::invalid_option && s.count() == 0.0));
      if (cs != Status::ok) CHECK((cs == Status::invalid_option && c.count() == 0.0));
      float out[2] = {7.0f, 7.0f};
      const Status fs = xent::sparse_categorical_crossentropy(st.view(truth, {2}), st.view(pred, {2, 3}), out, 2);
      CHECK((fs == Status::ok) == (is_label(truth) && is_pred(pred)));
    }
  }
  for (ElementType wt : kAll) {
    xent::SparseCategoricalCrossentropy<> s;
    const Status ss = s.update_state(st.view(ElementType::i32, {2}), st.view(ElementType::f32, {2, 3}), st.view(wt, {2}));
    CHECK((ss == Status::ok) == is_float(wt));
  }
  // A tag beyond the enum (a run-time value never checked by a compiler).
  xent::SparseCategoricalCrossentropy<> s;
  AnyView bad = st.view(ElementType::f32, {2, 3});
  bad.type = static_cast<ElementType>(200);
  CHECK(s.update_state(st.view(ElementType::i32, {2}), bad) == Status::invalid_option);
}

TEST_CASE("any view: the typed views' sums, bit for bit") {
  const Storage st;
  xent::SparseCategoricalCrossentropy<> a, b, c, d;
  REQUIRE(a.update_state(st.view(ElementType::u16, {2}), st.view(ElementType::bf16, {2, 3})) == Status::ok);
  REQUIRE(b.update_state(xent::view(st.u16, {2}), xent::view(st.bf16, {2, 3})) == Status::ok);
  CHECK(a.total() == b.total());
  REQUIRE(c.update_state(st.view(ElementType::i64, {2}), st.view(ElementType::qi8, {2, 3})) == Status::ok);
  REQUIRE(d.update_state(xent::view(st.i64, {2}), xent::quantized(st.qi8, {2, 3}, 1.0f / 256, -128)) == Status::ok);
  CHECK(c.total() == d.total());
  CHECK(c.count() == 2.0);
}
