/* kiln-chart.h: a line chart of a run's metrics.
 *
 * The data is a GListModel of KilnMetricPoint (a KilnMetricList); each
 * series picks the rows of one phase (training or validation) and one
 * value of them, drawn against the iteration: a plain line, a line with a
 * marker per point (a value per epoch), or the raw values faint under
 * their exponential moving average (TensorBoard's debiased smoothing).
 * "items-changed" queues a redraw; appended rows are added to the series
 * without reading the model again. Hovering shows the values at the
 * nearest iteration; dragging across zooms to that range (the charts
 * linked to it too), a double click shows the whole run again. Earlier
 * runs can be overlaid, dimmed. kiln_chart_export() writes charts as PNG
 * or SVG.
 *
 * Threads: main thread only. */
#pragma once

#include <gtk/gtk.h>

#include "kiln-core.h"

G_BEGIN_DECLS

typedef enum {
  KILN_CHART_LINE,
  KILN_CHART_POINTS,      /* a line with a marker at each point */
  KILN_CHART_SMOOTHED,    /* faint raw values under their moving average */
} KilnChartStyle;

#define KILN_TYPE_CHART (kiln_chart_get_type ())
G_DECLARE_FINAL_TYPE (KilnChart, kiln_chart, KILN, CHART, GtkWidget)

GtkWidget  *kiln_chart_new          (const char     *title);
void        kiln_chart_set_model    (KilnChart      *self,
                                     GListModel     *model);
GListModel *kiln_chart_get_model    (KilnChart      *self);
guint       kiln_chart_add_series   (KilnChart      *self,
                                     const char     *label,
                                     KilnRunPhase    phase,
                                     KilnMetricField field,
                                     KilnChartStyle  style);
/* A fixed value axis (accuracy: 0 to 1); NaN for either end: from the data. */
void        kiln_chart_set_range    (KilnChart      *self,
                                     double          min,
                                     double          max);
/* Weight of the moving average (0.6 by default; 0 draws the raw values). */
void        kiln_chart_set_smoothing (KilnChart     *self,
                                      double         weight);

/* What the chart holds, for tests and the hover text. */
guint       kiln_chart_get_n_points (KilnChart      *self,
                                     guint           series);
/* The row a point came from. */
const KilnRunMetrics *kiln_chart_get_point (KilnChart *self,
                                            guint      series,
                                            guint      index);
/* The lines the hover box shows, or NULL when nothing is hovered. */
const char *kiln_chart_get_hover_text (KilnChart    *self);

/* Earlier runs, drawn dashed and faint under the chart's own lines: the
 * same series read from @model (a KilnMetricList), named @label. */
guint       kiln_chart_add_overlay  (KilnChart      *self,
                                     const char     *label,
                                     GListModel     *model);
void        kiln_chart_remove_overlay (KilnChart    *self,
                                       const char   *label);
guint       kiln_chart_get_n_overlays (KilnChart    *self);
const char *kiln_chart_get_overlay_label (KilnChart *self,
                                          guint      overlay);
guint       kiln_chart_get_overlay_n_points (KilnChart *self,
                                             guint      overlay,
                                             guint      series);

/* @other shares @self's x axis from now on: one range (the longest of
 * them), zoomed together, and one plot margin, so iterations line up. */
void        kiln_chart_link         (KilnChart      *self,
                                     KilnChart      *other);
/* Shows iterations @x0 to @x1 on the linked charts (dragging across a
 * chart does this; a double click resets); NaN shows the whole run. */
void        kiln_chart_zoom         (KilnChart      *self,
                                     double          x0,
                                     double          x1);
/* TRUE when zoomed, with the range. */
gboolean    kiln_chart_get_zoom     (KilnChart      *self,
                                     double         *x0,
                                     double         *x1);
/* The iterations shown now, zoomed or not. */
void        kiln_chart_get_x_range  (KilnChart      *self,
                                     double         *x0,
                                     double         *x1);
/* Where the plot began on the last drawing, in pixels from the left. */
double      kiln_chart_get_plot_left (KilnChart     *self);

/* Draws @charts one above the other, each @width × @height_each, with a
 * light background, to @path: SVG when it ends in ".svg", else PNG. */
gboolean    kiln_chart_export       (KilnChart *const *charts,
                                     guint             n_charts,
                                     const char       *path,
                                     int               width,
                                     int               height_each,
                                     GError          **error);

G_END_DECLS
