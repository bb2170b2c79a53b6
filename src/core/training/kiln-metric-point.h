/* kiln-metric-point.h: one row of a run's metrics.csv as a GObject, the
 * item of KilnMetricList.
 *
 * Threads: immutable; any thread. */
#pragma once

#include "kiln-run.h"

G_BEGIN_DECLS

/* The values a row holds besides its position (iteration, epoch, phase). */
typedef enum {
  KILN_METRIC_LOSS,
  KILN_METRIC_ACCURACY,
  KILN_METRIC_TOP5,
  KILN_METRIC_LEARNING_RATE,
  KILN_METRIC_IMAGES_PER_SECOND,
} KilnMetricField;

/* @field of @row; NaN where the row has none (a validation row has no
 * learning rate). */
double           kiln_run_metrics_get_value   (const KilnRunMetrics *row,
                                               KilnMetricField       field);

#define KILN_TYPE_METRIC_POINT (kiln_metric_point_get_type ())
G_DECLARE_FINAL_TYPE (KilnMetricPoint, kiln_metric_point, KILN, METRIC_POINT, GObject)

KilnMetricPoint      *kiln_metric_point_new       (const KilnRunMetrics *row);
const KilnRunMetrics *kiln_metric_point_get_row   (KilnMetricPoint      *self);
double                kiln_metric_point_get_value (KilnMetricPoint      *self,
                                                   KilnMetricField       field);

G_END_DECLS
