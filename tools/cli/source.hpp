#pragma once
// Input sources: an .npy array (memory-mapped or embedded), how its elements reach the library
// (in place or converted to float32 / int64), and how it is cut into chunks of rows.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/report.hpp"
#include "npy.hpp"
#include "xent/xent.hpp"

namespace xent::cli {

enum class Role { pred, truth, labels, weights };
// The element types handed to the library; anything else is converted to f32 (or i64 labels).
enum class Elem { f32, f16, i32, i64, u8, u16 };

struct Chunk {
  Elem elem = Elem::f32;
  const void* data = nullptr;
  Shape shape;
  std::size_t first = 0;  // flat index of the chunk's first element in the whole array
};

struct Source {
  std::string name;                       // the path (or embedded name) used in messages
  const npy::MappedFile* file = nullptr;  // null for embedded data
  npy::Array array;
  Role role = Role::pred;
  Elem elem = Elem::f32;
  bool in_place = true;      // the library reads the mapped bytes directly
  bool sliced = false;       // a range of rows per chunk, else the whole array each time
  std::size_t slice_axis = 0;  // the axis of those rows: 0, or 1 when y_pred's class axis is first
  bool gather = false;       // slice_axis 1 with shape[0] > 1: each chunk is copied out block by block
  std::size_t row_elems = 0;  // elements per row: the product of the dims after slice_axis
  bool converted_whole = false;
  std::size_t released = 0;  // file bytes before this offset have been handed back (release)
  std::vector<float> floats;  // bounded: one chunk (or the whole array when not sliced)
  std::vector<std::int64_t> ints;

  const npy::Header& header() const { return array.header; }
  std::string shape() const { return shape_text(array.header.shape, array.header.rank); }
};

// Chooses s.elem and s.in_place from the dtype, the role and the alignment (set role, gather first).
void plan_source(Source& s);

// Element-wise conversions of n elements of dtype t (read with memcpy: src may be misaligned).
void to_floats(npy::DType t, const unsigned char* src, std::size_t n, float* out);
void to_ints(npy::DType t, const unsigned char* src, std::size_t n, std::int64_t* out);

// The rows [r0, r1) of a sliced source, or the whole array of an unsliced one.
Chunk take(Source& s, std::size_t r0, std::size_t r1);

// Hands the mapped pages before row r1 back to the kernel once used (batched, see source.cpp).
void release(Source& s, std::size_t r1, bool last);

// Maps path into file and parses it into s; on failure one line on err, false.
bool open_source(const char* path, npy::MappedFile& file, Source& s, std::FILE* err);

}  // namespace xent::cli
