// The command line against hostile files (issue 13): each must end in exit 1, exactly one line on
// stderr naming the file and the problem, nothing on stdout, and no hang (this binary's ctest
// entries have a short TIMEOUT). Non-regular paths, then malformed headers, then bad data.
// Files that shrink while they are read are in test_cli_shrink.cpp.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "npy_writer.hpp"

using xent_test::check_data_error;
using xent_test::NpySpec;
using xent_test::path_of;
using xent_test::run;
using xent_test::write_bytes;
using xent_test::write_npy;

namespace {

// A valid pair to put beside the hostile file: 4 rows of 3 classes.
struct Pair {
  std::string labels, probs;
};

Pair valid_pair(const std::string& tag) {
  Pair p{path_of("hostile_" + tag + "_labels.npy"), path_of("hostile_" + tag + "_probs.npy")};
  REQUIRE(write_npy(p.labels, "<i8", {4}, std::vector<std::int64_t>{0, 1, 2, 1}));
  REQUIRE(write_npy(p.probs, "<f4", {4, 3}, std::vector<float>(12, 1.0f / 3.0f)));
  return p;
}

xent_test::Run eval_sparse(const std::string& t, const std::string& p, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"eval", "--metric", "sparse", "--y-true", t, "--y-pred", p};
  a.insert(a.end(), extra.begin(), extra.end());
  return run(a);
}

// An .npy file whose header dict is given verbatim (shape text and all), followed by data_bytes zeros.
std::string header_file(const std::string& name, const std::string& dict, std::size_t data_bytes = 0) {
  NpySpec s;
  s.dict_override = dict;
  const std::vector<unsigned char> zeros(data_bytes, 0);
  const std::string path = path_of(name);
  REQUIRE(write_bytes(path, xent_test::npy_bytes(s, zeros.data(), zeros.size())));
  return path;
}

std::string dict_with_shape(const char* descr, const std::string& shape) {
  return std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

// The same file checked as y_pred, as y_true and as the sample weights: each role names it.
void check_every_role(const std::string& bad, const std::string& what) {
  const Pair ok = valid_pair("roles_" + bad.substr(bad.rfind('/') + 1));
  CAPTURE(bad);
  check_data_error(eval_sparse(ok.labels, bad), bad, what);
  check_data_error(eval_sparse(bad, ok.probs), bad, what);
  check_data_error(eval_sparse(ok.labels, ok.probs, {"--sample-weight", bad}), bad, what);
}

constexpr std::size_t kSizeMax = std::numeric_limits<std::size_t>::max();

}  // namespace

TEST_CASE("cli/hostile: a FIFO, a directory and /dev/zero are refused without blocking") {
  const Pair ok = valid_pair("special");
  const std::string fifo = path_of("hostile_fifo.npy");
  ::unlink(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // No writer ever opens the FIFO: a blocking open would wait here forever.
  check_data_error(eval_sparse(ok.labels, fifo), fifo, "not a regular file: a FIFO (pipes are not supported)");
  check_data_error(eval_sparse(fifo, ok.probs), fifo, "not a regular file: a FIFO");
  check_data_error(eval_sparse(ok.labels, ok.probs, {"--sample-weight", fifo}), fifo, "a FIFO");
  ::unlink(fifo.c_str());

  const std::string dir = path_of("hostile_dir.npy");
  ::rmdir(dir.c_str());
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  check_every_role(dir, "not a regular file: a directory");
  ::rmdir(dir.c_str());

  if (::access("/dev/zero", R_OK) == 0) check_every_role("/dev/zero", "not a regular file: a character device");
  if (::access("/dev/null", R_OK) == 0)
    check_data_error(eval_sparse("/dev/null", ok.probs), "/dev/null", "not a regular file: a character device");
}

TEST_CASE("cli/hostile: an empty file, in every role") {
  const std::string empty = path_of("hostile_empty.npy");
  REQUIRE(write_bytes(empty, {}));
  check_every_role(empty, "truncated header: the file has 0 bytes");
}

TEST_CASE("cli/hostile: shapes whose element count or byte size overflows size_t") {
  const std::string bits = std::to_string(sizeof(std::size_t) * 8);
  // 2^16 to the fourth: 2^64 elements, beyond size_t on every target.
  check_every_role(header_file("hostile_overflow_count.npy", dict_with_shape("<f4", "(65536, 65536, 65536, 65536)")),
                   "the shape is too large: its byte size overflows " + bits + " bits");
  // The count fits, the byte size (x 4) does not.
  check_every_role(header_file("hostile_overflow_bytes.npy", dict_with_shape("<f4", "(" + std::to_string(kSizeMax / 2) + ",)")),
                   "the shape is too large: its byte size overflows " + bits + " bits");
  // A single dimension beyond size_t.
  check_every_role(header_file("hostile_overflow_dim.npy", dict_with_shape("<f4", "(99999999999999999999999, 2)")),
                   "a dimension of the shape does not fit in " + bits + " bits");
  // The byte size fits, the file does not hold it.
  check_every_role(header_file("hostile_huge_short.npy", dict_with_shape("<f4", "(" + std::to_string(kSizeMax / 8) + ",)"), 4),
                   "truncated data");
}

TEST_CASE("cli/hostile: empty arrays with a huge first dimension finish at once") {
  // No data at all (a zero dimension), yet 2^62 (or 2^30) rows: chunking them one million rows at a
  // time would take hours. An empty batch is a successful no-op: the result of a fresh metric.
  const std::string rows = std::to_string(kSizeMax / 4 + 1);
  const std::string p = header_file("hostile_empty_rows_probs.npy", dict_with_shape("<f4", "(" + rows + ", 0, 5)"));
  const std::string t = header_file("hostile_empty_rows_labels.npy", dict_with_shape("<i8", "(" + rows + ", 0)"));
  const xent_test::Run sparse = eval_sparse(t, p, {"--no-progress"});
  CAPTURE(sparse.err);
  CHECK(sparse.rc == 0);
  CHECK(sparse.out == "0\n");
  const xent_test::Run categorical = run({"eval", "--metric", "categorical", "--y-true", p, "--y-pred", p});
  CAPTURE(categorical.err);
  CHECK(categorical.rc == 0);
  CHECK(categorical.out == "0\n");
  // Zero classes and many rows: refused at the first chunk, as soon as rows exist.
  const std::string k0 = header_file("hostile_zero_classes.npy", dict_with_shape("<f4", "(" + rows + ", 0)"));
  const std::string t0 = header_file("hostile_zero_classes_labels.npy", dict_with_shape("|u1", "(0,)"));
  check_data_error(run({"eval", "--metric", "categorical", "--y-true", k0, "--y-pred", k0}), k0, "has length 0");
  check_data_error(eval_sparse(t0, k0), t0, "does not fit");
}

TEST_CASE("cli/hostile: a header length past the end of the file") {
  const Pair ok = valid_pair("header_len");
  NpySpec s;
  s.shape = {4, 3};
  const std::vector<float> data(12, 0.25f);
  {
    // Version 1: a 16-bit length of 65535 in a file of a few hundred bytes.
    std::vector<unsigned char> b = xent_test::npy_bytes(s, data.data(), data.size() * 4);
    b[8] = 0xff;
    b[9] = 0xff;
    const std::string path = path_of("hostile_header_len_v1.npy");
    REQUIRE(write_bytes(path, b));
    check_every_role(path, "truncated header: the header needs 65545 bytes, the file has " + std::to_string(b.size()));
  }
  {
    // Version 2: a 32-bit length at the limit (1 MiB), and one far beyond it.
    s.version = 2;
    std::vector<unsigned char> b = xent_test::npy_bytes(s, data.data(), data.size() * 4);
    b[8] = 0;
    b[9] = 0;
    b[10] = 0x10;
    b[11] = 0;
    const std::string path = path_of("hostile_header_len_v2.npy");
    REQUIRE(write_bytes(path, b));
    check_every_role(path, "truncated header: the header needs 1048588 bytes");
    b[8] = b[9] = b[10] = b[11] = 0xff;
    REQUIRE(write_bytes(path, b));
    check_every_role(path, "its length 4294967295 is above the limit");
  }
  {
    // A length that cuts the dict short: the dict is malformed, not the file truncated.
    NpySpec v1;
    v1.shape = {4, 3};
    std::vector<unsigned char> b = xent_test::npy_bytes(v1, data.data(), data.size() * 4);
    b[8] = 20;
    b[9] = 0;
    const std::string path = path_of("hostile_header_len_short.npy");
    REQUIRE(write_bytes(path, b));
    check_data_error(eval_sparse(ok.labels, path), path, "bad header");
  }
}

TEST_CASE("cli/hostile: negative or non-integer dimensions") {
  struct Bad {
    std::string shape, token;
  };
  const Bad bad[] = {
      {"(-4, 3)", "-4"}, {"(4, -3)", "-3"}, {"(4.5, 3)", "4.5"}, {"(4, 3.0)", "3.0"}, {"(1e3, 3)", "1e3"},
      {"(4, 0x3)", "0x3"}, {"(None, 3)", "None"}, {"('4', 3)", "'4'"}, {"(4, 3j)", "3j"}, {"(4, 3L5)", "3L5"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.shape);
    const std::string path = header_file("hostile_dims.npy", dict_with_shape("<f4", b.shape), 48);
    check_every_role(path, "bad header: the shape must be a tuple of non-negative integers, not '" + b.token + "'");
  }
}

TEST_CASE("cli/hostile: NaN and infinite float labels") {
  const std::size_t rows = 50;
  const std::string probs = path_of("hostile_nan_label_probs.npy");
  REQUIRE(write_npy(probs, "<f4", {rows, 3}, std::vector<float>(rows * 3, 1.0f / 3.0f)));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const float bad : {nan, -nan, inf, -inf}) {
    for (const std::size_t at : {std::size_t{0}, std::size_t{17}, rows - 1}) {
      CAPTURE(bad);
      CAPTURE(at);
      std::vector<float> f(rows, 1.0f);
      f[at] = bad;
      std::vector<double> d(f.begin(), f.end());
      const std::string want = "label " + std::string(std::isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf") + " at row " +
                               std::to_string(at) + " is outside [0, 3)";
      const std::string f4 = path_of("hostile_nan_label_f4.npy"), f8 = path_of("hostile_nan_label_f8.npy");
      REQUIRE(write_npy(f4, "<f4", {rows}, f));
      REQUIRE(write_npy(f8, "<f8", {rows}, d));
      check_data_error(eval_sparse(f4, probs), f4, want);
      check_data_error(eval_sparse(f8, probs, {"--chunk-rows", "7"}), f8, want);
      // ignore_class never matches a NaN: still refused.
      check_data_error(eval_sparse(f4, probs, {"--ignore-class", "0"}), f4, want);
    }
  }
  // float16 labels: 0x7e00 is NaN, 0x7c00 infinity.
  std::vector<std::uint16_t> h(rows, 0x3c00);  // 1.0
  h[rows - 1] = 0x7e00;
  const std::string f2 = path_of("hostile_nan_label_f2.npy");
  REQUIRE(write_npy(f2, "<f2", {rows}, h));
  check_data_error(eval_sparse(f2, probs), f2, "label nan at row 49 is outside [0, 3)");
}

TEST_CASE("cli/hostile: a bad label in the very last row of a file larger than one chunk") {
  // 300,000 rows x 4 classes: 1.2 M predictions, two default chunks of 2^20; the last row is in
  // the second. Every label dtype, every row-chunking.
  const std::size_t rows = 300000, classes = 4;
  const std::string probs = path_of("hostile_last_row_probs.npy");
  REQUIRE(write_npy(probs, "<f4", {rows, classes}, std::vector<float>(rows * classes, 0.25f)));
  const std::string want = "label 4 at row 299999 is outside [0, 4)";
  const std::string t = path_of("hostile_last_row_labels.npy");
  auto labels_of = [&](auto zero) {
    std::vector<decltype(zero)> v(rows);
    for (std::size_t r = 0; r < rows; ++r) v[r] = static_cast<decltype(zero)>(r % classes);
    v[rows - 1] = static_cast<decltype(zero)>(classes);
    return v;
  };
  REQUIRE(write_npy(t, "<i8", {rows}, labels_of(std::int64_t{})));
  const xent_test::Run json = eval_sparse(t, probs, {"--json"});
  check_data_error(json, t, want);
  for (const char* chunk : {"1000", "65536", "299999", "300000"}) {
    CAPTURE(chunk);
    check_data_error(eval_sparse(t, probs, {"--chunk-rows", chunk}), t, want);
  }
  REQUIRE(write_npy(t, "<i4", {rows}, labels_of(std::int32_t{})));
  check_data_error(eval_sparse(t, probs), t, want);
  REQUIRE(write_npy(t, "|u1", {rows}, labels_of(std::uint8_t{})));
  check_data_error(eval_sparse(t, probs), t, want);
  REQUIRE(write_npy(t, "<u2", {rows}, labels_of(std::uint16_t{})));
  check_data_error(eval_sparse(t, probs), t, want);
  REQUIRE(write_npy(t, "<f4", {rows}, labels_of(float{})));
  check_data_error(eval_sparse(t, probs), t, want);
  // With the labels as [rows, 1] and the class axis first (y_pred transposed, gathered per class).
  REQUIRE(write_npy(t, "<i8", {rows, 1}, labels_of(std::int64_t{})));
  check_data_error(eval_sparse(t, probs), t, "label 4 at row 299999 is outside [0, 4)");
  std::vector<float> transposed(rows * classes, 0.25f);
  const std::string pt = path_of("hostile_last_row_probs_t.npy"), tt = path_of("hostile_last_row_labels_t.npy");
  REQUIRE(write_npy(pt, "<f4", {classes, rows}, transposed));
  REQUIRE(write_npy(tt, "<i8", {rows}, labels_of(std::int64_t{})));
  check_data_error(eval_sparse(tt, pt, {"--axis", "0"}), tt, want);
}
