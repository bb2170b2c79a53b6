/* kiln-caffe.c: Caffe NetParameter (binary and text) as a KilnNetSpec: the
 * two dialects read as one, the walk over the net (its input, data layers,
 * in-place blobs, the weight checks after it) and the public entry points;
 * also mean images (.binaryproto). The layers that compute are converted in
 * kiln-caffe-layers.c.
 *
 * Both dialects are read into one Layer view (the V1 enum type becomes the
 * new type name; the parameter messages are shared). Caffe connects layers
 * through named blobs, often in place (ReLU's top is its bottom), so each
 * blob name maps to the Kiln layer that last wrote it. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-caffe-private.h"
#include "kiln-protobuf.h"

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
gboolean
kiln_caffe_layer_error (Import *ctx, const Layer *l, GError **error, int code, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, KILN_ERROR, code, _("%s: %s layer “%s”: %s"), ctx->where, l->type, l->name, message);
  return FALSE;
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
                   _("%s: the input %s has %zu input_dim values; Kiln needs N, C, H and W"),
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
    return ctx->have_input ? TRUE : kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_CORRUPT, _("it has no top blob"));
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
  return kiln_caffe_layer_error (ctx, l, error, KILN_ERROR_UNSUPPORTED,
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
                       _("%s: layer %s gets %d×%d×%d inputs but its weights take %" PRId64
                       " per output (expected %" PRId64 "); the input size does not fit the model"),
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
            return kiln_caffe_layer_error (ctx, &l, error, KILN_ERROR_CORRUPT, _("its bottom is unknown"));
          for (gsize t = 0; t < l.n_top; t++)
            g_hash_table_replace (ctx->blobs, g_strdup (l.top[t]), g_strdup (layer));
          ok = TRUE;
        }
      else if (g_str_equal (l.type, "Convolution"))
        ok = kiln_caffe_import_convolution (ctx, &l, error);
      else if (g_str_equal (l.type, "InnerProduct"))
        ok = kiln_caffe_import_inner_product (ctx, &l, error);
      else if (g_str_equal (l.type, "Pooling"))
        ok = kiln_caffe_import_pooling (ctx, &l, error);
      else if (g_str_equal (l.type, "LRN"))
        ok = kiln_caffe_import_lrn (ctx, &l, error);
      else if (g_str_equal (l.type, "BatchNorm"))
        ok = kiln_caffe_import_batch_norm (ctx, &l, error);
      else if (g_str_equal (l.type, "Scale"))
        ok = kiln_caffe_import_scale (ctx, &l, error);
      else if (g_str_equal (l.type, "ReLU") || g_str_equal (l.type, "Dropout") || g_str_equal (l.type, "Softmax") ||
               g_str_equal (l.type, "Flatten") || g_str_equal (l.type, "Concat") || g_str_equal (l.type, "Eltwise"))
        ok = kiln_caffe_import_simple (ctx, &l, error);
      else
        ok = kiln_caffe_layer_error (ctx, &l, error, KILN_ERROR_UNSUPPORTED,
                                     _("Kiln cannot import this layer type (it imports Convolution, ReLU, LRN, "
                                     "Pooling, InnerProduct, Dropout, BatchNorm + Scale, Concat, Eltwise SUM, "
                                     "Flatten and Softmax)"));
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
          g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED, _("%s is %zu bytes; a "
                       "deploy.prototxt is far smaller (Kiln reads up to %zu MiB)"),
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
                 _("%s is not a mean image: Kiln expects one 1×C×H×W blob whose data fills it (it holds %zu values)"), display_name, MAX (blob->n_data, blob->n_double_data));
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
