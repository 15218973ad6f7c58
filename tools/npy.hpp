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
#include <vector>

namespace xent::npy {

enum class DType : std::uint8_t { f4, f2, f8, i4, i8, u1, u2, b1, i1 };

// "<f4", "<f2", "<f8", "<i4", "<i8", "|u1", "<u2", "|b1", "|i1".
const char* dtype_name(DType type) noexcept;
// Bytes per element: 4, 2, 8, 4, 8, 1, 2, 1, 1.
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

// A regular file read by offset (pread), never memory-mapped: a file that another process
// shrinks while we read it gives a short read, reported as an error, where reading a mapping past
// the new end would raise SIGBUS and kill the process. Move-only; closes on destruction.
class File {
 public:
  File() noexcept = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  ~File();

  // Opens `path` for reading; only a regular file (a FIFO, directory or device is refused at once:
  // the open never blocks). False with a message on failure.
  [[nodiscard]] bool open(const char* path, Error& error) noexcept;
  void close() noexcept;
  // The size when it was opened.
  std::uint64_t size() const noexcept { return size_; }
  // Reads exactly n bytes at offset into out; false with a message when the file has become too
  // short for them ("the file shrank while it was read ...") or the read fails.
  [[nodiscard]] bool read(std::uint64_t offset, void* out, std::size_t n, Error& error) const noexcept;

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// For tests: called before every File::read with its descriptor, offset and length, so a test
// can shrink the file at a chosen point of the stream. Null (the default) calls nothing.
using ReadHook = void (*)(int fd, std::uint64_t offset, std::size_t length);
void set_read_hook(ReadHook hook) noexcept;

// Opens `path` and parses its header, which must describe the file's size exactly ("truncated
// data" / "trailing bytes" otherwise). The data is read later, with file.read from header.data_offset.
[[nodiscard]] bool open_npy(const char* path, File& file, Header& header, Error& error) noexcept;

// Reads a whole .npy file into `bytes` and parses it; `array.data` points into `bytes`.
[[nodiscard]] bool load_npy(const char* path, std::vector<unsigned char>& bytes, Array& array, Error& error);

}  // namespace xent::npy
