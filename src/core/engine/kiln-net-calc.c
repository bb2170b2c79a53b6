/* kiln-net-calc.c: the layer-size calculator (see kiln-net-calc.h). Each
 * recomputation infers the spec three ways on copies: as it is (the error
 * kiln_net_spec_infer_shapes() gives), tolerantly (exact fit off, so every
 * row gets a shape) and with floor pooling (what PyTorch would feed the
 * layers after a mismatch). The window arithmetic is kiln-window.c's. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-calc-row-private.h"
#include "kiln-engine-error.h"
#include "kiln-net-calc.h"
#include "kiln-netspec-private.h"
#include "kiln-window.h"

/* What one input size gives besides its rows. */
typedef struct {
  int first_problem;
  char *error;
  char *downstream;
} Summary;

static void
summary_clear (Summary *s)
{
  g_clear_pointer (&s->error, g_free);
  g_clear_pointer (&s->downstream, g_free);
  s->first_problem = -1;
}

struct _KilnNetCalc
{
  GObject parent_instance;

  KilnNetSpec *spec;
  GPtrArray *rows;          /* KilnCalcRow, one per layer */
  Summary main;
  gboolean comparing;
  int compare_c, compare_h, compare_w;
  Summary other;
  guint n_changed;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (KilnNetCalc, kiln_net_calc, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum { PROP_0, PROP_SPEC, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { SIGNAL_UPDATED, N_SIGNALS };
static guint signals[N_SIGNALS];

char *
kiln_format_count (gint64 value)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, value);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      g_string_append_c (out, digits[i]);
      if (digits[i] != '-' && (len - i - 1) % 3 == 0 && i + 1 < len)
        g_string_append_c (out, ',');
    }
  return g_string_free (out, FALSE);
}

static gboolean
is_window (KilnLayerType type)
{
  return type == KILN_LAYER_CONVOLUTION || type == KILN_LAYER_MAX_POOL || type == KILN_LAYER_AVG_POOL;
}

static gboolean
is_pool (KilnLayerType type)
{
  return type == KILN_LAYER_MAX_POOL || type == KILN_LAYER_AVG_POOL;
}

/* The input of layer @index in an inferred @spec (the first, for several). */
static KilnLayerShape
input_shape (KilnNetSpec *spec,
             guint        index)
{
  g_autoptr(GArray) inputs = kiln_net_spec_get_layer_inputs (spec, index);
  int j = inputs && inputs->len > 0 ? g_array_index (inputs, int, 0) : -1;
  KilnLayerShape shape = { 0 };

  if (j >= 0)
    return g_array_index (spec->shapes, KilnLayerShape, j);
  shape.c = spec->channels;
  shape.h = spec->height;
  shape.w = spec->width;
  return shape;
}

static char *
format_volume (int w, int h, int c)
{
  return g_strdup_printf ("%d × %d × %d", w, h, c);
}

/* One side of a window layer. */
typedef struct {
  KilnWindowExtent e;
  int n, stride, pad_a, pad_b;
  char *text;          /* "(224 − 11)/4 + 1 = 54.25 → 54" */
  char *equation;      /* "(224 − 11)/4 + 1 = 54.25" */
} Side;

static void
side_clear (Side *side)
{
  g_clear_pointer (&side->text, g_free);
  g_clear_pointer (&side->equation, g_free);
}

static void
side_compute (Side        *side,
              int          n,
              int          kernel,
              int          stride,
              int          dilation,
              int          pad_a,
              int          pad_b,
              KilnRounding rounding)
{
  side->n = n;
  side->stride = stride;
  side->pad_a = pad_a;
  side->pad_b = pad_b;
  kiln_window_extent (n, kernel, stride, dilation, pad_a, pad_b, rounding, &side->e);

  g_autofree char *base = kiln_window_format (n, pad_a, pad_b, (int) side->e.span, stride);
  g_autofree char *value = kiln_window_format_value (side->e.numerator, stride);

  side->equation = g_strdup_printf ("%s = %s", base, value);
  if (side->e.whole)
    side->text = g_strdup (side->equation);
  else
    side->text = g_strdup_printf ("%s → %" G_GINT64_FORMAT, side->equation, side->e.size);
}

static char *
side_message (const Side *side,
              KilnCalcFit fit,
              KilnRounding rounding)
{
  if (fit == KILN_CALC_FIT_MISMATCH)
    return g_strdup_printf (_("%s is not a whole number"), side->equation);
  /* Sizes fit an int: inference bounds them by MAX_SPATIAL. */
  if (rounding == KILN_ROUND_CEIL)
    return g_strdup_printf (_("%s rounds up to %d: the last window runs past the edge"),
                            side->equation, (int) side->e.size);
  return g_strdup_printf (_("%s rounds down to %d: the last rows are never read"),
                          side->equation, (int) side->e.size);
}

static void
add_fix (KilnCalcRow *row,
         KilnCalcFix *fix)
{
  g_ptr_array_add (row->d.fixes, fix);
}

static char *
pad_label (const KilnLayerSpec *layer,
           gboolean             fix_h,
           gboolean             fix_w,
           const KilnWindowFix *h,
           const KilnWindowFix *w)
{
  if (fix_h && fix_w && h->pad_before == w->pad_before && h->pad_after == w->pad_after)
    {
      if (h->pad_before == h->pad_after)
        return g_strdup_printf (_("Pad %d"), h->pad_before);
      return g_strdup_printf (_("Pad top and left %d, bottom and right %d"), h->pad_before, h->pad_after);
    }
  if (fix_h && fix_w)
    return g_strdup_printf (_("Pad top %d, bottom %d, left %d, right %d"),
                            h->pad_before, h->pad_after, w->pad_before, w->pad_after);
  if (fix_h)
    return g_strdup_printf (_("Pad top %d, bottom %d"), h->pad_before, h->pad_after);
  return g_strdup_printf (_("Pad left %d, right %d"), w->pad_before, w->pad_after);
}

/* The pad and stride changes that make a mismatched convolution whole. */
static void
add_local_fixes (KilnCalcRow         *row,
                 const KilnLayerSpec *layer,
                 const Side          *sh,
                 const Side          *sw)
{
  gboolean fix_h = !sh->e.whole, fix_w = !sw->e.whole;
  KilnWindowFix h = { 0 }, w = { 0 };
  KilnCalcFix *fix;

  if (fix_h)
    kiln_window_suggest_fix (&sh->e, sh->stride, sh->pad_a, sh->pad_b, &h);
  if (fix_w)
    kiln_window_suggest_fix (&sw->e, sw->stride, sw->pad_a, sw->pad_b, &w);

  fix = g_new0 (KilnCalcFix, 1);
  fix->kind = KILN_CALC_FIX_PAD;
  fix->layer = row->d.index;
  fix->pad_top = fix_h ? h.pad_before : layer->pad_top;
  fix->pad_bottom = fix_h ? h.pad_after : layer->pad_bottom;
  fix->pad_left = fix_w ? w.pad_before : layer->pad_left;
  fix->pad_right = fix_w ? w.pad_after : layer->pad_right;
  fix->label = pad_label (layer, fix_h, fix_w, &h, &w);
  add_fix (row, fix);

  if ((fix_h && h.stride == 0) || (fix_w && w.stride == 0))
    return;
  fix = g_new0 (KilnCalcFix, 1);
  fix->kind = KILN_CALC_FIX_STRIDE;
  fix->layer = row->d.index;
  fix->stride_h = fix_h ? h.stride : layer->stride_h;
  fix->stride_w = fix_w ? w.stride : layer->stride_w;
  fix->label = fix->stride_h == fix->stride_w
             ? g_strdup_printf (_("Stride %d"), fix->stride_h)
             : g_strdup_printf (_("Stride %d × %d"), fix->stride_h, fix->stride_w);
  add_fix (row, fix);
}

/* Window rows: arithmetic, fit and message from both sides. */
static void
fill_window (KilnCalcRow         *row,
             const KilnLayerSpec *layer,
             const KilnLayerShape *in,
             gboolean             exact_fit)
{
  gboolean conv = layer->type == KILN_LAYER_CONVOLUTION;
  KilnRounding rounding = conv ? KILN_ROUND_FLOOR : layer->rounding;
  Side sh = { 0 }, sw = { 0 };

  side_compute (&sh, in->h, layer->kernel_h, layer->stride_h, conv ? layer->dilation_h : 1,
                layer->pad_top, layer->pad_bottom, rounding);
  side_compute (&sw, in->w, layer->kernel_w, layer->stride_w, conv ? layer->dilation_w : 1,
                layer->pad_left, layer->pad_right, rounding);

  if (g_str_equal (sh.text, sw.text))
    row->d.arithmetic = g_strdup (sh.text);
  else
    row->d.arithmetic = g_strdup_printf (_("height: %s\nwidth: %s"), sh.text, sw.text);

  if (sh.e.whole && sw.e.whole)
    row->d.fit = KILN_CALC_FIT_WHOLE;
  else
    {
      row->d.fit = conv && exact_fit ? KILN_CALC_FIT_MISMATCH : KILN_CALC_FIT_ROUNDED;
      row->d.message = side_message (sh.e.whole ? &sw : &sh, row->d.fit, rounding);
      if (row->d.fit == KILN_CALC_FIT_MISMATCH)
        add_local_fixes (row, layer, &sh, &sw);
    }
  side_clear (&sh);
  side_clear (&sw);
}

static void
fill_row (KilnCalcRow *row,
          KilnNetSpec *tolerant,
          guint        index,
          gboolean     exact_fit)
{
  const KilnLayerSpec *layer = kiln_net_spec_get_layer (tolerant, index);
  const KilnLayerShape *out = &g_array_index (tolerant->shapes, KilnLayerShape, index);
  KilnLayerShape in = input_shape (tolerant, index);

  row->d.in_c = in.c;
  row->d.in_h = in.h;
  row->d.in_w = in.w;
  row->d.c = out->c;
  row->d.h = out->h;
  row->d.w = out->w;
  row->d.params = out->params;
  row->d.macs = out->macs;
  row->d.fan_in = kiln_net_spec_fan_in (tolerant, index);
  row->d.fit = KILN_CALC_FIT_WHOLE;

  if (is_window (layer->type))
    fill_window (row, layer, &in, exact_fit);
  else if (layer->type == KILN_LAYER_PAD)
    {
      /* Begin and end pads per axis, as the window rows show theirs. */
      g_autofree char *h = g_strdup_printf ("%d + %d + %d = %d", in.h, layer->pad_top, layer->pad_bottom, out->h);
      g_autofree char *w = g_strdup_printf ("%d + %d + %d = %d", in.w, layer->pad_left, layer->pad_right, out->w);
      row->d.arithmetic = g_str_equal (h, w) ? g_strdup (h) : g_strdup_printf (_("height: %s\nwidth: %s"), h, w);
    }
  else if ((layer->type == KILN_LAYER_INNER_PRODUCT || layer->type == KILN_LAYER_FLATTEN)
           && (in.h > 1 || in.w > 1))
    {
      g_autofree char *count = kiln_format_count ((gint64) in.c * in.h * in.w);
      g_autofree char *volume = format_volume (in.w, in.h, in.c);
      row->d.arithmetic = layer->type == KILN_LAYER_INNER_PRODUCT
                        ? g_strdup_printf (_("%s = %s inputs"), volume, count)
                        : g_strdup_printf ("%s = %s", volume, count);
    }
}

static KilnCalcRow *
new_row (KilnNetSpec *spec,
         guint        index)
{
  const KilnLayerSpec *layer = kiln_net_spec_get_layer (spec, index);
  KilnCalcRow *row = kiln_calc_row_new ();
  KilnCalcRowData *d = &row->d;

  d->index = index;
  d->name = g_strdup (layer->name);
  d->type = layer->type;
  if (layer->type == KILN_LAYER_CONVOLUTION || layer->type == KILN_LAYER_INNER_PRODUCT)
    d->outputs = layer->num_output;
  d->has_window = is_window (layer->type);
  if (d->has_window)
    {
      d->kernel_h = layer->kernel_h;
      d->kernel_w = layer->kernel_w;
      d->stride_h = layer->stride_h;
      d->stride_w = layer->stride_w;
      d->dilation_h = layer->type == KILN_LAYER_CONVOLUTION ? layer->dilation_h : 1;
      d->dilation_w = layer->type == KILN_LAYER_CONVOLUTION ? layer->dilation_w : 1;
      d->pad_top = layer->pad_top;
      d->pad_left = layer->pad_left;
      d->pad_bottom = layer->pad_bottom;
      d->pad_right = layer->pad_right;
      d->rounding = layer->rounding;
    }
  else if (layer->type == KILN_LAYER_PAD)
    {
      d->pad_top = layer->pad_top;
      d->pad_left = layer->pad_left;
      d->pad_bottom = layer->pad_bottom;
      d->pad_right = layer->pad_right;
    }
  d->fit = KILN_CALC_FIT_UNREACHED;
  return row;
}

/* A copy of @spec at C × H × W, inferred with exact fit off (and every
 * pooling floored when @floor_pooling); returns how many layers inferred. */
static KilnNetSpec *
tolerant_copy (KilnNetSpec *spec,
               int          c,
               int          h,
               int          w,
               gboolean     floor_pooling,
               guint       *n_inferred,
               GError     **error)
{
  KilnNetSpec *copy = kiln_net_spec_copy (spec);

  kiln_net_spec_set_input (copy, c, h, w);
  kiln_net_spec_set_exact_fit (copy, FALSE);
  for (guint i = 0; floor_pooling && i < copy->layers->len; i++)
    kiln_net_spec_get_layer (copy, i)->rounding = KILN_ROUND_FLOOR;
  kiln_net_spec_infer_prefix (copy, n_inferred, error);
  return copy;
}

/* The leftover of each side of a window row under floor rounding. */
static void
row_extents (const KilnCalcRowData *d,
             KilnWindowExtent      *eh,
             KilnWindowExtent      *ew)
{
  kiln_window_extent (d->in_h, d->kernel_h, d->stride_h, d->dilation_h, d->pad_top, d->pad_bottom,
                      KILN_ROUND_FLOOR, eh);
  kiln_window_extent (d->in_w, d->kernel_w, d->stride_w, d->dilation_w, d->pad_left, d->pad_right,
                      KILN_ROUND_FLOOR, ew);
}

static int
failing_side (KilnCalcRow *row)
{
  KilnWindowExtent eh, ew;

  if (!row->d.has_window || row->d.fit == KILN_CALC_FIT_FAILED)
    return 0;
  row_extents (&row->d, &eh, &ew);
  if (!eh.whole && ew.whole)
    return KILN_SIDE_HEIGHT;
  if (eh.whole && !ew.whole)
    return KILN_SIDE_WIDTH;
  return 0;
}

/* Input sizes at which the whole net builds, offered on the first problem. */
static void
add_input_fixes (KilnCalcRow *row,
                 KilnNetSpec *strict,
                 int          reference[2])
{
  int sizes[2][2];
  guint position = 0;

  reference[0] = reference[1] = 0;
  if (!kiln_net_spec_find_inputs (strict, failing_side (row), sizes[0], sizes[1]))
    return;
  for (int i = 0; i < 2; i++)
    {
      if (sizes[i][0] <= 0)
        continue;
      KilnCalcFix *fix = g_new0 (KilnCalcFix, 1);
      fix->kind = KILN_CALC_FIX_INPUT;
      fix->layer = row->d.index;
      fix->height = sizes[i][0];
      fix->width = sizes[i][1];
      fix->label = g_strdup_printf (_("Input %d × %d"), fix->height, fix->width);
      /* Input fixes come first: they keep pretrained filters usable. */
      g_ptr_array_insert (row->d.fixes, position++, fix);
      if (reference[0] == 0)
        {
          reference[0] = sizes[i][0];
          reference[1] = sizes[i][1];
        }
    }
}

static gboolean
has_ceil_pooling (KilnNetSpec *spec)
{
  for (guint i = 0; i < spec->layers->len; i++)
    {
      const KilnLayerSpec *layer = g_ptr_array_index (spec->layers, i);
      if (is_pool (layer->type) && layer->rounding == KILN_ROUND_CEIL)
        return TRUE;
    }
  return FALSE;
}

/* What the mismatch at @problem does further on: the first weighted layer
 * whose fan-in differs from the one at @reference, under floor pooling. */
static char *
describe_downstream (KilnNetSpec *spec,
                     KilnNetSpec *tolerant,
                     guint        n_tolerant,
                     KilnCalcRow *problem,
                     const int    reference[2])
{
  g_autoptr(KilnNetSpec) ref = NULL;
  g_autoptr(KilnNetSpec) floored = NULL;
  guint n_floored = 0;
  const KilnCalcRowData *p = &problem->d;

  floored = tolerant_copy (spec, tolerant->channels, tolerant->height, tolerant->width, TRUE, &n_floored, NULL);
  if (reference[0] > 0)
    {
      ref = kiln_net_spec_copy (spec);
      kiln_net_spec_set_input (ref, tolerant->channels, reference[0], reference[1]);
      if (!kiln_net_spec_infer_shapes (ref, NULL))
        g_clear_object (&ref);
    }

  for (guint j = p->index + 1; ref != NULL && j < n_floored; j++)
    {
      KilnLayerType type = kiln_net_spec_get_layer (spec, j)->type;
      if (type != KILN_LAYER_CONVOLUTION && type != KILN_LAYER_INNER_PRODUCT)
        continue;
      gint64 got = kiln_net_spec_fan_in (floored, j), want = kiln_net_spec_fan_in (ref, j);
      if (got == want)
        continue;

      KilnLayerShape in_got = input_shape (floored, j), in_want = input_shape (ref, j);
      g_autofree char *got_count = kiln_format_count (got), *want_count = kiln_format_count (want);
      g_autofree char *got_volume = format_volume (in_got.w, in_got.h, in_got.c);
      g_autofree char *want_volume = format_volume (in_want.w, in_want.h, in_want.c);
      const char *name = kiln_net_spec_get_layer (spec, j)->name;
      GString *text = g_string_new (NULL);

      g_string_append_printf (text, _("with floor pooling, %s then receives %s inputs (%s), not %s (%s at %d × %d)"),
                              name, got_count, got_volume, want_count, want_volume, reference[0], reference[1]);
      if (has_ceil_pooling (spec) && j < n_tolerant)
        {
          gint64 own = kiln_net_spec_fan_in (tolerant, j);
          g_autofree char *own_count = kiln_format_count (own);
          if (own == want)
            g_string_append_printf (text, _("; with this net's ceil pooling it gets %s, but from windows "
                                            "that run past the edge"), own_count);
          else
            g_string_append_printf (text, _("; with this net's ceil pooling it gets %s"), own_count);
        }
      return g_string_free (text, FALSE);
    }

  if (p->fit != KILN_CALC_FIT_MISMATCH)
    return NULL;
  KilnWindowExtent eh, ew;
  row_extents (p, &eh, &ew);
  return g_strdup_printf (_("%s never reads the last %d × %d of its input; later layers keep the shapes "
                            "of their weights"),
                          p->name, (int) (ew.numerator % p->stride_w), (int) (eh.numerator % p->stride_h));
}

/* Everything the calculator shows for @spec at C × H × W. */
static GPtrArray *
compute (KilnNetSpec *spec,
         int          c,
         int          h,
         int          w,
         Summary     *summary)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) failure = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) strict = kiln_net_spec_copy (spec);
  g_autoptr(KilnNetSpec) tolerant = NULL;
  guint n_inferred = 0;
  int reference[2] = { 0, 0 };

  summary_clear (summary);
  kiln_net_spec_set_input (strict, c, h, w);
  if (!kiln_net_spec_infer_shapes (strict, &error))
    summary->error = g_strdup (error->message);

  tolerant = tolerant_copy (spec, c, h, w, FALSE, &n_inferred, &failure);
  for (guint i = 0; i < spec->layers->len; i++)
    {
      KilnCalcRow *row = new_row (spec, i);

      if (i < n_inferred)
        fill_row (row, tolerant, i, spec->exact_fit);
      else if (i == n_inferred && failure != NULL)
        {
          row->d.fit = KILN_CALC_FIT_FAILED;
          row->d.message = g_strdup (failure->message);
        }
      if (summary->first_problem < 0
          && (row->d.fit == KILN_CALC_FIT_MISMATCH || row->d.fit == KILN_CALC_FIT_FAILED))
        summary->first_problem = i;
      g_ptr_array_add (rows, row);
    }

  if (summary->first_problem >= 0 && summary->error != NULL)
    {
      KilnCalcRow *problem = rows->pdata[summary->first_problem];
      add_input_fixes (problem, strict, reference);
      summary->downstream = describe_downstream (spec, tolerant, n_inferred, problem, reference);
    }
  return rows;
}

static gboolean
rows_differ (KilnCalcRow *a,
             KilnCalcRow *b)
{
  return a->d.fit != b->d.fit || a->d.c != b->d.c || a->d.h != b->d.h || a->d.w != b->d.w
      || a->d.params != b->d.params;
}

void
kiln_net_calc_update (KilnNetCalc *self)
{
  g_return_if_fail (KILN_IS_NET_CALC (self));

  g_autoptr(GPtrArray) fresh = compute (self->spec, self->spec->channels, self->spec->height,
                                        self->spec->width, &self->main);
  g_autoptr(GPtrArray) other = NULL;
  guint old_len = self->rows->len;
  gboolean same_layers = old_len == fresh->len;

  summary_clear (&self->other);
  self->n_changed = 0;
  if (self->comparing)
    {
      other = compute (self->spec, self->compare_c, self->compare_h, self->compare_w, &self->other);
      for (guint i = 0; i < fresh->len; i++)
        {
          KilnCalcRow *row = fresh->pdata[i];
          row->d.compare = g_object_ref (other->pdata[i]);
          row->d.changed = rows_differ (row, other->pdata[i]);
          self->n_changed += row->d.changed;
        }
    }

  for (guint i = 0; same_layers && i < old_len; i++)
    same_layers = g_strcmp0 (kiln_calc_row_get_name (self->rows->pdata[i]),
                             kiln_calc_row_get_name (fresh->pdata[i])) == 0;
  if (same_layers)
    {
      /* Rows stay the same objects, so list widgets keep their cells (and focus). */
      for (guint i = 0; i < old_len; i++)
        kiln_calc_row_assign (self->rows->pdata[i], fresh->pdata[i]);
    }
  else
    {
      g_ptr_array_unref (self->rows);
      self->rows = g_steal_pointer (&fresh);
      g_list_model_items_changed (G_LIST_MODEL (self), 0, old_len, self->rows->len);
    }
  g_signal_emit (self, signals[SIGNAL_UPDATED], 0);
}

KilnNetCalc *
kiln_net_calc_new (KilnNetSpec *spec)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (spec), NULL);
  return g_object_new (KILN_TYPE_NET_CALC, "spec", spec, NULL);
}

KilnNetSpec *
kiln_net_calc_get_spec (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), NULL);
  return self->spec;
}

void
kiln_net_calc_set_spec (KilnNetCalc *self,
                        KilnNetSpec *spec)
{
  g_return_if_fail (KILN_IS_NET_CALC (self));
  g_return_if_fail (KILN_IS_NET_SPEC (spec));

  if (self->spec == spec)
    {
      kiln_net_calc_update (self);
      return;
    }
  g_set_object (&self->spec, spec);
  self->comparing = FALSE;
  /* Another net: no row carries over, even where layer names match. */
  guint old_len = self->rows->len;
  g_ptr_array_set_size (self->rows, 0);
  if (old_len > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old_len, 0);
  kiln_net_calc_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEC]);
}

void
kiln_net_calc_set_input (KilnNetCalc *self,
                         int          channels,
                         int          height,
                         int          width)
{
  g_return_if_fail (KILN_IS_NET_CALC (self));

  kiln_net_spec_set_input (self->spec, channels, height, width);
  kiln_net_calc_update (self);
}

void
kiln_net_calc_set_compare (KilnNetCalc *self,
                           int          channels,
                           int          height,
                           int          width)
{
  g_return_if_fail (KILN_IS_NET_CALC (self));

  self->comparing = height > 0 && width > 0 && channels > 0;
  self->compare_c = channels;
  self->compare_h = height;
  self->compare_w = width;
  kiln_net_calc_update (self);
}

gboolean
kiln_net_calc_get_compare (KilnNetCalc *self,
                           int         *channels,
                           int         *height,
                           int         *width)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), FALSE);

  if (channels)
    *channels = self->comparing ? self->compare_c : 0;
  if (height)
    *height = self->comparing ? self->compare_h : 0;
  if (width)
    *width = self->comparing ? self->compare_w : 0;
  return self->comparing;
}

gboolean
kiln_net_calc_param_applies (KilnNetCalc  *self,
                             guint         index,
                             KilnCalcParam param)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), FALSE);

  return index < self->rows->len && kiln_calc_row_param_applies (self->rows->pdata[index], param);
}

/* Edits on a copy of the layer so a refused value leaves the spec alone. */
static gboolean
commit_layer (KilnNetCalc         *self,
              guint                index,
              const KilnLayerSpec *edited,
              GError             **error)
{
  KilnLayerSpec *layer = kiln_net_spec_get_layer (self->spec, index);

  if (!kiln_net_spec_validate_layer (edited, error))
    return FALSE;
  /* Only numbers change: the name and inputs stay the spec's own. */
  char *name = layer->name;
  char **inputs = layer->inputs;
  *layer = *edited;
  layer->name = name;
  layer->inputs = inputs;
  kiln_net_calc_update (self);
  return TRUE;
}

gboolean
kiln_net_calc_set_param (KilnNetCalc  *self,
                         guint         index,
                         KilnCalcParam param,
                         int           value,
                         GError      **error)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), FALSE);

  if (!kiln_net_calc_param_applies (self, index, param))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("Layer %u has no such setting to change"), index + 1);
      return FALSE;
    }

  KilnLayerSpec edited = *kiln_net_spec_get_layer (self->spec, index);
  switch (param)
    {
    case KILN_CALC_PARAM_OUTPUTS:
      edited.num_output = value;
      break;
    case KILN_CALC_PARAM_KERNEL:
      edited.kernel_h = edited.kernel_w = value;
      break;
    case KILN_CALC_PARAM_STRIDE:
      edited.stride_h = edited.stride_w = value;
      break;
    case KILN_CALC_PARAM_PAD:
      edited.pad_top = edited.pad_left = edited.pad_bottom = edited.pad_right = value;
      break;
    case KILN_CALC_PARAM_TYPE:
      if (!is_pool ((KilnLayerType) value))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: a pooling layer can only become max or average pooling"), edited.name);
          return FALSE;
        }
      edited.type = value;
      break;
    case KILN_CALC_PARAM_ROUNDING:
      if (value != KILN_ROUND_FLOOR && value != KILN_ROUND_CEIL)
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: pooling rounds down (floor) or up (ceil)"), edited.name);
          return FALSE;
        }
      edited.rounding = value;
      break;
    default:
      g_assert_not_reached ();
    }
  return commit_layer (self, index, &edited, error);
}

gboolean
kiln_net_calc_apply_fix (KilnNetCalc       *self,
                         const KilnCalcFix *fix,
                         GError           **error)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), FALSE);
  g_return_val_if_fail (fix != NULL, FALSE);

  if (fix->kind == KILN_CALC_FIX_INPUT)
    {
      kiln_net_calc_set_input (self, self->spec->channels, fix->height, fix->width);
      return TRUE;
    }
  if (fix->layer >= self->spec->layers->len || !is_window (kiln_net_spec_get_layer (self->spec, fix->layer)->type))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("The fix “%s” is for a layer this net does not have"), fix->label ? fix->label : "");
      return FALSE;
    }

  KilnLayerSpec edited = *kiln_net_spec_get_layer (self->spec, fix->layer);
  if (fix->kind == KILN_CALC_FIX_PAD)
    {
      edited.pad_top = fix->pad_top;
      edited.pad_left = fix->pad_left;
      edited.pad_bottom = fix->pad_bottom;
      edited.pad_right = fix->pad_right;
    }
  else
    {
      edited.stride_h = fix->stride_h;
      edited.stride_w = fix->stride_w;
    }
  return commit_layer (self, fix->layer, &edited, error);
}

KilnCalcRow *
kiln_net_calc_get_row (KilnNetCalc *self,
                       guint        index)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), NULL);

  if (index >= self->rows->len)
    return NULL;
  return self->rows->pdata[index];
}

gboolean
kiln_net_calc_is_whole (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), FALSE);

  for (guint i = 0; i < self->rows->len; i++)
    if (kiln_calc_row_get_fit (self->rows->pdata[i]) != KILN_CALC_FIT_WHOLE)
      return FALSE;
  return self->main.error == NULL;
}

int
kiln_net_calc_get_first_problem (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), -1);
  return self->main.first_problem;
}

const char *
kiln_net_calc_get_error (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), NULL);
  return self->main.error;
}

const char *
kiln_net_calc_get_downstream (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), NULL);
  return self->main.downstream;
}

static gint64
sum_rows (KilnNetCalc *self,
          gint64     (*get) (KilnCalcRow *))
{
  gint64 total = 0;

  for (guint i = 0; i < self->rows->len; i++)
    if (kiln_calc_row_has_output (self->rows->pdata[i]))
      total += get (self->rows->pdata[i]);
  return total;
}

gint64
kiln_net_calc_get_total_params (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), 0);
  return sum_rows (self, kiln_calc_row_get_params);
}

gint64
kiln_net_calc_get_total_macs (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), 0);
  return sum_rows (self, kiln_calc_row_get_macs);
}

gint64
kiln_net_calc_get_total_activation_bytes (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), 0);
  return sum_rows (self, kiln_calc_row_get_activation_bytes);
}

guint
kiln_net_calc_get_n_changed (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), 0);
  return self->n_changed;
}

const char *
kiln_net_calc_get_compare_error (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), NULL);
  return self->other.error;
}

const char *
kiln_net_calc_get_compare_downstream (KilnNetCalc *self)
{
  g_return_val_if_fail (KILN_IS_NET_CALC (self), NULL);
  return self->other.downstream;
}

/* GListModel */

static GType
list_get_item_type (GListModel *model)
{
  return KILN_TYPE_CALC_ROW;
}

static guint
list_get_n_items (GListModel *model)
{
  return KILN_NET_CALC (model)->rows->len;
}

static gpointer
list_get_item (GListModel *model,
               guint       position)
{
  KilnNetCalc *self = KILN_NET_CALC (model);

  if (position >= self->rows->len)
    return NULL;
  return g_object_ref (self->rows->pdata[position]);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = list_get_item_type;
  iface->get_n_items = list_get_n_items;
  iface->get_item = list_get_item;
}

static void
kiln_net_calc_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  KilnNetCalc *self = KILN_NET_CALC (object);

  switch (prop_id)
    {
    case PROP_SPEC:
      kiln_net_calc_set_spec (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_net_calc_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  KilnNetCalc *self = KILN_NET_CALC (object);

  switch (prop_id)
    {
    case PROP_SPEC:
      g_value_set_object (value, self->spec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_net_calc_finalize (GObject *object)
{
  KilnNetCalc *self = KILN_NET_CALC (object);

  g_clear_object (&self->spec);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  summary_clear (&self->main);
  summary_clear (&self->other);
  G_OBJECT_CLASS (kiln_net_calc_parent_class)->finalize (object);
}

static void
kiln_net_calc_class_init (KilnNetCalcClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_net_calc_finalize;
  object_class->set_property = kiln_net_calc_set_property;
  object_class->get_property = kiln_net_calc_get_property;

  properties[PROP_SPEC] =
    g_param_spec_object ("spec", NULL, NULL, KILN_TYPE_NET_SPEC,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* After every recomputation: rows, totals, errors and compare results. */
  signals[SIGNAL_UPDATED] =
    g_signal_new ("updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
kiln_net_calc_init (KilnNetCalc *self)
{
  self->rows = g_ptr_array_new_with_free_func (g_object_unref);
  self->main.first_problem = -1;
  self->other.first_problem = -1;
}
