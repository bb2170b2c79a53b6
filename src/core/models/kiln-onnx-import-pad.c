/* kiln-onnx-import-pad.c: explicit Pad nodes. PyTorch exports asymmetric
 * padding (nn.ZeroPad2d, F.pad, TF-style "same") as a Pad before the Conv or
 * pooling. Kiln has no Pad layer; constant padding of H and W waits on the
 * Pad's output value, and the Conv or pooling that reads it adds it to its
 * own (begin/end per axis) pads where that computes the same thing:
 *
 *   Conv          zeros (a convolution pads with zeros)
 *   AveragePool   zeros, counted in the average (count_include_pad), so the
 *                 pool's own pads must be counted too or absent
 *   MaxPool       −inf, or zeros (any value ≤ 0) after a ReLU: padding that
 *                 cannot win the max, which is what max pooling's pads are
 *
 * Anything else (another value or mode, another reader, padding N or C) is
 * refused naming the Pad node. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-onnx-import-private.h"
#include "kiln-window.h"

/* "constant padding (top 0, left 1, bottom 1, right 2; value 0)". */
static char *
describe_pad (const Value *value)
{
  const int *p = value->pad;

  if (value->rank == 3)
    return g_strdup_printf (_("constant padding (%d before, %d after; value %g)"), p[0], p[2], value->pad_value);
  return g_strdup_printf (_("constant padding (top %d, left %d, bottom %d, right %d; value %g)"),
                          p[0], p[1], p[2], p[3], value->pad_value);
}

gboolean
kiln_import_pad_error (Import *ctx, const Value *value, const KilnOnnxNode *reader, GError **error)
{
  g_autofree char *pads = describe_pad (value);

  if (reader == NULL)
    return kiln_import_node_error (ctx, value->pad_node, error, KILN_ERROR_UNSUPPORTED,
                                   _("its %s is the graph output; Kiln has no Pad layer: it folds a constant Pad "
                                   "only into the Conv, AveragePool or MaxPool that reads it"), pads);
  return kiln_import_node_error (ctx, value->pad_node, error, KILN_ERROR_UNSUPPORTED,
                                 _("its %s feeds the %s node “%s”; Kiln has no Pad layer: it folds a constant Pad "
                                 "only into the Conv, AveragePool or MaxPool that reads it"), pads,
                                 kiln_onnx_node_get_op_type (reader), kiln_onnx_node_get_label (reader));
}

/* "0, 0, 0, 1, 0, 0, 1, 2": the pads as the model writes them. */
static char *
format_pads (const gint64 *pads, gsize n_pads)
{
  GString *list = g_string_new (NULL);

  for (gsize i = 0; i < n_pads; i++)
    g_string_append_printf (list, "%s%" G_GINT64_FORMAT, i ? ", " : "", pads[i]);
  return g_string_free (list, FALSE);
}

/* The padding value: the attribute before opset 11, then an optional scalar
 * input. */
static gboolean
get_pad_value (Import *ctx, const KilnOnnxNode *node, float *value, GError **error)
{
  g_autoptr(KilnOnnxTensor) constant = NULL;

  *value = 0.0f;
  if (ctx->opset < 11)
    return kiln_onnx_node_get_float (node, "value", value, error);
  if (!kiln_import_has_input (node, 2))
    return TRUE;
  if ((constant = kiln_import_get_constant (ctx, node, 2, "constant_value", error)) == NULL)
    return FALSE;
  if (constant->n_elements != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("the constant_value has %zu values; it must be a scalar"),
                                   constant->n_elements);
  *value = constant->data[0];
  return TRUE;
}

gboolean
kiln_import_pad (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known_old[] = { "mode", "pads", "value", NULL };
  static const char *const known_new[] = { "mode", NULL };
  g_autoptr(KilnOnnxTensor) pads_input = NULL;
  g_autofree char *mode = NULL;
  g_autofree char *list = NULL;
  const gint64 *pads = NULL;
  gsize n_pads = 0;
  const Value *input;
  float pad_value;
  int spatial[4] = { 0, 0, 0, 0 };

  if (!kiln_import_check_attributes (ctx, node, ctx->opset < 11 ? known_old : known_new, error) ||
      !kiln_onnx_node_get_string (node, "mode", &mode, error) ||
      (input = kiln_import_get_value_maybe_padded (ctx, node, 0, error)) == NULL ||
      !get_pad_value (ctx, node, &pad_value, error))
    return FALSE;
  if (ctx->opset < 11)
    {
      if (!kiln_onnx_node_get_ints (node, "pads", &pads, &n_pads, error))
        return FALSE;
    }
  else
    {
      if (kiln_onnx_node_get_n_inputs (node) > 3)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("has %u inputs; Kiln reads data, pads and constant_value"),
                                       kiln_onnx_node_get_n_inputs (node));
      if ((pads_input = kiln_import_get_int64_vector (ctx, node, 1, "pads", error)) == NULL)
        return FALSE;
      pads = pads_input->int64_data;
      n_pads = pads_input->n_elements;
    }
  if (pads == NULL || n_pads != 2 * (gsize) input->rank)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("pads has %zu values for a %d-D input (2 per axis)"),
                                   n_pads, input->rank);

  gboolean adds_nothing = TRUE;
  for (gsize i = 0; i < n_pads; i++)
    adds_nothing = adds_nothing && pads[i] == 0;
  if (adds_nothing)
    {
      kiln_import_alias_value (ctx, kiln_onnx_node_get_output (node, 0), input, FALSE);
      return TRUE;
    }

  list = format_pads (pads, n_pads);
  if (mode != NULL && !g_str_equal (mode, "constant"))
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("pads [%s] in mode %s; Kiln has no Pad layer, and only constant padding folds "
                                   "into the Conv or pooling after it"), list, mode);
  for (int axis = 0; axis < input->rank; axis++)
    {
      gint64 begin = pads[axis], end = pads[axis + input->rank];
      if (begin < 0 || end < 0)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("pads [%s] crop (negative pads); Kiln has no Pad layer to crop with"), list);
      if (axis < 2 && (begin || end))
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("pads [%s] pad the %s axis; Kiln folds padding of the spatial axes only"),
                                       list, axis == 0 ? _("batch") : _("channel"));
      /* Axes 2 and 3 are H and W; an N×C×L value has only H. */
      if (axis >= 2 &&
          (!kiln_import_to_int (ctx, node, "pads", begin, 0, &spatial[axis - 2], error) ||
           !kiln_import_to_int (ctx, node, "pads", end, 0, &spatial[axis], error)))
        return FALSE;
    }

  /* A Pad of a Pad: one padding, if they pad with the same value. */
  int total[4];
  for (int i = 0; i < 4; i++)
    {
      int before = input->pad_node ? input->pad[i] : 0;
      if (spatial[i] > G_MAXINT / 2 - before)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                       _("pads [%s] with the Pad before it are out of range"), list);
      total[i] = before + spatial[i];
    }
  if (input->pad_node && !(input->pad_value == pad_value))
    {
      g_autofree char *before = describe_pad (input);
      return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                     _("pads [%s] with value %g after the Pad node “%s” and its %s; Kiln folds one "
                                     "padding value"), list, pad_value, kiln_onnx_node_get_label (input->pad_node),
                                     before);
    }

  const char *output = kiln_onnx_node_get_output (node, 0);
  kiln_import_alias_value (ctx, output, input, FALSE);
  Value *padded = g_hash_table_lookup (ctx->values, output);
  padded->pad_node = node;
  memcpy (padded->pad, total, sizeof total);
  padded->pad_value = pad_value;
  return TRUE;
}

G_GNUC_PRINTF (5, 6)
static gboolean
fold_error (Import             *ctx,
            const KilnOnnxNode *node,
            const Value        *input,
            GError            **error,
            const char         *format,
            ...)
{
  g_autofree char *pads = describe_pad (input);
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  return kiln_import_node_error (ctx, input->pad_node, error, KILN_ERROR_UNSUPPORTED,
                                 _("its %s before the %s node “%s”: %s"), pads,
                                 kiln_onnx_node_get_op_type (node), kiln_onnx_node_get_label (node), reason);
}

/* Whether the value is ≥ 0 everywhere: a ReLU's output. */
static gboolean
is_non_negative (Import *ctx, const Value *value)
{
  int index = kiln_net_spec_find_layer (ctx->spec, value->layer);

  return index >= 0 && kiln_net_spec_get_layer (ctx->spec, index)->type == KILN_LAYER_RELU;
}

/* Ceil pooling: Kiln drops a last window that starts in the end padding,
 * and the Pad's padding is input to the pool in ONNX. Folding must not
 * change the output size. */
static gboolean
check_ceil (Import *ctx, const KilnOnnxNode *node, const Value *input, const KilnLayerSpec *layer, GError **error)
{
  int c, h, w;

  if (layer->rounding != KILN_ROUND_CEIL)
    return TRUE;
  if (!kiln_import_value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  const int n[2] = { h, w }, k[2] = { layer->kernel_h, layer->kernel_w };
  const int s[2] = { layer->stride_h, layer->stride_w };
  const int own0[2] = { layer->pad_top, layer->pad_left }, own1[2] = { layer->pad_bottom, layer->pad_right };
  for (int i = 0; i < 2; i++)
    {
      int p0 = input->pad[i], p1 = input->pad[i + 2];
      KilnWindowExtent folded, padded;
      gboolean fits = kiln_window_extent (n[i], k[i], s[i], 1, own0[i] + p0, own1[i] + p1, KILN_ROUND_CEIL, &folded);
      if (fits && kiln_window_extent (n[i] + p0 + p1, k[i], s[i], 1, own0[i], own1[i], KILN_ROUND_CEIL, &padded) &&
          folded.size != padded.size)
        return fold_error (ctx, node, input, error,
                           _("with ceil_mode its last window would start in the padding, which Kiln drops; "
                           "re-export with ceil_mode 0"));
    }
  return TRUE;
}

gboolean
kiln_import_fold_pad (Import *ctx, const KilnOnnxNode *node, const Value *input, KilnLayerSpec *layer,
                      GError **error)
{
  const int *p = input->pad;
  gboolean own_pads = layer->pad_top || layer->pad_left || layer->pad_bottom || layer->pad_right;

  if (input->pad_node == NULL)
    return TRUE;
  switch (layer->type)
    {
    case KILN_LAYER_CONVOLUTION:
      if (input->pad_value != 0.0f)
        return fold_error (ctx, node, input, error,
                           _("a convolution pads with zeros; Kiln has no Pad layer for other values"));
      break;

    case KILN_LAYER_AVG_POOL:
      if (input->pad_value != 0.0f)
        return fold_error (ctx, node, input, error,
                           _("average pooling pads with zeros; Kiln has no Pad layer for other values"));
      if (own_pads && !layer->count_include_pad)
        return fold_error (ctx, node, input, error,
                           _("the Pad's zeros count in the average but the pool's own pads do not "
                           "(count_include_pad 0); Kiln's pooling counts all of its pads or none"));
      layer->count_include_pad = TRUE;
      break;

    case KILN_LAYER_MAX_POOL:
      if (!(input->pad_value == -INFINITY || (input->pad_value <= 0.0f && is_non_negative (ctx, input))))
        return fold_error (ctx, node, input, error,
                           _("the padding could win the max of an input that is not a ReLU's output; Kiln's "
                           "max pooling pads with −inf"));
      break;

    default:
      g_assert_not_reached ();
    }

  if (layer->type != KILN_LAYER_CONVOLUTION)
    {
      if (MAX (layer->pad_top + p[0], layer->pad_bottom + p[2]) >= layer->kernel_h ||
          MAX (layer->pad_left + p[1], layer->pad_right + p[3]) >= layer->kernel_w)
        return fold_error (ctx, node, input, error,
                           _("some %d×%d windows would see only padding, which Kiln's pooling does not compute"),
                           layer->kernel_h, layer->kernel_w);
      if (!check_ceil (ctx, node, input, layer, error))
        return FALSE;
    }
  if (layer->pad_top > G_MAXINT / 2 - p[0] || layer->pad_left > G_MAXINT / 2 - p[1] ||
      layer->pad_bottom > G_MAXINT / 2 - p[2] || layer->pad_right > G_MAXINT / 2 - p[3])
    return fold_error (ctx, node, input, error, _("the pads are out of range"));
  layer->pad_top += p[0];
  layer->pad_left += p[1];
  layer->pad_bottom += p[2];
  layer->pad_right += p[3];
  return TRUE;
}
