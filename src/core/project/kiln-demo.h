/* kiln-demo.h: the embedded demo project, made from Debian's
 * dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).
 *
 * The project is a normal Kiln project folder: images/<class>/NAME.png, one
 * folder per Fashion-MNIST class. It is imported into a temporary folder
 * and renamed into place when complete, so an interrupted import never
 * leaves a half project behind that would later be trusted.
 *
 * Threads: kiln_demo_ensure() blocks; front ends use the _async pair. */
#pragma once

#include <gio/gio.h>

#include "kiln-progress.h"

G_BEGIN_DECLS

#define KILN_DEMO_DATASET_DIR "/usr/share/datasets/fashion-mnist"

/* $XDG_DATA_HOME/kiln/demo */
char     *kiln_demo_default_dir     (void);
gboolean  kiln_demo_is_ready        (const char *project_dir);

/* The split the demo trains on: Fashion-MNIST's own division, the
 * training file's images (train-*) for training and the test file's
 * (test-*) for testing, so no test image is ever trained on;
 * @val_per_class training images of each class validate instead. Sets it
 * as the project's current split (replacing an earlier one); @counts, if
 * not NULL, receives the training, validation and test image counts. */
#define KILN_DEMO_SPLIT "fashion-mnist"
gboolean  kiln_demo_split           (const char       *project_dir,
                                     guint             val_per_class,
                                     guint             counts[3],
                                     GError          **error);

/* Imports up to @limit images of the training file and @limit / 6 of the
 * test file (0: all 60,000 + 10,000) unless the project is already there.
 * @dataset_dir NULL: KILN_DEMO_DATASET_DIR. */
gboolean  kiln_demo_ensure          (const char       *project_dir,
                                     const char       *dataset_dir,
                                     guint             limit,
                                     KilnProgressFunc  progress,
                                     gpointer          user_data,
                                     GCancellable     *cancellable,
                                     GError          **error);

/* kiln_demo_ensure() on a GTask thread, for front ends, followed by the
 * demo's split (no validation images) unless the project has a split of
 * that name (the window's New Run wizard then starts from the demo's
 * recipe). @progress (optional) follows the import and is finished when
 * it ends; @callback runs on the caller's thread-default context. */
void      kiln_demo_ensure_async    (const char          *project_dir,
                                     const char          *dataset_dir,
                                     guint                limit,
                                     KilnProgress        *progress,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
gboolean  kiln_demo_ensure_finish   (GAsyncResult        *result,
                                     GError             **error);

G_END_DECLS
