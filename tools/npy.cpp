#include "npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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
constexpr const char* kSupported = "<f4 <f2 <f8 <i4 <i8 |i1 |u1 <u2 |b1";

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
  // only for one-byte types, so we accept '<i1'/'<u1'/'<b1' too but nothing else.
  static const Known kKnown[] = {
      {"<f4", DType::f4}, {"<f2", DType::f2}, {"<f8", DType::f8}, {"<i4", DType::i4},
      {"<i8", DType::i8}, {"|u1", DType::u1}, {"<u1", DType::u1}, {"<u2", DType::u2},
      {"|b1", DType::b1}, {"<b1", DType::b1}, {"|i1", DType::i1}, {"<i1", DType::i1},
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
    case DType::i1: return "|i1";
  }
  return "?";
}

std::size_t dtype_size(DType type) noexcept {
  switch (type) {
    case DType::f4: case DType::i4: return 4;
    case DType::f2: case DType::u2: return 2;
    case DType::f8: case DType::i8: return 8;
    case DType::u1: case DType::b1: case DType::i1: return 1;
  }
  return 1;
}

namespace {

// The fixed prefix: magic, version, and the header's length (its text follows the prefix).
bool parse_prefix(const unsigned char* bytes, std::size_t size, unsigned& major, std::size_t& prefix,
                  std::size_t& header_len, Error& error) noexcept {
  if (bytes == nullptr) size = 0;
  if (size < 8) {
    if (size >= 1 && std::memcmp(bytes, kMagic, size < 6 ? size : 6) != 0)
      return fail(error, "not an .npy file (bad magic)");
    return fail(error, "truncated header: the file has %zu bytes, an .npy header needs at least 10", size);
  }
  if (std::memcmp(bytes, kMagic, 6) != 0) return fail(error, "not an .npy file (bad magic)");
  major = bytes[6];
  const unsigned minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0)
    return fail(error, "unsupported .npy format version %u.%u (supported: 1.0, 2.0, 3.0)", major, minor);
  prefix = major == 1 ? 10 : 12;
  if (size < prefix)
    return fail(error, "truncated header: the file has %zu bytes, the version %u prefix needs %zu", size, major,
                prefix);
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
  return true;
}

}  // namespace

bool parse_header(const unsigned char* bytes, std::size_t size, Header& out, Error& error) noexcept {
  out = Header{};
  unsigned major = 0;
  std::size_t prefix = 0, header_len = 0;
  if (!parse_prefix(bytes, size, major, prefix, header_len, error)) return false;
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

namespace {

// The file (or buffer) holds exactly the header and the data it describes.
bool check_size(const Header& h, std::uint64_t size, Error& error) noexcept {
  const std::uint64_t have = size - h.data_offset;  // parse_header saw the whole header: no wrap
  const std::uint64_t need = h.data_bytes;
  if (have < need)
    return fail(error, "truncated data: the header needs %llu bytes of data, the file has %llu",
                static_cast<unsigned long long>(need), static_cast<unsigned long long>(have));
  if (have > need)
    return fail(error, "trailing bytes: the file has %llu bytes after the %llu bytes of data",
                static_cast<unsigned long long>(have - need), static_cast<unsigned long long>(need));
  return true;
}

}  // namespace

bool parse(const unsigned char* bytes, std::size_t size, Array& out, Error& error) noexcept {
  out = Array{};
  Header h;
  if (!parse_header(bytes, size, h, error) || !check_size(h, size, error)) return false;
  out.header = h;
  out.data = bytes + h.data_offset;
  return true;
}

namespace {
std::atomic<ReadHook> g_read_hook{nullptr};
}  // namespace

void set_read_hook(ReadHook hook) noexcept { g_read_hook.store(hook); }

File::File(File&& other) noexcept : fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
  other.size_ = 0;
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
    other.size_ = 0;
  }
  return *this;
}

File::~File() { close(); }

void File::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

bool File::open(const char* path, Error& error) noexcept {
  close();
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. Anything
  // but a regular file (FIFO, directory, device such as /dev/zero) is refused just below.
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
    // Only regular files: the header's size is checked against the file's, which a pipe or a
    // device does not have (and /dev/zero would never end).
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO (pipes are not supported)"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                                              : "a socket or other special file";
    return fail(error, "not a regular file: %s", kind);
  }
  // Back to blocking reads for the regular file (the flag means nothing to most file systems, but
  // a network one may honour it with EAGAIN).
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  fd_ = fd;
  size_ = st.st_size > 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

bool File::read(std::uint64_t offset, void* out, std::size_t n, Error& error) const noexcept {
  if (const ReadHook hook = g_read_hook.load()) hook(fd_, offset, n);
  auto* to = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  while (done < n) {
    // At most 1 GiB a call: a 32-bit ssize_t cannot count more.
    const std::size_t want = std::min<std::size_t>(n - done, std::size_t{1} << 30);
    const ssize_t got = ::pread(fd_, to + done, want, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return fail(error, "cannot read %zu bytes at offset %llu: %s", n, static_cast<unsigned long long>(offset),
                  std::strerror(errno));
    }
    if (got == 0) {
      // The end of the file before the bytes the header promised: another process shrank it.
      struct stat st;
      const std::uint64_t now = fstat(fd_, &st) == 0 && st.st_size >= 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
      return fail(error, "the file shrank to %llu bytes while it was read (%llu when opened)",
                  static_cast<unsigned long long>(now), static_cast<unsigned long long>(size_));
    }
    done += static_cast<std::size_t>(got);
  }
  return true;
}

bool open_npy(const char* path, File& file, Header& header, Error& error) noexcept {
  header = Header{};
  if (!file.open(path, error)) return false;
  // The prefix first, then exactly the header it announces: the data is read later, by chunks.
  unsigned char start[12];
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), sizeof start));
  if (!file.read(0, start, n, error)) return false;
  unsigned major = 0;
  std::size_t prefix = 0, header_len = 0;
  if (!parse_prefix(start, n, major, prefix, header_len, error)) return false;
  // A header longer than the file is read whole (the file, below 1 MiB) for the message's sizes.
  n = static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), prefix + header_len));
  std::vector<unsigned char> head(n);
  return file.read(0, head.data(), n, error) && parse_header(head.data(), n, header, error) &&
         check_size(header, file.size(), error);
}

bool load_npy(const char* path, std::vector<unsigned char>& bytes, Array& array, Error& error) {
  array = Array{};
  File file;
  Header h;
  if (!open_npy(path, file, h, error)) return false;
  bytes.resize(h.data_offset + h.data_bytes);
  return file.read(0, bytes.data(), bytes.size(), error) && parse(bytes.data(), bytes.size(), array, error);
}

}  // namespace xent::npy
