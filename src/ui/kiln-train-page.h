/* kiln-train-page.h: the window's Train page.
 *
 * The project's runs, newest first (a KilnRunsModel, so runs started
 * meanwhile by kiln-cli appear), each with where it stands; New Run opens
 * the wizard (KilnRunWizard). The selected run shows its charts (loss per
 * iteration smoothed, with validation loss per epoch; validation and
 * training accuracy; learning rate) over a KilnMetricList — fed by the
 * trainer's "metrics" signal while it trains here, else read from its
 * metrics.csv — its log (events.jsonl), and once it has a checkpoint the
 * confusion matrix of its best one on the validation images. While a run
 * trains: progress, images/s and ETA, Pause, Continue and Stop; a stopped
 * run resumes from its newest checkpoint. A run that ends while the
 * window is not active is told in a desktop notification.
 *
 * The page listens to its trainer and never waits for it; disposing the
 * page stops a run after a checkpoint and keeps the application until the
 * run has written it.
 *
 * Actions (group "train"): new-run, select-run (s: run id), resume-run
 * (s: run folder), pause, continue, stop, export-charts (s: "png" or
 * "svg"; asks where), show-list (back to the runs when narrow),
 * open-cell ((uu): true and predicted class; that confusion-matrix cell's
 * images in the Curate page, through the window's "win.curate-images").
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

#include "kiln-core.h"

G_BEGIN_DECLS

#define KILN_TYPE_TRAIN_PAGE (kiln_train_page_get_type ())
G_DECLARE_FINAL_TYPE (KilnTrainPage, kiln_train_page, KILN, TRAIN_PAGE, AdwBin)

GtkWidget      *kiln_train_page_new             (void);
/* NULL closes the project. A run training keeps training. */
void            kiln_train_page_set_project     (KilnTrainPage *self,
                                                 const char    *project_dir);
KilnRunsModel  *kiln_train_page_get_runs        (KilnTrainPage *self);
/* The run training from this page, or NULL. */
KilnTrainer    *kiln_train_page_get_trainer     (KilnTrainPage *self);
/* The selected run's id, or NULL; its metrics as the charts draw them. */
const char     *kiln_train_page_get_selected    (KilnTrainPage *self);
KilnMetricList *kiln_train_page_get_metrics     (KilnTrainPage *self);
/* The selected run's confusion matrix, once computed (else NULL). */
KilnEvaluation *kiln_train_page_get_evaluation  (KilnTrainPage *self);
/* The three charts into one PNG or SVG (by @path's extension). */
gboolean        kiln_train_page_export_charts   (KilnTrainPage *self,
                                                 const char    *path,
                                                 GError       **error);

G_END_DECLS
