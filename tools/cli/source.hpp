#pragma once
// Input sources: an .npy array (a file read chunk by chunk, or embedded), how its elements reach
// the library (as stored or converted to float32 / int64), and how it is cut into chunks of rows.
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
// qi8 / qu8: quantized int8 / uint8 predictions (|i1 / |u1 with --y-pred-scale and --y-pred-zero-point),
// handed over as stored in a QuantizedView: never converted to float.
enum class Elem { f32, f16, i32, i64, u8, u16, qi8, qu8 };

inline bool is_quantized(Elem e) { return e == Elem::qi8 || e == Elem::qu8; }

struct Chunk {
  Elem elem = Elem::f32;
  const void* data = nullptr;
  Shape shape;
  std::size_t first = 0;  // flat index of the chunk's first element in the whole array
  float scale = 1.0f;            // qi8 / qu8 only: real = scale * (q - zero_point)
  std::int32_t zero_point = 0;
};

// Memory for one chunk, allocated without exceptions, so a chunk too large for the machine (a row
// of 10^9 classes on a small board) is an error message, not an abort. 8-byte aligned (malloc).
class Buffer {
 public:
  Buffer() noexcept = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept : data_(other.data_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.capacity_ = 0;
  }
  Buffer& operator=(Buffer&& other) noexcept;
  ~Buffer();
  // At least `bytes` bytes (contents not kept); false when the memory is not there.
  [[nodiscard]] bool reserve(std::size_t bytes) noexcept;
  template <class T>
  T* as() const noexcept { return static_cast<T*>(data_); }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

struct Source {
  std::string name;                // the path (or embedded name) used in messages
  const npy::File* file = nullptr;  // null for embedded data, which array.data points to
  npy::Array array;                // the header; data only for embedded arrays
  Role role = Role::pred;
  Elem elem = Elem::f32;
  bool quantized = false;        // 8-bit predictions with these parameters (set with the role)
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  bool in_place = true;      // the library reads the bytes as stored (in `raw` for a file)
  bool sliced = false;       // a range of rows per chunk, else the whole array each time
  std::size_t slice_axis = 0;  // the axis of those rows: 0, or 1 when y_pred's class axis is first
  bool gather = false;       // slice_axis 1 with shape[0] > 1: each chunk is copied out block by block
                             // (as float32, or as the stored bytes when quantized)
  std::size_t row_elems = 0;  // elements per row: the product of the dims after slice_axis
  const void* whole = nullptr;  // an unsliced array, once read (and converted): every chunk reuses it
  Buffer raw;                // bytes read from the file: one chunk (or the whole array when not sliced)
  Buffer converted;          // those bytes as float32 or int64, when not in place

  const npy::Header& header() const { return array.header; }
  std::string shape() const { return shape_text(array.header.shape, array.header.rank); }
};

// Chooses s.elem and s.in_place from the dtype, the role and the alignment (set role, gather first).
void plan_source(Source& s);

// Element-wise conversions of n elements of dtype t (read with memcpy: src may be misaligned).
void to_floats(npy::DType t, const unsigned char* src, std::size_t n, float* out);
void to_ints(npy::DType t, const unsigned char* src, std::size_t n, std::int64_t* out);

// The rows [r0, r1) of a sliced source, or the whole array of an unsliced one, into c. False with
// a message in error when the file cannot be read (it shrank) or the chunk's memory is not there.
bool take(Source& s, std::size_t r0, std::size_t r1, Chunk& c, npy::Error& error);

// Opens path into file and reads its header into s; on failure one line on err, false.
bool open_source(const char* path, npy::File& file, Source& s, std::FILE* err);

}  // namespace xent::cli
