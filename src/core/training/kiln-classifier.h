/* kiln-classifier.h: a trained run, ready to classify image files.
 *
 * Loads what a run folder holds — config.json (net spec, image conversion,
 * classes, scale), mean.f32 and a checkpoint — and converts each file
 * exactly as training did (decode, resize, centre crop, mean, scale)
 * before a forward pass.
 *
 * Threads: classifying and evaluating may be called from any thread; the
 * calls on one classifier take turns. They block, so a UI uses the _async
 * pairs, which run them on a GTask thread. */
#pragma once

#include "kiln-evaluation.h"
#include "kiln-labels.h"
#include "kiln-progress.h"

G_BEGIN_DECLS

typedef struct {
  int class_index;
  const char *class_name;   /* owned by the classifier */
  float probability;
} KilnPrediction;

#define KILN_TYPE_CLASSIFIER (kiln_classifier_get_type ())
G_DECLARE_FINAL_TYPE (KilnClassifier, kiln_classifier, KILN, CLASSIFIER, GObject)

/* @checkpoint NULL: the run's best checkpoint by validation accuracy, else
 * its newest. @backend: a device name ("cpu", "cuda:0", "auto"); NULL: the
 * default (kiln_run_device_get_default). @batch_size: images per forward
 * pass (1 for single files). */
KilnClassifier *kiln_classifier_new_from_run (const char  *run_dir,
                                              const char  *checkpoint,
                                              const char  *backend,
                                              int          batch_size,
                                              GError     **error);

guint        kiln_classifier_get_n_classes (KilnClassifier *self);
const char  *kiln_classifier_get_class_name (KilnClassifier *self,
                                             guint           index);
const char  *kiln_classifier_get_checkpoint (KilnClassifier *self);

/* The @top_k most probable classes of the image in @path, best first
 * (a GArray of KilnPrediction). */
GArray      *kiln_classifier_classify_file (KilnClassifier *self,
                                            const char     *path,
                                            guint           top_k,
                                            GError        **error);

/* Classifies every image of @set (paths relative to @root) and scores the
 * predictions against its labels. Undecodable images are counted in
 * @n_skipped and left out. */
KilnEvaluation *kiln_classifier_evaluate   (KilnClassifier     *self,
                                            const KilnLabelSet *set,
                                            const char         *root,
                                            KilnProgress       *progress,
                                            guint              *n_skipped,
                                            GError            **error);

void            kiln_classifier_new_from_run_async  (const char          *run_dir,
                                                     const char          *checkpoint,
                                                     const char          *backend,
                                                     int                  batch_size,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
KilnClassifier *kiln_classifier_new_from_run_finish (GAsyncResult        *result,
                                                     GError             **error);

void            kiln_classifier_classify_file_async  (KilnClassifier      *self,
                                                      const char          *path,
                                                      guint                top_k,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
GArray         *kiln_classifier_classify_file_finish (KilnClassifier      *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);

/* The run's best checkpoint evaluated on @subset ("val", "test") of the
 * split it trained on (kiln_training_read_subset), on a GTask thread. The
 * items' sources are the images' store ids (split-ids.tsv).
 * @progress (optional) counts images and can cancel. */
void            kiln_classifier_evaluate_run_async   (const char          *run_dir,
                                                      const char          *subset,
                                                      const char          *backend,
                                                      KilnProgress        *progress,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
KilnEvaluation *kiln_classifier_evaluate_run_finish  (GAsyncResult        *result,
                                                      GError             **error);

G_END_DECLS
