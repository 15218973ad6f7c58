// xent_main: the commands (`eval`, `demo`, `--version`, `--help`) dispatched to their parts.
// A client of the public API only: arrays are .npy files read chunk by chunk, fed to the library's
// metric objects in chunks of rows (along the first axis, or the second when the class axis is
// first), so memory stays bounded by the chunk size whatever the file size.
#include <unistd.h>

#include <cstring>

#include "cli.hpp"
#include "cli/args.hpp"
#include "cli/demo.hpp"
#include "cli/eval.hpp"
#include "cli/output.hpp"
#include "cli/source.hpp"

namespace xent::cli {
namespace {

int cmd_eval(int argc, char** argv, std::FILE* out, std::FILE* err) {
  EvalArgs a;
  if (const int rc = parse_eval(argc, argv, a, err); rc != kExitOk) return rc;
  if (a.help) {
    std::fputs(kHelp, out);
    return kExitOk;
  }
  a.spec.progress = !a.no_progress && isatty(fileno(err)) != 0;
  const Clock::time_point start = Clock::now();
  npy::File true_file, pred_file, weight_file;
  Source truth, pred, weights;
  if (!open_source(a.y_true, true_file, truth, err)) return kExitData;
  if (!open_source(a.y_pred, pred_file, pred, err)) return kExitData;
  if (a.weights != nullptr && !open_source(a.weights, weight_file, weights, err)) return kExitData;
  if (const int rc = check_quantization(a, pred.header().dtype, err); rc != kExitOk) return rc;
  Outcome o;
  const int rc = evaluate(a.spec, truth, pred, a.weights != nullptr ? &weights : nullptr, o, err);
  if (rc != kExitOk) return rc;
  const double seconds = seconds_since(start);
  if (a.json) print_json(out, o, seconds);
  else print_plain(out, o);
  return finish_output(out, err);
}

}  // namespace

int xent_main(int argc, char** argv, std::FILE* out, std::FILE* err) {
  if (argc < 2) return usage_error(err, "missing command: xent eval ..., xent demo, xent --version or xent --help");
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "--version") == 0 || std::strcmp(cmd, "-V") == 0) {
    if (argc > 2) return usage_error(err, "--version takes no arguments");
    std::fprintf(out, "xent %s (kernels: %s)\n", kVersionString, active_isa());
    return finish_output(out, err);
  }
  if (std::strcmp(cmd, "--help") == 0 || std::strcmp(cmd, "-h") == 0 || std::strcmp(cmd, "help") == 0) {
    std::fputs(kHelp, out);
    return finish_output(out, err);
  }
  if (std::strcmp(cmd, "eval") == 0) return cmd_eval(argc, argv, out, err);
  if (std::strcmp(cmd, "demo") == 0) {
    if (argc > 2) return usage_error(err, "demo takes no arguments, got '%s'", argv[2]);
    return cmd_demo(out, err);
  }
  return usage_error(err, "unknown command '%s'", cmd);
}

}  // namespace xent::cli
