/* kiln-suspects.h: the training images whose given label a model disagrees
 * with most — likely labelling mistakes.
 *
 * Out-of-fold predictions: a run's training images are dealt into k folds
 * (stratified by class, from a seed); for each fold a small model is
 * trained on the other folds with the run's recipe (its network, options,
 * starting weights and mean; fewer epochs when asked) and then predicts
 * the fold it never saw. An image's suspicion is the loss of its given
 * label, −log p(given), so every image is judged by a model that did not
 * learn its label. The k models are trained one after another in a
 * temporary folder that is removed afterwards.
 *
 * The result is ranked, most suspect first, and kept in the run folder as
 * suspects.tsv (written atomically), which both front ends read back.
 *
 * Threads: kiln_suspects_find() blocks for minutes (k trainings); front
 * ends call the _async pair, which runs it on a GTask thread and reports
 * through @progress (its cancellable stops it). */
#pragma once

#include "kiln-progress.h"

G_BEGIN_DECLS

#define KILN_SUSPECTS_FILE "suspects.tsv"

typedef struct {
  guint folds;               /* k, at least 2 (3) */
  int epochs;                /* per fold; 0: the run's own */
  guint top;                 /* how many to keep; 0: every training image */
  guint64 seed;              /* how images are dealt into folds (1) */
} KilnSuspectsOptions;

void kiln_suspects_options_init (KilnSuspectsOptions *options);

typedef struct {
  gint64 image_id;           /* the store's id */
  char *path;                /* relative to the project */
  char *given_class;
  char *predicted_class;
  double loss;               /* −log p(given class) */
  double given_probability;
  double predicted_probability;
  guint fold;                /* from 1 */
} KilnSuspect;

void        kiln_suspect_free   (KilnSuspect *suspect);

/* The run's training images ranked by suspicion (a GPtrArray of
 * KilnSuspect, most suspect first), @options->top of them. */
GPtrArray  *kiln_suspects_find  (const char                *run_dir,
                                 const KilnSuspectsOptions *options,
                                 KilnProgress              *progress,
                                 GError                   **error);
/* Writes @suspects to @path as TSV, atomically. */
gboolean    kiln_suspects_save  (GPtrArray                 *suspects,
                                 const char                *path,
                                 GError                   **error);
GPtrArray  *kiln_suspects_load  (const char                *path,
                                 GError                   **error);

/* kiln_suspects_find(), then kiln_suspects_save() to RUN/suspects.tsv,
 * on a GTask thread; the options are copied. */
void        kiln_suspects_find_async  (const char                *run_dir,
                                       const KilnSuspectsOptions *options,
                                       KilnProgress              *progress,
                                       GCancellable              *cancellable,
                                       GAsyncReadyCallback        callback,
                                       gpointer                   user_data);
GPtrArray  *kiln_suspects_find_finish (GAsyncResult              *result,
                                       GError                   **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnSuspect, kiln_suspect_free)

G_END_DECLS
