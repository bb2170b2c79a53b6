/* kiln-softmax.h: class scores to probabilities, on the host; private to
 * the training part (validation and the classifier read the same numbers). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* In place, each of @n_rows rows of @n_classes scores; stable for large
 * scores (the row's maximum is subtracted first). */
void kiln_softmax_rows (float *scores,
                        guint  n_rows,
                        guint  n_classes);

G_END_DECLS
