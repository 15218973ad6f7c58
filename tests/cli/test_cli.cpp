// The xent command line, driven in-process through xent_main on .npy files these tests write
// themselves: results against float64 evaluations of SEMANTICS.md (cli_reference.hpp), every dtype,
// chunked evaluation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cli_reference.hpp"
#include "xent/xent.hpp"

using namespace xent_cli_test;

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
