// The shared message helpers of report.hpp.
#include "cli/report.hpp"

#include <cmath>
#include <cstdarg>

#include "npy.hpp"

namespace xent::cli {

XENT_PRINTF(3, 4) int report(std::FILE* err, int code, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("xent: ", err);
  std::vfprintf(err, format, args);
  std::fputc('\n', err);
  va_end(args);
  std::fflush(err);
  return code;
}

// numpy's spelling of a shape: (), (5,), (3, 4).
std::string shape_text(const std::size_t* dims, std::size_t rank) {
  std::string s = "(";
  for (std::size_t i = 0; i < rank; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  if (rank == 1) s += ",";
  return s + ")";
}

// "row 12" when only the first index can vary, else "index (12, 3)".
std::string position_text(std::size_t flat, const std::size_t* dims, std::size_t rank) {
  std::size_t index[npy::kMaxRank] = {};
  for (std::size_t i = rank; i-- > 0;) {
    if (dims[i] == 0) break;
    index[i] = flat % dims[i];
    flat /= dims[i];
  }
  bool rows_only = rank >= 1;
  for (std::size_t i = 1; i < rank; ++i)
    if (dims[i] != 1) rows_only = false;
  if (rows_only) return "row " + std::to_string(index[0]);
  return "index " + shape_text(index, rank);
}

// %.*g, but "nan" / "inf" / "-inf" whatever the sign bit of a NaN ("-nan" would only confuse).
std::string float_text(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

}  // namespace xent::cli
