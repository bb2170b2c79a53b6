/* kiln-caffe.c: Caffe NetParameter (binary and text) as a KilnNetSpec.
 *
 * Both dialects are read into one Layer view (the V1 enum type becomes the
 * new type name; the parameter messages are shared). Caffe connects layers
 * through named blobs, often in place (ReLU's top is its bottom), so each
 * blob name maps to the Kiln layer that last wrote it. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "caffe.pb-c.h"
#include "kiln-caffe.h"
#include "kiln-error.h"
#include "kiln-onnx.h"
#include "kiln-protobuf.h"

typedef struct {
  const char *name;
  const char *type;
  size_t n_bottom;
  char **bottom;
  size_t n_top;
  char **top;
  size_t n_blobs;
  Caffe__BlobProto **blobs;
  Caffe__ConvolutionParameter *conv;
  Caffe__PoolingParameter *pool;
  Caffe__LRNParameter *lrn;
  Caffe__InnerProductParameter *ip;
  Caffe__DropoutParameter *dropout;
  Caffe__ConcatParameter *concat;
  Caffe__EltwiseParameter *eltwise;
  Caffe__FlattenParameter *flatten;
  Caffe__ReLUParameter *relu;
  Caffe__SoftmaxParameter *softmax;
  Caffe__BatchNormParameter *bn;
  Caffe__ScaleParameter *scale;
  Caffe__InputParameter *input;
  Caffe__TransformationParameter *transform;
} Layer;

typedef struct {
  const char *where;
  KilnNetSpec *spec;
  GHashTable *weights;   /* key → KilnOnnxTensor* */
  GHashTable *blobs;     /* Caffe blob name → Kiln layer name (or "data"); owned strings */
  GHashTable *params;    /* Caffe layer name → Layer* in the model (its blobs) */
  gboolean have_input;
} Import;

/* The V1 enum names Kiln handles, as the new dialect spells them. */
static const struct {
  Caffe__V1LayerParameter__LayerType v1;
  const char *type;
} v1_types[] = {
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__ACCURACY, "Accuracy" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__CONCAT, "Concat" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__CONVOLUTION, "Convolution" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__DATA, "Data" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__DROPOUT, "Dropout" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__DUMMY_DATA, "DummyData" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__ELTWISE, "Eltwise" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__FLATTEN, "Flatten" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__HDF5_DATA, "HDF5Data" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__IMAGE_DATA, "ImageData" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__INNER_PRODUCT, "InnerProduct" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__LRN, "LRN" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__MEMORY_DATA, "MemoryData" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__POOLING, "Pooling" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__RELU, "ReLU" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SILENCE, "Silence" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SOFTMAX, "Softmax" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SOFTMAX_LOSS, "SoftmaxWithLoss" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__SPLIT, "Split" },
  { CAFFE__V1_LAYER_PARAMETER__LAYER_TYPE__WINDOW_DATA, "WindowData" },
};

static const char *const data_types[] = {
  "Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData", "Input", NULL,
};
static const char *const ignored_types[] = {
  "Accuracy", "SoftmaxWithLoss", "Silence", "EuclideanLoss", "HingeLoss", "InfogainLoss",
  "MultinomialLogisticLoss", "SigmoidCrossEntropyLoss", "ContrastiveLoss", NULL,
};

static void
layer_from_new (Layer *l, const Caffe__LayerParameter *p)
{
  *l = (Layer) {
    .name = p->name ? p->name : "", .type = p->type ? p->type : "",
    .n_bottom = p->n_bottom, .bottom = p->bottom, .n_top = p->n_top, .top = p->top,
    .n_blobs = p->n_blobs, .blobs = p->blobs,
    .conv = p->convolution_param, .pool = p->pooling_param, .lrn = p->lrn_param,
    .ip = p->inner_product_param, .dropout = p->dropout_param, .concat = p->concat_param,
    .eltwise = p->eltwise_param, .flatten = p->flatten_param, .relu = p->relu_param,
    .softmax = p->softmax_param, .bn = p->batch_norm_param, .scale = p->scale_param,
    .input = p->input_param, .transform = p->transform_param,
  };
}

static void
layer_from_v1 (Layer *l, const Caffe__V1LayerParameter *p)
{
  const char *type = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (v1_types) && type == NULL; i++)
    if (v1_types[i].v1 == p->type)
      type = v1_types[i].type;
  if (type == NULL)
    {
      const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&caffe__v1_layer_parameter__layer_type__descriptor, p->type);
      type = value ? value->name : "(unknown V1 type)";
    }
  *l = (Layer) {
    .name = p->name ? p->name : "", .type = type,
    .n_bottom = p->n_bottom, .bottom = p->bottom, .n_top = p->n_top, .top = p->top,
    .n_blobs = p->n_blobs, .blobs = p->blobs,
    .conv = p->convolution_param, .pool = p->pooling_param, .lrn = p->lrn_param,
    .ip = p->inner_product_param, .dropout = p->dropout_param, .concat = p->concat_param,
    .eltwise = p->eltwise_param, .relu = p->relu_param, .softmax = p->softmax_param,
    .transform = p->transform_param,
  };
}

/* The layers of either dialect (the new one wins when both are present). */
static GArray *
net_layers (const Caffe__NetParameter *net)
{
  GArray *layers = g_array_new (FALSE, TRUE, sizeof (Layer));

  if (net->n_layer > 0)
    {
      g_array_set_size (layers, net->n_layer);
      for (gsize i = 0; i < net->n_layer; i++)
        layer_from_new (&g_array_index (layers, Layer, i), net->layer[i]);
    }
  else
    {
      g_array_set_size (layers, net->n_layers);
      for (gsize i = 0; i < net->n_layers; i++)
        layer_from_v1 (&g_array_index (layers, Layer, i), net->layers[i]);
    }
  return layers;
}

G_GNUC_PRINTF (5, 6)
static gboolean
layer_error (Import *ctx, const Layer *l, GError **error, int code, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, KILN_ERROR, code, _("%s: %s layer “%s”: %s"), ctx->where, l->type, l->name, message);
  return FALSE;
}

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
      layer_error (ctx, l, error, KILN_ERROR_NOT_FOUND,
                   _("its blob %u is missing from the .caffemodel (is the prototxt this model's?)"), index + 1);
      return NULL;
    }
  blob = l->blobs[index];
  if (blob->shape)
    {
      if (blob->shape->n_dim > KILN_ONNX_MAX_DIMS)
        {
          layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("blob %u has %" G_GSIZE_FORMAT " dims"),
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
      layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("blob %u has a shape whose size overflows"), index + 1);
      return NULL;
    }
  if (claimed != n_values)
    {
      layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("blob %u claims %" G_GUINT64_FORMAT " values but holds %"
                   G_GSIZE_FORMAT), index + 1, claimed, n_values);
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
      layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("it has no bottom blob"));
      return NULL;
    }
  for (gsize i = 0; i < l->n_bottom; i++)
    {
      const char *layer = g_hash_table_lookup (ctx->blobs, l->bottom[i]);
      if (layer == NULL)
        {
          layer_error (ctx, l, error, KILN_ERROR_CORRUPT,
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
    return layer_error (ctx, l, error, local_error->code, "%s", local_error->message);
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
    return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                        _("%s has %" G_GSIZE_FORMAT " values; Kiln imports 2-D layers only"), what, n);
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
        return layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("the bias has %" G_GSIZE_FORMAT
                            " values for %d outputs"), bias->n_elements, layer->num_output);
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

static gboolean
import_convolution (Import *ctx, const Layer *l, GError **error)
{
  const Caffe__ConvolutionParameter *p = l->conv;
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) weight = NULL;
  g_autofree char *name = unique_name (ctx, l->name);
  int pad_h, pad_w;

  if (p == NULL)
    return layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("convolution_param is missing"));
  if (p->axis != 1)
    return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED, _("axis %d; Kiln convolves N×C×H×W (axis 1)"),
                        p->axis);
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
      return layer_error (ctx, l, error, KILN_ERROR_SHAPE,
                          _("the weights are %s but num_output %d and kernel %d×%d need %d×C×%d×%d"),
                          dims, layer.num_output, layer.kernel_h, layer.kernel_w, layer.num_output,
                          layer.kernel_h, layer.kernel_w);
    }
  return add_weighted_layer (ctx, l, &layer, &weight, error);
}

static gboolean
import_inner_product (Import *ctx, const Layer *l, GError **error)
{
  const Caffe__InnerProductParameter *p = l->ip;
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(KilnOnnxTensor) weight = NULL;
  g_autofree char *name = unique_name (ctx, l->name);

  if (p == NULL)
    return layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("inner_product_param is missing"));
  if (p->axis != 1 || p->transpose)
    return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                        _("axis %d, transpose %d; Kiln imports axis 1 without transpose"), p->axis, p->transpose);
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
      return layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("the weights are %s for num_output %d"), dims,
                          layer.num_output);
    }
  weight->dims[1] = (gint64) (weight->n_elements / layer.num_output);
  weight->n_dims = 2;
  return add_weighted_layer (ctx, l, &layer, &weight, error);
}

static gboolean
import_pooling (Import *ctx, const Layer *l, GError **error)
{
  const Caffe__PoolingParameter *p = l->pool;
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *name = unique_name (ctx, l->name);
  int pad_h, pad_w;

  if (p == NULL)
    return layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("pooling_param is missing"));
  if (p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX && p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE)
    return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED, _("stochastic pooling; Kiln pools MAX or AVE"));
  if (p->global_pooling)
    {
      if (p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__AVE)
        return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED, _("global MAX pooling; Kiln has global AVE"));
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

static gboolean
import_lrn (Import *ctx, const Layer *l, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *name = unique_name (ctx, l->name);

  kiln_layer_spec_init (&layer, KILN_LAYER_LRN, name);
  /* Caffe's defaults; Caffe divides alpha by local_size, as Kiln does. */
  layer.local_size = 5, layer.alpha = 1.0f, layer.beta = 0.75f, layer.k = 1.0f;
  if (l->lrn)
    {
      if (l->lrn->norm_region != CAFFE__LRNPARAMETER__NORM_REGION__ACROSS_CHANNELS)
        return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
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

static gboolean
import_batch_norm (Import *ctx, const Layer *l, GError **error)
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
      layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("its blobs hold %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                   " and %" G_GSIZE_FORMAT " values; expected C, C and 1"),
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
static gboolean
import_scale (Import *ctx, const Layer *l, GError **error)
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
    return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                        _("Kiln imports Scale only directly after a BatchNorm, as its scale and shift"));
  if (l->scale && (l->scale->axis != 1 || l->scale->num_axes != 1))
    return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED, _("axis %d, num_axes %d; Kiln scales channels"),
                        l->scale->axis, l->scale->num_axes);
  g_autofree char *scale_key = g_strconcat (bn->name, ".scale", NULL);
  g_autofree char *shift_key = g_strconcat (bn->name, ".bias", NULL);
  KilnOnnxTensor *scale = g_hash_table_lookup (ctx->weights, scale_key);
  KilnOnnxTensor *shift = g_hash_table_lookup (ctx->weights, shift_key);
  if ((gamma = blob_tensor (ctx, l, 0, error)) == NULL ||
      (bias_term && (beta = blob_tensor (ctx, l, 1, error)) == NULL))
    return FALSE;
  if (gamma->n_elements != scale->n_elements || (beta && beta->n_elements != shift->n_elements))
    return layer_error (ctx, l, error, KILN_ERROR_SHAPE, _("its blobs do not hold one value per channel (%"
                        G_GSIZE_FORMAT ")"), scale->n_elements);
  memcpy (scale->data, gamma->data, scale->n_elements * sizeof (float));
  if (beta)
    memcpy (shift->data, beta->data, shift->n_elements * sizeof (float));
  for (gsize i = 0; i < MIN (l->n_top, 1); i++)
    g_hash_table_replace (ctx->blobs, g_strdup (l->top[i]), g_strdup (bn->name));
  return TRUE;
}

static gboolean
import_simple (Import *ctx, const Layer *l, GError **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autofree char *name = unique_name (ctx, l->name);
  const char *type = l->type;

  if (g_str_equal (type, "ReLU"))
    {
      if (l->relu && l->relu->negative_slope != 0.0f)
        return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                            _("negative_slope %g (a leaky ReLU); Kiln's ReLU has slope 0"), l->relu->negative_slope);
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
        return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED, _("axis %d; Kiln's softmax runs over channels"),
                            l->softmax->axis);
      kiln_layer_spec_init (&layer, KILN_LAYER_SOFTMAX, name);
    }
  else if (g_str_equal (type, "Flatten"))
    {
      if (l->flatten && (l->flatten->axis != 1 || l->flatten->end_axis != -1))
        return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                            _("axis %d to %d; Kiln flattens from axis 1 to the end"),
                            l->flatten->axis, l->flatten->end_axis);
      kiln_layer_spec_init (&layer, KILN_LAYER_FLATTEN, name);
    }
  else if (g_str_equal (type, "Concat"))
    {
      int axis = !l->concat ? 1 : l->concat->has_axis ? l->concat->axis
                                : l->concat->has_concat_dim ? (int) l->concat->concat_dim : 1;
      if (axis != 1)
        return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED, _("axis %d; Kiln concatenates channels"), axis);
      kiln_layer_spec_init (&layer, KILN_LAYER_CONCAT, name);
    }
  else /* Eltwise */
    {
      const Caffe__EltwiseParameter *p = l->eltwise;
      gboolean unit = TRUE;
      for (gsize i = 0; p && i < p->n_coeff; i++)
        unit = unit && p->coeff[i] == 1.0f;
      if ((p && p->operation != CAFFE__ELTWISE_PARAMETER__ELTWISE_OP__SUM) || !unit)
        return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                            _("only a SUM with coefficients 1 is an Add in Kiln"));
      kiln_layer_spec_init (&layer, KILN_LAYER_ADD, name);
    }
  return add_layer (ctx, l, &layer, error);
}

/* ---- The net ------------------------------------------------------------ */

static gboolean
set_input (Import *ctx, const char *blob, gsize n_dims, const gint64 *dims, const char *from, GError **error)
{
  if (ctx->have_input)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s declares a second input %s; Kiln imports nets with one image input"), ctx->where, blob);
      return FALSE;
    }
  if (n_dims != 4 || dims[1] < 1 || dims[2] < 1 || dims[3] < 1 ||
      dims[1] > G_MAXINT / 2 || dims[2] > G_MAXINT / 2 || dims[3] > G_MAXINT / 2)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: the input %s (%s) is not N×C×H×W with positive sizes"), ctx->where, blob, from);
      return FALSE;
    }
  kiln_net_spec_set_input (ctx->spec, (int) dims[1], (int) dims[2], (int) dims[3]);
  g_hash_table_replace (ctx->blobs, g_strdup (blob), g_strdup (KILN_NET_SPEC_INPUT_NAME));
  ctx->have_input = TRUE;
  return TRUE;
}

/* NetParameter's own input / input_shape / input_dim. */
static gboolean
net_input (Import *ctx, const Caffe__NetParameter *net, GError **error)
{
  gint64 dims[4];

  if (net->n_input == 0)
    return TRUE;
  if (net->n_input_shape > 0)
    {
      const Caffe__BlobShape *shape = net->input_shape[0];
      for (gsize d = 0; d < MIN (shape->n_dim, 4); d++)
        dims[d] = shape->dim[d];
      return set_input (ctx, net->input[0], shape->n_dim, dims, "input_shape", error);
    }
  for (gsize d = 0; d < MIN (net->n_input_dim, 4); d++)
    dims[d] = net->input_dim[d];
  if (net->n_input_dim < 4)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: the input %s has %" G_GSIZE_FORMAT " input_dim values; Kiln needs N, C, H and W"),
                   ctx->where, net->input[0], net->n_input_dim);
      return FALSE;
    }
  return set_input (ctx, net->input[0], 4, dims, "input_dim", error);
}

/* A data layer: its first top is the input; its size comes from an Input
 * layer's shape or, for a training net, the crop size and the channels of
 * the first convolution's weights. */
static gboolean
data_layer (Import *ctx, const Layer *l, GArray *layers, GError **error)
{
  gint64 dims[4] = { 1, 0, 0, 0 };

  if (l->n_top == 0 || ctx->have_input)
    return ctx->have_input ? TRUE : layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("it has no top blob"));
  if (l->input && l->input->n_shape > 0)
    {
      const Caffe__BlobShape *shape = l->input->shape[0];
      for (gsize d = 0; d < MIN (shape->n_dim, 4); d++)
        dims[d] = shape->dim[d];
      return set_input (ctx, l->top[0], shape->n_dim, dims, "input_param", error);
    }
  guint32 crop = l->transform ? l->transform->crop_size : 0;
  for (guint i = 0; i < layers->len && crop > 0; i++)
    {
      const Layer *conv = &g_array_index (layers, Layer, i);
      const Layer *params = g_hash_table_lookup (ctx->params, conv->name);
      if (!g_str_equal (conv->type, "Convolution") || params == NULL || params->n_blobs == 0)
        continue;
      const Caffe__BlobProto *w = params->blobs[0];
      gint64 c = w->shape && w->shape->n_dim == 4 ? w->shape->dim[1] : w->channels;
      dims[1] = c * (conv->conv ? MAX (conv->conv->group, 1) : 1);
      dims[2] = dims[3] = crop;
      return set_input (ctx, l->top[0], 4, dims, "crop_size and the first convolution", error);
    }
  return layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
                      _("the model does not say its input size; give its deploy.prototxt"));
}

/* Inner products and convolutions against the inferred input sizes. */
static gboolean
check_weights (Import *ctx, GError **error)
{
  for (guint i = 0; i < kiln_net_spec_get_n_layers (ctx->spec); i++)
    {
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (ctx->spec, i);
      if (layer->type != KILN_LAYER_CONVOLUTION && layer->type != KILN_LAYER_INNER_PRODUCT)
        continue;
      g_autofree char *key = g_strconcat (layer->name, ".weight", NULL);
      const KilnOnnxTensor *w = g_hash_table_lookup (ctx->weights, key);
      g_autoptr(GArray) inputs = kiln_net_spec_get_layer_inputs (ctx->spec, i);
      int j = g_array_index (inputs, int, 0), c, h, wd;
      if (j < 0)
        kiln_net_spec_get_input (ctx->spec, &c, &h, &wd);
      else
        {
          const KilnLayerShape *s = kiln_net_spec_get_shape (ctx->spec, j);
          c = s->c, h = s->h, wd = s->w;
        }
      gint64 expected = layer->type == KILN_LAYER_CONVOLUTION ? c / layer->group : (gint64) c * h * wd;
      if (w->dims[1] != expected)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                       _("%s: layer %s gets %d×%d×%d inputs but its weights take %" G_GINT64_FORMAT
                       " per output (expected %" G_GINT64_FORMAT "); the input size does not fit the model"),
                       ctx->where, layer->name, c, h, wd, w->dims[1], expected);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
import_net (Import *ctx, const Caffe__NetParameter *model, const Caffe__NetParameter *deploy, GError **error)
{
  const Caffe__NetParameter *structure = deploy ? deploy : model;
  g_autoptr(GArray) model_layers = net_layers (model);
  g_autoptr(GArray) layers = deploy ? net_layers (deploy) : g_array_ref (model_layers);
  g_autoptr(GError) local_error = NULL;

  for (guint i = 0; i < model_layers->len; i++)
    {
      Layer *l = &g_array_index (model_layers, Layer, i);
      g_hash_table_replace (ctx->params, (gpointer) l->name, l);
    }
  if (!net_input (ctx, structure, error))
    return FALSE;

  for (guint i = 0; i < layers->len; i++)
    {
      Layer l = g_array_index (layers, Layer, i);
      const Layer *params = g_hash_table_lookup (ctx->params, l.name);
      gboolean ok;

      /* The structure's hyper-parameters, the model's blobs. */
      if (deploy)
        {
          l.n_blobs = params ? params->n_blobs : 0;
          l.blobs = params ? params->blobs : NULL;
        }
      if (g_strv_contains (data_types, l.type))
        ok = data_layer (ctx, &l, layers, error);
      else if (g_strv_contains (ignored_types, l.type))
        ok = TRUE;
      else if (g_str_equal (l.type, "Split"))
        {
          const char *layer = l.n_bottom ? g_hash_table_lookup (ctx->blobs, l.bottom[0]) : NULL;
          if (layer == NULL)
            return layer_error (ctx, &l, error, KILN_ERROR_CORRUPT, _("its bottom is unknown"));
          for (gsize t = 0; t < l.n_top; t++)
            g_hash_table_replace (ctx->blobs, g_strdup (l.top[t]), g_strdup (layer));
          ok = TRUE;
        }
      else if (g_str_equal (l.type, "Convolution"))
        ok = import_convolution (ctx, &l, error);
      else if (g_str_equal (l.type, "InnerProduct"))
        ok = import_inner_product (ctx, &l, error);
      else if (g_str_equal (l.type, "Pooling"))
        ok = import_pooling (ctx, &l, error);
      else if (g_str_equal (l.type, "LRN"))
        ok = import_lrn (ctx, &l, error);
      else if (g_str_equal (l.type, "BatchNorm"))
        ok = import_batch_norm (ctx, &l, error);
      else if (g_str_equal (l.type, "Scale"))
        ok = import_scale (ctx, &l, error);
      else if (g_str_equal (l.type, "ReLU") || g_str_equal (l.type, "Dropout") || g_str_equal (l.type, "Softmax") ||
               g_str_equal (l.type, "Flatten") || g_str_equal (l.type, "Concat") || g_str_equal (l.type, "Eltwise"))
        ok = import_simple (ctx, &l, error);
      else
        ok = layer_error (ctx, &l, error, KILN_ERROR_UNSUPPORTED,
                          _("Kiln cannot import this layer type (it imports Convolution, ReLU, LRN, Pooling, "
                          "InnerProduct, Dropout, BatchNorm + Scale, Concat, Eltwise SUM, Flatten and Softmax)"));
      if (!ok)
        return FALSE;
    }

  if (!ctx->have_input)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s does not say its input size; give its deploy.prototxt"), ctx->where);
      return FALSE;
    }
  if (kiln_net_spec_get_n_layers (ctx->spec) == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED, _("%s has no layers Kiln can run"), ctx->where);
      return FALSE;
    }
  /* Caffe floors convolutions and rounds pooling up. */
  kiln_net_spec_set_exact_fit (ctx->spec, FALSE);
  if (!kiln_net_spec_infer_shapes (ctx->spec, &local_error))
    {
      g_set_error (error, KILN_ERROR, local_error->code, "%s: %s", ctx->where, local_error->message);
      return FALSE;
    }
  return check_weights (ctx, error);
}

static void
free_message (gpointer message)
{
  protobuf_c_message_free_unpacked (message, NULL);
}

gboolean
kiln_caffe_import_from_data (const guint8 *model_data,
                             gsize         model_length,
                             const char   *model_name,
                             const char   *prototxt,
                             gsize         prototxt_length,
                             const char   *prototxt_name,
                             KilnNetSpec **spec,
                             GHashTable  **weights,
                             GError      **error)
{
  Import ctx = { 0 };
  ProtobufCAllocator allocator;
  KilnProtobufBudget budget;
  Caffe__NetParameter *model;
  Caffe__NetParameter *deploy = NULL;
  g_autofree char *base = g_path_get_basename (model_name);
  char *dot = strrchr (base, '.');
  gboolean ok;

  g_return_val_if_fail (spec != NULL && weights != NULL, FALSE);

  if (prototxt)
    {
      if (prototxt_length > KILN_CAFFE_MAX_TEXT_SIZE)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED, _("%s is %" G_GSIZE_FORMAT " bytes; a "
                       "deploy.prototxt is far smaller (Kiln reads up to %" G_GSIZE_FORMAT " MiB)"),
                       prototxt_name, prototxt_length, KILN_CAFFE_MAX_TEXT_SIZE >> 20);
          return FALSE;
        }
      deploy = (Caffe__NetParameter *) kiln_protobuf_parse_text (&caffe__net_parameter__descriptor, prototxt,
                                                                 prototxt_length, prototxt_name, error);
      if (deploy == NULL)
        return FALSE;
    }
  model = (Caffe__NetParameter *) kiln_protobuf_unpack (&caffe__net_parameter__descriptor, model_data,
                                                        model_length, model_name, "Caffe", &allocator, &budget,
                                                        error);
  if (model == NULL)
    {
      g_clear_pointer (&deploy, free_message);
      return FALSE;
    }

  if (dot && dot != base)
    *dot = '\0';
  ctx.where = model_name;
  ctx.spec = kiln_net_spec_new (*base ? base : "caffe", 1, 1, 1);
  ctx.weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) kiln_onnx_tensor_free);
  ctx.blobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx.params = g_hash_table_new (g_str_hash, g_str_equal);

  ok = import_net (&ctx, model, deploy, error);
  if (ok)
    {
      *spec = g_steal_pointer (&ctx.spec);
      *weights = g_steal_pointer (&ctx.weights);
    }
  g_clear_object (&ctx.spec);
  g_clear_pointer (&ctx.weights, g_hash_table_unref);
  g_hash_table_unref (ctx.blobs);
  g_hash_table_unref (ctx.params);
  protobuf_c_message_free_unpacked (&model->base, &allocator);
  g_clear_pointer (&deploy, free_message);
  return ok;
}

gboolean
kiln_caffe_import (const char   *caffemodel,
                   const char   *prototxt,
                   KilnNetSpec **spec,
                   GHashTable  **weights,
                   GError      **error)
{
  g_autoptr(GMappedFile) mapped = kiln_protobuf_map_file (caffemodel, _("give the path of a .caffemodel file"),
                                                          error);
  g_autoptr(GMappedFile) text = NULL;

  if (mapped == NULL)
    return FALSE;
  if (prototxt && (text = kiln_protobuf_map_file (prototxt, _("give the path of a deploy.prototxt"), error)) == NULL)
    return FALSE;
  return kiln_caffe_import_from_data ((const guint8 *) g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped), caffemodel,
                                      text ? g_mapped_file_get_contents (text) : NULL,
                                      text ? g_mapped_file_get_length (text) : 0, prototxt, spec, weights, error);
}

/* ---- Mean images -------------------------------------------------------- */

float *
kiln_caffe_load_mean_from_data (const guint8 *data,
                                gsize         length,
                                const char   *display_name,
                                int          *channels,
                                int          *height,
                                int          *width,
                                GError      **error)
{
  ProtobufCAllocator allocator;
  KilnProtobufBudget budget;
  Caffe__BlobProto *blob;
  gint64 dims[4] = { 0 };
  gsize n_dims = 0;
  float *mean = NULL;

  blob = (Caffe__BlobProto *) kiln_protobuf_unpack (&caffe__blob_proto__descriptor, data, length, display_name,
                                                    "Caffe", &allocator, &budget, error);
  if (blob == NULL)
    return NULL;
  if (blob->shape)
    {
      n_dims = blob->shape->n_dim;
      for (gsize d = 0; d < MIN (n_dims, 4); d++)
        dims[d] = blob->shape->dim[d];
    }
  else
    {
      n_dims = 4;
      dims[0] = blob->num, dims[1] = blob->channels, dims[2] = blob->height, dims[3] = blob->width;
    }
  /* 1 × C × H × W or C × H × W. */
  if (n_dims == 3)
    {
      memmove (dims + 1, dims, 3 * sizeof (gint64));
      dims[0] = 1;
      n_dims = 4;
    }
  guint64 n = 0;
  gboolean fits = n_dims == 4 && dims[0] == 1;
  for (int d = 1; fits && d < 4; d++)
    fits = dims[d] >= 1 && dims[d] <= 1 << 16;
  if (fits)
    n = (guint64) dims[1] * dims[2] * dims[3];
  if (!fits || (blob->n_data != n && blob->n_double_data != n))
    g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                 _("%s is not a mean image: Kiln expects one 1×C×H×W blob whose data fills it (it holds %"
                 G_GSIZE_FORMAT " values)"), display_name, MAX (blob->n_data, blob->n_double_data));
  else
    {
      mean = g_new (float, n);
      for (guint64 i = 0; i < n; i++)
        mean[i] = blob->n_data ? blob->data[i] : (float) blob->double_data[i];
      *channels = (int) dims[1];
      *height = (int) dims[2];
      *width = (int) dims[3];
    }
  protobuf_c_message_free_unpacked (&blob->base, &allocator);
  return mean;
}

float *
kiln_caffe_load_mean (const char *path,
                      int        *channels,
                      int        *height,
                      int        *width,
                      GError    **error)
{
  g_autoptr(GMappedFile) mapped = kiln_protobuf_map_file (path, _("give the path of a .binaryproto mean file"),
                                                          error);

  if (mapped == NULL)
    return NULL;
  return kiln_caffe_load_mean_from_data ((const guint8 *) g_mapped_file_get_contents (mapped),
                                         g_mapped_file_get_length (mapped), path, channels, height, width, error);
}
