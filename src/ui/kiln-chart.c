/* kiln-chart.c: metric series drawn with cairo (see kiln-chart.h). */
#include "config.h"

#include <adwaita.h>
#include <cairo-svg.h>
#include <glib/gi18n.h>
#include <math.h>
#include <pango/pangocairo.h>

#include "kiln-chart.h"

#define PAD 8             /* around the plot */
#define TICK 4
#define MARKER 3.0

typedef struct {
  KilnRunMetrics row;
  double y;                /* the value */
  double smooth;           /* its moving average (debiased) */
} Point;

typedef struct {
  char *label;
  KilnRunPhase phase;
  KilnMetricField field;
  KilnChartStyle style;
  GArray *points;          /* Point, by iteration */
  double ema;              /* moving-average state */
  guint n_averaged;
} Series;

typedef struct {
  double x0, x1, y0, y1;          /* data ranges */
  double left, top, width, height; /* plot area, pixels */
} Frame;

/* Earlier runs drawn dimmed under the chart's own: the same series, read
 * from another model. */
typedef struct {
  char *label;
  GListModel *model;
  GArray *series;          /* Series, as the chart's */
} Overlay;

/* Charts whose x axes line up: one x range, zoomed together, and one
 * plot margin (the widest tick labels of them all). */
typedef struct {
  int ref;
  GPtrArray *charts;       /* KilnChart, not owned */
  double zoom_x0, zoom_x1; /* NaN: the whole run */
} Link;

/* What one drawing needs besides the data. */
typedef struct {
  GdkRGBA fg;
  const GdkRGBA *palette;
  PangoFontDescription *font;
  gboolean hover;          /* draw the hover rule and box */
} Look;

struct _KilnChart
{
  GtkWidget parent_instance;

  char *title;
  GListModel *model;
  GArray *series;          /* Series */
  guint n_read;            /* model items added to the series */
  double range_min, range_max;
  double smoothing;
  GPtrArray *overlays;     /* Overlay */
  Link *link;              /* shared by linked charts; a chart alone has its own */
  double margin;           /* its tick labels' width, last drawn */
  guint margin_idle;       /* tells the linked charts it changed */
  double drag_from, drag_to; /* pointer x of a zoom being dragged, or -1 */
  Frame frame;             /* of the last drawing, for the pointer */
  double hover_x;          /* pointer x, or -1 */
  double hover_at;         /* the iteration hovered */
  char *hover_text;
};

G_DEFINE_FINAL_TYPE (KilnChart, kiln_chart, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TITLE, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void update_hover (KilnChart *self);
static gboolean data_ranges (KilnChart *self, Frame *f);

/* libadwaita's palette: blue, orange, green, purple (3 on light, 2 on dark). */
static const GdkRGBA light_palette[] = {
  { 0.11, 0.44, 0.85, 1 }, { 0.90, 0.38, 0.00, 1 }, { 0.15, 0.64, 0.41, 1 }, { 0.57, 0.25, 0.67, 1 },
};
static const GdkRGBA dark_palette[] = {
  { 0.38, 0.63, 0.92, 1 }, { 1.00, 0.64, 0.28, 1 }, { 0.34, 0.89, 0.54, 1 }, { 0.75, 0.38, 0.80, 1 },
};

static void
series_clear (gpointer data)
{
  Series *s = data;

  g_free (s->label);
  g_array_unref (s->points);
}

GtkWidget *
kiln_chart_new (const char *title)
{
  return g_object_new (KILN_TYPE_CHART, "title", title, NULL);
}

static void
set_title (KilnChart *self, const char *title)
{
  g_free (self->title);
  self->title = g_strdup (title ? title : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, self->title, -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- data ------------------------------------------------------------------ */

static void
series_add (KilnChart *self, Series *s, const KilnRunMetrics *row)
{
  double y = kiln_run_metrics_get_value (row, s->field);
  Point p = { *row, y, y };

  if (row->phase != s->phase || !isfinite (y))
    return;
  /* Debiased: the first points are not pulled towards zero. */
  s->ema = self->smoothing * s->ema + (1 - self->smoothing) * y;
  s->n_averaged++;
  if (self->smoothing > 0)
    p.smooth = s->ema / (1 - pow (self->smoothing, s->n_averaged));
  g_array_append_val (s->points, p);
}

static void
read_model (KilnChart *self, GListModel *model, GArray *series, guint from)
{
  guint n = model ? g_list_model_get_n_items (model) : 0;

  for (guint i = from; i < n; i++)
    {
      g_autoptr(KilnMetricPoint) item = g_list_model_get_item (model, i);
      for (guint s = 0; s < series->len; s++)
        series_add (self, &g_array_index (series, Series, s), kiln_metric_point_get_row (item));
    }
}

static void
read_items (KilnChart *self, guint from)
{
  read_model (self, self->model, self->series, from);
  self->n_read = self->model ? g_list_model_get_n_items (self->model) : 0;
}

static void
clear_series (GArray *series)
{
  for (guint s = 0; s < series->len; s++)
    {
      Series *one = &g_array_index (series, Series, s);
      g_array_set_size (one->points, 0);
      one->ema = 0;
      one->n_averaged = 0;
    }
}

/* An overlay's series: the chart's, empty. */
static GArray *
copy_series_kinds (KilnChart *self)
{
  GArray *copy = g_array_new (FALSE, TRUE, sizeof (Series));

  g_array_set_clear_func (copy, series_clear);
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *from = &g_array_index (self->series, Series, s);
      Series one = { g_strdup (from->label), from->phase, from->field, from->style,
                     g_array_new (FALSE, FALSE, sizeof (Point)) };
      g_array_append_val (copy, one);
    }
  return copy;
}

static void
reread_overlay (KilnChart *self, Overlay *overlay)
{
  /* The chart's series may have changed since: take their kinds again. */
  g_array_unref (overlay->series);
  overlay->series = copy_series_kinds (self);
  read_model (self, overlay->model, overlay->series, 0);
}

static void
reread (KilnChart *self)
{
  clear_series (self->series);
  read_items (self, 0);
  for (guint i = 0; self->overlays != NULL && i < self->overlays->len; i++)
    reread_overlay (self, self->overlays->pdata[i]);
}

static void queue_linked_draw (KilnChart *self);

static void
items_changed_cb (GListModel *model, guint position, guint removed, guint added, KilnChart *self)
{
  /* Rows appended to a live run are the common case: read only those. */
  if (removed == 0 && position == self->n_read)
    read_items (self, position);
  else
    reread (self);
  if (self->hover_x >= 0)
    update_hover (self);
  /* A longer run widens the linked charts' x range too. */
  queue_linked_draw (self);
}

void
kiln_chart_set_model (KilnChart *self, GListModel *model)
{
  g_return_if_fail (KILN_IS_CHART (self));
  g_return_if_fail (model == NULL || G_IS_LIST_MODEL (model));

  if (self->model == model)
    return;
  if (self->model != NULL)
    g_signal_handlers_disconnect_by_data (self->model, self);
  g_set_object (&self->model, model);
  if (model != NULL)
    g_signal_connect (model, "items-changed", G_CALLBACK (items_changed_cb), self);
  g_clear_pointer (&self->hover_text, g_free);
  reread (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

GListModel *
kiln_chart_get_model (KilnChart *self)
{
  g_return_val_if_fail (KILN_IS_CHART (self), NULL);
  return self->model;
}

guint
kiln_chart_add_series (KilnChart *self, const char *label, KilnRunPhase phase, KilnMetricField field,
                       KilnChartStyle style)
{
  Series s = { g_strdup (label), phase, field, style, g_array_new (FALSE, FALSE, sizeof (Point)) };

  g_return_val_if_fail (KILN_IS_CHART (self), 0);
  g_array_append_val (self->series, s);
  reread (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return self->series->len - 1;
}

void
kiln_chart_set_range (KilnChart *self, double min, double max)
{
  g_return_if_fail (KILN_IS_CHART (self));
  self->range_min = min;
  self->range_max = max;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
kiln_chart_set_smoothing (KilnChart *self, double weight)
{
  g_return_if_fail (KILN_IS_CHART (self));
  self->smoothing = CLAMP (weight, 0, 0.999);
  reread (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
kiln_chart_get_n_points (KilnChart *self, guint series)
{
  g_return_val_if_fail (KILN_IS_CHART (self), 0);
  g_return_val_if_fail (series < self->series->len, 0);
  return g_array_index (self->series, Series, series).points->len;
}

const KilnRunMetrics *
kiln_chart_get_point (KilnChart *self, guint series, guint index)
{
  g_return_val_if_fail (KILN_IS_CHART (self), NULL);
  g_return_val_if_fail (series < self->series->len, NULL);
  GArray *points = g_array_index (self->series, Series, series).points;
  g_return_val_if_fail (index < points->len, NULL);
  return &g_array_index (points, Point, index).row;
}

const char *
kiln_chart_get_hover_text (KilnChart *self)
{
  g_return_val_if_fail (KILN_IS_CHART (self), NULL);
  return self->hover_text;
}

/* ---- overlays, link and zoom ------------------------------------------------- */

static void
overlay_free (gpointer data)
{
  Overlay *overlay = data;

  g_free (overlay->label);
  g_clear_object (&overlay->model);
  g_array_unref (overlay->series);
  g_free (overlay);
}

static void
overlay_changed_cb (GListModel *model, guint position, guint removed, guint added, KilnChart *self)
{
  for (guint o = 0; o < self->overlays->len; o++)
    {
      Overlay *overlay = self->overlays->pdata[o];
      if (overlay->model == model)
        reread_overlay (self, overlay);
    }
  queue_linked_draw (self);
}

guint
kiln_chart_add_overlay (KilnChart *self, const char *label, GListModel *model)
{
  Overlay *overlay = g_new0 (Overlay, 1);

  g_return_val_if_fail (KILN_IS_CHART (self), 0);
  g_return_val_if_fail (G_IS_LIST_MODEL (model), 0);
  overlay->label = g_strdup (label);
  overlay->model = g_object_ref (model);
  overlay->series = copy_series_kinds (self);
  read_model (self, model, overlay->series, 0);
  g_signal_connect (model, "items-changed", G_CALLBACK (overlay_changed_cb), self);
  g_ptr_array_add (self->overlays, overlay);
  queue_linked_draw (self);
  return self->overlays->len - 1;
}

void
kiln_chart_remove_overlay (KilnChart *self, const char *label)
{
  g_return_if_fail (KILN_IS_CHART (self));
  for (guint o = self->overlays->len; o-- > 0;)
    {
      Overlay *overlay = self->overlays->pdata[o];
      if (g_strcmp0 (overlay->label, label) != 0)
        continue;
      g_signal_handlers_disconnect_by_data (overlay->model, self);
      g_ptr_array_remove_index (self->overlays, o);
    }
  queue_linked_draw (self);
}

guint
kiln_chart_get_n_overlays (KilnChart *self)
{
  g_return_val_if_fail (KILN_IS_CHART (self), 0);
  return self->overlays->len;
}

const char *
kiln_chart_get_overlay_label (KilnChart *self, guint overlay)
{
  g_return_val_if_fail (KILN_IS_CHART (self), NULL);
  g_return_val_if_fail (overlay < self->overlays->len, NULL);
  return ((Overlay *) self->overlays->pdata[overlay])->label;
}

guint
kiln_chart_get_overlay_n_points (KilnChart *self, guint overlay, guint series)
{
  g_return_val_if_fail (KILN_IS_CHART (self), 0);
  g_return_val_if_fail (overlay < self->overlays->len, 0);
  GArray *all = ((Overlay *) self->overlays->pdata[overlay])->series;
  g_return_val_if_fail (series < all->len, 0);
  return g_array_index (all, Series, series).points->len;
}

static Link *
link_new (KilnChart *chart)
{
  Link *link = g_new0 (Link, 1);

  link->ref = 1;
  link->charts = g_ptr_array_new ();
  link->zoom_x0 = link->zoom_x1 = NAN;
  g_ptr_array_add (link->charts, chart);
  return link;
}

static void
link_leave (KilnChart *chart)
{
  Link *link = chart->link;

  g_ptr_array_remove (link->charts, chart);
  if (--link->ref == 0)
    {
      g_ptr_array_unref (link->charts);
      g_free (link);
    }
  chart->link = NULL;
}

void
kiln_chart_link (KilnChart *self, KilnChart *other)
{
  g_return_if_fail (KILN_IS_CHART (self));
  g_return_if_fail (KILN_IS_CHART (other));

  if (self->link == other->link)
    return;
  link_leave (other);
  other->link = self->link;
  other->link->ref++;
  g_ptr_array_add (other->link->charts, other);
  queue_linked_draw (self);
}

void
kiln_chart_zoom (KilnChart *self, double x0, double x1)
{
  g_return_if_fail (KILN_IS_CHART (self));

  /* NaN, or no span at all: the whole run again. */
  if (isnan (x0) || isnan (x1) || fabs (x1 - x0) < 1e-9)
    x0 = x1 = NAN;
  self->link->zoom_x0 = MIN (x0, x1);
  self->link->zoom_x1 = MAX (x0, x1);
  for (guint c = 0; c < self->link->charts->len; c++)
    {
      KilnChart *chart = self->link->charts->pdata[c];
      g_clear_pointer (&chart->hover_text, g_free);
      gtk_widget_queue_draw (GTK_WIDGET (chart));
    }
}

gboolean
kiln_chart_get_zoom (KilnChart *self, double *x0, double *x1)
{
  g_return_val_if_fail (KILN_IS_CHART (self), FALSE);
  if (x0)
    *x0 = self->link->zoom_x0;
  if (x1)
    *x1 = self->link->zoom_x1;
  return !isnan (self->link->zoom_x0);
}

void
kiln_chart_get_x_range (KilnChart *self, double *x0, double *x1)
{
  Frame f;

  g_return_if_fail (KILN_IS_CHART (self));
  data_ranges (self, &f);
  if (x0)
    *x0 = f.x0;
  if (x1)
    *x1 = f.x1;
}

double
kiln_chart_get_plot_left (KilnChart *self)
{
  g_return_val_if_fail (KILN_IS_CHART (self), 0);
  return self->frame.left;
}

/* ---- geometry ---------------------------------------------------------------- */

static double
to_px_x (const Frame *f, double x)
{
  return f->left + (x - f->x0) / (f->x1 - f->x0) * f->width;
}

static double
to_px_y (const Frame *f, double y)
{
  return f->top + f->height - (y - f->y0) / (f->y1 - f->y0) * f->height;
}

/* A step of 1, 2 or 5 × 10^k giving about @n ticks over @range. */
static double
nice_step (double range, int n)
{
  double raw = range / MAX (n, 1);
  double magnitude = pow (10, floor (log10 (raw)));
  double r = raw / magnitude;

  return magnitude * (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10);
}

/* The last iteration the chart holds, its overlays' included. */
static double
own_x_extent (KilnChart *self)
{
  double x1 = 1;

  for (guint s = 0; s < self->series->len; s++)
    {
      GArray *points = g_array_index (self->series, Series, s).points;
      if (points->len > 0)
        x1 = MAX (x1, (double) g_array_index (points, Point, points->len - 1).row.iteration);
    }
  for (guint o = 0; o < self->overlays->len; o++)
    {
      GArray *series = ((Overlay *) self->overlays->pdata[o])->series;
      for (guint s = 0; s < series->len; s++)
        {
          GArray *points = g_array_index (series, Series, s).points;
          if (points->len > 0)
            x1 = MAX (x1, (double) g_array_index (points, Point, points->len - 1).row.iteration);
        }
    }
  return x1;
}

/* The y extent of @series' points within the frame's x range. */
static gboolean
y_extent (GArray *series, Frame *f)
{
  gboolean any = FALSE;

  for (guint s = 0; s < series->len; s++)
    {
      GArray *points = g_array_index (series, Series, s).points;
      for (guint i = 0; i < points->len; i++)
        {
          const Point *p = &g_array_index (points, Point, i);
          if (p->row.iteration < f->x0 || p->row.iteration > f->x1)
            continue;
          f->y0 = MIN (f->y0, p->y);
          f->y1 = MAX (f->y1, p->y);
          any = TRUE;
        }
    }
  return any;
}

static gboolean
data_ranges (KilnChart *self, Frame *f)
{
  gboolean any = FALSE;
  Link *link = self->link;

  /* One x range for the linked charts: the longest run, or the zoom. */
  f->x0 = 0;
  f->x1 = 1;
  for (guint c = 0; c < link->charts->len; c++)
    f->x1 = MAX (f->x1, own_x_extent (link->charts->pdata[c]));
  if (!isnan (link->zoom_x0))
    {
      f->x0 = link->zoom_x0;
      f->x1 = link->zoom_x1;
    }
  f->y0 = INFINITY;
  f->y1 = -INFINITY;
  any = y_extent (self->series, f);
  for (guint o = 0; o < self->overlays->len; o++)
    y_extent (((Overlay *) self->overlays->pdata[o])->series, f);
  if (!isfinite (f->y0) || !isfinite (f->y1))
    f->y0 = 0, f->y1 = 1;
  if (!isnan (self->range_min))
    f->y0 = self->range_min;
  if (!isnan (self->range_max))
    f->y1 = self->range_max;
  if (f->y1 - f->y0 < 1e-12)
    {
      double pad = fabs (f->y0) > 0 ? fabs (f->y0) * 0.1 : 1;
      f->y0 -= pad;
      f->y1 += pad;
    }
  else if (isnan (self->range_min) || isnan (self->range_max))
    {
      /* Room above and below the lines, then whole ticks. */
      double step = nice_step (f->y1 - f->y0, 4);
      if (isnan (self->range_min))
        f->y0 = floor (f->y0 / step) * step;
      if (isnan (self->range_max))
        f->y1 = ceil (f->y1 / step) * step;
      if (f->y1 - f->y0 < 1e-12)
        f->y1 = f->y0 + step;
    }
  return any;
}

static void
queue_linked_draw (KilnChart *self)
{
  for (guint c = 0; c < self->link->charts->len; c++)
    gtk_widget_queue_draw (self->link->charts->pdata[c]);
}

static gboolean
margin_changed (gpointer data)
{
  KilnChart *self = data;

  self->margin_idle = 0;
  queue_linked_draw (self);
  return G_SOURCE_REMOVE;
}

/* "0.25", "1.2k", "3e-05": short tick labels. */
static char *
format_tick (double v, double step)
{
  if (v != 0 && (fabs (v) < 1e-3 || fabs (v) >= 1e6))
    return g_strdup_printf ("%.1e", v);
  if (fabs (v) >= 10000)
    return g_strdup_printf ("%gk", v / 1000);
  int decimals = step >= 1 ? 0 : (int) ceil (-log10 (step) - 1e-9);
  return g_strdup_printf ("%.*f", CLAMP (decimals, 0, 6), v);
}

static PangoLayout *
make_layout (cairo_t *cr, const Look *look, const char *text, gboolean bold)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  g_autoptr(PangoFontDescription) font = pango_font_description_copy (look->font);

  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

static void
set_color (cairo_t *cr, const GdkRGBA *color, double alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

static void
draw_text (cairo_t *cr, const Look *look, const char *text, double x, double y, double align_x, double align_y,
           gboolean bold, double alpha)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, look, text, bold);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  set_color (cr, &look->fg, alpha);
  cairo_move_to (cr, x - align_x * w, y - align_y * h);
  pango_cairo_show_layout (cr, layout);
}

static void
text_size (cairo_t *cr, const Look *look, const char *text, gboolean bold, int *w, int *h)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, look, text, bold);
  pango_layout_get_pixel_size (layout, w, h);
}

/* ---- drawing ----------------------------------------------------------------- */

/* The series as a path; with more points than pixels, one vertical stroke
 * per pixel column from its lowest to its highest value. */
static void
path_series (cairo_t *cr, const Frame *f, GArray *points, gboolean smooth)
{
  gboolean dense = points->len > f->width * 2;
  int column = G_MININT;
  double low = 0, high = 0;

  for (guint i = 0; i < points->len; i++)
    {
      const Point *p = &g_array_index (points, Point, i);
      double x = to_px_x (f, p->row.iteration), y = to_px_y (f, smooth ? p->smooth : p->y);
      if (!dense)
        {
          if (i == 0)
            cairo_move_to (cr, x, y);
          else
            cairo_line_to (cr, x, y);
          continue;
        }
      if ((int) x == column)
        {
          low = MIN (low, y);
          high = MAX (high, y);
          continue;
        }
      if (column != G_MININT)
        {
          cairo_line_to (cr, column + 0.5, low);
          cairo_line_to (cr, column + 0.5, high);
        }
      else
        cairo_move_to (cr, (int) x + 0.5, y);
      column = (int) x;
      low = high = y;
    }
  if (dense && column != G_MININT)
    {
      cairo_line_to (cr, column + 0.5, low);
      cairo_line_to (cr, column + 0.5, high);
    }
}

/* The point of @points nearest to iteration @x. */
static const Point *
nearest (GArray *points, double x)
{
  guint lo = 0, hi = points->len;

  if (points->len == 0)
    return NULL;
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;
      if (g_array_index (points, Point, mid).row.iteration <= x)
        lo = mid;
      else
        hi = mid;
    }
  const Point *a = &g_array_index (points, Point, lo);
  if (lo + 1 < points->len)
    {
      const Point *b = &g_array_index (points, Point, lo + 1);
      if (fabs (b->row.iteration - x) < fabs (a->row.iteration - x))
        return b;
    }
  return a;
}

static char *
format_value (double v)
{
  return fabs (v) > 0 && fabs (v) < 1e-3 ? g_strdup_printf ("%.3g", v) : g_strdup_printf ("%.4f", v);
}

/* The hover box's lines for the iteration nearest @x (data units). */
static char *
hover_lines (KilnChart *self, double x, double *at)
{
  GString *text = g_string_new (NULL);
  const Point *first = NULL;

  for (guint s = 0; s < self->series->len; s++)
    {
      const Point *p = nearest (g_array_index (self->series, Series, s).points, x);
      if (p != NULL && (first == NULL || fabs (p->row.iteration - x) < fabs (first->row.iteration - x)))
        first = p;
    }
  if (first == NULL)
    return g_string_free (text, TRUE);
  *at = first->row.iteration;
  g_string_append_printf (text, _("epoch %d · iteration %lld"), first->row.epoch + 1, (long long) first->row.iteration);
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = &g_array_index (self->series, Series, s);
      const Point *p = nearest (series->points, *at);
      if (p == NULL || p->row.iteration != first->row.iteration)
        continue;
      g_autofree char *value = format_value (series->style == KILN_CHART_SMOOTHED && self->smoothing > 0
                                             ? p->smooth : p->y);
      g_string_append_printf (text, "\n%s: %s", series->label, value);
    }
  return g_string_free (text, FALSE);
}

static void
draw_chart (KilnChart *self, cairo_t *cr, double width, double height, const Look *look, Frame *frame)
{
  Frame f;
  gboolean any = data_ranges (self, &f);
  int tw, th;

  cairo_save (cr);
  /* Title, and the legend after it (on its own line when narrow). */
  text_size (cr, look, self->title, TRUE, &tw, &th);
  draw_text (cr, look, self->title, PAD, PAD, 0, 0, TRUE, 1);
  double legend_x = PAD + tw + 16, legend_y = PAD, legend_w = 0;
  for (guint s = 0; s < self->series->len; s++)
    {
      int w, h;
      text_size (cr, look, g_array_index (self->series, Series, s).label, FALSE, &w, &h);
      legend_w += 22 + w + 12;
    }
  for (guint o = 0; o < self->overlays->len; o++)
    {
      int w, h;
      text_size (cr, look, ((Overlay *) self->overlays->pdata[o])->label, FALSE, &w, &h);
      legend_w += 22 + w + 12;
    }
  if (legend_x + legend_w > width - PAD)
    legend_x = PAD, legend_y += th + 4;
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = &g_array_index (self->series, Series, s);
      const GdkRGBA *color = &look->palette[s % 4];
      int w, h;
      text_size (cr, look, series->label, FALSE, &w, &h);
      set_color (cr, color, 1);
      cairo_set_line_width (cr, 2);
      cairo_move_to (cr, legend_x, legend_y + th / 2.0);
      cairo_line_to (cr, legend_x + 16, legend_y + th / 2.0);
      cairo_stroke (cr);
      draw_text (cr, look, series->label, legend_x + 22, legend_y, 0, 0, FALSE, 0.8);
      legend_x += 22 + w + 12;
    }
  /* Overlaid runs by name, dashed as they are drawn. */
  for (guint o = 0; o < self->overlays->len; o++)
    {
      const char *label = ((Overlay *) self->overlays->pdata[o])->label;
      static const double dash[] = { 4, 3 };
      int w, h;
      text_size (cr, look, label, FALSE, &w, &h);
      cairo_save (cr);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      set_color (cr, &look->fg, 0.5);
      cairo_set_line_width (cr, 1.5);
      cairo_move_to (cr, legend_x, legend_y + th / 2.0);
      cairo_line_to (cr, legend_x + 16, legend_y + th / 2.0);
      cairo_stroke (cr);
      cairo_restore (cr);
      draw_text (cr, look, label, legend_x + 22, legend_y, 0, 0, FALSE, 0.6);
      legend_x += 22 + w + 12;
    }

  /* Tick labels set the plot's margins. */
  double y_step = nice_step (f.y1 - f.y0, 4);
  double label_w = 0;
  for (double v = ceil (f.y0 / y_step - 1e-9) * y_step; v <= f.y1 + y_step * 1e-6; v += y_step)
    {
      g_autofree char *label = format_tick (v, y_step);
      int w, h;
      text_size (cr, look, label, FALSE, &w, &h);
      label_w = MAX (label_w, w);
    }
  /* Linked charts share the widest labels' margin, so their plots line up. */
  if (frame != NULL && label_w != self->margin)
    {
      self->margin = label_w;
      /* A draw queued while the window is being drawn is lost: after it. */
      if (self->margin_idle == 0)
        self->margin_idle = g_idle_add (margin_changed, self);
    }
  for (guint c = 0; c < self->link->charts->len; c++)
    label_w = MAX (label_w, KILN_CHART (self->link->charts->pdata[c])->margin);
  f.left = PAD + label_w + TICK + 2;
  f.top = legend_y + th + 8;
  f.width = MAX (10, width - f.left - PAD);
  f.height = MAX (10, height - f.top - th - TICK - 2 - PAD);
  if (f.x1 <= f.x0)
    f.x1 = f.x0 + 1;
  int x_ticks = MAX (2, (int) (f.width / 90));
  double x_step = MAX (1, nice_step (f.x1 - f.x0, x_ticks));

  /* Grid and ticks. */
  cairo_set_line_width (cr, 1);
  for (double v = ceil (f.y0 / y_step - 1e-9) * y_step; v <= f.y1 + y_step * 1e-6; v += y_step)
    {
      double y = round (to_px_y (&f, v)) + 0.5;
      g_autofree char *label = format_tick (fabs (v) < y_step * 1e-6 ? 0 : v, y_step);
      set_color (cr, &look->fg, 0.12);
      cairo_move_to (cr, f.left, y);
      cairo_line_to (cr, f.left + f.width, y);
      cairo_stroke (cr);
      draw_text (cr, look, label, f.left - TICK - 2, y, 1, 0.5, FALSE, 0.6);
    }
  for (double v = ceil (f.x0 / x_step) * x_step; v <= f.x1 + 1e-9; v += x_step)
    {
      double x = round (to_px_x (&f, v)) + 0.5;
      g_autofree char *label = format_tick (v, x_step);
      set_color (cr, &look->fg, 0.3);
      cairo_move_to (cr, x, f.top + f.height);
      cairo_line_to (cr, x, f.top + f.height + TICK);
      cairo_stroke (cr);
      draw_text (cr, look, label, x, f.top + f.height + TICK + 1, 0.5, 0, FALSE, 0.6);
    }
  set_color (cr, &look->fg, 0.3);
  cairo_move_to (cr, f.left, f.top + f.height + 0.5);
  cairo_line_to (cr, f.left + f.width, f.top + f.height + 0.5);
  cairo_stroke (cr);

  if (!any)
    draw_text (cr, look, _("No values yet"), f.left + f.width / 2, f.top + f.height / 2, 0.5, 0.5, FALSE, 0.5);

  /* The series, clipped to the plot. */
  cairo_save (cr);
  cairo_rectangle (cr, f.left - MARKER - 1, f.top - MARKER - 1, f.width + 2 * MARKER + 2, f.height + 2 * MARKER + 2);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  /* Earlier runs first, dashed and faint, so the selected run reads on top. */
  for (guint o = 0; o < self->overlays->len; o++)
    {
      GArray *series = ((Overlay *) self->overlays->pdata[o])->series;
      static const double dash[] = { 4, 3 };
      cairo_save (cr);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), o * 2.0);
      cairo_set_line_width (cr, 1.5);
      for (guint s = 0; s < series->len; s++)
        {
          Series *one = &g_array_index (series, Series, s);
          if (one->points->len == 0)
            continue;
          set_color (cr, &look->palette[s % 4], 0.4);
          path_series (cr, &f, one->points, one->style == KILN_CHART_SMOOTHED && self->smoothing > 0);
          cairo_stroke (cr);
        }
      cairo_restore (cr);
    }
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = &g_array_index (self->series, Series, s);
      const GdkRGBA *color = &look->palette[s % 4];
      gboolean smoothed = series->style == KILN_CHART_SMOOTHED && self->smoothing > 0;
      if (series->points->len == 0)
        continue;
      if (smoothed)
        {
          cairo_set_line_width (cr, 1);
          set_color (cr, color, 0.3);
          path_series (cr, &f, series->points, FALSE);
          cairo_stroke (cr);
        }
      cairo_set_line_width (cr, 2);
      set_color (cr, color, 1);
      path_series (cr, &f, series->points, smoothed);
      cairo_stroke (cr);
      if (series->style == KILN_CHART_POINTS || series->points->len == 1)
        for (guint i = 0; i < series->points->len; i++)
          {
            const Point *p = &g_array_index (series->points, Point, i);
            cairo_arc (cr, to_px_x (&f, p->row.iteration), to_px_y (&f, p->y), MARKER, 0, 2 * G_PI);
            cairo_fill (cr);
          }
    }
  cairo_restore (cr);

  /* A zoom being dragged: the span it will show. */
  if (look->hover && self->drag_from >= 0)
    {
      double a = CLAMP (MIN (self->drag_from, self->drag_to), f.left, f.left + f.width);
      double b = CLAMP (MAX (self->drag_from, self->drag_to), f.left, f.left + f.width);
      set_color (cr, &look->palette[0], 0.15);
      cairo_rectangle (cr, a, f.top, b - a, f.height);
      cairo_fill_preserve (cr);
      set_color (cr, &look->palette[0], 0.6);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
    }

  /* Hover: a rule at the nearest iteration and its values in a box. */
  if (look->hover && self->hover_text != NULL)
    {
      double at = self->hover_at;
      double x = round (to_px_x (&f, at)) + 0.5;
      set_color (cr, &look->fg, 0.4);
      cairo_move_to (cr, x, f.top);
      cairo_line_to (cr, x, f.top + f.height);
      cairo_stroke (cr);
      for (guint s = 0; s < self->series->len; s++)
        {
          Series *series = &g_array_index (self->series, Series, s);
          const Point *p = nearest (series->points, at);
          if (p == NULL || p->row.iteration != (gint64) at)
            continue;
          double v = series->style == KILN_CHART_SMOOTHED && self->smoothing > 0 ? p->smooth : p->y;
          set_color (cr, &look->palette[s % 4], 1);
          cairo_arc (cr, x, to_px_y (&f, v), MARKER + 1, 0, 2 * G_PI);
          cairo_fill (cr);
        }
      g_autoptr(PangoLayout) layout = make_layout (cr, look, self->hover_text, FALSE);
      int w, h;
      pango_layout_get_pixel_size (layout, &w, &h);
      double bx = x + 8 + w + 12 > width ? x - 8 - w - 12 : x + 8;
      double by = f.top + 4;
      bx = MAX (0, bx);
      /* The box takes the text colour's opposite, so it reads on both styles. */
      GdkRGBA back = { 1 - look->fg.red, 1 - look->fg.green, 1 - look->fg.blue, 0.92 };
      set_color (cr, &back, 1);
      cairo_rectangle (cr, bx, by, w + 12, h + 8);
      cairo_fill_preserve (cr);
      set_color (cr, &look->fg, 0.25);
      cairo_stroke (cr);
      set_color (cr, &look->fg, 1);
      cairo_move_to (cr, bx + 6, by + 4);
      pango_cairo_show_layout (cr, layout);
    }
  cairo_restore (cr);
  if (frame != NULL)
    *frame = f;
}

/* The hover text for pointer x @x on the last drawing. */
static void
update_hover (KilnChart *self)
{
  const Frame *f = &self->frame;

  g_clear_pointer (&self->hover_text, g_free);
  if (self->hover_x < f->left || self->hover_x > f->left + f->width || f->width <= 0)
    return;
  self->hover_text = hover_lines (self, f->x0 + (self->hover_x - f->left) / f->width * (f->x1 - f->x0),
                                  &self->hover_at);
}

static void
widget_look (KilnChart *self, Look *look)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());

  gtk_style_context_get_color (context, &look->fg);
  look->palette = dark ? dark_palette : light_palette;
  look->font = pango_font_description_copy (pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (self))));
  look->hover = TRUE;
}

static void
kiln_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  KilnChart *self = KILN_CHART (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  Look look;

  widget_look (self, &look);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw_chart (self, cr, width, height, &look, &self->frame);
  cairo_destroy (cr);
  pango_font_description_free (look.font);
}

gboolean
kiln_chart_export (KilnChart *const *charts, guint n_charts, const char *path, int width, int height_each,
                   GError **error)
{
  gboolean svg = g_str_has_suffix (path, ".svg") || g_str_has_suffix (path, ".SVG");
  int height = height_each * (int) n_charts;
  cairo_surface_t *surface = svg ? cairo_svg_surface_create (path, width, height)
                                 : cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  /* A figure for a document: the light style, whatever the window's. */
  Look look = { { 0.14, 0.12, 0.19, 1 }, light_palette, NULL, FALSE };

  g_return_val_if_fail (n_charts > 0, FALSE);
  look.font = pango_font_description_copy (pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (charts[0]))));
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  for (guint i = 0; i < n_charts; i++)
    {
      cairo_save (cr);
      cairo_translate (cr, 0, height_each * (int) i);
      draw_chart (charts[i], cr, width, height_each, &look, NULL);
      cairo_restore (cr);
    }
  pango_font_description_free (look.font);
  cairo_destroy (cr);
  cairo_status_t status = svg ? (cairo_surface_finish (surface), cairo_surface_status (surface))
                              : cairo_surface_write_to_png (surface, path);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not write %s: %s"), path,
                   cairo_status_to_string (status));
      return FALSE;
    }
  return TRUE;
}

/* ---- widget ------------------------------------------------------------------ */

static void
motion_cb (GtkEventControllerMotion *controller, double x, double y, KilnChart *self)
{
  self->hover_x = x;
  update_hover (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
leave_cb (GtkEventControllerMotion *controller, KilnChart *self)
{
  self->hover_x = -1;
  g_clear_pointer (&self->hover_text, g_free);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Pointer x on the plot to an iteration, on the last drawing. */
static double
to_data_x (KilnChart *self, double px)
{
  const Frame *f = &self->frame;
  return f->x0 + (CLAMP (px, f->left, f->left + f->width) - f->left) / MAX (f->width, 1) * (f->x1 - f->x0);
}

static void
drag_begin_cb (GtkGestureDrag *gesture, double x, double y, KilnChart *self)
{
  self->drag_from = self->drag_to = x;
}

static void
drag_update_cb (GtkGestureDrag *gesture, double dx, double dy, KilnChart *self)
{
  self->drag_to = self->drag_from + dx;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_end_cb (GtkGestureDrag *gesture, double dx, double dy, KilnChart *self)
{
  double from = self->drag_from;

  self->drag_from = self->drag_to = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  /* A few pixels are a click, not a range. */
  if (fabs (dx) < 8)
    return;
  kiln_chart_zoom (self, to_data_x (self, from), to_data_x (self, from + dx));
}

static void
pressed_cb (GtkGestureClick *gesture, int n_press, double x, double y, KilnChart *self)
{
  if (n_press == 2)
    kiln_chart_zoom (self, NAN, NAN);
}

static void
kiln_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                    int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = 200, *natural = 480;
  else
    *minimum = *natural = 180;
}

static void
kiln_chart_dispose (GObject *object)
{
  KilnChart *self = KILN_CHART (object);

  kiln_chart_set_model (self, NULL);
  g_clear_handle_id (&self->margin_idle, g_source_remove);
  while (self->overlays->len > 0)
    kiln_chart_remove_overlay (self, ((Overlay *) self->overlays->pdata[0])->label);
  if (self->link != NULL)
    link_leave (self);
  G_OBJECT_CLASS (kiln_chart_parent_class)->dispose (object);
}

static void
kiln_chart_finalize (GObject *object)
{
  KilnChart *self = KILN_CHART (object);

  g_free (self->title);
  g_free (self->hover_text);
  g_array_unref (self->series);
  g_ptr_array_unref (self->overlays);
  G_OBJECT_CLASS (kiln_chart_parent_class)->finalize (object);
}

static void
kiln_chart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, KILN_CHART (object)->title);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_chart_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_TITLE:
      set_title (KILN_CHART (object), g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_chart_class_init (KilnChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = kiln_chart_get_property;
  object_class->set_property = kiln_chart_set_property;
  object_class->dispose = kiln_chart_dispose;
  object_class->finalize = kiln_chart_finalize;
  widget_class->snapshot = kiln_chart_snapshot;
  widget_class->measure = kiln_chart_measure;
  gtk_widget_class_set_css_name (widget_class, "kiln-chart");
  /* Drawn above the plot, and the chart's accessible name. */
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL,
                                                G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
kiln_chart_init (KilnChart *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->title = g_strdup ("");
  self->series = g_array_new (FALSE, TRUE, sizeof (Series));
  g_array_set_clear_func (self->series, series_clear);
  self->range_min = self->range_max = NAN;
  self->smoothing = 0.6;
  self->hover_x = -1;
  self->drag_from = self->drag_to = -1;
  self->overlays = g_ptr_array_new_with_free_func (overlay_free);
  self->link = link_new (self);
  GtkGesture *drag = gtk_gesture_drag_new ();
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  GtkGesture *click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}
