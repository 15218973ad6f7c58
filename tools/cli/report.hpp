#pragma once
// Messages shared by every part of the command line: the one-line error ("xent: ..."), numpy's
// spelling of a shape, an element's position, numbers as printed, and the wall clock.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

#if defined(__GNUC__)
#define XENT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define XENT_PRINTF(f, a)
#endif

namespace xent::cli {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Every failure is exactly one line "xent: ..." on err; returns code.
XENT_PRINTF(3, 4) int report(std::FILE* err, int code, const char* format, ...);

// numpy's spelling of a shape: (), (5,), (3, 4).
std::string shape_text(const std::size_t* dims, std::size_t rank);

// "row 12" when only the first index can vary, else "index (12, 3)".
std::string position_text(std::size_t flat, const std::size_t* dims, std::size_t rank);

// %.*g, but "nan" / "inf" / "-inf" whatever the sign bit of a NaN ("-nan" would only confuse).
std::string float_text(double v, int digits = 9);

}  // namespace xent::cli
