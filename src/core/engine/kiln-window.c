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
