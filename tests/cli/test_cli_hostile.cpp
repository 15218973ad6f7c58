// The command line against hostile files (issue 13): each must end in exit 1, exactly one line on
// stderr naming the file and the problem, nothing on stdout, and no hang (this binary's ctest
// entries have a short TIMEOUT). Non-regular paths, then malformed headers, then bad data.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "npy_writer.hpp"

using xent_test::check_data_error;
using xent_test::path_of;
using xent_test::run;
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
  check_data_error(eval_sparse(ok.labels, dir), dir, "not a regular file: a directory");
  ::rmdir(dir.c_str());

  if (::access("/dev/zero", R_OK) == 0)
    check_data_error(eval_sparse(ok.labels, "/dev/zero"), "/dev/zero", "not a regular file: a character device");
  if (::access("/dev/null", R_OK) == 0)
    check_data_error(eval_sparse("/dev/null", ok.probs), "/dev/null", "not a regular file: a character device");
}
