#pragma once
// The cases as data, free of Google Benchmark: what a case is, its input, xent's result on it and
// each baseline's function for it. Shared by xent_bench and the ARM instruction counts (arm_counts.cpp).
#include <cstddef>

#include "baselines.hpp"

namespace xent_bench {

enum class Kind { sparse_logits, sparse_logits_f16, sparse_probs, categorical_logits, categorical_probs };

struct Spec {
  Kind kind = Kind::sparse_logits;
  std::size_t rows = 0;
  std::size_t classes = 0;
  float label_smoothing = 0.0f;
};

const char* kind_name(Kind kind);

// The case's input (bench_data's batch, made on first use) as a baseline reads it.
Case case_of(const Spec& spec);

// The batch total of one fresh metric's update_state over the case (what the metric adds to total()).
double xent_total(const Spec& spec);

// The baseline function for this kind, or null when the baseline does not offer it.
double (*baseline_fn(const Baseline& b, Kind kind))(const Case&);

}  // namespace xent_bench
