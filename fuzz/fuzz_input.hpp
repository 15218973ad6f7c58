#pragma once
// The harnesses' common tools: the fuzz input read front to back as a sequence of small choices
// (so fuzz/make_corpus.py can write meaningful seeds), a palette of interesting float values, and
// the one way an invariant fails (a trap libFuzzer records as a crash, with its input).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace fz {

// Prints what broke, then traps: libFuzzer (and the replay driver under a sanitizer) reports the
// input that did it. Never returns, also without exceptions.
[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "xent fuzz: invariant broken: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}
inline void require(bool ok, const char* what) {
  if (!ok) broken(what);
}

// Reads the input front to back; past its end every read gives zeros, so any prefix is a valid
// input and short seeds stay short.
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  std::uint8_t u8() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() noexcept {
    const std::uint32_t lo = u16();
    return lo | (static_cast<std::uint32_t>(u16()) << 16);
  }
  std::uint64_t u64() noexcept {
    const std::uint64_t lo = u32();
    return lo | (static_cast<std::uint64_t>(u32()) << 32);
  }
  float f32_bits() noexcept {
    const std::uint32_t b = u32();
    float f = 0.0f;
    std::memcpy(&f, &b, sizeof f);
    return f;
  }
  // A choice among n (n > 0) from one byte.
  std::size_t pick(std::size_t n) noexcept { return u8() % n; }
  bool flag() noexcept { return (u8() & 1u) != 0; }
  std::size_t left() const noexcept { return size_ - pos_; }
  // The unread bytes, consumed.
  std::vector<std::uint8_t> rest() {
    std::vector<std::uint8_t> r(data_ + pos_, data_ + size_);
    pos_ = size_;
    return r;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Float values that matter to a cross-entropy: the clip bounds, subnormals, the overflow edges of
// float32/float16, infinities, NaNs. Index kPaletteRaw reads the next 4 bytes as the float's bits.
inline constexpr std::size_t kPaletteSize = 32;
inline constexpr std::size_t kPaletteRaw = 31;
inline float palette(std::size_t index, Bytes& in) noexcept {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  static constexpr float kValues[kPaletteSize - 1] = {
      0.0f, -0.0f, 1.0f, 0.5f, 1e-7f, 1.0f - 1e-7f,
      std::numeric_limits<float>::min(),         // smallest normal
      std::numeric_limits<float>::denorm_min(),  // smallest subnormal
      1e-40f,                                    // a subnormal
      std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), kInf, -kInf, kNaN, -kNaN,
      1e30f, -1e30f, 88.7f, -88.7f, 1e-30f,
      65504.0f,                                  // float16's largest
      65520.0f,                                  // rounds to float16 infinity
      3e38f, 2.5f, -1.0f, 100.0f, -100.0f, 1e-3f,
      16777216.0f,                               // 2^24
      0.1f, 3.0f};
  index %= kPaletteSize;
  return index == kPaletteRaw ? in.f32_bits() : kValues[index];
}

// A small deterministic generator for bulk data, seeded from the input.
class Lcg {
 public:
  explicit Lcg(std::uint32_t seed) noexcept : s_(seed * 2654435761u + 1u) {}
  std::uint32_t next() noexcept {
    s_ = s_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(s_ >> 33);
  }
  float unit() noexcept { return static_cast<float>(next() >> 8) * (1.0f / 16777216.0f); }  // [0, 1)
  float in(float lo, float hi) noexcept { return lo + (hi - lo) * unit(); }

 private:
  std::uint64_t s_;
};

}  // namespace fz
