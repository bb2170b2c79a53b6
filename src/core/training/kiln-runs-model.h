/* kiln-runs-model.h: a project's training runs as a GListModel of
 * KilnRunItem, newest first, kept current.
 *
 * File monitors on the project folder, runs/ and each run folder notice a
 * run that appears (started by this window, another one or kiln-cli), goes,
 * or changes state (its events.jsonl, config.json or model.onnx change;
 * metrics.csv, written every step, is left out); changes within a moment
 * are read together, with kiln_run_list_async. A run still in the list
 * keeps its item, updated in place ("info" notifies), so a selection
 * stays on it.
 *
 * Threads: main thread (the one that made it); folders are read on a worker. */
#pragma once

#include <gio/gio.h>

#include "kiln-run-item.h"

G_BEGIN_DECLS

#define KILN_TYPE_RUNS_MODEL (kiln_runs_model_get_type ())
G_DECLARE_FINAL_TYPE (KilnRunsModel, kiln_runs_model, KILN, RUNS_MODEL, GObject)

/* Starts watching and reading at once. */
KilnRunsModel *kiln_runs_model_new             (const char    *project_dir);
const char    *kiln_runs_model_get_project_dir (KilnRunsModel *self);
/* The item of run @id, or NULL; @position (optional) receives its place. */
KilnRunItem   *kiln_runs_model_find            (KilnRunsModel *self,
                                                const char    *id,
                                                guint         *position);
/* Reads the folders again soon (what the monitors do by themselves). */
void           kiln_runs_model_refresh         (KilnRunsModel *self);
/* Whether a reading has finished since the model was made. */
gboolean       kiln_runs_model_is_loaded       (KilnRunsModel *self);
/* Why the last reading failed, or NULL. */
const GError  *kiln_runs_model_get_error       (KilnRunsModel *self);

G_END_DECLS
