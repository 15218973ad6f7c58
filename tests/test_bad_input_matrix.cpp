// The bad-input matrix (issue 13): every public entry point x every Status it can return, each
// provoked at least once, with the metric's state compared byte for byte through serialize()
// before and after every failing call (and the functional forms' out untouched, except for
// non_finite_input, where the contract says out holds the losses). C++ here, the C API in
// test_bad_input_matrix_c.cpp; the test prints the matrix's size.
//
// Update and functional-form rows run once per prediction type (PredTypes below): the float types
// (Plain) and the quantized int8/uint8 views (Quantized), which add the invalid scales and zero points.
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "bad_input_matrix.hpp"

using matrix::Coverage;
using matrix::expect;
using matrix::kInf;
using matrix::kNaN;
using matrix::kSizeMax;
using xent::Shape;
using xent::Status;
using xent::view;

namespace {

// A prediction type: float values stored as T, views of them with any shape.
template <class T>
struct Plain {
  static constexpr bool kQuantized = false;
  static std::string name() {
    if constexpr (std::is_same_v<T, float>) return "float";
    else if constexpr (std::is_same_v<T, xent::float16>) return "float16";
    else return "bfloat16";
  }
  std::vector<T> data;
  explicit Plain(const std::vector<float>& v) {
    for (float x : v) data.push_back(mt::store<T>(x));
  }
  xent::View<T> view(const Shape& s) const { return xent::view(data.data(), s); }
  xent::View<T> null(const Shape& s) const { return xent::view<T>(nullptr, s); }
};

// Quantized predictions: probabilities as TFLite's softmax outputs (scale 1/256, zero point -128 for
// int8, 0 for uint8). A quantized tensor holds no NaN: values with one (probs_nan) are stored with
// scale 1e38 as code 1 (1e38) and the NaN as code 4 (4e38 overflows to inf), so only that row's loss
// is non-finite (rows of three 1e38 sum to a finite 3e38; the inf sits at the label, inf / inf).
template <class T>
struct Quantized {
  static constexpr bool kQuantized = true;
  static std::string name() { return std::is_same_v<T, std::int8_t> ? "quantized int8" : "quantized uint8"; }
  std::vector<T> data;
  float scale = 1.0f / 256.0f;
  std::int32_t zero_point = std::is_same_v<T, std::int8_t> ? -128 : 0;
  explicit Quantized(const std::vector<float>& v) {
    bool nan = false;
    for (float x : v) nan = nan || std::isnan(x);
    if (nan) scale = 1e38f, zero_point = 0;
    for (float x : v)
      data.push_back(static_cast<T>(nan ? (std::isnan(x) ? 4 : 1) : std::lround(x * 256.0f) + zero_point));
  }
  xent::QuantizedView<T> view(const Shape& s) const { return xent::quantized(data.data(), s, scale, zero_point); }
  xent::QuantizedView<T> null(const Shape& s) const { return xent::quantized<T>(nullptr, s, scale, zero_point); }
  xent::QuantizedView<T> view(const Shape& s, float sc, std::int32_t zp) const { return xent::quantized(data.data(), s, sc, zp); }
  // Parameters QuantizedView refuses: (what, scale, zero point).
  static std::vector<std::tuple<std::string, float, std::int32_t>> invalid_parameters() {
    const std::int32_t lo = std::is_same_v<T, std::int8_t> ? -128 : 0;
    return {{"scale 0", 0.0f, lo},          {"scale -1/256", -1.0f / 256.0f, lo},
            {"scale NaN", kNaN, lo},         {"scale inf", kInf, lo},
            {"zero_point one below the type", 1.0f / 256.0f, lo - 1},
            {"zero_point one above the type", 1.0f / 256.0f, lo + 256}};
  }
};

template <class... Codecs>
struct TypeList {
  static constexpr std::size_t size = sizeof...(Codecs);
};
using PredTypes = TypeList<Plain<float>, Plain<xent::float16>, Plain<xent::bfloat16>, Quantized<std::int8_t>,
                           Quantized<std::uint8_t>>;

// Inputs large enough for every shape below (600 rows of up to 5 classes), so no bad call can read
// out of bounds even if it were wrongly accepted.
struct Data {
  static constexpr std::size_t kRows = 600, kMaxK = 5;
  std::vector<float> probs, probs_nan, onehot, weights, weights_inf, float_labels;
  std::vector<std::int32_t> labels;
  Data() : probs(kRows * kMaxK), onehot(kRows * kMaxK, 0.0f), weights(kRows, 0.375f), labels(kRows) {
    for (std::size_t i = 0; i < probs.size(); ++i) probs[i] = 0.1f + static_cast<float>(i % 7) * 0.1f;
    for (std::size_t r = 0; r < kRows; ++r) {
      labels[r] = static_cast<std::int32_t>(r % 3);
      onehot[r * 3 + r % 3] = 1.0f;  // rows of 3 classes (the K of most shapes below)
    }
    float_labels.assign(labels.begin(), labels.end());
    float_labels[1] = kNaN;
    probs_nan = probs;
    probs_nan[500 * 3 + 2] = kNaN;  // row 500 of 600 (a later block than the first), at its label (500 % 3)
    weights_inf = weights;
    weights_inf[1] = -kInf;
  }
};

const std::size_t kDims9[9] = {1, 1, 1, 1, 1, 1, 1, 2, 3};
const Shape kRank9 = Shape::from(kDims9, 9);
const Shape kRankMax = Shape::from(kDims9, kSizeMax);  // what a C caller's rank of SIZE_MAX becomes
const std::size_t kHugeK = std::size_t{1} << 31;        // beyond the kernels' int32 class index

// y_true for predictions of shape p: the labels (p without its last axis) or a one-hot of p's shape.
struct SparseKind {
  static constexpr const char* kName = "SparseCategoricalCrossentropy";
  static constexpr bool kSparse = true;
  using Options = xent::SparseOptions;
  template <std::size_t N>
  using Metric = xent::SparseCategoricalCrossentropy<N>;
  static Shape truth_shape(const Shape& p) {
    std::size_t d[xent::kMaxRank] = {};
    for (std::size_t i = 0; i + 1 < p.rank() && i < xent::kMaxRank; ++i) d[i] = p[i];
    return Shape::from(d, p.rank() == 0 ? 0 : p.rank() - 1);
  }
  static xent::View<std::int32_t> truth(const Data& d, const Shape& s) { return view(d.labels.data(), s); }
  template <class T, class P>
  static Status losses(T t, P p, float* out, std::size_t n, const Options& o) {
    return xent::sparse_categorical_crossentropy(t, p, out, n, o);
  }
};

struct CategoricalKind {
  static constexpr const char* kName = "CategoricalCrossentropy";
  static constexpr bool kSparse = false;
  using Options = xent::CategoricalOptions;
  template <std::size_t N>
  using Metric = xent::CategoricalCrossentropy<N>;
  static Shape truth_shape(const Shape& p) { return p; }
  static xent::View<float> truth(const Data& d, const Shape& s) { return view(d.onehot.data(), s); }
  template <class T, class P>
  static Status losses(T t, P p, float* out, std::size_t n, const Options& o) {
    return xent::categorical_crossentropy(t, p, out, n, o);
  }
};

// The options that are wrong whatever the data: (what, options).
template <class Options>
std::vector<std::pair<std::string, Options>> invalid_options() {
  std::vector<std::pair<std::string, Options>> v;
  for (const float ls : {kNaN, -0.5f, 1.5f, kInf}) {
    Options o;
    o.label_smoothing = ls;
    v.emplace_back("label_smoothing " + std::to_string(ls), o);
  }
  for (const int axis : {2, -3, 1000}) {
    Options o;
    o.axis = axis;
    v.emplace_back("axis " + std::to_string(axis) + " of a rank-2 y_pred", o);
  }
  Options o;
  o.nan_policy = static_cast<xent::NanPolicy>(7);
  v.emplace_back("nan_policy 7", o);
  return v;
}

// A metric that already holds state (per-class sums too when it has room for them).
template <class Kind, class M>
M primed(const Data& d, typename Kind::Options o = {}) {
  o.per_class = M::max_classes > 0;
  M m(o);
  const Shape p{2, 3};
  REQUIRE(m.update_state(Kind::truth(d, Kind::truth_shape(p)), view(d.probs.data(), p), view(d.weights.data(), {2})) ==
          Status::ok);
  return m;
}

Shape rows_of(const Shape& p) { return p.rank() == 0 || !p.valid() ? Shape{} : Shape{p[0]}; }

// Quantized values are never NaN, and sparse probabilities are clipped before the log, so an inf
// gives a finite sparse loss: the non-finite rows of a quantized type take the values as logits
// there (max inf, inf - inf = NaN).
template <class Kind, class Codec>
inline constexpr bool kInfOnlyAsLogits = Kind::kSparse && Codec::kQuantized;

template <class Kind, class Codec, bool kWeighted>
void update_row(Coverage& cov, const Data& d) {
  const std::string entry = std::string(Kind::kName) + "::update_state(y_true, y_pred" +
                            (kWeighted ? ", sample_weight)" : ")") + " <" + Codec::name() + ">";
  cov.declare(entry, matrix::kUpdate, Kind::kSparse);
  const Codec pred(d.probs), pred_nan(d.probs_nan);
  // The call under test, with weights of one per row when kWeighted.
  const auto call = [&](auto& m, auto t, auto p) -> Status {
    if constexpr (kWeighted) return m.update_state(t, p, view(d.weights.data(), rows_of(p.shape)));
    else return m.update_state(t, p);
  };
  // One bad y_pred shape (with the y_true that fits it) on a metric.
  const auto bad_pred = [&](const std::string& what, Status want, auto& m, const Shape& p) {
    expect(cov, entry, what, want, m, [&] { return call(m, Kind::truth(d, Kind::truth_shape(p)), pred.view(p)); });
  };
  using M = typename Kind::template Metric<0>;
  using M4 = typename Kind::template Metric<4>;
  M m = primed<Kind, M>(d);
  M4 m4 = primed<Kind, M4>(d);
  const Shape p2{2, 3};
  const auto t2 = Kind::truth(d, Kind::truth_shape(p2));

  expect(cov, entry, "y_pred null", Status::null_data, m, [&] { return call(m, t2, pred.null(p2)); });
  expect(cov, entry, "y_true null", Status::null_data, m4,
         [&] { return call(m4, decltype(t2){nullptr, t2.shape}, pred.view(p2)); });
  bad_pred("y_pred of rank 0", Status::rank_out_of_range, m, Shape{});
  bad_pred("y_pred of rank 9", Status::rank_out_of_range, m4, kRank9);
  bad_pred("y_pred of rank SIZE_MAX", Status::rank_out_of_range, m, kRankMax);
  expect(cov, entry, "y_true of rank 9", Status::rank_out_of_range, m,
         [&] { return call(m, Kind::truth(d, kRank9), pred.view(p2)); });
  expect(cov, entry, "y_true one row short", Status::shape_mismatch, m4,
         [&] { return call(m4, Kind::truth(d, Kind::truth_shape(Shape{1, 3})), pred.view(p2)); });
  bad_pred("y_pred whose element count overflows size_t", Status::shape_mismatch, m,
           Shape{kSizeMax / 2, 4, 3});
  bad_pred("5 classes in a metric of MaxClasses 4", Status::too_many_classes, m4, Shape{2, 5});
  bad_pred("2^31 classes (no rows)", Status::too_many_classes, m, Shape{0, kHugeK});
  bad_pred("a class axis of length 0", Status::no_classes, m4, Shape{2, 0});
  if constexpr (kWeighted) {
    expect(cov, entry, "sample_weight null", Status::null_data, m,
           [&] { return m.update_state(t2, pred.view(p2), view<float>(nullptr, {2})); });
    expect(cov, entry, "sample_weight of rank 9", Status::rank_out_of_range, m,
           [&] { return m.update_state(t2, pred.view(p2), view(d.weights.data(), kRank9)); });
    expect(cov, entry, "sample_weight of 3 rows", Status::shape_mismatch, m4,
           [&] { return m4.update_state(t2, pred.view(p2), view(d.weights.data(), {3})); });
  }
  if constexpr (Kind::kSparse) {
    const std::int32_t high[2] = {1, 3}, negative[2] = {-1, 0};
    expect(cov, entry, "label 3 of 3 classes", Status::label_out_of_range, m,
           [&] { return call(m, view(high, {2}), pred.view(p2)); });
    expect(cov, entry, "label -1", Status::label_out_of_range, m4,
           [&] { return call(m4, view(negative, {2}), pred.view(p2)); });
    expect(cov, entry, "float label NaN", Status::label_out_of_range, m,
           [&] { return call(m, view(d.float_labels.data(), {2}), pred.view(p2)); });
    typename Kind::Options ignore;
    ignore.ignore_class = -1;
    M mi = primed<Kind, M>(d, ignore);
    expect(cov, entry, "label 3 beside ignore_class -1", Status::label_out_of_range, mi,
           [&] { return call(mi, view(high, {2}), pred.view(p2)); });
  }
  for (auto& [what, o] : invalid_options<typename Kind::Options>()) {
    M bad(o);
    expect(cov, entry, what, Status::invalid_option, bad, [&] { return call(bad, t2, pred.view(p2)); });
  }
  if constexpr (Codec::kQuantized) {
    for (auto& [what, scale, zp] : Codec::invalid_parameters())
      expect(cov, entry, what, Status::invalid_option, m4, [&] { return call(m4, t2, pred.view(p2, scale, zp)); });
  }
  typename Kind::Options per_class;
  per_class.per_class = true;
  M no_room(per_class);
  expect(cov, entry, "per_class in a metric of MaxClasses 0", Status::invalid_option, no_room,
         [&] { return call(no_room, t2, pred.view(p2)); });

  typename Kind::Options reject;
  reject.nan_policy = xent::NanPolicy::reject;
  reject.from_logits = kInfOnlyAsLogits<Kind, Codec>;
  M mr = primed<Kind, M>(d, reject);
  M4 mr4 = primed<Kind, M4>(d, reject);  // per-class sums: the two-pass path
  const Shape p600{Data::kRows, 3};
  const auto t600 = Kind::truth(d, Kind::truth_shape(p600));
  expect(cov, entry, "NanPolicy::reject, a NaN prediction in row 500 of 600", Status::non_finite_input, mr,
         [&] { return call(mr, t600, pred_nan.view(p600)); });
  expect(cov, entry, "NanPolicy::reject with per-class sums, NaN in row 500 of 600", Status::non_finite_input, mr4,
         [&] { return call(mr4, t600, pred_nan.view(p600)); });
  if constexpr (kWeighted) {
    expect(cov, entry, "NanPolicy::reject, a weight of -inf", Status::non_finite_input, mr4,
           [&] { return mr4.update_state(t2, pred.view(p2), view(d.weights_inf.data(), {2})); });
  }
}

// A failing functional call: the wanted status, and out untouched (every status but
// non_finite_input, which leaves the losses in out).
template <class Call>
void expect_out(Coverage& cov, const std::string& entry, const std::string& what, Status want, Call call) {
  std::vector<float> out(16, 12345.0f);
  const Status got = call(out.data(), out.size());
  cov.record(entry, what, got, want);
  INFO(entry << ": " << what);
  for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == 12345.0f);
}

template <class Kind, class Codec>
void functional_row(Coverage& cov, const Data& d) {
  const std::string entry = std::string(Kind::kSparse ? "sparse_categorical_crossentropy" : "categorical_crossentropy") +
                            " <" + Codec::name() + ">";
  cov.declare(entry, matrix::kUpdate, Kind::kSparse);
  cov.declare(entry, {Status::buffer_too_small});
  const Codec pred(d.probs), pred_nan(d.probs_nan);
  using Options = typename Kind::Options;
  const auto bad_pred = [&](const std::string& what, Status want, const Shape& p, const Options& o = {}) {
    expect_out(cov, entry, what, want,
               [&](float* out, std::size_t n) { return Kind::losses(Kind::truth(d, Kind::truth_shape(p)), pred.view(p), out, n, o); });
  };
  const Shape p2{2, 3};
  const auto t2 = Kind::truth(d, Kind::truth_shape(p2));
  expect_out(cov, entry, "y_pred null", Status::null_data,
             [&](float* out, std::size_t n) { return Kind::losses(t2, pred.null(p2), out, n, Options{}); });
  expect_out(cov, entry, "y_true null", Status::null_data, [&](float* out, std::size_t n) {
    return Kind::losses(decltype(t2){nullptr, t2.shape}, pred.view(p2), out, n, Options{});
  });
  expect_out(cov, entry, "out null", Status::null_data,
             [&](float*, std::size_t n) { return Kind::losses(t2, pred.view(p2), nullptr, n, Options{}); });
  expect_out(cov, entry, "out_size 1 for 2 losses", Status::buffer_too_small,
             [&](float* out, std::size_t) { return Kind::losses(t2, pred.view(p2), out, 1, Options{}); });
  expect_out(cov, entry, "out_size 0 and out null", Status::null_data,
             [&](float*, std::size_t) { return Kind::losses(t2, pred.view(p2), nullptr, 0, Options{}); });
  bad_pred("y_pred of rank 0", Status::rank_out_of_range, Shape{});
  bad_pred("y_pred of rank 9", Status::rank_out_of_range, kRank9);
  bad_pred("y_pred of rank SIZE_MAX", Status::rank_out_of_range, kRankMax);
  expect_out(cov, entry, "y_true one row short", Status::shape_mismatch, [&](float* out, std::size_t n) {
    return Kind::losses(Kind::truth(d, Kind::truth_shape(Shape{1, 3})), pred.view(p2), out, n, Options{});
  });
  bad_pred("y_pred whose element count overflows size_t", Status::shape_mismatch, Shape{kSizeMax / 2, 4, 3});
  bad_pred("2^31 classes (no rows)", Status::too_many_classes, Shape{0, kHugeK});
  bad_pred("a class axis of length 0", Status::no_classes, Shape{2, 0});
  if constexpr (Kind::kSparse) {
    const std::int32_t high[2] = {1, 3};
    expect_out(cov, entry, "label 3 of 3 classes", Status::label_out_of_range,
               [&](float* out, std::size_t n) { return Kind::losses(view(high, {2}), pred.view(p2), out, n, Options{}); });
    expect_out(cov, entry, "float label NaN", Status::label_out_of_range, [&](float* out, std::size_t n) {
      return Kind::losses(view(d.float_labels.data(), {2}), pred.view(p2), out, n, Options{});
    });
  }
  for (auto& [what, o] : invalid_options<Options>()) bad_pred(what, Status::invalid_option, p2, o);
  if constexpr (Codec::kQuantized) {
    for (auto& [what, scale, zp] : Codec::invalid_parameters())
      expect_out(cov, entry, what, Status::invalid_option,
                 [&](float* out, std::size_t n) { return Kind::losses(t2, pred.view(p2, scale, zp), out, n, Options{}); });
  }
  // NanPolicy::reject: out holds the losses, the non-finite one included.
  Options reject;
  reject.nan_policy = xent::NanPolicy::reject;
  reject.from_logits = kInfOnlyAsLogits<Kind, Codec>;
  std::vector<float> out(Data::kRows, 12345.0f);
  const Shape p600{Data::kRows, 3};
  const Status got = Kind::losses(Kind::truth(d, Kind::truth_shape(p600)), pred_nan.view(p600), out.data(), out.size(), reject);
  cov.record(entry, "NanPolicy::reject, a NaN prediction in row 500", got, Status::non_finite_input);
  CHECK(std::isnan(out[500]));
  CHECK(std::isfinite(out[499]));
  CHECK(std::isfinite(out[501]));
}

// merge_state, serialize, deserialize: the same for every prediction type.
template <class Kind>
void state_rows(Coverage& cov, const Data& d) {
  using M = typename Kind::template Metric<4>;
  const std::string k = Kind::kName;
  const std::string merge = k + "::merge_state", ser = k + "::serialize", de = k + "::deserialize";
  cov.declare(merge, {Status::incompatible_state});
  cov.declare(ser, {Status::buffer_too_small, Status::null_data});
  cov.declare(de, {Status::null_data, Status::corrupt_state, Status::incompatible_state});
  M m = primed<Kind, M>(d);
  typename Kind::Options logits;
  logits.from_logits = true;
  const M other = primed<Kind, M>(d, logits);
  expect(cov, merge, "other from_logits", Status::incompatible_state, m, [&] { return m.merge_state(other); });
  typename Kind::Options negative_zero;
  negative_zero.label_smoothing = -0.0f;  // valid, but not the same bits as 0
  const M nz = primed<Kind, M>(d, negative_zero);
  expect(cov, merge, "other label_smoothing -0.0", Status::incompatible_state, m, [&] { return m.merge_state(nz); });

  // serialize: a short buffer is untouched; a null one is refused.
  std::vector<unsigned char> buffer(M::serialized_size, 0xA5);
  expect(cov, ser, "capacity one byte short", Status::buffer_too_small, m,
         [&] { return m.serialize(buffer.data(), buffer.size() - 1); });
  expect(cov, ser, "capacity 0, out null", Status::buffer_too_small, m, [&] { return m.serialize(nullptr, 0); });
  expect(cov, ser, "out null", Status::null_data, m, [&] { return m.serialize(nullptr, M::serialized_size); });
  CHECK(buffer == std::vector<unsigned char>(M::serialized_size, 0xA5));

  // deserialize: bytes of another metric with state, spoiled in each way.
  M source = primed<Kind, M>(d);
  REQUIRE(source.update_state(Kind::truth(d, Kind::truth_shape(Shape{2, 3})), view(d.probs.data() + 6, {2, 3})) ==
          Status::ok);
  const std::vector<unsigned char> good = matrix::serialized(source);
  expect(cov, de, "in null", Status::null_data, m, [&] { return m.deserialize(nullptr, good.size()); });
  expect(cov, de, "one byte short", Status::corrupt_state, m, [&] { return m.deserialize(good.data(), good.size() - 1); });
  expect(cov, de, "size 0", Status::corrupt_state, m, [&] { return m.deserialize(good.data(), 0); });
  for (std::size_t at : {std::size_t{0}, std::size_t{4}, std::size_t{33}, good.size() - 1}) {
    std::vector<unsigned char> bad = good;
    bad[at] ^= 0x40;
    expect(cov, de, "byte " + std::to_string(at) + " flipped", Status::corrupt_state, m,
           [&] { return m.deserialize(bad.data(), bad.size()); });
  }
  const auto other_bytes = matrix::serialized(other);
  expect(cov, de, "state of a from_logits metric", Status::incompatible_state, m,
         [&] { return m.deserialize(other_bytes.data(), other_bytes.size()); });
  using Small = typename Kind::template Metric<3>;
  const Small small = primed<Kind, Small>(d);
  const auto small_bytes = matrix::serialized(small);
  expect(cov, de, "state of a metric of MaxClasses 3", Status::incompatible_state, m,
         [&] { return m.deserialize(small_bytes.data(), small_bytes.size()); });
  using OtherKind = std::conditional_t<Kind::kSparse, xent::CategoricalCrossentropy<4>, xent::SparseCategoricalCrossentropy<4>>;
  const auto kind_bytes = matrix::serialized(OtherKind{});
  expect(cov, de, "state of the other metric", Status::incompatible_state, m,
         [&] { return m.deserialize(kind_bytes.data(), kind_bytes.size()); });
}

template <class... Codecs>
void typed_rows(Coverage& cov, const Data& d, TypeList<Codecs...>) {
  (update_row<SparseKind, Codecs, false>(cov, d), ...);
  (update_row<SparseKind, Codecs, true>(cov, d), ...);
  (update_row<CategoricalKind, Codecs, false>(cov, d), ...);
  (update_row<CategoricalKind, Codecs, true>(cov, d), ...);
  (functional_row<SparseKind, Codecs>(cov, d), ...);
  (functional_row<CategoricalKind, Codecs>(cov, d), ...);
}

}  // namespace

TEST_CASE("bad-input matrix: every entry point x every Status it can return, nothing changed by a failure") {
  const Data d;
  Coverage cpp, c;
  typed_rows(cpp, d, PredTypes{});
  state_rows<SparseKind>(cpp, d);
  state_rows<CategoricalKind>(cpp, d);
  const std::size_t c_pred_types = matrix::c_api_rows(c);
  cpp.check_complete();
  c.check_complete();
  const std::size_t cells = cpp.cells(cpp.declared) + c.cells(c.declared);
  const std::size_t covered = cpp.cells(cpp.provoked) + c.cells(c.provoked);
  MESSAGE("bad-input matrix: " << covered << " of " << cells << " entry point x Status cells provoked ("
                               << cpp.cells(cpp.provoked) << " C++ over " << cpp.declared.size() << " entry points, "
                               << c.cells(c.provoked) << " C over " << c.declared.size() << "), "
                               << cpp.calls + c.calls << " failing calls");
  CHECK(covered == cells);
  // 47 cells per prediction type (8 + 8 sparse updates, 7 + 7 categorical, 9 + 8 functional), 12 for
  // merge/serialize/deserialize of both metrics; the C API: 30 per prediction dtype and 9 others.
  CHECK(cpp.cells(cpp.declared) == 47 * PredTypes::size + 12);
  CHECK(c.cells(c.declared) == 30 * c_pred_types + 9);
}
