// The command-line test runner: doctest's main, plus `--write-fixtures DIR`, which writes the
// .npy files and expected outputs that the ctest entries running the real `xent` binary use.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"
#include "npy_writer.hpp"

namespace {

int write_fixtures(const std::string& dir) {
  using xent_test::write_npy;
  const std::size_t rows = 300, classes = 5;
  xent_test::Rng rng(42);
  std::vector<float> probs(rows * classes), weights(rows);
  std::vector<std::int64_t> labels(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::size_t k = 0; k < classes; ++k) s += probs[r * classes + k] = static_cast<float>(rng.uniform() + 0.01);
    for (std::size_t k = 0; k < classes; ++k) probs[r * classes + k] = static_cast<float>(probs[r * classes + k] / s);
    labels[r] = static_cast<std::int64_t>(rng.below(classes));
    weights[r] = static_cast<float>(rng.uniform());
  }
  std::vector<std::int64_t> bad_labels = labels;
  bad_labels[123] = 5;
  const std::vector<unsigned char> not_npy = {'n', 'o', 't', ' ', 'n', 'p', 'y', '\n'};
  const bool ok = write_npy(dir + "/fixture_probs.npy", "<f4", {rows, classes}, probs) &&
                  write_npy(dir + "/fixture_labels.npy", "<i8", {rows}, labels) &&
                  write_npy(dir + "/fixture_weights.npy", "<f4", {rows}, weights) &&
                  write_npy(dir + "/fixture_short_weights.npy", "<f4", {rows - 1},
                            std::vector<float>(weights.begin(), weights.end() - 1)) &&
                  write_npy(dir + "/fixture_bad_labels.npy", "<i8", {rows}, bad_labels) &&
                  xent_test::write_bytes(dir + "/fixture_bad_magic.npy", not_npy);
  if (!ok) {
    std::fprintf(stderr, "cannot write the fixtures into %s\n", dir.c_str());
    return 1;
  }
  // The expected stdout of the real binary: the same code run in-process (the float64 checks of
  // these values live in the doctest cases).
  const std::string t = dir + "/fixture_labels.npy", p = dir + "/fixture_probs.npy", w = dir + "/fixture_weights.npy";
  const char* argv[] = {"xent", "eval", "--metric", "sparse", "--y-true", t.c_str(), "--y-pred", p.c_str(),
                        "--sample-weight", w.c_str(), "--chunk-rows", "7", nullptr};
  std::FILE* out = std::fopen((dir + "/expected_sparse_weighted.txt").c_str(), "wb");
  if (out == nullptr) return 1;
  const int rc = xent::cli::xent_main(12, const_cast<char**>(argv), out, stderr);
  std::fclose(out);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-fixtures") == 0) return write_fixtures(argv[2]);
  doctest::Context context(argc, argv);
  return context.run();
}
