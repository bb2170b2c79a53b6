/* kiln-netspec-shapes.c: what a KilnNetSpec computes from its input size:
 * each layer's output shape (the window arithmetic is kiln-window.c's),
 * parameter and multiply-add counts, the calculator's errors with the
 * arithmetic and the input sizes that would work, and the report of what a
 * new input size changes. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>

#include "kiln-engine-error.h"
#include "kiln-netspec-private.h"
#include "kiln-window.h"

/* How far from the requested input size to look for one that works. */
#define SUGGEST_RANGE 256

/* ---- Shape inference ---------------------------------------------------- */

/* Why a layer failed, kept apart so suggestions can be added afterwards. */
typedef struct {
  int code;
  char *message;
  char *local_fix;         /* "pad top 1 and bottom 2, or stride 3" */
  gboolean size_dependent; /* another input size might work */
  int side;                /* KILN_SIDE_HEIGHT, KILN_SIDE_WIDTH or 0 */
} Failure;

static void
failure_clear (Failure *failure)
{
  g_clear_pointer (&failure->message, g_free);
  g_clear_pointer (&failure->local_fix, g_free);
}

G_GNUC_PRINTF (4, 5)
static gboolean
fail (Failure    *failure,
      int         code,
      gboolean    size_dependent,
      const char *format,
      ...)
{
  va_list args;

  if (failure == NULL)
    return FALSE;
  va_start (args, format);
  g_free (failure->message);
  failure->message = g_strdup_vprintf (format, args);
  va_end (args);
  failure->code = code;
  failure->size_dependent = size_dependent;
  return FALSE;
}

static gboolean
checked_mul (gint64 a, gint64 b, gint64 *out)
{
  return !__builtin_mul_overflow (a, b, out);
}

typedef struct {
  const char *layer;
  gboolean is_height;
  int n, kernel, stride, pad_a, pad_b, dilation;
} Window;

/* One spatial side of a convolution. */
static gboolean
conv_side (const Window *win,
           gboolean      exact_fit,
           int          *out,
           Failure      *failure)
{
  if (failure)
    failure->side = win->is_height ? KILN_SIDE_HEIGHT : KILN_SIDE_WIDTH;
  KilnWindowExtent e;
  gboolean fits = kiln_window_extent (win->n, win->kernel, win->stride, win->dilation,
                                      win->pad_a, win->pad_b, KILN_ROUND_FLOOR, &e);
  gint64 num = e.numerator;
  g_autofree char *arith = kiln_window_format (win->n, win->pad_a, win->pad_b, (int) e.span, win->stride);

  if (!fits)
    return fail (failure, KILN_ENGINE_ERROR_SHAPE, TRUE,
                 _("%s: the %s window (%d) is wider than the padded input: %s < 1"),
                 win->layer, win->is_height ? _("vertical") : _("horizontal"),
                 (int) e.span, arith);
  if (exact_fit && !e.whole)
    {
      g_autofree char *value = kiln_window_format_value (num, win->stride);
      const char *a = win->is_height ? _("top") : _("left");
      const char *b = win->is_height ? _("bottom") : _("right");
      GString *fix = g_string_new (NULL);
      KilnWindowFix wf;

      kiln_window_suggest_fix (&e, win->stride, win->pad_a, win->pad_b, &wf);
      if (wf.pad_before == wf.pad_after)
        g_string_append_printf (fix, _("pad %d"), wf.pad_before);
      else
        g_string_append_printf (fix, _("pad %s %d and %s %d"), a, wf.pad_before, b, wf.pad_after);
      if (wf.stride != 0)
        g_string_append_printf (fix, _(", or stride %d"), wf.stride);
      if (failure)
        {
          g_free (failure->local_fix);
          failure->local_fix = g_string_free (fix, FALSE);
        }
      else
        g_string_free (fix, TRUE);
      return fail (failure, KILN_ENGINE_ERROR_SHAPE, TRUE,
                   _("%s: %s = %s is not a whole number"), win->layer, arith, value);
    }
  *out = (int) e.size;
  return TRUE;
}

/* One spatial side of a pooling window, floor or Caffe's ceil. */
static gboolean
pool_side (const Window *win,
           KilnRounding  rounding,
           int          *out,
           Failure      *failure)
{
  if (failure)
    failure->side = win->is_height ? KILN_SIDE_HEIGHT : KILN_SIDE_WIDTH;
  KilnWindowExtent e;
  gboolean fits = kiln_window_extent (win->n, win->kernel, win->stride, win->dilation,
                                      win->pad_a, win->pad_b, rounding, &e);
  g_autofree char *arith = kiln_window_format (win->n, win->pad_a, win->pad_b, win->kernel, win->stride);

  if (!fits)
    return fail (failure, KILN_ENGINE_ERROR_SHAPE, TRUE,
                 _("%s: the %d-wide window is wider than the padded input: %s < 1"),
                 win->layer, win->kernel, arith);
  *out = (int) e.size;
  return TRUE;
}

static gboolean
check_same_hw (const KilnLayerSpec *layer,
               GArray              *inputs,
               const KilnLayerShape *in[],
               gboolean             same_channels,
               Failure             *failure)
{
  for (guint i = 1; i < inputs->len; i++)
    {
      if (in[i]->h == in[0]->h && in[i]->w == in[0]->w
          && (!same_channels || in[i]->c == in[0]->c))
        continue;
      return fail (failure, KILN_ENGINE_ERROR_SHAPE, TRUE,
                   same_channels
                     ? _("%s: input %u is %d×%d×%d but input 1 is %d×%d×%d; %s needs equal shapes")
                     : _("%s: input %u is %d×%d×%d but input 1 is %d×%d×%d; %s needs equal heights and widths"),
                   layer->name, i + 1, in[i]->c, in[i]->h, in[i]->w,
                   in[0]->c, in[0]->h, in[0]->w, kiln_layer_type_to_string (layer->type));
    }
  return TRUE;
}

static gboolean
infer_layer (KilnNetSpec          *self,
             guint                 index,
             const KilnLayerShape *input_shape,
             GArray               *shapes,
             Failure              *failure)
{
  const KilnLayerSpec *layer = g_ptr_array_index (self->layers, index);
  KilnLayerShape *out = &g_array_index (shapes, KilnLayerShape, index);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) inputs = NULL;
  const KilnLayerShape *in[64];
  gint64 elements, fan_in;
  gboolean multi = layer->type == KILN_LAYER_CONCAT || layer->type == KILN_LAYER_ADD;

  memset (out, 0, sizeof *out);
  if (failure)
    failure->side = 0;
  if (!kiln_net_spec_validate_layer (layer, &error))
    return fail (failure, error->code, FALSE, "%s", error->message);
  inputs = kiln_net_spec_resolve_inputs (self, index, &error);
  if (inputs == NULL)
    return fail (failure, error->code, FALSE, "%s", error->message);
  if (inputs->len > G_N_ELEMENTS (in))
    return fail (failure, KILN_ENGINE_ERROR_UNSUPPORTED, FALSE,
                 _("%s: %u inputs; at most %u are supported"),
                 layer->name, inputs->len, (guint) G_N_ELEMENTS (in));
  if (!multi && inputs->len != 1)
    return fail (failure, KILN_ENGINE_ERROR_INVALID_ARGUMENT, FALSE,
                 _("%s: %s takes one input, not %u"),
                 layer->name, kiln_layer_type_to_string (layer->type), inputs->len);
  for (guint i = 0; i < inputs->len; i++)
    {
      int j = g_array_index (inputs, int, i);
      in[i] = j < 0 ? input_shape : &g_array_index (shapes, KilnLayerShape, j);
    }

  out->c = in[0]->c;
  out->h = in[0]->h;
  out->w = in[0]->w;
  elements = (gint64) in[0]->c * in[0]->h * in[0]->w;

  switch (layer->type)
    {
    case KILN_LAYER_CONVOLUTION:
      {
        Window wh = { layer->name, TRUE, in[0]->h, layer->kernel_h, layer->stride_h,
                      layer->pad_top, layer->pad_bottom, layer->dilation_h };
        Window ww = { layer->name, FALSE, in[0]->w, layer->kernel_w, layer->stride_w,
                      layer->pad_left, layer->pad_right, layer->dilation_w };

        if (in[0]->c % layer->group != 0)
          return fail (failure, KILN_ENGINE_ERROR_SHAPE, FALSE,
                       _("%s: %d input channels do not split into %d groups"),
                       layer->name, in[0]->c, layer->group);
        if (!conv_side (&wh, self->exact_fit, &out->h, failure)
            || !conv_side (&ww, self->exact_fit, &out->w, failure))
          return FALSE;
        out->c = layer->num_output;
        fan_in = (gint64) (in[0]->c / layer->group) * layer->kernel_h * layer->kernel_w;
        if (!checked_mul (fan_in, layer->num_output, &out->params)
            || !checked_mul (out->params, (gint64) out->h * out->w, &out->macs))
          return fail (failure, KILN_ENGINE_ERROR_SHAPE, FALSE, _("%s: the layer is too large to count"), layer->name);
        if (layer->bias)
          out->params += layer->num_output;
        break;
      }

    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
      {
        Window wh = { layer->name, TRUE, in[0]->h, layer->kernel_h, layer->stride_h,
                      layer->pad_top, layer->pad_bottom, 1 };
        Window ww = { layer->name, FALSE, in[0]->w, layer->kernel_w, layer->stride_w,
                      layer->pad_left, layer->pad_right, 1 };

        if (!pool_side (&wh, layer->rounding, &out->h, failure)
            || !pool_side (&ww, layer->rounding, &out->w, failure))
          return FALSE;
        if (layer->type == KILN_LAYER_AVG_POOL)
          out->macs = (gint64) out->c * out->h * out->w * layer->kernel_h * layer->kernel_w;
        break;
      }

    case KILN_LAYER_GLOBAL_AVG_POOL:
      out->h = out->w = 1;
      out->macs = elements;
      break;

    case KILN_LAYER_INNER_PRODUCT:
      out->c = layer->num_output;
      out->h = out->w = 1;
      if (!checked_mul (elements, layer->num_output, &out->params))
        return fail (failure, KILN_ENGINE_ERROR_SHAPE, FALSE, _("%s: the layer is too large to count"), layer->name);
      out->macs = out->params;
      if (layer->bias)
        out->params += layer->num_output;
      break;

    case KILN_LAYER_FLATTEN:
      if (elements > G_MAXINT)
        return fail (failure, KILN_ENGINE_ERROR_SHAPE, FALSE,
                     _("%s: %" PRId64 " values do not fit in one axis"), layer->name, elements);
      out->c = (int) elements;
      out->h = out->w = 1;
      break;

    case KILN_LAYER_CONCAT:
      if (!check_same_hw (layer, inputs, in, FALSE, failure))
        return FALSE;
      for (guint i = 1; i < inputs->len; i++)
        out->c += in[i]->c;
      if (out->c > MAX_CHANNELS)
        return fail (failure, KILN_ENGINE_ERROR_SHAPE, FALSE,
                     _("%s: %d channels is more than %d"), layer->name, out->c, MAX_CHANNELS);
      break;

    case KILN_LAYER_ADD:
      if (!check_same_hw (layer, inputs, in, TRUE, failure))
        return FALSE;
      break;

    case KILN_LAYER_LRN:
      out->macs = elements * layer->local_size;
      break;

    case KILN_LAYER_PAD:
      /* Reflect mirrors without repeating the edge, so a pad can reach at
       * most side − 1 values in. */
      if (layer->pad_mode == KILN_PAD_REFLECT
          && (MAX (layer->pad_top, layer->pad_bottom) >= in[0]->h
              || MAX (layer->pad_left, layer->pad_right) >= in[0]->w))
        return fail (failure, KILN_ENGINE_ERROR_SHAPE, TRUE,
                     _("%s: reflect pads (top %d, left %d, bottom %d, right %d) must be smaller than the "
                       "%d×%d input; use smaller pads or edge mode"),
                     layer->name, layer->pad_top, layer->pad_left, layer->pad_bottom, layer->pad_right,
                     in[0]->h, in[0]->w);
      out->h = in[0]->h + layer->pad_top + layer->pad_bottom;
      out->w = in[0]->w + layer->pad_left + layer->pad_right;
      if (out->h > MAX_SPATIAL || out->w > MAX_SPATIAL)
        return fail (failure, KILN_ENGINE_ERROR_SHAPE, TRUE,
                     _("%s: padding %d×%d gives %d×%d, more than %d a side"),
                     layer->name, in[0]->h, in[0]->w, out->h, out->w, MAX_SPATIAL);
      break;

    case KILN_LAYER_BATCH_NORM:
      out->params = 2 * (gint64) out->c;   /* scale and shift; running stats are not learnt */
      out->macs = elements;
      break;

    case KILN_LAYER_RELU:
    case KILN_LAYER_DROPOUT:
    case KILN_LAYER_SOFTMAX:
    case KILN_LAYER_N_TYPES:
    default:
      break;
    }

  out->activation_bytes = (gint64) out->c * out->h * out->w * (gint64) sizeof (float);
  return TRUE;
}

/* Fills @shapes for the layers in order; on failure the first @n_done
 * (when given) are filled and the next one failed. */
static gboolean
infer_all (KilnNetSpec *self,
           int          channels,
           int          height,
           int          width,
           GArray      *shapes,
           guint       *n_done,
           Failure     *failure)
{
  KilnLayerShape input = { channels, height, width, 0, 0, 0 };

  if (n_done)
    *n_done = 0;
  if (!in_range (channels, 1, MAX_CHANNELS) || !in_range (height, 1, MAX_SPATIAL)
      || !in_range (width, 1, MAX_SPATIAL))
    return fail (failure, KILN_ENGINE_ERROR_INVALID_ARGUMENT, FALSE,
                 _("%s: input %d×%d×%d is not usable; channels must be 1 to %d, height and width 1 to %d"),
                 self->name, channels, height, width, MAX_CHANNELS, MAX_SPATIAL);
  if (self->layers->len == 0)
    return fail (failure, KILN_ENGINE_ERROR_INVALID_ARGUMENT, FALSE, _("%s: the net has no layers"), self->name);

  g_array_set_size (shapes, self->layers->len);
  for (guint i = 0; i < self->layers->len; i++)
    {
      if (n_done)
        *n_done = i;
      if (!infer_layer (self, i, &input, shapes, failure))
        return FALSE;
    }
  if (n_done)
    *n_done = self->layers->len;
  return TRUE;
}

gboolean
kiln_net_spec_find_inputs (KilnNetSpec *self,
                           int          side,
                           int          above[2],
                           int          below[2])
{
  g_autoptr(GArray) scratch = g_array_new (FALSE, TRUE, sizeof (KilnLayerShape));
  gboolean square = self->height == self->width;
  gboolean move_h = square || side != KILN_SIDE_WIDTH;
  gboolean move_w = square || side != KILN_SIDE_HEIGHT;
  int *found[2] = { above, below };

  for (int dir = 0; dir < 2; dir++)
    {
      found[dir][0] = found[dir][1] = 0;
      for (int d = 1; d <= SUGGEST_RANGE; d++)
        {
          int delta = dir == 0 ? d : -d;
          int h = self->height + (move_h ? delta : 0);
          int w = self->width + (move_w ? delta : 0);

          if (h < 1 || w < 1)
            break;
          if (infer_all (self, self->channels, h, w, scratch, NULL, NULL))
            {
              found[dir][0] = h;
              found[dir][1] = w;
              break;
            }
        }
    }
  return above[0] > 0 || below[0] > 0;
}

/* "use input 227×227 (or 223×223)", or NULL when no size near works. */
static char *
suggest_inputs (KilnNetSpec *self,
                int          side)
{
  int above[2], below[2];
  g_autofree char *up = NULL, *down = NULL;

  if (!kiln_net_spec_find_inputs (self, side, above, below))
    return NULL;
  up = above[0] > 0 ? g_strdup_printf ("%d×%d", above[0], above[1]) : NULL;
  down = below[0] > 0 ? g_strdup_printf ("%d×%d", below[0], below[1]) : NULL;
  if (up && down)
    return g_strdup_printf (_("use input %s (or %s)"), up, down);
  return g_strdup_printf (_("use input %s"), up ? up : down);
}

gboolean
kiln_net_spec_infer_shapes (KilnNetSpec *self,
                            GError     **error)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), FALSE);

  Failure failure = { 0 };

  self->shapes_valid = FALSE;
  if (infer_all (self, self->channels, self->height, self->width, self->shapes, NULL, &failure))
    {
      self->shapes_valid = TRUE;
      return TRUE;
    }

  g_autofree char *inputs = failure.size_dependent ? suggest_inputs (self, failure.side) : NULL;
  GString *message = g_string_new (failure.message);

  if (inputs && failure.local_fix)
    g_string_append_printf (message, "; %s, or %s", inputs, failure.local_fix);
  else if (inputs || failure.local_fix)
    g_string_append_printf (message, "; %s", inputs ? inputs : failure.local_fix);
  g_set_error_literal (error, KILN_ENGINE_ERROR, failure.code, message->str);
  g_string_free (message, TRUE);
  failure_clear (&failure);
  return FALSE;
}

gboolean
kiln_net_spec_infer_prefix (KilnNetSpec *self,
                            guint       *n_inferred,
                            GError     **error)
{
  Failure failure = { 0 };
  guint n = 0;

  self->shapes_valid = infer_all (self, self->channels, self->height, self->width,
                                  self->shapes, &n, &failure);
  if (n_inferred)
    *n_inferred = n;
  if (!self->shapes_valid)
    g_set_error_literal (error, KILN_ENGINE_ERROR, failure.code, failure.message);
  failure_clear (&failure);
  return self->shapes_valid;
}

const KilnLayerShape *
kiln_net_spec_get_shape (KilnNetSpec *self,
                         guint        index)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), NULL);

  if (!self->shapes_valid || index >= self->shapes->len)
    return NULL;
  return &g_array_index (self->shapes, KilnLayerShape, index);
}

static gint64
sum_shapes (KilnNetSpec *self,
            gsize        offset)
{
  gint64 total = 0;

  if (!self->shapes_valid)
    return 0;
  for (guint i = 0; i < self->shapes->len; i++)
    total += G_STRUCT_MEMBER (gint64, &g_array_index (self->shapes, KilnLayerShape, i), offset);
  return total;
}

gint64
kiln_net_spec_get_total_params (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), 0);
  return sum_shapes (self, G_STRUCT_OFFSET (KilnLayerShape, params));
}

gint64
kiln_net_spec_get_total_macs (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), 0);
  return sum_shapes (self, G_STRUCT_OFFSET (KilnLayerShape, macs));
}

gint64
kiln_net_spec_get_total_activation_bytes (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), 0);
  return sum_shapes (self, G_STRUCT_OFFSET (KilnLayerShape, activation_bytes));
}

/* ---- Resize report ------------------------------------------------------ */

void
kiln_layer_change_free (KilnLayerChange *change)
{
  if (change == NULL)
    return;
  g_free (change->name);
  g_free (change->description);
  g_free (change);
}

/* How many values feed each output of a layer's weights: what must match
 * for trained weights to be reused. */
gint64
kiln_net_spec_fan_in (KilnNetSpec *self,
                      guint        index)
{
  const KilnLayerSpec *layer = g_ptr_array_index (self->layers, index);
  g_autoptr(GArray) inputs = NULL;
  const KilnLayerShape *in;
  KilnLayerShape net_input = { self->channels, self->height, self->width, 0, 0, 0 };
  int j;

  if (!kiln_layer_type_has_weights (layer->type))
    return 0;
  inputs = kiln_net_spec_resolve_inputs (self, index, NULL);
  j = inputs ? g_array_index (inputs, int, 0) : -1;
  in = j < 0 ? &net_input : &g_array_index (self->shapes, KilnLayerShape, j);
  switch (layer->type)
    {
    case KILN_LAYER_CONVOLUTION:
      return (gint64) (in->c / layer->group) * layer->kernel_h * layer->kernel_w;
    case KILN_LAYER_INNER_PRODUCT:
      return (gint64) in->c * in->h * in->w;
    case KILN_LAYER_BATCH_NORM:
      return in->c;
    default:
      return 0;
    }
}

GPtrArray *
kiln_net_spec_compare_input (KilnNetSpec *self,
                             int          channels,
                             int          height,
                             int          width,
                             GError     **error)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), NULL);

  g_autoptr(KilnNetSpec) before = kiln_net_spec_copy (self);
  g_autoptr(KilnNetSpec) after = kiln_net_spec_copy (self);
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_layer_change_free);

  if (!kiln_net_spec_infer_shapes (before, error))
    return NULL;
  kiln_net_spec_set_input (after, channels, height, width);
  if (!kiln_net_spec_infer_shapes (after, error))
    return NULL;

  for (guint i = 0; i < self->layers->len; i++)
    {
      const KilnLayerSpec *layer = g_ptr_array_index (self->layers, i);
      const KilnLayerShape *a = kiln_net_spec_get_shape (before, i);
      const KilnLayerShape *b = kiln_net_spec_get_shape (after, i);
      KilnLayerChange *change = g_new0 (KilnLayerChange, 1);
      gboolean same_output = a->c == b->c && a->h == b->h && a->w == b->w;

      change->index = i;
      change->name = g_strdup (layer->name);
      change->old_c = a->c;
      change->old_h = a->h;
      change->old_w = a->w;
      change->new_c = b->c;
      change->new_h = b->h;
      change->new_w = b->w;
      change->old_fan_in = kiln_net_spec_fan_in (before, i);
      change->new_fan_in = kiln_net_spec_fan_in (after, i);
      change->old_params = a->params;
      change->new_params = b->params;
      change->weights_change = change->old_fan_in != change->new_fan_in || a->params != b->params;

      if (change->weights_change)
        change->description = g_strdup_printf (_("%s: inputs %" PRId64 " → %" PRId64
                                                 "; weights must be re-initialised"),
                                               layer->name, change->old_fan_in, change->new_fan_in);
      else if (kiln_layer_type_has_weights (layer->type) && same_output)
        change->description = g_strdup_printf (_("%s: weights kept; output %d×%d×%d unchanged"),
                                               layer->name, a->c, a->h, a->w);
      else if (kiln_layer_type_has_weights (layer->type))
        change->description = g_strdup_printf (_("%s: weights kept; output %d×%d×%d → %d×%d×%d"),
                                               layer->name, a->c, a->h, a->w, b->c, b->h, b->w);
      else if (same_output)
        change->description = g_strdup_printf (_("%s: output %d×%d×%d unchanged"),
                                               layer->name, a->c, a->h, a->w);
      else
        change->description = g_strdup_printf (_("%s: output %d×%d×%d → %d×%d×%d"),
                                               layer->name, a->c, a->h, a->w, b->c, b->h, b->w);
      g_ptr_array_add (changes, change);
    }
  return g_steal_pointer (&changes);
}
