#pragma once
// Evaluation: what to compute (Spec), what came out (Outcome), and evaluate(), shared by `eval`
// (files read chunk by chunk) and `demo` (embedded arrays).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/source.hpp"

namespace xent::cli {

struct Spec {
  bool sparse = true;
  bool from_logits = false;
  float label_smoothing = 0.0f;
  int axis = -1;
  std::optional<std::int64_t> ignore_class;
  bool nan_reject = false;
  bool per_class = false;
  std::size_t chunk_rows = 0;  // 0: about 1 Mi y_pred elements per chunk
  bool progress = false;
  // 8-bit y_pred (|i1 or |u1) standing for float32(scale * (q - zero_point)); checked by the caller
  // (args.hpp: check_quantization), evaluate refuses an 8-bit y_pred without it.
  bool quantized = false;
  float pred_scale = 1.0f;
  std::int32_t pred_zero_point = 0;
};

struct ClassResult {
  float result;
  double total;
  double count;
};

struct Outcome {
  std::string metric;
  float result = 0.0f;
  double total = 0.0;
  double count = 0.0;
  std::size_t elements = 0;  // per-element losses (y_pred's elements without the class axis)
  std::size_t rows = 0;      // y_pred's first dimension
  std::size_t classes = 0;
  std::size_t chunks = 0;
  std::string pred_dtype;  // y_pred's dtype as stored, e.g. "<f4" or "|i1"
  bool quantized = false;  // then pred_scale and pred_zero_point hold its parameters
  float pred_scale = 1.0f;
  std::int32_t pred_zero_point = 0;
  bool per_class_requested = false;
  std::vector<ClassResult> per_class;
};

// Checks that the arrays fit, plans the sources, and runs the metric chunk by chunk. On failure one
// line on err naming the file and the problem, kExitData; else kExitOk with out filled.
int evaluate(const Spec& spec, Source& truth, Source& pred, Source* weights, Outcome& out, std::FILE* err);

}  // namespace xent::cli
