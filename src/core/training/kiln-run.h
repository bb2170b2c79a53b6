/* kiln-run.h: one training run's folder, runs/<run-id>/.
 *
 * Holds config.json (written atomically), metrics.csv and events.jsonl
 * (appended and flushed row by row, so a killed process loses at most the
 * row being written; synced to disk at checkpoints), and the checkpoints/
 * folder with its rotation: the newest K plus the best by validation
 * accuracy are kept. Reopening a run for resume drops a torn last line and
 * every metric row past the checkpoint being resumed, so the curve
 * continues instead of repeating.
 *
 * Threads: a run is used by one thread at a time (the trainer's worker). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define KILN_TYPE_RUN (kiln_run_get_type ())
G_DECLARE_FINAL_TYPE (KilnRun, kiln_run, KILN, RUN, GObject)

typedef enum {
  KILN_RUN_PHASE_TRAIN,
  KILN_RUN_PHASE_VAL,
} KilnRunPhase;

/* One row of metrics.csv. Fields that do not apply are NaN (written empty). */
typedef struct {
  gint64 iteration;
  int epoch;
  KilnRunPhase phase;
  double loss;
  double accuracy;
  double top5;
  double learning_rate;
  double images_per_second;
  double elapsed_seconds;
} KilnRunMetrics;

#define KILN_RUN_METRICS_HEADER "iteration,epoch,phase,loss,accuracy,top5,learning_rate,images_per_second,elapsed_seconds"

/* Creates runs_dir/<run_id>/ (a fresh id from the time when @run_id is NULL)
 * and writes config.json. Fails if the folder already holds a run. */
KilnRun     *kiln_run_create             (const char  *runs_dir,
                                          const char  *run_id,
                                          JsonObject  *config,
                                          GError     **error);
/* Opens an existing run to resume it from the checkpoint at
 * @resume_iteration (-1: keep every complete row). */
KilnRun     *kiln_run_open               (const char  *run_dir,
                                          gint64       resume_iteration,
                                          GError     **error);

/* For the ranks other than 0 of a distributed run: reads the config and
 * the checkpoint index and writes nothing, ever (the logs, checkpoint
 * commits and syncs succeed without touching the folder). */
KilnRun     *kiln_run_open_follower      (const char  *run_dir,
                                          GError     **error);
gboolean     kiln_run_is_follower        (KilnRun     *self);

const char  *kiln_run_get_id             (KilnRun *self);
const char  *kiln_run_get_dir            (KilnRun *self);
JsonObject  *kiln_run_get_config         (KilnRun *self);

gboolean     kiln_run_append_metrics     (KilnRun              *self,
                                          const KilnRunMetrics *row,
                                          GError              **error);
/* Removes the validation rows logged at @iteration (a resume that redoes a
 * validation a stop or crash interrupted), atomically. */
gboolean     kiln_run_drop_val_metrics   (KilnRun              *self,
                                          gint64                iteration,
                                          GError              **error);
/* Appends {"time": …, "type": @type, …@fields} as one line of events.jsonl. */
gboolean     kiln_run_append_event       (KilnRun     *self,
                                          const char  *type,
                                          JsonObject  *fields,
                                          GError     **error);
/* fdatasync of both logs: called at checkpoints and at the end. */
gboolean     kiln_run_sync               (KilnRun     *self,
                                          GError     **error);

/* Where the checkpoint for @iteration goes: checkpoints/iter-000001234.safetensors. */
char        *kiln_run_checkpoint_path    (KilnRun     *self,
                                          gint64       iteration);
/* Records a checkpoint that was completely written to its path (the caller
 * wrote it atomically) and deletes old ones: the newest @keep_last and the
 * best by @val_accuracy (NaN = not validated) survive. The choice is kept in
 * checkpoints/index.json, written atomically. */
gboolean     kiln_run_commit_checkpoint  (KilnRun     *self,
                                          gint64       iteration,
                                          double       val_accuracy,
                                          guint        keep_last,
                                          GError     **error);
/* The newest recorded checkpoint whose file still exists, or NULL. */
char        *kiln_run_get_latest_checkpoint (KilnRun *self,
                                             gint64  *iteration);
char        *kiln_run_get_best_checkpoint   (KilnRun *self,
                                             gint64  *iteration,
                                             double  *val_accuracy);

/* The best checkpoint of @run_dir by validation accuracy (@best), else
 * its newest, reading only checkpoints/index.json: safe on a read-only run
 * or one that is still training. */
char        *kiln_run_find_checkpoint       (const char  *run_dir,
                                             gboolean     best,
                                             gint64      *iteration,
                                             GError     **error);

/* Reads metrics.csv back (complete rows only), for charts and tests. */
GArray      *kiln_run_read_metrics       (const char  *run_dir,
                                          GError     **error);

/* The model a finished run exports beside its logs. */
#define KILN_RUN_EXPORT_NAME "model.onnx"

typedef struct {
  gint64   iteration;          /* the last one logged, 0 before any */
  double   best_val_accuracy;  /* NAN before a validation */
  gboolean finished;           /* it exported KILN_RUN_EXPORT_NAME */
  int      ranks;              /* processes of its last start (kiln-dist.h), 1 unless distributed */
} KilnRunSummary;

/* Where a run stands, read from its folder without opening it for writing
 * (a run without a metrics.csv yet is at iteration 0). Reads the whole log:
 * call it off the main thread. */
gboolean     kiln_run_summarize          (const char     *run_dir,
                                          KilnRunSummary *summary,
                                          GError        **error);

G_END_DECLS
