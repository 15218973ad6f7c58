// The xent command line, driven in-process through xent_main on .npy files these tests write
// themselves; values against float64 evaluations of SEMANTICS.md written here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cli_run.hpp"
#include "npy_writer.hpp"
#include "xent/xent.hpp"

using xent_test::check_data_error;
using xent_test::check_usage_error;
using xent_test::lines;
using xent_test::NpySpec;
using xent_test::path_of;
using xent_test::Run;
using xent_test::run;
using xent_test::slurp;
using xent_test::Rng;
using xent_test::write_npy;

namespace {

double number(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

// The value of "key": in a one-line JSON object (our own output: no nesting before per_class).
double json_value(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const std::size_t at = json.find(k);
  REQUIRE_MESSAGE(at != std::string::npos, key);
  return number(json.substr(at + k.size()));
}

// ---- float64 references (SEMANTICS.md), on the float32 values as stored.
constexpr float kEps = 1e-7f;
const float kOneMinusEps = 1.0f - kEps;

double clip(double p) { return std::min(std::max(p, static_cast<double>(kEps)), static_cast<double>(kOneMinusEps)); }

double sparse_loss(const float* row, std::size_t k, std::size_t stride, std::int64_t label, bool logits) {
  if (logits) {
    double m = -INFINITY;
    for (std::size_t j = 0; j < k; ++j) m = std::max(m, static_cast<double>(row[j * stride]));
    double s = 0;
    for (std::size_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(row[j * stride]) - m);
    return std::log(s) - (static_cast<double>(row[static_cast<std::size_t>(label) * stride]) - m);
  }
  double s = 0;
  for (std::size_t j = 0; j < k; ++j) s += clip(row[j * stride]);
  return std::log(s) - std::log(clip(row[static_cast<std::size_t>(label) * stride]));
}

double categorical_loss(const float* p, const float* t, std::size_t k, bool logits, float ls) {
  std::vector<double> tt(k);
  for (std::size_t j = 0; j < k; ++j)
    tt[j] = ls > 0 ? static_cast<double>(t[j] * (1.0f - ls) + ls / static_cast<float>(k)) : t[j];
  double loss = 0;
  if (logits) {
    double m = -INFINITY;
    for (std::size_t j = 0; j < k; ++j) m = std::max(m, static_cast<double>(p[j]));
    double s = 0;
    for (std::size_t j = 0; j < k; ++j) s += std::exp(static_cast<double>(p[j]) - m);
    for (std::size_t j = 0; j < k; ++j) loss += tt[j] * (std::log(s) - (static_cast<double>(p[j]) - m));
    return loss;
  }
  double s = 0;
  for (std::size_t j = 0; j < k; ++j) s += p[j];
  for (std::size_t j = 0; j < k; ++j) loss -= tt[j] * std::log(clip(p[j] / s));
  return loss;
}

// IEEE binary16 decoded independently of the library.
double half_value(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v = exp == 0 ? std::ldexp(man, -24) : exp == 31 ? (man ? NAN : INFINITY) : std::ldexp(man + 1024, exp - 25);
  return sign ? -v : v;
}

void check_rel(double got, double want, double tol = 1e-6) {
  CAPTURE(got);
  CAPTURE(want);
  CHECK(std::fabs(got - want) <= tol * std::fabs(want));
}

struct Data {
  std::size_t rows = 0, classes = 0;
  std::vector<float> probs, logits, onehot, weights;
  std::vector<std::int64_t> labels;
};

Data make_data(std::size_t rows, std::size_t classes, std::uint64_t seed) {
  Data d;
  d.rows = rows;
  d.classes = classes;
  Rng rng(seed);
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<double> p(classes);
    double s = 0;
    for (double& v : p) {
      v = rng.uniform() < 0.05 ? 0.0 : rng.uniform() + 1e-3;  // some exact zeros exercise the clip
      s += v;
    }
    if (s == 0) p[0] = s = 1;
    const auto label = static_cast<std::int64_t>(rng.below(classes));
    for (std::size_t k = 0; k < classes; ++k) {
      d.probs.push_back(static_cast<float>(p[k] / s));
      d.logits.push_back(static_cast<float>(rng.uniform() * 16.0 - 8.0));
      d.onehot.push_back(static_cast<std::int64_t>(k) == label ? 1.0f : 0.0f);
    }
    d.labels.push_back(label);
    d.weights.push_back(static_cast<float>(rng.uniform() * 2.0));
  }
  return d;
}

double sparse_reference(const Data& d, bool logits, const std::vector<float>* w = nullptr) {
  double total = 0, count = 0;
  const std::vector<float>& p = logits ? d.logits : d.probs;
  for (std::size_t r = 0; r < d.rows; ++r) {
    const double wr = w ? static_cast<double>((*w)[r]) : 1.0;
    total += wr * sparse_loss(&p[r * d.classes], d.classes, 1, d.labels[r], logits);
    count += wr;
  }
  return total / count;
}

// Writes the standard files of a data set under a prefix; returns the paths.
struct Files {
  std::string probs, logits, labels, onehot, weights;
};

Files write_data(const Data& d, const std::string& prefix) {
  Files f{path_of(prefix + "_probs.npy"), path_of(prefix + "_logits.npy"), path_of(prefix + "_labels.npy"),
          path_of(prefix + "_onehot.npy"), path_of(prefix + "_weights.npy")};
  REQUIRE(write_npy(f.probs, "<f4", {d.rows, d.classes}, d.probs));
  REQUIRE(write_npy(f.logits, "<f4", {d.rows, d.classes}, d.logits));
  REQUIRE(write_npy(f.labels, "<i8", {d.rows}, d.labels));
  REQUIRE(write_npy(f.onehot, "<f4", {d.rows, d.classes}, d.onehot));
  REQUIRE(write_npy(f.weights, "<f4", {d.rows}, d.weights));
  return f;
}

template <class T, class S>
std::vector<T> cast_all(const std::vector<S>& v) {
  std::vector<T> out;
  for (const S& x : v) out.push_back(static_cast<T>(x));
  return out;
}

Run eval(const std::string& metric, const std::string& t, const std::string& p, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"eval", "--metric", metric, "--y-true", t, "--y-pred", p};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args);
}

double ok_result(const Run& r) {
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  return number(r.out);
}

}  // namespace

TEST_CASE("cli: sparse probabilities and logits match a float64 evaluation") {
  const Data d = make_data(1000, 7, 1);
  const Files f = write_data(d, "sparse");
  const Run probs = eval("sparse", f.labels, f.probs);
  CHECK(lines(probs.out) == 1);
  check_rel(ok_result(probs), sparse_reference(d, false));
  check_rel(ok_result(eval("sparse", f.labels, f.logits, {"--from-logits"})), sparse_reference(d, true));
  check_rel(ok_result(eval("sparse", f.labels, f.logits, {"--from-logits", "--sample-weight", f.weights})),
            sparse_reference(d, true, &d.weights));
  // The plain output is the float32 result with %.9g: it parses back to the same float.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g\n", static_cast<double>(static_cast<float>(number(probs.out))));
  CHECK(probs.out == buf);
}

TEST_CASE("cli: every label, weight and float dtype gives the same result") {
  const Data d = make_data(500, 6, 2);
  const Files f = write_data(d, "dtypes");
  const std::string want = eval("sparse", f.labels, f.probs, {"--sample-weight", f.weights}).out;
  REQUIRE(!want.empty());
  struct Label {
    const char* name;
    bool (*write)(const std::string&, const Data&);
  };
  const Label label_files[] = {
      {"<i4", [](const std::string& p, const Data& x) { return write_npy(p, "<i4", {x.rows}, cast_all<std::int32_t>(x.labels)); }},
      {"|u1", [](const std::string& p, const Data& x) { return write_npy(p, "|u1", {x.rows}, cast_all<std::uint8_t>(x.labels)); }},
      {"<u2", [](const std::string& p, const Data& x) { return write_npy(p, "<u2", {x.rows}, cast_all<std::uint16_t>(x.labels)); }},
      {"<f4", [](const std::string& p, const Data& x) { return write_npy(p, "<f4", {x.rows}, cast_all<float>(x.labels)); }},
      {"<f8", [](const std::string& p, const Data& x) { return write_npy(p, "<f8", {x.rows}, cast_all<double>(x.labels)); }},
      {"[B,1]", [](const std::string& p, const Data& x) { return write_npy(p, "<i8", {x.rows, 1}, x.labels); }},
      {"misaligned <i8", [](const std::string& p, const Data& x) {
         NpySpec s;
         s.descr = "<i8";
         s.shape = {x.rows};
         s.align = 1;
         s.extra_pad = 3;
         return write_npy(p, s, x.labels);
       }},
  };
  int i = 0;
  for (const Label& l : label_files) {
    CAPTURE(l.name);
    const std::string p = path_of("dtypes_labels_" + std::to_string(i++) + ".npy");
    REQUIRE(l.write(p, d));
    const Run r = eval("sparse", p, f.probs, {"--sample-weight", f.weights});
    CHECK(r.err.empty());
    CHECK(r.out == want);
  }
  // float64 weights and predictions are converted to float32, as Keras casts them.
  const std::string w8 = path_of("dtypes_weights_f8.npy");
  REQUIRE(write_npy(w8, "<f8", {d.rows}, cast_all<double>(d.weights)));
  CHECK(eval("sparse", f.labels, f.probs, {"--sample-weight", w8, "--chunk-rows", "37"}).out == want);
  const std::string p8 = path_of("dtypes_probs_f8.npy");
  REQUIRE(write_npy(p8, "<f8", {d.rows, d.classes}, cast_all<double>(d.probs)));
  CHECK(eval("sparse", f.labels, p8, {"--sample-weight", w8}).out == want);
  // A misaligned float32 y_pred is copied, not read in place.
  NpySpec s;
  s.shape = {d.rows, d.classes};
  s.align = 1;
  s.extra_pad = 1;
  const std::string pm = path_of("dtypes_probs_misaligned.npy");
  REQUIRE(write_npy(pm, s, d.probs));
  CHECK(eval("sparse", f.labels, pm, {"--sample-weight", f.weights}).out == want);
  // Integer and boolean weights become float32 (a 0/1 mask is a common weight).
  std::vector<std::uint8_t> mask(d.rows);
  std::vector<float> maskf(d.rows);
  for (std::size_t r = 0; r < d.rows; ++r) maskf[r] = mask[r] = r % 3 == 0 ? 1 : 0;
  const std::string wb = path_of("dtypes_weights_b1.npy"), wf = path_of("dtypes_weights_mask.npy");
  REQUIRE(write_npy(wb, "|b1", {d.rows}, mask));
  REQUIRE(write_npy(wf, "<f4", {d.rows}, maskf));
  const Run rb = eval("sparse", f.labels, f.probs, {"--sample-weight", wb});
  CHECK(rb.out == eval("sparse", f.labels, f.probs, {"--sample-weight", wf}).out);
  check_rel(ok_result(rb), sparse_reference(d, false, &maskf));
}

TEST_CASE("cli: categorical with label smoothing, float16 predictions and boolean one-hot") {
  const Data d = make_data(400, 5, 3);
  const Files f = write_data(d, "categorical");
  for (const float ls : {0.0f, 0.1f, 0.25f}) {
    for (const bool logits : {false, true}) {
      CAPTURE(ls);
      CAPTURE(logits);
      const std::vector<float>& p = logits ? d.logits : d.probs;
      double total = 0;
      for (std::size_t r = 0; r < d.rows; ++r)
        total += categorical_loss(&p[r * d.classes], &d.onehot[r * d.classes], d.classes, logits, ls);
      std::vector<std::string> extra = {"--label-smoothing", std::to_string(ls)};
      if (logits) extra.push_back("--from-logits");
      check_rel(ok_result(eval("categorical", f.onehot, logits ? f.logits : f.probs, extra)),
                total / static_cast<double>(d.rows));
    }
  }
  // y_true as booleans, bytes or float64 is the same one-hot.
  const std::string want = eval("categorical", f.onehot, f.logits, {"--from-logits"}).out;
  const std::string tb = path_of("categorical_onehot_b1.npy"), tu = path_of("categorical_onehot_u1.npy"),
                    t8 = path_of("categorical_onehot_f8.npy");
  REQUIRE(write_npy(tb, "|b1", {d.rows, d.classes}, cast_all<std::uint8_t>(d.onehot)));
  REQUIRE(write_npy(tu, "|u1", {d.rows, d.classes}, cast_all<std::uint8_t>(d.onehot)));
  REQUIRE(write_npy(t8, "<f8", {d.rows, d.classes}, cast_all<double>(d.onehot)));
  for (const std::string& t : {tb, tu, t8}) CHECK(eval("categorical", t, f.logits, {"--from-logits"}).out == want);
  // float16 predictions: the reference decodes the stored half bits itself.
  std::vector<std::uint16_t> half(d.logits.size());
  std::vector<float> widened(d.logits.size());
  for (std::size_t i = 0; i < half.size(); ++i) {
    half[i] = xent::to_float16(d.logits[i]).bits;
    widened[i] = static_cast<float>(half_value(half[i]));
  }
  const std::string ph = path_of("categorical_logits_f16.npy");
  REQUIRE(write_npy(ph, "<f2", {d.rows, d.classes}, half));
  double total = 0;
  for (std::size_t r = 0; r < d.rows; ++r)
    total += categorical_loss(&widened[r * d.classes], &d.onehot[r * d.classes], d.classes, true, 0.1f);
  check_rel(ok_result(eval("categorical", f.onehot, ph, {"--from-logits", "--label-smoothing", "0.1"})),
            total / static_cast<double>(d.rows));
}

TEST_CASE("cli: chunked evaluation equals one-shot, for rank-3 predictions and any chunk size") {
  const std::size_t rows = 300, positions = 3, classes = 4;
  Rng rng(4);
  std::vector<float> logits(rows * positions * classes), weights(rows);
  std::vector<std::int32_t> labels(rows * positions);
  for (float& v : logits) v = static_cast<float>(rng.uniform() * 10.0 - 5.0);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(classes));
  for (float& w : weights) w = static_cast<float>(rng.uniform());
  const std::string pp = path_of("chunks_logits.npy"), tp = path_of("chunks_labels.npy"),
                    wp = path_of("chunks_weights.npy");
  REQUIRE(write_npy(pp, "<f4", {rows, positions, classes}, logits));
  REQUIRE(write_npy(tp, "<i4", {rows, positions}, labels));
  REQUIRE(write_npy(wp, "<f4", {rows}, weights));

  // One-shot through the library directly.
  xent::SparseOptions o;
  o.from_logits = true;
  xent::SparseCategoricalCrossentropy<> metric(o);
  REQUIRE(metric.update_state(xent::view(labels.data(), {rows, positions}),
                              xent::view(logits.data(), {rows, positions, classes}),
                              xent::view(weights.data(), {rows})) == xent::Status::ok);
  // float64: a [B] weight on [B, 3] losses broadcasts per row (SEMANTICS.md rule 2).
  double total = 0, count = 0;
  for (std::size_t i = 0; i < rows * positions; ++i) {
    const double w = weights[i / positions];
    total += w * sparse_loss(&logits[i * classes], classes, 1, labels[i], true);
    count += w;
  }
  check_rel(static_cast<double>(metric.result()), total / count);

  for (const char* chunk : {"1", "2", "7", "64", "299", "300", "100000"}) {
    CAPTURE(chunk);
    const Run r = eval("sparse", tp, pp, {"--from-logits", "--sample-weight", wp, "--json", "--chunk-rows", chunk});
    REQUIRE(r.rc == 0);
    const double chunk_rows = number(chunk);
    CHECK(json_value(r.out, "chunks") == std::ceil(static_cast<double>(rows) / std::min(chunk_rows, 300.0)));
    CHECK(json_value(r.out, "result") == doctest::Approx(static_cast<double>(metric.result())).epsilon(1e-7));
    CHECK(json_value(r.out, "total") == doctest::Approx(metric.total()).epsilon(1e-12));
    CHECK(json_value(r.out, "count") == doctest::Approx(metric.count()).epsilon(1e-12));
    CHECK(json_value(r.out, "elements") == rows * positions);
  }
}

TEST_CASE("cli: channels-first predictions (class axis 1) are chunked along the batch") {
  // [B, K, P] with --axis 1, as a segmentation model in NCHW layout writes it; labels [B, P].
  const std::size_t rows = 40, classes = 6, positions = 5;
  Rng rng(14);
  std::vector<float> probs(rows * classes * positions);
  std::vector<std::uint8_t> labels(rows * positions);
  for (float& v : probs) v = static_cast<float>(rng.uniform());
  for (auto& l : labels) l = static_cast<std::uint8_t>(rng.below(classes));
  const std::string pp = path_of("nchw_probs.npy"), tp = path_of("nchw_labels.npy");
  REQUIRE(write_npy(pp, "<f4", {rows, classes, positions}, probs));
  REQUIRE(write_npy(tp, "|u1", {rows, positions}, labels));
  double total = 0;
  for (std::size_t b = 0; b < rows; ++b)
    for (std::size_t q = 0; q < positions; ++q)
      total += sparse_loss(&probs[b * classes * positions + q], classes, positions, labels[b * positions + q], false);
  const double want = total / static_cast<double>(rows * positions);
  for (const char* chunk : {"1", "3", "40"}) {
    CAPTURE(chunk);
    const Run r = eval("sparse", tp, pp, {"--axis", "1", "--chunk-rows", chunk, "--json"});
    REQUIRE(r.rc == 0);
    check_rel(json_value(r.out, "result"), want);
    CHECK(json_value(r.out, "elements") == rows * positions);
    CHECK(json_value(r.out, "classes") == classes);
  }
}

TEST_CASE("cli: a file larger than the default chunk") {
  // 270,000 rows x 4 classes: the default chunk is 2^20 y_pred elements, so 2 chunks.
  const Data d = make_data(270000, 4, 5);
  const std::string pp = path_of("large_probs.npy"), tp = path_of("large_labels.npy");
  REQUIRE(write_npy(pp, "<f4", {d.rows, d.classes}, d.probs));
  REQUIRE(write_npy(tp, "<i8", {d.rows}, d.labels));
  const Run r = eval("sparse", tp, pp, {"--json"});
  REQUIRE(r.rc == 0);
  CHECK(json_value(r.out, "chunks") == 2);
  CHECK(json_value(r.out, "count") == 270000);
  check_rel(json_value(r.out, "result"), sparse_reference(d, false));
  const Run small = eval("sparse", tp, pp, {"--json", "--chunk-rows", "70001"});
  CHECK(json_value(small.out, "chunks") == 4);
  CHECK(json_value(small.out, "total") == doctest::Approx(json_value(r.out, "total")).epsilon(1e-12));
}

TEST_CASE("cli: class axis first is chunked along the second axis") {
  const Data d = make_data(200, 5, 6);
  std::vector<float> transposed(d.rows * d.classes), onehot_t(d.rows * d.classes);
  for (std::size_t r = 0; r < d.rows; ++r)
    for (std::size_t k = 0; k < d.classes; ++k) {
      transposed[k * d.rows + r] = d.logits[r * d.classes + k];
      onehot_t[k * d.rows + r] = d.onehot[r * d.classes + k];
    }
  const std::string pp = path_of("axis0_logits.npy"), tp = path_of("axis0_labels.npy"),
                    p8 = path_of("axis0_logits_f8.npy"), t1 = path_of("axis0_labels_1n.npy"),
                    oh = path_of("axis0_onehot.npy");
  REQUIRE(write_npy(pp, "<f4", {d.classes, d.rows}, transposed));
  REQUIRE(write_npy(p8, "<f8", {d.classes, d.rows}, cast_all<double>(transposed)));
  REQUIRE(write_npy(tp, "<i8", {d.rows}, d.labels));
  REQUIRE(write_npy(t1, "<i8", {1, d.rows}, d.labels));  // y_pred's shape with the class axis set to 1
  REQUIRE(write_npy(oh, "<f4", {d.classes, d.rows}, onehot_t));
  double total = 0;
  for (std::size_t r = 0; r < d.rows; ++r) total += sparse_loss(&transposed[r], d.classes, d.rows, d.labels[r], true);
  const double want = total / static_cast<double>(d.rows);
  const Run one = eval("sparse", tp, pp, {"--from-logits", "--axis", "0", "--json"});
  REQUIRE(one.rc == 0);
  CHECK(json_value(one.out, "chunks") == 1);
  CHECK(json_value(one.out, "classes") == 5);
  CHECK(json_value(one.out, "elements") == 200);
  CHECK(json_value(one.out, "rows") == 200);
  check_rel(json_value(one.out, "result"), want);
  for (const std::string& labels : {tp, t1}) {
    for (const std::string& preds : {pp, p8}) {
      CAPTURE(labels);
      CAPTURE(preds);
      const Run r = eval("sparse", labels, preds, {"--from-logits", "--axis", "0", "--json", "--chunk-rows", "3"});
      REQUIRE(r.rc == 0);
      CHECK(json_value(r.out, "chunks") == 67);
      CHECK(json_value(r.out, "total") == doctest::Approx(json_value(one.out, "total")).epsilon(1e-12));
    }
  }
  // --axis -2 is the same axis.
  CHECK(ok_result(eval("sparse", tp, pp, {"--from-logits", "--axis", "-2"})) == json_value(one.out, "result"));
  // Categorical, class-first one-hot: the same losses as the sparse labels.
  const Run c = eval("categorical", oh, pp, {"--from-logits", "--axis", "0", "--json", "--chunk-rows", "7"});
  REQUIRE(c.rc == 0);
  CHECK(json_value(c.out, "chunks") == 29);
  check_rel(json_value(c.out, "result"), want);
  check_data_error(eval("categorical", tp, pp, {"--axis", "0"}), tp, "does not fit");
  const std::string bad = path_of("axis0_bad_labels.npy");
  std::vector<std::int64_t> bl = d.labels;
  bl[150] = 5;
  REQUIRE(write_npy(bad, "<i8", {1, d.rows}, bl));
  check_data_error(eval("sparse", bad, pp, {"--axis", "0", "--chunk-rows", "8"}), bad, "label 5 at index (0, 150)");
  // Rank 3, class first: [K, B, P] with labels [B, P] and per-row weights [B].
  const std::size_t positions = 3;
  Rng rng(15);
  std::vector<float> p3(d.classes * d.rows * positions), w(d.rows);
  std::vector<std::int32_t> l3(d.rows * positions);
  for (float& v : p3) v = static_cast<float>(rng.uniform() * 6.0 - 3.0);
  for (auto& l : l3) l = static_cast<std::int32_t>(rng.below(d.classes));
  for (float& v : w) v = static_cast<float>(rng.uniform());
  const std::string p3p = path_of("axis0_rank3.npy"), l3p = path_of("axis0_rank3_labels.npy"),
                    wp = path_of("axis0_rank3_w.npy");
  REQUIRE(write_npy(p3p, "<f4", {d.classes, d.rows, positions}, p3));
  REQUIRE(write_npy(l3p, "<i4", {d.rows, positions}, l3));
  REQUIRE(write_npy(wp, "<f4", {d.rows}, w));
  double t3 = 0, c3 = 0;
  for (std::size_t i = 0; i < d.rows * positions; ++i) {
    const double wi = w[i / positions];
    t3 += wi * sparse_loss(&p3[i], d.classes, d.rows * positions, l3[i], true);
    c3 += wi;
  }
  for (const char* chunk : {"1", "16", "200"}) {
    CAPTURE(chunk);
    check_rel(ok_result(eval("sparse", l3p, p3p, {"--from-logits", "--axis", "0", "--sample-weight", wp,
                                                   "--chunk-rows", chunk})), t3 / c3);
  }
}

TEST_CASE("cli: empty arrays give 0, as a fresh metric") {
  const std::string pp = path_of("empty_probs.npy"), tp = path_of("empty_labels.npy"), wp = path_of("empty_w.npy");
  REQUIRE(write_npy(pp, "<f4", {0, 5}, std::vector<float>{}));
  REQUIRE(write_npy(tp, "<i8", {0}, std::vector<std::int64_t>{}));
  REQUIRE(write_npy(wp, "<f8", {0}, std::vector<double>{}));
  CHECK(ok_result(eval("sparse", tp, pp, {"--sample-weight", wp, "--chunk-rows", "4"})) == 0.0);
  const Run j = eval("sparse", tp, pp, {"--json"});
  CHECK(json_value(j.out, "count") == 0);
  CHECK(json_value(j.out, "elements") == 0);
  CHECK(json_value(j.out, "chunks") == 1);
  // Still checked: a label file of the wrong length is refused even with no rows of y_pred.
  const std::string t1 = path_of("empty_labels_1.npy");
  REQUIRE(write_npy(t1, "<i8", {1}, std::vector<std::int64_t>{0}));
  check_data_error(eval("sparse", t1, pp), t1, "does not fit");
}

TEST_CASE("cli: json output") {
  const Data d = make_data(50, 3, 7);
  const Files f = write_data(d, "json");
  const Run plain = eval("sparse", f.labels, f.probs);
  const Run r = eval("sparse", f.labels, f.probs, {"--json"});
  REQUIRE(r.rc == 0);
  CHECK(lines(r.out) == 1);
  CHECK(r.out.front() == '{');
  CHECK(r.out.find("}\n") == r.out.size() - 2);
  CHECK(r.out.find("\"metric\": \"sparse_categorical_crossentropy\"") != std::string::npos);
  CHECK(json_value(r.out, "result") == number(plain.out));
  CHECK(json_value(r.out, "count") == 50);
  CHECK(json_value(r.out, "elements") == 50);
  CHECK(json_value(r.out, "rows") == 50);
  CHECK(json_value(r.out, "classes") == 3);
  CHECK(json_value(r.out, "seconds") >= 0);
  CHECK(json_value(r.out, "total") / json_value(r.out, "count") == doctest::Approx(number(plain.out)).epsilon(1e-7));
  CHECK(r.out.find("\"isa\": \"") != std::string::npos);
  CHECK(r.out.find("per_class") == std::string::npos);
  const Run c = eval("categorical", f.onehot, f.probs, {"--json"});
  CHECK(c.out.find("\"metric\": \"categorical_crossentropy\"") != std::string::npos);
  // A NaN result is null in JSON (which has no NaN).
  std::vector<float> p = d.probs;
  p[4] = NAN;
  const std::string pn = path_of("json_nan.npy");
  REQUIRE(write_npy(pn, "<f4", {d.rows, d.classes}, p));
  const Run n = eval("sparse", f.labels, pn, {"--json"});
  CHECK(n.out.find("\"result\": null") != std::string::npos);
  CHECK(eval("sparse", f.labels, pn).out == "nan\n");
}

TEST_CASE("cli: per-class results") {
  const Data d = make_data(600, 8, 8);
  const Files f = write_data(d, "perclass");
  const Run r = eval("sparse", f.labels, f.logits, {"--from-logits", "--per-class", "--sample-weight", f.weights,
                                                     "--chunk-rows", "50"});
  REQUIRE(r.rc == 0);
  CHECK(lines(r.out) == 1 + d.classes);
  std::vector<double> total(d.classes), count(d.classes);
  for (std::size_t row = 0; row < d.rows; ++row) {
    const auto k = static_cast<std::size_t>(d.labels[row]);
    total[k] += d.weights[row] * sparse_loss(&d.logits[row * d.classes], d.classes, 1, d.labels[row], true);
    count[k] += d.weights[row];
  }
  check_rel(number(r.out), sparse_reference(d, true, &d.weights));
  std::size_t at = r.out.find('\n') + 1;
  for (std::size_t k = 0; k < d.classes; ++k) {
    CAPTURE(k);
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    at = r.out.find('\n', at) + 1;
    const std::string head = "class " + std::to_string(k) + ": ";
    REQUIRE(line.compare(0, head.size(), head) == 0);
    check_rel(number(line.substr(head.size())), total[k] / count[k]);
    const std::size_t c = line.find("(count ");
    REQUIRE(c != std::string::npos);
    check_rel(number(line.substr(c + 7)), count[k], 1e-12);
  }
  const Run j = eval("sparse", f.labels, f.logits, {"--from-logits", "--per-class", "--json"});
  CHECK(j.out.find("\"per_class\": [{\"class\": 0, \"result\": ") != std::string::npos);
  CHECK(j.out.find("{\"class\": 7, ") != std::string::npos);
  const Run cat = eval("categorical", f.onehot, f.logits, {"--from-logits", "--per-class"});
  CHECK(cat.rc == 0);
  CHECK(lines(cat.out) == 1 + d.classes);
  // Above the documented capacity: a clear error, not a wrong answer.
  const std::size_t too_many = xent::cli::kPerClassMaxClasses + 1;
  std::vector<float> wide(2 * too_many, 1.0f / static_cast<float>(too_many));
  const std::vector<std::int64_t> two = {0, 1};
  const std::string pw = path_of("perclass_wide.npy"), tw = path_of("perclass_wide_labels.npy");
  REQUIRE(write_npy(pw, "<f4", {2, too_many}, wide));
  REQUIRE(write_npy(tw, "<i8", {2}, two));
  check_data_error(eval("sparse", tw, pw, {"--per-class"}), pw, "at most 1024 classes");
  CHECK(ok_result(eval("sparse", tw, pw)) == doctest::Approx(std::log(1025.0)).epsilon(1e-6));
}

TEST_CASE("cli: ignore_class and the NaN policy") {
  Data d = make_data(300, 4, 9);
  for (std::size_t r = 0; r < d.rows; r += 5) d.labels[r] = -1;
  const Files f = write_data(d, "ignore");
  double total = 0, count = 0;
  for (std::size_t r = 0; r < d.rows; ++r) {
    if (d.labels[r] == -1) continue;
    total += sparse_loss(&d.probs[r * d.classes], d.classes, 1, d.labels[r], false);
    count += 1;
  }
  check_rel(ok_result(eval("sparse", f.labels, f.probs, {"--ignore-class", "-1", "--chunk-rows", "16"})),
            total / count);
  check_data_error(eval("sparse", f.labels, f.probs), f.labels, "label -1 at row 0 is outside [0, 4)");

  std::vector<float> p = make_data(300, 4, 10).probs;
  p[17 * 4 + 2] = NAN;
  const std::vector<std::int64_t> labels(300, 1);
  const std::string pn = path_of("nan_probs.npy"), tn = path_of("nan_labels.npy");
  REQUIRE(write_npy(pn, "<f4", {300, 4}, p));
  REQUIRE(write_npy(tn, "<i8", {300}, labels));
  CHECK(eval("sparse", tn, pn).out == "nan\n");
  check_data_error(eval("sparse", tn, pn, {"--nan", "reject", "--chunk-rows", "10"}), pn, "loss at row 17 is nan");
  std::vector<float> w(300, 1.0f);
  w[205] = INFINITY;
  const std::string wn = path_of("nan_weights.npy"), pc = path_of("nan_clean.npy");
  REQUIRE(write_npy(wn, "<f4", {300}, w));
  REQUIRE(write_npy(pc, "<f4", {300, 4}, make_data(300, 4, 10).probs));
  check_data_error(eval("sparse", tn, pc, {"--nan", "reject", "--sample-weight", wn}), wn, "row 205 is not finite");
  CHECK(eval("sparse", tn, pc, {"--nan", "propagate", "--sample-weight", wn}).rc == 0);
}

TEST_CASE("cli: labels out of range are reported with their row") {
  Data d = make_data(1000, 7, 11);
  d.labels[523] = 7;
  const Files f = write_data(d, "oob");
  for (const char* chunk : {"1", "100", "1000"})
    check_data_error(eval("sparse", f.labels, f.probs, {"--chunk-rows", chunk}), f.labels,
                     "label 7 at row 523 is outside [0, 7)");
  std::vector<float> fl = cast_all<float>(d.labels);
  fl[523] = 3;
  fl[40] = NAN;
  const std::string tf = path_of("oob_float.npy");
  REQUIRE(write_npy(tf, "<f4", {d.rows}, fl));
  check_data_error(eval("sparse", tf, f.probs), tf, "label nan at row 40");
  fl[40] = 6.5f;  // truncated to 6: valid
  fl[41] = -0.5f;  // truncated to 0: valid
  fl[900] = 7.25f;
  REQUIRE(write_npy(tf, "<f4", {d.rows}, fl));
  check_data_error(eval("sparse", tf, f.probs), tf, "label 7.25 at row 900");
  // Rank-2 labels: the full index.
  std::vector<std::int64_t> l2(60 * 3, 2);
  l2[10 * 3 + 2] = 9;
  std::vector<float> p2(60 * 3 * 4, 0.25f);
  const std::string t2 = path_of("oob_rank2_labels.npy"), p2p = path_of("oob_rank2_probs.npy");
  REQUIRE(write_npy(t2, "<i8", {60, 3}, l2));
  REQUIRE(write_npy(p2p, "<f4", {60, 3, 4}, p2));
  check_data_error(eval("sparse", t2, p2p, {"--chunk-rows", "7"}), t2, "label 9 at index (10, 2) is outside [0, 4)");
}

TEST_CASE("cli: bad files exit 1 with one line naming the file and the problem") {
  const Data d = make_data(20, 3, 12);
  const Files f = write_data(d, "bad");
  NpySpec ps;
  ps.shape = {20, 3};
  auto probs_bytes = xent_test::npy_bytes(ps, d.probs.data(), d.probs.size() * 4);

  const std::string magic = path_of("bad_magic.npy");
  REQUIRE(xent_test::write_bytes(magic, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'}));
  check_data_error(eval("sparse", f.labels, magic), magic, "bad magic");
  check_data_error(eval("sparse", magic, f.probs), magic, "bad magic");

  const std::string header = path_of("bad_truncated_header.npy");
  REQUIRE(xent_test::write_bytes(header, std::vector<unsigned char>(probs_bytes.begin(), probs_bytes.begin() + 50)));
  check_data_error(eval("sparse", f.labels, header), header, "truncated header");

  const std::string data = path_of("bad_truncated_data.npy");
  REQUIRE(xent_test::write_bytes(data, std::vector<unsigned char>(probs_bytes.begin(), probs_bytes.end() - 5)));
  check_data_error(eval("sparse", f.labels, data), data, "truncated data");

  const std::string empty = path_of("bad_empty.npy");
  REQUIRE(xent_test::write_bytes(empty, {}));
  check_data_error(eval("sparse", f.labels, empty), empty, "truncated header");

  const std::string dtype = path_of("bad_dtype.npy");
  REQUIRE(write_npy(dtype, "<i2", {20, 3}, std::vector<std::int16_t>(60, 0)));
  check_data_error(eval("sparse", f.labels, dtype), dtype, "unsupported dtype '<i2'");

  const std::string fortran = path_of("bad_fortran.npy");
  NpySpec fs;
  fs.shape = {20, 3};
  fs.fortran = "True";
  REQUIRE(write_npy(fortran, fs, d.probs));
  check_data_error(eval("sparse", f.labels, fortran), fortran, "Fortran");

  const std::string big = path_of("bad_big_endian.npy");
  REQUIRE(write_npy(big, ">f4", {20, 3}, d.probs));
  check_data_error(eval("sparse", f.labels, big), big, "big-endian");

  const std::string ints = path_of("bad_int_pred.npy");
  REQUIRE(write_npy(ints, "<i4", {20, 3}, std::vector<std::int32_t>(60, 0)));
  check_data_error(eval("sparse", f.labels, ints), ints, "y_pred must hold floats");

  const std::string missing = path_of("bad_does_not_exist.npy");
  check_data_error(eval("sparse", f.labels, missing), missing, "cannot open");

  // Shapes.
  const std::string wide = path_of("bad_onehot_wide.npy");
  REQUIRE(write_npy(wide, "<f4", {20, 4}, std::vector<float>(80, 0.25f)));
  check_data_error(eval("categorical", wide, f.probs), wide, "does not fit");
  const std::string short_labels = path_of("bad_short_labels.npy");
  REQUIRE(write_npy(short_labels, "<i8", {19}, std::vector<std::int64_t>(19, 0)));
  check_data_error(eval("sparse", short_labels, f.probs), short_labels, "does not fit");
  check_data_error(eval("sparse", f.onehot, f.probs), f.onehot, "does not fit");
  const std::string short_weights = path_of("bad_short_weights.npy");
  REQUIRE(write_npy(short_weights, "<f4", {19}, std::vector<float>(19, 1.0f)));
  check_data_error(eval("sparse", f.labels, f.probs, {"--sample-weight", short_weights}), short_weights,
                   "sample weights have 19 rows");
  const std::string wide_weights = path_of("bad_wide_weights.npy");
  REQUIRE(write_npy(wide_weights, "<f4", {20, 2}, std::vector<float>(40, 1.0f)));
  check_data_error(eval("sparse", f.labels, f.probs, {"--sample-weight", wide_weights}), wide_weights,
                   "do not fit the losses of shape (20,)");
  check_data_error(eval("sparse", f.labels, f.probs, {"--axis", "2"}), f.probs, "--axis 2 is outside [-2, 2)");
  // A scalar weight and a [1] weight broadcast over every row.
  const std::string scalar = path_of("bad_scalar_weight.npy"), one = path_of("bad_one_weight.npy");
  REQUIRE(write_npy(scalar, "<f4", {}, std::vector<float>{2.0f}));
  REQUIRE(write_npy(one, "<f4", {1}, std::vector<float>{2.0f}));
  const std::string plain = eval("sparse", f.labels, f.probs).out;
  CHECK(eval("sparse", f.labels, f.probs, {"--sample-weight", scalar, "--chunk-rows", "3"}).out == plain);
  CHECK(eval("sparse", f.labels, f.probs, {"--sample-weight", one, "--chunk-rows", "3"}).out == plain);
}

TEST_CASE("cli: usage errors exit 2") {
  const Data d = make_data(10, 3, 13);
  const Files f = write_data(d, "usage");
  const std::vector<std::string> base = {"eval", "--metric", "sparse", "--y-true", f.labels, "--y-pred", f.probs};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return run(a);
  };
  check_usage_error(run({}), "missing command");
  check_usage_error(run({"frobnicate"}), "unknown command 'frobnicate'");
  check_usage_error(with({"--bogus"}), "unknown option '--bogus'");
  check_usage_error(with({"--axis"}), "--axis needs a value");
  check_usage_error(with({"--axis", "x"}), "--axis needs an integer");
  check_usage_error(with({"--axis", "1.5"}), "--axis needs an integer");
  check_usage_error(with({"--label-smoothing", "abc"}), "--label-smoothing needs a number");
  check_usage_error(with({"--label-smoothing", "1.5"}), "must be in [0, 1]");
  check_usage_error(with({"--label-smoothing", "nan"}), "--label-smoothing needs a number");
  check_usage_error(with({"--ignore-class", "one"}), "--ignore-class needs an integer");
  check_usage_error(with({"--chunk-rows", "0"}), "--chunk-rows needs a positive integer");
  check_usage_error(with({"--nan", "maybe"}), "--nan must be reject or propagate");
  check_usage_error(with({"--json=yes"}), "--json takes no value");
  check_usage_error(with({"--json", "--json"}), "--json is given twice");
  check_usage_error(with({"stray"}), "unexpected argument 'stray'");
  check_usage_error(run({"eval", "--y-true", f.labels, "--y-pred", f.probs}), "--metric categorical|sparse is required");
  check_usage_error(run({"eval", "--metric", "sparse", "--y-pred", f.probs}), "--y-true FILE is required");
  check_usage_error(run({"eval", "--metric", "sparse", "--y-true", f.labels}), "--y-pred FILE is required");
  check_usage_error(run({"eval", "--metric", "binary", "--y-true", f.labels, "--y-pred", f.probs}),
                    "must be categorical or sparse");
  check_usage_error(run({"eval", "--metric", "categorical", "--y-true", f.onehot, "--y-pred", f.probs,
                         "--ignore-class", "0"}), "--ignore-class applies to --metric sparse only");
  check_usage_error(run({"demo", "extra"}), "demo takes no arguments");
  // --opt=value works like --opt value.
  CHECK(with({"--chunk-rows=2", "--label-smoothing=0"}).out == with({}).out);
}

TEST_CASE("cli: version, help and demo") {
  const Run v = run({"--version"});
  CHECK(v.rc == 0);
  CHECK(v.out.rfind(std::string("xent ") + xent::kVersionString, 0) == 0);
  const Run h = run({"--help"});
  CHECK(h.rc == 0);
  CHECK(h.out.find("xent eval --metric categorical|sparse") != std::string::npos);
  CHECK(run({"eval", "--help"}).out == h.out);
  const Run d = run({"demo"});
  CAPTURE(d.err);
  CHECK(d.rc == 0);
  CHECK(d.err.empty());
  CHECK(d.out.find("MISMATCH") == std::string::npos);
  CHECK(d.out.find("categorical, logits float32, smoothing 0.1 ") != std::string::npos);
  // The quantized rows beside the float ones, each with its float64 reference.
  CHECK(d.out.find("  sparse, logits int8 ") != std::string::npos);
  CHECK(d.out.find("  sparse, probabilities uint8 ") != std::string::npos);
  CHECK(d.out.find("  categorical, logits int8, one-hot ") != std::string::npos);
  CHECK(d.out.find("0.65637333056391589") != std::string::npos);  // digits_logits_i8.npy's sparse reference
  CHECK(lines(d.out) == 23);
  CHECK(d.out.find("throughput: ") != std::string::npos);
  CHECK(d.out.find(std::string("isa ") + xent::active_isa()) != std::string::npos);
  // A result that cannot be written is a failure.
  if (std::FILE* full = std::fopen("/dev/full", "w")) {
    std::FILE* err = std::tmpfile();
    REQUIRE(err != nullptr);
    std::string a0 = "xent", a1 = "--version";
    char* argv[] = {a0.data(), a1.data(), nullptr};
    CHECK(xent::cli::xent_main(2, argv, full, err) == 1);
    std::fclose(full);
    CHECK(slurp(err).find("cannot write the output") != std::string::npos);
  }
}

TEST_CASE("cli: random shapes, dtypes and options never crash and always answer in one line") {
  // Arrays of random rank, dims, dtypes and options, mostly not fitting each other: every run
  // must end in a result (exit 0, one line) or a data error (exit 1, one line on stderr only).
  // Under ASan/UBSan this exercises every slicing, gathering and conversion path.
  Rng rng(16);
  const char* pred_types[] = {"<f4", "<f2", "<f8", "|i1", "|u1"};  // 8-bit: quantized, with their flags
  const char* any_types[] = {"<f4", "<f2", "<f8", "<i4", "<i8", "|u1", "<u2", "|b1", "|i1"};
  const auto random_file = [&](const std::string& name, const char* descr, std::vector<std::size_t> shape) {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    const std::string type = descr;
    const std::size_t item = type == "<f8" || type == "<i8" ? 8 : type == "<f4" || type == "<i4" ? 4
                             : type == "<f2" || type == "<u2" ? 2 : 1;
    std::vector<unsigned char> bytes(n * item);
    for (std::size_t i = 0; i < n; ++i) {
      // Small non-negative values, valid in every dtype (labels mostly in range, probabilities > 0).
      const std::uint64_t v = rng.below(4);
      if (type == "<f4") {
        const float f = static_cast<float>(v) * 0.25f + 0.125f;
        std::memcpy(&bytes[i * 4], &f, 4);
      } else if (type == "<f8") {
        const double f = static_cast<double>(v) * 0.25 + 0.125;
        std::memcpy(&bytes[i * 8], &f, 8);
      } else if (type == "<f2") {
        const std::uint16_t h = xent::to_float16(static_cast<float>(v) * 0.25f + 0.125f).bits;
        std::memcpy(&bytes[i * 2], &h, 2);
      } else if (type == "|b1") {
        bytes[i] = static_cast<unsigned char>(v & 1);
      } else {
        std::memcpy(&bytes[i * item], &v, item);  // little-endian low bytes
      }
    }
    NpySpec s;
    s.descr = descr;
    s.shape = std::move(shape);
    s.align = rng.below(4) == 0 ? 1 : 64;  // sometimes misaligned data
    s.extra_pad = rng.below(3);
    REQUIRE(xent_test::write_bytes(path_of(name), xent_test::npy_bytes(s, bytes.data(), bytes.size())));
    return path_of(name);
  };
  int ok = 0, failed = 0;
  for (int round = 0; round < 150; ++round) {
    CAPTURE(round);
    std::vector<std::size_t> pshape(1 + rng.below(4));
    for (auto& d : pshape) d = rng.below(5);
    // The truth: y_pred's shape, or without / with a unit axis, or something random.
    std::vector<std::size_t> tshape = pshape;
    switch (rng.below(4)) {
      case 0: tshape.pop_back(); break;
      case 1: tshape.back() = 1; break;
      case 2: if (!tshape.empty()) tshape[rng.below(tshape.size())] = rng.below(5); break;
      default: break;
    }
    const bool sparse = rng.below(2) == 0;
    const std::string pred_type = pred_types[rng.below(5)];
    const std::string p = random_file("fuzz_pred.npy", pred_type.c_str(), pshape);
    const std::string t = random_file("fuzz_true.npy", any_types[rng.below(9)], tshape);
    std::vector<std::string> extra;
    if (pred_type[0] == '|') extra.insert(extra.end(), {"--y-pred-scale", "0.25", "--y-pred-zero-point", "1"});
    if (rng.below(3) == 0) {
      std::vector<std::size_t> wshape;
      if (!pshape.empty() && rng.below(4) != 0) wshape.push_back(rng.below(3) == 0 ? 1 : pshape[0]);
      if (rng.below(4) == 0) wshape.push_back(1);
      extra.push_back("--sample-weight");
      extra.push_back(random_file("fuzz_w.npy", any_types[rng.below(9)], wshape));
    }
    const int axis = static_cast<int>(rng.below(2 * pshape.size() + 2)) - static_cast<int>(pshape.size()) - 1;
    extra.insert(extra.end(), {"--axis", std::to_string(axis), "--chunk-rows", std::to_string(1 + rng.below(3))});
    if (rng.below(2) == 0) extra.push_back("--from-logits");
    if (rng.below(3) == 0) extra.insert(extra.end(), {"--nan", "reject"});
    if (rng.below(3) == 0) extra.push_back("--per-class");
    if (rng.below(3) == 0) extra.push_back("--json");
    if (sparse && rng.below(3) == 0) extra.insert(extra.end(), {"--ignore-class", "3"});
    const Run r = eval(sparse ? "sparse" : "categorical", t, p, extra);
    CAPTURE(r.out);
    CAPTURE(r.err);
    if (std::getenv("XENT_CLI_FUZZ_VERBOSE") != nullptr) std::fprintf(stderr, "%d %s", r.rc, r.rc ? r.err.c_str() : r.out.c_str());
    if (r.rc == 0) {
      ++ok;
      CHECK(r.err.empty());
      CHECK(!r.out.empty());
    } else {
      ++failed;
      CHECK(r.rc == 1);
      CHECK(r.out.empty());
      CHECK(lines(r.err) == 1);
    }
  }
  MESSAGE("random runs: " << ok << " results, " << failed << " data errors");
  CHECK(ok > 10);
  CHECK(failed > 10);
}
