#pragma once
// Running the command line in-process (xent_main) with captured stdout/stderr, and the checks
// every failing run must pass: its exit code, nothing on stdout, one line on stderr.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

namespace xent_test {

inline std::string path_of(const std::string& name) { return std::string(XENT_CLI_TEST_DIR) + "/" + name; }

struct Run {
  int rc = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

inline Run run(std::vector<std::string> args) {
  args.insert(args.begin(), "xent");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  REQUIRE(out != nullptr);
  REQUIRE(err != nullptr);
  Run r;
  r.rc = xent::cli::xent_main(static_cast<int>(args.size()), argv.data(), out, err);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// Exit 1, nothing on stdout, one line on stderr naming the file and the problem.
inline void check_data_error(const Run& r, const std::string& file, const std::string& what) {
  CAPTURE(r.err);
  CHECK(r.rc == 1);
  CHECK(r.out.empty());
  CHECK(lines(r.err) == 1);
  CHECK((!r.err.empty() && r.err.back() == '\n'));
  CHECK(r.err.find(file) != std::string::npos);
  CHECK(r.err.find(what) != std::string::npos);
}

inline void check_usage_error(const Run& r, const std::string& what) {
  CAPTURE(r.err);
  CHECK(r.rc == 2);
  CHECK(r.out.empty());
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find(what) != std::string::npos);
}

}  // namespace xent_test
