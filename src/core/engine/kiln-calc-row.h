/* kiln-calc-row.h: one layer in the layer-size calculator (KilnNetCalc).
 *
 * A row is what the calculator worked out for one layer at one input size:
 * its hyper-parameters (K filters, F kernel, S stride, P pads), the output
 * W × H × D, the window arithmetic "(N + 2P − F)/S + 1 = …", parameters and
 * multiply-adds, whether the windows tile their input exactly, and for a
 * row that must but does not, the fixes that would make it. The calculator
 * owns and updates rows; front ends read them (properties notify when an
 * update changes them, so list widgets can bind to them).
 *
 * Threads: main thread (the one the calculator lives on). */
#pragma once

#include <glib-object.h>

#include "kiln-netspec.h"

G_BEGIN_DECLS

/* How a layer's windows fit its input. */
typedef enum {
  KILN_CALC_FIT_WHOLE,     /* every window tiles its input: no row or column is left over */
  KILN_CALC_FIT_ROUNDED,   /* not whole, and the layer's rule rounds (pooling; a convolution without exact fit) */
  KILN_CALC_FIT_MISMATCH,  /* not whole where the net needs exact fit; the calculator floors it, as PyTorch would */
  KILN_CALC_FIT_FAILED,    /* the layer has no output at this size (a window wider than its input, …) */
  KILN_CALC_FIT_UNREACHED, /* after a failed layer: nothing to compute from */
} KilnCalcFit;

typedef enum {
  KILN_CALC_FIX_INPUT,     /* give the net input height × width */
  KILN_CALC_FIX_PAD,       /* give the layer these pads */
  KILN_CALC_FIX_STRIDE,    /* give the layer these strides */
} KilnCalcFixKind;

/* A change that makes a mismatched row whole; apply it with
 * kiln_net_calc_apply_fix(). */
typedef struct {
  KilnCalcFixKind kind;
  guint layer;
  int height, width;                               /* INPUT */
  int pad_top, pad_left, pad_bottom, pad_right;    /* PAD */
  int stride_h, stride_w;                          /* STRIDE */
  char *label;                                     /* "Input 227 × 227", "Stride 3" */
} KilnCalcFix;

/* What a cell of the calculator can change (kiln_net_calc_set_param()). */
typedef enum {
  KILN_CALC_PARAM_OUTPUTS,   /* K: convolution and inner-product outputs */
  KILN_CALC_PARAM_KERNEL,    /* F: both sides */
  KILN_CALC_PARAM_STRIDE,    /* S: both sides */
  KILN_CALC_PARAM_PAD,       /* P: all four sides */
  KILN_CALC_PARAM_TYPE,      /* pooling only: KILN_LAYER_MAX_POOL or KILN_LAYER_AVG_POOL */
  KILN_CALC_PARAM_ROUNDING,  /* pooling only: a KilnRounding */
} KilnCalcParam;

#define KILN_TYPE_CALC_FIX (kiln_calc_fix_get_type ())
GType        kiln_calc_fix_get_type (void) G_GNUC_CONST;
KilnCalcFix *kiln_calc_fix_copy     (const KilnCalcFix *fix);
void         kiln_calc_fix_free     (KilnCalcFix *fix);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnCalcFix, kiln_calc_fix_free)

#define KILN_TYPE_CALC_ROW (kiln_calc_row_get_type ())
G_DECLARE_FINAL_TYPE (KilnCalcRow, kiln_calc_row, KILN, CALC_ROW, GObject)

guint          kiln_calc_row_get_index       (KilnCalcRow *self);
const char    *kiln_calc_row_get_name        (KilnCalcRow *self);
KilnLayerType  kiln_calc_row_get_layer_type  (KilnCalcRow *self);
/* K: output channels or features; 0 for a layer without them. */
int            kiln_calc_row_get_outputs     (KilnCalcRow *self);
/* Window layers (convolution, pooling) only; FALSE for the rest. */
gboolean       kiln_calc_row_has_window      (KilnCalcRow *self);
void           kiln_calc_row_get_kernel      (KilnCalcRow *self,
                                              int         *height,
                                              int         *width);
void           kiln_calc_row_get_stride      (KilnCalcRow *self,
                                              int         *height,
                                              int         *width);
void           kiln_calc_row_get_pads        (KilnCalcRow *self,
                                              int         *top,
                                              int         *left,
                                              int         *bottom,
                                              int         *right);
KilnRounding   kiln_calc_row_get_rounding    (KilnCalcRow *self);
/* Whether @param applies to this layer (what a front end makes editable). */
gboolean       kiln_calc_row_param_applies   (KilnCalcRow  *self,
                                              KilnCalcParam param);
KilnCalcFit    kiln_calc_row_get_fit         (KilnCalcRow *self);
/* Whether the row has an output shape (not FAILED or UNREACHED). */
gboolean       kiln_calc_row_has_output      (KilnCalcRow *self);
/* D × H × W, the engine's C × H × W. */
void           kiln_calc_row_get_output      (KilnCalcRow *self,
                                              int         *depth,
                                              int         *height,
                                              int         *width);
void           kiln_calc_row_get_input       (KilnCalcRow *self,
                                              int         *depth,
                                              int         *height,
                                              int         *width);
gint64         kiln_calc_row_get_params      (KilnCalcRow *self);
gint64         kiln_calc_row_get_macs        (KilnCalcRow *self);
gint64         kiln_calc_row_get_activation_bytes (KilnCalcRow *self);
/* Values feeding each output of the weights (9216 for AlexNet's fc6). */
gint64         kiln_calc_row_get_fan_in      (KilnCalcRow *self);
/* "(227 − 11)/4 + 1 = 55"; one line a side when the sides differ;
 * "6 × 6 × 256 = 9,216 inputs" for a fully connected layer; NULL when the
 * layer has no arithmetic of its own. */
const char    *kiln_calc_row_get_arithmetic  (KilnCalcRow *self);
/* Why the row is not whole or failed; NULL for a whole row. */
const char    *kiln_calc_row_get_message     (KilnCalcRow *self);
/* KilnCalcFix, owned by the row; empty unless the fit is MISMATCH. */
GPtrArray     *kiln_calc_row_get_fixes       (KilnCalcRow *self);
/* "55 × 55 × 96" (W × H × D), or "—" without an output. */
char          *kiln_calc_row_format_output   (KilnCalcRow *self);

/* Compare mode: the same layer at the second input size, or NULL. */
KilnCalcRow   *kiln_calc_row_get_compare     (KilnCalcRow *self);
/* Whether the output, fit or parameters differ at the second size. */
gboolean       kiln_calc_row_get_changed     (KilnCalcRow *self);

G_END_DECLS
