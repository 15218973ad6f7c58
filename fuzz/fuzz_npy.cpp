// Fuzzes the .npy reader (tools/npy.hpp: parse_header and parse, the in-memory entry points the
// command line's memory map feeds) on arbitrary bytes held in a heap buffer of exactly their size.
// Invariants: a failure leaves a non-empty, terminated message; a header that parses describes
// itself consistently (rank <= 8, count = the product of the shape, data_bytes = count * item size,
// data_offset inside the input); parse succeeds only when the data is exactly there, and then
// every data byte is readable; the array written back the way numpy writes it parses to the same
// dtype and shape.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cli/npy_writer.hpp"
#include "fuzz_input.hpp"
#include "npy.hpp"

namespace {

using namespace xent;

void check_error(const npy::Error& e) {
  fz::require(!e.empty(), "a failed parse left no message");
  fz::require(std::memchr(e.text, '\0', sizeof e.text) != nullptr, "an error message is not terminated");
}

void check_header(const npy::Header& h, std::size_t size) {
  fz::require(h.version >= 1 && h.version <= 3, "header version");
  fz::require(h.rank <= npy::kMaxRank, "header rank above kMaxRank");
  std::size_t count = 1;
  bool zero = false;
  bool overflow = false;
  for (std::size_t i = 0; i < h.rank; ++i) {
    zero = zero || h.shape[i] == 0;
    overflow = overflow || __builtin_mul_overflow(count, h.shape[i], &count);
  }
  if (zero) count = 0;
  fz::require(!overflow || zero, "a header whose shape overflows was accepted");
  fz::require(h.count == count, "header count is not the product of its shape");
  fz::require(h.data_bytes == h.count * npy::dtype_size(h.dtype), "header data_bytes");
  fz::require(h.data_offset >= 10 && h.data_offset <= size, "header data_offset outside the input");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);  // exactly size bytes on the heap
  const unsigned char* p = size > 0 ? bytes.data() : nullptr;

  npy::Header h;
  npy::Error he;
  const bool header_ok = npy::parse_header(p, size, h, he);
  if (header_ok) check_header(h, size);
  else check_error(he);

  npy::Array a;
  npy::Error ae;
  const bool ok = npy::parse(p, size, a, ae);
  if (!ok) {
    check_error(ae);
    return 0;
  }
  fz::require(header_ok, "parse accepted what parse_header refused");
  check_header(a.header, size);
  fz::require(a.header.data_offset + a.header.data_bytes == size, "parse accepted a size that is not header + data");
  fz::require(a.data == p + a.header.data_offset, "the array's data is not where its header says");
  // Reads every data byte (ASan checks the range).
  fz::require(std::memcmp(a.data, bytes.data() + a.header.data_offset, a.header.data_bytes) == 0,
              "the array's data differs from the input's bytes");

  // Written back as numpy writes it, the array parses to the same dtype and shape.
  xent_test::NpySpec spec;
  spec.descr = npy::dtype_name(a.header.dtype);
  spec.shape.assign(a.header.shape, a.header.shape + a.header.rank);
  spec.version = a.header.version;
  const std::vector<unsigned char> again = xent_test::npy_bytes(spec, a.data, a.header.data_bytes);
  npy::Array b;
  npy::Error be;
  fz::require(npy::parse(again.data(), again.size(), b, be), "the array written back does not parse");
  fz::require(b.header.dtype == a.header.dtype && b.header.rank == a.header.rank && b.header.count == a.header.count,
              "the array written back has another dtype or shape");
  for (std::size_t i = 0; i < a.header.rank; ++i)
    fz::require(b.header.shape[i] == a.header.shape[i], "the array written back has another shape");
  return 0;
}
