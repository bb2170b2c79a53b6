/* kiln-metric-list.h: a run's metric rows as a GListModel of
 * KilnMetricPoint, what the window's charts draw.
 *
 * Rows come from the run's metrics.csv (kiln_metric_list_load_async) and,
 * for a run training now, from its trainer's "metrics" signal
 * (kiln_metric_list_follow); the two are merged by position (iteration,
 * then training before validation), so a row read from the file and
 * received from the trainer is kept once, and none is lost whichever
 * arrives first. Each batch of new rows is one "items-changed".
 *
 * Items are made when asked for: get_item returns a new KilnMetricPoint
 * each time; kiln_metric_list_get_row reads without one.
 *
 * Threads: main thread (the owner's); the file is read on a worker. */
#pragma once

#include <gio/gio.h>

#include "kiln-metric-point.h"
#include "kiln-trainer.h"

G_BEGIN_DECLS

#define KILN_TYPE_METRIC_LIST (kiln_metric_list_get_type ())
G_DECLARE_FINAL_TYPE (KilnMetricList, kiln_metric_list, KILN, METRIC_LIST, GObject)

KilnMetricList       *kiln_metric_list_new         (void);
const KilnRunMetrics *kiln_metric_list_get_row     (KilnMetricList       *self,
                                                    guint                 position);
/* Adds the rows that come after the last one held (others are there). */
void                  kiln_metric_list_append      (KilnMetricList       *self,
                                                    const KilnRunMetrics *rows,
                                                    guint                 n);
/* Takes every row @trainer logs from now on, until it finishes; NULL
 * stops following. Call before kiln_trainer_start() to miss nothing. */
void                  kiln_metric_list_follow      (KilnMetricList       *self,
                                                    KilnTrainer          *trainer);
/* Reads @run_dir/metrics.csv on a worker and merges it in (again later:
 * the rows it gained); a run without one yet loads as empty. */
void                  kiln_metric_list_load_async  (KilnMetricList       *self,
                                                    const char           *run_dir,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean              kiln_metric_list_load_finish (KilnMetricList       *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

G_END_DECLS
