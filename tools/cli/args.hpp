#pragma once
// Arguments: the help text, the option table of `xent eval` and its parsing into EvalArgs, and the
// one-line usage error (exit 2). Parsing touches no file, so it is tested on its own.
#include <cstdint>
#include <cstdio>

#include "cli/eval.hpp"
#include "cli/report.hpp"
#include "npy.hpp"

namespace xent::cli {

extern const char kHelp[];

// "xent: MESSAGE (see xent --help)" on err; returns kExitUsage.
XENT_PRINTF(2, 3) int usage_error(std::FILE* err, const char* format, ...);

// Strict number parsing: the whole string, no leading space, no overflow (and finite doubles).
bool parse_double(const char* s, double& v);
bool parse_int64(const char* s, std::int64_t& v);

struct EvalArgs {
  const char* metric = nullptr;
  const char* y_true = nullptr;
  const char* y_pred = nullptr;
  const char* weights = nullptr;
  bool json = false;
  bool no_progress = false;
  bool help = false;
  // --y-pred-scale / --y-pred-zero-point as given (both or neither), until check_quantization.
  bool pred_quantization = false;
  float pred_scale = 1.0f;
  std::int64_t pred_zero_point = 0;
  Spec spec;
};

// Parses argv[2..argc) of `xent eval`. kExitOk (a.help may be set) or kExitUsage with one line on err.
int parse_eval(int argc, char** argv, EvalArgs& a, std::FILE* err);

// Once y_pred's header is known: an 8-bit y_pred (|i1, |u1) needs --y-pred-scale and
// --y-pred-zero-point (the zero point within its type's range), any other y_pred refuses them.
// kExitOk with a.spec's quantization set, or kExitUsage with one line on err.
int check_quantization(EvalArgs& a, npy::DType pred_dtype, std::FILE* err);

}  // namespace xent::cli
