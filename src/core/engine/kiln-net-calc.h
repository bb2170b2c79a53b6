/* kiln-net-calc.h: the layer-size calculator as data.
 *
 * A KilnNetCalc works out, for a net spec at its input size, one
 * KilnCalcRow per layer (it is a GListModel of them): output W × H × D,
 * the window arithmetic, parameters, multiply-adds and whether every window
 * tiles its input. Unlike kiln_net_spec_infer_shapes() it does not stop at
 * a layer that does not fit: such a row is marked, offered fixes (the
 * nearest input sizes that work, a pad or a stride), and later rows are
 * floored as PyTorch would, so the calculator can say what the mismatch
 * does downstream ("fc6 then receives 6,400 inputs, not 9,216").
 *
 * Compare mode works the same out at a second input size; each row then
 * holds its counterpart and says whether it changed.
 *
 * The calculator edits the spec it was given in place (input size,
 * hyper-parameters, fixes) and updates its rows, which notify; the model
 * only emits items-changed when the layers themselves change. "updated"
 * is emitted after every recomputation.
 *
 * kiln-cli calc and the window's Network page both read this; neither
 * holds calculator logic of its own.
 *
 * Threads: main thread; a recomputation is quick (milliseconds for
 * ResNet-18, more when it searches for input sizes that fit). */
#pragma once

#include <gio/gio.h>

#include "kiln-calc-row.h"
#include "kiln-netspec.h"

G_BEGIN_DECLS

#define KILN_TYPE_NET_CALC (kiln_net_calc_get_type ())
G_DECLARE_FINAL_TYPE (KilnNetCalc, kiln_net_calc, KILN, NET_CALC, GObject)

KilnNetCalc *kiln_net_calc_new              (KilnNetSpec *spec);
KilnNetSpec *kiln_net_calc_get_spec         (KilnNetCalc *self);
/* Replaces the spec (rows are rebuilt) and leaves compare mode. */
void         kiln_net_calc_set_spec         (KilnNetCalc *self,
                                             KilnNetSpec *spec);
/* Sets the spec's input and recomputes. */
void         kiln_net_calc_set_input        (KilnNetCalc *self,
                                             int          channels,
                                             int          height,
                                             int          width);
/* Compare mode at a second input size; @height ≤ 0 turns it off. */
void         kiln_net_calc_set_compare      (KilnNetCalc *self,
                                             int          channels,
                                             int          height,
                                             int          width);
gboolean     kiln_net_calc_get_compare      (KilnNetCalc *self,
                                             int         *channels,
                                             int         *height,
                                             int         *width);
/* Recomputes after the spec was edited by other means. */
void         kiln_net_calc_update           (KilnNetCalc *self);

/* Whether @param applies to layer @index (what a front end makes editable). */
gboolean     kiln_net_calc_param_applies    (KilnNetCalc  *self,
                                             guint         index,
                                             KilnCalcParam param);
/* Edits layer @index and recomputes; a value the layer cannot take leaves
 * the spec as it was and says why. */
gboolean     kiln_net_calc_set_param        (KilnNetCalc  *self,
                                             guint         index,
                                             KilnCalcParam param,
                                             int           value,
                                             GError      **error);
gboolean     kiln_net_calc_apply_fix        (KilnNetCalc       *self,
                                             const KilnCalcFix *fix,
                                             GError           **error);

/* The rows, also reachable through GListModel; owned by the calculator. */
KilnCalcRow *kiln_net_calc_get_row          (KilnNetCalc *self,
                                             guint        index);
/* Every row WHOLE. */
gboolean     kiln_net_calc_is_whole         (KilnNetCalc *self);
/* The first MISMATCH or FAILED row, or -1. */
int          kiln_net_calc_get_first_problem (KilnNetCalc *self);
/* kiln_net_spec_infer_shapes()'s error at this size (with the input sizes
 * and local fixes that work), or NULL when the net can be built. */
const char  *kiln_net_calc_get_error        (KilnNetCalc *self);
/* What the first mismatch does to later layers, e.g. "with floor pooling,
 * fc6 then receives 6,400 inputs (5 × 5 × 256), not 9,216 (6 × 6 × 256 at
 * 227 × 227)"; NULL without a mismatch. */
const char  *kiln_net_calc_get_downstream   (KilnNetCalc *self);
/* Sums over the rows that have an output. */
gint64       kiln_net_calc_get_total_params (KilnNetCalc *self);
gint64       kiln_net_calc_get_total_macs   (KilnNetCalc *self);
gint64       kiln_net_calc_get_total_activation_bytes (KilnNetCalc *self);

/* Compare mode: how many rows changed, and the error and downstream
 * report at the second size (NULL when it fits or compare is off). */
guint        kiln_net_calc_get_n_changed    (KilnNetCalc *self);
const char  *kiln_net_calc_get_compare_error (KilnNetCalc *self);
const char  *kiln_net_calc_get_compare_downstream (KilnNetCalc *self);

/* 62378344 → "62,378,344" in every locale, so tables and tests agree. */
char        *kiln_format_count              (gint64 value);

G_END_DECLS
