/* kiln-evaluation.h: how well a classifier does on a labelled set.
 *
 * Collects, per image, the true class and the predicted probabilities, and
 * derives what a user acts on: top-1/top-5 accuracy, the mean
 * cross-entropy, the confusion matrix, per-class precision/recall/F1, the
 * misclassified images (most confident mistakes first) and the least
 * confident correct ones — the images worth relabelling or discarding.
 *
 * Threads: plain data; one thread at a time. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _KilnEvaluation KilnEvaluation;

typedef struct {
  guint64 source;        /* the caller's id for the image (cache entry, row id) */
  int true_class;
  int predicted_class;
  float confidence;      /* probability of the predicted class */
  float true_probability;
} KilnEvaluationItem;

KilnEvaluation *kiln_evaluation_new           (guint              n_classes,
                                               const char *const *class_names);
void            kiln_evaluation_free          (KilnEvaluation *self);

/* @probabilities: n × n_classes, rows summing to 1 (softmax outputs). Fails
 * on a label outside [0, n_classes). */
gboolean        kiln_evaluation_add_batch     (KilnEvaluation *self,
                                               const float    *probabilities,
                                               const int      *labels,
                                               const guint64  *sources,
                                               guint           n,
                                               GError        **error);

guint           kiln_evaluation_get_n         (KilnEvaluation *self);
guint           kiln_evaluation_get_n_classes (KilnEvaluation *self);
/* The @index-th image added, in the order they were added. */
const KilnEvaluationItem *kiln_evaluation_get_item (KilnEvaluation *self,
                                                    guint           index);
const char     *kiln_evaluation_get_class_name (KilnEvaluation *self,
                                                guint           class_index);
double          kiln_evaluation_get_top1      (KilnEvaluation *self);
double          kiln_evaluation_get_top5      (KilnEvaluation *self);
double          kiln_evaluation_get_mean_loss (KilnEvaluation *self);
/* Row = true class, column = predicted class. */
guint           kiln_evaluation_get_confusion (KilnEvaluation *self,
                                               int             true_class,
                                               int             predicted_class);
/* NaN when undefined (no predictions of / no images in the class). */
double          kiln_evaluation_get_precision (KilnEvaluation *self,
                                               int             class_index);
double          kiln_evaluation_get_recall    (KilnEvaluation *self,
                                               int             class_index);

/* Up to @limit items (0: all): wrong predictions, most confident first. */
GArray         *kiln_evaluation_get_misclassified   (KilnEvaluation *self,
                                                     guint           limit);
/* The images of one cell of the confusion matrix (true class
 * @true_class taken for @predicted_class), most confident first: what a
 * click on the cell opens. */
GArray         *kiln_evaluation_get_cell            (KilnEvaluation *self,
                                                     int             true_class,
                                                     int             predicted_class);
/* Up to @limit correct predictions with the lowest true-class probability. */
GArray         *kiln_evaluation_get_least_confident (KilnEvaluation *self,
                                                     guint           limit);

/* Everything above as JSON (lists capped at @list_limit items). */
JsonNode       *kiln_evaluation_to_json       (KilnEvaluation *self,
                                               guint           list_limit);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnEvaluation, kiln_evaluation_free)

G_END_DECLS
