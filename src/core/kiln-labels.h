/* kiln-labels.h: class labels from folders and the mlimages/Caffe label
 * files.
 *
 * Threads: plain functions over their arguments; safe from any thread. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The class order: case-insensitive (Unicode case folding), ties broken
 * by the exact bytes, so the order never depends on the locale. */
int kiln_labels_compare_names (const char *a,
                               const char *b);

G_END_DECLS
