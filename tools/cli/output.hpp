#pragma once
// Output: the plain and JSON results, the progress bar (stderr), and checking that the output
// was written.
#include <cstddef>
#include <cstdio>
#include <string>

#include "cli/eval.hpp"
#include "cli/report.hpp"

namespace xent::cli {

// Progress bar: stderr only, only when it is a terminal, at most 10 redraws a second.
class Progress {
 public:
  Progress(std::FILE* err, bool on, std::size_t total) : err_(err), on_(on && total > 0), total_(total) {}
  void update(std::size_t done) {
    if (!on_) return;
    const double t = seconds_since(start_);
    if (t - last_ < 0.1 || done >= total_) return;
    last_ = t;
    const double rate = t > 0 ? static_cast<double>(done) / t : 0.0;
    const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    const long secs = static_cast<long>(left + 0.5);
    std::fprintf(err_, "\r\033[Kxent: %zu/%zu rows (%.0f%%)  %.3g rows/s  %ld:%02ld:%02ld left", done, total_,
                 100.0 * static_cast<double>(done) / static_cast<double>(total_), rate, secs / 3600, secs / 60 % 60,
                 secs % 60);
    std::fflush(err_);
    drawn_ = true;
  }
  void clear() {
    if (drawn_) std::fputs("\r\033[K", err_);
    drawn_ = false;
  }

 private:
  std::FILE* err_;
  bool on_;
  std::size_t total_;
  Clock::time_point start_ = Clock::now();
  double last_ = 0.0;
  bool drawn_ = false;
};

// JSON has no NaN or infinity: those become null.
std::string json_number(double v, int digits);

// The plain result: the float32 result with %.9g, then with --per-class one line per class.
void print_plain(std::FILE* out, const Outcome& o);

// One line of JSON (see tools/README.md for the keys); seconds is the wall time.
void print_json(std::FILE* out, const Outcome& o, double seconds);

// A result that could not be written (a full disk, a closed pipe) is a failure, not a success.
int finish_output(std::FILE* out, std::FILE* err);

}  // namespace xent::cli
