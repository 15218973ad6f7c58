/* The C API from C firmware: a metric in static storage, fed batch by batch; then a quantized
 * model's int8 softmax output, read as it is (no float copy). */
#include <stdio.h>
#include <xent/xent.h>

static xent_metric metric; /* caller-owned, no allocation */

int main(void) {
  static const float y_pred[6] = {0.05f, 0.95f, 0.0f, 0.1f, 0.8f, 0.1f};
  static const int32_t labels[2] = {1, 2};
  static const float weights[2] = {0.3f, 0.7f};
  static const int32_t bad_labels[2] = {1, 3};
  /* y_pred as TFLite's int8 softmax outputs: q = round(p * 256) - 128, scale 1/256, zero point -128. */
  static const int8_t y_pred_i8[6] = {-115, 115, -128, -102, 77, -102};
  xent_tensor truth = {.data = labels, .dtype = XENT_I32, .rank = 1, .dims = {2}};
  xent_tensor pred = {.data = y_pred, .dtype = XENT_F32, .rank = 2, .dims = {2, 3}};
  xent_tensor weight = {.data = weights, .dtype = XENT_F32, .rank = 1, .dims = {2}};
  xent_tensor pred_i8 = {.data = y_pred_i8, .dtype = XENT_QI8, .rank = 2, .dims = {2, 3},
                         .scale = 1.0f / 256.0f, .zero_point = -128};
  xent_status s;

  if (xent_metric_init(&metric, XENT_SPARSE, NULL, NULL) != XENT_OK) return 1;
  s = xent_metric_update(&metric, &truth, &pred, &weight);
  if (s != XENT_OK) {
    fprintf(stderr, "%s\n", xent_status_message(s));
    return 1;
  }
  printf("%s weighted %.7f\n", xent_metric_name(&metric), (double)xent_metric_result(&metric));

  /* A bad batch is refused and changes nothing. */
  truth.data = bad_labels;
  s = xent_metric_update(&metric, &truth, &pred, NULL);
  printf("bad labels: %s; result still %.7f\n", xent_status_message(s), (double)xent_metric_result(&metric));

  xent_metric_reset(&metric);
  printf("after reset %.7f (kernels: %s)\n", (double)xent_metric_result(&metric), xent_active_isa());
  if (s != XENT_LABEL_OUT_OF_RANGE) return 1;

  truth.data = labels;
  s = xent_metric_update(&metric, &truth, &pred_i8, &weight);
  printf("int8 softmax outputs: %s, weighted %.7f\n", xent_status_message(s), (double)xent_metric_result(&metric));
  return s == XENT_OK ? 0 : 1;
}
