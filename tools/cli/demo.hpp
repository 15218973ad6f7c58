#pragma once
// `xent demo`: the bundled digits data, embedded in the binary, against float64 references.
#include <cstdio>

namespace xent::cli {

int cmd_demo(std::FILE* out, std::FILE* err);

}  // namespace xent::cli
