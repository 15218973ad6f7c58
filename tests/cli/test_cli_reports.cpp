// The xent command line: what it reports (JSON, per-class results), ignore_class and the NaN policy,
// labels out of range.
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
