// Arguments of `xent eval`: the help text, the option table and its strict parsing.
#include "cli/args.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "cli.hpp"
#include "xent/xent.hpp"

namespace xent::cli {

const char kHelp[] =
    "xent: Keras's CategoricalCrossentropy / SparseCategoricalCrossentropy metrics on .npy files\n"
    "\n"
    "usage: xent eval --metric categorical|sparse --y-true T.npy --y-pred P.npy [options]\n"
    "       xent demo       evaluate the bundled handwritten-digits data against independent references\n"
    "       xent --version\n"
    "       xent --help\n"
    "\n"
    "eval options:\n"
    "  --metric categorical|sparse  categorical: y_true one-hot or soft, shaped like y_pred;\n"
    "                               sparse: y_true integer class indices\n"
    "  --y-true FILE                true labels (.npy)\n"
    "  --y-pred FILE                predictions (.npy): probabilities, or logits with --from-logits\n"
    "  --sample-weight FILE         per-row (or broadcastable) weights (.npy)\n"
    "  --from-logits                y_pred holds logits\n"
    "  --y-pred-scale S             with --y-pred-zero-point Z: y_pred holds 8-bit quantized values\n"
    "  --y-pred-zero-point Z        (|i1, |u1), q standing for float32(S * (q - Z)) as in TFLite;\n"
    "                               S finite > 0, Z in the dtype's range; required for an 8-bit y_pred\n"
    "  --label-smoothing F          in [0, 1] (default 0)\n"
    "  --axis N                     class axis of y_pred (default -1)\n"
    "  --ignore-class N             sparse only: rows with this label count for nothing\n"
    "  --nan reject|propagate       reject: fail on a NaN/inf loss or weight (default propagate)\n"
    "  --per-class                  also the result of each class (at most 1024 classes)\n"
    "  --json                       one JSON object: metric, result, total, count, elements, rows,\n"
    "                               classes, chunks, seconds, isa, y_pred_dtype (y_pred_scale and\n"
    "                               y_pred_zero_point when quantized; per_class)\n"
    "  --chunk-rows N               rows per update (default: about 1M y_pred elements per chunk)\n"
    "  --no-progress                never draw the progress bar (drawn on stderr only if a terminal)\n"
    "\n"
    ".npy files: format 1.0-3.0, little-endian, C order; dtypes <f4 <f2 <f8 <i4 <i8 |i1 |u1 <u2 |b1\n"
    "(<f8 is converted to float32 as Keras does; quantized y_pred goes as stored). Files are\n"
    "read and processed in chunks of rows along the first axis (along the second when the class\n"
    "axis is the first, copying y_pred[:, rows] class by class), so memory stays bounded\n"
    "whatever the file size.\n"
    "Exit status: 0 success, 1 a problem with the data (one line on stderr), 2 a usage error.\n";

XENT_PRINTF(2, 3) int usage_error(std::FILE* err, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("xent: ", err);
  std::vfprintf(err, format, args);
  std::fputs(" (see xent --help)\n", err);
  va_end(args);
  std::fflush(err);
  return kExitUsage;
}

bool parse_double(const char* s, double& v) {
  if (*s == '\0' || std::isspace(static_cast<unsigned char>(*s))) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(s, &end);
  return *end == '\0' && errno == 0 && std::isfinite(v);
}

bool parse_int64(const char* s, std::int64_t& v) {
  if (*s == '\0' || std::isspace(static_cast<unsigned char>(*s))) return false;
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(s, &end, 10);
  if (*end != '\0' || errno != 0) return false;
  v = static_cast<std::int64_t>(x);
  return true;
}

int parse_eval(int argc, char** argv, EvalArgs& a, std::FILE* err) {
  enum Id { metric, y_true, y_pred, weights, logits, smoothing, axis, ignore, nan, per_class, json, chunk_rows,
            no_progress, help, pred_scale, pred_zero_point, count };
  struct Flag {
    const char* name;
    bool takes_value;
  };
  static const Flag kFlags[count] = {
      {"--metric", true},  {"--y-true", true},         {"--y-pred", true},   {"--sample-weight", true},
      {"--from-logits", false}, {"--label-smoothing", true}, {"--axis", true}, {"--ignore-class", true},
      {"--nan", true},     {"--per-class", false},     {"--json", false},    {"--chunk-rows", true},
      {"--no-progress", false}, {"--help", false}, {"--y-pred-scale", true}, {"--y-pred-zero-point", true}};
  bool seen[count] = {};
  for (int i = 2; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "-h") == 0) arg = "--help";
    if (std::strncmp(arg, "--", 2) != 0) return usage_error(err, "eval: unexpected argument '%s'", arg);
    const char* eq = std::strchr(arg, '=');
    const std::size_t name_len = eq != nullptr ? static_cast<std::size_t>(eq - arg) : std::strlen(arg);
    int id = -1;
    for (int f = 0; f < count; ++f)
      if (std::strlen(kFlags[f].name) == name_len && std::strncmp(kFlags[f].name, arg, name_len) == 0) id = f;
    if (id < 0) return usage_error(err, "eval: unknown option '%.*s'", static_cast<int>(name_len), arg);
    const char* name = kFlags[id].name;
    if (seen[id]) return usage_error(err, "eval: %s is given twice", name);
    seen[id] = true;
    const char* value = nullptr;
    if (kFlags[id].takes_value) {
      if (eq != nullptr) value = eq + 1;
      else if (i + 1 < argc) value = argv[++i];
      else return usage_error(err, "eval: %s needs a value", name);
    } else if (eq != nullptr) {
      return usage_error(err, "eval: %s takes no value", name);
    }
    switch (id) {
      case metric:
        if (std::strcmp(value, "categorical") == 0) a.spec.sparse = false;
        else if (std::strcmp(value, "sparse") == 0) a.spec.sparse = true;
        else return usage_error(err, "eval: --metric must be categorical or sparse, not '%s'", value);
        a.metric = value;
        break;
      case y_true: a.y_true = value; break;
      case y_pred: a.y_pred = value; break;
      case weights: a.weights = value; break;
      case logits: a.spec.from_logits = true; break;
      case smoothing: {
        double v = 0;
        if (!parse_double(value, v)) return usage_error(err, "eval: --label-smoothing needs a number, not '%s'", value);
        if (v < 0.0 || v > 1.0) return usage_error(err, "eval: --label-smoothing must be in [0, 1], not %s", value);
        a.spec.label_smoothing = static_cast<float>(v);
        break;
      }
      case axis: {
        std::int64_t v = 0;
        if (!parse_int64(value, v) || v < -static_cast<std::int64_t>(kMaxRank) ||
            v >= static_cast<std::int64_t>(kMaxRank))
          return usage_error(err, "eval: --axis needs an integer in [-8, 8), not '%s'", value);
        a.spec.axis = static_cast<int>(v);
        break;
      }
      case ignore: {
        std::int64_t v = 0;
        if (!parse_int64(value, v)) return usage_error(err, "eval: --ignore-class needs an integer, not '%s'", value);
        a.spec.ignore_class = v;
        break;
      }
      case nan:
        if (std::strcmp(value, "reject") == 0) a.spec.nan_reject = true;
        else if (std::strcmp(value, "propagate") == 0) a.spec.nan_reject = false;
        else return usage_error(err, "eval: --nan must be reject or propagate, not '%s'", value);
        break;
      case per_class: a.spec.per_class = true; break;
      case json: a.json = true; break;
      case chunk_rows: {
        std::int64_t v = 0;
        if (!parse_int64(value, v) || v <= 0)
          return usage_error(err, "eval: --chunk-rows needs a positive integer, not '%s'", value);
        if (static_cast<std::uint64_t>(v) > std::numeric_limits<std::size_t>::max())
          return usage_error(err, "eval: --chunk-rows %s is too large", value);
        a.spec.chunk_rows = static_cast<std::size_t>(v);
        break;
      }
      case no_progress: a.no_progress = true; break;
      case help: a.help = true; break;
      case pred_scale: {
        // The library takes a float32 scale: finite and > 0 once rounded (1e39 and 1e-50 are neither).
        double v = 0;
        const bool ok = parse_double(value, v) && v > 0.0 &&
                        v <= static_cast<double>(std::numeric_limits<float>::max()) && static_cast<float>(v) > 0.0f;
        if (!ok) return usage_error(err, "eval: --y-pred-scale needs a finite float32 number > 0, not '%s'", value);
        a.pred_scale = static_cast<float>(v);
        break;
      }
      case pred_zero_point: {
        std::int64_t v = 0;
        if (!parse_int64(value, v))
          return usage_error(err, "eval: --y-pred-zero-point needs an integer, not '%s'", value);
        a.pred_zero_point = v;
        break;
      }
      default: break;
    }
  }
  if (a.help) return kExitOk;
  if (a.metric == nullptr) return usage_error(err, "eval: --metric categorical|sparse is required");
  if (a.y_true == nullptr) return usage_error(err, "eval: --y-true FILE is required");
  if (a.y_pred == nullptr) return usage_error(err, "eval: --y-pred FILE is required");
  if (!a.spec.sparse && a.spec.ignore_class)
    return usage_error(err, "eval: --ignore-class applies to --metric sparse only");
  if (seen[pred_scale] != seen[pred_zero_point])
    return usage_error(err, "eval: --y-pred-scale and --y-pred-zero-point go together (8-bit y_pred)");
  a.pred_quantization = seen[pred_scale];
  return kExitOk;
}

int check_quantization(EvalArgs& a, npy::DType pred_dtype, std::FILE* err) {
  const bool i8 = pred_dtype == npy::DType::i1, u8 = pred_dtype == npy::DType::u1;
  const char* type = npy::dtype_name(pred_dtype);
  if (!i8 && !u8) {
    if (a.pred_quantization)
      return usage_error(err, "eval: --y-pred-scale and --y-pred-zero-point apply to an 8-bit y_pred (|i1, |u1), "
                         "not to %s of dtype %s", a.y_pred, type);
    return kExitOk;
  }
  if (!a.pred_quantization)
    return usage_error(err, "eval: %s holds 8-bit quantized values (%s): give --y-pred-scale S and "
                       "--y-pred-zero-point Z", a.y_pred, type);
  const std::int64_t lo = i8 ? -128 : 0, hi = i8 ? 127 : 255;
  if (a.pred_zero_point < lo || a.pred_zero_point > hi)
    return usage_error(err, "eval: --y-pred-zero-point %lld is outside [%lld, %lld] for %s of dtype %s",
                       static_cast<long long>(a.pred_zero_point), static_cast<long long>(lo),
                       static_cast<long long>(hi), a.y_pred, type);
  a.spec.quantized = true;
  a.spec.pred_scale = a.pred_scale;
  a.spec.pred_zero_point = static_cast<std::int32_t>(a.pred_zero_point);
  return kExitOk;
}

}  // namespace xent::cli
