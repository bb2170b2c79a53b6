/* kiln-onnx-import.c: an ONNX graph as a KilnNetSpec plus weights.
 *
 * Nodes are visited in their (topological) order. Each ONNX value name maps
 * to the spec layer that produces it and its rank (4 for N×C×H×W, 3 for
 * N×C×L run as C×L×1, 2 once flattened); constants (initializers, Constant
 * and Cast-of-constant nodes) are kept aside for Reshape shapes, Dropout
 * ratios and MatMul biases.
 * PyTorch's x.view(x.size(0), -1) exports as Shape → Gather → Unsqueeze →
 * Concat → Reshape; that shape arithmetic is folded here too, with the
 * batch size as a marker. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-onnx-import-private.h"

#define MIN_OPSET 7
#define MAX_OPSET 17

static void
value_free (gpointer data)
{
  Value *value = data;

  g_free (value->layer);
  g_free (value);
}

static void
import_clear (Import *ctx)
{
  g_clear_object (&ctx->spec);
  g_clear_pointer (&ctx->weights, g_hash_table_unref);
  g_clear_pointer (&ctx->values, g_hash_table_unref);
  g_clear_pointer (&ctx->constants, g_hash_table_unref);
  g_clear_pointer (&ctx->uses, g_hash_table_unref);
}

/* ---- The graph ---------------------------------------------------------- */

static gboolean
setup_input (Import *ctx, GError **error)
{
  KilnOnnxValueInfo info, found = { 0 };
  guint n_found = 0;

  for (guint i = 0; i < kiln_onnx_model_get_n_inputs (ctx->model); i++)
    {
      kiln_onnx_model_get_input (ctx->model, i, &info);
      if (kiln_onnx_model_has_initializer (ctx->model, info.name))
        continue;   /* older exports list weights as inputs too */
      found = info;
      n_found++;
    }
  if (n_found != 1)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s has %u inputs besides its weights; Kiln imports nets with one image input"),
                   ctx->where, n_found);
      return FALSE;
    }
  /* N×C (features) and N×C×L (sequences) run as C×1×1 and C×L×1. */
  gboolean fixed = found.n_dims >= 2 && found.n_dims <= 4;
  for (int d = 1; fixed && d < found.n_dims; d++)
    fixed = found.dims[d] >= 1 && found.dims[d] <= G_MAXINT;
  if (found.elem_type != KILN_ONNX_TYPE_FLOAT || !fixed)
    {
      g_autofree char *dims = kiln_onnx_value_info_dims_to_string (&found);
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: input %s is %s %s; Kiln needs FLOAT N×C×H×W (or N×C, N×C×L) with the "
                   "sizes after N fixed (re-export with a fixed input size)"),
                   ctx->where, found.name, kiln_onnx_data_type_to_string (found.elem_type), dims);
      return FALSE;
    }
  kiln_net_spec_set_input (ctx->spec, (int) found.dims[1], found.n_dims > 2 ? (int) found.dims[2] : 1,
                           found.n_dims > 3 ? (int) found.dims[3] : 1);
  kiln_import_set_value (ctx, found.name, KILN_NET_SPEC_INPUT_NAME, found.n_dims, -1);
  ctx->graph_input = found.name;
  return TRUE;
}

static void
count_uses (Import *ctx)
{
  for (guint i = 0; i < kiln_onnx_model_get_n_nodes (ctx->model); i++)
    {
      const KilnOnnxNode *node = kiln_onnx_model_get_node (ctx->model, i);
      for (guint j = 0; j < kiln_onnx_node_get_n_inputs (node); j++)
        {
          const char *name = kiln_onnx_node_get_input (node, j);
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (ctx->uses, name));
          g_hash_table_replace (ctx->uses, (gpointer) name, GUINT_TO_POINTER (n + 1));
        }
    }
  for (guint i = 0; i < kiln_onnx_model_get_n_outputs (ctx->model); i++)
    {
      KilnOnnxValueInfo info;
      kiln_onnx_model_get_output (ctx->model, i, &info);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (ctx->uses, info.name));
      g_hash_table_replace (ctx->uses, (gpointer) info.name, GUINT_TO_POINTER (n + 1));
    }
}

/* Input C × H × W of layer `index`. */
static void
layer_input_shape (KilnNetSpec *spec, guint index, int *c, int *h, int *w)
{
  g_autoptr(GArray) inputs = kiln_net_spec_get_layer_inputs (spec, index);
  int j = g_array_index (inputs, int, 0);

  if (j < 0)
    kiln_net_spec_get_input (spec, c, h, w);
  else
    {
      const KilnLayerShape *shape = kiln_net_spec_get_shape (spec, j);
      *c = shape->c;
      *h = shape->h;
      *w = shape->w;
    }
}

/* Weights against the inferred shapes: what a wrong fan-in would break. */
static gboolean
check_weights (Import *ctx, GError **error)
{
  for (guint i = 0; i < kiln_net_spec_get_n_layers (ctx->spec); i++)
    {
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (ctx->spec, i);
      g_autofree char *key = NULL;
      const KilnOnnxTensor *weight;
      gint64 expected;
      int c, h, w;

      if (!kiln_layer_type_has_weights (layer->type))
        continue;
      layer_input_shape (ctx->spec, i, &c, &h, &w);
      key = g_strconcat (layer->name, layer->type == KILN_LAYER_BATCH_NORM ? ".scale" : ".weight", NULL);
      weight = g_hash_table_lookup (ctx->weights, key);
      if (weight == NULL)
        continue;
      switch (layer->type)
        {
        case KILN_LAYER_CONVOLUTION:
          expected = c / layer->group;
          if (weight->dims[1] == expected)
            continue;
          break;
        case KILN_LAYER_INNER_PRODUCT:
          expected = (gint64) c * h * w;
          if (weight->dims[1] == expected)
            continue;
          break;
        default:
          expected = c;
          if (weight->dims[0] == expected)
            continue;
          break;
        }
      g_autofree char *dims = kiln_onnx_tensor_dims_to_string (weight);
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   _("%s: layer %s gets %d×%d×%d inputs but its weights are %s (expected %" PRId64
                   " %s); the model does not fit its declared input size"),
                   ctx->where, layer->name, c, h, w, dims, expected,
                   layer->type == KILN_LAYER_BATCH_NORM ? "channels" : "inputs per output");
      return FALSE;
    }
  return TRUE;
}

/* The graph's output must be the last layer, with the shape ONNX declares. */
static gboolean
check_output (Import *ctx, GError **error)
{
  KilnOnnxValueInfo info;
  guint n_layers = kiln_net_spec_get_n_layers (ctx->spec);
  const Value *value;

  if (kiln_onnx_model_get_n_outputs (ctx->model) != 1)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s has %u outputs; Kiln imports nets with one output"),
                   ctx->where, kiln_onnx_model_get_n_outputs (ctx->model));
      return FALSE;
    }
  kiln_onnx_model_get_output (ctx->model, 0, &info);
  ctx->graph_output = info.name;
  value = g_hash_table_lookup (ctx->values, info.name);
  if (value != NULL && value->transposed)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: the output %s is transposed (the batch on axis 1); Kiln's nets end batch first"),
                   ctx->where, info.name);
      return FALSE;
    }
  if (value == NULL || n_layers == 0 ||
      !g_str_equal (value->layer, kiln_net_spec_get_layer (ctx->spec, n_layers - 1)->name))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: the output %s is not computed by the last layer; Kiln imports a chain that ends "
                   "at the output"), ctx->where, info.name);
      return FALSE;
    }

  const KilnLayerShape *shape = kiln_net_spec_get_shape (ctx->spec, n_layers - 1);
  gboolean same;
  if (info.n_dims == 2)
    same = info.dims[1] < 0 || info.dims[1] == (gint64) shape->c * shape->h * shape->w;
  else if (info.n_dims == 3)
    same = (info.dims[1] < 0 || info.dims[1] == shape->c) && (info.dims[2] < 0 || info.dims[2] == shape->h) &&
           shape->w == 1;
  else if (info.n_dims == 4)
    same = (info.dims[1] < 0 || info.dims[1] == shape->c) && (info.dims[2] < 0 || info.dims[2] == shape->h) &&
           (info.dims[3] < 0 || info.dims[3] == shape->w);
  else
    same = info.n_dims < 0;
  if (!same)
    {
      g_autofree char *dims = kiln_onnx_value_info_dims_to_string (&info);
      g_autofree char *hint = NULL;
      /* The usual cause: ONNX's ceil_mode keeps a last window that starts in
       * the end padding; Kiln (like Caffe and PyTorch) drops it. */
      for (guint i = 0; i < n_layers && hint == NULL; i++)
        {
          const KilnLayerSpec *layer = kiln_net_spec_get_layer (ctx->spec, i);
          if (layer->rounding == KILN_ROUND_CEIL &&
              (layer->type == KILN_LAYER_MAX_POOL || layer->type == KILN_LAYER_AVG_POOL))
            hint = g_strdup_printf (_("; check %s: with ceil_mode ONNX keeps a last window that starts in the "
                                      "padding, Kiln drops it (reduce its end pads or use ceil_mode 0)"),
                                    layer->name);
        }
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   _("%s: the model declares its output %s as %s but Kiln computes %d×%d×%d per sample%s"),
                   ctx->where, info.name, dims, shape->c, shape->h, shape->w,
                   hint ? hint : _("; a pooling or padding convention differs"));
      return FALSE;
    }
  return TRUE;
}

/* The converter for @op, or NULL. */
static ImportFunc
find_importer (const char *op)
{
  const ImportOp *const tables[] = { kiln_import_layer_ops, kiln_import_fold_ops };

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    for (const ImportOp *o = tables[t]; o->op_type; o++)
      if (g_str_equal (o->op_type, op))
        return o->func;
  return NULL;
}

static gboolean
import_graph (Import *ctx, GError **error)
{
  if (ctx->opset < MIN_OPSET || ctx->opset > MAX_OPSET)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s uses ONNX opset %" PRId64 "; Kiln imports opsets %d to %d "
                   "(convert it with onnx.version_converter)"), ctx->where, ctx->opset, MIN_OPSET, MAX_OPSET);
      return FALSE;
    }
  if (!setup_input (ctx, error))
    return FALSE;
  count_uses (ctx);

  for (guint i = 0; i < kiln_onnx_model_get_n_nodes (ctx->model); i++)
    {
      const KilnOnnxNode *node = kiln_onnx_model_get_node (ctx->model, i);
      const char *op = kiln_onnx_node_get_op_type (node);
      const char *domain = kiln_onnx_node_get_domain (node);
      ImportFunc func = NULL;

      if (*domain && !g_str_equal (domain, "ai.onnx"))
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("belongs to the operator domain %s; Kiln imports standard ONNX ops"),
                                       domain);
      if (kiln_onnx_node_get_n_outputs (node) < 1 || *kiln_onnx_node_get_output (node, 0) == '\0')
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("has no output"));
      func = find_importer (op);
      if (func == NULL)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("Kiln cannot import the op %s (it imports Conv, Relu, LRN, MaxPool, "
                                       "AveragePool, GlobalAveragePool, Gemm, MatMul + Add, Dropout, "
                                       "BatchNormalization, Concat, Add, Flatten, Reshape to a flatten, Softmax "
                                       "and Pad)"),
                                       op);
      if (!func (ctx, node, error))
        return FALSE;
    }

  /* A Pad that is the graph output (a graph of only a Pad, too). */
  for (guint i = 0; i < kiln_onnx_model_get_n_outputs (ctx->model); i++)
    {
      KilnOnnxValueInfo info;
      kiln_onnx_model_get_output (ctx->model, i, &info);
      const Value *value = g_hash_table_lookup (ctx->values, info.name);
      if (value != NULL && value->pad_node != NULL && kiln_import_add_pad_layer (ctx, info.name, error) == NULL)
        return FALSE;
    }

  g_autoptr(GError) local_error = NULL;
  kiln_net_spec_set_exact_fit (ctx->spec, FALSE);
  if (kiln_net_spec_get_n_layers (ctx->spec) == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED, _("%s has no layers Kiln can run"), ctx->where);
      return FALSE;
    }
  if (!kiln_net_spec_infer_shapes (ctx->spec, &local_error))
    {
      g_set_error (error, KILN_ERROR, local_error->code, _("%s: %s"), ctx->where, local_error->message);
      return FALSE;
    }
  return check_weights (ctx, error) && check_output (ctx, error);
}

static gboolean
import_model (KilnOnnxModel *model,
              KilnNetSpec  **spec,
              GHashTable   **weights,
              char         **input_name,
              char         **output_name,
              GError       **error)
{
  Import ctx = { 0 };
  g_autofree char *base = g_path_get_basename (kiln_onnx_model_get_display_name (model));
  char *dot = strrchr (base, '.');
  gboolean ok;

  g_return_val_if_fail (spec != NULL && weights != NULL, FALSE);

  if (dot && dot != base)
    *dot = '\0';
  ctx.model = model;
  ctx.where = kiln_onnx_model_get_display_name (model);
  ctx.opset = kiln_onnx_model_get_opset (model);
  ctx.spec = kiln_net_spec_new (base, 1, 1, 1);
  ctx.weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) kiln_onnx_tensor_free);
  ctx.values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, value_free);
  ctx.constants = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) kiln_onnx_tensor_free);
  ctx.uses = g_hash_table_new (g_str_hash, g_str_equal);

  ok = import_graph (&ctx, error);
  if (ok)
    {
      *spec = g_steal_pointer (&ctx.spec);
      *weights = g_steal_pointer (&ctx.weights);
      if (input_name)
        *input_name = g_strdup (ctx.graph_input);
      if (output_name)
        *output_name = g_strdup (ctx.graph_output);
    }
  import_clear (&ctx);
  return ok;
}

gboolean
kiln_onnx_import_spec_from_model (KilnOnnxModel *model,
                                  KilnNetSpec  **spec,
                                  GHashTable   **weights,
                                  GError       **error)
{
  return import_model (model, spec, weights, NULL, NULL, error);
}

gboolean
kiln_onnx_import_spec (const char   *path,
                       KilnNetSpec **spec,
                       GHashTable  **weights,
                       GError      **error)
{
  return kiln_onnx_import_spec_with_names (path, spec, weights, NULL, NULL, error);
}

gboolean
kiln_onnx_import_spec_with_names (const char   *path,
                                  KilnNetSpec **spec,
                                  GHashTable  **weights,
                                  char        **input_name,
                                  char        **output_name,
                                  GError      **error)
{
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load (path, error);

  if (model == NULL)
    return FALSE;
  return import_model (model, spec, weights, input_name, output_name, error);
}

gboolean
kiln_onnx_load_weights (KilnNet    *net,
                        GHashTable *weights,
                        GError    **error)
{
  return kiln_onnx_load_weights_except (net, weights, NULL, error);
}

gboolean
kiln_onnx_load_weights_except (KilnNet            *net,
                               GHashTable         *weights,
                               const char * const *skip,
                               GError            **error)
{
  /* kiln-op.h's parameter order for each layer type. */
  static const char *const conv_parts[] = { "weight", "bias" };
  static const char *const bn_parts[] = { "scale", "bias", "mean", "var" };
  KilnNetSpec *spec = kiln_net_get_spec (net);

  for (guint i = 0; i < kiln_net_spec_get_n_layers (spec); i++)
    {
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (spec, i);
      const char *const *parts = layer->type == KILN_LAYER_BATCH_NORM ? bn_parts : conv_parts;
      guint n_params = kiln_net_get_n_params (net, layer->name);

      if (skip && g_strv_contains (skip, layer->name))
        continue;
      for (guint k = 0; k < n_params && k < 4; k++)
        {
          g_autofree char *key = g_strconcat (layer->name, ".", parts[k], NULL);
          const KilnOnnxTensor *tensor = g_hash_table_lookup (weights, key);

          if (tensor == NULL)
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                           _("Layer %s needs the weights %s, which the imported model does not have"),
                           layer->name, key);
              return FALSE;
            }
          if (!kiln_net_set_param (net, layer->name, k, tensor->data, (gint64) tensor->n_elements, error))
            return FALSE;
        }
    }
  return TRUE;
}
