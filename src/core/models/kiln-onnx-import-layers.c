/* kiln-onnx-import-layers.c: the ONNX ops that become Kiln layers: Conv,
 * MaxPool, AveragePool (with their window attributes), GlobalAveragePool,
 * Relu, LRN, Gemm, MatMul (+ Add as its bias), Add, Dropout,
 * BatchNormalization, Concat, Flatten, Reshape to a flatten, Softmax. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-onnx-import-private.h"

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
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("%s has %zu values for a %u-D input; Kiln imports 1-D and 2-D "
                                   "windows"), name, n, n_axes);
  if (n_axes == 1)
    return kiln_import_to_int (ctx, node, name, v[0], lo, a, error);
  return kiln_import_to_int (ctx, node, name, v[0], lo, a, error) &&
         kiln_import_to_int (ctx, node, name, v[1], lo, b, error);
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
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("kernel_shape is missing"));
  if (layer->kernel_h && (kh != layer->kernel_h || kw != layer->kernel_w))
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_SHAPE,
                                   _("kernel_shape %d×%d differs from the weights' %d×%d"),
                                   kh, kw, layer->kernel_h, layer->kernel_w);
  layer->kernel_h = kh;
  layer->kernel_w = kw;

  if (pads && n_axes == 1)
    {
      if (n_pads != 2)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("pads has %zu values for a 1-D window"), n_pads);
      if (!kiln_import_to_int (ctx, node, "pads", pads[0], 0, &layer->pad_top, error) ||
          !kiln_import_to_int (ctx, node, "pads", pads[1], 0, &layer->pad_bottom, error))
        return FALSE;
    }
  else if (pads)
    {
      if (n_pads != 4)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("pads has %zu values; Kiln imports 1-D and 2-D windows"),
                                       n_pads);
      /* ONNX: all begins, then all ends. */
      if (!kiln_import_to_int (ctx, node, "pads", pads[0], 0, &layer->pad_top, error) ||
          !kiln_import_to_int (ctx, node, "pads", pads[1], 0, &layer->pad_left, error) ||
          !kiln_import_to_int (ctx, node, "pads", pads[2], 0, &layer->pad_bottom, error) ||
          !kiln_import_to_int (ctx, node, "pads", pads[3], 0, &layer->pad_right, error))
        return FALSE;
    }

  if (auto_pad == NULL || g_str_equal (auto_pad, "NOTSET"))
    return TRUE;
  if (layer->pad_top || layer->pad_left || layer->pad_bottom || layer->pad_right)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("has both auto_pad %s and explicit pads"), auto_pad);
  if (g_str_equal (auto_pad, "VALID"))
    return TRUE;
  if (!g_str_equal (auto_pad, "SAME_UPPER") && !g_str_equal (auto_pad, "SAME_LOWER"))
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("auto_pad %s is not an ONNX value"), auto_pad);

  /* SAME: output = ceil(input / stride); the padding depends on the input
   * size (after a Pad still to fold), so it is fixed here for the model's
   * declared size. */
  int c, h, w;
  if (!kiln_import_value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  if (input->pad_node)
    {
      h += input->pad[0] + input->pad[2];
      w += input->pad[1] + input->pad[3];
    }
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
  return kiln_import_node_error (ctx, node, error, KILN_ERROR_SHAPE, _("needs a %d-D input but %s is %d-D%s"),
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

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      (input = kiln_import_get_value_maybe_padded (ctx, node, 0, error)) == NULL ||
      (input->rank != 3 && !require_rank (ctx, node, input, 4, error)) ||
      (weight = kiln_import_get_constant (ctx, node, 1, "weight", error)) == NULL)
    return FALSE;
  if (weight->n_dims != input->rank)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("the weights have %d dims for a %d-D input; Kiln imports 1-D convolutions "
                                   "(3-D weights) and 2-D ones (4-D weights)"), weight->n_dims, input->rank);
  /* N×C×L convolves as C×L×1 with K×1 kernels: the same bytes, one more axis. */
  if (weight->n_dims == 3)
    {
      weight->dims[3] = 1;
      weight->n_dims = 4;
    }
  if (kiln_import_has_input (node, 2) && (bias = kiln_import_get_constant (ctx, node, 2, "bias", error)) == NULL)
    return FALSE;
  if (bias && (bias->n_dims != 1 || bias->dims[0] != weight->dims[0]))
    {
      g_autofree char *dims = kiln_onnx_tensor_dims_to_string (bias);
      return kiln_import_node_error (ctx, node, error, KILN_ERROR_SHAPE,
                                     _("the bias is %s but there are %" PRId64 " output channels"),
                                     dims, weight->dims[0]);
    }

  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_CONVOLUTION, name);
  if (!kiln_import_to_int (ctx, node, "output channels", weight->dims[0], 1, &layer.num_output, error) ||
      !kiln_import_to_int (ctx, node, "kernel height", weight->dims[2], 1, &layer.kernel_h, error) ||
      !kiln_import_to_int (ctx, node, "kernel width", weight->dims[3], 1, &layer.kernel_w, error) ||
      !kiln_onnx_node_get_int (node, "group", &group, error) ||
      !kiln_import_to_int (ctx, node, "group", group, 1, &layer.group, error) ||
      !parse_window (ctx, node, input, &layer, error) ||
      !kiln_import_fold_pad (ctx, node, &input, &layer, error))
    return FALSE;
  return kiln_import_add_weighted_layer (ctx, node, &layer, input, input->rank, &weight, &bias, error);
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

  if (!kiln_import_check_attributes (ctx, node, is_max ? max_known : avg_known, error) ||
      !kiln_import_check_extra_outputs_unused (ctx, node, error) ||
      (input = kiln_import_get_value_maybe_padded (ctx, node, 0, error)) == NULL ||
      (input->rank != 3 && !require_rank (ctx, node, input, 4, error)))
    return FALSE;

  /* N×C×L pools as C×L×1 with L×1 windows. */
  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, is_max ? KILN_LAYER_MAX_POOL : KILN_LAYER_AVG_POOL, name);
  if (!parse_window (ctx, node, input, &layer, error) ||
      !kiln_onnx_node_get_int (node, "ceil_mode", &ceil_mode, error) ||
      !kiln_onnx_node_get_int (node, "count_include_pad", &count_include_pad, error))
    return FALSE;
  if (layer.dilation_h != 1 || layer.dilation_w != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("dilations %d×%d; Kiln pools without dilation"),
                                   layer.dilation_h, layer.dilation_w);
  layer.rounding = ceil_mode ? KILN_ROUND_CEIL : KILN_ROUND_FLOOR;
  layer.count_include_pad = count_include_pad != 0;
  return kiln_import_fold_pad (ctx, node, &input, &layer, error) &&
         kiln_import_add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
}

/* Relu, GlobalAveragePool: no attributes, one input, same rank. */
static gboolean
import_simple (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  gboolean global = g_str_equal (kiln_onnx_node_get_op_type (node), "GlobalAveragePool");
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;

  if (!kiln_import_check_attributes (ctx, node, NULL, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL ||
      (global && input->rank != 3 && !require_rank (ctx, node, input, 4, error)))
    return FALSE;
  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, global ? KILN_LAYER_GLOBAL_AVG_POOL : KILN_LAYER_RELU, name);
  return kiln_import_add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
}

static gboolean
import_lrn (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "alpha", "beta", "bias", "size", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;
  gint64 size = 0;

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL ||
      !require_rank (ctx, node, input, 4, error))
    return FALSE;
  g_autofree char *name = kiln_import_layer_name (ctx, node);
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
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the size attribute is missing"));
  if (!kiln_import_to_int (ctx, node, "size", size, 1, &layer.local_size, error))
    return FALSE;
  return kiln_import_add_layer (ctx, node, &layer, &input, 1, 4, error) >= 0;
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
      kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                              _("the bias %s is %s; Kiln's inner product needs one value per output (%"
                              PRId64 ")"),
                              c->name, shape, n);
      return NULL;
    }
  /* M × N with M equal rows is a per-output bias written out per sample. */
  gboolean rows_equal = c->n_dims == 2 && n > 0 && c->n_elements == (gsize) (c->dims[0] * n);
  for (gsize i = n; rows_equal && i < c->n_elements; i++)
    rows_equal = c->data[i] == c->data[i % n];
  if (c->n_dims == 2 && c->dims[0] != 1 && !rows_equal)
    {
      kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                              _("the bias %s varies across the batch; Kiln's inner product has one bias per "
                              "output"), c->name);
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
      kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
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

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "transA", &trans_a, error) ||
      !kiln_onnx_node_get_int (node, "transB", &trans_b, error) ||
      !kiln_onnx_node_get_float (node, "alpha", &alpha, error) ||
      !kiln_onnx_node_get_float (node, "beta", &beta, error))
    return FALSE;
  if ((input = trans_a ? kiln_import_get_value_maybe_transposed (ctx, node, 0, error)
                       : kiln_import_get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  /* Aᵀ is batch first only when A is a transposed batch-first value. */
  if (trans_a && !input->transposed)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("transA = 1 turns “%s” so that its batch lies on the feature axis, mixing the "
                                   "images of a batch, while Kiln computes each image on its own; re-export the "
                                   "model with transA = 0 (a Transpose just before the Gemm is accepted)"),
                                   kiln_onnx_node_get_input (node, 0));
  if (!require_rank (ctx, node, input, 2, error) ||
      (b = kiln_import_get_constant (ctx, node, 1, "weight (B)", error)) == NULL ||
      (weight = inner_product_weights (ctx, node, b, trans_b != 0, alpha, error)) == NULL)
    return FALSE;
  /* beta only scales C; with beta 0 C is ignored, as ONNX says. */
  if (kiln_import_has_input (node, 2) && beta != 0.0f)
    {
      if ((c = kiln_import_get_constant (ctx, node, 2, "bias (C)", error)) == NULL ||
          (bias = bias_vector (ctx, node, c, weight->dims[0], beta, error)) == NULL)
        return FALSE;
    }

  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_INNER_PRODUCT, name);
  if (!kiln_import_to_int (ctx, node, "outputs", weight->dims[0], 1, &layer.num_output, error))
    return FALSE;
  return kiln_import_add_weighted_layer (ctx, node, &layer, input, 2, &weight, &bias, error);
}

static gboolean
import_matmul (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) b = NULL;
  g_autoptr(KilnOnnxTensor) weight = NULL;
  const Value *input;
  int index;

  if (!kiln_import_check_attributes (ctx, node, NULL, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL ||
      !require_rank (ctx, node, input, 2, error) ||
      (b = kiln_import_get_constant (ctx, node, 1, "weight (B)", error)) == NULL ||
      (weight = inner_product_weights (ctx, node, b, FALSE, 1.0f, error)) == NULL)
    return FALSE;

  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_INNER_PRODUCT, name);
  layer.bias = FALSE;   /* until an Add supplies one */
  if (!kiln_import_to_int (ctx, node, "outputs", weight->dims[0], 1, &layer.num_output, error) ||
      (index = kiln_import_add_layer (ctx, node, &layer, &input, 1, 2, error)) < 0)
    return FALSE;
  kiln_import_set_value (ctx, kiln_onnx_node_get_output (node, 0), name, 2, index);
  kiln_import_add_weight (ctx, name, "weight", g_steal_pointer (&weight));
  return TRUE;
}

static gboolean
import_add (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *inputs[2];

  if (!kiln_import_check_attributes (ctx, node, NULL, error))
    return FALSE;
  if (kiln_onnx_node_get_n_inputs (node) != 2)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("needs 2 inputs"));

  /* Activation + constant: the bias of the MatMul just before. */
  for (guint i = 0; i < 2; i++)
    {
      const char *other = kiln_onnx_node_get_input (node, 1 - i);
      const Value *value = g_hash_table_lookup (ctx->values, kiln_onnx_node_get_input (node, i));

      if (value == NULL || g_hash_table_contains (ctx->values, other))
        continue;
      const char *source = kiln_onnx_node_get_input (node, i);
      if (value->matmul_layer < 0 || GPOINTER_TO_UINT (g_hash_table_lookup (ctx->uses, source)) != 1)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("adds the constant %s to %s; Kiln folds a constant Add only into the bias "
                                       "of the MatMul that feeds it"), other, source);

      KilnLayerSpec *ip = kiln_net_spec_get_layer (ctx->spec, value->matmul_layer);
      g_autoptr(KilnOnnxTensor) c = kiln_import_get_constant (ctx, node, 1 - i, "bias", error);
      g_autofree char *ip_name = g_strdup (ip->name);
      KilnOnnxTensor *bias;

      if (c == NULL || (bias = bias_vector (ctx, node, c, ip->num_output, 1.0f, error)) == NULL)
        return FALSE;
      ip->bias = TRUE;
      kiln_import_add_weight (ctx, ip_name, "bias", bias);
      kiln_import_set_value (ctx, kiln_onnx_node_get_output (node, 0), ip_name, 2, -1);
      return TRUE;
    }

  if ((inputs[0] = kiln_import_get_value (ctx, node, 0, error)) == NULL ||
      (inputs[1] = kiln_import_get_value (ctx, node, 1, error)) == NULL)
    return FALSE;
  if (inputs[0]->rank != inputs[1]->rank)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("adds a %d-D and a %d-D value; Kiln adds equal shapes only"),
                                   inputs[0]->rank, inputs[1]->rank);
  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_ADD, name);
  return kiln_import_add_layer (ctx, node, &layer, inputs, 2, inputs[0]->rank, error) >= 0;
}

static gboolean
import_dropout (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known_old[] = { "ratio", NULL };
  static const char *const known_new[] = { "seed", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  const Value *input;

  if (!kiln_import_check_attributes (ctx, node, ctx->opset < 12 ? known_old : known_new, error) ||
      !kiln_import_check_extra_outputs_unused (ctx, node, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_DROPOUT, name);
  layer.ratio = 0.5f;
  if (ctx->opset < 12)
    {
      if (!kiln_onnx_node_get_float (node, "ratio", &layer.ratio, error))
        return FALSE;
    }
  else if (kiln_import_has_input (node, 1))
    {
      /* Opset 12 made the ratio an input; training_mode (input 3) is the
       * engine's business, not the model's. */
      g_autoptr(KilnOnnxTensor) ratio = kiln_import_get_constant (ctx, node, 1, "ratio", error);
      if (ratio == NULL)
        return FALSE;
      if (ratio->n_elements != 1)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the ratio is not a scalar"));
      layer.ratio = ratio->data[0];
    }
  return kiln_import_add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
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

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_import_check_extra_outputs_unused (ctx, node, error) ||
      !kiln_onnx_node_get_int (node, "spatial", &spatial, error) ||
      !kiln_onnx_node_get_int (node, "training_mode", &training_mode, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  if (spatial != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("spatial = 0 keeps statistics per position; Kiln normalizes per channel"));
  if (training_mode != 0)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("training_mode = 1 normalizes with batch statistics; export the model in eval "
                                   "mode"));

  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_BATCH_NORM, name);
  if (!kiln_onnx_node_get_float (node, "epsilon", &layer.epsilon, error) ||
      !kiln_onnx_node_get_float (node, "momentum", &layer.momentum, error))
    return FALSE;

  for (guint i = 0; i < 4; i++)
    {
      tensors[i] = kiln_import_get_constant (ctx, node, i + 1, parts[i], error);
      if (tensors[i] == NULL)
        goto out;
      if (tensors[i]->n_dims != 1 || tensors[i]->n_elements != tensors[0]->n_elements)
        {
          g_autofree char *dims = kiln_onnx_tensor_dims_to_string (tensors[i]);
          kiln_import_node_error (ctx, node, error, KILN_ERROR_SHAPE,
                                  _("the %s is %s; it must be one value per channel (%zu)"),
                                  parts[i], dims, tensors[0]->n_elements);
          goto out;
        }
    }
  if (kiln_import_add_layer (ctx, node, &layer, &input, 1, input->rank, error) < 0)
    goto out;
  for (guint i = 0; i < 4; i++)
    kiln_import_add_weight (ctx, name, parts[i], g_steal_pointer (&tensors[i]));
  ok = TRUE;

out:
  for (guint i = 0; i < 4; i++)
    kiln_onnx_tensor_free (tensors[i]);
  return ok;
}

static gboolean
import_concat (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "axis", NULL };
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree const Value **inputs = NULL;
  guint n = kiln_onnx_node_get_n_inputs (node);
  gint64 axis = G_MININT64;

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error))
    return FALSE;
  if (n < 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("has no inputs"));
  if (kiln_import_is_constant (ctx, kiln_onnx_node_get_input (node, 0)))
    return kiln_import_fold_concat (ctx, node, axis, error);
  inputs = g_new0 (const Value *, n);
  for (guint i = 0; i < n; i++)
    {
      if ((inputs[i] = kiln_import_get_value (ctx, node, i, error)) == NULL)
        return FALSE;
      if (inputs[i]->rank != inputs[0]->rank)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_SHAPE, _("joins values of different ranks"));
    }
  if (axis == G_MININT64)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the axis attribute is missing"));
  if (axis < 0)
    axis += inputs[0]->rank;
  if (axis != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("joins along axis %" PRId64 "; Kiln concatenates channels (axis 1) "
                                   "only"), axis);
  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_CONCAT, name);
  return kiln_import_add_layer (ctx, node, &layer, inputs, n, inputs[0]->rank, error) >= 0;
}

/* A Flatten that keeps the batch axis. Rank-2 input is already flat. */
static gboolean
add_flatten (Import *ctx, const KilnOnnxNode *node, const Value *input, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };

  if (input->rank == 2)
    {
      kiln_import_set_value (ctx, kiln_onnx_node_get_output (node, 0), input->layer, 2, -1);
      return TRUE;
    }
  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_FLATTEN, name);
  return kiln_import_add_layer (ctx, node, &layer, &input, 1, 2, error) >= 0;
}

static gboolean
import_flatten (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "axis", NULL };
  const Value *input;
  gint64 axis = 1;

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL)
    return FALSE;
  if (axis < 0)
    axis += input->rank;
  if (axis != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("flattens from axis %" PRId64 "; Kiln flattens from axis 1 (keeping "
                                   "the batch)"), axis);
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

  if (kiln_import_has_input (node, 0) && kiln_import_is_constant (ctx, kiln_onnx_node_get_input (node, 0)))
    return kiln_import_fold_reshape (ctx, node, error);
  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "allowzero", &allowzero, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL ||
      (shape = kiln_import_get_constant (ctx, node, 1, "shape", error)) == NULL ||
      !kiln_import_value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  if (shape->data_type != KILN_ONNX_TYPE_INT64 || shape->n_dims != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("the shape is not a 1-D INT64 tensor"));

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
      kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                              _("reshapes %d×%d×%d to (%s); Kiln imports Reshape only as a flatten to (batch, %"
                              PRId64 ")"), c, h, w, values->str, features);
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

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL ||
      !kiln_import_value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  if (axis < 0)
    axis += input->rank;
  /* Kiln's softmax runs over the channels of each position. Before opset 13
   * ONNX flattened from `axis` on, which is the same only when H = W = 1. */
  gboolean channels = axis == 1 && (input->rank == 2 || (h == 1 && w == 1) || ctx->opset >= 13);
  if (!channels)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("softmax over axis %" PRId64 " of a %d-D value (%d×%d×%d); "
                                   "Kiln's softmax runs over channels (axis 1)"), axis, input->rank, c, h, w);
  g_autofree char *name = kiln_import_layer_name (ctx, node);
  kiln_layer_spec_init (&layer, KILN_LAYER_SOFTMAX, name);
  return kiln_import_add_layer (ctx, node, &layer, &input, 1, input->rank, error) >= 0;
}

/* The converters of the ops that become layers, by ONNX op type. */
const ImportOp kiln_import_layer_ops[] = {
  { "Add", import_add },
  { "AveragePool", import_pool },
  { "BatchNormalization", import_batch_norm },
  { "Concat", import_concat },
  { "Conv", import_conv },
  { "Dropout", import_dropout },
  { "Flatten", import_flatten },
  { "Gemm", import_gemm },
  { "GlobalAveragePool", import_simple },
  { "LRN", import_lrn },
  { "MatMul", import_matmul },
  { "MaxPool", import_pool },
  { "Relu", import_simple },
  { "Reshape", import_reshape },
  { "Softmax", import_softmax },
  { NULL, NULL }
};
