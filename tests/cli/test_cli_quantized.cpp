// The command line on quantized int8 / uint8 predictions (|i1, |u1 with --y-pred-scale and
// --y-pred-zero-point): the digits model's TFLite outputs against the float64 references of
// data/digits_quantized.json, random quantized files against float64 evaluations written here on
// the dequantized values float32(scale * (q - zero_point)), the usage errors, and --json.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "npy.hpp"
#include "npy_writer.hpp"

using xent_test::check_usage_error;
using xent_test::lines;
using xent_test::path_of;
using xent_test::Rng;
using xent_test::Run;
using xent_test::run;
using xent_test::write_npy;

namespace {

std::string data_path(const std::string& name) { return std::string(XENT_DATA_DIR) + "/" + name; }

// a followed by b.
std::vector<std::string> joined(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string read_text(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, path);
  return xent_test::slurp(f);
}

// `"key": value` inside the object of `file` in digits_quantized.json, as text.
std::string quantized_field(const std::string& file, const std::string& key) {
  static const std::string text = read_text(data_path("digits_quantized.json"));
  const std::size_t object = text.find("\"" + file + "\"");
  REQUIRE_MESSAGE(object != std::string::npos, file);
  const std::size_t at = text.find("\"" + key + "\"", object);
  REQUIRE_MESSAGE(at != std::string::npos, key);
  REQUIRE(at < text.find('}', object));  // within the file's own object
  std::size_t begin = text.find(':', at) + 1;
  while (text[begin] == ' ') ++begin;
  const std::size_t end = text.find_first_of(",}\n", begin);
  return text.substr(begin, end - begin);
}

double quantized_number(const std::string& file, const std::string& key) {
  return std::strtod(quantized_field(file, key).c_str(), nullptr);
}

double json_value(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const std::size_t at = json.find(k);
  REQUIRE_MESSAGE(at != std::string::npos, key);
  return std::strtod(json.c_str() + at + k.size(), nullptr);
}

double ok_result(const Run& r) {
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  CHECK(lines(r.out) == 1);
  return std::strtod(r.out.c_str(), nullptr);
}

void check_rel(double got, double want, double tol = 1e-6) {
  CAPTURE(got);
  CAPTURE(want);
  CHECK(std::fabs(got - want) <= tol * std::fabs(want));
}

Run eval(const std::string& metric, const std::string& t, const std::string& p, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"eval", "--metric", metric, "--y-true", t, "--y-pred", p};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args);
}

// ---- float64 references (SEMANTICS.md) on the dequantized float32 values.
constexpr float kEps = 1e-7f;
const float kOneMinusEps = 1.0f - kEps;
double clip(double p) { return std::min(std::max(p, static_cast<double>(kEps)), static_cast<double>(kOneMinusEps)); }

// TFLite's dequantization: q - zero_point exact, one float32 multiply.
float dequantize(int q, float scale, int zero_point) { return scale * static_cast<float>(q - zero_point); }

double sparse_loss(const std::vector<float>& row, std::int64_t label, bool logits) {
  if (logits) {
    double m = -INFINITY, s = 0;
    for (float v : row) m = std::max(m, static_cast<double>(v));
    for (float v : row) s += std::exp(static_cast<double>(v) - m);
    return std::log(s) - (static_cast<double>(row[static_cast<std::size_t>(label)]) - m);
  }
  double s = 0;
  for (float v : row) s += clip(v);
  return std::log(s) - std::log(clip(row[static_cast<std::size_t>(label)]));
}

double categorical_loss(const std::vector<float>& row, const float* t, bool logits, float ls) {
  const std::size_t k = row.size();
  std::vector<double> tt(k);
  for (std::size_t j = 0; j < k; ++j)
    tt[j] = ls > 0 ? static_cast<double>(t[j] * (1.0f - ls) + ls / static_cast<float>(k)) : t[j];
  double loss = 0;
  if (logits) {
    double m = -INFINITY, s = 0;
    for (float v : row) m = std::max(m, static_cast<double>(v));
    for (float v : row) s += std::exp(static_cast<double>(v) - m);
    for (std::size_t j = 0; j < k; ++j) loss += tt[j] * (std::log(s) - (static_cast<double>(row[j]) - m));
    return loss;
  }
  double s = 0;
  for (float v : row) s += v;
  for (std::size_t j = 0; j < k; ++j) loss -= tt[j] * std::log(clip(row[j] / s));
  return loss;
}

// A quantized array held as ints (whatever its byte type), with its parameters.
struct Quantized {
  bool i8 = true;
  std::size_t rows = 0, classes = 0;
  std::vector<int> q;
  float scale = 1.0f;
  int zero_point = 0;
  std::vector<float> row(std::size_t r) const {
    std::vector<float> out(classes);
    for (std::size_t j = 0; j < classes; ++j) out[j] = dequantize(q[r * classes + j], scale, zero_point);
    return out;
  }
  std::vector<std::string> flags() const {
    char s[64];
    std::snprintf(s, sizeof s, "%.9g", static_cast<double>(scale));
    return {"--y-pred-scale", s, "--y-pred-zero-point", std::to_string(zero_point)};
  }
};

Quantized load_quantized(const std::string& name) {
  std::vector<unsigned char> bytes;
  xent::npy::Array a;
  xent::npy::Error e;
  REQUIRE_MESSAGE(xent::npy::load_npy(data_path(name).c_str(), bytes, a, e), e.text);
  REQUIRE(a.header.rank == 2);
  Quantized d;
  d.i8 = a.header.dtype == xent::npy::DType::i1;
  REQUIRE((d.i8 || a.header.dtype == xent::npy::DType::u1));
  d.rows = a.header.shape[0];
  d.classes = a.header.shape[1];
  for (std::size_t i = 0; i < a.header.count; ++i)
    d.q.push_back(d.i8 ? static_cast<int>(static_cast<std::int8_t>(a.data[i])) : static_cast<int>(a.data[i]));
  d.scale = static_cast<float>(quantized_number(name, "scale"));
  d.zero_point = static_cast<int>(quantized_number(name, "zero_point"));
  return d;
}

template <class T>
std::vector<T> load_values(const std::string& name) {
  std::vector<unsigned char> bytes;
  xent::npy::Array a;
  xent::npy::Error e;
  REQUIRE_MESSAGE(xent::npy::load_npy(data_path(name).c_str(), bytes, a, e), e.text);
  std::vector<T> out(a.header.count);
  std::memcpy(out.data(), a.data, out.size() * sizeof(T));
  return out;
}

// Writes q as |i1 or |u1 with the given shape.
bool write_quantized(const std::string& path, bool i8, std::vector<std::size_t> shape, const std::vector<int>& q) {
  if (i8) {
    std::vector<std::int8_t> b;
    for (int v : q) b.push_back(static_cast<std::int8_t>(v));
    return write_npy(path, "|i1", std::move(shape), b);
  }
  std::vector<std::uint8_t> b;
  for (int v : q) b.push_back(static_cast<std::uint8_t>(v));
  return write_npy(path, "|u1", std::move(shape), b);
}

}  // namespace

TEST_CASE("cli/quantized: the digits int8/uint8 outputs give digits_quantized.json's float64 references") {
  const std::string labels = data_path("digits_labels.npy"), onehot = data_path("digits_onehot.npy"),
                    weights = data_path("digits_weights.npy");
  const std::vector<std::int64_t> label_values = load_values<std::int64_t>("digits_labels.npy");
  const std::vector<float> onehot_values = load_values<float>("digits_onehot.npy");
  const char* files[] = {"digits_logits_i8.npy", "digits_probs_i8.npy", "digits_probs_u8.npy",
                         "digits_log_softmax_i8.npy"};
  for (const char* file : files) {
    CAPTURE(file);
    const Quantized d = load_quantized(file);
    REQUIRE(d.rows == 897);
    REQUIRE(d.classes == 10);
    const std::string p = data_path(file);
    const bool logits = quantized_field(file, "from_logits") == "true";
    std::vector<std::string> flags = d.flags();
    if (logits) flags.push_back("--from-logits");
    const auto with = [&](const std::vector<std::string>& extra) { return joined(flags, extra); };
    const double sparse = quantized_number(file, "sparse"), weighted = quantized_number(file, "sparse_weighted");
    check_rel(ok_result(eval("sparse", labels, p, flags)), sparse);
    check_rel(ok_result(eval("sparse", labels, p, with({"--sample-weight", weights}))), weighted);
    // Streamed in chunks of rows (the last one short): the same references.
    check_rel(ok_result(eval("sparse", labels, p, with({"--chunk-rows", "100"}))), sparse);
    check_rel(ok_result(eval("sparse", labels, p, with({"--chunk-rows", "7", "--sample-weight", weights}))), weighted);

    // Categorical with the one-hot labels. From logits it is the sparse loss exactly (the json's
    // reference); from probabilities Keras normalises then clips, which differs from the sparse
    // clip-then-normalise where a clipped class meets a row whose sum is not 1, so the reference is
    // computed here on the dequantized values.
    double categorical = 0;
    if (logits) {
      categorical = sparse;
    } else {
      double total = 0;
      for (std::size_t r = 0; r < d.rows; ++r)
        total += categorical_loss(d.row(r), &onehot_values[r * d.classes], false, 0.0f);
      categorical = total / static_cast<double>(d.rows);
    }
    check_rel(ok_result(eval("categorical", onehot, p, flags)), categorical);
    check_rel(ok_result(eval("categorical", onehot, p, with({"--chunk-rows", "64"}))), categorical);

    // The class axis first ([classes, rows], --axis 0): chunks gathered class by class, as bytes.
    std::vector<int> t(d.q.size());
    for (std::size_t r = 0; r < d.rows; ++r)
      for (std::size_t j = 0; j < d.classes; ++j) t[j * d.rows + r] = d.q[r * d.classes + j];
    const std::string pt = path_of(std::string("quantized_transposed_") + file);
    REQUIRE(write_quantized(pt, d.i8, {d.classes, d.rows}, t));
    check_rel(ok_result(eval("sparse", labels, pt, with({"--axis", "0", "--chunk-rows", "50"}))), sparse);
  }
  // The float64 references themselves agree with an evaluation here of the dequantized values.
  for (const char* file : files) {
    CAPTURE(file);
    const Quantized d = load_quantized(file);
    const bool logits = quantized_field(file, "from_logits") == "true";
    double total = 0;
    for (std::size_t r = 0; r < d.rows; ++r) total += sparse_loss(d.row(r), label_values[r], logits);
    check_rel(total / static_cast<double>(d.rows), quantized_number(file, "sparse"), 1e-7);
  }
}

TEST_CASE("cli/quantized: random int8/uint8 files against float64 evaluations, with the options") {
  Rng rng(1212);
  const std::size_t rows = 257, classes = 7;
  std::vector<std::int64_t> labels(rows);
  std::vector<float> soft(rows * classes), weights(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    labels[r] = static_cast<std::int64_t>(rng.below(classes));
    double s = 0;
    for (std::size_t j = 0; j < classes; ++j) s += soft[r * classes + j] = static_cast<float>(rng.uniform());
    for (std::size_t j = 0; j < classes; ++j) soft[r * classes + j] = static_cast<float>(soft[r * classes + j] / s);
    weights[r] = static_cast<float>(rng.uniform() * 2.0);
  }
  const std::string lp = path_of("quantized_random_labels.npy"), lp8 = path_of("quantized_random_labels_i1.npy"),
                    sp = path_of("quantized_random_soft.npy"), wp = path_of("quantized_random_weights.npy");
  REQUIRE(write_npy(lp, "<i8", {rows}, labels));
  std::vector<std::int8_t> labels8;
  for (std::int64_t l : labels) labels8.push_back(static_cast<std::int8_t>(l));
  REQUIRE(write_npy(lp8, "|i1", {rows}, labels8));
  REQUIRE(write_npy(sp, "<f4", {rows, classes}, soft));
  REQUIRE(write_npy(wp, "<f4", {rows}, weights));
  for (bool i8 : {true, false}) {
    for (bool logits : {true, false}) {
      CAPTURE(i8);
      CAPTURE(logits);
      Quantized d;
      d.i8 = i8;
      d.rows = rows;
      d.classes = classes;
      const int lo = i8 ? -128 : 0, hi = i8 ? 127 : 255;
      // Logits: any zero point; probabilities: the type's lowest (values >= 0, as a softmax output's).
      d.zero_point = logits ? lo + static_cast<int>(rng.below(256)) : lo;
      d.scale = logits ? static_cast<float>(0.01 + rng.uniform() * 0.1) : 1.0f / 256.0f;
      for (std::size_t i = 0; i < rows * classes; ++i) d.q.push_back(lo + static_cast<int>(rng.below(256)));
      d.q[3] = hi;  // the extremes of the type
      d.q[4] = lo;
      const std::string p = path_of(std::string("quantized_random_") + (i8 ? "i8" : "u8") + (logits ? "_logits" : "_probs") + ".npy");
      REQUIRE(write_quantized(p, i8, {rows, classes}, d.q));
      std::vector<std::string> flags = d.flags();
      if (logits) flags.push_back("--from-logits");
      const auto with = [&](const std::vector<std::string>& extra) { return joined(flags, extra); };
      double total = 0, weighted = 0, count_w = 0, ignored = 0, count_i = 0, smoothed = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        const std::vector<float> row = d.row(r);
        const double v = sparse_loss(row, labels[r], logits);
        total += v;
        weighted += v * weights[r];
        count_w += weights[r];
        if (labels[r] != 2) {
          ignored += v;
          count_i += 1;
        }
        smoothed += categorical_loss(row, &soft[r * classes], logits, 0.1f);
      }
      const double n = static_cast<double>(rows);
      check_rel(ok_result(eval("sparse", lp, p, with({"--chunk-rows", "16"}))), total / n);
      check_rel(ok_result(eval("sparse", lp8, p, flags)), total / n);  // int8 labels too
      check_rel(ok_result(eval("sparse", lp, p, with({"--sample-weight", wp}))), weighted / count_w);
      check_rel(ok_result(eval("sparse", lp, p, with({"--ignore-class", "2", "--nan", "reject"}))), ignored / count_i);
      check_rel(ok_result(eval("categorical", sp, p, with({"--label-smoothing", "0.1", "--chunk-rows", "10"}))),
                smoothed / n);
      // Per class: one line per class after the result.
      const Run pc = eval("sparse", lp, p, with({"--per-class"}));
      REQUIRE(pc.rc == 0);
      CHECK(lines(pc.out) == 1 + classes);
    }
  }
}

TEST_CASE("cli/quantized: usage errors exit 2 with one line and nothing on stdout") {
  const std::string labels = data_path("digits_labels.npy");
  const std::string i8 = data_path("digits_logits_i8.npy"), u8 = data_path("digits_probs_u8.npy"),
                    f32 = data_path("digits_logits.npy");
  // An 8-bit y_pred needs both parameters.
  check_usage_error(eval("sparse", labels, i8), "digits_logits_i8.npy holds 8-bit quantized values (|i1): give "
                                                "--y-pred-scale S and --y-pred-zero-point Z");
  check_usage_error(eval("sparse", labels, u8, {"--from-logits"}), "holds 8-bit quantized values (|u1)");
  check_usage_error(eval("sparse", labels, i8, {"--y-pred-scale", "0.03"}),
                    "--y-pred-scale and --y-pred-zero-point go together");
  check_usage_error(eval("sparse", labels, u8, {"--y-pred-zero-point", "0"}),
                    "--y-pred-scale and --y-pred-zero-point go together");
  // A float y_pred refuses them.
  check_usage_error(eval("sparse", labels, f32, {"--y-pred-scale", "0.03", "--y-pred-zero-point", "0"}),
                    "apply to an 8-bit y_pred (|i1, |u1), not to");
  check_usage_error(eval("sparse", labels, f32, {"--y-pred-scale", "0.03", "--y-pred-zero-point", "0"}), "<f4");
  // Bad scales: unparsable, non-finite, <= 0, or not a finite positive float32.
  for (const char* s : {"abc", "", "0.1x", " 0.1", "nan", "inf", "-inf", "0", "-0", "-0.5", "1e39", "1e-50"}) {
    CAPTURE(s);
    check_usage_error(eval("sparse", labels, i8, {"--y-pred-scale", s, "--y-pred-zero-point", "0"}),
                      std::string("--y-pred-scale needs a finite float32 number > 0, not '") + s + "'");
  }
  // Zero points: integers within the type's range.
  for (const char* z : {"x", "1.5", "", "99999999999999999999"}) {
    CAPTURE(z);
    check_usage_error(eval("sparse", labels, i8, {"--y-pred-scale", "0.03", "--y-pred-zero-point", z}),
                      "--y-pred-zero-point needs an integer");
  }
  check_usage_error(eval("sparse", labels, i8, {"--y-pred-scale", "0.03", "--y-pred-zero-point", "128"}),
                    "--y-pred-zero-point 128 is outside [-128, 127] for");
  check_usage_error(eval("sparse", labels, i8, {"--y-pred-scale", "0.03", "--y-pred-zero-point", "-129"}),
                    "--y-pred-zero-point -129 is outside [-128, 127]");
  check_usage_error(eval("sparse", labels, u8, {"--y-pred-scale", "0.03", "--y-pred-zero-point", "-1"}),
                    "--y-pred-zero-point -1 is outside [0, 255]");
  check_usage_error(eval("sparse", labels, u8, {"--y-pred-scale", "0.03", "--y-pred-zero-point", "256"}),
                    "--y-pred-zero-point 256 is outside [0, 255]");
  check_usage_error(eval("sparse", labels, i8, {"--y-pred-scale", "0.03", "--y-pred-scale", "0.03"}),
                    "--y-pred-scale is given twice");
  // The range edges and the smallest float32 scales are accepted.
  CHECK(eval("sparse", labels, i8, {"--y-pred-scale", "0.03", "--y-pred-zero-point", "-128", "--from-logits"}).rc == 0);
  CHECK(eval("sparse", labels, i8, {"--y-pred-scale=1e-40", "--y-pred-zero-point=127", "--from-logits"}).rc == 0);
  CHECK(eval("sparse", labels, u8, {"--y-pred-scale", "3.4e38", "--y-pred-zero-point", "255"}).rc == 0);
}

TEST_CASE("cli/quantized: --json reports the dtype, scale and zero point") {
  const std::string file = "digits_logits_i8.npy";
  const Quantized d = load_quantized(file);
  std::vector<std::string> flags = d.flags();
  flags.insert(flags.end(), {"--from-logits", "--json"});
  const Run r = eval("sparse", data_path("digits_labels.npy"), data_path(file), flags);
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  CHECK(lines(r.out) == 1);
  CHECK(r.out.find("\"y_pred_dtype\": \"|i1\"") != std::string::npos);
  CHECK(static_cast<float>(json_value(r.out, "y_pred_scale")) == d.scale);
  CHECK(json_value(r.out, "y_pred_zero_point") == -18);
  check_rel(json_value(r.out, "result"), quantized_number(file, "sparse"));
  CHECK(r.out.find("}\n") == r.out.size() - 2);

  const Quantized u = load_quantized("digits_probs_u8.npy");
  const Run ru = eval("sparse", data_path("digits_labels.npy"), data_path("digits_probs_u8.npy"),
                      {"--y-pred-scale", "0.00390625", "--y-pred-zero-point", "0", "--json", "--per-class"});
  REQUIRE(ru.rc == 0);
  CHECK(ru.out.find("\"y_pred_dtype\": \"|u1\", \"y_pred_scale\": 0.00390625, \"y_pred_zero_point\": 0, "
                    "\"per_class\": [") != std::string::npos);
  CHECK(u.zero_point == 0);
  // A float y_pred: its dtype, and no quantization parameters.
  const Run rf = eval("sparse", data_path("digits_labels.npy"), data_path("digits_logits.npy"), {"--json"});
  REQUIRE(rf.rc == 0);
  CHECK(rf.out.find("\"y_pred_dtype\": \"<f4\"") != std::string::npos);
  CHECK(rf.out.find("y_pred_scale") == std::string::npos);
  CHECK(rf.out.find("y_pred_zero_point") == std::string::npos);
}
