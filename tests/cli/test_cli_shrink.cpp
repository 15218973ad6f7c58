// Files that shrink while the command line reads them (issue 13). Another process truncating an
// input is the one hostile file that changes under us; a memory map of it would raise SIGBUS on
// the first page past the new end and kill the process. The reader uses pread instead
// (npy::File), so a short read is an error like any other: exit 1, one line naming the file.
// The shrink is made deterministic by npy's read hook: it truncates the file just before the
// read that reaches a chosen offset (at the header, between the header and the data - where a
// mapping would have been made - or mid-stream, after some chunks were used).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "npy.hpp"
#include "npy_writer.hpp"

using xent_test::check_data_error;
using xent_test::path_of;
using xent_test::run;
using xent_test::write_npy;

namespace {

// Which file to shrink, at which read, to what size; filled by a test, read by the hook.
struct Shrink {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  std::uint64_t reaching = 0;  // truncate before the first read that reaches past this offset
  std::uint64_t to = 0;        // the new size
  std::uint64_t data = 0;      // where the file's data starts
  int header_reads = 0;        // reads of this file before the shrink: of its header
  int data_reads = 0;          // and of its data (chunks used)
  bool done = false;
};
Shrink g_shrink;

void shrink_hook(int fd, std::uint64_t offset, std::size_t length) {
  struct stat st;
  if (g_shrink.done || fstat(fd, &st) != 0 || st.st_dev != g_shrink.dev || st.st_ino != g_shrink.ino) return;
  if (offset + length <= g_shrink.reaching) {
    ++(offset >= g_shrink.data && length > 0 ? g_shrink.data_reads : g_shrink.header_reads);
    return;
  }
  // CHECK, not REQUIRE: this runs inside the reader's noexcept functions.
  CHECK(::truncate(g_shrink.path.c_str(), static_cast<off_t>(g_shrink.to)) == 0);
  g_shrink.done = true;
}

std::uint64_t size_of(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t data_offset(const std::string& path) {
  xent::npy::File f;
  xent::npy::Header h;
  xent::npy::Error e;
  REQUIRE_MESSAGE(xent::npy::open_npy(path.c_str(), f, h, e), e.text);
  return h.data_offset;
}

// Arms the hook for path; disarmed again when the guard goes.
struct Armed {
  Armed(const std::string& path, std::uint64_t reaching, std::uint64_t to) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    g_shrink = Shrink{path, st.st_dev, st.st_ino, reaching, to, data_offset(path), 0, 0, false};
    xent::npy::set_read_hook(shrink_hook);
  }
  ~Armed() { xent::npy::set_read_hook(nullptr); }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;
};

std::string shrank(std::uint64_t now, std::uint64_t before) {
  return "the file shrank to " + std::to_string(now) + " bytes while it was read (" + std::to_string(before) +
         " when opened)";
}

// 300,000 rows x 4 classes: two default chunks (2^20 predictions each), the labels, the
// weights, and the same predictions class-first (4 x 300,000) for --axis 0.
struct Files {
  std::size_t rows = 300000, classes = 4;
  std::string probs, labels, weights, probs_t;
  // Each test case has its own files (tag): ctest runs the cases in parallel processes.
  explicit Files(const std::string& tag) {
    probs = path_of("shrink_" + tag + "_probs.npy");
    labels = path_of("shrink_" + tag + "_labels.npy");
    weights = path_of("shrink_" + tag + "_weights.npy");
    probs_t = path_of("shrink_" + tag + "_probs_t.npy");
  }
  // Rewritten before each case: the previous one truncated a file.
  void write() const {
    std::vector<std::int64_t> l(rows);
    for (std::size_t r = 0; r < rows; ++r) l[r] = static_cast<std::int64_t>(r % classes);
    REQUIRE(write_npy(probs, "<f4", {rows, classes}, std::vector<float>(rows * classes, 0.25f)));
    REQUIRE(write_npy(probs_t, "<f4", {classes, rows}, std::vector<float>(rows * classes, 0.25f)));
    REQUIRE(write_npy(labels, "<i8", {rows}, l));
    REQUIRE(write_npy(weights, "<f4", {rows}, std::vector<float>(rows, 0.5f)));
  }
};

xent_test::Run eval(const Files& f, std::vector<std::string> extra = {}, const std::string* pred = nullptr) {
  std::vector<std::string> a = {"eval",     "--metric", "sparse", "--y-true", f.labels,
                                "--y-pred", pred != nullptr ? *pred : f.probs,   "--no-progress"};
  a.insert(a.end(), extra.begin(), extra.end());
  return run(a);
}

}  // namespace

TEST_CASE("cli/shrink: the files are whole without the hook (the cases below can only fail by the shrink)") {
  const Files f("whole");
  f.write();
  const xent_test::Run r = eval(f, {"--sample-weight", f.weights});
  CAPTURE(r.err);
  CHECK(r.rc == 0);
  CHECK(r.out == "1.38629436\n");  // log 4
  const xent_test::Run t = eval(f, {"--axis", "0"}, &f.probs_t);
  CHECK(t.out == "1.38629436\n");
}

TEST_CASE("cli/shrink: between open and the first read, to nothing") {
  const Files f("open");
  for (const std::string* path : {&f.probs, &f.labels, &f.weights}) {
    CAPTURE(*path);
    f.write();
    const std::uint64_t size = size_of(*path);
    Armed hook(*path, 0, 0);
    check_data_error(eval(f, {"--sample-weight", f.weights}), *path, shrank(0, size));
    CHECK(g_shrink.done);
  }
}

TEST_CASE("cli/shrink: between the header and the data (where a mapping would be made)") {
  const Files f("header");
  for (const std::string* path : {&f.probs, &f.labels, &f.weights}) {
    CAPTURE(*path);
    f.write();
    const std::uint64_t size = size_of(*path), data = data_offset(*path);
    // To the end of the header, and to half the data.
    for (const std::uint64_t to : {data, data + (size - data) / 2}) {
      f.write();
      Armed hook(*path, data, to);
      check_data_error(eval(f, {"--sample-weight", f.weights}), *path, shrank(to, size));
      CHECK(g_shrink.header_reads >= 1);  // the header was read whole before, and nothing else
      CHECK(g_shrink.data_reads == 0);
    }
  }
}

TEST_CASE("cli/shrink: mid-stream, after some chunks were used") {
  const Files f("stream");
  // Default chunks (262,144 rows), and 1,000, 65,536 and 299,999 rows.
  for (const char* chunk : {"", "1000", "65536", "299999"}) {
    for (const std::string* path : {&f.probs, &f.labels, &f.weights}) {
      CAPTURE(chunk);
      CAPTURE(*path);
      f.write();
      const std::uint64_t size = size_of(*path), data = data_offset(*path);
      // By one byte (the last element is cut), or back to two thirds (for chunks smaller than that).
      const bool small = std::string(chunk) == "1000" || std::string(chunk) == "65536";
      for (const std::uint64_t to : {size - 1, small ? data + (size - data) * 2 / 3 : size - 1}) {
        f.write();
        Armed hook(*path, to, to);
        std::vector<std::string> extra = {"--sample-weight", f.weights, "--json"};
        if (*chunk != '\0') extra.insert(extra.end(), {"--chunk-rows", chunk});
        check_data_error(eval(f, extra), *path, shrank(to, size));
        CHECK(g_shrink.data_reads >= 1);  // at least one chunk was read, and used, first
      }
    }
  }
}

TEST_CASE("cli/shrink: class-first predictions gathered class by class, and an unsliced weight") {
  const Files f("gather");
  f.write();
  const std::uint64_t size = size_of(f.probs_t), data = data_offset(f.probs_t);
  // The last class's run of the first chunk: rows 0.. of class 3 start at 3/4 of the data.
  const std::uint64_t to = data + (size - data) * 3 / 4 + 16;
  {
    Armed hook(f.probs_t, to, to);
    check_data_error(eval(f, {"--axis", "0"}, &f.probs_t), f.probs_t, shrank(to, size));
  }
  // A weight of shape (1,): read once for every chunk; cut before it is read.
  f.write();
  const std::string one = path_of("shrink_gather_one_weight.npy");
  REQUIRE(write_npy(one, "<f4", {1}, std::vector<float>{2.0f}));
  const std::uint64_t one_size = size_of(one), one_data = data_offset(one);
  Armed hook(one, one_data, one_data + 2);
  check_data_error(eval(f, {"--sample-weight", one}), one, shrank(one_data + 2, one_size));
}

TEST_CASE("cli/shrink: the reader itself: a short read after open is an error, the bytes before it still read") {
  const Files f("reader");
  f.write();
  xent::npy::File file;
  xent::npy::Header h;
  xent::npy::Error e;
  REQUIRE(xent::npy::open_npy(f.probs.c_str(), file, h, e));
  const std::uint64_t size = file.size();
  REQUIRE(::truncate(f.probs.c_str(), static_cast<off_t>(h.data_offset + 8)) == 0);
  float two[2] = {0, 0};
  CHECK(file.read(h.data_offset, two, sizeof two, e));
  CHECK(two[0] == 0.25f);
  CHECK(two[1] == 0.25f);
  float four[4];
  CHECK_FALSE(file.read(h.data_offset, four, sizeof four, e));
  CHECK(std::string(e.text) == shrank(h.data_offset + 8, size));
  // Far past the end: the same error, no fault.
  CHECK_FALSE(file.read(size - 4, four, sizeof four, e));
  CHECK(std::string(e.text).find("the file shrank to") == 0);
}
