/* See c_api_enums.h. C99. */
#include "c_api_enums.h"

xent_status xent_test_init_code(xent_metric* m, int kind, const xent_options* options, const char* name) {
  return xent_metric_init(m, (xent_kind)kind, options, name);
}

void xent_test_set_dtype_code(xent_tensor* t, int code) { t->dtype = (xent_dtype)code; }

int xent_test_dtype_code(const xent_tensor* t) { return (int)t->dtype; }

const char* xent_test_status_message_code(int code) { return xent_status_message((xent_status)code); }
