// The real data in data/: a logistic-regression model on held-out handwritten digits (897 rows,
// 10 classes), against data/digits_reference.json (scikit-learn log_loss and PyTorch
// cross_entropy in float64, computed outside this project). Every combination, 1e-6 relative.
#include <doctest/doctest.h>

#if __has_include("npy.hpp")
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "metric_reference.hpp"
#include "metric_test_util.hpp"
#include "npy.hpp"

using xent::Status;
using xent::view;

namespace {

std::string data_path(const char* name) { return std::string(XENT_DATA_DIR) + "/" + name; }

// A whole .npy file copied out (so alignment never matters) with its shape.
template <class T>
struct Loaded {
  std::vector<T> values;
  xent::Shape shape;
};

template <class T>
Loaded<T> load(const char* name, xent::npy::DType want) {
  Loaded<T> out;
  std::vector<unsigned char> bytes;
  xent::npy::Array array;
  xent::npy::Error error;
  const std::string path = data_path(name);
  const bool ok = xent::npy::load_npy(path.c_str(), bytes, array, error);
  INFO(path << ": " << error.text);
  REQUIRE(ok);
  REQUIRE(array.header.dtype == want);
  REQUIRE(xent::npy::dtype_size(want) == sizeof(T));
  out.values.resize(array.header.count);
  std::memcpy(out.values.data(), array.data, array.header.count * sizeof(T));
  out.shape = xent::Shape::from(array.header.shape, array.header.rank);
  return out;
}

// A whole file of data/ as bytes.
std::string read_file(const char* name) {
  const std::string path = data_path(name);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

// A tiny parse of `"key": number` from the reference json.
double reference(const char* key) {
  const std::string text = read_file("digits_reference.json");
  const std::string quoted = std::string("\"") + key + "\"";
  const std::size_t at = text.find(quoted);
  REQUIRE(at != std::string::npos);
  const std::size_t colon = text.find(':', at + quoted.size());
  REQUIRE(colon != std::string::npos);
  return std::strtod(text.c_str() + colon + 1, nullptr);
}

struct Digits {
  Loaded<std::int64_t> labels = load<std::int64_t>("digits_labels.npy", xent::npy::DType::i8);
  Loaded<float> probs = load<float>("digits_probs.npy", xent::npy::DType::f4);
  Loaded<float> logits = load<float>("digits_logits.npy", xent::npy::DType::f4);
  Loaded<float> onehot = load<float>("digits_onehot.npy", xent::npy::DType::f4);
  Loaded<float> weights = load<float>("digits_weights.npy", xent::npy::DType::f4);
  Loaded<xent::float16> probs16 = load<xent::float16>("digits_probs_f16.npy", xent::npy::DType::f2);
  Loaded<xent::float16> logits16 = load<xent::float16>("digits_logits_f16.npy", xent::npy::DType::f2);
};

template <class P>
double sparse_result(const Digits& d, const Loaded<P>& pred, bool logits, bool weighted) {
  xent::SparseOptions o;
  o.from_logits = logits;
  xent::SparseCategoricalCrossentropy<> m(o);
  const auto lv = view(d.labels.values.data(), d.labels.shape);
  const auto pv = view(pred.values.data(), pred.shape);
  const Status s = weighted ? m.update_state(lv, pv, view(d.weights.values.data(), d.weights.shape))
                            : m.update_state(lv, pv);
  REQUIRE(s == Status::ok);
  double count = 897.0;
  if (weighted) {
    count = 0.0;
    for (float w : d.weights.values) count += static_cast<double>(w);
  }
  CHECK(std::fabs(m.count() - count) <= 1e-12 * count);
  return static_cast<double>(m.result());
}

}  // namespace

TEST_CASE("digits: every combination of digits_reference.json within 1e-6 relative") {
  const Digits d;
  REQUIRE(d.labels.values.size() == 897);
  REQUIRE(d.probs.shape == xent::Shape({897, 10}));
  struct Row {
    const char* key;
    double got;
  };
  const Row rows[] = {
      {"sparse_probs", sparse_result(d, d.probs, false, false)},
      {"sparse_probs_weighted", sparse_result(d, d.probs, false, true)},
      {"sparse_logits", sparse_result(d, d.logits, true, false)},
      {"sparse_logits_weighted", sparse_result(d, d.logits, true, true)},
      {"sparse_probs_f16", sparse_result(d, d.probs16, false, false)},
      {"sparse_logits_f16", sparse_result(d, d.logits16, true, false)},
  };
  for (const Row& r : rows) {
    const double want = reference(r.key);
    INFO(r.key << ": got " << r.got << " want " << want);
    CHECK(mt::rel_err(r.got, want) <= 1e-6);
  }

  xent::CategoricalOptions co;
  co.from_logits = true;
  co.label_smoothing = 0.1f;
  xent::CategoricalCrossentropy<> c(co);
  REQUIRE(c.update_state(view(d.onehot.values.data(), d.onehot.shape), view(d.logits.values.data(), d.logits.shape)) ==
          Status::ok);
  const double want = reference("categorical_logits_label_smoothing_0.1");
  INFO("categorical ls 0.1: got " << c.result() << " want " << want);
  CHECK(mt::rel_err(static_cast<double>(c.result()), want) <= 1e-6);

  // One-hot labels and the sparse labels describe the same rows: categorical from logits without
  // smoothing equals sparse from logits.
  xent::CategoricalOptions plain;
  plain.from_logits = true;
  xent::CategoricalCrossentropy<> c0(plain);
  REQUIRE(c0.update_state(view(d.onehot.values.data(), d.onehot.shape),
                          view(d.logits.values.data(), d.logits.shape)) == Status::ok);
  CHECK(mt::rel_err(static_cast<double>(c0.result()), reference("sparse_logits")) <= 1e-6);
}

TEST_CASE("digits: every per-row loss against the float64 reference, streamed in chunks") {
  const Digits d;
  // Per row, functional forms vs tests/metric_reference.hpp.
  std::vector<float> out(897);
  for (bool logits : {false, true}) {
    const auto& pred = logits ? d.logits : d.probs;
    xent::SparseOptions o;
    o.from_logits = logits;
    REQUIRE(xent::sparse_categorical_crossentropy(view(d.labels.values.data(), d.labels.shape),
                                                  view(pred.values.data(), pred.shape), out.data(), out.size(),
                                                  o) == Status::ok);
    for (std::size_t r = 0; r < 897; ++r) {
      const auto want = xref::sparse_row(pred.values.data() + 10 * r, 10, 1, d.labels.values[r], logits, 0.0f);
      if (std::fabs(static_cast<double>(out[r]) - want.value) > want.tol) {
        INFO("row " << r << " got " << out[r] << " want " << want.value);
        CHECK(false);
      }
    }
  }
  // Chunks of 100 rows give the one-shot result (the command line streams like this).
  xent::SparseCategoricalCrossentropy<> chunked;
  for (std::size_t begin = 0; begin < 897; begin += 100) {
    const std::size_t n = begin + 100 <= 897 ? 100 : 897 - begin;
    REQUIRE(chunked.update_state(view(d.labels.values.data() + begin, {n}),
                                 view(d.probs.values.data() + 10 * begin, {n, 10}),
                                 view(d.weights.values.data() + begin, {n})) == Status::ok);
  }
  CHECK(mt::rel_err(static_cast<double>(chunked.result()), reference("sparse_probs_weighted")) <= 1e-6);
}
#endif

// ---- the quantized digits outputs (data/digits_quantized.json) ------------------------------------
#if __has_include("npy.hpp")
namespace {

// `"key": number` inside the object of `file` in digits_quantized.json.
double quantized_reference(const char* file, const char* key) {
  const std::string text = read_file("digits_quantized.json");
  const std::size_t object = text.find(std::string("\"") + file + "\"");
  REQUIRE(object != std::string::npos);
  const std::string quoted = std::string("\"") + key + "\"";
  const std::size_t at = text.find(quoted, object);
  REQUIRE(at != std::string::npos);
  REQUIRE(at < text.find('}', object));  // within the file's own object
  return std::strtod(text.c_str() + text.find(':', at) + 1, nullptr);
}

// An int8 file: the project's .npy reader has no '|i1' (it reads predictions of the float types and
// labels); version 1.0 header, C order, checked against what we expect.
std::vector<std::int8_t> load_i8(const char* name, std::size_t rows, std::size_t cols) {
  const std::string bytes = read_file(name);
  REQUIRE(bytes.size() > 10);
  REQUIRE(bytes.compare(0, 8, "\x93NUMPY\x01\x00", 8) == 0);
  const std::size_t header = static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  const std::string dict = bytes.substr(10, header);
  CHECK(dict.find("'descr': '|i1'") != std::string::npos);
  CHECK(dict.find("'fortran_order': False") != std::string::npos);
  CHECK(dict.find("'shape': (" + std::to_string(rows) + ", " + std::to_string(cols) + ")") != std::string::npos);
  REQUIRE(bytes.size() == 10 + header + rows * cols);
  std::vector<std::int8_t> out(rows * cols);
  std::memcpy(out.data(), bytes.data() + 10 + header, out.size());
  return out;
}

}  // namespace

TEST_CASE("digits: the quantized outputs, sparse and sparse weighted within 1e-6 of digits_quantized.json") {
  const Digits d;
  const Loaded<std::uint8_t> probs_u8 = load<std::uint8_t>("digits_probs_u8.npy", xent::npy::DType::u1);
  REQUIRE(probs_u8.shape == xent::Shape({897, 10}));
  const char* files[] = {"digits_logits_i8.npy", "digits_probs_i8.npy", "digits_probs_u8.npy", "digits_log_softmax_i8.npy"};
  for (const char* file : files) {
    const bool u8 = std::string(file) == "digits_probs_u8.npy";
    const std::vector<std::int8_t> i8 = u8 ? std::vector<std::int8_t>() : load_i8(file, 897, 10);
    const auto scale = static_cast<float>(quantized_reference(file, "scale"));
    const auto zp = static_cast<std::int32_t>(quantized_reference(file, "zero_point"));
    xent::SparseOptions o;
    o.from_logits = std::string(file).find("probs") == std::string::npos;  // logits and log_softmax
    for (bool weighted : {false, true}) {
      xent::SparseCategoricalCrossentropy<> m(o);
      const auto lv = view(d.labels.values.data(), d.labels.shape);
      const auto wv = view(d.weights.values.data(), d.weights.shape);
      Status s = Status::ok;
      if (u8) {
        const auto pv = xent::quantized(probs_u8.values.data(), probs_u8.shape, scale, zp);
        s = weighted ? m.update_state(lv, pv, wv) : m.update_state(lv, pv);
      } else {
        const auto pv = xent::quantized(i8.data(), {897, 10}, scale, zp);
        s = weighted ? m.update_state(lv, pv, wv) : m.update_state(lv, pv);
      }
      REQUIRE(s == Status::ok);
      const double want = quantized_reference(file, weighted ? "sparse_weighted" : "sparse");
      INFO(file << (weighted ? " weighted" : "") << ": got " << m.result() << " want " << want);
      CHECK(mt::rel_err(static_cast<double>(m.result()), want) <= 1e-6);
    }
  }
}
#endif
