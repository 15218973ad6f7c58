#include <cstdio>

#include "cli.hpp"

int main(int argc, char** argv) { return xent::cli::xent_main(argc, argv, stdout, stderr); }
