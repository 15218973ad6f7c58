#pragma once
// The xent command line as a library function, so tests can run it in-process (also under an
// emulator, where a test cannot spawn the target binary) and the `xent` binary is a thin main().
#include <cstdio>

namespace xent::cli {

// Exit codes: 0 success, 1 a problem with the data (one line on err, nothing on out),
// 2 a usage error (unknown option, missing or bad value).
inline constexpr int kExitOk = 0;
inline constexpr int kExitData = 1;
inline constexpr int kExitUsage = 2;

// The most classes --per-class supports (the metric's MaxClasses: per-class sums live inline).
inline constexpr unsigned kPerClassMaxClasses = 1024;

// Runs `xent argv[1] ...`; argv[0] is the program name. Results go to out, errors and the
// progress bar (only when err is a terminal) to err.
int xent_main(int argc, char** argv, std::FILE* out, std::FILE* err);

}  // namespace xent::cli
