// The libtorch baseline (one thread): what a PyTorch user calls for the same Keras result.
// Inputs are wrapped with from_blob (no copy); the int64 labels are made outside the timing.
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include "baselines.hpp"

namespace xent_bench {
namespace {

at::Tensor matrix(const float* data, const Case& c) {
  return at::from_blob(const_cast<float*>(data), {std::int64_t(c.rows), std::int64_t(c.classes)}, at::kFloat);
}
at::Tensor labels(const Case& c) {
  return at::from_blob(const_cast<std::int64_t*>(c.labels64), {std::int64_t(c.rows)}, at::kLong);
}

double sparse_logits(const Case& c) {
  return at::cross_entropy_loss(matrix(c.pred, c), labels(c), {}, at::Reduction::Sum).item<double>();
}

// Keras's sparse-from-probabilities is a cross entropy of the clipped log-probabilities.
double sparse_probs(const Case& c) {
  const at::Tensor z = at::log(at::clamp(matrix(c.pred, c), kEps, kOneMinusEps));
  return at::cross_entropy_loss(z, labels(c), {}, at::Reduction::Sum).item<double>();
}

double categorical_logits(const Case& c) {
  // cross_entropy with class-probability targets (soft labels) and Keras-style smoothing.
  return at::cross_entropy_loss(matrix(c.pred, c), matrix(c.truth, c), {}, at::Reduction::Sum, -100,
                                c.label_smoothing)
      .item<double>();
}

double categorical_probs(const Case& c) {
  const at::Tensor p = matrix(c.pred, c);
  at::Tensor t = matrix(c.truth, c);
  if (c.label_smoothing > 0.0f)
    t = t * (1.0f - c.label_smoothing) + c.label_smoothing / static_cast<float>(c.classes);
  const at::Tensor q = at::clamp(p / p.sum(-1, true), kEps, kOneMinusEps);
  return -(t * at::log(q)).sum().item<double>();
}

void log_n(const float* x, float* out, std::size_t n) {
  const at::Tensor in = at::from_blob(const_cast<float*>(x), {std::int64_t(n)}, at::kFloat);
  at::Tensor o = at::from_blob(out, {std::int64_t(n)}, at::kFloat);
  at::log_out(o, in);
}

float logsumexp(const float* x, std::size_t n) {
  const at::Tensor in = at::from_blob(const_cast<float*>(x), {std::int64_t(n)}, at::kFloat);
  return at::logsumexp(in, {0}).item<float>();
}

}  // namespace

const Baseline* torch_baseline() {
  static const Baseline b = [] {
    at::set_num_threads(1);
    return Baseline{"torch", sparse_logits, nullptr, sparse_probs, categorical_logits, categorical_probs,
                    log_n,   logsumexp,     nullptr};
  }();
  return &b;
}

const char* torch_info() {
  static const std::string info = [] {
    const std::string config = at::show_config();
    std::string capability = "unknown";
    const std::string key = "CPU capability usage: ";
    const auto at_key = config.find(key);
    if (at_key != std::string::npos) {
      const auto start = at_key + key.size();
      capability = config.substr(start, config.find('\n', start) - start);
    }
    return std::string("libtorch, 1 thread, CPU capability ") + capability;
  }();
  return info.c_str();
}

}  // namespace xent_bench
