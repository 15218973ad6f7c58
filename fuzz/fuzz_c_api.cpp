// Fuzzes the C API (<xent/xent.h>) the way C firmware may call it: any value in every option
// field, any kind and dtype code (C stores any int in an enum), tensors of any rank (above
// XENT_MAX_RANK included) with any dims and null pointers, serialize into buffers of any capacity,
// deserialize of any bytes, merges of unlike metrics, uninitialised storage.
// Beside each C metric a C++ metric with the same options receives the same calls (the C API is a
// thin client of the C++ one): statuses, results, names and serialized bytes must match after
// every call, and a failed call leaves the serialized state as it was.
#include <xent/xent.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "c_api_enums.h"
#include "fuzz_decode.hpp"
#include "metric_test_util.hpp"

namespace {

using xent::Status;
using Categorical = xent::CategoricalCrossentropy<0>;
using Sparse = xent::SparseCategoricalCrossentropy<0>;
constexpr std::size_t kStateSize = Categorical::serialized_size;

xent_status to_c(Status s) { return static_cast<xent_status>(static_cast<int>(s)); }

// A small int as C code would pass it: mostly 0..2, sometimes any 32-bit value.
int decode_int(fz::Bytes& in) {
  const std::uint8_t b = in.u8();
  return b < 240 ? b % 3 : static_cast<int>(in.u32());
}
int code_of(const xent_tensor& t) { return xent_test_dtype_code(&t); }

// One metric through the C API and its C++ twin.
struct Pair {
  xent_metric c{};
  bool live = false;  // xent_metric_init succeeded
  bool sparse = false;
  std::optional<Categorical> cat;
  std::optional<Sparse> sp;

  std::vector<unsigned char> twin_bytes() const {
    std::vector<unsigned char> b(kStateSize);
    const Status s = sparse ? sp->serialize(b.data(), b.size()) : cat->serialize(b.data(), b.size());
    fz::require(s == Status::ok, "serialize of the C++ twin failed");
    return b;
  }
  std::vector<unsigned char> c_bytes() const {
    std::vector<unsigned char> b(kStateSize);
    fz::require(xent_metric_serialize(&c, b.data(), b.size()) == XENT_OK, "xent_metric_serialize of a live metric");
    return b;
  }
  // The C metric and its twin hold the same state, name and numbers (or the C one is not live).
  void check() const {
    if (!live) {
      unsigned char b[8];
      fz::require(xent_metric_result(&c) == 0.0f && xent_metric_total(&c) == 0.0 && xent_metric_count(&c) == 0.0 &&
                      std::strcmp(xent_metric_name(&c), "") == 0 && xent_metric_serialize(&c, b, sizeof b) == XENT_NULL_DATA,
                  "a metric that was never initialised answered");
      return;
    }
    fz::require(c_bytes() == twin_bytes(), "the C metric's state differs from the C++ one's");
    const float r = sparse ? sp->result() : cat->result();
    const float cr = xent_metric_result(&c);
    fz::require(std::memcmp(&r, &cr, sizeof r) == 0, "xent_metric_result differs from result()");
    const char* name = sparse ? sp->name() : cat->name();
    fz::require(std::strcmp(xent_metric_name(&c), name) == 0, "xent_metric_name differs from name()");
  }
};

// xent_metric_init with fuzzed arguments; the twin gets the options as the C API documents them.
void init(fz::Bytes& in, Pair& p, std::vector<char>& name_storage) {
  const std::uint8_t k = in.u8();
  const int kind_code = k < 240 ? k % 4 : static_cast<int>(in.u32());
  const bool no_options = in.pick(8) == 0;
  xent_options o = xent_default_options();
  o.from_logits = decode_int(in);
  o.label_smoothing = fz::detail::decode_ls(in);
  o.axis = in.u8() < 240 ? static_cast<std::int8_t>(in.u8()) : static_cast<int>(in.u32());
  o.has_ignore_class = decode_int(in);
  o.ignore_class = in.flag() ? static_cast<std::int64_t>(in.u64()) : static_cast<std::int8_t>(in.u8());
  o.nan_reject = decode_int(in);
  if (no_options) o = xent_default_options();
  const std::size_t name_len = in.u8();
  const char* name = nullptr;
  if (name_len > 0) {
    name_storage.assign(name_len % 100 + 1, '\0');
    for (std::size_t i = 0; i + 1 < name_storage.size(); ++i) {
      const auto c = static_cast<char>(in.u8());
      name_storage[i] = c != '\0' ? c : 'n';
    }
    name = name_storage.data();
  }
  if (in.pick(16) == 0) {  // storage never initialised: any bytes but the live marker's
    std::memset(&p.c, in.u8() & 0x7f, sizeof p.c);
    p.live = false;
    return;
  }
  const xent_status s = xent_test_init_code(&p.c, kind_code, no_options ? nullptr : &o, name);
  const bool valid_kind = kind_code == XENT_CATEGORICAL || kind_code == XENT_SPARSE;
  fz::require(s == (valid_kind ? XENT_OK : XENT_INVALID_OPTION), "xent_metric_init's status");
  p.live = valid_kind;
  p.sparse = kind_code == XENT_SPARSE;
  if (!valid_kind) return;
  const xent::NanPolicy nan = o.nan_reject != 0 ? xent::NanPolicy::reject : xent::NanPolicy::propagate;
  if (p.sparse) {
    xent::SparseOptions so;
    so.from_logits = o.from_logits != 0;
    so.label_smoothing = o.label_smoothing;
    so.axis = o.axis;
    so.nan_policy = nan;
    if (o.has_ignore_class != 0) so.ignore_class = o.ignore_class;
    p.sp.emplace(so, name != nullptr ? name : "sparse_categorical_crossentropy");
  } else {
    xent::CategoricalOptions co;
    co.from_logits = o.from_logits != 0;
    co.label_smoothing = o.label_smoothing;
    co.axis = o.axis;
    co.nan_policy = nan;
    p.cat.emplace(co, name != nullptr ? name : "categorical_crossentropy");
  }
}

// A tensor struct with its own buffer (exactly the bytes its dims describe when they fit).
struct CTensor {
  xent_tensor t{};
  std::vector<unsigned char> data;
  bool null_struct = false;
};

std::size_t elem_size(int code) {
  switch (code) {
    case XENT_F16:
    case XENT_BF16:
    case XENT_U16: return 2;
    case XENT_U8:
    case XENT_QI8:
    case XENT_QU8: return 1;
    case XENT_I64: return 8;
    default: return 4;
  }
}

// rank, dims and dtype from the input; `like` (when given) lends its dims (the shapes that fit).
void decode_tensor(fz::Bytes& in, CTensor& ct, const CTensor* like, bool drop_last) {
  const std::uint8_t r = in.u8();
  ct.null_struct = r == 255;
  const std::uint8_t d = in.u8();
  const int dtype = d < 240 ? d % 10 : static_cast<int>(in.u32());  // 9 is no dtype
  xent_test_set_dtype_code(&ct.t, dtype);
  const std::uint8_t garbage = in.u8();  // what a C caller left in the unused dims
  for (auto& x : ct.t.dims) x = garbage;
  if (like != nullptr && r < 128) {  // the shape of `like`, or its shape without the last dim
    ct.t.rank = like->t.rank;
    for (std::size_t i = 0; i < XENT_MAX_RANK; ++i) ct.t.dims[i] = like->t.dims[i];
    if (drop_last && ct.t.rank > 0 && ct.t.rank <= XENT_MAX_RANK) --ct.t.rank;
  } else {
    ct.t.rank = r < 250 ? r % 11 : static_cast<std::size_t>(in.u64());
    const std::size_t stored = ct.t.rank < XENT_MAX_RANK ? ct.t.rank : XENT_MAX_RANK;
    std::vector<std::size_t> dims(stored);
    for (auto& x : dims) x = fz::detail::decode_dim(in);
    fz::detail::shrink_to_fit(dims);
    for (std::size_t i = 0; i < stored; ++i) ct.t.dims[i] = dims[i];
  }
  // Bytes: exactly the element count when the shape fits, else one element.
  std::size_t n = 1;
  bool fits = ct.t.rank <= XENT_MAX_RANK;
  for (std::size_t i = 0; fits && i < ct.t.rank; ++i) fits = !__builtin_mul_overflow(n, ct.t.dims[i], &n);
  if (!fits || n > fz::kMaxElements) n = 1;
  const std::size_t esize = elem_size(dtype);
  ct.data.assign(n * esize + (n == 0 ? 1 : 0), 0);
  fz::Lcg g(in.u32());
  const std::size_t mode = in.pick(4);
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char* at = ct.data.data() + i * esize;
    if (mode == 3) {  // raw bytes
      for (std::size_t b = 0; b < esize; ++b) at[b] = in.u8();
    } else if (dtype == XENT_F32 || dtype == XENT_F16 || dtype == XENT_BF16) {
      const float v = mode == 0 ? g.unit() : mode == 1 ? g.in(-10.0f, 10.0f) : fz::palette(in.u8(), in);
      const std::uint16_t half = dtype == XENT_F16 ? xent::to_float16(v).bits : xent::to_bfloat16(v).bits;
      if (dtype == XENT_F32) std::memcpy(at, &v, 4);
      else std::memcpy(at, &half, 2);
    } else if (dtype == XENT_QI8 || dtype == XENT_QU8) {  // any code: every byte is a value
      at[0] = mode == 2 ? in.u8() : static_cast<unsigned char>(g.next());
    } else {  // a small class index in the label's own width
      const std::uint64_t v = mode == 2 ? in.u64() : g.next() % 4;
      std::memcpy(at, &v, esize);  // little-endian: the low bytes
    }
  }
  if (dtype == XENT_QI8 || dtype == XENT_QU8) {  // parameters valid or not
    fz::Tensor q;
    q.type = dtype == XENT_QI8 ? fz::Elem::qi8 : fz::Elem::qu8;
    fz::detail::decode_quantization(in, q);
    ct.t.scale = q.scale;
    ct.t.zero_point = q.zero_point;
  } else {  // what a C caller may leave in the fields other dtypes do not read
    ct.t.scale = in.flag() ? 0.0f : 1.0f;
    ct.t.zero_point = in.flag() ? -1000 : 0;
  }
  ct.t.data = in.pick(16) == 0 ? nullptr : ct.data.data();
}

template <class T>
xent::View<T> typed(const xent_tensor& t) {
  return xent::view(static_cast<const T*>(t.data), xent::Shape::from(t.dims, t.rank));
}

// The C++ call the C API documents for these tensors, or invalid_option for a dtype the argument
// does not take. P: y_pred as its typed (or quantized) view.
template <class M, class T, class P>
Status twin_weighted(M& m, const xent_tensor& y, P p, const xent_tensor* w) {
  if (w == nullptr) return m.update_state(typed<T>(y), p);
  switch (code_of(*w)) {
    case XENT_F32: return m.update_state(typed<T>(y), p, typed<float>(*w));
    case XENT_F16: return m.update_state(typed<T>(y), p, typed<xent::float16>(*w));
    case XENT_BF16: return m.update_state(typed<T>(y), p, typed<xent::bfloat16>(*w));
    default: return Status::invalid_option;
  }
}
template <class Q>
xent::QuantizedView<Q> typed_quantized(const xent_tensor& t) {
  return xent::quantized(static_cast<const Q*>(t.data), xent::Shape::from(t.dims, t.rank), t.scale, t.zero_point);
}
template <class M, class T>
Status twin_pred(M& m, const xent_tensor& y, const xent_tensor& p, const xent_tensor* w) {
  switch (code_of(p)) {
    case XENT_F32: return twin_weighted<M, T>(m, y, typed<float>(p), w);
    case XENT_F16: return twin_weighted<M, T>(m, y, typed<xent::float16>(p), w);
    case XENT_BF16: return twin_weighted<M, T>(m, y, typed<xent::bfloat16>(p), w);
    case XENT_QI8: return twin_weighted<M, T>(m, y, typed_quantized<std::int8_t>(p), w);
    case XENT_QU8: return twin_weighted<M, T>(m, y, typed_quantized<std::uint8_t>(p), w);
    default: return Status::invalid_option;
  }
}
Status twin_update(Pair& p, const xent_tensor& y, const xent_tensor& pr, const xent_tensor* w) {
  if (p.sparse) {
    Sparse& m = *p.sp;
    switch (code_of(y)) {
      case XENT_I32: return twin_pred<Sparse, std::int32_t>(m, y, pr, w);
      case XENT_I64: return twin_pred<Sparse, std::int64_t>(m, y, pr, w);
      case XENT_U8: return twin_pred<Sparse, std::uint8_t>(m, y, pr, w);
      case XENT_U16: return twin_pred<Sparse, std::uint16_t>(m, y, pr, w);
      case XENT_F32: return twin_pred<Sparse, float>(m, y, pr, w);
      default: return Status::invalid_option;
    }
  }
  Categorical& m = *p.cat;
  switch (code_of(y)) {
    case XENT_F32: return twin_pred<Categorical, float>(m, y, pr, w);
    case XENT_F16: return twin_pred<Categorical, xent::float16>(m, y, pr, w);
    case XENT_BF16: return twin_pred<Categorical, xent::bfloat16>(m, y, pr, w);
    default: return Status::invalid_option;
  }
}

void op_update(fz::Bytes& in, Pair& p) {
  CTensor pred, truth, weight;
  decode_tensor(in, pred, nullptr, false);
  decode_tensor(in, truth, &pred, p.sparse);
  const bool weighted = in.flag();
  if (weighted) decode_tensor(in, weight, &pred, true);
  const xent_tensor* y = truth.null_struct ? nullptr : &truth.t;
  const xent_tensor* pr = pred.null_struct ? nullptr : &pred.t;
  const xent_tensor* w = weighted && !weight.null_struct ? &weight.t : nullptr;
  const std::vector<unsigned char> before = p.live ? p.c_bytes() : std::vector<unsigned char>();
  const xent_status s = xent_metric_update(&p.c, y, pr, w);
  if (!p.live || y == nullptr || pr == nullptr) {
    fz::require(s == XENT_NULL_DATA, "an update without a metric or a tensor was not XENT_NULL_DATA");
    return;
  }
  fz::require(s == to_c(twin_update(p, *y, *pr, w)), "xent_metric_update's status differs from update_state's");
  if (s != XENT_OK) fz::require(p.c_bytes() == before, "a failed xent_metric_update changed the state");
}

void op_merge(fz::Bytes& in, Pair& p) {
  Pair other;
  std::vector<char> name;
  init(in, other, name);
  if (other.live && in.flag()) {  // the other metric holds state
    using namespace mt::worked;
    xent_tensor y{}, pr{};
    pr.data = kPred;
    pr.dtype = XENT_F32;
    pr.rank = 2;
    pr.dims[0] = 2;
    pr.dims[1] = 3;
    y = pr;
    if (other.sparse) y.data = kLabels, y.dtype = XENT_I32, y.rank = 1;
    else y.data = kOneHot;
    fz::require(xent_metric_update(&other.c, &y, &pr, nullptr) == to_c(twin_update(other, y, pr, nullptr)),
                "the other metric's update differs from its twin's");
  }
  const std::vector<unsigned char> before = p.live ? p.c_bytes() : std::vector<unsigned char>();
  const xent_status s = xent_metric_merge(&p.c, &other.c);
  xent_status want = XENT_NULL_DATA;
  if (p.live && other.live) {
    if (p.sparse != other.sparse) want = XENT_INCOMPATIBLE_STATE;
    else want = to_c(p.sparse ? p.sp->merge_state(*other.sp) : p.cat->merge_state(*other.cat));
  }
  fz::require(s == want, "xent_metric_merge's status differs from merge_state's");
  if (s != XENT_OK && p.live) fz::require(p.c_bytes() == before, "a failed xent_metric_merge changed the state");
}

void op_serialize(fz::Bytes& in, Pair& p) {
  static constexpr std::size_t kCapacities[] = {kStateSize, kStateSize - 1, 0, kStateSize + 9, 1};
  const std::size_t capacity = kCapacities[in.pick(5)];
  const bool null_out = in.pick(8) == 0;
  std::vector<unsigned char> out(capacity + 1);  // one guard byte after the capacity
  out.back() = 0x5a;
  const xent_status s = xent_metric_serialize(&p.c, null_out ? nullptr : out.data(), capacity);
  if (!p.live) {
    fz::require(s == XENT_NULL_DATA, "serialize of a metric never initialised was not XENT_NULL_DATA");
    return;
  }
  std::vector<unsigned char> twin(capacity + 1);
  const Status ts = p.sparse ? p.sp->serialize(null_out ? nullptr : twin.data(), capacity)
                             : p.cat->serialize(null_out ? nullptr : twin.data(), capacity);
  fz::require(s == to_c(ts), "xent_metric_serialize's status differs from serialize's");
  fz::require(out.back() == 0x5a, "xent_metric_serialize wrote past its capacity");
  if (s == XENT_OK) fz::require(std::memcmp(out.data(), twin.data(), kStateSize) == 0, "serialized bytes differ");
}

void op_deserialize(fz::Bytes& in, Pair& p) {
  std::vector<unsigned char> bytes;
  const std::size_t mode = in.pick(4);
  if (mode == 0 || !p.live) {
    bytes.resize(in.u8());
    for (auto& b : bytes) b = in.u8();
  } else {  // our own bytes with patches, resealed when mode is 2
    bytes = p.c_bytes();
    const std::size_t patches = in.pick(6);
    for (std::size_t i = 0; i < patches; ++i) bytes[in.u16() % bytes.size()] = in.u8();
    if (mode == 2) {
      const std::uint32_t crc = mt::crc32(bytes.data(), kStateSize - 4);
      for (std::size_t i = 0; i < 4; ++i) bytes[kStateSize - 4 + i] = static_cast<unsigned char>(crc >> (8 * i));
    }
    if (mode == 3) bytes.resize(in.u16() % (kStateSize + 8));
  }
  const bool null_in = in.pick(16) == 0;
  const unsigned char* ptr = null_in ? nullptr : bytes.data();
  const std::size_t size = null_in ? in.u8() % 2 : bytes.size();
  const std::vector<unsigned char> before = p.live ? p.c_bytes() : std::vector<unsigned char>();
  const xent_status s = xent_metric_deserialize(&p.c, ptr, size);
  if (!p.live) {
    fz::require(s == XENT_NULL_DATA, "deserialize into a metric never initialised was not XENT_NULL_DATA");
    return;
  }
  const Status ts = p.sparse ? p.sp->deserialize(ptr, size) : p.cat->deserialize(ptr, size);
  fz::require(s == to_c(ts), "xent_metric_deserialize's status differs from deserialize's");
  if (s != XENT_OK) fz::require(p.c_bytes() == before, "a failed xent_metric_deserialize changed the state");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::Bytes in(data, size);
  Pair p;
  std::vector<char> name;
  init(in, p, name);
  p.check();
  for (int ops = 0; ops < 12 && in.left() > 0; ++ops) {
    switch (in.pick(7)) {
      case 0: op_update(in, p); break;
      case 1: op_merge(in, p); break;
      case 2: op_serialize(in, p); break;
      case 3: op_deserialize(in, p); break;
      case 4:
        xent_metric_reset(&p.c);
        if (p.live && p.sparse) p.sp->reset_state();
        if (p.live && !p.sparse) p.cat->reset_state();
        break;
      case 5: {  // any status code has a message
        const int code = static_cast<int>(in.u32());
        const char* msg = xent_test_status_message_code(code);
        fz::require(msg != nullptr && std::strlen(msg) > 0, "xent_status_message gave no message");
        break;
      }
      default:
        fz::require(xent_metric_serialized_size() == kStateSize, "xent_metric_serialized_size");
        fz::require(xent_active_isa() != nullptr, "xent_active_isa");
        break;
    }
    p.check();
  }
  return 0;
}
