// `xent demo`: evaluates the embedded digits data (demo_data.hpp) in every case against its
// independent float64 reference, the float outputs and their int8 / uint8 quantized versions (with
// the scale and zero point of digits_quantized.json), then measures the library's throughput on it.
#include "cli/demo.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "cli.hpp"
#include "cli/eval.hpp"
#include "cli/output.hpp"
#include "demo_data.hpp"

namespace xent::cli {
namespace {

const EmbeddedFile* find_embedded(const char* name) {
  for (std::size_t i = 0; i < kDemoFileCount; ++i)
    if (std::strcmp(kDemoFiles[i].name, name) == 0) return &kDemoFiles[i];
  return nullptr;
}

bool find_reference(const char* key, double& value) {
  for (std::size_t i = 0; i < kDemoReferenceCount; ++i)
    if (std::strcmp(kDemoReferences[i].key, key) == 0) {
      value = kDemoReferences[i].value;
      return true;
    }
  return false;
}

bool embedded_source(const char* name, Source& s, std::FILE* err) {
  s = Source{};
  s.name = std::string("embedded ") + name;
  const EmbeddedFile* f = find_embedded(name);
  if (f == nullptr) {
    report(err, kExitData, "demo: %s is not embedded in this binary", name);
    return false;
  }
  npy::Error e;
  if (!npy::parse(f->bytes, f->size, s.array, e)) {
    report(err, kExitData, "demo: %s: %s", s.name.c_str(), e.text);
    return false;
  }
  return true;
}

constexpr double kDemoTolerance = 1e-6;  // SEMANTICS.md: float32 results within 1e-6 relative

struct Case {
  const char* label;
  bool sparse;
  const char* pred;
  const char* truth;
  const char* weights;
  bool logits;        // quantized cases: from_logits comes from digits_quantized.json
  float smoothing;
  const char* reference;  // a key of digits_reference.json, or for a quantized pred one of its file's keys
  bool quantized = false;
};

// One row of the table; false (with one line on err) when the case cannot be run at all.
bool run_case(const Case& c, std::FILE* out, std::FILE* err, int& failures) {
  Source truth, pred, weights;
  if (!embedded_source(c.truth, truth, err) || !embedded_source(c.pred, pred, err)) return false;
  if (c.weights != nullptr && !embedded_source(c.weights, weights, err)) return false;
  Spec spec;
  spec.sparse = c.sparse;
  spec.from_logits = c.logits;
  spec.label_smoothing = c.smoothing;
  std::string key = c.reference;
  if (c.quantized) {
    const std::string file = c.pred;
    double scale = 0, zero_point = 0, logits = 0;
    if (!find_reference((file + "/scale").c_str(), scale) || !find_reference((file + "/zero_point").c_str(), zero_point) ||
        !find_reference((file + "/from_logits").c_str(), logits)) {
      report(err, kExitData, "demo: the parameters of %s are missing from the embedded digits_quantized.json",
             c.pred);
      return false;
    }
    spec.quantized = true;
    spec.pred_scale = static_cast<float>(scale);
    spec.pred_zero_point = static_cast<std::int32_t>(zero_point);
    spec.from_logits = logits != 0;
    key = file + "/" + c.reference;
  }
  double reference = 0;
  if (!find_reference(key.c_str(), reference)) {
    report(err, kExitData, "demo: reference '%s' is missing from the embedded %s", key.c_str(),
           c.quantized ? "digits_quantized.json" : "digits_reference.json");
    return false;
  }
  Outcome o;
  if (evaluate(spec, truth, pred, c.weights != nullptr ? &weights : nullptr, o, err) != kExitOk) return false;
  const double diff = std::fabs(static_cast<double>(o.result) - reference) / std::fabs(reference);
  const bool ok = diff <= kDemoTolerance;
  if (!ok) ++failures;
  std::fprintf(out, "  %-44s %-12.9g %-19.17g %.1e%s\n", c.label, static_cast<double>(o.result), reference, diff,
               ok ? "" : "  MISMATCH");
  return true;
}

}  // namespace

int cmd_demo(std::FILE* out, std::FILE* err) {
  static const Case kCases[] = {
      {"sparse, probabilities float32", true, "digits_probs.npy", "digits_labels.npy", nullptr, false, 0.0f,
       "sparse_probs"},
      {"sparse, probabilities float32, weighted", true, "digits_probs.npy", "digits_labels.npy",
       "digits_weights.npy", false, 0.0f, "sparse_probs_weighted"},
      {"sparse, probabilities float16", true, "digits_probs_f16.npy", "digits_labels.npy", nullptr, false, 0.0f,
       "sparse_probs_f16"},
      {"sparse, logits float32", true, "digits_logits.npy", "digits_labels.npy", nullptr, true, 0.0f,
       "sparse_logits"},
      {"sparse, logits float32, weighted", true, "digits_logits.npy", "digits_labels.npy", "digits_weights.npy",
       true, 0.0f, "sparse_logits_weighted"},
      {"sparse, logits float16", true, "digits_logits_f16.npy", "digits_labels.npy", nullptr, true, 0.0f,
       "sparse_logits_f16"},
      {"categorical, logits float32, one-hot", false, "digits_logits.npy", "digits_onehot.npy", nullptr, true, 0.0f,
       "sparse_logits"},
      {"categorical, logits float32, smoothing 0.1", false, "digits_logits.npy", "digits_onehot.npy", nullptr, true,
       0.1f, "categorical_logits_label_smoothing_0.1"},
  };
  // TFLite's int8 / uint8 outputs of the same model: the quantized logits, the fixed-parameter softmax
  // (probabilities) and log_softmax outputs, read as stored (no float copy).
  static const Case kQuantizedCases[] = {
      {"sparse, logits int8", true, "digits_logits_i8.npy", "digits_labels.npy", nullptr, true, 0.0f, "sparse", true},
      {"sparse, logits int8, weighted", true, "digits_logits_i8.npy", "digits_labels.npy", "digits_weights.npy", true,
       0.0f, "sparse_weighted", true},
      {"sparse, log_softmax int8", true, "digits_log_softmax_i8.npy", "digits_labels.npy", nullptr, true, 0.0f,
       "sparse", true},
      {"sparse, probabilities uint8", true, "digits_probs_u8.npy", "digits_labels.npy", nullptr, false, 0.0f, "sparse",
       true},
      {"sparse, probabilities uint8, weighted", true, "digits_probs_u8.npy", "digits_labels.npy", "digits_weights.npy",
       false, 0.0f, "sparse_weighted", true},
      {"sparse, probabilities int8", true, "digits_probs_i8.npy", "digits_labels.npy", nullptr, false, 0.0f, "sparse",
       true},
      {"categorical, logits int8, one-hot", false, "digits_logits_i8.npy", "digits_onehot.npy", nullptr, true, 0.0f,
       "sparse", true},
  };
  double rows = 0, classes = 0;
  (void)find_reference("rows", rows);
  (void)find_reference("classes", classes);
  std::fprintf(out, "xent %s demo: %.0f held-out handwritten digits, %.0f classes (a logistic regression's outputs)\n",
               kVersionString, rows, classes);
  std::fprintf(out, "references: float64 scikit-learn log_loss / PyTorch cross_entropy; tolerance %.0e relative\n\n",
               kDemoTolerance);
  std::fprintf(out, "  %-44s %-12s %-19s %s\n", "case", "xent", "reference", "rel. diff");
  int failures = 0;
  for (const Case& c : kCases)
    if (!run_case(c, out, err, failures)) return kExitData;
  std::fprintf(out, "\nquantized outputs (TFLite int8/uint8, read as stored; references on the dequantized values):\n");
  for (const Case& c : kQuantizedCases)
    if (!run_case(c, out, err, failures)) return kExitData;

  // Throughput: the library alone, repeated updates over the float32 logits until 0.3 s pass.
  Source truth, pred;
  if (!embedded_source("digits_labels.npy", truth, err) || !embedded_source("digits_logits.npy", pred, err))
    return kExitData;
  const npy::Header& ph = pred.header();
  if (ph.rank != 2 || !pred.array.aligned() || ph.dtype != npy::DType::f4 || truth.header().dtype != npy::DType::i8)
    return report(err, kExitData, "demo: the embedded logits/labels do not have the expected layout");
  SparseOptions options;
  options.from_logits = true;
  SparseCategoricalCrossentropy<> metric(options);
  const auto y_true = view(reinterpret_cast<const std::int64_t*>(truth.array.data), {truth.header().count});
  const auto y_pred = view(reinterpret_cast<const float*>(pred.array.data), {ph.shape[0], ph.shape[1]});
  std::size_t passes = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  do {
    if (const Status s = metric.update_state(y_true, y_pred); s != Status::ok)
      return report(err, kExitData, "demo: %s", status_message(s));
    ++passes;
    elapsed = seconds_since(start);
  } while (elapsed < 0.3);
  const double row_rate = static_cast<double>(passes * ph.shape[0]) / elapsed;
  std::fprintf(out, "\nthroughput: %.3g rows/s, %.3g floats/s (sparse from logits, %zux%zu float32, %zu passes in "
               "%.2f s, isa %s)\n", row_rate, row_rate * static_cast<double>(ph.shape[1]), ph.shape[0], ph.shape[1],
               passes, elapsed, active_isa());
  if (finish_output(out, err) != kExitOk) return kExitData;
  if (failures > 0)
    return report(err, kExitData, "demo: %d result%s differ from the reference by more than %.0e relative",
                  failures, failures == 1 ? "" : "s", kDemoTolerance);
  return kExitOk;
}

}  // namespace xent::cli
