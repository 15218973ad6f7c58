// The Eigen 3.4 baseline: array expressions over row-major maps, the code a user would write.
// Temporaries of one value per row are allocated once and reused, as a careful user would.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "baselines.hpp"

namespace xent_bench {
namespace {

using RowArray = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using HalfRowArray = Eigen::Array<Eigen::half, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<const RowArray>;
using Column = Eigen::ArrayXf;

Map pred_of(const Case& c) { return Map(c.pred, Eigen::Index(c.rows), Eigen::Index(c.classes)); }
Map truth_of(const Case& c) { return Map(c.truth, Eigen::Index(c.rows), Eigen::Index(c.classes)); }

// Per-row scratch, kept across calls (a user's member variables).
Column& scratch(int which, std::size_t rows) {
  static Column cols[3];
  if (cols[which].size() != Eigen::Index(rows)) cols[which].resize(Eigen::Index(rows));
  return cols[which];
}

template <class Z>
double sparse_from_logits(const Z& z, const Case& c) {
  Column& m = scratch(0, c.rows);
  Column& lse = scratch(1, c.rows);
  m = z.rowwise().maxCoeff();
  lse = (z.colwise() - m).exp().rowwise().sum().log() + m;
  double total = 0.0;
  for (Eigen::Index r = 0; r < Eigen::Index(c.rows); ++r)
    total += static_cast<double>(lse(r) - static_cast<float>(z(r, c.labels[r])));
  return total;
}

double sparse_logits(const Case& c) { return sparse_from_logits(pred_of(c), c); }

// A user holding float16 data in Eigen keeps it as Eigen::half and casts the expression.
const HalfRowArray& half_copy(const Case& c) {
  static HalfRowArray copy;
  static const std::uint16_t* copied_from = nullptr;
  if (copied_from != c.pred_f16 || copy.size() != Eigen::Index(c.rows * c.classes)) {
    copy.resize(Eigen::Index(c.rows), Eigen::Index(c.classes));
    std::memcpy(static_cast<void*>(copy.data()), c.pred_f16, c.rows * c.classes * sizeof(std::uint16_t));
    copied_from = c.pred_f16;
  }
  return copy;
}

double sparse_logits_f16(const Case& c) {
  const HalfRowArray& copy = half_copy(c);
  Column& m = scratch(0, c.rows);
  Column& lse = scratch(1, c.rows);
  const auto z = copy.cast<float>();
  m = z.rowwise().maxCoeff();
  lse = (z.colwise() - m).exp().rowwise().sum().log() + m;
  double total = 0.0;
  for (Eigen::Index r = 0; r < Eigen::Index(c.rows); ++r)
    total += static_cast<double>(lse(r) - static_cast<float>(copy(r, c.labels[r])));
  return total;
}

double sparse_probs(const Case& c) {
  const Map p = pred_of(c);
  Column& log_sum = scratch(0, c.rows);
  log_sum = p.max(kEps).min(kOneMinusEps).rowwise().sum().log();
  double total = 0.0;
  for (Eigen::Index r = 0; r < Eigen::Index(c.rows); ++r) {
    const float pl = std::min(std::max(p(r, c.labels[r]), kEps), kOneMinusEps);
    total += static_cast<double>(log_sum(r) - std::log(pl));
  }
  return total;
}

double categorical_logits(const Case& c) {
  const Map z = pred_of(c);
  const float ls = c.label_smoothing;
  Column& m = scratch(0, c.rows);
  Column& log_s = scratch(1, c.rows);
  Column& loss = scratch(2, c.rows);
  m = z.rowwise().maxCoeff();
  log_s = (z.colwise() - m).exp().rowwise().sum().log();
  if (ls > 0.0f) {
    loss = ((truth_of(c) * (1.0f - ls) + ls / float(c.classes)) * (-((z.colwise() - m).colwise() - log_s)))
               .rowwise()
               .sum();
  } else {
    loss = (truth_of(c) * (-((z.colwise() - m).colwise() - log_s))).rowwise().sum();
  }
  return loss.cast<double>().sum();
}

double categorical_probs(const Case& c) {
  const Map p = pred_of(c);
  const float ls = c.label_smoothing;
  Column& s = scratch(0, c.rows);
  Column& loss = scratch(1, c.rows);
  s = p.rowwise().sum();
  if (ls > 0.0f) {
    loss = -((truth_of(c) * (1.0f - ls) + ls / float(c.classes)) *
             (p.colwise() / s).max(kEps).min(kOneMinusEps).log())
                .rowwise()
                .sum();
  } else {
    loss = -(truth_of(c) * (p.colwise() / s).max(kEps).min(kOneMinusEps).log()).rowwise().sum();
  }
  return loss.cast<double>().sum();
}

void log_n(const float* x, float* out, std::size_t n) {
  Eigen::Map<Eigen::ArrayXf>(out, Eigen::Index(n)) = Eigen::Map<const Eigen::ArrayXf>(x, Eigen::Index(n)).log();
}

float logsumexp(const float* x, std::size_t n) {
  const Eigen::Map<const Eigen::ArrayXf> a(x, Eigen::Index(n));
  const float m = a.maxCoeff();
  return std::log((a - m).exp().sum()) + m;
}

double sum(const float* x, std::size_t n) {
  return static_cast<double>(Eigen::Map<const Eigen::ArrayXf>(x, Eigen::Index(n)).sum());
}

// ---- The same, written one row at a time: each row a contiguous vector, which Eigen vectorizes
// with its own exp/log packets (the whole-matrix broadcasts above may not be).
using RowMap = Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>>;

RowMap row_of(const float* base, const Case& c, std::size_t r) {
  return RowMap(base + r * c.classes, Eigen::Index(c.classes));
}

double rows_sparse_logits(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const RowMap z = row_of(c.pred, c, r);
    const float m = z.maxCoeff();
    const float lse = std::log((z - m).exp().sum()) + m;
    total += static_cast<double>(lse - z(c.labels[r]));
  }
  return total;
}

double rows_sparse_logits_f16(const Case& c) {
  const HalfRowArray& copy = half_copy(c);
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const auto z = copy.row(Eigen::Index(r)).cast<float>();
    const float m = z.maxCoeff();
    const float lse = std::log((z - m).exp().sum()) + m;
    total += static_cast<double>(lse - static_cast<float>(copy(Eigen::Index(r), c.labels[r])));
  }
  return total;
}

double rows_sparse_probs(const Case& c) {
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const RowMap p = row_of(c.pred, c, r);
    const float s = p.max(kEps).min(kOneMinusEps).sum();
    const float pl = std::min(std::max(p(c.labels[r]), kEps), kOneMinusEps);
    total += static_cast<double>(std::log(s) - std::log(pl));
  }
  return total;
}

double rows_categorical_logits(const Case& c) {
  const float ls = c.label_smoothing;
  const float keep = ls > 0.0f ? 1.0f - ls : 1.0f;
  const float spread = ls > 0.0f ? ls / float(c.classes) : 0.0f;
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const RowMap z = row_of(c.pred, c, r);
    const RowMap t = row_of(c.truth, c, r);
    const float m = z.maxCoeff();
    const float log_s = std::log((z - m).exp().sum());
    total += static_cast<double>(((t * keep + spread) * (log_s - (z - m))).sum());
  }
  return total;
}

double rows_categorical_probs(const Case& c) {
  const float ls = c.label_smoothing;
  const float keep = ls > 0.0f ? 1.0f - ls : 1.0f;
  const float spread = ls > 0.0f ? ls / float(c.classes) : 0.0f;
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r) {
    const RowMap p = row_of(c.pred, c, r);
    const RowMap t = row_of(c.truth, c, r);
    const float s = p.sum();
    total -= static_cast<double>(((t * keep + spread) * (p / s).max(kEps).min(kOneMinusEps).log()).sum());
  }
  return total;
}

}  // namespace

const Baseline* eigen_rows_baseline() {
  static const Baseline b{"eigen_rows",
                          rows_sparse_logits,
                          rows_sparse_logits_f16,
                          rows_sparse_probs,
                          rows_categorical_logits,
                          rows_categorical_probs,
                          nullptr,
                          nullptr,
                          nullptr};
  return &b;
}

const Baseline* eigen_baseline() {
  static const Baseline b{"eigen",            sparse_logits,     sparse_logits_f16, sparse_probs,
                          categorical_logits, categorical_probs, log_n,             logsumexp,
                          sum};
  return &b;
}

const char* eigen_simd_info() {
  static const std::string info = std::string("Eigen ") + std::to_string(EIGEN_WORLD_VERSION) + "." +
                                  std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) +
                                  " (" + Eigen::SimdInstructionSetsInUse() + ")";
  return info.c_str();
}

}  // namespace xent_bench
