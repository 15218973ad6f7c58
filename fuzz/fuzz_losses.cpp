// Fuzzes the functional forms (categorical_crossentropy, sparse_categorical_crossentropy) with an
// out buffer of every size, allocated on the heap to exactly out_size floats so ASan catches a
// write past it. Invariants: an error other than non_finite_input leaves out untouched; a size
// below V's element count is buffer_too_small, a null out null_data; nothing is written past V;
// where the float64 reference applies every loss agrees with it within SEMANTICS.md's tolerance
// (an ignored entry is exactly 0).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

#include "fuzz_decode.hpp"

namespace {

using xent::Status;

constexpr std::uint32_t kUntouched = 0x7fa5a5a5u;  // a NaN payload no kernel produces

bool untouched(const float* out, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    std::uint32_t b = 0;
    std::memcpy(&b, &out[i], sizeof b);
    if (b != kUntouched) return false;
  }
  return true;
}

Status call(const fz::Case& c, float* out, std::size_t out_size) {
  return fz::with_pred(c.pred, [&](auto p) {
    if (c.sparse)
      return fz::with_label(c.truth, [&](auto t) {
        return xent::sparse_categorical_crossentropy(t, p, out, out_size, c.sparse_options());
      });
    return fz::with_float(c.truth, [&](auto t) {
      return xent::categorical_crossentropy(t, p, out, out_size, c.categorical_options());
    });
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::Bytes in(data, size);
  // out: V's size exactly, one short, one over, empty, null, or any size up to 65535.
  const std::size_t out_mode = in.pick(6);
  const std::size_t raw_size = out_mode == 5 ? in.u16() : 0;
  const fz::Case c = fz::decode_case(in, false);
  const bool known = c.shapes_coherent && c.axis_ok;  // V's element count is known
  const std::size_t elements = known ? c.geometry.elements() : 0;
  std::size_t out_size = raw_size;
  switch (out_mode) {
    case 0: out_size = elements; break;
    case 1: out_size = elements > 0 ? elements - 1 : 0; break;
    case 2: out_size = elements + 1; break;
    case 3:
    case 4: out_size = 0; break;
    default: break;
  }
  const bool null_out = out_mode == 4;
  // new float[0] is a real, non-null allocation of no elements: any write to it is caught.
  std::unique_ptr<float[]> out(null_out ? nullptr : new float[out_size]);
  for (std::size_t i = 0; out && i < out_size; ++i) std::memcpy(&out[i], &kUntouched, sizeof kUntouched);

  const Status s = call(c, out.get(), out_size);
  if (s != Status::ok && s != Status::non_finite_input) {
    fz::require(untouched(out.get(), 0, out_size), "a failed call wrote to out");
  }
  fz::require(s != Status::non_finite_input || c.reject(), "non_finite_input without NanPolicy::reject");
  if (!c.must_accept(false)) return 0;
  if (elements > 0 && null_out) {
    fz::require(s == Status::null_data, "a null out was not null_data");
    return 0;
  }
  if (elements > out_size) {
    fz::require(s == Status::buffer_too_small, "a short out was not buffer_too_small");
    return 0;
  }
  fz::require(s == Status::ok || (s == Status::non_finite_input && c.reject()), "a valid call was refused");
  fz::require(untouched(out.get(), elements, out_size), "a call wrote past V's elements");
  if (s != Status::ok) {
    bool any = false;
    for (std::size_t v = 0; v < elements; ++v) any = any || !std::isfinite(out[v]);
    fz::require(any, "non_finite_input with every loss finite");
    return 0;
  }
  if (!fz::reference_applies(c, false)) return 0;
  const xref::Batch want = fz::reference(c);
  for (std::size_t v = 0; v < elements; ++v) {
    const bool ignored = c.sparse && c.ignore && c.labels[v] == *c.ignore;
    if (ignored) fz::require(out[v] == 0.0f, "an ignored entry's loss is not 0");
    else if (!fz::close(static_cast<double>(out[v]), want.losses[v].value, want.losses[v].tol)) {
      std::fprintf(stderr, "element %zu of %zu: got %.9g, reference %.17g, tolerance %.3g\n", v, elements,
                   static_cast<double>(out[v]), want.losses[v].value, want.losses[v].tol);
      fz::describe(c);
      fz::broken("a loss against the float64 reference");
    }
  }
  return 0;
}
