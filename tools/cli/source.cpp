// Input sources: planning how each array reaches the library, dtype conversion, row chunks, and
// opening the files.
#include "cli/source.hpp"

#include <algorithm>
#include <cstring>

#include "cli.hpp"

namespace xent::cli {

// Native types (float32, float16; int32/int64/uint8/uint16/float labels) are read in place when
// aligned. float64 becomes float32 (as Keras casts it); integers and bools become float32 where a
// float is wanted (one-hot y_true, weights); a misaligned integer label array becomes int64.
void plan_source(Source& s) {
  const npy::DType t = s.header().dtype;
  const bool aligned = s.array.aligned();
  s.elem = Elem::f32;
  s.in_place = false;
  if (s.role == Role::labels) {
    switch (t) {
      case npy::DType::i4: s.elem = aligned ? Elem::i32 : Elem::i64; s.in_place = aligned; break;
      case npy::DType::i8: s.elem = Elem::i64; s.in_place = aligned; break;
      case npy::DType::u1: case npy::DType::b1: s.elem = Elem::u8; s.in_place = true; break;
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
  if (s.gather) {  // never labels (see evaluate): always a float copy
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
    default:  // i8 (plan_source sends no other type here)
      convert_each<std::int64_t>(src, n, out, [](std::int64_t v) { return v; });
      break;
  }
}

// The rows [r0, r1) of a sliced source, or the whole array of an unsliced one.
Chunk take(Source& s, std::size_t r0, std::size_t r1) {
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
  Chunk c;
  c.elem = s.elem;
  c.shape = Shape::from(dims, h.rank);
  c.first = first;
  if (s.gather) {
    // y[:, r0:r1, ...] of a class-first array: one contiguous run per class.
    const std::size_t item = npy::dtype_size(h.dtype), blocks = h.shape[0];
    const std::size_t stride = h.shape[1] * s.row_elems;
    if (s.floats.size() < blocks * n) s.floats.resize(blocks * n);
    for (std::size_t b = 0; b < blocks; ++b)
      to_floats(h.dtype, s.array.data + (b * stride + first) * item, n, s.floats.data() + b * n);
    c.data = s.floats.data();
    return c;
  }
  const unsigned char* src = s.array.data + first * npy::dtype_size(h.dtype);
  if (s.in_place) {
    c.data = src;
    return c;
  }
  if (s.elem == Elem::i64) {
    if (!s.converted_whole) {
      if (s.ints.size() < n) s.ints.resize(n);
      to_ints(h.dtype, src, n, s.ints.data());
    }
    c.data = s.ints.data();
  } else {
    if (!s.converted_whole) {
      if (s.floats.size() < n) s.floats.resize(n);
      to_floats(h.dtype, src, n, s.floats.data());
    }
    c.data = s.floats.data();
  }
  s.converted_whole = !s.sliced;
  return c;
}

// Drops the mapped pages before row r1 once used, so a file streamed once does not stay resident
// (page-cache pages stay cached, but not in our resident set). Batched: one call per 4 MiB.
void release(Source& s, std::size_t r1, bool last) {
  if (s.file == nullptr || !s.sliced || s.gather) return;
  const std::size_t end = s.header().data_offset + r1 * s.row_elems * npy::dtype_size(s.header().dtype);
  if (end - s.released >= (std::size_t{4} << 20) || last) s.released = s.file->release(s.released, end - s.released);
}

bool open_source(const char* path, npy::MappedFile& file, Source& s, std::FILE* err) {
  npy::Error e;
  s.name = path;
  s.file = &file;
  if (!npy::map_npy(path, file, s.array, e)) {
    report(err, kExitData, "%s: %s", path, e.text);
    return false;
  }
  return true;
}

}  // namespace xent::cli
