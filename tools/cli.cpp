// The xent command line: `xent eval`, `xent demo`, `xent --version`, `xent --help`.
// A client of the public API only: arrays are memory-mapped .npy files, fed to the library's
// metric objects in chunks of rows (along the first axis, or the second when the class axis is
// first), so memory stays bounded by the chunk size whatever the file size.
#include "cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "demo_data.hpp"
#include "npy.hpp"
#include "xent/xent.hpp"

#if defined(__GNUC__)
#define XENT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define XENT_PRINTF(f, a)
#endif

namespace xent::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Every failure is exactly one line "xent: ..." on err.
XENT_PRINTF(3, 4) int report(std::FILE* err, int code, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("xent: ", err);
  std::vfprintf(err, format, args);
  std::fputc('\n', err);
  va_end(args);
  std::fflush(err);
  return code;
}

// numpy's spelling of a shape: (), (5,), (3, 4).
std::string shape_text(const std::size_t* dims, std::size_t rank) {
  std::string s = "(";
  for (std::size_t i = 0; i < rank; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  if (rank == 1) s += ",";
  return s + ")";
}

// "row 12" when only the first index can vary, else "index (12, 3)".
std::string position_text(std::size_t flat, const std::size_t* dims, std::size_t rank) {
  std::size_t index[npy::kMaxRank] = {};
  for (std::size_t i = rank; i-- > 0;) {
    if (dims[i] == 0) break;
    index[i] = flat % dims[i];
    flat /= dims[i];
  }
  bool rows_only = rank >= 1;
  for (std::size_t i = 1; i < rank; ++i)
    if (dims[i] != 1) rows_only = false;
  if (rows_only) return "row " + std::to_string(index[0]);
  return "index " + shape_text(index, rank);
}

// %.*g, but "nan" / "inf" / "-inf" whatever the sign bit of a NaN ("-nan" would only confuse).
std::string float_text(double v, int digits = 9) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Inputs: an .npy array (mapped or embedded) and how its chunks reach the library.

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

// ---------------------------------------------------------------------------------------------
// Typed calls into the library.

template <class F>
Status with_float(const Chunk& c, F&& f) {
  if (c.elem == Elem::f16) return f(view(static_cast<const float16*>(c.data), c.shape));
  return f(view(static_cast<const float*>(c.data), c.shape));
}

template <class F>
Status with_label(const Chunk& c, F&& f) {
  switch (c.elem) {
    case Elem::i32: return f(view(static_cast<const std::int32_t*>(c.data), c.shape));
    case Elem::i64: return f(view(static_cast<const std::int64_t*>(c.data), c.shape));
    case Elem::u8: return f(view(static_cast<const std::uint8_t*>(c.data), c.shape));
    case Elem::u16: return f(view(static_cast<const std::uint16_t*>(c.data), c.shape));
    default: return f(view(static_cast<const float*>(c.data), c.shape));
  }
}

template <class M>
struct IsSparse : std::false_type {};
template <std::size_t N>
struct IsSparse<SparseCategoricalCrossentropy<N>> : std::true_type {};

template <class M, class F>
Status with_truth(const Chunk& t, F&& f) {
  if constexpr (IsSparse<M>::value) return with_label(t, f);
  else return with_float(t, f);
}

template <class M>
Status update(M& metric, const Chunk& t, const Chunk& p, const Chunk* w) {
  return with_truth<M>(t, [&](auto tv) {
    return with_float(p, [&](auto pv) -> Status {
      if (w == nullptr) return metric.update_state(tv, pv);
      return with_float(*w, [&](auto wv) { return metric.update_state(tv, pv, wv); });
    });
  });
}

// Per-element losses of one chunk (to locate a non-finite loss after Status::non_finite_input).
template <class M>
Status chunk_losses(const M& metric, const Chunk& t, const Chunk& p, float* out, std::size_t n) {
  return with_truth<M>(t, [&](auto tv) {
    return with_float(p, [&](auto pv) -> Status {
      if constexpr (IsSparse<M>::value) return sparse_categorical_crossentropy(tv, pv, out, n, metric.options());
      else return categorical_crossentropy(tv, pv, out, n, metric.options());
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Progress bar: stderr only, only when it is a terminal, at most 10 redraws a second.

class Progress {
 public:
  Progress(std::FILE* err, bool on, std::size_t total) : err_(err), on_(on && total > 0), total_(total) {}
  void update(std::size_t done) {
    if (!on_) return;
    const double t = seconds_since(start_);
    if (t - last_ < 0.1 || done >= total_) return;
    last_ = t;
    const double rate = t > 0 ? static_cast<double>(done) / t : 0.0;
    const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    const long secs = static_cast<long>(left + 0.5);
    std::fprintf(err_, "\r\033[Kxent: %zu/%zu rows (%.0f%%)  %.3g rows/s  %ld:%02ld:%02ld left", done, total_,
                 100.0 * static_cast<double>(done) / static_cast<double>(total_), rate, secs / 3600, secs / 60 % 60,
                 secs % 60);
    std::fflush(err_);
    drawn_ = true;
  }
  void clear() {
    if (drawn_) std::fputs("\r\033[K", err_);
    drawn_ = false;
  }

 private:
  std::FILE* err_;
  bool on_;
  std::size_t total_;
  Clock::time_point start_ = Clock::now();
  double last_ = 0.0;
  bool drawn_ = false;
};

// ---------------------------------------------------------------------------------------------
// Evaluation: shared by `eval` (mapped files) and `demo` (embedded arrays).

struct Spec {
  bool sparse = true;
  bool from_logits = false;
  float label_smoothing = 0.0f;
  int axis = -1;
  std::optional<std::int64_t> ignore_class;
  bool nan_reject = false;
  bool per_class = false;
  std::size_t chunk_rows = 0;  // 0: about 1 Mi y_pred elements per chunk
  bool progress = false;
};

struct ClassResult {
  float result;
  double total;
  double count;
};

struct Outcome {
  std::string metric;
  float result = 0.0f;
  double total = 0.0;
  double count = 0.0;
  std::size_t elements = 0;  // per-element losses (y_pred's elements without the class axis)
  std::size_t rows = 0;      // y_pred's first dimension
  std::size_t classes = 0;
  std::size_t chunks = 0;
  bool per_class_requested = false;
  std::vector<ClassResult> per_class;
};

struct Geometry {
  std::size_t axis = 0;      // the class axis of y_pred, normalised
  std::size_t classes = 0;
  std::size_t rows = 0;      // y_pred's first dimension
  bool chunked = false;      // rank >= 2: chunks of rows along axis 0 (axis 1 when the class axis is 0)
  std::size_t chunk_rows = 0;
  std::size_t loss_dims[npy::kMaxRank] = {};  // V: y_pred's shape without the class axis
  std::size_t loss_rank = 0;
};

constexpr std::size_t kDefaultChunkElements = std::size_t{1} << 20;

bool is_float(npy::DType t) { return t == npy::DType::f4 || t == npy::DType::f2 || t == npy::DType::f8; }

// Labels: the first offending entry of a chunk that the library refused with label_out_of_range.
bool find_bad_label(const Chunk& c, std::size_t classes, const std::optional<std::int64_t>& ignore,
                    std::size_t& at, std::string& text) {
  const std::size_t n = c.shape.size();
  const auto bad_int = [&](std::int64_t v) {
    if (ignore && v == *ignore) return false;
    return v < 0 || static_cast<std::uint64_t>(v) >= classes;
  };
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t v = 0;
    switch (c.elem) {
      case Elem::i32: v = static_cast<const std::int32_t*>(c.data)[i]; break;
      case Elem::i64: v = static_cast<const std::int64_t*>(c.data)[i]; break;
      case Elem::u8: v = static_cast<const std::uint8_t*>(c.data)[i]; break;
      case Elem::u16: v = static_cast<const std::uint16_t*>(c.data)[i]; break;
      default: {
        const float f = static_cast<const float*>(c.data)[i];
        // A float label is truncated toward zero; NaN, inf and values beyond int64 are always bad.
        if (!std::isfinite(f) || std::fabs(f) >= 9.2e18f || bad_int(static_cast<std::int64_t>(f))) {
          at = i;
          text = float_text(static_cast<double>(f));
          return true;
        }
        continue;
      }
    }
    if (bad_int(v)) {
      at = i;
      text = std::to_string(v);
      return true;
    }
  }
  return false;
}

template <class M>
int explain_failure(Status status, const M& metric, const Spec& spec, Source& truth, Source& pred, Source* weights,
                    const Geometry& g, const Chunk& t, const Chunk& p, const Chunk* w, std::size_t r0,
                    std::size_t r1, std::FILE* err) {
  const std::string rows = g.chunked ? " in rows " + std::to_string(r0) + "-" + std::to_string(r1 - 1) : "";
  switch (status) {
    case Status::label_out_of_range: {
      std::size_t at = 0;
      std::string value;
      if (find_bad_label(t, g.classes, spec.ignore_class, at, value)) {
        const npy::Header& h = truth.header();
        return report(err, kExitData, "%s: label %s at %s is outside [0, %zu)", truth.name.c_str(), value.c_str(),
                      position_text(t.first + at, h.shape, h.rank).c_str(), g.classes);
      }
      return report(err, kExitData, "%s: a label%s is outside [0, %zu)", truth.name.c_str(), rows.c_str(),
                    g.classes);
    }
    case Status::shape_mismatch: {
      if (weights != nullptr) {
        M probe(metric.options());
        if (update(probe, t, p, nullptr) == Status::ok)
          return report(err, kExitData, "%s: sample weights of shape %s do not fit the losses of shape %s (%s "
                        "without its class axis %zu)", weights->name.c_str(), weights->shape().c_str(),
                        shape_text(g.loss_dims, g.loss_rank).c_str(), pred.name.c_str(), g.axis);
      }
      return report(err, kExitData, "%s: y_true of shape %s does not fit y_pred %s of shape %s (class axis %zu)",
                    truth.name.c_str(), truth.shape().c_str(), pred.name.c_str(), pred.shape().c_str(), g.axis);
    }
    case Status::non_finite_input: {
      if (w != nullptr && w->elem == Elem::f32) {
        const float* v = static_cast<const float*>(w->data);
        for (std::size_t i = 0; i < w->shape.size(); ++i)
          if (!std::isfinite(v[i]))
            return report(err, kExitData, "%s: sample weight %s at %s is not finite (--nan reject)",
                          weights->name.c_str(), float_text(static_cast<double>(v[i])).c_str(),
                          position_text(w->first + i, weights->header().shape, weights->header().rank).c_str());
      } else if (w != nullptr) {
        const float16* v = static_cast<const float16*>(w->data);
        for (std::size_t i = 0; i < w->shape.size(); ++i)
          if (!std::isfinite(to_float(v[i])))
            return report(err, kExitData, "%s: sample weight %s at %s is not finite (--nan reject)",
                          weights->name.c_str(), float_text(static_cast<double>(to_float(v[i]))).c_str(),
                          position_text(w->first + i, weights->header().shape, weights->header().rank).c_str());
      }
      std::size_t n = 1;
      for (std::size_t i = 0; i < g.loss_rank; ++i) n *= i == 0 && g.chunked ? r1 - r0 : g.loss_dims[i];
      std::vector<float> losses(n);
      const std::size_t first = g.chunked && g.rows > 0 ? r0 * (n / std::max<std::size_t>(1, r1 - r0)) : 0;
      (void)chunk_losses(metric, t, p, losses.data(), n);
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(losses[i]))
          return report(err, kExitData, "%s: the loss at %s is %s (--nan reject refuses non-finite losses)",
                        pred.name.c_str(), position_text(first + i, g.loss_dims, g.loss_rank).c_str(),
                        float_text(static_cast<double>(losses[i])).c_str());
      return report(err, kExitData, "%s: a non-finite loss or weight%s (--nan reject)", pred.name.c_str(),
                    rows.c_str());
    }
    case Status::no_classes:
      return report(err, kExitData, "%s: the class axis %zu of shape %s has length 0", pred.name.c_str(), g.axis,
                    pred.shape().c_str());
    default:
      return report(err, kExitData, "%s: %s", pred.name.c_str(), status_message(status));
  }
}

template <class M>
int run_metric(M& metric, const Spec& spec, Source& truth, Source& pred, Source* weights, const Geometry& g,
               Outcome& out, std::FILE* err) {
  Progress progress(err, spec.progress && g.chunked, g.rows);
  std::size_t r0 = 0;
  do {
    const std::size_t r1 = g.chunked ? std::min(g.rows, r0 + g.chunk_rows) : g.rows;
    const Chunk t = take(truth, r0, r1);
    const Chunk p = take(pred, r0, r1);
    Chunk w;
    if (weights != nullptr) w = take(*weights, r0, r1);
    const Status status = update(metric, t, p, weights != nullptr ? &w : nullptr);
    if (status != Status::ok) {
      progress.clear();
      return explain_failure(status, metric, spec, truth, pred, weights, g, t, p, weights != nullptr ? &w : nullptr,
                             r0, r1, err);
    }
    ++out.chunks;
    release(truth, r1, r1 == g.rows);
    release(pred, r1, r1 == g.rows);
    if (weights != nullptr) release(*weights, r1, r1 == g.rows);
    r0 = r1;
    progress.update(r0);
  } while (r0 < g.rows);
  progress.clear();
  out.metric = metric.name();
  out.result = metric.result();
  out.total = metric.total();
  out.count = metric.count();
  out.per_class_requested = spec.per_class;
  if (spec.per_class) {
    for (std::size_t k = 0; k < g.classes; ++k)
      out.per_class.push_back({metric.per_class_result(k), metric.per_class_total(k), metric.per_class_count(k)});
  }
  return kExitOk;
}

int evaluate(const Spec& spec, Source& truth, Source& pred, Source* weights, Outcome& out, std::FILE* err) {
  out = Outcome{};
  const npy::Header& ph = pred.header();
  if (!is_float(ph.dtype))
    return report(err, kExitData, "%s: y_pred must hold floats (<f4, <f2 or <f8), not %s", pred.name.c_str(),
                  npy::dtype_name(ph.dtype));
  if (ph.rank == 0)
    return report(err, kExitData, "%s: y_pred is a scalar; it needs a class axis", pred.name.c_str());
  const long rank = static_cast<long>(ph.rank);
  if (spec.axis < -rank || spec.axis >= rank)
    return report(err, kExitData, "%s: --axis %d is outside [%ld, %ld) for y_pred of shape %s", pred.name.c_str(),
                  spec.axis, -rank, rank, pred.shape().c_str());
  Geometry g;
  g.axis = static_cast<std::size_t>(spec.axis < 0 ? spec.axis + rank : spec.axis);
  g.classes = ph.shape[g.axis];
  g.chunked = ph.rank >= 2;
  g.rows = g.axis == 0 && g.chunked ? ph.shape[1] : ph.shape[0];
  for (std::size_t i = 0; i < ph.rank; ++i)
    if (i != g.axis) g.loss_dims[g.loss_rank++] = ph.shape[i];
  if (spec.per_class && g.classes > kPerClassMaxClasses)
    return report(err, kExitData, "%s: --per-class supports at most %u classes, the class axis has %zu",
                  pred.name.c_str(), kPerClassMaxClasses, g.classes);

  pred.role = Role::pred;
  truth.role = spec.sparse ? Role::labels : Role::truth;
  if (weights != nullptr) weights->role = Role::weights;
  // Rank 1 (a single row of classes): one update. Otherwise chunks of rows along axis 0, or with
  // the class axis first along axis 1 (y_pred[:, r0:r1] copied class by class).
  if (g.chunked) {
    const npy::Header& th = truth.header();
    const auto misfit = [&] {
      return report(err, kExitData, "%s: y_true of shape %s does not fit y_pred %s of shape %s (class axis %zu)",
                    truth.name.c_str(), truth.shape().c_str(), pred.name.c_str(), pred.shape().c_str(), g.axis);
    };
    pred.sliced = truth.sliced = true;
    if (g.axis != 0) {
      if (th.rank == 0 || th.shape[0] != g.rows) return misfit();
    } else {
      pred.slice_axis = 1;
      pred.gather = ph.shape[0] > 1;
      if (!spec.sparse) {
        // Categorical y_true has y_pred's shape exactly.
        if (th.rank != ph.rank || !std::equal(th.shape, th.shape + th.rank, ph.shape)) return misfit();
        truth.slice_axis = 1;
        truth.gather = pred.gather;
      } else if (th.rank == ph.rank && th.shape[0] == 1 && th.shape[1] == g.rows) {
        truth.slice_axis = 1;  // y_pred's shape with the class axis set to 1: contiguous
      } else if (th.rank == 0 || th.shape[0] != g.rows) {
        return misfit();
      }
    }
    if (weights != nullptr) {
      const npy::Header& wh = weights->header();
      // A scalar weight, or one of first dimension 1 (broadcast over rows), goes whole with every chunk.
      if (wh.rank > 0 && wh.shape[0] == g.rows) weights->sliced = true;
      else if (wh.rank > 0 && wh.shape[0] != 1)
        return report(err, kExitData, "%s: sample weights have %zu rows, y_pred %s has %zu",
                      weights->name.c_str(), wh.shape[0], pred.name.c_str(), g.rows);
    }
  }
  for (Source* s : {&truth, &pred, weights}) {
    if (s == nullptr) continue;
    s->row_elems = 1;
    for (std::size_t i = s->slice_axis + 1; i < s->header().rank; ++i) s->row_elems *= s->header().shape[i];
    plan_source(*s);
  }
  // Elements of y_pred per row (all classes).
  const std::size_t pred_row = g.rows > 0 ? std::max<std::size_t>(1, ph.count / g.rows) : 1;
  g.chunk_rows = spec.chunk_rows > 0 ? spec.chunk_rows : std::max<std::size_t>(1, kDefaultChunkElements / pred_row);

  out.rows = g.rows;
  out.classes = g.classes;
  out.elements = g.classes > 0 ? ph.count / g.classes : 0;
  if (g.classes == 0) {
    std::size_t n = 1;
    for (std::size_t i = 0; i < g.loss_rank; ++i) n *= g.loss_dims[i];
    out.elements = n;
  }

  if (spec.sparse) {
    SparseOptions o;
    o.from_logits = spec.from_logits;
    o.label_smoothing = spec.label_smoothing;
    o.axis = spec.axis;
    o.ignore_class = spec.ignore_class;
    o.nan_policy = spec.nan_reject ? NanPolicy::reject : NanPolicy::propagate;
    o.per_class = spec.per_class;
    if (spec.per_class) {
      SparseCategoricalCrossentropy<kPerClassMaxClasses> m(o);
      return run_metric(m, spec, truth, pred, weights, g, out, err);
    }
    SparseCategoricalCrossentropy<> m(o);
    return run_metric(m, spec, truth, pred, weights, g, out, err);
  }
  CategoricalOptions o;
  o.from_logits = spec.from_logits;
  o.label_smoothing = spec.label_smoothing;
  o.axis = spec.axis;
  o.nan_policy = spec.nan_reject ? NanPolicy::reject : NanPolicy::propagate;
  o.per_class = spec.per_class;
  if (spec.per_class) {
    CategoricalCrossentropy<kPerClassMaxClasses> m(o);
    return run_metric(m, spec, truth, pred, weights, g, out, err);
  }
  CategoricalCrossentropy<> m(o);
  return run_metric(m, spec, truth, pred, weights, g, out, err);
}

// ---------------------------------------------------------------------------------------------
// Output.

// JSON has no NaN or infinity: those become null.
std::string json_number(double v, int digits) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

void print_json(std::FILE* out, const Outcome& o, double seconds) {
  std::fprintf(out, "{\"metric\": \"%s\", \"result\": %s, \"total\": %s, \"count\": %s, \"elements\": %zu, "
               "\"rows\": %zu, \"classes\": %zu, \"chunks\": %zu, \"seconds\": %s, \"isa\": \"%s\"",
               o.metric.c_str(), json_number(static_cast<double>(o.result), 9).c_str(),
               json_number(o.total, 17).c_str(), json_number(o.count, 17).c_str(), o.elements, o.rows, o.classes,
               o.chunks, json_number(seconds, 6).c_str(), active_isa());
  if (o.per_class_requested) {
    std::fputs(", \"per_class\": [", out);
    for (std::size_t k = 0; k < o.per_class.size(); ++k)
      std::fprintf(out, "%s{\"class\": %zu, \"result\": %s, \"total\": %s, \"count\": %s}", k ? ", " : "", k,
                   json_number(static_cast<double>(o.per_class[k].result), 9).c_str(),
                   json_number(o.per_class[k].total, 17).c_str(), json_number(o.per_class[k].count, 17).c_str());
    std::fputs("]", out);
  }
  std::fputs("}\n", out);
}

// ---------------------------------------------------------------------------------------------
// Arguments.

const char kHelp[] =
    "xent: Keras's CategoricalCrossentropy / SparseCategoricalCrossentropy metrics on .npy files\n"
    "\n"
    "usage: xent eval --metric categorical|sparse --y-true T.npy --y-pred P.npy [options]\n"
    "       xent demo       evaluate the bundled handwritten-digits data against independent references\n"
    "       xent --version\n"
    "       xent --help\n"
    "\n"
    "eval options:\n"
    "  --metric categorical|sparse  categorical: y_true one-hot or soft, shaped like y_pred;\n"
    "                               sparse: y_true integer class indices\n"
    "  --y-true FILE                true labels (.npy)\n"
    "  --y-pred FILE                predictions (.npy): probabilities, or logits with --from-logits\n"
    "  --sample-weight FILE         per-row (or broadcastable) weights (.npy)\n"
    "  --from-logits                y_pred holds logits\n"
    "  --label-smoothing F          in [0, 1] (default 0)\n"
    "  --axis N                     class axis of y_pred (default -1)\n"
    "  --ignore-class N             sparse only: rows with this label count for nothing\n"
    "  --nan reject|propagate       reject: fail on a NaN/inf loss or weight (default propagate)\n"
    "  --per-class                  also the result of each class (at most 1024 classes)\n"
    "  --json                       one JSON object: metric, result, total, count, elements, rows,\n"
    "                               classes, chunks, seconds, isa (and per_class)\n"
    "  --chunk-rows N               rows per update (default: about 1M y_pred elements per chunk)\n"
    "  --no-progress                never draw the progress bar (drawn on stderr only if a terminal)\n"
    "\n"
    ".npy files: format 1.0-3.0, little-endian, C order; dtypes <f4 <f2 <f8 <i4 <i8 |u1 <u2 |b1\n"
    "(<f8 is converted to float32 as Keras does). Files are memory-mapped and processed in chunks\n"
    "of rows along the first axis (along the second when the class axis is the first, copying\n"
    "y_pred[:, rows] class by class), so memory stays bounded whatever the file size.\n"
    "Exit status: 0 success, 1 a problem with the data (one line on stderr), 2 a usage error.\n";

XENT_PRINTF(2, 3) int usage_error(std::FILE* err, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("xent: ", err);
  std::vfprintf(err, format, args);
  std::fputs(" (see xent --help)\n", err);
  va_end(args);
  std::fflush(err);
  return kExitUsage;
}

bool parse_double(const char* s, double& v) {
  if (*s == '\0' || std::isspace(static_cast<unsigned char>(*s))) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(s, &end);
  return *end == '\0' && errno == 0 && std::isfinite(v);
}

bool parse_int64(const char* s, std::int64_t& v) {
  if (*s == '\0' || std::isspace(static_cast<unsigned char>(*s))) return false;
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(s, &end, 10);
  if (*end != '\0' || errno != 0) return false;
  v = static_cast<std::int64_t>(x);
  return true;
}

struct EvalArgs {
  const char* metric = nullptr;
  const char* y_true = nullptr;
  const char* y_pred = nullptr;
  const char* weights = nullptr;
  bool json = false;
  bool no_progress = false;
  bool help = false;
  Spec spec;
};

int parse_eval(int argc, char** argv, EvalArgs& a, std::FILE* err) {
  enum Id { metric, y_true, y_pred, weights, logits, smoothing, axis, ignore, nan, per_class, json, chunk_rows,
            no_progress, help, count };
  struct Flag {
    const char* name;
    bool takes_value;
  };
  static const Flag kFlags[count] = {
      {"--metric", true},  {"--y-true", true},         {"--y-pred", true},   {"--sample-weight", true},
      {"--from-logits", false}, {"--label-smoothing", true}, {"--axis", true}, {"--ignore-class", true},
      {"--nan", true},     {"--per-class", false},     {"--json", false},    {"--chunk-rows", true},
      {"--no-progress", false}, {"--help", false}};
  bool seen[count] = {};
  for (int i = 2; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "-h") == 0) arg = "--help";
    if (std::strncmp(arg, "--", 2) != 0) return usage_error(err, "eval: unexpected argument '%s'", arg);
    const char* eq = std::strchr(arg, '=');
    const std::size_t name_len = eq != nullptr ? static_cast<std::size_t>(eq - arg) : std::strlen(arg);
    int id = -1;
    for (int f = 0; f < count; ++f)
      if (std::strlen(kFlags[f].name) == name_len && std::strncmp(kFlags[f].name, arg, name_len) == 0) id = f;
    if (id < 0) return usage_error(err, "eval: unknown option '%.*s'", static_cast<int>(name_len), arg);
    const char* name = kFlags[id].name;
    if (seen[id]) return usage_error(err, "eval: %s is given twice", name);
    seen[id] = true;
    const char* value = nullptr;
    if (kFlags[id].takes_value) {
      if (eq != nullptr) value = eq + 1;
      else if (i + 1 < argc) value = argv[++i];
      else return usage_error(err, "eval: %s needs a value", name);
    } else if (eq != nullptr) {
      return usage_error(err, "eval: %s takes no value", name);
    }
    switch (id) {
      case metric:
        if (std::strcmp(value, "categorical") == 0) a.spec.sparse = false;
        else if (std::strcmp(value, "sparse") == 0) a.spec.sparse = true;
        else return usage_error(err, "eval: --metric must be categorical or sparse, not '%s'", value);
        a.metric = value;
        break;
      case y_true: a.y_true = value; break;
      case y_pred: a.y_pred = value; break;
      case weights: a.weights = value; break;
      case logits: a.spec.from_logits = true; break;
      case smoothing: {
        double v = 0;
        if (!parse_double(value, v)) return usage_error(err, "eval: --label-smoothing needs a number, not '%s'", value);
        if (v < 0.0 || v > 1.0) return usage_error(err, "eval: --label-smoothing must be in [0, 1], not %s", value);
        a.spec.label_smoothing = static_cast<float>(v);
        break;
      }
      case axis: {
        std::int64_t v = 0;
        if (!parse_int64(value, v) || v < -static_cast<std::int64_t>(kMaxRank) ||
            v >= static_cast<std::int64_t>(kMaxRank))
          return usage_error(err, "eval: --axis needs an integer in [-8, 8), not '%s'", value);
        a.spec.axis = static_cast<int>(v);
        break;
      }
      case ignore: {
        std::int64_t v = 0;
        if (!parse_int64(value, v)) return usage_error(err, "eval: --ignore-class needs an integer, not '%s'", value);
        a.spec.ignore_class = v;
        break;
      }
      case nan:
        if (std::strcmp(value, "reject") == 0) a.spec.nan_reject = true;
        else if (std::strcmp(value, "propagate") == 0) a.spec.nan_reject = false;
        else return usage_error(err, "eval: --nan must be reject or propagate, not '%s'", value);
        break;
      case per_class: a.spec.per_class = true; break;
      case json: a.json = true; break;
      case chunk_rows: {
        std::int64_t v = 0;
        if (!parse_int64(value, v) || v <= 0)
          return usage_error(err, "eval: --chunk-rows needs a positive integer, not '%s'", value);
        if (static_cast<std::uint64_t>(v) > std::numeric_limits<std::size_t>::max())
          return usage_error(err, "eval: --chunk-rows %s is too large", value);
        a.spec.chunk_rows = static_cast<std::size_t>(v);
        break;
      }
      case no_progress: a.no_progress = true; break;
      case help: a.help = true; break;
      default: break;
    }
  }
  if (a.help) return kExitOk;
  if (a.metric == nullptr) return usage_error(err, "eval: --metric categorical|sparse is required");
  if (a.y_true == nullptr) return usage_error(err, "eval: --y-true FILE is required");
  if (a.y_pred == nullptr) return usage_error(err, "eval: --y-pred FILE is required");
  if (!a.spec.sparse && a.spec.ignore_class)
    return usage_error(err, "eval: --ignore-class applies to --metric sparse only");
  return kExitOk;
}

// A result that could not be written (a full disk, a closed pipe) is a failure, not a success.
int finish_output(std::FILE* out, std::FILE* err) {
  if (std::fflush(out) != 0 || std::ferror(out) != 0)
    return report(err, kExitData, "cannot write the output: %s", std::strerror(errno));
  return kExitOk;
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

int cmd_eval(int argc, char** argv, std::FILE* out, std::FILE* err) {
  EvalArgs a;
  if (const int rc = parse_eval(argc, argv, a, err); rc != kExitOk) return rc;
  if (a.help) {
    std::fputs(kHelp, out);
    return kExitOk;
  }
  a.spec.progress = !a.no_progress && isatty(fileno(err)) != 0;
  const Clock::time_point start = Clock::now();
  npy::MappedFile true_file, pred_file, weight_file;
  Source truth, pred, weights;
  if (!open_source(a.y_true, true_file, truth, err)) return kExitData;
  if (!open_source(a.y_pred, pred_file, pred, err)) return kExitData;
  if (a.weights != nullptr && !open_source(a.weights, weight_file, weights, err)) return kExitData;
  Outcome o;
  const int rc = evaluate(a.spec, truth, pred, a.weights != nullptr ? &weights : nullptr, o, err);
  if (rc != kExitOk) return rc;
  const double seconds = seconds_since(start);
  if (a.json) {
    print_json(out, o, seconds);
  } else {
    std::fprintf(out, "%s\n", float_text(static_cast<double>(o.result)).c_str());
    for (std::size_t k = 0; k < o.per_class.size(); ++k)
      std::fprintf(out, "class %zu: %s (count %s)\n", k, float_text(static_cast<double>(o.per_class[k].result)).c_str(),
                   float_text(o.per_class[k].count, 17).c_str());
  }
  return finish_output(out, err);
}

// ---------------------------------------------------------------------------------------------
// Demo: the bundled digits data (embedded in the binary) against independent float64 references.

const EmbeddedFile* find_embedded(const char* name) {
  for (std::size_t i = 0; i < kDemoFileCount; ++i)
    if (std::strcmp(kDemoFiles[i].name, name) == 0) return &kDemoFiles[i];
  return nullptr;
}

bool find_reference(const char* key, double& value) {
  for (std::size_t i = 0; i < kDemoReferenceCount; ++i)
    if (std::strcmp(kDemoReferences[i].key, key) == 0) {
      value = kDemoReferences[i].value;
      return true;
    }
  return false;
}

bool embedded_source(const char* name, Source& s, std::FILE* err) {
  s = Source{};
  s.name = std::string("embedded ") + name;
  const EmbeddedFile* f = find_embedded(name);
  if (f == nullptr) {
    report(err, kExitData, "demo: %s is not embedded in this binary", name);
    return false;
  }
  npy::Error e;
  if (!npy::parse(f->bytes, f->size, s.array, e)) {
    report(err, kExitData, "demo: %s: %s", s.name.c_str(), e.text);
    return false;
  }
  return true;
}

constexpr double kDemoTolerance = 1e-6;  // SEMANTICS.md: float32 results within 1e-6 relative

int cmd_demo(std::FILE* out, std::FILE* err) {
  struct Case {
    const char* label;
    bool sparse;
    const char* pred;
    const char* truth;
    const char* weights;
    bool logits;
    float smoothing;
    const char* reference;
  };
  static const Case kCases[] = {
      {"sparse, probabilities float32", true, "digits_probs.npy", "digits_labels.npy", nullptr, false, 0.0f,
       "sparse_probs"},
      {"sparse, probabilities float32, weighted", true, "digits_probs.npy", "digits_labels.npy",
       "digits_weights.npy", false, 0.0f, "sparse_probs_weighted"},
      {"sparse, probabilities float16", true, "digits_probs_f16.npy", "digits_labels.npy", nullptr, false, 0.0f,
       "sparse_probs_f16"},
      {"sparse, logits float32", true, "digits_logits.npy", "digits_labels.npy", nullptr, true, 0.0f,
       "sparse_logits"},
      {"sparse, logits float32, weighted", true, "digits_logits.npy", "digits_labels.npy", "digits_weights.npy",
       true, 0.0f, "sparse_logits_weighted"},
      {"sparse, logits float16", true, "digits_logits_f16.npy", "digits_labels.npy", nullptr, true, 0.0f,
       "sparse_logits_f16"},
      {"categorical, logits float32, one-hot", false, "digits_logits.npy", "digits_onehot.npy", nullptr, true, 0.0f,
       "sparse_logits"},
      {"categorical, logits float32, smoothing 0.1", false, "digits_logits.npy", "digits_onehot.npy", nullptr, true,
       0.1f, "categorical_logits_label_smoothing_0.1"},
  };
  double rows = 0, classes = 0;
  (void)find_reference("rows", rows);
  (void)find_reference("classes", classes);
  std::fprintf(out, "xent %s demo: %.0f held-out handwritten digits, %.0f classes (a logistic regression's outputs)\n",
               kVersionString, rows, classes);
  std::fprintf(out, "references: float64 scikit-learn log_loss / PyTorch cross_entropy; tolerance %.0e relative\n\n",
               kDemoTolerance);
  std::fprintf(out, "  %-44s %-12s %-19s %s\n", "case", "xent", "reference", "rel. diff");
  int failures = 0;
  for (const Case& c : kCases) {
    Source truth, pred, weights;
    if (!embedded_source(c.truth, truth, err) || !embedded_source(c.pred, pred, err)) return kExitData;
    if (c.weights != nullptr && !embedded_source(c.weights, weights, err)) return kExitData;
    double reference = 0;
    if (!find_reference(c.reference, reference))
      return report(err, kExitData, "demo: reference '%s' is missing from the embedded digits_reference.json",
                    c.reference);
    Spec spec;
    spec.sparse = c.sparse;
    spec.from_logits = c.logits;
    spec.label_smoothing = c.smoothing;
    Outcome o;
    if (evaluate(spec, truth, pred, c.weights != nullptr ? &weights : nullptr, o, err) != kExitOk) return kExitData;
    const double diff = std::fabs(static_cast<double>(o.result) - reference) / std::fabs(reference);
    const bool ok = diff <= kDemoTolerance;
    if (!ok) ++failures;
    std::fprintf(out, "  %-44s %-12.9g %-19.17g %.1e%s\n", c.label, static_cast<double>(o.result), reference, diff,
                 ok ? "" : "  MISMATCH");
  }

  // Throughput: the library alone, repeated updates over the float32 logits until 0.3 s pass.
  Source truth, pred;
  if (!embedded_source("digits_labels.npy", truth, err) || !embedded_source("digits_logits.npy", pred, err))
    return kExitData;
  const npy::Header& ph = pred.header();
  if (ph.rank != 2 || !pred.array.aligned() || ph.dtype != npy::DType::f4 || truth.header().dtype != npy::DType::i8)
    return report(err, kExitData, "demo: the embedded logits/labels do not have the expected layout");
  SparseOptions options;
  options.from_logits = true;
  SparseCategoricalCrossentropy<> metric(options);
  const auto y_true = view(reinterpret_cast<const std::int64_t*>(truth.array.data), {truth.header().count});
  const auto y_pred = view(reinterpret_cast<const float*>(pred.array.data), {ph.shape[0], ph.shape[1]});
  std::size_t passes = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  do {
    if (const Status s = metric.update_state(y_true, y_pred); s != Status::ok)
      return report(err, kExitData, "demo: %s", status_message(s));
    ++passes;
    elapsed = seconds_since(start);
  } while (elapsed < 0.3);
  const double row_rate = static_cast<double>(passes * ph.shape[0]) / elapsed;
  std::fprintf(out, "\nthroughput: %.3g rows/s, %.3g floats/s (sparse from logits, %zux%zu float32, %zu passes in "
               "%.2f s, isa %s)\n", row_rate, row_rate * static_cast<double>(ph.shape[1]), ph.shape[0], ph.shape[1],
               passes, elapsed, active_isa());
  if (finish_output(out, err) != kExitOk) return kExitData;
  if (failures > 0)
    return report(err, kExitData, "demo: %d result%s differ from the reference by more than %.0e relative",
                  failures, failures == 1 ? "" : "s", kDemoTolerance);
  return kExitOk;
}

}  // namespace

int xent_main(int argc, char** argv, std::FILE* out, std::FILE* err) {
  if (argc < 2) return usage_error(err, "missing command: xent eval ..., xent demo, xent --version or xent --help");
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "--version") == 0 || std::strcmp(cmd, "-V") == 0) {
    if (argc > 2) return usage_error(err, "--version takes no arguments");
    std::fprintf(out, "xent %s (kernels: %s)\n", kVersionString, active_isa());
    return finish_output(out, err);
  }
  if (std::strcmp(cmd, "--help") == 0 || std::strcmp(cmd, "-h") == 0 || std::strcmp(cmd, "help") == 0) {
    std::fputs(kHelp, out);
    return finish_output(out, err);
  }
  if (std::strcmp(cmd, "eval") == 0) return cmd_eval(argc, argv, out, err);
  if (std::strcmp(cmd, "demo") == 0) {
    if (argc > 2) return usage_error(err, "demo takes no arguments, got '%s'", argv[2]);
    return cmd_demo(out, err);
  }
  return usage_error(err, "unknown command '%s'", cmd);
}

}  // namespace xent::cli
