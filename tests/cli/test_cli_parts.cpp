// The command line's parts on their own: argument parsing without any file, and the output and
// message formatting without any metric (tools/cli/args.hpp, output.hpp, report.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "cli/args.hpp"
#include "cli/output.hpp"
#include "cli/report.hpp"
#include "cli_run.hpp"
#include "xent/xent.hpp"

namespace {

using xent::cli::EvalArgs;

struct Parsed {
  int rc = -1;
  EvalArgs args;  // points into words
  std::string err;
  std::shared_ptr<std::vector<std::string>> words;  // on the heap, so a copied Parsed stays valid
};

// parse_eval on `xent eval ARGS...`, with err captured. The file names need not exist.
Parsed parse(std::vector<std::string> args) {
  Parsed p;
  p.words = std::make_shared<std::vector<std::string>>(std::move(args));
  std::vector<std::string>& words = *p.words;
  words.insert(words.begin(), {"xent", "eval"});
  std::vector<char*> argv;
  for (std::string& a : words) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::FILE* err = std::tmpfile();
  REQUIRE(err != nullptr);
  p.rc = xent::cli::parse_eval(static_cast<int>(words.size()), argv.data(), p.args, err);
  p.err = xent_test::slurp(err);
  return p;
}

template <class F>
std::string capture(F&& f) {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  f(out);
  return xent_test::slurp(out);
}

const std::vector<std::string> kRequired = {"--metric", "sparse", "--y-true", "no/such/t.npy", "--y-pred",
                                            "no/such/p.npy"};

std::vector<std::string> with(std::vector<std::string> extra) {
  std::vector<std::string> a = kRequired;
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace

TEST_CASE("cli/args: defaults, every option, and both spellings of a value") {
  const Parsed d = parse(kRequired);
  REQUIRE(d.rc == xent::cli::kExitOk);
  CHECK(d.err.empty());
  CHECK(std::string(d.args.y_true) == "no/such/t.npy");
  CHECK(std::string(d.args.y_pred) == "no/such/p.npy");
  CHECK(d.args.weights == nullptr);
  CHECK(d.args.spec.sparse);
  CHECK_FALSE(d.args.spec.from_logits);
  CHECK(d.args.spec.label_smoothing == 0.0f);
  CHECK(d.args.spec.axis == -1);
  CHECK_FALSE(d.args.spec.ignore_class.has_value());
  CHECK_FALSE(d.args.spec.nan_reject);
  CHECK_FALSE(d.args.spec.per_class);
  CHECK(d.args.spec.chunk_rows == 0);
  CHECK_FALSE(d.args.json);
  CHECK_FALSE(d.args.no_progress);
  CHECK_FALSE(d.args.help);

  const Parsed a = parse({"--metric=categorical", "--y-true=t.npy", "--y-pred", "p.npy", "--sample-weight=w.npy",
                          "--from-logits", "--label-smoothing", "0.25", "--axis=-2", "--nan", "reject", "--per-class",
                          "--json", "--chunk-rows=7", "--no-progress"});
  REQUIRE(a.rc == xent::cli::kExitOk);
  CHECK(a.err.empty());
  CHECK_FALSE(a.args.spec.sparse);
  CHECK(std::string(a.args.metric) == "categorical");
  CHECK(std::string(a.args.y_true) == "t.npy");
  CHECK(std::string(a.args.weights) == "w.npy");
  CHECK(a.args.spec.from_logits);
  CHECK(a.args.spec.label_smoothing == 0.25f);
  CHECK(a.args.spec.axis == -2);
  CHECK(a.args.spec.nan_reject);
  CHECK(a.args.spec.per_class);
  CHECK(a.args.spec.chunk_rows == 7);
  CHECK(a.args.json);
  CHECK(a.args.no_progress);

  const Parsed ig = parse(with({"--ignore-class", "-1"}));
  REQUIRE(ig.rc == xent::cli::kExitOk);
  REQUIRE(ig.args.spec.ignore_class.has_value());
  CHECK(*ig.args.spec.ignore_class == -1);
  // --help wins over missing required options, and -h is --help.
  const Parsed h = parse({"-h"});
  CHECK(h.rc == xent::cli::kExitOk);
  CHECK(h.args.help);
  CHECK(h.err.empty());
}

TEST_CASE("cli/args: each usage error is one exact line on err") {
  const auto usage = [](std::vector<std::string> args, const std::string& line) {
    const Parsed p = parse(std::move(args));
    CHECK(p.rc == xent::cli::kExitUsage);
    CHECK(p.err == "xent: eval: " + line + " (see xent --help)\n");
  };
  usage(with({"--axis", "8"}), "--axis needs an integer in [-8, 8), not '8'");
  usage(with({"--axis", "-9"}), "--axis needs an integer in [-8, 8), not '-9'");
  usage(with({"--axis", " 1"}), "--axis needs an integer in [-8, 8), not ' 1'");
  usage(with({"--label-smoothing", "-0.5"}), "--label-smoothing must be in [0, 1], not -0.5");
  usage(with({"--label-smoothing", "inf"}), "--label-smoothing needs a number, not 'inf'");
  usage(with({"--label-smoothing="}), "--label-smoothing needs a number, not ''");
  usage(with({"--ignore-class", "99999999999999999999"}),
        "--ignore-class needs an integer, not '99999999999999999999'");
  usage(with({"--chunk-rows", "-3"}), "--chunk-rows needs a positive integer, not '-3'");
  usage(with({"--per-class=1"}), "--per-class takes no value");
  usage(with({"--y-pred", "again.npy"}), "--y-pred is given twice");
  usage(with({"--sample-weight"}), "--sample-weight needs a value");
  usage(with({"-x"}), "unexpected argument '-x'");
  usage(with({"--weights=w.npy"}), "unknown option '--weights'");
  usage({"--y-true", "t", "--y-pred", "p"}, "--metric categorical|sparse is required");
  usage({"--metric", "categorical", "--y-true", "t", "--y-pred", "p", "--ignore-class", "0"},
        "--ignore-class applies to --metric sparse only");
}

TEST_CASE("cli/args: --y-pred-scale and --y-pred-zero-point, checked against y_pred's dtype") {
  const Parsed none = parse(kRequired);
  REQUIRE(none.rc == xent::cli::kExitOk);
  CHECK_FALSE(none.args.pred_quantization);
  const Parsed q = parse(with({"--y-pred-scale", "0.00390625", "--y-pred-zero-point=-128"}));
  REQUIRE(q.rc == xent::cli::kExitOk);
  CHECK(q.args.pred_quantization);
  CHECK(q.args.pred_scale == 0.00390625f);
  CHECK(q.args.pred_zero_point == -128);
  CHECK_FALSE(q.args.spec.quantized);  // not before the dtype is known
  const auto check = [](Parsed p, xent::npy::DType t, std::string& err) {
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    const int rc = xent::cli::check_quantization(p.args, t, f);
    err = xent_test::slurp(f);
    return std::pair<int, xent::cli::Spec>{rc, p.args.spec};
  };
  std::string err;
  auto [rc, spec] = check(q, xent::npy::DType::i1, err);
  CHECK(rc == xent::cli::kExitOk);
  CHECK(err.empty());
  CHECK(spec.quantized);
  CHECK(spec.pred_scale == 0.00390625f);
  CHECK(spec.pred_zero_point == -128);
  CHECK(check(q, xent::npy::DType::u1, err).first == xent::cli::kExitUsage);
  CHECK(err == "xent: eval: --y-pred-zero-point -128 is outside [0, 255] for no/such/p.npy of dtype |u1 "
               "(see xent --help)\n");
  CHECK(check(q, xent::npy::DType::f2, err).first == xent::cli::kExitUsage);
  CHECK(err == "xent: eval: --y-pred-scale and --y-pred-zero-point apply to an 8-bit y_pred (|i1, |u1), not to "
               "no/such/p.npy of dtype <f2 (see xent --help)\n");
  CHECK(check(none, xent::npy::DType::u1, err).first == xent::cli::kExitUsage);
  CHECK(err == "xent: eval: no/such/p.npy holds 8-bit quantized values (|u1): give --y-pred-scale S and "
               "--y-pred-zero-point Z (see xent --help)\n");
  for (xent::npy::DType t : {xent::npy::DType::f4, xent::npy::DType::f2, xent::npy::DType::f8, xent::npy::DType::i4}) {
    CHECK(check(none, t, err).first == xent::cli::kExitOk);
    CHECK(err.empty());
  }
  const auto usage = [](std::vector<std::string> args, const std::string& line) {
    const Parsed p = parse(std::move(args));
    CHECK(p.rc == xent::cli::kExitUsage);
    CHECK(p.err == "xent: eval: " + line + " (see xent --help)\n");
  };
  usage(with({"--y-pred-scale", "0.5"}), "--y-pred-scale and --y-pred-zero-point go together (8-bit y_pred)");
  usage(with({"--y-pred-scale", "inf", "--y-pred-zero-point", "0"}),
        "--y-pred-scale needs a finite float32 number > 0, not 'inf'");
  usage(with({"--y-pred-scale", "1e-46", "--y-pred-zero-point", "0"}),
        "--y-pred-scale needs a finite float32 number > 0, not '1e-46'");
  usage(with({"--y-pred-scale", "0.5", "--y-pred-zero-point", "1e2"}), "--y-pred-zero-point needs an integer, not '1e2'");
}

TEST_CASE("cli/args: strict numbers") {
  double v = 0;
  CHECK(xent::cli::parse_double("0.5", v));
  CHECK(v == 0.5);
  CHECK(xent::cli::parse_double("1e-3", v));
  CHECK(v == 1e-3);
  for (const char* bad : {"", " 1", "1 ", "1x", "nan", "-inf", "1e999"}) CHECK_FALSE(xent::cli::parse_double(bad, v));
  std::int64_t i = 0;
  CHECK(xent::cli::parse_int64("-9223372036854775808", i));
  CHECK(i == std::numeric_limits<std::int64_t>::min());
  CHECK(xent::cli::parse_int64("42", i));
  CHECK(i == 42);
  for (const char* bad : {"", " 4", "4 ", "4.0", "0x10", "9223372036854775808"})
    CHECK_FALSE(xent::cli::parse_int64(bad, i));
}

TEST_CASE("cli/output: plain and JSON text of a given outcome") {
  xent::cli::Outcome o;
  o.metric = "sparse_categorical_crossentropy";
  o.result = 0.5f;
  o.total = 1.25;
  o.count = 2.5;
  o.elements = 3;
  o.rows = 3;
  o.classes = 2;
  o.chunks = 1;
  o.pred_dtype = "<f4";
  CHECK(capture([&](std::FILE* f) { xent::cli::print_plain(f, o); }) == "0.5\n");
  const std::string isa = xent::active_isa();
  CHECK(capture([&](std::FILE* f) { xent::cli::print_json(f, o, 0.25); }) ==
        "{\"metric\": \"sparse_categorical_crossentropy\", \"result\": 0.5, \"total\": 1.25, \"count\": 2.5, "
        "\"elements\": 3, \"rows\": 3, \"classes\": 2, \"chunks\": 1, \"seconds\": 0.25, \"isa\": \"" + isa +
            "\", \"y_pred_dtype\": \"<f4\"}\n");

  o.per_class_requested = true;
  o.per_class = {{0.1f, 0.2, 2.0}, {std::numeric_limits<float>::quiet_NaN(), 0.0, 0.0}};
  o.result = std::numeric_limits<float>::infinity();
  // Quantized predictions: their parameters follow the dtype (the scale as the float32 it is).
  o.pred_dtype = "|i1";
  o.quantized = true;
  o.pred_scale = 0.1f;
  o.pred_zero_point = -5;
  CHECK(capture([&](std::FILE* f) { xent::cli::print_plain(f, o); }) ==
        "inf\nclass 0: 0.100000001 (count 2)\nclass 1: nan (count 0)\n");
  // JSON has no NaN or infinity.
  CHECK(capture([&](std::FILE* f) { xent::cli::print_json(f, o, 1.0); }) ==
        "{\"metric\": \"sparse_categorical_crossentropy\", \"result\": null, \"total\": 1.25, \"count\": 2.5, "
        "\"elements\": 3, \"rows\": 3, \"classes\": 2, \"chunks\": 1, \"seconds\": 1, \"isa\": \"" + isa +
            "\", \"y_pred_dtype\": \"|i1\", \"y_pred_scale\": 0.100000001, \"y_pred_zero_point\": -5, \"per_class\": [{\"class\": 0, \"result\": 0.100000001, \"total\": 0.20000000000000001, "
            "\"count\": 2}, {\"class\": 1, \"result\": null, \"total\": 0, \"count\": 0}]}\n");
  CHECK(xent::cli::json_number(-std::numeric_limits<double>::infinity(), 17) == "null");
  CHECK(xent::cli::json_number(0.1, 17) == "0.10000000000000001");
}

TEST_CASE("cli/output: numbers, shapes and positions as messages print them") {
  CHECK(xent::cli::float_text(-std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(xent::cli::float_text(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(xent::cli::float_text(1.0 / 3.0) == "0.333333333");
  CHECK(xent::cli::float_text(1.0 / 3.0, 17) == "0.33333333333333331");
  const std::size_t dims[] = {4, 3, 2};
  CHECK(xent::cli::shape_text(dims, 0) == "()");
  CHECK(xent::cli::shape_text(dims, 1) == "(4,)");
  CHECK(xent::cli::shape_text(dims, 3) == "(4, 3, 2)");
  CHECK(xent::cli::position_text(13, dims, 3) == "index (2, 0, 1)");
  CHECK(xent::cli::position_text(3, dims, 1) == "row 3");
  const std::size_t rows_only[] = {10, 1, 1};
  CHECK(xent::cli::position_text(7, rows_only, 3) == "row 7");
}

TEST_CASE("cli/output: the progress bar draws nothing when off, and a failed write is an error") {
  std::FILE* err = std::tmpfile();
  REQUIRE(err != nullptr);
  {
    xent::cli::Progress off(err, false, 100);
    off.update(50);
    off.clear();
  }
  CHECK(xent_test::slurp(err).empty());
  std::FILE* full = std::fopen("/dev/full", "w");
  if (full != nullptr) {  // Linux: every write fails with ENOSPC
    std::FILE* e = std::tmpfile();
    REQUIRE(e != nullptr);
    std::fputs("0.5\n", full);
    CHECK(xent::cli::finish_output(full, e) == xent::cli::kExitData);
    std::fclose(full);
    const std::string line = xent_test::slurp(e);
    CHECK(line.rfind("xent: cannot write the output: ", 0) == 0);
    CHECK(xent_test::lines(line) == 1);
  }
}
