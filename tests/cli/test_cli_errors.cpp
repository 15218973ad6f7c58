// The xent command line: bad files, usage errors, version/help/demo, and random invocations that
// must always answer in one line.
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
