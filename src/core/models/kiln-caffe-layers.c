/* kiln-caffe-layers.c: the Caffe layers that compute, as spec layers and
 * weights: Convolution, InnerProduct, Pooling, LRN, BatchNorm (+ Scale),
 * ReLU, Dropout, Softmax, Flatten, Concat and Eltwise SUM, with their blobs
 * read as tensors. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-caffe-private.h"

/* ---- Blobs -------------------------------------------------------------- */

/* A blob's dims (shape, else the legacy num × channels × height × width,
 * where an inner product's N × K is 1 × 1 × N × K) and its values. */
static KilnOnnxTensor *
blob_tensor (Import *ctx, const Layer *l, guint index, GError **error)
{
  const Caffe__BlobProto *blob;
  gint64 dims[KILN_ONNX_MAX_DIMS];
  int n_dims = 0;
  KilnOnnxTensor *tensor;

  if (index >= l->n_blobs)
    {
      kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_NOT_FOUND,
                              _("its blob %u is missing from the .caffemodel (is the prototxt this model's?)"),
                              index + 1);
      return NULL;
    }
  blob = l->blobs[index];
  if (blob->shape)
    {
      if (blob->shape->n_dim > KILN_ONNX_MAX_DIMS)
        {
          kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("blob %u has %zu dims"),
                                  index + 1, blob->shape->n_dim);
          return NULL;
        }
      for (gsize d = 0; d < blob->shape->n_dim; d++)
        dims[n_dims++] = blob->shape->dim[d];
    }
  else
    {
      dims[0] = blob->num, dims[1] = blob->channels, dims[2] = blob->height, dims[3] = blob->width;
      n_dims = 4;
    }
  /* The values must be there before anything is allocated for them: a
   * hostile shape can claim terabytes. */
  gsize n_values = blob->n_data ? blob->n_data : blob->n_double_data;
  guint64 claimed = 1;
  gboolean fits = TRUE;
  for (int d = 0; d < n_dims && fits; d++)
    fits = dims[d] >= 0 && g_uint64_checked_mul (&claimed, claimed, (guint64) dims[d]);
  if (!fits)
    {
      kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("blob %u has a shape whose size overflows"),
                              index + 1);
      return NULL;
    }
  if (claimed != n_values)
    {
      kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT,
                              _("blob %u claims %" PRIu64 " values but holds %zu"),
                              index + 1, claimed, n_values);
      return NULL;
    }
  tensor = kiln_onnx_tensor_new ("blob", n_dims, dims, error);
  if (tensor == NULL)
    {
      g_prefix_error (error, "%s: %s: ", ctx->where, l->name);
      return NULL;
    }
  for (gsize i = 0; i < n_values; i++)
    tensor->data[i] = blob->n_data ? blob->data[i] : (float) blob->double_data[i];
  return tensor;
}

/* ---- Layers ------------------------------------------------------------- */

/* The Kiln layers behind the Caffe bottoms; NULL with an error for an
 * unknown blob. */
static char **
bottoms (Import *ctx, const Layer *l, GError **error)
{
  g_auto(GStrv) names = g_new0 (char *, l->n_bottom + 1);

  if (l->n_bottom == 0)
    {
      kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("it has no bottom blob"));
      return NULL;
    }
  for (gsize i = 0; i < l->n_bottom; i++)
    {
      const char *layer = g_hash_table_lookup (ctx->blobs, l->bottom[i]);
      if (layer == NULL)
        {
          kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT,
                                  _("its bottom %s is not the input or the top of an earlier layer"), l->bottom[i]);
          return NULL;
        }
      names[i] = g_strdup (layer);
    }
  return g_steal_pointer (&names);
}

static char *
unique_name (Import *ctx, const char *base)
{
  char *name = g_strdup (*base ? base : "layer");

  for (guint n = 2; g_str_equal (name, KILN_NET_SPEC_INPUT_NAME) || kiln_net_spec_find_layer (ctx->spec, name) >= 0;
       n++)
    {
      g_free (name);
      name = g_strdup_printf ("%s_%u", *base ? base : "layer", n);
    }
  return name;
}

/* Adds `layer` fed by the layer's bottoms; its top now names it. */
static gboolean
add_layer (Import *ctx, const Layer *l, KilnLayerSpec *layer, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) inputs = bottoms (ctx, l, error);

  if (inputs == NULL)
    return FALSE;
  /* One input that is the previous layer needs no name in the spec. */
  guint n_layers = kiln_net_spec_get_n_layers (ctx->spec);
  const char *previous = n_layers ? kiln_net_spec_get_layer (ctx->spec, n_layers - 1)->name
                                  : KILN_NET_SPEC_INPUT_NAME;
  if (l->n_bottom != 1 || !g_str_equal (inputs[0], previous))
    layer->inputs = g_steal_pointer (&inputs);
  if (!kiln_net_spec_add_layer (ctx->spec, layer, &local_error))
    return kiln_caffe_layer_error (ctx, l, error, local_error->code, "%s", local_error->message);
  for (gsize i = 0; i < MIN (l->n_top, 1); i++)
    g_hash_table_replace (ctx->blobs, g_strdup (l->top[i]), g_strdup (layer->name));
  return TRUE;
}

/* Caffe's repeated pad/kernel_size/stride/dilation: none, one for both
 * axes, or height then width; the _h/_w fields win. */
static gboolean
pair (Import *ctx, const Layer *l, const char *what, gsize n, const guint32 *values, gboolean has_h, guint32 h,
      gboolean has_w, guint32 w, int fallback, int *out_h, int *out_w, GError **error)
{
  if (n > 2)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                   _("%s has %zu values; Kiln imports 2-D layers only"), what, n);
  *out_h = n ? (int) MIN (values[0], G_MAXINT / 2) : fallback;
  *out_w = n ? (int) MIN (values[n - 1], G_MAXINT / 2) : fallback;
  if (has_h)
    *out_h = (int) MIN (h, G_MAXINT / 2);
  if (has_w)
    *out_w = (int) MIN (w, G_MAXINT / 2);
  return TRUE;
}

/* add_layer for a Convolution or InnerProduct, then its weight (taken) and,
 * with a bias term, its bias from blob 2. */
static gboolean
add_weighted_layer (Import *ctx, const Layer *l, KilnLayerSpec *layer, KilnOnnxTensor **weight, GError **error)
{
  g_autoptr(KilnOnnxTensor) bias = NULL;

  if (layer->bias)
    {
      if ((bias = blob_tensor (ctx, l, 1, error)) == NULL)
        return FALSE;
      if (bias->n_elements != (gsize) layer->num_output)
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("the bias has %zu values for %d outputs"), bias->n_elements, layer->num_output);
      bias->dims[0] = layer->num_output;
      bias->n_dims = 1;
    }
  if (!add_layer (ctx, l, layer, error))
    return FALSE;
  kiln_onnx_weights_insert (ctx->weights, layer->name, "weight", g_steal_pointer (weight));
  if (bias)
    kiln_onnx_weights_insert (ctx->weights, layer->name, "bias", g_steal_pointer (&bias));
  return TRUE;
}

gboolean
kiln_caffe_import_convolution (Import *ctx, const Layer *l, GError **error)
{
  const Caffe__ConvolutionParameter *p = l->conv;
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) weight = NULL;
  g_autofree char *name = unique_name (ctx, l->name);
  int pad_h, pad_w;

  if (p == NULL)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("convolution_param is missing"));
  if (p->axis != 1)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                   _("axis %d; Kiln convolves N×C×H×W (axis 1)"), p->axis);
  kiln_layer_spec_init (&layer, KILN_LAYER_CONVOLUTION, name);
  layer.num_output = (int) MIN (p->num_output, G_MAXINT / 2);
  layer.bias = p->bias_term;
  layer.group = (int) MIN (p->group, G_MAXINT / 2);
  if (!pair (ctx, l, "kernel_size", p->n_kernel_size, p->kernel_size, p->has_kernel_h, p->kernel_h,
             p->has_kernel_w, p->kernel_w, 0, &layer.kernel_h, &layer.kernel_w, error) ||
      !pair (ctx, l, "stride", p->n_stride, p->stride, p->has_stride_h, p->stride_h, p->has_stride_w,
             p->stride_w, 1, &layer.stride_h, &layer.stride_w, error) ||
      !pair (ctx, l, "pad", p->n_pad, p->pad, p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, 0,
             &pad_h, &pad_w, error) ||
      !pair (ctx, l, "dilation", p->n_dilation, p->dilation, FALSE, 0, FALSE, 0, 1,
             &layer.dilation_h, &layer.dilation_w, error))
    return FALSE;
  layer.pad_top = layer.pad_bottom = pad_h;
  layer.pad_left = layer.pad_right = pad_w;

  if ((weight = blob_tensor (ctx, l, 0, error)) == NULL)
    return FALSE;
  if (weight->n_dims != 4 || weight->dims[0] != layer.num_output || weight->dims[2] != layer.kernel_h ||
      weight->dims[3] != layer.kernel_w)
    {
      g_autofree char *dims = kiln_onnx_tensor_dims_to_string (weight);
      return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_SHAPE,
                                     _("the weights are %s but num_output %d and kernel %d×%d need %d×C×%d×%d"),
                                     dims, layer.num_output, layer.kernel_h, layer.kernel_w, layer.num_output,
                                     layer.kernel_h, layer.kernel_w);
    }
  return add_weighted_layer (ctx, l, &layer, &weight, error);
}

gboolean
kiln_caffe_import_inner_product (Import *ctx, const Layer *l, GError **error)
{
  const Caffe__InnerProductParameter *p = l->ip;
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) weight = NULL;
  g_autofree char *name = unique_name (ctx, l->name);

  if (p == NULL)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("inner_product_param is missing"));
  if (p->axis != 1 || p->transpose)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                   _("axis %d, transpose %d; Kiln imports axis 1 without transpose"),
                                   p->axis, p->transpose);
  kiln_layer_spec_init (&layer, KILN_LAYER_INNER_PRODUCT, name);
  layer.num_output = (int) MIN (p->num_output, G_MAXINT / 2);
  layer.bias = p->bias_term;
  if ((weight = blob_tensor (ctx, l, 0, error)) == NULL)
    return FALSE;
  /* N × K (legacy 1 × 1 × N × K); Kiln's out × in is the same order. */
  if (layer.num_output < 1 || weight->n_dims < 2 || weight->n_elements % layer.num_output != 0 ||
      weight->dims[weight->n_dims - 2] != layer.num_output)
    {
      g_autofree char *dims = kiln_onnx_tensor_dims_to_string (weight);
      return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("the weights are %s for num_output %d"), dims,
                                     layer.num_output);
    }
  weight->dims[1] = (gint64) (weight->n_elements / layer.num_output);
  weight->n_dims = 2;
  return add_weighted_layer (ctx, l, &layer, &weight, error);
}

gboolean
kiln_caffe_import_pooling (Import *ctx, const Layer *l, GError **error)
{
  const Caffe__PoolingParameter *p = l->pool;
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *name = unique_name (ctx, l->name);
  int pad_h, pad_w;

  if (p == NULL)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("pooling_param is missing"));
  if (p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX && p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                   _("stochastic pooling; Kiln pools MAX or AVE"));
  if (p->global_pooling)
    {
      if (p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE)
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                       _("global MAX pooling; Kiln has global AVE"));
      kiln_layer_spec_init (&layer, KILN_LAYER_GLOBAL_AVG_POOL, name);
      return add_layer (ctx, l, &layer, error);
    }
  kiln_layer_spec_init (&layer, p->pool == CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX ? KILN_LAYER_MAX_POOL
                                                                                      : KILN_LAYER_AVG_POOL, name);
  guint32 kernel = p->kernel_size, stride = p->stride, pad = p->pad;
  if (!pair (ctx, l, "kernel_size", p->has_kernel_size, &kernel, p->has_kernel_h, p->kernel_h, p->has_kernel_w,
             p->kernel_w, 0, &layer.kernel_h, &layer.kernel_w, error) ||
      !pair (ctx, l, "stride", 1, &stride, p->has_stride_h, p->stride_h, p->has_stride_w, p->stride_w, 1,
             &layer.stride_h, &layer.stride_w, error) ||
      !pair (ctx, l, "pad", 1, &pad, p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, 0, &pad_h, &pad_w, error))
    return FALSE;
  layer.pad_top = layer.pad_bottom = pad_h;
  layer.pad_left = layer.pad_right = pad_w;
  layer.rounding = p->round_mode == CAFFE__POOLING_PARAMETER__ROUND_MODE__FLOOR ? KILN_ROUND_FLOOR : KILN_ROUND_CEIL;
  /* Caffe divides by the window clipped to the padded input: the padding
   * counts, what ceil rounding adds past it does not. Without padding that
   * is exactly "exclude padding"; with padding the engine handles it where
   * no window runs past the padded input. */
  layer.count_include_pad = pad_h > 0 || pad_w > 0;
  return add_layer (ctx, l, &layer, error);
}

gboolean
kiln_caffe_import_lrn (Import *ctx, const Layer *l, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *name = unique_name (ctx, l->name);

  kiln_layer_spec_init (&layer, KILN_LAYER_LRN, name);
  /* Caffe's defaults; Caffe divides alpha by local_size, as Kiln does. */
  layer.local_size = 5, layer.alpha = 1.0f, layer.beta = 0.75f, layer.k = 1.0f;
  if (l->lrn)
    {
      if (l->lrn->norm_region != CAFFE__LRNPARAMETER__NORM_REGION__ACROSS_CHANNELS)
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                       _("WITHIN_CHANNEL normalization; Kiln's LRN runs across channels"));
      layer.local_size = (int) MIN (l->lrn->local_size, G_MAXINT / 2);
      layer.alpha = l->lrn->alpha;
      layer.beta = l->lrn->beta;
      layer.k = l->lrn->k;
    }
  return add_layer (ctx, l, &layer, error);
}

/* The BatchNorm layer `value` names, when it was made by one. */
static KilnLayerSpec *
batch_norm_behind (Import *ctx, const char *blob)
{
  const char *layer = g_hash_table_lookup (ctx->blobs, blob);
  int index = layer ? kiln_net_spec_find_layer (ctx->spec, layer) : -1;
  KilnLayerSpec *spec = index >= 0 ? kiln_net_spec_get_layer (ctx->spec, index) : NULL;

  return spec && spec->type == KILN_LAYER_BATCH_NORM ? spec : NULL;
}

gboolean
kiln_caffe_import_batch_norm (Import *ctx, const Layer *l, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *name = unique_name (ctx, l->name);
  KilnOnnxTensor *t[3] = { NULL, NULL, NULL };
  g_autoptr(KilnOnnxTensor) scale = NULL;
  g_autoptr(KilnOnnxTensor) shift = NULL;
  gboolean ok = FALSE;
  gint64 c;

  kiln_layer_spec_init (&layer, KILN_LAYER_BATCH_NORM, name);
  if (l->bn)
    layer.epsilon = l->bn->eps;
  /* Blobs: running mean and variance, both scaled by the third blob's
   * moving-average factor; Caffe's BatchNorm has no scale or shift (a Scale
   * layer after it does). */
  for (guint i = 0; i < 3; i++)
    if ((t[i] = blob_tensor (ctx, l, i, error)) == NULL)
      goto out;
  if (t[1]->n_elements != t[0]->n_elements || t[2]->n_elements != 1)
    {
      kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("its blobs hold %zu, %zu and %zu values; expected C, C and 1"),
                              t[0]->n_elements, t[1]->n_elements, t[2]->n_elements);
      goto out;
    }
  c = (gint64) t[0]->n_elements;
  if ((scale = kiln_onnx_tensor_new ("scale", 1, &c, error)) == NULL ||
      (shift = kiln_onnx_tensor_new ("bias", 1, &c, error)) == NULL)
    goto out;
  float factor = t[2]->data[0] == 0.0f ? 0.0f : 1.0f / t[2]->data[0];
  for (gint64 i = 0; i < c; i++)
    {
      scale->data[i] = 1.0f;
      t[0]->data[i] *= factor;
      t[1]->data[i] *= factor;
    }
  t[0]->n_dims = t[1]->n_dims = 1;
  t[0]->dims[0] = t[1]->dims[0] = c;
  if (!add_layer (ctx, l, &layer, error))
    goto out;
  kiln_onnx_weights_insert (ctx->weights, name, "scale", g_steal_pointer (&scale));
  kiln_onnx_weights_insert (ctx->weights, name, "bias", g_steal_pointer (&shift));
  kiln_onnx_weights_insert (ctx->weights, name, "mean", g_steal_pointer (&t[0]));
  kiln_onnx_weights_insert (ctx->weights, name, "var", g_steal_pointer (&t[1]));
  ok = TRUE;

out:
  for (guint i = 0; i < 3; i++)
    kiln_onnx_tensor_free (t[i]);
  return ok;
}

/* A Scale right after a BatchNorm becomes that BatchNorm's scale and shift. */
gboolean
kiln_caffe_import_scale (Import *ctx, const Layer *l, GError **error)
{
  KilnLayerSpec *bn = l->n_bottom == 1 ? batch_norm_behind (ctx, l->bottom[0]) : NULL;
  guint n_layers = kiln_net_spec_get_n_layers (ctx->spec);

  /* Folding is exact only when nothing has read the BatchNorm's output yet. */
  if (bn && bn != kiln_net_spec_get_layer (ctx->spec, n_layers - 1))
    bn = NULL;
  g_autoptr(KilnOnnxTensor) gamma = NULL;
  g_autoptr(KilnOnnxTensor) beta = NULL;
  gboolean bias_term = l->scale && l->scale->bias_term;

  if (bn == NULL)
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                   _("Kiln imports Scale only directly after a BatchNorm, as its scale and shift"));
  if (l->scale && (l->scale->axis != 1 || l->scale->num_axes != 1))
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                   _("axis %d, num_axes %d; Kiln scales channels"),
                                   l->scale->axis, l->scale->num_axes);
  g_autofree char *scale_key = g_strconcat (bn->name, ".scale", NULL);
  g_autofree char *shift_key = g_strconcat (bn->name, ".bias", NULL);
  KilnOnnxTensor *scale = g_hash_table_lookup (ctx->weights, scale_key);
  KilnOnnxTensor *shift = g_hash_table_lookup (ctx->weights, shift_key);
  if ((gamma = blob_tensor (ctx, l, 0, error)) == NULL ||
      (bias_term && (beta = blob_tensor (ctx, l, 1, error)) == NULL))
    return FALSE;
  if (gamma->n_elements != scale->n_elements || (beta && beta->n_elements != shift->n_elements))
    return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("its blobs do not hold one value per channel (%zu)"), scale->n_elements);
  memcpy (scale->data, gamma->data, scale->n_elements * sizeof (float));
  if (beta)
    memcpy (shift->data, beta->data, shift->n_elements * sizeof (float));
  for (gsize i = 0; i < MIN (l->n_top, 1); i++)
    g_hash_table_replace (ctx->blobs, g_strdup (l->top[i]), g_strdup (bn->name));
  return TRUE;
}

gboolean
kiln_caffe_import_simple (Import *ctx, const Layer *l, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *name = unique_name (ctx, l->name);
  const char *type = l->type;

  if (g_str_equal (type, "ReLU"))
    {
      if (l->relu && l->relu->negative_slope != 0.0f)
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                       _("negative_slope %g (a leaky ReLU); Kiln's ReLU has slope 0"),
                                       l->relu->negative_slope);
      kiln_layer_spec_init (&layer, KILN_LAYER_RELU, name);
    }
  else if (g_str_equal (type, "Dropout"))
    {
      kiln_layer_spec_init (&layer, KILN_LAYER_DROPOUT, name);
      layer.ratio = l->dropout ? l->dropout->dropout_ratio : 0.5f;
    }
  else if (g_str_equal (type, "Softmax"))
    {
      if (l->softmax && l->softmax->axis != 1)
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                       _("axis %d; Kiln's softmax runs over channels"), l->softmax->axis);
      kiln_layer_spec_init (&layer, KILN_LAYER_SOFTMAX, name);
    }
  else if (g_str_equal (type, "Flatten"))
    {
      if (l->flatten && (l->flatten->axis != 1 || l->flatten->end_axis != -1))
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                       _("axis %d to %d; Kiln flattens from axis 1 to the end"),
                                       l->flatten->axis, l->flatten->end_axis);
      kiln_layer_spec_init (&layer, KILN_LAYER_FLATTEN, name);
    }
  else if (g_str_equal (type, "Concat"))
    {
      int axis = !l->concat ? 1 : l->concat->has_axis ? l->concat->axis
                                : l->concat->has_concat_dim ? (int) l->concat->concat_dim : 1;
      if (axis != 1)
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                       _("axis %d; Kiln concatenates channels"), axis);
      kiln_layer_spec_init (&layer, KILN_LAYER_CONCAT, name);
    }
  else /* Eltwise */
    {
      const Caffe__EltwiseParameter *p = l->eltwise;
      gboolean unit = TRUE;
      for (gsize i = 0; p && i < p->n_coeff; i++)
        unit = unit && p->coeff[i] == 1.0f;
      if ((p && p->operation != CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__SUM) || !unit)
        return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                                       _("only a SUM with coefficients 1 is an Add in Kiln"));
      kiln_layer_spec_init (&layer, KILN_LAYER_ADD, name);
    }
  return add_layer (ctx, l, &layer, error);
}
