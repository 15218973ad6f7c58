// The C API (<xent/xent.h>): a client of the public C++ API, nothing more. The C++ metric object
// lives inside the caller's xent_metric storage (both metric types are trivially destructible).
#include "xent/xent.h"

#include <cstring>
#include <new>
#include <type_traits>

#include "xent/xent.hpp"

namespace {

using Categorical = xent::CategoricalCrossentropy<0>;
using Sparse = xent::SparseCategoricalCrossentropy<0>;

constexpr std::uint32_t kMagic = 0x746e6578u;  // "xent": set by xent_metric_init

struct Slot {
  std::uint32_t magic;
  xent_kind kind;
  union Metric {
    Categorical categorical;
    Sparse sparse;
    Metric() noexcept {}  // the member is constructed by xent_metric_init
  } metric;
};
static_assert(sizeof(Slot) <= XENT_METRIC_STORAGE, "raise XENT_METRIC_STORAGE");
static_assert(alignof(Slot) <= alignof(double), "xent_metric's storage is only aligned for double");
static_assert(static_cast<int>(xent::Status::corrupt_state) == XENT_CORRUPT_STATE, "xent_status mirrors Status");
static_assert(static_cast<int>(xent::ElementType::u16) == XENT_U16 && static_cast<int>(xent::ElementType::qi8) == XENT_QI8 &&
                  static_cast<int>(xent::ElementType::qu8) == XENT_QU8,
              "xent_dtype mirrors ElementType");

Slot* slot(xent_metric* m) noexcept {
  if (m == nullptr) return nullptr;
  Slot* s = std::launder(reinterpret_cast<Slot*>(m->storage.bytes));
  return s->magic == kMagic ? s : nullptr;
}
const Slot* slot(const xent_metric* m) noexcept { return slot(const_cast<xent_metric*>(m)); }

xent_status to_c(xent::Status s) noexcept { return static_cast<xent_status>(static_cast<int>(s)); }

// A C caller may store any value of an enum's integer type in it (a dtype field, a kind or status
// argument); in C++ a value outside the enumerators' range is undefined behaviour (clang's
// -fsanitize=enum reports it, -fstrict-enums may assume it away). So every enum that comes from the
// caller is read through its bytes as an integer, never loaded as the enum.
template <class E>
long long code_of(const E& e) noexcept {
  std::underlying_type_t<E> u;
  std::memcpy(&u, &e, sizeof u);
  return static_cast<long long>(u);
}

// A C tensor as a view of its run-time element type (xent/any_view.hpp): one compiled path for every
// combination of dtypes (a template per combination was 37 KB of aarch64 .text, 70 KB with the
// quantized types: M2). A dtype its argument does not take is the update's invalid_option.
xent::AnyView any(const xent_tensor& t) noexcept {
  xent::AnyView v;
  v.data = t.data;
  // Read as the integer a C caller stored (C++ may assume an enum holds only its enumerators' range;
  // its size is the ABI's: one byte where enums are short, as on arm-none-eabi); a value outside the
  // enum becomes a tag no argument takes, not its low byte.
  std::underlying_type_t<xent_dtype> raw{};
  std::memcpy(&raw, &t.dtype, sizeof raw);
  const auto code = static_cast<long long>(raw);
  v.type = static_cast<xent::ElementType>(code >= 0 && code <= XENT_QU8 ? code : 0xff);
  v.shape = xent::Shape::from(t.dims, t.rank);
  v.scale = t.scale;
  v.zero_point = t.zero_point;
  return v;
}

template <class Metric>
xent::Status update(Metric& metric, const xent_tensor& y_true, const xent_tensor& y_pred,
                    const xent_tensor* weight) noexcept {
  if (weight == nullptr) return metric.update_state(any(y_true), any(y_pred));
  return metric.update_state(any(y_true), any(y_pred), any(*weight));
}

}  // namespace

extern "C" {

xent_options xent_default_options(void) {
  xent_options o{};
  o.axis = -1;
  return o;
}

xent_status xent_metric_init(xent_metric* m, xent_kind kind, const xent_options* options, const char* name) {
  if (m == nullptr) return XENT_NULL_DATA;
  const long long k = code_of(kind);
  if (k != XENT_CATEGORICAL && k != XENT_SPARSE) return XENT_INVALID_OPTION;
  const xent_options o = options != nullptr ? *options : xent_default_options();
  const xent::NanPolicy nan = o.nan_reject != 0 ? xent::NanPolicy::reject : xent::NanPolicy::propagate;
  Slot* s = new (m->storage.bytes) Slot;
  s->kind = k == XENT_CATEGORICAL ? XENT_CATEGORICAL : XENT_SPARSE;
  if (s->kind == XENT_CATEGORICAL) {
    xent::CategoricalOptions c;
    c.from_logits = o.from_logits != 0;
    c.label_smoothing = o.label_smoothing;
    c.axis = o.axis;
    c.nan_policy = nan;
    new (&s->metric.categorical) Categorical(c, name != nullptr ? name : "categorical_crossentropy");
  } else {
    xent::SparseOptions c;
    c.from_logits = o.from_logits != 0;
    c.label_smoothing = o.label_smoothing;
    c.axis = o.axis;
    c.nan_policy = nan;
    if (o.has_ignore_class != 0) c.ignore_class = o.ignore_class;
    new (&s->metric.sparse) Sparse(c, name != nullptr ? name : "sparse_categorical_crossentropy");
  }
  s->magic = kMagic;
  return XENT_OK;
}

xent_status xent_metric_update(xent_metric* m, const xent_tensor* y_true, const xent_tensor* y_pred,
                               const xent_tensor* sample_weight) {
  Slot* s = slot(m);
  if (s == nullptr || y_true == nullptr || y_pred == nullptr) return XENT_NULL_DATA;
  if (s->kind == XENT_CATEGORICAL) return to_c(update(s->metric.categorical, *y_true, *y_pred, sample_weight));
  return to_c(update(s->metric.sparse, *y_true, *y_pred, sample_weight));
}

float xent_metric_result(const xent_metric* m) {
  const Slot* s = slot(m);
  if (s == nullptr) return 0.0f;
  return s->kind == XENT_CATEGORICAL ? s->metric.categorical.result() : s->metric.sparse.result();
}

double xent_metric_total(const xent_metric* m) {
  const Slot* s = slot(m);
  if (s == nullptr) return 0.0;
  return s->kind == XENT_CATEGORICAL ? s->metric.categorical.total() : s->metric.sparse.total();
}

double xent_metric_count(const xent_metric* m) {
  const Slot* s = slot(m);
  if (s == nullptr) return 0.0;
  return s->kind == XENT_CATEGORICAL ? s->metric.categorical.count() : s->metric.sparse.count();
}

const char* xent_metric_name(const xent_metric* m) {
  const Slot* s = slot(m);
  if (s == nullptr) return "";
  return s->kind == XENT_CATEGORICAL ? s->metric.categorical.name() : s->metric.sparse.name();
}

void xent_metric_reset(xent_metric* m) {
  Slot* s = slot(m);
  if (s == nullptr) return;
  if (s->kind == XENT_CATEGORICAL) s->metric.categorical.reset_state();
  else s->metric.sparse.reset_state();
}

xent_status xent_metric_merge(xent_metric* m, const xent_metric* other) {
  Slot* s = slot(m);
  const Slot* o = slot(other);
  if (s == nullptr || o == nullptr) return XENT_NULL_DATA;
  if (s->kind != o->kind) return XENT_INCOMPATIBLE_STATE;
  if (s->kind == XENT_CATEGORICAL) return to_c(s->metric.categorical.merge_state(o->metric.categorical));
  return to_c(s->metric.sparse.merge_state(o->metric.sparse));
}

size_t xent_metric_serialized_size(void) {
  static_assert(Categorical::serialized_size == Sparse::serialized_size, "one size for both kinds");
  return Categorical::serialized_size;
}

xent_status xent_metric_serialize(const xent_metric* m, unsigned char* out, size_t capacity) {
  const Slot* s = slot(m);
  if (s == nullptr) return XENT_NULL_DATA;
  if (s->kind == XENT_CATEGORICAL) return to_c(s->metric.categorical.serialize(out, capacity));
  return to_c(s->metric.sparse.serialize(out, capacity));
}

xent_status xent_metric_deserialize(xent_metric* m, const unsigned char* in, size_t size) {
  Slot* s = slot(m);
  if (s == nullptr) return XENT_NULL_DATA;
  if (s->kind == XENT_CATEGORICAL) return to_c(s->metric.categorical.deserialize(in, size));
  return to_c(s->metric.sparse.deserialize(in, size));
}

const char* xent_status_message(xent_status status) {
  return xent::status_message(static_cast<xent::Status>(static_cast<int>(code_of(status))));
}

const char* xent_active_isa(void) { return xent::active_isa(); }

}  // extern "C"
