// Shared by the command-line tests (test_cli*.cpp): float64 evaluations of SEMANTICS.md on the
// float32 values as stored, a random data set written as .npy files, and `xent eval` runs.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "npy_writer.hpp"

namespace xent_cli_test {

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

inline double number(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

// The value of "key": in a one-line JSON object (our own output: no nesting before per_class).
inline double json_value(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const std::size_t at = json.find(k);
  REQUIRE_MESSAGE(at != std::string::npos, key);
  return number(json.substr(at + k.size()));
}

// ---- float64 references (SEMANTICS.md), on the float32 values as stored.
constexpr float kEps = 1e-7f;
inline const float kOneMinusEps = 1.0f - kEps;

inline double clip(double p) { return std::min(std::max(p, static_cast<double>(kEps)), static_cast<double>(kOneMinusEps)); }

inline double sparse_loss(const float* row, std::size_t k, std::size_t stride, std::int64_t label, bool logits) {
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

inline double categorical_loss(const float* p, const float* t, std::size_t k, bool logits, float ls) {
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
inline double half_value(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v = exp == 0 ? std::ldexp(man, -24) : exp == 31 ? (man ? NAN : INFINITY) : std::ldexp(man + 1024, exp - 25);
  return sign ? -v : v;
}

inline void check_rel(double got, double want, double tol = 1e-6) {
  CAPTURE(got);
  CAPTURE(want);
  CHECK(std::fabs(got - want) <= tol * std::fabs(want));
}

struct Data {
  std::size_t rows = 0, classes = 0;
  std::vector<float> probs, logits, onehot, weights;
  std::vector<std::int64_t> labels;
};

inline Data make_data(std::size_t rows, std::size_t classes, std::uint64_t seed) {
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

inline double sparse_reference(const Data& d, bool logits, const std::vector<float>* w = nullptr) {
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

inline Files write_data(const Data& d, const std::string& prefix) {
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
inline std::vector<T> cast_all(const std::vector<S>& v) {
  std::vector<T> out;
  for (const S& x : v) out.push_back(static_cast<T>(x));
  return out;
}

inline Run eval(const std::string& metric, const std::string& t, const std::string& p, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"eval", "--metric", metric, "--y-true", t, "--y-pred", p};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args);
}

inline double ok_result(const Run& r) {
  CAPTURE(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  return number(r.out);
}

}  // namespace xent_cli_test
