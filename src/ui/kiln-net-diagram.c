/* kiln-net-diagram.c: the volumes of a net as boxes (see kiln-net-diagram.h).
 * Sides grow with the square root of W and H and depth with log2 of D, so
 * AlexNet's 227 × 227 × 3 input and its 6 × 6 × 256 pool5 both stay
 * readable; the labels carry the exact numbers. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-net-diagram.h"

#define MARGIN 12
#define GAP 14            /* between two volumes */
#define CAPTION_GAP 6     /* box to its labels */
#define ROW_GAP 24        /* between the two sizes in compare mode */

typedef struct {
  char *name;
  char *dims;              /* "55 × 55 × 96", "—" for a failed layer */
  char *flatten;           /* "9,216 = 6 × 6 × 256", drawn before this volume */
  gboolean bad;            /* does not fit */
  gboolean changed;        /* compare mode: differs from the other size */
  double face_w, face_h, depth;
  double x, width, gap_before;
} Volume;

typedef struct {
  char *caption;           /* "227 × 227 × 3" */
  GArray *volumes;         /* Volume */
  double box_height;       /* the tallest box, depth included */
} Strip;

struct _KilnNetDiagram
{
  GtkWidget parent_instance;

  KilnNetCalc *calc;
  Strip strips[2];         /* the input size, and the compare size */
  guint n_strips;
  double width, height, line_height;
};

G_DEFINE_FINAL_TYPE (KilnNetDiagram, kiln_net_diagram, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_CALC, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
volume_clear (gpointer data)
{
  Volume *v = data;

  g_free (v->name);
  g_free (v->dims);
  g_free (v->flatten);
}

static void
strip_clear (Strip *strip)
{
  g_clear_pointer (&strip->caption, g_free);
  g_clear_pointer (&strip->volumes, g_array_unref);
  strip->box_height = 0;
}

static double
side_px (int n)
{
  return 6 + 7 * sqrt (MAX (n, 1));
}

static double
depth_px (int d)
{
  return 3 + 7 * log2 (MAX (d, 1) + 1);
}

static double
text_width (KilnNetDiagram *self, const char *text)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  self->line_height = MAX (self->line_height, h);
  return w;
}

static void
add_volume (KilnNetDiagram *self,
            Strip          *strip,
            const char     *name,
            int             c,
            int             h,
            int             w,
            gboolean        has_shape)
{
  Volume v = { 0 };

  v.name = g_strdup (name);
  v.dims = has_shape ? g_strdup_printf ("%d × %d × %d", w, h, c) : g_strdup ("—");
  v.face_w = has_shape ? side_px (w) : side_px (4);
  v.face_h = has_shape ? side_px (h) : side_px (4);
  v.depth = has_shape ? depth_px (c) : depth_px (1);
  g_array_append_val (strip->volumes, v);
}

/* Layers with weights or windows get a box even when they keep the shape
 * (AlexNet's conv4); activations, norms and dropout only when they reshape. */
static gboolean
draws_volume (KilnCalcRow *row)
{
  KilnLayerType type = kiln_calc_row_get_layer_type (row);

  return kiln_calc_row_has_window (row) || type == KILN_LAYER_INNER_PRODUCT;
}

/* The volumes of one size: the input, then every layer that reshapes. */
static void
build_strip (KilnNetDiagram *self,
             Strip          *strip,
             gboolean        compare)
{
  KilnNetSpec *spec = kiln_net_calc_get_spec (self->calc);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->calc));
  int c, h, w;

  strip->volumes = g_array_new (FALSE, TRUE, sizeof (Volume));
  g_array_set_clear_func (strip->volumes, volume_clear);
  if (compare)
    kiln_net_calc_get_compare (self->calc, &c, &h, &w);
  else
    kiln_net_spec_get_input (spec, &c, &h, &w);
  strip->caption = g_strdup_printf ("%d × %d × %d", w, h, c);
  add_volume (self, strip, _("input"), c, h, w, TRUE);

  for (guint i = 0; i < n; i++)
    {
      KilnCalcRow *main_row = kiln_net_calc_get_row (self->calc, i);
      KilnCalcRow *row = compare ? kiln_calc_row_get_compare (main_row) : main_row;
      KilnCalcFit fit = kiln_calc_row_get_fit (row);
      int ic, ih, iw;

      if (fit == KILN_CALC_FIT_UNREACHED)
        break;
      kiln_calc_row_get_input (row, &ic, &ih, &iw);
      kiln_calc_row_get_output (row, &c, &h, &w);
      if (!draws_volume (row) && fit != KILN_CALC_FIT_FAILED && c == ic && h == ih && w == iw)
        continue;
      add_volume (self, strip, kiln_calc_row_get_name (row), c, h, w, fit != KILN_CALC_FIT_FAILED);

      Volume *v = &g_array_index (strip->volumes, Volume, strip->volumes->len - 1);
      v->bad = fit == KILN_CALC_FIT_MISMATCH || fit == KILN_CALC_FIT_FAILED;
      v->changed = kiln_net_calc_get_compare (self->calc, NULL, NULL, NULL)
                && kiln_calc_row_get_changed (main_row);
      if (kiln_calc_row_get_layer_type (row) == KILN_LAYER_INNER_PRODUCT && (ih > 1 || iw > 1))
        {
          g_autofree char *count = kiln_format_count (kiln_calc_row_get_fan_in (row));
          v->flatten = g_strdup_printf ("%s = %d × %d × %d", count, iw, ih, ic);
        }
    }
}

static void
layout_strip (KilnNetDiagram *self,
              Strip          *strip)
{
  double x = MARGIN;

  text_width (self, strip->caption);
  for (guint i = 0; i < strip->volumes->len; i++)
    {
      Volume *v = &g_array_index (strip->volumes, Volume, i);
      double box = v->face_w + v->depth * 0.7;

      v->gap_before = i == 0 ? 0 : GAP;
      if (v->flatten)
        v->gap_before = MAX (GAP, text_width (self, v->flatten) + 16);
      x += v->gap_before;
      v->width = MAX (box, MAX (text_width (self, v->name), text_width (self, v->dims)));
      v->x = x;
      x += v->width;
      strip->box_height = MAX (strip->box_height, v->face_h + v->depth * 0.5);
    }
  self->width = MAX (self->width, x + MARGIN);
}

/* Labels take two lines below each box and the caption one above. */
static double
strip_height (KilnNetDiagram *self,
              const Strip    *strip)
{
  return self->line_height * 3 + CAPTION_GAP * 2 + strip->box_height;
}

static void
rebuild (KilnNetDiagram *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->strips); i++)
    strip_clear (&self->strips[i]);
  self->n_strips = 0;
  self->width = self->height = 0;
  self->line_height = 0;

  if (self->calc != NULL && g_list_model_get_n_items (G_LIST_MODEL (self->calc)) > 0)
    {
      self->n_strips = kiln_net_calc_get_compare (self->calc, NULL, NULL, NULL) ? 2 : 1;
      for (guint i = 0; i < self->n_strips; i++)
        build_strip (self, &self->strips[i], i == 1);
      for (guint i = 0; i < self->n_strips; i++)
        layout_strip (self, &self->strips[i]);
      self->height = MARGIN * 2 + ROW_GAP * (self->n_strips - 1);
      for (guint i = 0; i < self->n_strips; i++)
        self->height += strip_height (self, &self->strips[i]);
    }
  gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
calc_updated_cb (KilnNetDiagram *self)
{
  rebuild (self);
}

static GdkRGBA
named_color (KilnNetDiagram *self,
             const char     *name,
             const char     *fallback)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  GdkRGBA color;

  if (!gtk_style_context_lookup_color (context, name, &color))
    gdk_rgba_parse (&color, fallback);
  return color;
}

static void
set_source (cairo_t *cr, const GdkRGBA *color, double alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, color->alpha * alpha);
}

static void
draw_text (KilnNetDiagram *self,
           cairo_t        *cr,
           const char     *text,
           double          center_x,
           double          top,
           const GdkRGBA  *color)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  set_source (cr, color, 1.0);
  cairo_move_to (cr, center_x - w / 2.0, top);
  pango_cairo_show_layout (cr, layout);
}

/* A box in oblique projection: the W × H face, the top and the side. */
static void
draw_box (cairo_t       *cr,
          const Volume  *v,
          double         base,
          const GdkRGBA *fill,
          const GdkRGBA *line,
          gboolean       dashed)
{
  double dx = v->depth * 0.7, dy = v->depth * 0.5;
  double x = v->x + (v->width - v->face_w - dx) / 2, top = base - v->face_h;

  cairo_new_path (cr);
  cairo_rectangle (cr, x, top, v->face_w, v->face_h);
  set_source (cr, fill, 0.45);
  cairo_fill_preserve (cr);
  set_source (cr, line, 1.0);
  cairo_stroke (cr);

  cairo_move_to (cr, x, top);
  cairo_line_to (cr, x + dx, top - dy);
  cairo_line_to (cr, x + v->face_w + dx, top - dy);
  cairo_line_to (cr, x + v->face_w, top);
  cairo_close_path (cr);
  set_source (cr, fill, 0.25);
  cairo_fill_preserve (cr);
  set_source (cr, line, 1.0);
  cairo_stroke (cr);

  cairo_move_to (cr, x + v->face_w, top);
  cairo_line_to (cr, x + v->face_w + dx, top - dy);
  cairo_line_to (cr, x + v->face_w + dx, base - dy);
  cairo_line_to (cr, x + v->face_w, base);
  cairo_close_path (cr);
  set_source (cr, fill, 0.65);
  cairo_fill_preserve (cr);
  set_source (cr, line, 1.0);
  if (dashed)
    {
      const double dashes[] = { 3, 2 };
      cairo_set_dash (cr, dashes, 2, 0);
    }
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

static void
draw_strip (KilnNetDiagram *self,
            cairo_t        *cr,
            const Strip    *strip,
            double          top,
            gboolean        compare)
{
  GdkRGBA fg, accent, error, warning;
  double base = top + self->line_height + CAPTION_GAP + strip->box_height;

  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &fg);
  accent = named_color (self, "accent_color", "#3584e4");
  error = named_color (self, "error_color", "#e01b24");
  warning = named_color (self, "warning_color", "#c64600");

  {
    g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), strip->caption);
    set_source (cr, &fg, 0.6);
    cairo_move_to (cr, MARGIN, top);
    pango_cairo_show_layout (cr, layout);
  }

  cairo_set_line_width (cr, 1.0);
  for (guint i = 0; i < strip->volumes->len; i++)
    {
      const Volume *v = &g_array_index (strip->volumes, Volume, i);
      const GdkRGBA *fill = v->bad ? &error : v->changed ? &warning : &accent;
      const GdkRGBA *label = v->bad ? &error : &fg;

      if (i > 0)
        {
          /* The arrow from the previous volume. */
          double y = base - 6;
          set_source (cr, &fg, 0.4);
          cairo_move_to (cr, v->x - v->gap_before + 3, y);
          cairo_line_to (cr, v->x - 3, y);
          cairo_stroke (cr);
          cairo_move_to (cr, v->x - 3, y);
          cairo_rel_line_to (cr, -4, -3);
          cairo_rel_line_to (cr, 0, 6);
          cairo_close_path (cr);
          cairo_fill (cr);
        }
      if (v->flatten)
        draw_text (self, cr, v->flatten, v->x - v->gap_before / 2, base - 8 - self->line_height, &fg);
      draw_box (cr, v, base, fill, v->bad ? &error : &fg, compare && v->changed);
      draw_text (self, cr, v->name, v->x + v->width / 2, base + CAPTION_GAP, label);
      draw_text (self, cr, v->dims, v->x + v->width / 2, base + CAPTION_GAP + self->line_height, label);
    }
}

static void
kiln_net_diagram_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  KilnNetDiagram *self = KILN_NET_DIAGRAM (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  double top = MARGIN;

  if (self->n_strips == 0 || width <= 0 || height <= 0)
    return;

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  for (guint i = 0; i < self->n_strips; i++)
    {
      draw_strip (self, cr, &self->strips[i], top, i == 1);
      top += strip_height (self, &self->strips[i]) + ROW_GAP;
    }
  cairo_destroy (cr);
}

static void
kiln_net_diagram_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  KilnNetDiagram *self = KILN_NET_DIAGRAM (widget);
  double size = orientation == GTK_ORIENTATION_HORIZONTAL ? self->width : self->height;

  *minimum = *natural = (int) ceil (size);
}

/* Labels are measured with the widget's font: lay out again when it changes. */
static void
kiln_net_diagram_css_changed (GtkWidget         *widget,
                              GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (kiln_net_diagram_parent_class)->css_changed (widget, change);
  rebuild (KILN_NET_DIAGRAM (widget));
}

GtkWidget *
kiln_net_diagram_new (void)
{
  return g_object_new (KILN_TYPE_NET_DIAGRAM, NULL);
}

KilnNetCalc *
kiln_net_diagram_get_calc (KilnNetDiagram *self)
{
  g_return_val_if_fail (KILN_IS_NET_DIAGRAM (self), NULL);
  return self->calc;
}

void
kiln_net_diagram_set_calc (KilnNetDiagram *self,
                           KilnNetCalc    *calc)
{
  g_return_if_fail (KILN_IS_NET_DIAGRAM (self));
  g_return_if_fail (calc == NULL || KILN_IS_NET_CALC (calc));

  if (self->calc == calc)
    return;
  if (self->calc != NULL)
    g_signal_handlers_disconnect_by_data (self->calc, self);
  g_set_object (&self->calc, calc);
  if (calc != NULL)
    g_signal_connect_swapped (calc, "updated", G_CALLBACK (calc_updated_cb), self);
  rebuild (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CALC]);
}

guint
kiln_net_diagram_get_n_volumes (KilnNetDiagram *self)
{
  g_return_val_if_fail (KILN_IS_NET_DIAGRAM (self), 0);
  return self->n_strips > 0 ? self->strips[0].volumes->len : 0;
}

static void
kiln_net_diagram_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_CALC:
      kiln_net_diagram_set_calc (KILN_NET_DIAGRAM (object), g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_net_diagram_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_CALC:
      g_value_set_object (value, KILN_NET_DIAGRAM (object)->calc);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_net_diagram_dispose (GObject *object)
{
  KilnNetDiagram *self = KILN_NET_DIAGRAM (object);

  if (self->calc != NULL)
    g_signal_handlers_disconnect_by_data (self->calc, self);
  g_clear_object (&self->calc);
  for (guint i = 0; i < G_N_ELEMENTS (self->strips); i++)
    strip_clear (&self->strips[i]);
  self->n_strips = 0;
  G_OBJECT_CLASS (kiln_net_diagram_parent_class)->dispose (object);
}

static void
kiln_net_diagram_class_init (KilnNetDiagramClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_net_diagram_dispose;
  object_class->set_property = kiln_net_diagram_set_property;
  object_class->get_property = kiln_net_diagram_get_property;
  widget_class->snapshot = kiln_net_diagram_snapshot;
  widget_class->measure = kiln_net_diagram_measure;
  widget_class->css_changed = kiln_net_diagram_css_changed;

  properties[PROP_CALC] =
    g_param_spec_object ("calc", NULL, NULL, KILN_TYPE_NET_CALC,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "kiln-net-diagram");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
kiln_net_diagram_init (KilnNetDiagram *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("The layers' output volumes, from the input to the class scores"), -1);
}
