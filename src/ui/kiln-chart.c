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
  Frame frame;             /* of the last drawing, for the pointer */
  double hover_x;          /* pointer x, or -1 */
  double hover_at;         /* the iteration hovered */
  char *hover_text;
};

G_DEFINE_FINAL_TYPE (KilnChart, kiln_chart, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TITLE, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void update_hover (KilnChart *self);

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
read_items (KilnChart *self, guint from)
{
  guint n = self->model ? g_list_model_get_n_items (self->model) : 0;

  for (guint i = from; i < n; i++)
    {
      g_autoptr(KilnMetricPoint) item = g_list_model_get_item (self->model, i);
      for (guint s = 0; s < self->series->len; s++)
        series_add (self, &g_array_index (self->series, Series, s), kiln_metric_point_get_row (item));
    }
  self->n_read = n;
}

static void
reread (KilnChart *self)
{
  for (guint s = 0; s < self->series->len; s++)
    {
      Series *series = &g_array_index (self->series, Series, s);
      g_array_set_size (series->points, 0);
      series->ema = 0;
      series->n_averaged = 0;
    }
  read_items (self, 0);
}

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
  gtk_widget_queue_draw (GTK_WIDGET (self));
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

static gboolean
data_ranges (KilnChart *self, Frame *f)
{
  gboolean any = FALSE;

  f->x0 = 0;
  f->x1 = 1;
  f->y0 = INFINITY;
  f->y1 = -INFINITY;
  for (guint s = 0; s < self->series->len; s++)
    {
      GArray *points = g_array_index (self->series, Series, s).points;
      for (guint i = 0; i < points->len; i++)
        {
          const Point *p = &g_array_index (points, Point, i);
          f->x1 = MAX (f->x1, (double) p->row.iteration);
          f->y0 = MIN (f->y0, p->y);
          f->y1 = MAX (f->y1, p->y);
          any = TRUE;
        }
    }
  if (!any)
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
  kiln_chart_set_model (KILN_CHART (object), NULL);
  G_OBJECT_CLASS (kiln_chart_parent_class)->dispose (object);
}

static void
kiln_chart_finalize (GObject *object)
{
  KilnChart *self = KILN_CHART (object);

  g_free (self->title);
  g_free (self->hover_text);
  g_array_unref (self->series);
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
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
}
