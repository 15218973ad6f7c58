#include "npy.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .npy reader hands out little-endian data in place: a little-endian host is required"
#endif

namespace xent::npy {
namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr const char* kSupported = "<f4 <f2 <f8 <i4 <i8 |u1 <u2 |b1";

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
bool fail(Error& error, const char* format, ...) noexcept {
  va_list args;
  va_start(args, format);
  std::vsnprintf(error.text, sizeof error.text, format, args);
  va_end(args);
  return false;
}

// A cursor over the header's dict literal. The grammar is the subset of Python literals that
// numpy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } plus padding.
struct Cursor {
  const char* p;
  const char* end;

  void skip_space() noexcept {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool take(char c) noexcept {
    skip_space();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  // A quoted string without escapes (numpy never writes any). [begin, begin + length) on success.
  bool string(const char*& begin, std::size_t& length) noexcept {
    skip_space();
    if (p >= end || (*p != '\'' && *p != '"')) return false;
    const char quote = *p++;
    begin = p;
    while (p < end && *p != quote) {
      if (*p == '\\' || static_cast<unsigned char>(*p) < 0x20 || static_cast<unsigned char>(*p) > 0x7e)
        return false;
      ++p;
    }
    if (p >= end) return false;
    length = static_cast<std::size_t>(p - begin);
    ++p;
    return true;
  }
  bool word(const char* w) noexcept {
    skip_space();
    const std::size_t n = std::strlen(w);
    if (static_cast<std::size_t>(end - p) < n || std::memcmp(p, w, n) != 0) return false;
    // The word must end here: "Falsey" is not False.
    if (static_cast<std::size_t>(end - p) > n) {
      const char next = p[n];
      if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9') ||
          next == '_')
        return false;
    }
    p += n;
    return true;
  }
};

// Prints at most 40 characters of a header fragment, non-printables as '?', for messages.
void quote_fragment(const char* s, std::size_t n, char (&out)[48]) noexcept {
  std::size_t k = 0;
  for (; k < n && k < 40; ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    out[k] = (c >= 0x20 && c <= 0x7e) ? static_cast<char>(c) : '?';
  }
  if (k < n) {
    out[k++] = '.';
    out[k++] = '.';
    out[k++] = '.';
  }
  out[k] = '\0';
}

bool parse_descr(const char* s, std::size_t n, DType& type, Error& error) noexcept {
  struct Known {
    const char* name;
    DType type;
  };
  // numpy writes '|' for one-byte types; '<' and '=' mean the same on a little-endian machine
  // only for one-byte types, so we accept '<u1'/'<b1' too but nothing else.
  static const Known kKnown[] = {
      {"<f4", DType::f4}, {"<f2", DType::f2}, {"<f8", DType::f8}, {"<i4", DType::i4},
      {"<i8", DType::i8}, {"|u1", DType::u1}, {"<u1", DType::u1}, {"<u2", DType::u2},
      {"|b1", DType::b1}, {"<b1", DType::b1},
  };
  for (const Known& k : kKnown) {
    if (n == 3 && std::memcmp(s, k.name, 3) == 0) {
      type = k.type;
      return true;
    }
  }
  char text[48];
  quote_fragment(s, n, text);
  if (n > 0 && s[0] == '>')
    return fail(error, "big-endian dtype '%s' is not supported (only little-endian: %s)", text, kSupported);
  return fail(error, "unsupported dtype '%s' (supported: %s)", text, kSupported);
}

// Anything but a plain decimal integer where a dimension belongs (-4, 4.5, 1e3, 0x3, None, '4', 3j):
// the message quotes the token, up to the next ',', ')' or space.
bool not_a_dim(const char* start, const char* end, Error& error) noexcept {
  const char* stop = start;
  while (stop < end && *stop != ',' && *stop != ')' && *stop != ' ') ++stop;
  char text[48];
  quote_fragment(start, static_cast<std::size_t>(stop - start), text);
  return fail(error, "bad header: the shape must be a tuple of non-negative integers, not '%s'", text);
}

// A non-negative decimal integer as Python writes it: no sign, no leading zeros, optional 'L'.
bool parse_dim(Cursor& c, std::size_t& value, Error& error) noexcept {
  c.skip_space();
  const char* start = c.p;
  std::size_t v = 0;
  while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
    const std::size_t digit = static_cast<std::size_t>(*c.p - '0');
    if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10)
      return fail(error, "bad header: a dimension of the shape does not fit in %u bits",
                  static_cast<unsigned>(sizeof(std::size_t) * 8));
    v = v * 10 + digit;
    ++c.p;
  }
  const std::size_t digits = static_cast<std::size_t>(c.p - start);
  if (digits == 0) return not_a_dim(start, c.end, error);
  if (c.p < c.end && *c.p == 'L') ++c.p;  // Python 2 long literal, as old numpy wrote
  // A digit run that goes on as a number of another kind: 4.5, 1e3, 0x3, 3j, 3L5.
  if (c.p < c.end && (*c.p == '.' || *c.p == '_' || (*c.p >= '0' && *c.p <= '9') || (*c.p >= 'a' && *c.p <= 'z') ||
                      (*c.p >= 'A' && *c.p <= 'Z')))
    return not_a_dim(start, c.end, error);
  if (digits > 1 && *start == '0') return fail(error, "bad header: a dimension has a leading zero");
  value = v;
  return true;
}

bool parse_shape(Cursor& c, Header& h, Error& error) noexcept {
  if (!c.take('(')) return fail(error, "bad header: 'shape' must be a tuple such as (3, 4)");
  h.rank = 0;
  if (c.take(')')) return true;  // () : a scalar array
  std::size_t rank = 0;
  for (;;) {
    std::size_t d = 0;
    if (!parse_dim(c, d, error)) return false;
    if (rank >= kMaxRank)
      return fail(error, "rank above %u is not supported", static_cast<unsigned>(kMaxRank));
    h.shape[rank++] = d;
    const bool comma = c.take(',');
    if (c.take(')')) {
      // (5) is the integer 5 in Python, not a tuple: numpy always writes (5,).
      if (rank == 1 && !comma) return fail(error, "bad header: 'shape' must be a tuple such as (5,)");
      break;
    }
    if (!comma) return fail(error, "bad header: expected ',' or ')' in 'shape'");
  }
  h.rank = rank;
  return true;
}

bool parse_dict(const char* text, std::size_t n, Header& h, Error& error) noexcept {
  Cursor c{text, text + n};
  if (!c.take('{')) return fail(error, "bad header: it does not start with a Python dict");
  bool have_descr = false, have_order = false, have_shape = false;
  bool fortran = false;
  for (;;) {
    if (c.take('}')) break;
    const char* key = nullptr;
    std::size_t key_len = 0;
    if (!c.string(key, key_len)) return fail(error, "bad header: expected a quoted key in the dict");
    if (!c.take(':')) return fail(error, "bad header: expected ':' after a key");
    if (key_len == 5 && std::memcmp(key, "descr", 5) == 0) {
      if (have_descr) return fail(error, "bad header: 'descr' appears twice");
      have_descr = true;
      c.skip_space();
      if (c.p < c.end && (*c.p == '[' || *c.p == '('))
        return fail(error, "structured dtypes are not supported (supported: %s)", kSupported);
      const char* descr = nullptr;
      std::size_t descr_len = 0;
      if (!c.string(descr, descr_len)) return fail(error, "bad header: 'descr' must be a quoted string");
      if (!parse_descr(descr, descr_len, h.dtype, error)) return false;
    } else if (key_len == 13 && std::memcmp(key, "fortran_order", 13) == 0) {
      if (have_order) return fail(error, "bad header: 'fortran_order' appears twice");
      have_order = true;
      if (c.word("True")) fortran = true;
      else if (c.word("False")) fortran = false;
      else return fail(error, "bad header: 'fortran_order' must be True or False");
    } else if (key_len == 5 && std::memcmp(key, "shape", 5) == 0) {
      if (have_shape) return fail(error, "bad header: 'shape' appears twice");
      have_shape = true;
      if (!parse_shape(c, h, error)) return false;
    } else {
      char name[48];
      quote_fragment(key, key_len, name);
      return fail(error, "bad header: unexpected key '%s'", name);
    }
    if (c.take(',')) continue;
    if (c.take('}')) break;
    return fail(error, "bad header: expected ',' or '}' in the dict");
  }
  c.skip_space();
  if (c.p != c.end) return fail(error, "bad header: unexpected characters after the dict");
  if (!have_descr) return fail(error, "bad header: the key 'descr' is missing");
  if (!have_order) return fail(error, "bad header: the key 'fortran_order' is missing");
  if (!have_shape) return fail(error, "bad header: the key 'shape' is missing");
  // A Fortran-order array of rank <= 1 has the same layout as C order; numpy still writes False
  // for those, so we refuse every True rather than guess.
  if (fortran) return fail(error, "Fortran-order arrays are not supported (save with C order)");
  return true;
}

}  // namespace

const char* dtype_name(DType type) noexcept {
  switch (type) {
    case DType::f4: return "<f4";
    case DType::f2: return "<f2";
    case DType::f8: return "<f8";
    case DType::i4: return "<i4";
    case DType::i8: return "<i8";
    case DType::u1: return "|u1";
    case DType::u2: return "<u2";
    case DType::b1: return "|b1";
  }
  return "?";
}

std::size_t dtype_size(DType type) noexcept {
  switch (type) {
    case DType::f4: case DType::i4: return 4;
    case DType::f2: case DType::u2: return 2;
    case DType::f8: case DType::i8: return 8;
    case DType::u1: case DType::b1: return 1;
  }
  return 1;
}

bool parse_header(const unsigned char* bytes, std::size_t size, Header& out, Error& error) noexcept {
  out = Header{};
  if (bytes == nullptr) size = 0;
  if (size < 8) {
    if (size >= 1 && std::memcmp(bytes, kMagic, size < 6 ? size : 6) != 0)
      return fail(error, "not an .npy file (bad magic)");
    return fail(error, "truncated header: the file has %zu bytes, an .npy header needs at least 10", size);
  }
  if (std::memcmp(bytes, kMagic, 6) != 0) return fail(error, "not an .npy file (bad magic)");
  const unsigned major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0)
    return fail(error, "unsupported .npy format version %u.%u (supported: 1.0, 2.0, 3.0)", major, minor);
  const std::size_t prefix = major == 1 ? 10 : 12;
  if (size < prefix)
    return fail(error, "truncated header: the file has %zu bytes, the version %u prefix needs %zu", size, major,
                prefix);
  std::size_t header_len = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(bytes[8]) | static_cast<std::size_t>(bytes[9]) << 8;
  } else {
    const std::uint32_t len = static_cast<std::uint32_t>(bytes[8]) | static_cast<std::uint32_t>(bytes[9]) << 8 |
                              static_cast<std::uint32_t>(bytes[10]) << 16 | static_cast<std::uint32_t>(bytes[11]) << 24;
    if (len > kMaxHeaderBytes)
      return fail(error, "bad header: its length %lu is above the limit of %zu bytes", static_cast<unsigned long>(len),
                  kMaxHeaderBytes);
    header_len = len;
  }
  if (size - prefix < header_len)
    return fail(error, "truncated header: the header needs %zu bytes, the file has %zu", prefix + header_len, size);
  Header h;
  h.version = major;
  if (!parse_dict(reinterpret_cast<const char*>(bytes + prefix), header_len, h, error)) return false;
  const std::size_t item = dtype_size(h.dtype);
  std::size_t count = 1;
  bool overflow = false;
  for (std::size_t i = 0; i < h.rank; ++i) {
    const std::size_t d = h.shape[i];
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) overflow = true;
    else count *= d;
  }
  // A zero dim makes the array empty whatever the other dims are.
  for (std::size_t i = 0; i < h.rank; ++i)
    if (h.shape[i] == 0) {
      count = 0;
      overflow = false;
    }
  if (overflow || count > (std::numeric_limits<std::size_t>::max() - prefix - header_len) / item)
    return fail(error, "the shape is too large: its byte size overflows %u bits",
                static_cast<unsigned>(sizeof(std::size_t) * 8));
  h.count = count;
  h.data_offset = prefix + header_len;
  h.data_bytes = count * item;
  out = h;
  return true;
}

bool Array::aligned() const noexcept {
  return reinterpret_cast<std::uintptr_t>(data) % dtype_size(header.dtype) == 0;
}

bool parse(const unsigned char* bytes, std::size_t size, Array& out, Error& error) noexcept {
  out = Array{};
  Header h;
  if (!parse_header(bytes, size, h, error)) return false;
  const std::size_t have = size - h.data_offset;
  if (have < h.data_bytes)
    return fail(error, "truncated data: the header needs %zu bytes of data, the file has %zu", h.data_bytes, have);
  if (have > h.data_bytes)
    return fail(error, "trailing bytes: the file has %zu bytes after the %zu bytes of data", have - h.data_bytes,
                h.data_bytes);
  out.header = h;
  out.data = bytes + h.data_offset;
  return true;
}

MappedFile::MappedFile(MappedFile&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    close();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { close(); }

void MappedFile::close() noexcept {
  if (data_ != nullptr) munmap(const_cast<unsigned char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

bool MappedFile::open(const char* path, Error& error) noexcept {
  close();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. Nothing is
  // read through the descriptor (only fstat and mmap), so the flag changes nothing for a regular
  // file; anything else (FIFO, directory, device such as /dev/zero) is refused just below.
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(error, "cannot open: %s", std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(error, "cannot stat: %s", std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    // Only regular files: the array is memory-mapped, which a pipe or a device cannot be.
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO (pipes are not supported)"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                                              : "a socket or other special file";
    return fail(error, "not a regular file: %s", kind);
  }
  // off_t may be 64-bit while size_t is 32-bit (armv7): a file that cannot be mapped whole is refused.
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > std::numeric_limits<std::size_t>::max()) {
    ::close(fd);
    return fail(error, "the file is too large to map on this %u-bit system",
                static_cast<unsigned>(sizeof(std::size_t) * 8));
  }
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return true;
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int e = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (p == MAP_FAILED) return fail(error, "cannot map %zu bytes: %s", size, std::strerror(e));
  madvise(p, size, MADV_SEQUENTIAL);
  data_ = static_cast<const unsigned char*>(p);
  size_ = size;
  return true;
}

std::size_t MappedFile::release(std::size_t offset, std::size_t length) const noexcept {
  if (data_ == nullptr || offset >= size_) return offset;
  if (length > size_ - offset) length = size_ - offset;
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return offset;
  const std::size_t page = static_cast<std::size_t>(page_size);
  const std::size_t begin = (offset + page - 1) / page * page;
  // The file's last partial page goes too once the range reaches the end of the file.
  const std::size_t end = offset + length == size_ ? size_ : (offset + length) / page * page;
  if (end <= begin) return offset;
  madvise(const_cast<unsigned char*>(data_) + begin, end - begin, MADV_DONTNEED);
  return end;
}

bool map_npy(const char* path, MappedFile& file, Array& array, Error& error) noexcept {
  array = Array{};
  if (!file.open(path, error)) return false;
  return parse(file.data(), file.size(), array, error);
}

}  // namespace xent::npy
