// Output: plain and JSON results and the final flush check (the progress bar is in output.hpp).
#include "cli/output.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "cli.hpp"
#include "xent/xent.hpp"

namespace xent::cli {

std::string json_number(double v, int digits) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

void print_plain(std::FILE* out, const Outcome& o) {
  std::fprintf(out, "%s\n", float_text(static_cast<double>(o.result)).c_str());
  for (std::size_t k = 0; k < o.per_class.size(); ++k)
    std::fprintf(out, "class %zu: %s (count %s)\n", k, float_text(static_cast<double>(o.per_class[k].result)).c_str(),
                 float_text(o.per_class[k].count, 17).c_str());
}

void print_json(std::FILE* out, const Outcome& o, double seconds) {
  std::fprintf(out, "{\"metric\": \"%s\", \"result\": %s, \"total\": %s, \"count\": %s, \"elements\": %zu, "
               "\"rows\": %zu, \"classes\": %zu, \"chunks\": %zu, \"seconds\": %s, \"isa\": \"%s\"",
               o.metric.c_str(), json_number(static_cast<double>(o.result), 9).c_str(),
               json_number(o.total, 17).c_str(), json_number(o.count, 17).c_str(), o.elements, o.rows, o.classes,
               o.chunks, json_number(seconds, 6).c_str(), active_isa());
  std::fprintf(out, ", \"y_pred_dtype\": \"%s\"", o.pred_dtype.c_str());
  if (o.quantized)
    std::fprintf(out, ", \"y_pred_scale\": %s, \"y_pred_zero_point\": %d",
                 json_number(static_cast<double>(o.pred_scale), 9).c_str(), static_cast<int>(o.pred_zero_point));
  if (o.per_class_requested) {
    std::fputs(", \"per_class\": [", out);
    for (std::size_t k = 0; k < o.per_class.size(); ++k)
      std::fprintf(out, "%s{\"class\": %zu, \"result\": %s, \"total\": %s, \"count\": %s}", k ? ", " : "", k,
                   json_number(static_cast<double>(o.per_class[k].result), 9).c_str(),
                   json_number(o.per_class[k].total, 17).c_str(), json_number(o.per_class[k].count, 17).c_str());
    std::fputs("]", out);
  }
  std::fputs("}\n", out);
}

int finish_output(std::FILE* out, std::FILE* err) {
  if (std::fflush(out) != 0 || std::ferror(out) != 0)
    return report(err, kExitData, "cannot write the output: %s", std::strerror(errno));
  return kExitOk;
}

}  // namespace xent::cli
