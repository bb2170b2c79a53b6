/* kiln-window.c: the output size of a convolution or pooling window along
 * one axis (see kiln-window.h). */
#include "config.h"

#include "kiln-window.h"

gboolean
kiln_window_extent (int               n,
                    int               kernel,
                    int               stride,
                    int               dilation,
                    int               pad_before,
                    int               pad_after,
                    KilnRounding      rounding,
                    KilnWindowExtent *extent)
{
  g_return_val_if_fail (extent != NULL, FALSE);
  g_return_val_if_fail (kernel >= 1 && stride >= 1 && dilation >= 1, FALSE);

  /* 64-bit throughout: the op checks no upper bounds on sizes. */
  gint64 padded = (gint64) n + pad_before + pad_after;

  memset (extent, 0, sizeof *extent);
  extent->span = (gint64) (kernel - 1) * dilation + 1;
  extent->numerator = padded - extent->span;
  if (extent->numerator < 0)
    return FALSE;

  extent->whole = extent->numerator % stride == 0;
  if (rounding == KILN_ROUND_CEIL)
    {
      extent->size = (extent->numerator + stride - 1) / stride + 1;
      /* The last window must start inside the input or its leading pad. */
      if ((extent->size - 1) * stride >= (gint64) n + pad_before)
        {
          extent->size--;
          extent->dropped_last = TRUE;
        }
    }
  else
    extent->size = extent->numerator / stride + 1;
  extent->extra_after = MAX (0, (extent->size - 1) * stride + extent->span - padded);
  return TRUE;
}

void
kiln_window_suggest_fix (const KilnWindowExtent *extent,
                         int                     stride,
                         int                     pad_before,
                         int                     pad_after,
                         KilnWindowFix          *fix)
{
  g_return_if_fail (extent != NULL && fix != NULL && stride >= 1);

  gint64 num = MAX (extent->numerator, 0);
  int extra = (int) ((stride - num % stride) % stride);

  fix->pad_before = pad_before + extra / 2;
  fix->pad_after = pad_after + extra - extra / 2;
  fix->stride = 0;
  for (int d = 1; d <= 2 && fix->stride == 0; d++)
    {
      if (stride - d >= 1 && num % (stride - d) == 0)
        fix->stride = stride - d;
      else if (num % (stride + d) == 0)
        fix->stride = stride + d;
    }
}

char *
kiln_window_format (int n,
                    int pad_before,
                    int pad_after,
                    int span,
                    int stride)
{
  /* A folded ONNX Pad or SAME padding is asymmetric: show which side has what. */
  if (pad_before != pad_after)
    return g_strdup_printf ("(%d + %d + %d − %d)/%d + 1", n, pad_before, pad_after, span, stride);
  if (pad_before > 0)
    return g_strdup_printf ("(%d + %d − %d)/%d + 1", n, pad_before + pad_after, span, stride);
  return g_strdup_printf ("(%d − %d)/%d + 1", n, span, stride);
}

char *
kiln_window_format_value (gint64 numerator,
                          int    stride)
{
  char *text = g_strdup_printf ("%.2f", (double) numerator / (double) stride + 1.0);
  char *end = text + strlen (text) - 1;

  while (*end == '0')
    *end-- = '\0';
  if (*end == '.')
    *end = '\0';
  return text;
}
