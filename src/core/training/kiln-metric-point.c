/* kiln-metric-point.c: a metrics row as a list item (see kiln-metric-point.h). */
#include "config.h"

#include <math.h>

#include "kiln-metric-point.h"

struct _KilnMetricPoint
{
  GObject parent_instance;
  KilnRunMetrics row;
};

G_DEFINE_FINAL_TYPE (KilnMetricPoint, kiln_metric_point, G_TYPE_OBJECT)

double
kiln_run_metrics_get_value (const KilnRunMetrics *row, KilnMetricField field)
{
  switch (field)
    {
    case KILN_METRIC_LOSS:
      return row->loss;
    case KILN_METRIC_ACCURACY:
      return row->accuracy;
    case KILN_METRIC_TOP5:
      return row->top5;
    case KILN_METRIC_LEARNING_RATE:
      return row->learning_rate;
    case KILN_METRIC_IMAGES_PER_SECOND:
      return row->images_per_second;
    default:
      return NAN;
    }
}

KilnMetricPoint *
kiln_metric_point_new (const KilnRunMetrics *row)
{
  KilnMetricPoint *self = g_object_new (KILN_TYPE_METRIC_POINT, NULL);

  self->row = *row;
  return self;
}

const KilnRunMetrics *
kiln_metric_point_get_row (KilnMetricPoint *self)
{
  g_return_val_if_fail (KILN_IS_METRIC_POINT (self), NULL);
  return &self->row;
}

double
kiln_metric_point_get_value (KilnMetricPoint *self, KilnMetricField field)
{
  g_return_val_if_fail (KILN_IS_METRIC_POINT (self), NAN);
  return kiln_run_metrics_get_value (&self->row, field);
}

static void
kiln_metric_point_class_init (KilnMetricPointClass *klass)
{
}

static void
kiln_metric_point_init (KilnMetricPoint *self)
{
}
