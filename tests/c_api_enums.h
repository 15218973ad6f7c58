/* The C API's enums as C code may fill them (tests/c_api_enums.c): a C enum holds any value of its
 * integer type, which C++ code may not create itself (outside the enumerators' range it is
 * undefined). Used by test_fuzz_findings.cpp and fuzz/fuzz_c_api.cpp. */
#ifndef XENT_TESTS_C_API_ENUMS_H
#define XENT_TESTS_C_API_ENUMS_H

#include <xent/xent.h>

#ifdef __cplusplus
extern "C" {
#endif

xent_status xent_test_init_code(xent_metric* m, int kind, const xent_options* options, const char* name);
void xent_test_set_dtype_code(xent_tensor* t, int code);
int xent_test_dtype_code(const xent_tensor* t);
const char* xent_test_status_message_code(int code);

#ifdef __cplusplus
}
#endif

#endif
