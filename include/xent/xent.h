/* xent for C: the two Keras cross-entropy metrics behind a C ABI, for C firmware.
 * Caller-owned storage (an xent_metric is a plain struct you may put anywhere, static included),
 * no allocation, no callbacks. A thin client of the C++ API in <xent/xent.hpp>: same arithmetic,
 * same errors, same serialized bytes. Per-class statistics are C++ only. */
#ifndef XENT_XENT_H
#define XENT_XENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same values and meaning as xent::Status. */
typedef enum xent_status {
  XENT_OK = 0,
  XENT_NULL_DATA,
  XENT_RANK_OUT_OF_RANGE,
  XENT_SHAPE_MISMATCH,
  XENT_TOO_MANY_CLASSES,
  XENT_NO_CLASSES,
  XENT_LABEL_OUT_OF_RANGE,
  XENT_INVALID_OPTION,
  XENT_NON_FINITE_INPUT,
  XENT_INCOMPATIBLE_STATE,
  XENT_BUFFER_TOO_SMALL,
  XENT_CORRUPT_STATE
} xent_status;

/* Element types: predictions, soft labels and weights take F32/F16/BF16 (16-bit types as their
 * raw uint16_t bits); sparse labels take I32/I64/U8/U16 or F32 (truncated toward zero).
 * Predictions also take QI8/QU8: quantized int8_t/uint8_t with the tensor's scale and zero_point,
 * element q standing for float32(scale * (q - zero_point)) (TFLite's dequantization). */
typedef enum xent_dtype {
  XENT_F32, XENT_F16, XENT_BF16, XENT_I32, XENT_I64, XENT_U8, XENT_U16, XENT_QI8, XENT_QU8
} xent_dtype;

#define XENT_MAX_RANK 8
/* A dense row-major tensor. rank 0 is a scalar (a scalar sample weight).
 * scale and zero_point are read for XENT_QI8/XENT_QU8 only: scale finite and > 0, zero_point in
 * the element type's range (else XENT_INVALID_OPTION); a zero-initialised tensor leaves them 0. */
typedef struct xent_tensor {
  const void* data;
  xent_dtype dtype;
  size_t rank;
  size_t dims[XENT_MAX_RANK];
  float scale;
  int32_t zero_point;
} xent_tensor;

typedef enum xent_kind { XENT_CATEGORICAL = 1, XENT_SPARSE = 2 } xent_kind;

typedef struct xent_options {
  int from_logits;         /* 0 or 1 */
  float label_smoothing;   /* [0, 1]; for sparse the documented extension */
  int axis;                /* class axis, -1 = last */
  int has_ignore_class;    /* sparse only */
  int64_t ignore_class;
  int nan_reject;          /* 1: a batch with a NaN/inf loss or weight is refused */
} xent_options;

/* Keras's defaults: probabilities, no smoothing, last axis, no ignored class, NaN propagates. */
xent_options xent_default_options(void);

#define XENT_METRIC_STORAGE 256
typedef struct xent_metric {
  union {
    double align_double;
    int64_t align_int;
    unsigned char bytes[XENT_METRIC_STORAGE];
  } storage;
} xent_metric;

/* Makes *m a fresh metric. options may be NULL (defaults); name may be NULL (Keras's name).
 * Invalid options are reported by the first update, as in C++. */
xent_status xent_metric_init(xent_metric* m, xent_kind kind, const xent_options* options, const char* name);
/* One batch; sample_weight may be NULL. Atomic: on error the state is unchanged. */
xent_status xent_metric_update(xent_metric* m, const xent_tensor* y_true, const xent_tensor* y_pred,
                               const xent_tensor* sample_weight);
float xent_metric_result(const xent_metric* m);   /* total / count, 0 when count == 0 */
double xent_metric_total(const xent_metric* m);
double xent_metric_count(const xent_metric* m);
const char* xent_metric_name(const xent_metric* m);
void xent_metric_reset(xent_metric* m);
xent_status xent_metric_merge(xent_metric* m, const xent_metric* other);
size_t xent_metric_serialized_size(void);
xent_status xent_metric_serialize(const xent_metric* m, unsigned char* out, size_t capacity);
xent_status xent_metric_deserialize(xent_metric* m, const unsigned char* in, size_t size);

const char* xent_status_message(xent_status status);
const char* xent_active_isa(void);

#ifdef __cplusplus
}
#endif

#endif /* XENT_XENT_H */
