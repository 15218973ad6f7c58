// Test runner: doctest's main plus `--xent-isa=NAME`, which forces the kernels' instruction set
// (the same as XENT_ISA=NAME) so ctest can run the whole suite once per compiled ISA.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  static const char kFlag[] = "--xent-isa=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], kFlag, sizeof kFlag - 1) == 0) setenv("XENT_ISA", argv[i] + sizeof kFlag - 1, 1);
  }
  doctest::Context context(argc, argv);
  return context.run();
}
