// The bad-input matrix's C rows (see test_bad_input_matrix.cpp): every xent_* function that returns
// a status x every status it can return, with the metric's serialized bytes and its whole storage
// compared before and after each failing call. Updates run once per prediction dtype (kPredTypes),
// the quantized ones also with the scales and zero points the C API refuses.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bad_input_matrix.hpp"
#include "xent/xent.h"

using matrix::Coverage;
using matrix::kInf;
using matrix::kNaN;
using matrix::kSizeMax;
using xent::Status;

namespace {

constexpr xent_dtype kPredTypes[] = {XENT_F32, XENT_F16, XENT_BF16, XENT_QI8, XENT_QU8};
constexpr int kNoDtype = 9;  // a dtype code with no enumerator, in the enum's range

const char* dtype_name(xent_dtype t) {
  switch (t) {
    case XENT_F32: return "F32";
    case XENT_F16: return "F16";
    case XENT_BF16: return "BF16";
    case XENT_QI8: return "QI8";
    case XENT_QU8: return "QU8";
    default: return "?";
  }
}

// Float values stored as a prediction dtype's bytes.
std::vector<std::uint16_t> halves(xent_dtype t, const std::vector<float>& v) {
  std::vector<std::uint16_t> out;
  for (float x : v) out.push_back(t == XENT_F16 ? xent::to_float16(x).bits : xent::to_bfloat16(x).bits);
  return out;
}

// Quantized dtypes store round(100 p) with tensor()'s scale 1 and zero point 0: the same
// probabilities once the rows are normalised. A NaN is stored as 127, to be read with scale 3e38
// (the values overflow to inf, so the update meets non-finite predictions).
struct CPred {
  xent_dtype dtype;
  std::vector<float> f32;
  std::vector<std::uint16_t> bits;
  std::vector<std::uint8_t> bytes;
  CPred(xent_dtype t, const std::vector<float>& v) : dtype(t), f32(v) {
    if (quantized()) {
      for (float x : v) bytes.push_back(static_cast<std::uint8_t>(std::isnan(x) ? 127 : std::lround(x * 100.0f)));
    } else if (t != XENT_F32) {
      bits = halves(t, v);
    }
  }
  bool quantized() const { return dtype == XENT_QI8 || dtype == XENT_QU8; }
  const void* data() const {
    if (quantized()) return bytes.data();
    return dtype == XENT_F32 ? static_cast<const void*>(f32.data()) : bits.data();
  }
};

// A tensor whose dtype field holds a code with no enumerator (set through its bytes, as C stores it).
xent_tensor with_code(xent_tensor x, int code) {
  static_assert(sizeof x.dtype <= sizeof code, "an int holds every dtype code");
  std::memcpy(&x.dtype, &code, sizeof x.dtype);
  return x;
}

xent_tensor tensor(const void* data, xent_dtype t, std::initializer_list<std::size_t> dims) {
  xent_tensor x{};
  x.data = data;
  x.dtype = t;
  x.scale = 1.0f;  // read for XENT_QI8 / XENT_QU8 only
  x.rank = dims.size();
  std::size_t i = 0;
  for (std::size_t d : dims) x.dims[i++] = d;
  return x;
}

// A metric's state: its serialized bytes (or the status of trying) and its whole storage.
struct CState {
  xent_status status;
  std::vector<unsigned char> bytes, storage;
  bool operator==(const CState& o) const { return status == o.status && bytes == o.bytes && storage == o.storage; }
};

CState state_of(const xent_metric& m) {
  CState s{XENT_OK, std::vector<unsigned char>(xent_metric_serialized_size()), {}};
  s.status = xent_metric_serialize(&m, s.bytes.data(), s.bytes.size());
  s.storage.assign(m.storage.bytes, m.storage.bytes + sizeof m.storage.bytes);
  return s;
}

template <class Call>
void expect_c(Coverage& cov, const std::string& entry, const std::string& what, Status want, const xent_metric& m,
              Call call) {
  const CState before = state_of(m);
  cov.record(entry, what, static_cast<Status>(call()), want);
  INFO(entry << ": " << what);
  CHECK(state_of(m) == before);
}

// The worked example's two rows of three classes, padded so no shape below reads out of bounds.
struct Inputs {
  std::vector<float> probs, probs_nan, onehot, weights, weights_inf, float_labels;
  std::vector<std::int64_t> labels;
  Inputs() : probs(64, 0.25f), onehot(64, 0.0f), weights(64, 0.5f), float_labels{1, kNaN}, labels(64, 0) {
    const float p[6] = {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f};
    for (int i = 0; i < 6; ++i) probs[static_cast<std::size_t>(i)] = p[i];
    onehot[1] = onehot[5] = 1.0f;
    labels[0] = 1;
    labels[1] = 2;
    probs_nan = probs;
    probs_nan[4] = kNaN;
    weights_inf = weights;
    weights_inf[0] = kInf;
  }
};

xent_metric primed(xent_kind kind, const Inputs& in, const xent_options* o = nullptr) {
  xent_metric m;
  REQUIRE(xent_metric_init(&m, kind, o, nullptr) == XENT_OK);
  const xent_tensor t = kind == XENT_SPARSE ? tensor(in.labels.data(), XENT_I64, {2}) : tensor(in.onehot.data(), XENT_F32, {2, 3});
  const xent_tensor p = tensor(in.probs.data(), XENT_F32, {2, 3});
  REQUIRE(xent_metric_update(&m, &t, &p, nullptr) == XENT_OK);
  return m;
}

void update_row(Coverage& cov, const Inputs& in, xent_kind kind, bool weighted, xent_dtype dtype) {
  const bool sparse = kind == XENT_SPARSE;
  const std::string entry = std::string("xent_metric_update(") + (sparse ? "sparse" : "categorical") +
                            (weighted ? ", sample_weight" : ", NULL") + ") <" + dtype_name(dtype) + ">";
  cov.declare(entry, matrix::kUpdate, sparse);
  const CPred pred(dtype, in.probs), pred_nan(dtype, in.probs_nan);
  // y_true that fits a y_pred of dims d (rank 2): labels of d[0], or a one-hot of d.
  const auto truth = [&](std::size_t rows, std::size_t k) {
    return sparse ? tensor(in.labels.data(), XENT_I64, {rows}) : tensor(in.onehot.data(), XENT_F32, {rows, k});
  };
  const auto weights = [&](std::size_t rows) { return tensor(in.weights.data(), XENT_F32, {rows}); };
  const xent_tensor t2 = truth(2, 3), p2 = tensor(pred.data(), dtype, {2, 3});
  xent_metric m = primed(kind, in);
  // The call under test on metric x (weights of one per row when weighted).
  const auto call = [&](xent_metric* x, const xent_tensor* t, const xent_tensor* p) {
    const xent_tensor w = weights(p != nullptr && p->rank > 0 && p->rank <= XENT_MAX_RANK ? p->dims[0] : 2);
    return xent_metric_update(x, t, p, weighted ? &w : nullptr);
  };
  const auto bad = [&](const std::string& what, Status want, const xent_tensor& t, const xent_tensor& p) {
    expect_c(cov, entry, what, want, m, [&] { return call(&m, &t, &p); });
  };

  xent_metric blank;
  std::memset(&blank, 0, sizeof blank);
  expect_c(cov, entry, "a metric never initialised", Status::null_data, blank, [&] { return call(&blank, &t2, &p2); });
  cov.record(entry, "metric NULL", static_cast<Status>(call(nullptr, &t2, &p2)), Status::null_data);
  expect_c(cov, entry, "y_true NULL", Status::null_data, m, [&] { return call(&m, nullptr, &p2); });
  expect_c(cov, entry, "y_pred NULL", Status::null_data, m, [&] { return call(&m, &t2, nullptr); });
  bad("y_pred data NULL", Status::null_data, t2, tensor(nullptr, dtype, {2, 3}));
  xent_tensor t_null = t2;
  t_null.data = nullptr;
  bad("y_true data NULL", Status::null_data, t_null, p2);
  bad("y_pred of rank 0", Status::rank_out_of_range, t2, tensor(pred.data(), dtype, {}));
  xent_tensor deep = p2;
  deep.rank = 9;
  bad("y_pred of rank 9", Status::rank_out_of_range, t2, deep);
  deep.rank = kSizeMax;
  bad("y_pred of rank SIZE_MAX", Status::rank_out_of_range, t2, deep);
  xent_tensor deep_truth = t2;
  deep_truth.rank = 9;
  bad("y_true of rank 9", Status::rank_out_of_range, deep_truth, p2);
  bad("y_true one row short", Status::shape_mismatch, truth(1, 3), p2);
  bad("y_pred whose element count overflows size_t", Status::shape_mismatch, truth(kSizeMax / 2, 3),
      tensor(pred.data(), dtype, {kSizeMax / 2, 4, 3}));
  const std::size_t huge_k = std::size_t{1} << 31;
  bad("2^31 classes (no rows)", Status::too_many_classes, truth(0, huge_k), tensor(pred.data(), dtype, {0, huge_k}));
  bad("a class axis of length 0", Status::no_classes, truth(2, 0), tensor(pred.data(), dtype, {2, 0}));
  if (sparse) {
    const std::int32_t high[2] = {1, 3};
    bad("label 3 of 3 classes", Status::label_out_of_range, tensor(high, XENT_I32, {2}), p2);
    bad("float label NaN", Status::label_out_of_range, tensor(in.float_labels.data(), XENT_F32, {2}), p2);
  }
  bad("y_pred dtype I32", Status::invalid_option, t2, tensor(pred.data(), XENT_I32, {2, 3}));
  bad("y_pred dtype 9", Status::invalid_option, t2, with_code(p2, kNoDtype));
  if (pred.quantized()) {
    const std::int32_t lo = dtype == XENT_QI8 ? -128 : 0;
    const struct { const char* what; float scale; std::int32_t zero_point; } params[] = {
        {"scale 0", 0.0f, 0}, {"scale -1", -1.0f, 0}, {"scale NaN", kNaN, 0}, {"scale inf", kInf, 0},
        {"zero_point one below the type", 1.0f, lo - 1}, {"zero_point one above the type", 1.0f, lo + 256}};
    for (const auto& q : params) {
      xent_tensor p = p2;
      p.scale = q.scale;
      p.zero_point = q.zero_point;
      bad(q.what, Status::invalid_option, t2, p);
    }
  }
  xent_tensor wrong_truth = t2;
  wrong_truth.dtype = sparse ? XENT_F16 : XENT_I64;
  bad(sparse ? "labels dtype F16" : "y_true dtype I64", Status::invalid_option, wrong_truth, p2);
  for (const float ls : {kNaN, -1.0f, 2.0f}) {
    xent_options o = xent_default_options();
    o.label_smoothing = ls;
    xent_metric x;
    REQUIRE(xent_metric_init(&x, kind, &o, nullptr) == XENT_OK);  // reported by the first update, as in C++
    expect_c(cov, entry, "label_smoothing " + std::to_string(ls), Status::invalid_option, x,
             [&] { return call(&x, &t2, &p2); });
  }
  xent_options axis = xent_default_options();
  axis.axis = 2;
  xent_metric xa;
  REQUIRE(xent_metric_init(&xa, kind, &axis, nullptr) == XENT_OK);
  expect_c(cov, entry, "axis 2 of a rank-2 y_pred", Status::invalid_option, xa, [&] { return call(&xa, &t2, &p2); });
  xent_options reject = xent_default_options();
  reject.nan_reject = 1;
  reject.from_logits = sparse && pred.quantized() ? 1 : 0;  // clipped, an inf sparse probability is finite
  xent_metric mr = primed(kind, in, &reject);
  xent_tensor p_nan = tensor(pred_nan.data(), dtype, {2, 3});
  if (pred.quantized()) p_nan.scale = 3e38f;
  expect_c(cov, entry, "nan_reject, a NaN prediction", Status::non_finite_input, mr,
           [&] { return call(&mr, &t2, &p_nan); });
  if (weighted) {
    const xent_tensor w_null = tensor(nullptr, XENT_F32, {2}), w_deep = tensor(in.weights.data(), XENT_F32, {2});
    xent_tensor w_max = w_deep;
    w_max.rank = kSizeMax;
    const xent_tensor w_short = weights(3), w_int = tensor(in.weights.data(), XENT_U8, {2});
    const xent_tensor w_inf = tensor(in.weights_inf.data(), XENT_F32, {2});
    expect_c(cov, entry, "sample_weight data NULL", Status::null_data, m, [&] { return xent_metric_update(&m, &t2, &p2, &w_null); });
    expect_c(cov, entry, "sample_weight of rank SIZE_MAX", Status::rank_out_of_range, m,
             [&] { return xent_metric_update(&m, &t2, &p2, &w_max); });
    expect_c(cov, entry, "sample_weight of 3 rows", Status::shape_mismatch, m,
             [&] { return xent_metric_update(&m, &t2, &p2, &w_short); });
    expect_c(cov, entry, "sample_weight dtype U8", Status::invalid_option, m,
             [&] { return xent_metric_update(&m, &t2, &p2, &w_int); });
    expect_c(cov, entry, "nan_reject, a weight of inf", Status::non_finite_input, mr,
             [&] { return xent_metric_update(&mr, &t2, &p2, &w_inf); });
  }
}

void state_rows(Coverage& cov, const Inputs& in) {
  cov.declare("xent_metric_init", {Status::null_data, Status::invalid_option});
  cov.declare("xent_metric_merge", {Status::null_data, Status::incompatible_state});
  cov.declare("xent_metric_serialize", {Status::null_data, Status::buffer_too_small});
  cov.declare("xent_metric_deserialize", {Status::null_data, Status::corrupt_state, Status::incompatible_state});

  cov.record("xent_metric_init", "metric NULL", static_cast<Status>(xent_metric_init(nullptr, XENT_SPARSE, nullptr, nullptr)),
             Status::null_data);
  xent_metric m = primed(XENT_SPARSE, in);
  // Codes with no enumerator inside the enum's range (0 .. 3). Codes beyond it, which C may pass as
  // well, are the C API fuzzer's (fuzz/): a C++ test cannot hold them in the enum without UB.
  for (const int kind : {0, 3}) {
    xent_kind k;
    std::memcpy(&k, &kind, sizeof k);
    expect_c(cov, "xent_metric_init", "kind " + std::to_string(kind), Status::invalid_option, m,
             [&] { return xent_metric_init(&m, k, nullptr, nullptr); });
  }

  xent_metric blank;
  std::memset(&blank, 0, sizeof blank);
  const xent_metric categorical = primed(XENT_CATEGORICAL, in);
  xent_options logits = xent_default_options();
  logits.from_logits = 1;
  const xent_metric sparse_logits = primed(XENT_SPARSE, in, &logits);
  const std::string merge = "xent_metric_merge";
  cov.record(merge, "metric NULL", static_cast<Status>(xent_metric_merge(nullptr, &m)), Status::null_data);
  expect_c(cov, merge, "other NULL", Status::null_data, m, [&] { return xent_metric_merge(&m, nullptr); });
  expect_c(cov, merge, "other never initialised", Status::null_data, m, [&] { return xent_metric_merge(&m, &blank); });
  expect_c(cov, merge, "metric never initialised", Status::null_data, blank, [&] { return xent_metric_merge(&blank, &m); });
  expect_c(cov, merge, "other of the other kind", Status::incompatible_state, m,
           [&] { return xent_metric_merge(&m, &categorical); });
  expect_c(cov, merge, "other from_logits", Status::incompatible_state, m,
           [&] { return xent_metric_merge(&m, &sparse_logits); });

  const std::string ser = "xent_metric_serialize";
  const std::size_t size = xent_metric_serialized_size();
  std::vector<unsigned char> buffer(size, 0xA5);
  cov.record(ser, "metric NULL", static_cast<Status>(xent_metric_serialize(nullptr, buffer.data(), size)), Status::null_data);
  expect_c(cov, ser, "metric never initialised", Status::null_data, blank,
           [&] { return xent_metric_serialize(&blank, buffer.data(), size); });
  expect_c(cov, ser, "out NULL", Status::null_data, m, [&] { return xent_metric_serialize(&m, nullptr, size); });
  expect_c(cov, ser, "capacity one byte short", Status::buffer_too_small, m,
           [&] { return xent_metric_serialize(&m, buffer.data(), size - 1); });
  CHECK(buffer == std::vector<unsigned char>(size, 0xA5));

  const std::string de = "xent_metric_deserialize";
  xent_metric source = primed(XENT_SPARSE, in);
  REQUIRE(xent_metric_merge(&source, &m) == XENT_OK);  // a state unlike m's
  std::vector<unsigned char> good(size), spoiled;
  REQUIRE(xent_metric_serialize(&source, good.data(), size) == XENT_OK);
  cov.record(de, "metric NULL", static_cast<Status>(xent_metric_deserialize(nullptr, good.data(), size)), Status::null_data);
  expect_c(cov, de, "in NULL", Status::null_data, m, [&] { return xent_metric_deserialize(&m, nullptr, size); });
  expect_c(cov, de, "one byte short", Status::corrupt_state, m, [&] { return xent_metric_deserialize(&m, good.data(), size - 1); });
  spoiled = good;
  spoiled[40] ^= 1;  // the count's low bit: only the CRC can tell
  expect_c(cov, de, "a bit of the count flipped", Status::corrupt_state, m,
           [&] { return xent_metric_deserialize(&m, spoiled.data(), size); });
  std::vector<unsigned char> other(size);
  REQUIRE(xent_metric_serialize(&categorical, other.data(), size) == XENT_OK);
  expect_c(cov, de, "state of the other kind", Status::incompatible_state, m,
           [&] { return xent_metric_deserialize(&m, other.data(), size); });
  REQUIRE(xent_metric_serialize(&sparse_logits, other.data(), size) == XENT_OK);
  expect_c(cov, de, "state of a from_logits metric", Status::incompatible_state, m,
           [&] { return xent_metric_deserialize(&m, other.data(), size); });
}

}  // namespace

namespace matrix {

std::size_t c_api_rows(Coverage& cov) {
  const Inputs in;
  for (const xent_dtype t : kPredTypes)
    for (const xent_kind kind : {XENT_SPARSE, XENT_CATEGORICAL})
      for (const bool weighted : {false, true}) update_row(cov, in, kind, weighted, t);
  state_rows(cov, in);
  return sizeof kPredTypes / sizeof kPredTypes[0];
}

}  // namespace matrix
