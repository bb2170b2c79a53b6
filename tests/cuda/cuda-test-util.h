/* cuda-test-util.h: what the CUDA tests share. */
#pragma once

#include <glib.h>

/* ‖a − b‖ / ‖b‖ in double (‖a − b‖ when b is all zeros). */
double cuda_test_rel_err (const float *a,
                          const float *b,
                          gint64       n);
