// The serialized state: the same bytes on every target, written byte by byte (never a memcpy of a
// struct, whose padding and byte order differ between targets).
//
//   offset  size  field
//        0     4  magic "XENT"
//        4     2  version (1)
//        6     1  kind (1 categorical, 2 sparse)
//        7     1  flags: bit 0 from_logits, 1 per_class, 2 has ignore_class, 3 NanPolicy::reject
//        8     4  label_smoothing (IEEE binary32 bits)
//       12     4  axis (two's complement)
//       16     8  ignore_class (two's complement; 0 when none)
//       24     8  capacity (MaxClasses)
//       32     8  total (IEEE binary64 bits)
//       40     8  count
//       48  16*C  per class: total, count
//   48+16C     4  CRC-32 (IEEE, reflected) of every byte before it
// All little-endian.
#include <cstring>
#include <limits>

#include "xent/detail/core.hpp"

namespace xent::detail {
namespace {

constexpr unsigned char kMagic[4] = {'X', 'E', 'N', 'T'};
constexpr std::uint16_t kVersion = 1;
constexpr unsigned kKnownFlags = 0x0f;

// Out of line on purpose: inlined into the per-class loop, gcc's vectorizer spends ~4 KiB of stack.
[[gnu::noinline]] void put(unsigned char* p, std::uint64_t v, std::size_t bytes) noexcept {
  for (std::size_t i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint64_t get(const unsigned char* p, std::size_t bytes) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}
std::uint64_t bits_of(double d) noexcept {
  std::uint64_t u = 0;
  std::memcpy(&u, &d, sizeof u);
  return u;
}
double double_of(std::uint64_t u) noexcept {
  double d = 0;
  std::memcpy(&d, &u, sizeof d);
  return d;
}
std::uint32_t bits_of(float f) noexcept {
  std::uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Bitwise CRC-32: no table, so no .text or .rodata spent on a path that is not hot.
std::uint32_t crc32(const unsigned char* p, std::size_t n) noexcept {
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int b = 0; b < 8; ++b) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

unsigned flags_of(const CoreOptions& o) noexcept {
  return (o.from_logits ? 1u : 0u) | (o.per_class ? 2u : 0u) | (o.has_ignore ? 4u : 0u) |
         (o.nan_policy == NanPolicy::reject ? 8u : 0u);
}

void write_header(const CoreOptions& o, std::size_t capacity, unsigned char* out) noexcept {
  std::memcpy(out, kMagic, 4);
  put(out + 4, kVersion, 2);
  put(out + 6, static_cast<std::uint8_t>(o.kind), 1);
  put(out + 7, flags_of(o), 1);
  put(out + 8, bits_of(o.label_smoothing), 4);
  put(out + 12, static_cast<std::uint32_t>(o.axis), 4);
  put(out + 16, static_cast<std::uint64_t>(o.has_ignore ? o.ignore_class : 0), 8);
  put(out + 24, static_cast<std::uint64_t>(capacity), 8);
}

}  // namespace

Status serialize(const CoreOptions& o, const double* total, const double* count, const double* class_total,
                 const double* class_count, std::size_t capacity, unsigned char* out, std::size_t size) noexcept {
  const std::size_t need = serialized_size_for(capacity);
  if (size < need) return Status::buffer_too_small;
  if (out == nullptr) return Status::null_data;
  write_header(o, capacity, out);
  put(out + 32, bits_of(*total), 8);
  put(out + 40, bits_of(*count), 8);
  unsigned char* p = out + kSerialHeaderSize;
  for (std::size_t c = 0; c < capacity; ++c, p += 16) {
    put(p, bits_of(class_total != nullptr ? class_total[c] : 0.0), 8);
    put(p + 8, bits_of(class_count != nullptr ? class_count[c] : 0.0), 8);
  }
  put(p, crc32(out, need - 4), 4);
  return Status::ok;
}

Status deserialize(const CoreOptions& o, const Accumulators& acc, const unsigned char* in,
                   std::size_t size) noexcept {
  if (in == nullptr && size > 0) return Status::null_data;
  if (size < kSerialHeaderSize + 4) return Status::corrupt_state;
  if (std::memcmp(in, kMagic, 4) != 0 || get(in + 4, 2) != kVersion) return Status::corrupt_state;
  const std::uint64_t capacity = get(in + 24, 8);
  if (capacity > (std::numeric_limits<std::size_t>::max() - kSerialHeaderSize - 4) / 16) return Status::corrupt_state;
  const std::size_t need = serialized_size_for(static_cast<std::size_t>(capacity));
  if (size < need) return Status::corrupt_state;
  if (get(in + need - 4, 4) != crc32(in, need - 4)) return Status::corrupt_state;
  const auto kind = get(in + 6, 1);
  if ((get(in + 7, 1) & ~std::uint64_t{kKnownFlags}) != 0 ||
      (kind != static_cast<std::uint8_t>(Kind::categorical) && kind != static_cast<std::uint8_t>(Kind::sparse)))
    return Status::corrupt_state;

  // Same kind, options and capacity: compare against the header this metric would write.
  unsigned char mine[kSerialHeaderSize];
  write_header(o, acc.capacity, mine);
  if (std::memcmp(mine, in, 32) != 0) return Status::incompatible_state;

  *acc.total = double_of(get(in + 32, 8));
  *acc.count = double_of(get(in + 40, 8));
  const unsigned char* p = in + kSerialHeaderSize;
  for (std::size_t c = 0; c < acc.capacity; ++c, p += 16) {
    acc.class_total[c] = double_of(get(p, 8));
    acc.class_count[c] = double_of(get(p + 8, 8));
  }
  return Status::ok;
}

}  // namespace xent::detail
