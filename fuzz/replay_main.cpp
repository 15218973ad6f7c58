// The harnesses without libFuzzer: runs LLVMFuzzerTestOneInput once on each file named (or each
// file in each directory named), so every test preset replays the checked-in corpora, with its own
// compiler, sanitizers and instruction set. The fuzz preset links libFuzzer's main instead.
#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, f)) > 0;) bytes.insert(bytes.end(), chunk, chunk + n);
  std::fclose(f);
  // An exact-size copy, as libFuzzer hands inputs over (a read past the end is caught).
  std::vector<std::uint8_t> exact(bytes);
  (void)LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    struct stat st {};
    if (stat(argv[i], &st) != 0) {
      std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (!run_file(argv[i])) return 1;
      ++runs;
      continue;
    }
    DIR* dir = opendir(argv[i]);
    if (dir == nullptr) return 1;
    std::vector<std::string> files;
    errno = 0;
    while (const dirent* e = readdir(dir))
      if (e->d_name[0] != '.') files.push_back(std::string(argv[i]) + "/" + e->d_name);
    const int error = errno;  // readdir's end and its failure look alike but for errno
    closedir(dir);
    if (error != 0) {
      std::fprintf(stderr, "replay: cannot list %s: %s\n", argv[i], std::strerror(error));
      return 1;
    }
    for (const std::string& file : files) {
      if (!run_file(file)) return 1;
      ++runs;
    }
  }
  std::printf("replayed %zu inputs\n", runs);
  return runs > 0 ? 0 : 1;
}
