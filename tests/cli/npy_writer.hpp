#pragma once
// Writes .npy files the way numpy does (and, on request, the ways it never would), so the
// command-line tests generate every input themselves.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace xent_test {

struct NpySpec {
  std::string descr = "<f4";
  std::vector<std::size_t> shape;
  std::string fortran = "False";
  unsigned version = 1;
  std::size_t align = 64;          // header padded so the data starts at a multiple of this
  std::size_t extra_pad = 0;       // extra spaces before the newline (misaligns the data when align = 1)
  std::string dict_override;       // when set, the dict text used verbatim
};

inline std::string npy_shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

inline std::vector<unsigned char> npy_bytes(const NpySpec& spec, const void* data, std::size_t data_bytes) {
  std::string dict = spec.dict_override.empty()
                         ? "{'descr': '" + spec.descr + "', 'fortran_order': " + spec.fortran +
                               ", 'shape': " + npy_shape_text(spec.shape) + ", }"
                         : spec.dict_override;
  const std::size_t prefix = spec.version == 1 ? 10 : 12;
  std::size_t total = prefix + dict.size() + 1 + spec.extra_pad;
  const std::size_t align = spec.align == 0 ? 1 : spec.align;
  total = (total + align - 1) / align * align;
  dict += std::string(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(spec.version), 0};
  const std::size_t len = dict.size();
  out.push_back(static_cast<unsigned char>(len & 0xff));
  out.push_back(static_cast<unsigned char>((len >> 8) & 0xff));
  if (spec.version != 1) {
    out.push_back(static_cast<unsigned char>((len >> 16) & 0xff));
    out.push_back(static_cast<unsigned char>((len >> 24) & 0xff));
  }
  out.insert(out.end(), dict.begin(), dict.end());
  const unsigned char* d = static_cast<const unsigned char*>(data);
  if (data_bytes > 0) out.insert(out.end(), d, d + data_bytes);
  return out;
}

inline bool write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

template <class T>
bool write_npy(const std::string& path, const std::string& descr, std::vector<std::size_t> shape,
               const std::vector<T>& values) {
  NpySpec spec;
  spec.descr = descr;
  spec.shape = std::move(shape);
  return write_bytes(path, npy_bytes(spec, values.data(), values.size() * sizeof(T)));
}

template <class T>
bool write_npy(const std::string& path, const NpySpec& spec, const std::vector<T>& values) {
  return write_bytes(path, npy_bytes(spec, values.data(), values.size() * sizeof(T)));
}

// A small deterministic generator (the tests must not depend on the platform's <random>).
struct Rng {
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

}  // namespace xent_test
