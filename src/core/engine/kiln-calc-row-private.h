/* kiln-calc-row-private.h: what KilnNetCalc fills in a KilnCalcRow. Only
 * kiln-calc-row.c and kiln-net-calc.c include this.
 *
 * Threads: as kiln-calc-row.h. */
#pragma once

#include "kiln-calc-row.h"

G_BEGIN_DECLS

typedef struct {
  guint index;
  char *name;
  KilnLayerType type;
  int outputs;
  gboolean has_window;
  int kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
  int pad_top, pad_left, pad_bottom, pad_right;
  KilnRounding rounding;
  KilnCalcFit fit;
  int in_c, in_h, in_w;
  int c, h, w;
  gint64 params, macs, fan_in;
  char *arithmetic;
  char *message;
  GPtrArray *fixes;        /* KilnCalcFix */
  KilnCalcRow *compare;
  gboolean changed;
} KilnCalcRowData;

struct _KilnCalcRow
{
  GObject parent_instance;
  KilnCalcRowData d;
};

KilnCalcRow *kiln_calc_row_new    (void);
/* Moves @from's data into @self, notifying each property that changes. */
void         kiln_calc_row_assign (KilnCalcRow *self,
                                   KilnCalcRow *from);

G_END_DECLS
