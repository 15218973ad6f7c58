// Input sources: planning how each array reaches the library, dtype conversion, row chunks, and
// opening the files.
#include "cli/source.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cli.hpp"

namespace xent::cli {

// Native types (float32, float16; int32/int64/uint8/uint16/float labels; quantized int8/uint8
// predictions) go to the library as stored when aligned (always, for a file: its chunks are read
// into an aligned buffer). float64 becomes float32 (as Keras casts it); integers and bools become
// float32 where a float is wanted (one-hot y_true, weights); int8 and misaligned integer labels become int64.
void plan_source(Source& s) {
  const npy::DType t = s.header().dtype;
  const bool aligned = s.array.aligned();
  s.elem = Elem::f32;
  s.in_place = false;
  if (s.role == Role::pred && s.quantized && (t == npy::DType::i1 || t == npy::DType::u1)) {
    // One-byte elements are always aligned; a gathered chunk is a copy of the bytes, not floats.
    s.elem = t == npy::DType::i1 ? Elem::qi8 : Elem::qu8;
    s.in_place = !s.gather;
    return;
  }
  if (s.role == Role::labels) {
    switch (t) {
      case npy::DType::i4: s.elem = aligned ? Elem::i32 : Elem::i64; s.in_place = aligned; break;
      case npy::DType::i8: s.elem = Elem::i64; s.in_place = aligned; break;
      case npy::DType::u1: case npy::DType::b1: s.elem = Elem::u8; s.in_place = true; break;
      case npy::DType::i1: s.elem = Elem::i64; break;
      case npy::DType::u2: s.elem = aligned ? Elem::u16 : Elem::i64; s.in_place = aligned; break;
      case npy::DType::f4: s.in_place = aligned; break;
      case npy::DType::f2: case npy::DType::f8: break;
    }
  } else if (t == npy::DType::f4) {
    s.in_place = aligned;
  } else if (t == npy::DType::f2 && aligned) {
    s.elem = Elem::f16;
    s.in_place = true;
  }
  if (s.gather) {  // never labels (see evaluate), not quantized (above): a float copy
    s.elem = Elem::f32;
    s.in_place = false;
  }
}

template <class S, class D, class F>
void convert_each(const unsigned char* src, std::size_t n, D* out, F f) {
  for (std::size_t i = 0; i < n; ++i) {
    S v;
    std::memcpy(&v, src + i * sizeof(S), sizeof(S));
    out[i] = f(v);
  }
}

void to_floats(npy::DType t, const unsigned char* src, std::size_t n, float* out) {
  switch (t) {
    case npy::DType::f4: convert_each<float>(src, n, out, [](float v) { return v; }); break;
    case npy::DType::f2:
      convert_each<std::uint16_t>(src, n, out, [](std::uint16_t v) { return to_float(float16{v}); });
      break;
    case npy::DType::f8: convert_each<double>(src, n, out, [](double v) { return static_cast<float>(v); }); break;
    case npy::DType::i4:
      convert_each<std::int32_t>(src, n, out, [](std::int32_t v) { return static_cast<float>(v); });
      break;
    case npy::DType::i8:
      convert_each<std::int64_t>(src, n, out, [](std::int64_t v) { return static_cast<float>(v); });
      break;
    case npy::DType::u1:
      convert_each<std::uint8_t>(src, n, out, [](std::uint8_t v) { return static_cast<float>(v); });
      break;
    case npy::DType::u2:
      convert_each<std::uint16_t>(src, n, out, [](std::uint16_t v) { return static_cast<float>(v); });
      break;
    case npy::DType::b1:
      convert_each<std::uint8_t>(src, n, out, [](std::uint8_t v) { return v != 0 ? 1.0f : 0.0f; });
      break;
    case npy::DType::i1:
      convert_each<std::int8_t>(src, n, out, [](std::int8_t v) { return static_cast<float>(v); });
      break;
  }
}

void to_ints(npy::DType t, const unsigned char* src, std::size_t n, std::int64_t* out) {
  switch (t) {
    case npy::DType::i4:
      convert_each<std::int32_t>(src, n, out, [](std::int32_t v) { return static_cast<std::int64_t>(v); });
      break;
    case npy::DType::u2:
      convert_each<std::uint16_t>(src, n, out, [](std::uint16_t v) { return static_cast<std::int64_t>(v); });
      break;
    case npy::DType::i1:
      convert_each<std::int8_t>(src, n, out, [](std::int8_t v) { return static_cast<std::int64_t>(v); });
      break;
    default:  // i8 (plan_source sends no other type here)
      convert_each<std::int64_t>(src, n, out, [](std::int64_t v) { return v; });
      break;
  }
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = other.data_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.capacity_ = 0;
  }
  return *this;
}

Buffer::~Buffer() { std::free(data_); }

bool Buffer::reserve(std::size_t bytes) noexcept {
  if (bytes <= capacity_) return true;
  std::free(data_);  // the contents need not survive: no realloc copy
  data_ = std::malloc(bytes);
  capacity_ = data_ != nullptr ? bytes : 0;
  return data_ != nullptr;
}

namespace {

bool no_memory(npy::Error& error, std::size_t bytes) {
  std::snprintf(error.text, sizeof error.text, "cannot allocate %zu bytes for a chunk (fewer --chunk-rows may fit)",
                bytes);
  return false;
}

// The bytes of elements [first, first + n): in place for embedded data, else read from the file
// into s.raw (never a memory map: see npy::File).
bool bytes_of(Source& s, std::size_t first, std::size_t n, const unsigned char*& out, npy::Error& error) {
  const std::size_t item = npy::dtype_size(s.header().dtype);
  if (s.file == nullptr) {
    out = s.array.data + first * item;
    return true;
  }
  if (!s.raw.reserve(n * item)) return no_memory(error, n * item);
  if (!s.file->read(s.header().data_offset + first * item, s.raw.as<unsigned char>(), n * item, error)) return false;
  out = s.raw.as<const unsigned char>();
  return true;
}

}  // namespace

bool take(Source& s, std::size_t r0, std::size_t r1, Chunk& c, npy::Error& error) {
  const npy::Header& h = s.header();
  std::size_t dims[npy::kMaxRank];
  std::copy(h.shape, h.shape + npy::kMaxRank, dims);
  std::size_t first = 0, n = h.count;
  if (s.sliced) {
    // Contiguous in the file: slice_axis 0, or slice_axis 1 under a leading dim of 1.
    first = r0 * s.row_elems;
    n = (r1 - r0) * s.row_elems;
    dims[s.slice_axis] = r1 - r0;
  }
  c = Chunk{};
  c.elem = s.elem;
  c.shape = Shape::from(dims, h.rank);
  c.first = first;
  c.scale = s.scale;
  c.zero_point = s.zero_point;
  if (s.whole != nullptr) {
    c.data = s.whole;
    return true;
  }
  if (s.gather) {
    // y[:, r0:r1, ...] of a class-first array: one contiguous run per class, as float32 or, for
    // quantized predictions, as the stored bytes.
    const bool bytes = is_quantized(s.elem);
    const std::size_t blocks = h.shape[0], stride = h.shape[1] * s.row_elems, item = bytes ? 1 : sizeof(float);
    if (!s.converted.reserve(blocks * n * item)) return no_memory(error, blocks * n * item);
    for (std::size_t b = 0; b < blocks; ++b) {
      const unsigned char* src = nullptr;
      if (!bytes_of(s, b * stride + first, n, src, error)) return false;
      if (bytes) std::memcpy(s.converted.as<unsigned char>() + b * n, src, n);
      else to_floats(h.dtype, src, n, s.converted.as<float>() + b * n);
    }
    c.data = s.converted.as<unsigned char>();
    return true;
  }
  const unsigned char* src = nullptr;
  if (!bytes_of(s, first, n, src, error)) return false;
  if (s.in_place) {
    c.data = src;
  } else if (s.elem == Elem::i64) {
    if (!s.converted.reserve(n * sizeof(std::int64_t))) return no_memory(error, n * sizeof(std::int64_t));
    to_ints(h.dtype, src, n, s.converted.as<std::int64_t>());
    c.data = s.converted.as<std::int64_t>();
  } else {
    if (!s.converted.reserve(n * sizeof(float))) return no_memory(error, n * sizeof(float));
    to_floats(h.dtype, src, n, s.converted.as<float>());
    c.data = s.converted.as<float>();
  }
  if (!s.sliced) s.whole = c.data;  // read (and converted) once, reused by every chunk
  return true;
}

bool open_source(const char* path, npy::File& file, Source& s, std::FILE* err) {
  npy::Error e;
  s.name = path;
  s.file = &file;
  s.array = npy::Array{};
  if (!npy::open_npy(path, file, s.array.header, e)) {
    report(err, kExitData, "%s: %s", path, e.text);
    return false;
  }
  return true;
}

}  // namespace xent::cli
