/* kiln-onnx-import-context.c: the ONNX importer's toolkit, shared by its
 * converters: errors that name the node, the map from ONNX values to spec
 * layers, constants (initializers and folded values), checks on a node's
 * inputs, outputs and attributes, and adding layers and their weights. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-onnx-import-private.h"

G_GNUC_PRINTF (5, 6)
gboolean
kiln_import_node_error (Import             *ctx,
                        const KilnOnnxNode *node,
                        GError            **error,
                        int                 code,
                        const char         *format,
                        ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, KILN_ERROR, code, _("%s: %s node “%s”: %s"), ctx->where,
               kiln_onnx_node_get_op_type (node), kiln_onnx_node_get_label (node), message);
  return FALSE;
}

void
kiln_import_set_value (Import *ctx, const char *name, const char *layer, int rank, int matmul_layer)
{
  Value *value = g_new0 (Value, 1);

  value->layer = g_strdup (layer);
  value->rank = rank;
  value->matmul_layer = matmul_layer;
  g_hash_table_replace (ctx->values, g_strdup (name), value);
}

/* @name now names @from's activation (an op that changes nothing). */
void
kiln_import_alias_value (Import *ctx, const char *name, const Value *from, gboolean transpose)
{
  /* @from may be the entry @name replaces (a hostile x → x node): copy first. */
  Value copy = *from;
  g_autofree char *layer = g_strdup (from->layer);
  Value *value;

  kiln_import_set_value (ctx, name, layer, copy.rank, -1);
  value = g_hash_table_lookup (ctx->values, name);
  value->transposed = copy.transposed != transpose;
  value->pad_node = copy.pad_node;
  memcpy (value->pad, copy.pad, sizeof value->pad);
  value->pad_mode = copy.pad_mode;
  value->pad_value = copy.pad_value;
}

/* Input `index` of `node` as the graph has computed it, whatever it is. */
static const Value *
lookup_value (Import *ctx, const KilnOnnxNode *node, guint index, GError **error)
{
  const char *name;
  const Value *value;

  if (index >= kiln_onnx_node_get_n_inputs (node) || *(name = kiln_onnx_node_get_input (node, index)) == '\0')
    {
      kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("input %u is missing"), index + 1);
      return NULL;
    }
  value = g_hash_table_lookup (ctx->values, name);
  if (value)
    return value;
  if (g_hash_table_contains (ctx->constants, name) || kiln_onnx_model_has_initializer (ctx->model, name))
    kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                            _("input %s is a constant; Kiln imports this op only on activations"), name);
  else
    kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                            _("input %s is not the graph input or the output of an earlier node"), name);
  return NULL;
}

static gboolean
check_batch_first (Import *ctx, const KilnOnnxNode *node, guint index, const Value *value, GError **error)
{
  if (!value->transposed)
    return TRUE;
  return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                 _("input %s is transposed (the batch on axis 1); Kiln keeps the batch on axis 0, "
                                 "and only a Gemm with transA = 1 may read a transposed value"),
                                 kiln_onnx_node_get_input (node, index));
}

/* The activation behind input `index` of `node`, batch first. */
const Value *
kiln_import_get_value (Import *ctx, const KilnOnnxNode *node, guint index, GError **error)
{
  const Value *value = kiln_import_get_value_maybe_transposed (ctx, node, index, error);

  if (value == NULL || !check_batch_first (ctx, node, index, value, error))
    return NULL;
  return value;
}

const Value *
kiln_import_get_value_maybe_transposed (Import *ctx, const KilnOnnxNode *node, guint index, GError **error)
{
  const Value *value = lookup_value (ctx, node, index, error);

  /* Only a Conv or pooling can fold a waiting Pad; anything else reads it
   * through a Pad layer. */
  if (value != NULL && value->pad_node != NULL)
    return kiln_import_add_pad_layer (ctx, kiln_onnx_node_get_input (node, index), error);
  return value;
}

const Value *
kiln_import_get_value_maybe_padded (Import *ctx, const KilnOnnxNode *node, guint index, GError **error)
{
  const Value *value = lookup_value (ctx, node, index, error);

  if (value == NULL || !check_batch_first (ctx, node, index, value, error))
    return NULL;
  return value;
}

gboolean
kiln_import_is_constant (Import *ctx, const char *name)
{
  return g_hash_table_contains (ctx->constants, name) || kiln_onnx_model_has_initializer (ctx->model, name);
}

void
kiln_import_set_constant (Import *ctx, const KilnOnnxNode *node, KilnOnnxTensor *tensor)
{
  g_hash_table_replace (ctx->constants, g_strdup (kiln_onnx_node_get_output (node, 0)), tensor);
}

/* A zero-filled INT64 tensor. */
KilnOnnxTensor *
kiln_import_int64_tensor (int n_dims, const gint64 *dims, GError **error)
{
  KilnOnnxTensor *tensor = kiln_onnx_tensor_new ("constant", n_dims, dims, error);

  if (tensor == NULL)
    return NULL;
  tensor->data_type = KILN_ONNX_TYPE_INT64;
  tensor->int64_data = g_new0 (gint64, MAX (tensor->n_elements, 1));
  return tensor;
}

void
kiln_import_set_int64 (KilnOnnxTensor *tensor, gsize index, gint64 value)
{
  tensor->int64_data[index] = value;
  tensor->data[index] = (float) value;
}

/* Input `index` as a constant tensor (a copy), or NULL with an error. */
KilnOnnxTensor *
kiln_import_get_constant (Import *ctx, const KilnOnnxNode *node, guint index, const char *what, GError **error)
{
  const char *name;
  KilnOnnxTensor *tensor;

  if (index >= kiln_onnx_node_get_n_inputs (node) || *(name = kiln_onnx_node_get_input (node, index)) == '\0')
    {
      kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the %s input is missing"), what);
      return NULL;
    }
  tensor = g_hash_table_lookup (ctx->constants, name);
  if (tensor)
    return kiln_onnx_tensor_copy (tensor);
  if (kiln_onnx_model_has_initializer (ctx->model, name))
    return kiln_onnx_model_get_initializer (ctx->model, name, error);
  kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                          _("the %s (%s) is computed at run time; Kiln needs it as an initializer or constant"),
                          what, name);
  return NULL;
}

/* A 1-D INT64 constant input (a shape, axes or indices). */
KilnOnnxTensor *
kiln_import_get_int64_vector (Import *ctx, const KilnOnnxNode *node, guint index, const char *what, GError **error)
{
  g_autoptr(KilnOnnxTensor) tensor = kiln_import_get_constant (ctx, node, index, what, error);

  if (tensor == NULL)
    return NULL;
  if (tensor->int64_data == NULL || tensor->n_dims > 1)
    {
      g_autofree char *dims = kiln_onnx_tensor_dims_to_string (tensor);
      kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                              _("the %s is %s %s; Kiln folds 1-D INT64 shapes only"), what,
                              kiln_onnx_data_type_to_string (tensor->data_type), dims);
      return NULL;
    }
  return g_steal_pointer (&tensor);
}

gboolean
kiln_import_has_input (const KilnOnnxNode *node, guint index)
{
  return index < kiln_onnx_node_get_n_inputs (node) && *kiln_onnx_node_get_input (node, index) != '\0';
}

/* Outputs past the first (masks, indices, running statistics) must be unused. */
gboolean
kiln_import_check_extra_outputs_unused (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  for (guint i = 1; i < kiln_onnx_node_get_n_outputs (node); i++)
    {
      const char *name = kiln_onnx_node_get_output (node, i);
      if (*name && g_hash_table_contains (ctx->uses, name))
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("output %u (%s) is used; Kiln computes only the first output of this op"),
                                       i + 1, name);
    }
  return TRUE;
}

/* Fails on an attribute this importer does not know for the op, so nothing
 * that changes the math is dropped silently. */
gboolean
kiln_import_check_attributes (Import *ctx, const KilnOnnxNode *node, const char * const *known, GError **error)
{
  for (guint i = 0; i < kiln_onnx_node_get_n_attributes (node); i++)
    {
      const char *name = kiln_onnx_node_get_attribute_name (node, i);
      if (known == NULL || !g_strv_contains (known, name))
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("attribute %s is not supported"), name);
    }
  return TRUE;
}

gboolean
kiln_import_to_int (Import *ctx, const KilnOnnxNode *node, const char *what, gint64 v, int lo, int *out,
                    GError **error)
{
  if (v < lo || v > G_MAXINT / 2)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("%s %" PRId64 " is out of range"), what, v);
  *out = (int) v;
  return TRUE;
}

/* A name for the layer made from `node`: its name, else its output; made
 * unique when the model reuses names. */
char *
kiln_import_layer_name (Import *ctx, const KilnOnnxNode *node)
{
  const char *base = kiln_onnx_node_get_label (node);
  char *name = g_strdup (base);

  for (guint n = 2; g_str_equal (name, KILN_NET_SPEC_INPUT_NAME) ||
                    kiln_net_spec_find_layer (ctx->spec, name) >= 0; n++)
    {
      g_free (name);
      name = g_strdup_printf ("%s_%u", base, n);
    }
  return name;
}

/* Sets layer->inputs from the values; NULL when it reads the previous layer. */
static void
set_layer_inputs (Import *ctx, KilnLayerSpec *layer, const Value *const *inputs, guint n_inputs)
{
  guint n_layers = kiln_net_spec_get_n_layers (ctx->spec);
  const char *previous = n_layers ? kiln_net_spec_get_layer (ctx->spec, n_layers - 1)->name
                                  : KILN_NET_SPEC_INPUT_NAME;

  if (n_inputs == 1 && g_str_equal (inputs[0]->layer, previous))
    return;
  layer->inputs = g_new0 (char *, n_inputs + 1);
  for (guint i = 0; i < n_inputs; i++)
    layer->inputs[i] = g_strdup (inputs[i]->layer);
}

/* Adds the layer, maps the node's first output to it; returns its index or -1. */
int
kiln_import_add_layer (Import             *ctx,
                       const KilnOnnxNode *node,
                       KilnLayerSpec      *layer,
                       const Value *const *inputs,
                       guint               n_inputs,
                       int                 rank,
                       GError            **error)
{
  g_autoptr(GError) local_error = NULL;

  set_layer_inputs (ctx, layer, inputs, n_inputs);
  if (!kiln_net_spec_add_layer (ctx->spec, layer, &local_error))
    {
      kiln_import_node_error (ctx, node, error, local_error->code, "%s", local_error->message);
      return -1;
    }
  kiln_import_set_value (ctx, kiln_onnx_node_get_output (node, 0), layer->name, rank, -1);
  return (int) kiln_net_spec_get_n_layers (ctx->spec) - 1;
}

void
kiln_onnx_weights_insert (GHashTable     *weights,
                          const char     *layer,
                          const char     *suffix,
                          KilnOnnxTensor *tensor)
{
  char *key = g_strconcat (layer, ".", suffix, NULL);

  g_free (tensor->name);
  tensor->name = g_strdup (key);
  g_hash_table_replace (weights, key, tensor);
}

void
kiln_import_add_weight (Import *ctx, const char *layer, const char *suffix, KilnOnnxTensor *tensor)
{
  kiln_onnx_weights_insert (ctx->weights, layer, suffix, tensor);
}

/* kiln_import_add_layer for a one-input Convolution or InnerProduct, then its weight
 * and its bias (when *bias is set); takes both tensors. */
gboolean
kiln_import_add_weighted_layer (Import             *ctx,
                                const KilnOnnxNode *node,
                                KilnLayerSpec      *layer,
                                const Value        *input,
                                int                 rank,
                                KilnOnnxTensor    **weight,
                                KilnOnnxTensor    **bias,
                                GError            **error)
{
  layer->bias = *bias != NULL;
  if (kiln_import_add_layer (ctx, node, layer, &input, 1, rank, error) < 0)
    return FALSE;
  kiln_import_add_weight (ctx, layer->name, "weight", g_steal_pointer (weight));
  if (*bias)
    kiln_import_add_weight (ctx, layer->name, "bias", g_steal_pointer (bias));
  return TRUE;
}

/* C × H × W of a value, from the spec inferred so far. */
gboolean
kiln_import_value_shape (Import *ctx, const KilnOnnxNode *node, const Value *value, int *c, int *h, int *w,
                         GError **error)
{
  g_autoptr(GError) local_error = NULL;
  int index;

  if (g_str_equal (value->layer, KILN_NET_SPEC_INPUT_NAME))
    {
      kiln_net_spec_get_input (ctx->spec, c, h, w);
      return TRUE;
    }
  if (!kiln_net_spec_infer_shapes (ctx->spec, &local_error))
    return kiln_import_node_error (ctx, node, error, local_error->code, _("the layers before it do not fit: %s"),
                                   local_error->message);
  index = kiln_net_spec_find_layer (ctx->spec, value->layer);
  const KilnLayerShape *shape = kiln_net_spec_get_shape (ctx->spec, index);
  *c = shape->c;
  *h = shape->h;
  *w = shape->w;
  return TRUE;
}
