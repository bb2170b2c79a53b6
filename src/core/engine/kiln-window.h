/* kiln-window.h: how many positions a sliding window takes along one axis.
 *
 *   out = (N + P0 + P1 − ((F − 1)·D + 1))/S + 1
 *
 * floored for convolution and floor pooling. Ceil pooling (Caffe) rounds up,
 * then drops a last window that would start in the end padding, as Caffe and
 * PyTorch do (ONNX's ceil_mode keeps it). This is the one place the
 * arithmetic lives: the net spec's shape inference and the calculator's
 * messages, the op descriptions the backends compute from, and the ONNX
 * export all read it here, so they cannot disagree about a size.
 *
 * Threads: a pure function. */
#pragma once

#include "kiln-netspec.h"

G_BEGIN_DECLS

typedef struct {
  gint64 span;           /* the dilated window, (F − 1)·D + 1 */
  gint64 numerator;      /* N + P0 + P1 − span; negative: the window does not fit */
  gint64 size;           /* output positions; 0 when the window does not fit */
  gint64 extra_after;    /* ceil: padding past P1 that the last window reads */
  gboolean whole;        /* the numerator is a multiple of S: no input left over */
  gboolean dropped_last; /* ceil: the last window started in the end padding */
} KilnWindowExtent;

/* Fills @extent for an input of @n along one axis; FALSE when the window is
 * wider than the padded input (span and numerator are still set, for the
 * caller's message). @kernel, @stride and @dilation must be at least 1 and
 * the pads at least 0; callers check them with their own messages. */
gboolean   kiln_window_extent       (int               n,
                                     int               kernel,
                                     int               stride,
                                     int               dilation,
                                     int               pad_before,
                                     int               pad_after,
                                     KilnRounding      rounding,
                                     KilnWindowExtent *extent);

/* What makes a window that leaves input over (extent->whole FALSE) tile it:
 * the pads that add the missing rows (split, the odd one after), and the
 * nearest other stride within 2 that divides the numerator, or 0. */
typedef struct {
  int pad_before, pad_after;
  int stride;
} KilnWindowFix;

void       kiln_window_suggest_fix  (const KilnWindowExtent *extent,
                                     int                     stride,
                                     int                     pad_before,
                                     int                     pad_after,
                                     KilnWindowFix          *fix);

/* The arithmetic as people write it: "(224 + 2 − 11)/4 + 1" (equal pads
 * summed, left out when 0; unequal ones each, "(224 + 1 + 2 − 11)/4 + 1"),
 * and its value "54.25" or "55". */
char      *kiln_window_format       (int n,
                                     int pad_before,
                                     int pad_after,
                                     int span,
                                     int stride);
char      *kiln_window_format_value (gint64 numerator,
                                     int    stride);

G_END_DECLS
