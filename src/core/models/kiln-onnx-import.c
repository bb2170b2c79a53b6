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

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-onnx.h"

#define MIN_OPSET 7
#define MAX_OPSET 17
/* The batch size inside folded shape arithmetic (Shape of an activation):
 * unknown until the net runs. */
#define BATCH_DIM G_MININT64

typedef struct {
  char *layer;        /* producing layer, or KILN_NET_SPEC_INPUT_NAME */
  int rank;
  int matmul_layer;   /* index of a MatMul inner product still without bias, else -1 */
  /* A 2-D batch-first value transposed (features × batch): only a Gemm with
   * transA = 1, which transposes it back, may read it. */
  gboolean transposed;
} Value;

typedef struct {
  KilnOnnxModel *model;
  const char *where;
  gint64 opset;
  KilnNetSpec *spec;
  GHashTable *weights;     /* key → KilnOnnxTensor* */
  GHashTable *values;      /* ONNX name → Value* */
  GHashTable *constants;   /* ONNX name → KilnOnnxTensor* */
  GHashTable *uses;        /* ONNX name → number of readers (nodes and graph outputs) */
  const char *graph_output;
} Import;

typedef gboolean (*ImportFunc) (Import *ctx, const KilnOnnxNode *node, GError **error);

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

G_GNUC_PRINTF (5, 6)
static gboolean
node_error (Import             *ctx,
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

static void
set_value (Import *ctx, const char *name, const char *layer, int rank, int matmul_layer)
{
  Value *value = g_new0 (Value, 1);

  value->layer = g_strdup (layer);
  value->rank = rank;
  value->matmul_layer = matmul_layer;
  g_hash_table_replace (ctx->values, g_strdup (name), value);
}

/* @name now names @from's activation (an op that changes nothing). */
static void
alias_value (Import *ctx, const char *name, const Value *from, gboolean transpose)
{
  /* @from may be the entry @name replaces (a hostile x → x node): copy first. */
  g_autofree char *layer = g_strdup (from->layer);
  int rank = from->rank;
  gboolean transposed = from->transposed != transpose;

  set_value (ctx, name, layer, rank, -1);
  ((Value *) g_hash_table_lookup (ctx->values, name))->transposed = transposed;
}

static const Value *get_value_maybe_transposed (Import *ctx, const KilnOnnxNode *node, guint index, GError **error);

/* The activation behind input `index` of `node`, batch first. */
static const Value *
get_value (Import *ctx, const KilnOnnxNode *node, guint index, GError **error)
{
  const Value *value = get_value_maybe_transposed (ctx, node, index, error);

  if (value != NULL && value->transposed)
    {
      node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                  _("input %s is transposed (the batch on axis 1); Kiln keeps the batch on axis 0, and only "
                  "a Gemm with transA = 1 may read a transposed value"), kiln_onnx_node_get_input (node, index));
      return NULL;
    }
  return value;
}

static const Value *
get_value_maybe_transposed (Import *ctx, const KilnOnnxNode *node, guint index, GError **error)
{
  const char *name;
  const Value *value;

  if (index >= kiln_onnx_node_get_n_inputs (node) || *(name = kiln_onnx_node_get_input (node, index)) == '\0')
    {
      node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("input %u is missing"), index + 1);
      return NULL;
    }
  value = g_hash_table_lookup (ctx->values, name);
  if (value)
    return value;
  if (g_hash_table_contains (ctx->constants, name) || kiln_onnx_model_has_initializer (ctx->model, name))
    node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                _("input %s is a constant; Kiln imports this op only on activations"), name);
  else
    node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                _("input %s is not the graph input or the output of an earlier node"), name);
  return NULL;
}

static gboolean
is_constant (Import *ctx, const char *name)
{
  return g_hash_table_contains (ctx->constants, name) || kiln_onnx_model_has_initializer (ctx->model, name);
}

static void
set_constant (Import *ctx, const KilnOnnxNode *node, KilnOnnxTensor *tensor)
{
  g_hash_table_replace (ctx->constants, g_strdup (kiln_onnx_node_get_output (node, 0)), tensor);
}

/* A zero-filled INT64 tensor. */
static KilnOnnxTensor *
int64_tensor (int n_dims, const gint64 *dims, GError **error)
{
  KilnOnnxTensor *tensor = kiln_onnx_tensor_new ("constant", n_dims, dims, error);

  if (tensor == NULL)
    return NULL;
  tensor->data_type = KILN_ONNX_TYPE_INT64;
  tensor->int64_data = g_new0 (gint64, MAX (tensor->n_elements, 1));
  return tensor;
}

static void
set_int64 (KilnOnnxTensor *tensor, gsize index, gint64 value)
{
  tensor->int64_data[index] = value;
  tensor->data[index] = (float) value;
}

/* Input `index` as a constant tensor (a copy), or NULL with an error. */
static KilnOnnxTensor *
get_constant (Import *ctx, const KilnOnnxNode *node, guint index, const char *what, GError **error)
{
  const char *name;
  KilnOnnxTensor *tensor;

  if (index >= kiln_onnx_node_get_n_inputs (node) || *(name = kiln_onnx_node_get_input (node, index)) == '\0')
    {
      node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the %s input is missing"), what);
      return NULL;
    }
  tensor = g_hash_table_lookup (ctx->constants, name);
  if (tensor)
    return kiln_onnx_tensor_copy (tensor);
  if (kiln_onnx_model_has_initializer (ctx->model, name))
    return kiln_onnx_model_get_initializer (ctx->model, name, error);
  node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
              _("the %s (%s) is computed at run time; Kiln needs it as an initializer or constant"),
              what, name);
  return NULL;
}

static gboolean
has_input (const KilnOnnxNode *node, guint index)
{
  return index < kiln_onnx_node_get_n_inputs (node) && *kiln_onnx_node_get_input (node, index) != '\0';
}

/* Outputs past the first (masks, indices, running statistics) must be unused. */
static gboolean
check_extra_outputs_unused (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  for (guint i = 1; i < kiln_onnx_node_get_n_outputs (node); i++)
    {
      const char *name = kiln_onnx_node_get_output (node, i);
      if (*name && g_hash_table_contains (ctx->uses, name))
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("output %u (%s) is used; Kiln computes only the first output of this op"),
                           i + 1, name);
    }
  return TRUE;
}

/* Fails on an attribute this importer does not know for the op, so nothing
 * that changes the math is dropped silently. */
static gboolean
check_attributes (Import *ctx, const KilnOnnxNode *node, const char * const *known, GError **error)
{
  for (guint i = 0; i < kiln_onnx_node_get_n_attributes (node); i++)
    {
      const char *name = kiln_onnx_node_get_attribute_name (node, i);
      if (known == NULL || !g_strv_contains (known, name))
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("attribute %s is not supported"), name);
    }
  return TRUE;
}

static gboolean
to_int (Import *ctx, const KilnOnnxNode *node, const char *what, gint64 v, int lo, int *out, GError **error)
{
  if (v < lo || v > G_MAXINT / 2)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("%s %" G_GINT64_FORMAT " is out of range"), what, v);
  *out = (int) v;
  return TRUE;
}

/* A name for the layer made from `node`: its name, else its output; made
 * unique when the model reuses names. */
static char *
layer_name (Import *ctx, const KilnOnnxNode *node)
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
static int
add_layer (Import             *ctx,
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
      node_error (ctx, node, error, local_error->code, "%s", local_error->message);
      return -1;
    }
  set_value (ctx, kiln_onnx_node_get_output (node, 0), layer->name, rank, -1);
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

static void
add_weight (Import *ctx, const char *layer, const char *suffix, KilnOnnxTensor *tensor)
{
  kiln_onnx_weights_insert (ctx->weights, layer, suffix, tensor);
}

/* add_layer for a one-input Convolution or InnerProduct, then its weight
 * and its bias (when *bias is set); takes both tensors. */
static gboolean
add_weighted_layer (Import             *ctx,
                    const KilnOnnxNode *node,
                    KilnLayerSpec      *layer,
                    const Value        *input,
                    int                 rank,
                    KilnOnnxTensor    **weight,
                    KilnOnnxTensor    **bias,
                    GError            **error)
{
  layer->bias = *bias != NULL;
  if (add_layer (ctx, node, layer, &input, 1, rank, error) < 0)
    return FALSE;
  add_weight (ctx, layer->name, "weight", g_steal_pointer (weight));
  if (*bias)
    add_weight (ctx, layer->name, "bias", g_steal_pointer (bias));
  return TRUE;
}

/* C × H × W of a value, from the spec inferred so far. */
static gboolean
value_shape (Import *ctx, const KilnOnnxNode *node, const Value *value, int *c, int *h, int *w, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  int index;

  if (g_str_equal (value->layer, KILN_NET_SPEC_INPUT_NAME))
    {
      kiln_net_spec_get_input (ctx->spec, c, h, w);
      return TRUE;
    }
  if (!kiln_net_spec_infer_shapes (ctx->spec, &local_error))
    return node_error (ctx, node, error, local_error->code, _("the layers before it do not fit: %s"),
                       local_error->message);
  index = kiln_net_spec_find_layer (ctx->spec, value->layer);
  const KilnLayerShape *shape = kiln_net_spec_get_shape (ctx->spec, index);
  *c = shape->c;
  *h = shape->h;
  *w = shape->w;
  return TRUE;
}

/* ---- Windows (Conv, MaxPool, AveragePool) ------------------------------- */

/* The values of an INTS attribute with one value per spatial axis (2, or 1
 * for an N×C×L input, whose W is 1), or the defaults. */
static gboolean
get_pair (Import *ctx, const KilnOnnxNode *node, const char *name, guint n_axes, int lo, int *a, int *b,
          GError **error)
{
  const gint64 *v = NULL;
  gsize n = 0;

  if (!kiln_onnx_node_get_ints (node, name, &v, &n, error))
    return FALSE;
  if (v == NULL)
    return TRUE;
  if (n != n_axes)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("%s has %" G_GSIZE_FORMAT " values for a %u-D input; Kiln imports 1-D and 2-D "
                       "windows"), name, n, n_axes);
  if (n_axes == 1)
    return to_int (ctx, node, name, v[0], lo, a, error);
  return to_int (ctx, node, name, v[0], lo, a, error) && to_int (ctx, node, name, v[1], lo, b, error);
}

/* Fills kernel, stride, dilation and pads of `layer`; `kernel_h/w` already
 * hold the kernel when it comes from the weights (Conv). */
static gboolean
parse_window (Import             *ctx,
              const KilnOnnxNode *node,
              const Value        *input,
              KilnLayerSpec      *layer,
              GError            **error)
{
  g_autofree char *auto_pad = NULL;
  const gint64 *pads = NULL;
  gsize n_pads = 0;
  int kh = layer->kernel_h, kw = layer->kernel_w;
  guint n_axes = input->rank - 2;

  if (n_axes == 1)
    kw = 1;
  if (!get_pair (ctx, node, "kernel_shape", n_axes, 1, &kh, &kw, error) ||
      !get_pair (ctx, node, "strides", n_axes, 1, &layer->stride_h, &layer->stride_w, error) ||
      !get_pair (ctx, node, "dilations", n_axes, 1, &layer->dilation_h, &layer->dilation_w, error) ||
      !kiln_onnx_node_get_ints (node, "pads", &pads, &n_pads, error) ||
      !kiln_onnx_node_get_string (node, "auto_pad", &auto_pad, error))
    return FALSE;
  if (kh == 0 || kw == 0)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("kernel_shape is missing"));
  if (layer->kernel_h && (kh != layer->kernel_h || kw != layer->kernel_w))
    return node_error (ctx, node, error, KILN_ERROR_SHAPE,
                       _("kernel_shape %d×%d differs from the weights' %d×%d"),
                       kh, kw, layer->kernel_h, layer->kernel_w);
  layer->kernel_h = kh;
  layer->kernel_w = kw;

  if (pads && n_axes == 1)
    {
      if (n_pads != 2)
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("pads has %" G_GSIZE_FORMAT " values for a 1-D window"), n_pads);
      if (!to_int (ctx, node, "pads", pads[0], 0, &layer->pad_top, error) ||
          !to_int (ctx, node, "pads", pads[1], 0, &layer->pad_bottom, error))
        return FALSE;
    }
  else if (pads)
    {
      if (n_pads != 4)
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("pads has %" G_GSIZE_FORMAT " values; Kiln imports 1-D and 2-D windows"), n_pads);
      /* ONNX: all begins, then all ends. */
      if (!to_int (ctx, node, "pads", pads[0], 0, &layer->pad_top, error) ||
          !to_int (ctx, node, "pads", pads[1], 0, &layer->pad_left, error) ||
          !to_int (ctx, node, "pads", pads[2], 0, &layer->pad_bottom, error) ||
          !to_int (ctx, node, "pads", pads[3], 0, &layer->pad_right, error))
        return FALSE;
    }

  if (auto_pad == NULL || g_str_equal (auto_pad, "NOTSET"))
    return TRUE;
  if (layer->pad_top || layer->pad_left || layer->pad_bottom || layer->pad_right)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("has both auto_pad %s and explicit pads"), auto_pad);
  if (g_str_equal (auto_pad, "VALID"))
    return TRUE;
  if (!g_str_equal (auto_pad, "SAME_UPPER") && !g_str_equal (auto_pad, "SAME_LOWER"))
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("auto_pad %s is not an ONNX value"), auto_pad);

  /* SAME: output = ceil(input / stride); the padding depends on the input
   * size, so it is fixed here for the model's declared size. */
  int c, h, w;
  if (!value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  const int in[2] = { h, w }, k[2] = { kh, kw };
  const int s[2] = { layer->stride_h, layer->stride_w }, d[2] = { layer->dilation_h, layer->dilation_w };
  int begin[2], end[2];
  for (int i = 0; i < 2; i++)
    {
      gint64 out = (in[i] + s[i] - 1) / s[i];
      gint64 total = MAX (0, (out - 1) * s[i] + (gint64) (k[i] - 1) * d[i] + 1 - in[i]);
      int small = (int) (total / 2), large = (int) (total - total / 2);
      begin[i] = g_str_equal (auto_pad, "SAME_UPPER") ? small : large;
      end[i] = g_str_equal (auto_pad, "SAME_UPPER") ? large : small;
    }
  layer->pad_top = begin[0];
  layer->pad_left = begin[1];
  layer->pad_bottom = end[0];
  layer->pad_right = end[1];
  return TRUE;
}

static gboolean
require_rank (Import *ctx, const KilnOnnxNode *node, const Value *value, int rank, GError **error)
{
  if (value->rank == rank)
    return TRUE;
  return node_error (ctx, node, error, KILN_ERROR_SHAPE, _("needs a %d-D input but %s is %d-D%s"),
                     rank, kiln_onnx_node_get_input (node, 0), value->rank,
                     rank == 2 ? " (a Flatten before it is missing)" : "");
}

/* ---- Ops ---------------------------------------------------------------- */

static gboolean
import_conv (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) weight = NULL;
  g_autoptr(KilnOnnxTensor) bias = NULL;
  const Value *input;
  gint64 group = 1;

  if (!check_attributes (ctx, node, known, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      (input->rank != 3 && !require_rank (ctx, node, input, 4, error)) ||
      (weight = get_constant (ctx, node, 1, "weight", error)) == NULL)
    return FALSE;
  if (weight->n_dims != input->rank)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("the weights have %d dims for a %d-D input; Kiln imports 1-D convolutions (3-D weights) "
                       "and 2-D ones (4-D weights)"), weight->n_dims, input->rank);
  /* N×C×L convolves as C×L×1 with K×1 kernels: the same bytes, one more axis. */
  if (weight->n_dims == 3)
    {
      weight->dims[3] = 1;
      weight->n_dims = 4;
    }
  if (has_input (node, 2) && (bias = get_constant (ctx, node, 2, "bias", error)) == NULL)
    return FALSE;
  if (bias && (bias->n_dims != 1 || bias->dims[0] != weight->dims[0]))
    {
      g_autofree char *dims = kiln_onnx_tensor_dims_to_string (bias);
      return node_error (ctx, node, error, KILN_ERROR_SHAPE,
                         _("the bias is %s but there are %" G_GINT64_FORMAT " output channels"),
                         dims, weight->dims[0]);
    }

  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_CONVOLUTION, name);
  if (!to_int (ctx, node, "output channels", weight->dims[0], 1, &layer.num_output, error) ||
      !to_int (ctx, node, "kernel height", weight->dims[2], 1, &layer.kernel_h, error) ||
      !to_int (ctx, node, "kernel width", weight->dims[3], 1, &layer.kernel_w, error) ||
      !kiln_onnx_node_get_int (node, "group", &group, error) ||
      !to_int (ctx, node, "group", group, 1, &layer.group, error) ||
      !parse_window (ctx, node, input, &layer, error))
    return FALSE;
  return add_weighted_layer (ctx, node, &layer, input, input->rank, &weight, &bias, error);
}

static gboolean
import_pool (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const max_known[] = { "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                                            "storage_order", "strides", NULL };
  static const char *const avg_known[] = { "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape",
                                            "pads", "strides", NULL };
  gboolean is_max = g_str_equal (kiln_onnx_node_get_op_type (node), "MaxPool");
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;
  gint64 ceil_mode = 0, count_include_pad = 0;

  if (!check_attributes (ctx, node, is_max ? max_known : avg_known, error) ||
      !check_extra_outputs_unused (ctx, node, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      (input->rank != 3 && !require_rank (ctx, node, input, 4, error)))
    return FALSE;

  /* N×C×L pools as C×L×1 with L×1 windows. */
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, is_max ? KILN_LAYER_MAX_POOL : KILN_LAYER_AVG_POOL, name);
  if (!parse_window (ctx, node, input, &layer, error) ||
      !kiln_onnx_node_get_int (node, "ceil_mode", &ceil_mode, error) ||
      !kiln_onnx_node_get_int (node, "count_include_pad", &count_include_pad, error))
    return FALSE;
  if (layer.dilation_h != 1 || layer.dilation_w != 1)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("dilations %d×%d; Kiln pools without dilation"), layer.dilation_h, layer.dilation_w);
  layer.rounding = ceil_mode ? KILN_ROUND_CEIL : KILN_ROUND_FLOOR;
  layer.count_include_pad = count_include_pad != 0;
  return add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
}

/* Relu, GlobalAveragePool: no attributes, one input, same rank. */
static gboolean
import_simple (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  gboolean global = g_str_equal (kiln_onnx_node_get_op_type (node), "GlobalAveragePool");
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;

  if (!check_attributes (ctx, node, NULL, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      (global && input->rank != 3 && !require_rank (ctx, node, input, 4, error)))
    return FALSE;
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, global ? KILN_LAYER_GLOBAL_AVG_POOL : KILN_LAYER_RELU, name);
  return add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
}

static gboolean
import_lrn (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "alpha", "beta", "bias", "size", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;
  gint64 size = 0;

  if (!check_attributes (ctx, node, known, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      !require_rank (ctx, node, input, 4, error))
    return FALSE;
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_LRN, name);
  /* ONNX defaults; the same formula as the spec (alpha divided by size). */
  layer.alpha = 1e-4f;
  layer.beta = 0.75f;
  layer.k = 1.0f;
  if (!kiln_onnx_node_get_int (node, "size", &size, error) ||
      !kiln_onnx_node_get_float (node, "alpha", &layer.alpha, error) ||
      !kiln_onnx_node_get_float (node, "beta", &layer.beta, error) ||
      !kiln_onnx_node_get_float (node, "bias", &layer.k, error))
    return FALSE;
  if (size == 0)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the size attribute is missing"));
  if (!to_int (ctx, node, "size", size, 1, &layer.local_size, error))
    return FALSE;
  return add_layer (ctx, node, &layer, &input, 1, 4, error) >= 0;
}

/* One bias per output from a Gemm C / MatMul Add operand: N values, 1 × N,
 * or a single value broadcast to all. */
static KilnOnnxTensor *
bias_vector (Import *ctx, const KilnOnnxNode *node, const KilnOnnxTensor *c, gint64 n, float scale, GError **error)
{
  gint64 dims[1] = { n };
  KilnOnnxTensor *bias;

  if (c->n_elements != (gsize) n && c->n_elements != 1 && !(c->n_dims == 2 && c->dims[1] == n))
    {
      g_autofree char *shape = kiln_onnx_tensor_dims_to_string (c);
      node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                  _("the bias %s is %s; Kiln's inner product needs one value per output (%" G_GINT64_FORMAT ")"),
                  c->name, shape, n);
      return NULL;
    }
  /* M × N with M equal rows is a per-output bias written out per sample. */
  gboolean rows_equal = c->n_dims == 2 && n > 0 && c->n_elements == (gsize) (c->dims[0] * n);
  for (gsize i = n; rows_equal && i < c->n_elements; i++)
    rows_equal = c->data[i] == c->data[i % n];
  if (c->n_dims == 2 && c->dims[0] != 1 && !rows_equal)
    {
      node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                  _("the bias %s varies across the batch; Kiln's inner product has one bias per output"), c->name);
      return NULL;
    }
  bias = kiln_onnx_tensor_new ("bias", 1, dims, error);
  if (bias == NULL)
    return NULL;
  for (gint64 i = 0; i < n; i++)
    bias->data[i] = scale * c->data[c->n_elements == 1 ? 0 : i];
  return bias;
}

/* out × in weights from B (K × N, or N × K when transposed), times alpha. */
static KilnOnnxTensor *
inner_product_weights (Import *ctx, const KilnOnnxNode *node, const KilnOnnxTensor *b,
                       gboolean transposed, float alpha, GError **error)
{
  KilnOnnxTensor *w;

  if (b->n_dims != 2)
    {
      node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                  _("the weights %s have %d dims; Kiln imports 2-D matrices"), b->name, b->n_dims);
      return NULL;
    }
  gint64 n = transposed ? b->dims[0] : b->dims[1];
  gint64 k = transposed ? b->dims[1] : b->dims[0];
  gint64 dims[2] = { n, k };
  w = kiln_onnx_tensor_new ("weight", 2, dims, error);
  if (w == NULL)
    return NULL;
  for (gint64 o = 0; o < n; o++)
    for (gint64 i = 0; i < k; i++)
      w->data[o * k + i] = alpha * (transposed ? b->data[o * k + i] : b->data[i * n + o]);
  return w;
}

static gboolean
import_gemm (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "alpha", "beta", "transA", "transB", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) b = NULL;
  g_autoptr(KilnOnnxTensor) c = NULL;
  g_autoptr(KilnOnnxTensor) weight = NULL;
  g_autoptr(KilnOnnxTensor) bias = NULL;
  const Value *input;
  gint64 trans_a = 0, trans_b = 0;
  float alpha = 1.0f, beta = 1.0f;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "transA", &trans_a, error) ||
      !kiln_onnx_node_get_int (node, "transB", &trans_b, error) ||
      !kiln_onnx_node_get_float (node, "alpha", &alpha, error) ||
      !kiln_onnx_node_get_float (node, "beta", &beta, error))
    return FALSE;
  if ((input = trans_a ? get_value_maybe_transposed (ctx, node, 0, error) : get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  /* Aᵀ is batch first only when A is a transposed batch-first value. */
  if (trans_a && !input->transposed)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("transA = 1 turns “%s” so that its batch lies on the feature axis, mixing the images "
                       "of a batch, while Kiln computes each image on its own; re-export the model with "
                       "transA = 0 (a Transpose just before the Gemm is accepted)"),
                       kiln_onnx_node_get_input (node, 0));
  if (!require_rank (ctx, node, input, 2, error) ||
      (b = get_constant (ctx, node, 1, "weight (B)", error)) == NULL ||
      (weight = inner_product_weights (ctx, node, b, trans_b != 0, alpha, error)) == NULL)
    return FALSE;
  /* beta only scales C; with beta 0 C is ignored, as ONNX says. */
  if (has_input (node, 2) && beta != 0.0f)
    {
      if ((c = get_constant (ctx, node, 2, "bias (C)", error)) == NULL ||
          (bias = bias_vector (ctx, node, c, weight->dims[0], beta, error)) == NULL)
        return FALSE;
    }

  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_INNER_PRODUCT, name);
  if (!to_int (ctx, node, "outputs", weight->dims[0], 1, &layer.num_output, error))
    return FALSE;
  return add_weighted_layer (ctx, node, &layer, input, 2, &weight, &bias, error);
}

static gboolean
import_matmul (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) b = NULL;
  g_autoptr(KilnOnnxTensor) weight = NULL;
  const Value *input;
  int index;

  if (!check_attributes (ctx, node, NULL, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      !require_rank (ctx, node, input, 2, error) ||
      (b = get_constant (ctx, node, 1, "weight (B)", error)) == NULL ||
      (weight = inner_product_weights (ctx, node, b, FALSE, 1.0f, error)) == NULL)
    return FALSE;

  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_INNER_PRODUCT, name);
  layer.bias = FALSE;   /* until an Add supplies one */
  if (!to_int (ctx, node, "outputs", weight->dims[0], 1, &layer.num_output, error) ||
      (index = add_layer (ctx, node, &layer, &input, 1, 2, error)) < 0)
    return FALSE;
  set_value (ctx, kiln_onnx_node_get_output (node, 0), name, 2, index);
  add_weight (ctx, name, "weight", g_steal_pointer (&weight));
  return TRUE;
}

static gboolean
import_add (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *inputs[2];

  if (!check_attributes (ctx, node, NULL, error))
    return FALSE;
  if (kiln_onnx_node_get_n_inputs (node) != 2)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("needs 2 inputs"));

  /* Activation + constant: the bias of the MatMul just before. */
  for (guint i = 0; i < 2; i++)
    {
      const char *other = kiln_onnx_node_get_input (node, 1 - i);
      const Value *value = g_hash_table_lookup (ctx->values, kiln_onnx_node_get_input (node, i));

      if (value == NULL || g_hash_table_contains (ctx->values, other))
        continue;
      const char *source = kiln_onnx_node_get_input (node, i);
      if (value->matmul_layer < 0 || GPOINTER_TO_UINT (g_hash_table_lookup (ctx->uses, source)) != 1)
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("adds the constant %s to %s; Kiln folds a constant Add only into the bias "
                           "of the MatMul that feeds it"), other, source);

      KilnLayerSpec *ip = kiln_net_spec_get_layer (ctx->spec, value->matmul_layer);
      g_autoptr(KilnOnnxTensor) c = get_constant (ctx, node, 1 - i, "bias", error);
      g_autofree char *ip_name = g_strdup (ip->name);
      KilnOnnxTensor *bias;

      if (c == NULL || (bias = bias_vector (ctx, node, c, ip->num_output, 1.0f, error)) == NULL)
        return FALSE;
      ip->bias = TRUE;
      add_weight (ctx, ip_name, "bias", bias);
      set_value (ctx, kiln_onnx_node_get_output (node, 0), ip_name, 2, -1);
      return TRUE;
    }

  if ((inputs[0] = get_value (ctx, node, 0, error)) == NULL ||
      (inputs[1] = get_value (ctx, node, 1, error)) == NULL)
    return FALSE;
  if (inputs[0]->rank != inputs[1]->rank)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("adds a %d-D and a %d-D value; Kiln adds equal shapes only"),
                       inputs[0]->rank, inputs[1]->rank);
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_ADD, name);
  return add_layer (ctx, node, &layer, inputs, 2, inputs[0]->rank, error) >= 0;
}

static gboolean
import_dropout (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known_old[] = { "ratio", NULL };
  static const char *const known_new[] = { "seed", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;

  if (!check_attributes (ctx, node, ctx->opset < 12 ? known_old : known_new, error) ||
      !check_extra_outputs_unused (ctx, node, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_DROPOUT, name);
  layer.ratio = 0.5f;
  if (ctx->opset < 12)
    {
      if (!kiln_onnx_node_get_float (node, "ratio", &layer.ratio, error))
        return FALSE;
    }
  else if (has_input (node, 1))
    {
      /* Opset 12 made the ratio an input; training_mode (input 3) is the
       * engine's business, not the model's. */
      g_autoptr(KilnOnnxTensor) ratio = get_constant (ctx, node, 1, "ratio", error);
      if (ratio == NULL)
        return FALSE;
      if (ratio->n_elements != 1)
        return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the ratio is not a scalar"));
      layer.ratio = ratio->data[0];
    }
  return add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
}

static gboolean
import_batch_norm (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "epsilon", "momentum", "spatial", "training_mode", NULL };
  static const char *const parts[] = { "scale", "bias", "mean", "var" };
  g_auto(KilnLayerSpec) layer = { 0 };
  KilnOnnxTensor *tensors[4] = { NULL, NULL, NULL, NULL };
  const Value *input;
  gint64 spatial = 1, training_mode = 0;
  gboolean ok = FALSE;

  if (!check_attributes (ctx, node, known, error) ||
      !check_extra_outputs_unused (ctx, node, error) ||
      !kiln_onnx_node_get_int (node, "spatial", &spatial, error) ||
      !kiln_onnx_node_get_int (node, "training_mode", &training_mode, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  if (spatial != 1)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("spatial = 0 keeps statistics per position; Kiln normalizes per channel"));
  if (training_mode != 0)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("training_mode = 1 normalizes with batch statistics; export the model in eval mode"));

  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_BATCH_NORM, name);
  if (!kiln_onnx_node_get_float (node, "epsilon", &layer.epsilon, error) ||
      !kiln_onnx_node_get_float (node, "momentum", &layer.momentum, error))
    return FALSE;

  for (guint i = 0; i < 4; i++)
    {
      tensors[i] = get_constant (ctx, node, i + 1, parts[i], error);
      if (tensors[i] == NULL)
        goto out;
      if (tensors[i]->n_dims != 1 || tensors[i]->n_elements != tensors[0]->n_elements)
        {
          g_autofree char *dims = kiln_onnx_tensor_dims_to_string (tensors[i]);
          node_error (ctx, node, error, KILN_ERROR_SHAPE, _("the %s is %s; it must be one value per channel (%"
                      G_GSIZE_FORMAT ")"), parts[i], dims, tensors[0]->n_elements);
          goto out;
        }
    }
  if (add_layer (ctx, node, &layer, &input, 1, input->rank, error) < 0)
    goto out;
  for (guint i = 0; i < 4; i++)
    add_weight (ctx, name, parts[i], g_steal_pointer (&tensors[i]));
  ok = TRUE;

out:
  for (guint i = 0; i < 4; i++)
    kiln_onnx_tensor_free (tensors[i]);
  return ok;
}

/* ---- Shape arithmetic on constants ---------------------------------------- */

/* A 1-D INT64 constant input (a shape, axes or indices). */
static KilnOnnxTensor *
get_int64_vector (Import *ctx, const KilnOnnxNode *node, guint index, const char *what, GError **error)
{
  g_autoptr(KilnOnnxTensor) tensor = get_constant (ctx, node, index, what, error);

  if (tensor == NULL)
    return NULL;
  if (tensor->int64_data == NULL || tensor->n_dims > 1)
    {
      g_autofree char *dims = kiln_onnx_tensor_dims_to_string (tensor);
      node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("the %s is %s %s; Kiln folds 1-D INT64 shapes only"),
                  what, kiln_onnx_data_type_to_string (tensor->data_type), dims);
      return NULL;
    }
  return g_steal_pointer (&tensor);
}

static gboolean
import_shape (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  const Value *input;
  KilnOnnxTensor *shape;
  int c, h, w;

  if (!check_attributes (ctx, node, NULL, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      !value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  gint64 rank = input->rank;
  if ((shape = int64_tensor (1, &rank, error)) == NULL)
    return FALSE;
  set_int64 (shape, 0, BATCH_DIM);
  if (input->rank == 2)
    set_int64 (shape, 1, (gint64) c * h * w);
  else
    {
      /* Rank 3 (N×C×L) runs as C×L×1. */
      set_int64 (shape, 1, c);
      set_int64 (shape, 2, h);
      if (input->rank == 4)
        set_int64 (shape, 3, w);
    }
  set_constant (ctx, node, shape);
  return TRUE;
}

static gboolean
import_gather (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "axis", NULL };
  g_autoptr(KilnOnnxTensor) data = NULL;
  g_autoptr(KilnOnnxTensor) indices = NULL;
  KilnOnnxTensor *result;
  gint64 axis = 0;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error) ||
      (data = get_int64_vector (ctx, node, 0, "data", error)) == NULL ||
      (indices = get_int64_vector (ctx, node, 1, "indices", error)) == NULL)
    return FALSE;
  if (axis != 0 && axis != -1)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("gathers along axis %" G_GINT64_FORMAT), axis);
  if ((result = int64_tensor (indices->n_dims, indices->dims, error)) == NULL)
    return FALSE;
  for (gsize i = 0; i < indices->n_elements; i++)
    {
      gint64 k = indices->int64_data[i];
      if (k < 0)
        k += (gint64) data->n_elements;
      if (k < 0 || k >= (gint64) data->n_elements)
        {
          kiln_onnx_tensor_free (result);
          return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("index %" G_GINT64_FORMAT
                             " is outside the %" G_GSIZE_FORMAT " values"), indices->int64_data[i],
                             data->n_elements);
        }
      set_int64 (result, i, data->int64_data[k]);
    }
  set_constant (ctx, node, result);
  return TRUE;
}

static gboolean
import_unsqueeze (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known_old[] = { "axes", NULL };
  g_autoptr(KilnOnnxTensor) data = NULL;
  g_autoptr(KilnOnnxTensor) axes_tensor = NULL;
  const gint64 *axes = NULL;
  gsize n_axes = 0;
  gboolean inserted[KILN_ONNX_MAX_DIMS] = { FALSE };

  /* Opset 13 moved the axes from an attribute to an input. */
  if (!check_attributes (ctx, node, ctx->opset < 13 ? known_old : NULL, error) ||
      (data = get_constant (ctx, node, 0, "data", error)) == NULL)
    return FALSE;
  if (ctx->opset < 13)
    {
      if (!kiln_onnx_node_get_ints (node, "axes", &axes, &n_axes, error))
        return FALSE;
    }
  else
    {
      if ((axes_tensor = get_int64_vector (ctx, node, 1, "axes", error)) == NULL)
        return FALSE;
      axes = axes_tensor->int64_data;
      n_axes = axes_tensor->n_elements;
    }
  gint64 rank = data->n_dims + (gint64) n_axes;
  if (n_axes == 0 || rank > KILN_ONNX_MAX_DIMS)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("inserts %" G_GSIZE_FORMAT " axes into %d"),
                       n_axes, data->n_dims);
  for (gsize i = 0; i < n_axes; i++)
    {
      gint64 a = axes[i] < 0 ? axes[i] + rank : axes[i];
      if (a < 0 || a >= rank || inserted[a])
        return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("axis %" G_GINT64_FORMAT " is out of range or repeated"),
                           axes[i]);
      inserted[a] = TRUE;
    }
  /* Only the dims change: a 1 at each new axis. */
  gint64 dims[KILN_ONNX_MAX_DIMS];
  for (gint64 a = 0, from = 0; a < rank; a++)
    dims[a] = inserted[a] ? 1 : data->dims[from++];
  memcpy (data->dims, dims, sizeof dims);
  data->n_dims = (int) rank;
  set_constant (ctx, node, g_steal_pointer (&data));
  return TRUE;
}

/* Concat of 1-D INT64 constants: the pieces of a shape. */
static gboolean
fold_concat (Import *ctx, const KilnOnnxNode *node, gint64 axis, GError **error)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (gint64));
  KilnOnnxTensor *result;

  if (axis != 0 && axis != -1)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("joins constants along axis %" G_GINT64_FORMAT "; Kiln folds 1-D shapes only"), axis);
  for (guint i = 0; i < kiln_onnx_node_get_n_inputs (node); i++)
    {
      g_autoptr(KilnOnnxTensor) piece = get_int64_vector (ctx, node, i, "input", error);
      if (piece == NULL)
        return FALSE;
      g_array_append_vals (values, piece->int64_data, piece->n_elements);
    }
  gint64 n = values->len;
  if ((result = int64_tensor (1, &n, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < values->len; i++)
    set_int64 (result, i, g_array_index (values, gint64, i));
  set_constant (ctx, node, result);
  return TRUE;
}

static gboolean
import_concat (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "axis", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree const Value **inputs = NULL;
  guint n = kiln_onnx_node_get_n_inputs (node);
  gint64 axis = G_MININT64;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error))
    return FALSE;
  if (n < 1)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("has no inputs"));
  if (is_constant (ctx, kiln_onnx_node_get_input (node, 0)))
    return fold_concat (ctx, node, axis, error);
  inputs = g_new0 (const Value *, n);
  for (guint i = 0; i < n; i++)
    {
      if ((inputs[i] = get_value (ctx, node, i, error)) == NULL)
        return FALSE;
      if (inputs[i]->rank != inputs[0]->rank)
        return node_error (ctx, node, error, KILN_ERROR_SHAPE, _("joins values of different ranks"));
    }
  if (axis == G_MININT64)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the axis attribute is missing"));
  if (axis < 0)
    axis += inputs[0]->rank;
  if (axis != 1)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("joins along axis %" G_GINT64_FORMAT "; Kiln concatenates channels (axis 1) only"), axis);
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_CONCAT, name);
  return add_layer (ctx, node, &layer, inputs, n, inputs[0]->rank, error) >= 0;
}

/* A Flatten that keeps the batch axis. Rank-2 input is already flat. */
static gboolean
add_flatten (Import *ctx, const KilnOnnxNode *node, const Value *input, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };

  if (input->rank == 2)
    {
      set_value (ctx, kiln_onnx_node_get_output (node, 0), input->layer, 2, -1);
      return TRUE;
    }
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_FLATTEN, name);
  return add_layer (ctx, node, &layer, &input, 1, 2, error) >= 0;
}

static gboolean
import_flatten (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "axis", NULL };
  const Value *input;
  gint64 axis = 1;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  if (axis < 0)
    axis += input->rank;
  if (axis != 1)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("flattens from axis %" G_GINT64_FORMAT "; Kiln flattens from axis 1 (keeping the batch)"),
                       axis);
  return add_flatten (ctx, node, input, error);
}

/* Reshape to (batch, C·H·W): a flatten, as PyTorch's x.view(n, -1) exports.
 * The first entry may be 0 (copy), -1, or the batch size the model was
 * exported with; the net runs at any batch size. */
static gboolean
import_reshape (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "allowzero", NULL };
  g_autoptr(KilnOnnxTensor) shape = NULL;
  const Value *input;
  gint64 allowzero = 0;
  int c, h, w;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "allowzero", &allowzero, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      (shape = get_constant (ctx, node, 1, "shape", error)) == NULL ||
      !value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  if (shape->data_type != KILN_ONNX_TYPE_INT64 || shape->n_dims != 1)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the shape is not a 1-D INT64 tensor"));

  gint64 features = (gint64) c * h * w;
  const gint64 *s = shape->int64_data;
  gboolean flat = shape->n_elements == 2 &&
                  (s[0] == -1 ? s[1] == features
                              : (s[0] > 0 || s[0] == BATCH_DIM || (s[0] == 0 && !allowzero)) &&
                                (s[1] == -1 || s[1] == features));
  if (!flat)
    {
      GString *values = g_string_new (NULL);
      for (gsize i = 0; i < shape->n_elements && i < 8; i++)
        {
          if (s[i] == BATCH_DIM)
            g_string_append_printf (values, "%sbatch", i ? ", " : "");
          else
            g_string_append_printf (values, "%s%" G_GINT64_FORMAT, i ? ", " : "", s[i]);
        }
      node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                  _("reshapes %d×%d×%d to (%s); Kiln imports Reshape only as a flatten to (batch, %"
                  G_GINT64_FORMAT ")"), c, h, w, values->str, features);
      g_string_free (values, TRUE);
      return FALSE;
    }
  return add_flatten (ctx, node, input, error);
}

static gboolean
import_softmax (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "axis", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;
  /* Opset 13 changed the default from 1 (coerce to 2-D) to -1. */
  gint64 axis = ctx->opset < 13 ? 1 : -1;
  int c, h, w;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL ||
      !value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  if (axis < 0)
    axis += input->rank;
  /* Kiln's softmax runs over the channels of each position. Before opset 13
   * ONNX flattened from `axis` on, which is the same only when H = W = 1. */
  gboolean channels = axis == 1 && (input->rank == 2 || (h == 1 && w == 1) || ctx->opset >= 13);
  if (!channels)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                       _("softmax over axis %" G_GINT64_FORMAT " of a %d-D value (%d×%d×%d); "
                       "Kiln's softmax runs over channels (axis 1)"), axis, input->rank, c, h, w);
  g_autofree char *name = layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_SOFTMAX, name);
  return add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
}

static gboolean
import_constant (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "value", "value_float", "value_floats", "value_int", "value_ints", NULL };
  g_autoptr(KilnOnnxTensor) tensor = NULL;

  if (!check_attributes (ctx, node, known, error))
    return FALSE;
  if (kiln_onnx_node_get_n_attributes (node) != 1)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("needs exactly one value attribute"));

  const char *attr = kiln_onnx_node_get_attribute_name (node, 0);
  if (g_str_equal (attr, "value"))
    {
      tensor = kiln_onnx_node_get_tensor (node, "value", error);
      if (tensor == NULL)
        return FALSE;
    }
  else
    {
      const gint64 *ints = NULL;
      const float *floats = NULL;
      gint64 i = 0;
      float f = 0;
      gsize n = 1;

      if (!kiln_onnx_node_get_ints (node, "value_ints", &ints, &n, error) ||
          !kiln_onnx_node_get_floats (node, "value_floats", &floats, &n, error) ||
          !kiln_onnx_node_get_int (node, "value_int", &i, error) ||
          !kiln_onnx_node_get_float (node, "value_float", &f, error))
        return FALSE;
      gint64 dims[1] = { (gint64) n };
      gboolean scalar = g_str_equal (attr, "value_int") || g_str_equal (attr, "value_float");
      tensor = kiln_onnx_tensor_new ("constant", scalar ? 0 : 1, dims, error);
      if (tensor == NULL)
        return FALSE;
      if (g_str_has_suffix (attr, "float") || g_str_has_suffix (attr, "floats"))
        for (gsize k = 0; k < n; k++)
          tensor->data[k] = floats ? floats[k] : f;
      else
        {
          tensor->data_type = KILN_ONNX_TYPE_INT64;
          tensor->int64_data = g_new0 (gint64, MAX (n, 1));
          for (gsize k = 0; k < n; k++)
            set_int64 (tensor, k, ints ? ints[k] : i);
        }
    }
  set_constant (ctx, node, g_steal_pointer (&tensor));
  return TRUE;
}

/* Cast of a constant (opset 7 exports cast Reshape shapes) is folded; a
 * cast of activations to FLOAT passes them through. */
static gboolean
import_cast (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "to", NULL };
  const char *input = has_input (node, 0) ? kiln_onnx_node_get_input (node, 0) : "";
  gint64 to = 0;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "to", &to, error))
    return FALSE;
  if (g_hash_table_contains (ctx->values, input))
    {
      const Value *value = g_hash_table_lookup (ctx->values, input);
      if (to != KILN_ONNX_TYPE_FLOAT)
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("casts activations to %s; Kiln computes in FLOAT"),
                           kiln_onnx_data_type_to_string ((int) to));
      alias_value (ctx, kiln_onnx_node_get_output (node, 0), value, FALSE);
      return TRUE;
    }

  g_autoptr(KilnOnnxTensor) tensor = get_constant (ctx, node, 0, "input", error);
  if (tensor == NULL)
    return FALSE;
  if (to == KILN_ONNX_TYPE_INT64 && tensor->int64_data == NULL)
    {
      tensor->int64_data = g_new0 (gint64, MAX (tensor->n_elements, 1));
      for (gsize i = 0; i < tensor->n_elements; i++)
        {
          /* ±2^62: well inside gint64, and NaN fails the test too. */
          if (!(fabsf (tensor->data[i]) < 4.6e18f))
            return node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                               _("casts %g to INT64, which does not fit"), tensor->data[i]);
          tensor->int64_data[i] = (gint64) tensor->data[i];
        }
    }
  else if (to != KILN_ONNX_TYPE_INT64 && to != KILN_ONNX_TYPE_FLOAT)
    return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("casts a constant to %s"),
                       kiln_onnx_data_type_to_string ((int) to));
  tensor->data_type = (int) to;
  if (to == KILN_ONNX_TYPE_FLOAT)
    g_clear_pointer (&tensor->int64_data, g_free);
  set_constant (ctx, node, g_steal_pointer (&tensor));
  return TRUE;
}

static gboolean
import_identity (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  const char *input = has_input (node, 0) ? kiln_onnx_node_get_input (node, 0) : "";
  const Value *value = g_hash_table_lookup (ctx->values, input);

  if (!check_attributes (ctx, node, NULL, error))
    return FALSE;
  if (value)
    {
      alias_value (ctx, kiln_onnx_node_get_output (node, 0), value, FALSE);
      return TRUE;
    }
  g_autoptr(KilnOnnxTensor) tensor = get_constant (ctx, node, 0, "input", error);
  if (tensor == NULL)
    return FALSE;
  set_constant (ctx, node, g_steal_pointer (&tensor));
  return TRUE;
}

/* PyTorch writes a Pad that adds nothing before 1-D average pooling; such a
 * Pad is the identity. Real padding belongs in the next window's pads. */
static gboolean
import_pad (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "mode", "pads", "value", NULL };
  g_autoptr(KilnOnnxTensor) pads_input = NULL;
  const gint64 *pads = NULL;
  gsize n_pads = 0;
  const Value *input;

  if (!check_attributes (ctx, node, known, error) ||
      (input = get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  if (ctx->opset < 11)
    {
      if (!kiln_onnx_node_get_ints (node, "pads", &pads, &n_pads, error))
        return FALSE;
    }
  else
    {
      if ((pads_input = get_int64_vector (ctx, node, 1, "pads", error)) == NULL)
        return FALSE;
      pads = pads_input->int64_data;
      n_pads = pads_input->n_elements;
    }
  if (pads == NULL || n_pads != 2 * (gsize) input->rank)
    return node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                       _("pads has %" G_GSIZE_FORMAT " values for a %d-D input (2 per axis)"),
                       n_pads, input->rank);
  for (gsize i = 0; i < n_pads; i++)
    if (pads[i] != 0)
      {
        g_autoptr(GString) list = g_string_new (NULL);
        for (gsize j = 0; j < n_pads; j++)
          g_string_append_printf (list, "%s%" G_GINT64_FORMAT, j ? ", " : "", pads[j]);
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("pads [%s]; Kiln imports a Pad only when it adds nothing: re-export with the "
                           "padding in the Conv or pooling node's own pads"), list->str);
      }
  alias_value (ctx, kiln_onnx_node_get_output (node, 0), input, FALSE);
  return TRUE;
}

/* A 2-D Transpose: TF-converted graphs write features × batch then a Gemm
 * with transA = 1, and the two cancel. Kept as a mark on the value. */
static gboolean
import_transpose (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "perm", NULL };
  const gint64 *perm = NULL;
  gsize n_perm = 0;
  const Value *input;

  if (!check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_ints (node, "perm", &perm, &n_perm, error) ||
      (input = get_value_maybe_transposed (ctx, node, 0, error)) == NULL)
    return FALSE;
  gboolean identity = perm != NULL && n_perm == 2 && perm[0] == 0 && perm[1] == 1;
  if (input->rank != 2 || (perm != NULL && !identity && (n_perm != 2 || perm[0] != 1 || perm[1] != 0)))
    {
      g_autoptr(GString) list = g_string_new (NULL);
      for (gsize i = 0; i < n_perm; i++)
        g_string_append_printf (list, "%s%" G_GINT64_FORMAT, i ? ", " : "", perm[i]);
      return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                         _("perm [%s] of a %d-D value; Kiln imports only the 2-D transpose that a Gemm with "
                         "transA = 1 undoes"), perm ? list->str : _("reversed"), input->rank);
    }
  alias_value (ctx, kiln_onnx_node_get_output (node, 0), input, !identity);
  return TRUE;
}

static const struct {
  const char *op_type;
  ImportFunc func;
} importers[] = {
  { "Add", import_add },
  { "AveragePool", import_pool },
  { "BatchNormalization", import_batch_norm },
  { "Cast", import_cast },
  { "Concat", import_concat },
  { "Constant", import_constant },
  { "Conv", import_conv },
  { "Dropout", import_dropout },
  { "Flatten", import_flatten },
  { "Gemm", import_gemm },
  { "Gather", import_gather },
  { "GlobalAveragePool", import_simple },
  { "Identity", import_identity },
  { "LRN", import_lrn },
  { "MatMul", import_matmul },
  { "MaxPool", import_pool },
  { "Pad", import_pad },
  { "Relu", import_simple },
  { "Reshape", import_reshape },
  { "Shape", import_shape },
  { "Softmax", import_softmax },
  { "Transpose", import_transpose },
  { "Unsqueeze", import_unsqueeze },
};

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
  set_value (ctx, found.name, KILN_NET_SPEC_INPUT_NAME, found.n_dims, -1);
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
                   _("%s: layer %s gets %d×%d×%d inputs but its weights are %s (expected %" G_GINT64_FORMAT
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

static gboolean
import_graph (Import *ctx, GError **error)
{
  if (ctx->opset < MIN_OPSET || ctx->opset > MAX_OPSET)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s uses ONNX opset %" G_GINT64_FORMAT "; Kiln imports opsets %d to %d "
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
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("belongs to the operator domain %s; Kiln imports standard ONNX ops"), domain);
      if (kiln_onnx_node_get_n_outputs (node) < 1 || *kiln_onnx_node_get_output (node, 0) == '\0')
        return node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("has no output"));
      for (guint k = 0; k < G_N_ELEMENTS (importers); k++)
        if (g_str_equal (importers[k].op_type, op))
          func = importers[k].func;
      if (func == NULL)
        return node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                           _("Kiln cannot import the op %s (it imports Conv, Relu, LRN, MaxPool, AveragePool, "
                           "GlobalAveragePool, Gemm, MatMul + Add, Dropout, BatchNormalization, Concat, Add, "
                           "Flatten, Reshape to a flatten and Softmax)"), op);
      if (!func (ctx, node, error))
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

gboolean
kiln_onnx_import_spec_from_model (KilnOnnxModel *model,
                                  KilnNetSpec  **spec,
                                  GHashTable   **weights,
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
    }
  import_clear (&ctx);
  return ok;
}

gboolean
kiln_onnx_import_spec (const char   *path,
                       KilnNetSpec **spec,
                       GHashTable  **weights,
                       GError      **error)
{
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load (path, error);

  if (model == NULL)
    return FALSE;
  return kiln_onnx_import_spec_from_model (model, spec, weights, error);
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
