#include <math.h>

#include "cuda-test-util.h"

double
cuda_test_rel_err (const float *a, const float *b, gint64 n)
{
  double num = 0, den = 0;
  for (gint64 i = 0; i < n; i++)
    {
      num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      den += (double) b[i] * b[i];
    }
  return den == 0 ? sqrt (num) : sqrt (num / den);
}
