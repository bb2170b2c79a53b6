/* kiln-onnx-import-pad.c: explicit Pad nodes. PyTorch exports asymmetric
 * padding (nn.ZeroPad2d, F.pad, TF-style "same") as a Pad before the Conv or
 * pooling. Padding of H and W waits on the Pad's output value, and the Conv
 * or pooling that reads it adds it to its own (begin/end per axis) pads where
 * that computes the same thing, which saves a layer and a copy:
 *
 *   Conv          zeros (a convolution pads with zeros)
 *   AveragePool   zeros, counted in the average (count_include_pad), so the
 *                 pool's own pads must be counted too or absent
 *   MaxPool       −inf, or zeros (any value ≤ 0) after a ReLU: padding that
 *                 cannot win the max, which is what max pooling's pads are
 *
 * Anything else that reads it (another value or mode, another op, the graph
 * output) gets a Pad layer. Padding N or C and negative pads (cropping) are
 * refused naming the Pad node. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-onnx-import-private.h"
#include "kiln-window.h"

const Value *
kiln_import_add_pad_layer (Import *ctx, const char *name, GError **error)
{
  Value *value = g_hash_table_lookup (ctx->values, name);
  const KilnOnnxNode *pad_node = value->pad_node;
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *layer_name = kiln_import_layer_name (ctx, pad_node);
  g_autofree char *source = g_strdup (value->layer);
  Value unpadded = { .layer = source, .rank = value->rank, .matmul_layer = -1 };
  const Value *inputs[] = { &unpadded };
  const char *pad_output = kiln_onnx_node_get_output (pad_node, 0);

  kiln_layer_spec_init (&layer, KILN_LAYER_PAD, layer_name);
  layer.pad_top = value->pad[0];
  layer.pad_left = value->pad[1];
  layer.pad_bottom = value->pad[2];
  layer.pad_right = value->pad[3];
  layer.pad_mode = value->pad_mode;
  layer.pad_value = value->pad_mode == KILN_PAD_CONSTANT ? value->pad_value : 0.0f;
  if (!isfinite (layer.pad_value))
    {
      kiln_import_node_error (ctx, pad_node, error, KILN_ERROR_UNSUPPORTED,
                              _("pads with %g, which only a MaxPool right after it can take; Kiln's Pad layer "
                              "pads with finite values"), layer.pad_value);
      return NULL;
    }
  /* Replaces the Pad node's output value (maybe @value itself). */
  if (kiln_import_add_layer (ctx, pad_node, &layer, inputs, 1, unpadded.rank, error) < 0)
    return NULL;
  const Value *padded = g_hash_table_lookup (ctx->values, pad_output);
  if (!g_str_equal (name, pad_output))
    kiln_import_alias_value (ctx, name, padded, FALSE);
  return g_hash_table_lookup (ctx->values, name);
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
  g_autofree char *mode_name = NULL;
  g_autofree char *list = NULL;
  const gint64 *pads = NULL;
  gsize n_pads = 0;
  const Value *input;
  float pad_value;
  KilnPadMode mode = KILN_PAD_CONSTANT;
  int spatial[4] = { 0, 0, 0, 0 };

  if (!kiln_import_check_attributes (ctx, node, ctx->opset < 11 ? known_old : known_new, error) ||
      !kiln_onnx_node_get_string (node, "mode", &mode_name, error) ||
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
  if (mode_name != NULL && !kiln_pad_mode_from_string (mode_name, &mode))
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("pads [%s] in mode %s; Kiln pads in constant, edge and reflect modes"),
                                   list, mode_name);
  for (int axis = 0; axis < input->rank; axis++)
    {
      gint64 begin = pads[axis], end = pads[axis + input->rank];
      if (begin < 0 || end < 0)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("pads [%s] crop (negative pads); Kiln's Pad layer only adds"), list);
      if (axis < 2 && (begin || end))
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("pads [%s] pad the %s axis; Kiln pads the spatial axes only"),
                                       list, axis == 0 ? _("batch") : _("channel"));
      /* Axes 2 and 3 are H and W; an N×C×L value has only H. */
      if (axis >= 2 &&
          (!kiln_import_to_int (ctx, node, "pads", begin, 0, &spatial[axis - 2], error) ||
           !kiln_import_to_int (ctx, node, "pads", end, 0, &spatial[axis], error)))
        return FALSE;
    }

  /* A constant Pad of a constant Pad with the same value is one padding;
   * otherwise the first becomes a layer and this one waits on its output. */
  if (input->pad_node &&
      !(mode == KILN_PAD_CONSTANT && input->pad_mode == KILN_PAD_CONSTANT && input->pad_value == pad_value))
    {
      if ((input = kiln_import_add_pad_layer (ctx, kiln_onnx_node_get_input (node, 0), error)) == NULL)
        return FALSE;
    }
  int total[4];
  for (int i = 0; i < 4; i++)
    {
      int before = input->pad_node ? input->pad[i] : 0;
      if (spatial[i] > G_MAXINT / 2 - before)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                       _("pads [%s] with the Pad before it are out of range"), list);
      total[i] = before + spatial[i];
    }

  const char *output = kiln_onnx_node_get_output (node, 0);
  kiln_import_alias_value (ctx, output, input, FALSE);
  Value *padded = g_hash_table_lookup (ctx->values, output);
  padded->pad_node = node;
  memcpy (padded->pad, total, sizeof total);
  padded->pad_mode = mode;
  padded->pad_value = mode == KILN_PAD_CONSTANT ? pad_value : 0.0f;
  return TRUE;
}

/* Whether the value is ≥ 0 everywhere: a ReLU's output. */
static gboolean
is_non_negative (Import *ctx, const Value *value)
{
  int index = kiln_net_spec_find_layer (ctx->spec, value->layer);

  return index >= 0 && kiln_net_spec_get_layer (ctx->spec, index)->type == KILN_LAYER_RELU;
}

/* Ceil pooling: Kiln drops a last window that starts in the end padding,
 * and the Pad's padding is input to the pool in ONNX, so folding may change
 * the output size. */
static gboolean
ceil_changes_size (Import *ctx, const KilnOnnxNode *node, const Value *input, const KilnLayerSpec *layer,
                   gboolean *changes, GError **error)
{
  int c, h, w;

  *changes = FALSE;
  if (!kiln_import_value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  const int n[2] = { h, w }, k[2] = { layer->kernel_h, layer->kernel_w };
  const int s[2] = { layer->stride_h, layer->stride_w };
  const int own0[2] = { layer->pad_top, layer->pad_left }, own1[2] = { layer->pad_bottom, layer->pad_right };
  for (int i = 0; i < 2; i++)
    {
      int p0 = input->pad[i], p1 = input->pad[i + 2];
      KilnWindowExtent folded, padded;
      if (kiln_window_extent (n[i], k[i], s[i], 1, own0[i] + p0, own1[i] + p1, KILN_ROUND_CEIL, &folded) &&
          kiln_window_extent (n[i] + p0 + p1, k[i], s[i], 1, own0[i], own1[i], KILN_ROUND_CEIL, &padded) &&
          folded.size != padded.size)
        *changes = TRUE;
    }
  return TRUE;
}

/* Why @input's Pad cannot join @layer's own pads, or NULL when it can. */
static const char *
fold_refusal (Import *ctx, const KilnOnnxNode *node, const Value *input, const KilnLayerSpec *layer,
              GError **error, gboolean *failed)
{
  const int *p = input->pad;
  gboolean own_pads = layer->pad_top || layer->pad_left || layer->pad_bottom || layer->pad_right;

  *failed = FALSE;
  if (input->pad_mode != KILN_PAD_CONSTANT)
    return "not constant";
  switch (layer->type)
    {
    case KILN_LAYER_CONVOLUTION:
      if (input->pad_value != 0.0f)
        return "a convolution pads with zeros";
      break;
    case KILN_LAYER_AVG_POOL:
      if (input->pad_value != 0.0f)
        return "average pooling pads with zeros";
      if (own_pads && !layer->count_include_pad)
        return "the pool's own pads are not counted";
      break;
    case KILN_LAYER_MAX_POOL:
      if (!(input->pad_value == -INFINITY || (input->pad_value <= 0.0f && is_non_negative (ctx, input))))
        return "the padding could win the max";
      break;
    default:
      g_assert_not_reached ();
    }
  if (layer->type != KILN_LAYER_CONVOLUTION)
    {
      if (MAX (layer->pad_top + p[0], layer->pad_bottom + p[2]) >= layer->kernel_h ||
          MAX (layer->pad_left + p[1], layer->pad_right + p[3]) >= layer->kernel_w)
        return "some windows would see only padding";
      if (layer->rounding == KILN_ROUND_CEIL)
        {
          gboolean changes;
          if (!ceil_changes_size (ctx, node, input, layer, &changes, error))
            {
              *failed = TRUE;
              return "";
            }
          if (changes)
            return "ceil pooling would drop a window that starts in the padding";
        }
    }
  if (layer->pad_top > G_MAXINT / 2 - p[0] || layer->pad_left > G_MAXINT / 2 - p[1] ||
      layer->pad_bottom > G_MAXINT / 2 - p[2] || layer->pad_right > G_MAXINT / 2 - p[3])
    return "the pads are out of range";
  return NULL;
}

gboolean
kiln_import_fold_pad (Import *ctx, const KilnOnnxNode *node, const Value **input, KilnLayerSpec *layer,
                      GError **error)
{
  const Value *value = *input;
  const char *refusal;
  gboolean failed;

  if (value->pad_node == NULL)
    return TRUE;
  refusal = fold_refusal (ctx, node, value, layer, error, &failed);
  if (failed)
    return FALSE;
  if (refusal != NULL)
    {
      g_debug ("%s: Pad node “%s” stays a layer before “%s”: %s", ctx->where,
               kiln_onnx_node_get_label (value->pad_node), kiln_onnx_node_get_label (node), refusal);
      *input = kiln_import_add_pad_layer (ctx, kiln_onnx_node_get_input (node, 0), error);
      return *input != NULL;
    }
  if (layer->type == KILN_LAYER_AVG_POOL)
    layer->count_include_pad = TRUE;
  layer->pad_top += value->pad[0];
  layer->pad_left += value->pad[1];
  layer->pad_bottom += value->pad[2];
  layer->pad_right += value->pad[3];
  return TRUE;
}
