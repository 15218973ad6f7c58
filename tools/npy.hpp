#pragma once
// A strict, small reader of NumPy .npy files (format versions 1.0, 2.0 and 3.0).
//
// Only what the xent command line and tests need: little-endian, C-order arrays of the dtypes
// below, rank <= 8. Everything else is rejected with a one-line English message. The parser
// works on a byte buffer, never reads past `size`, allocates nothing and throws nothing, so it
// can be fed arbitrary bytes (the fuzz test does). The host must be little-endian (every xent
// target is), because the data is handed out in place.
#include <cstddef>
#include <cstdint>

namespace xent::npy {

enum class DType : std::uint8_t { f4, f2, f8, i4, i8, u1, u2, b1 };

// "<f4", "<f2", "<f8", "<i4", "<i8", "|u1", "<u2", "|b1".
const char* dtype_name(DType type) noexcept;
// Bytes per element: 4, 2, 8, 4, 8, 1, 2, 1.
std::size_t dtype_size(DType type) noexcept;

inline constexpr std::size_t kMaxRank = 8;
// NumPy itself refuses headers above 10000 bytes by default; we allow more but not without bound.
inline constexpr std::size_t kMaxHeaderBytes = 1u << 20;

struct Header {
  unsigned version = 0;              // major format version: 1, 2 or 3
  DType dtype = DType::f4;
  std::size_t rank = 0;              // 0 for a scalar array
  std::size_t shape[kMaxRank] = {};
  std::size_t count = 1;             // number of elements, the product of the shape
  std::size_t data_offset = 0;       // bytes from the start of the file to the first element
  std::size_t data_bytes = 0;        // count * dtype_size(dtype)
};

// A message buffer: empty until something fails.
struct Error {
  char text[240] = {};
  bool empty() const noexcept { return text[0] == '\0'; }
};

// Parses the header at the start of bytes[0, size); only the header has to be present.
// On failure returns false and fills `error` (e.g. "truncated header: ...").
[[nodiscard]] bool parse_header(const unsigned char* bytes, std::size_t size, Header& out,
                                Error& error) noexcept;

// A whole .npy file in memory: the header, and a pointer to its data inside the buffer.
struct Array {
  Header header;
  const unsigned char* data = nullptr;

  // True when the data may be read in place as elements of its dtype (numpy aligns to 64 bytes,
  // but a buffer from elsewhere may not be). Otherwise copy element by element with memcpy.
  bool aligned() const noexcept;
};

// Parses a complete file held in bytes[0, size): the header must be valid and the buffer must be
// exactly header + data long ("truncated data" when shorter, "trailing bytes" when longer).
[[nodiscard]] bool parse(const unsigned char* bytes, std::size_t size, Array& out, Error& error) noexcept;

// A read-only memory map of a whole file. Move-only; unmaps on destruction.
class MappedFile {
 public:
  MappedFile() noexcept = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  // Maps `path` (an empty file maps to size 0 and a null pointer). False with a message on failure.
  [[nodiscard]] bool open(const char* path, Error& error) noexcept;
  void close() noexcept;
  const unsigned char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  // Tells the kernel that bytes [offset, offset + length) will not be read again, so a file
  // streamed once does not stay resident. Only whole pages inside the range are dropped; returns
  // the end of what was dropped (offset when nothing was), the next call's offset when streaming.
  std::size_t release(std::size_t offset, std::size_t length) const noexcept;

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Maps `path` and parses it as an .npy file whose size must match its header exactly.
// `array.data` points into `file`, which must outlive it.
[[nodiscard]] bool map_npy(const char* path, MappedFile& file, Array& array, Error& error) noexcept;

}  // namespace xent::npy
