#include "kiln-softmax.h"

#include <math.h>

void
kiln_softmax_rows (float *scores, guint n_rows, guint n_classes)
{
  for (guint i = 0; i < n_rows; i++)
    {
      float *row = scores + (gsize) i * n_classes;
      float max = row[0];
      double sum = 0;

      for (guint c = 1; c < n_classes; c++)
        max = MAX (max, row[c]);
      for (guint c = 0; c < n_classes; c++)
        sum += row[c] = expf (row[c] - max);
      for (guint c = 0; c < n_classes; c++)
        row[c] /= sum;
    }
}
