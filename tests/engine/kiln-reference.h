/* kiln-reference.h: the engine's numerics in float64 plain loops.
 *
 * The truth the CPU (and later CUDA) backend is compared against: one
 * forward and one backward per layer type, written for clarity from the
 * definitions, not for speed. Tensors are NCHW doubles; parameters follow
 * the order in kiln-op.h. Backward gets diff_dst and writes every non-NULL
 * diff_src / diff_params entry (overwriting).
 *
 * Threads: pure functions. */
#pragma once

#include "kiln-op.h"

G_BEGIN_DECLS

void kiln_ref_forward  (const KilnOpDesc    *desc,
                        const double *const *src,
                        const double *const *params,
                        double              *dst,
                        gboolean             train,
                        guint64              seed);

void kiln_ref_backward (const KilnOpDesc    *desc,
                        const double *const *src,
                        const double *const *params,
                        const double        *diff_dst,
                        double             **diff_src,
                        double             **diff_params,
                        gboolean             train,
                        guint64              seed);

/* Mean softmax cross-entropy over the batch and its gradient. */
double kiln_ref_softmax_cross_entropy (const double *logits,
                                       const int    *labels,
                                       int           n,
                                       int           c,
                                       double       *diff);

G_END_DECLS
