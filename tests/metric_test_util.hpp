#pragma once
// Helpers shared by the metric tests: typed storage of float values, raw object snapshots (to
// prove a failed update changed nothing), and a small deterministic random source.
#include <xent/xent.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace mt {

// SEMANTICS.md's worked example: y_pred, its one-hot and sparse labels, and the sample weights.
namespace worked {
inline constexpr float kPred[6] = {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f};
inline constexpr float kOneHot[6] = {0, 1, 0, 0, 0, 1};
inline constexpr int kLabels[2] = {1, 2};
inline constexpr float kWeights[2] = {0.3f, 0.7f};
}  // namespace worked

template <class T>
T store(float v) {
  if constexpr (std::is_same_v<T, xent::float16>) return xent::to_float16(v);
  else if constexpr (std::is_same_v<T, xent::bfloat16>) return xent::to_bfloat16(v);
  else return static_cast<T>(v);
}
inline float load(float v) { return v; }
inline float load(xent::float16 v) { return xent::to_float(v); }
inline float load(xent::bfloat16 v) { return xent::to_float(v); }

// Values stored as T, and the float32 values the library sees after widening.
template <class T>
struct Typed {
  std::vector<T> data;
  std::vector<float> seen;
  explicit Typed(const std::vector<float>& v) {
    for (float x : v) {
      data.push_back(store<T>(x));
      seen.push_back(load(data.back()));
    }
  }
};

// The raw bytes of an object: a failed update must leave them all as they were.
template <class M>
std::vector<unsigned char> raw(const M& m) {
  std::vector<unsigned char> b(sizeof(M));
  std::memcpy(b.data(), static_cast<const void*>(&m), sizeof(M));
  return b;
}

inline std::vector<std::size_t> dims_of(const xent::Shape& s) {
  std::vector<std::size_t> d;
  for (std::size_t i = 0; i < s.rank(); ++i) d.push_back(s[i]);
  return d;
}
inline xent::Shape shape_of(const std::vector<std::size_t>& d) { return xent::Shape::from(d.data(), d.size()); }

// Table-driven CRC-32 (IEEE), an implementation independent of the library's bitwise one: the
// serialization tests and fuzz/fuzz_deserialize.cpp seal bytes of their own with it.
inline std::uint32_t crc32(const unsigned char* p, std::size_t n) {
  static std::uint32_t table[256];
  static bool ready = false;
  if (!ready) {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

inline double rel_err(double got, double want) {
  return std::fabs(got - want) / std::fmax(std::fabs(want), 1e-300);
}

// Float32 ulp distance (0 for equal values, huge for different signs or NaN).
inline std::int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  std::int32_t ia = 0;
  std::int32_t ib = 0;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = INT32_MIN - ia;
  if (ib < 0) ib = INT32_MIN - ib;
  const std::int64_t d = static_cast<std::int64_t>(ia) - static_cast<std::int64_t>(ib);
  return d < 0 ? -d : d;
}

}  // namespace mt
