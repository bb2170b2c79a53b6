/* kiln-onnx-export.c: a KilnNet as an ONNX ModelProto.
 *
 * The messages are protobuf-c structs filled in place; everything they
 * point to (strings, arrays, parameter copies) is kept in one list and freed
 * after packing. Values are named after the layer that computes them,
 * except the graph's input and output, which take the names asked for. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-onnx-export.h"
#include "kiln-version.h"
#include "kiln-window.h"
#include "onnx.pb-c.h"

typedef struct {
  KilnNet *net;
  KilnNetSpec *spec;
  GPtrArray *keep;          /* freed with g_free after packing */
  GPtrArray *nodes;         /* Onnx__NodeProto* (in keep) */
  GPtrArray *initializers;  /* Onnx__TensorProto* (in keep) */
  int *ranks;               /* per layer: 2 (N×F) or 4 (N×C×H×W) */
  const char *input_name, *output_name;
  char **values;            /* per layer: the name of its output value (in keep) */
} Export;

static gpointer
keep (Export *ex, gpointer pointer)
{
  g_ptr_array_add (ex->keep, pointer);
  return pointer;
}

static char *
keep_string (Export *ex, const char *string)
{
  return keep (ex, g_strdup (string));
}

static Onnx__AttributeProto *
new_attribute (Export *ex, const char *name, Onnx__AttributeProto__AttributeType type)
{
  Onnx__AttributeProto *attr = keep (ex, g_new0 (Onnx__AttributeProto, 1));

  onnx__attribute_proto__init (attr);
  attr->name = keep_string (ex, name);
  attr->has_type = TRUE;
  attr->type = type;
  return attr;
}

static void
add_attribute (Export *ex, Onnx__NodeProto *node, Onnx__AttributeProto *attr)
{
  Onnx__AttributeProto **attrs = keep (ex, g_new0 (Onnx__AttributeProto *, node->n_attribute + 1));

  if (node->n_attribute)
    memcpy (attrs, node->attribute, node->n_attribute * sizeof *attrs);
  attrs[node->n_attribute++] = attr;
  node->attribute = attrs;
}

static void
set_int (Export *ex, Onnx__NodeProto *node, const char *name, gint64 value)
{
  Onnx__AttributeProto *attr = new_attribute (ex, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

  attr->has_i = TRUE;
  attr->i = value;
  add_attribute (ex, node, attr);
}

static void
set_float (Export *ex, Onnx__NodeProto *node, const char *name, float value)
{
  Onnx__AttributeProto *attr = new_attribute (ex, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);

  attr->has_f = TRUE;
  attr->f = value;
  add_attribute (ex, node, attr);
}

static void
set_ints (Export *ex, Onnx__NodeProto *node, const char *name, guint n, const gint64 *values)
{
  Onnx__AttributeProto *attr = new_attribute (ex, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);

  attr->n_ints = n;
  attr->ints = keep (ex, g_memdup2 (values, n * sizeof (gint64)));
  add_attribute (ex, node, attr);
}

static void
set_string (Export *ex, Onnx__NodeProto *node, const char *name, const char *value)
{
  Onnx__AttributeProto *attr = new_attribute (ex, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);

  attr->has_s = TRUE;
  attr->s.len = strlen (value);
  attr->s.data = (guint8 *) keep_string (ex, value);
  add_attribute (ex, node, attr);
}

/* A node reading `inputs` (NULL-terminated) and writing `output`. */
static Onnx__NodeProto *
add_node (Export *ex, const char *op_type, const char *name, const char *const *inputs, const char *output)
{
  Onnx__NodeProto *node = keep (ex, g_new0 (Onnx__NodeProto, 1));
  guint n = g_strv_length ((char **) inputs);

  onnx__node_proto__init (node);
  node->op_type = keep_string (ex, op_type);
  node->name = keep_string (ex, name);
  node->n_input = n;
  node->input = keep (ex, g_new0 (char *, n + 1));
  for (guint i = 0; i < n; i++)
    node->input[i] = keep_string (ex, inputs[i]);
  node->n_output = 1;
  node->output = keep (ex, g_new0 (char *, 1));
  node->output[0] = keep_string (ex, output);
  g_ptr_array_add (ex->nodes, node);
  return node;
}

/* A FLOAT initializer; takes `data`. */
static void
add_initializer (Export *ex, const char *name, guint n_dims, const gint64 *dims, float *data, gsize n)
{
  Onnx__TensorProto *tensor = keep (ex, g_new0 (Onnx__TensorProto, 1));

  onnx__tensor_proto__init (tensor);
  tensor->name = keep_string (ex, name);
  tensor->n_dims = n_dims;
  tensor->dims = keep (ex, g_memdup2 (dims, MAX (n_dims, 1) * sizeof (gint64)));
  tensor->has_data_type = TRUE;
  tensor->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tensor->n_float_data = n;
  tensor->float_data = keep (ex, data);
  g_ptr_array_add (ex->initializers, tensor);
}

/* A 1-D INT64 initializer (a Pad's pads). */
static void
add_int64_initializer (Export *ex, const char *name, const gint64 *values, gsize n)
{
  Onnx__TensorProto *tensor = keep (ex, g_new0 (Onnx__TensorProto, 1));
  gint64 dims[1] = { (gint64) n };

  onnx__tensor_proto__init (tensor);
  tensor->name = keep_string (ex, name);
  tensor->n_dims = 1;
  tensor->dims = keep (ex, g_memdup2 (dims, sizeof dims));
  tensor->has_data_type = TRUE;
  tensor->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  tensor->n_int64_data = n;
  tensor->int64_data = keep (ex, g_memdup2 (values, n * sizeof (gint64)));
  g_ptr_array_add (ex->initializers, tensor);
}

/* Parameter `index` of `layer` as an initializer "<layer>.<suffix>" with
 * ONNX's dims: 4-D for convolution weights, 2-D (out × in) for inner
 * products, 1-D for biases and BatchNorm vectors. */
static gboolean
add_param (Export *ex, const KilnLayerSpec *layer, guint index, const char *suffix, GError **error)
{
  g_autofree char *name = g_strconcat (layer->name, ".", suffix, NULL);
  KilnShape shape;
  gint64 dims[4];
  guint n_dims;
  float *data;

  if (!kiln_net_get_param_shape (ex->net, layer->name, index, &shape, error))
    return FALSE;
  gint64 n = kiln_shape_n_elements (&shape);
  data = g_try_new (float, MAX (n, 1));
  if (data == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, _("Not enough memory to export %s (%" PRId64
                   " values)"), name, n);
      return FALSE;
    }
  if (!kiln_net_get_param (ex->net, layer->name, index, data, n, error))
    {
      g_free (data);
      return FALSE;
    }
  if (layer->type == KILN_LAYER_CONVOLUTION && index == 0)
    {
      dims[0] = shape.n, dims[1] = shape.c, dims[2] = shape.h, dims[3] = shape.w;
      n_dims = 4;
    }
  else if (layer->type == KILN_LAYER_INNER_PRODUCT && index == 0)
    {
      dims[0] = shape.n, dims[1] = (gint64) shape.c * shape.h * shape.w;
      n_dims = 2;
    }
  else
    {
      dims[0] = n;
      n_dims = 1;
    }
  add_initializer (ex, name, n_dims, dims, data, (gsize) n);
  return TRUE;
}

static Onnx__ValueInfoProto *
value_info (Export *ex, const char *name, int rank, int c, int h, int w)
{
  Onnx__ValueInfoProto *info = keep (ex, g_new0 (Onnx__ValueInfoProto, 1));
  Onnx__TypeProto *type = keep (ex, g_new0 (Onnx__TypeProto, 1));
  Onnx__TypeProto__Tensor *tensor = keep (ex, g_new0 (Onnx__TypeProto__Tensor, 1));
  Onnx__TensorShapeProto *shape = keep (ex, g_new0 (Onnx__TensorShapeProto, 1));
  const gint64 sizes[4] = { -1, rank == 2 ? (gint64) c * h * w : c, h, w };

  onnx__value_info_proto__init (info);
  onnx__type_proto__init (type);
  onnx__type_proto__tensor__init (tensor);
  onnx__tensor_shape_proto__init (shape);
  shape->n_dim = rank;
  shape->dim = keep (ex, g_new0 (Onnx__TensorShapeProto__Dimension *, rank));
  for (int d = 0; d < rank; d++)
    {
      Onnx__TensorShapeProto__Dimension *dim = keep (ex, g_new0 (Onnx__TensorShapeProto__Dimension, 1));
      onnx__tensor_shape_proto__dimension__init (dim);
      if (d == 0)
        {
          dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          dim->dim_param = keep_string (ex, "N");
        }
      else
        {
          dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          dim->dim_value = sizes[d];
        }
      shape->dim[d] = dim;
    }
  tensor->has_elem_type = TRUE;
  tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tensor->shape = shape;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tensor;
  info->name = keep_string (ex, name);
  info->type = type;
  return info;
}

/* Input C × H × W and rank of input `k` of layer `index`. */
static void
input_of (Export *ex, GArray *inputs, guint k, int *rank, int *c, int *h, int *w)
{
  int j = g_array_index (inputs, int, k);

  if (j < 0)
    {
      kiln_net_spec_get_input (ex->spec, c, h, w);
      *rank = 4;
      return;
    }
  const KilnLayerShape *shape = kiln_net_spec_get_shape (ex->spec, j);
  *c = shape->c, *h = shape->h, *w = shape->w;
  *rank = ex->ranks[j];
}

static const char *
input_name (Export *ex, GArray *inputs, guint k)
{
  int j = g_array_index (inputs, int, k);

  return j < 0 ? ex->input_name : ex->values[j];
}

/* Whether @name is taken by a layer's value (below @n_named), a layer
 * name, or the graph's input or output. */
static gboolean
name_taken (Export *ex, const char *name, guint n_named)
{
  if (g_str_equal (name, ex->input_name) || g_str_equal (name, ex->output_name) ||
      kiln_net_spec_find_layer (ex->spec, name) >= 0)
    return TRUE;
  for (guint i = 0; i < n_named; i++)
    if (g_str_equal (name, ex->values[i]))
      return TRUE;
  return FALSE;
}

/* Each layer's value is the layer's name; the last one's is the graph
 * output. A layer named like the graph's input or output gets its value
 * renamed instead ("conv1_2"). */
static void
name_values (Export *ex)
{
  guint n_layers = kiln_net_spec_get_n_layers (ex->spec);

  ex->values = keep (ex, g_new0 (char *, n_layers));
  for (guint i = 0; i < n_layers; i++)
    {
      const char *base = kiln_net_spec_get_layer (ex->spec, i)->name;
      char *name;

      if (i == n_layers - 1)
        name = g_strdup (ex->output_name);
      else if (!g_str_equal (base, ex->input_name) && !g_str_equal (base, ex->output_name))
        name = g_strdup (base);
      else
        {
          name = NULL;
          for (guint n = 2; name == NULL || name_taken (ex, name, i); n++)
            {
              g_free (name);
              name = g_strdup_printf ("%s_%u", base, n);
            }
        }
      ex->values[i] = keep (ex, name);
    }
}

/* Kernel, strides, pads (ONNX order: begins, then ends) and dilations. */
static void
set_window (Export *ex, Onnx__NodeProto *node, const KilnLayerSpec *layer, gboolean dilations)
{
  const gint64 kernel[2] = { layer->kernel_h, layer->kernel_w };
  const gint64 strides[2] = { layer->stride_h, layer->stride_w };
  const gint64 pads[4] = { layer->pad_top, layer->pad_left, layer->pad_bottom, layer->pad_right };
  const gint64 dil[2] = { layer->dilation_h, layer->dilation_w };

  set_ints (ex, node, "kernel_shape", 2, kernel);
  set_ints (ex, node, "strides", 2, strides);
  set_ints (ex, node, "pads", 4, pads);
  if (dilations)
    set_ints (ex, node, "dilations", 2, dil);
}

/* ONNX's ceil_mode keeps a last window that starts in the end padding;
 * Kiln (like Caffe and PyTorch) drops it, so such a layer has no ONNX form. */
static gboolean
check_pool_size (Export *ex, const KilnLayerSpec *layer, int in_h, int in_w, const KilnLayerShape *out,
                 GError **error)
{
  const int in[2] = { in_h, in_w }, k[2] = { layer->kernel_h, layer->kernel_w };
  const int s[2] = { layer->stride_h, layer->stride_w };
  const int p0[2] = { layer->pad_top, layer->pad_left }, p1[2] = { layer->pad_bottom, layer->pad_right };
  const int got[2] = { out->h, out->w };

  for (int i = 0; i < 2; i++)
    {
      KilnWindowExtent e;
      if (kiln_window_extent (in[i], k[i], s[i], 1, p0[i], p1[i], layer->rounding, &e) && e.dropped_last)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                       _("%s: ONNX computes %" PRId64 " outputs along %s where Kiln computes %d (its "
                       "last ceil-mode window starts in the padding); reduce the end padding to export it"),
                       layer->name, e.size + 1, i == 0 ? _("the height") : _("the width"), got[i]);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
export_layer (Export *ex, guint index, GError **error)
{
  const KilnLayerSpec *layer = kiln_net_spec_get_layer (ex->spec, index);
  const KilnLayerShape *shape = kiln_net_spec_get_shape (ex->spec, index);
  g_autoptr(GArray) inputs = kiln_net_spec_get_layer_inputs (ex->spec, index);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  Onnx__NodeProto *node;
  int rank, c, h, w;

  input_of (ex, inputs, 0, &rank, &c, &h, &w);
  for (guint k = 0; k < inputs->len; k++)
    g_ptr_array_add (names, g_strdup (input_name (ex, inputs, k)));
  ex->ranks[index] = rank;

  switch (layer->type)
    {
    case KILN_LAYER_CONVOLUTION:
      g_ptr_array_add (names, g_strconcat (layer->name, ".weight", NULL));
      if (layer->bias)
        g_ptr_array_add (names, g_strconcat (layer->name, ".bias", NULL));
      g_ptr_array_add (names, NULL);
      node = add_node (ex, "Conv", layer->name, (const char * const *) names->pdata, ex->values[index]);
      set_window (ex, node, layer, TRUE);
      set_int (ex, node, "group", layer->group);
      return add_param (ex, layer, 0, "weight", error) && (!layer->bias || add_param (ex, layer, 1, "bias", error));

    case KILN_LAYER_RELU:
      g_ptr_array_add (names, NULL);
      add_node (ex, "Relu", layer->name, (const char * const *) names->pdata, ex->values[index]);
      return TRUE;

    case KILN_LAYER_LRN:
      g_ptr_array_add (names, NULL);
      node = add_node (ex, "LRN", layer->name, (const char * const *) names->pdata, ex->values[index]);
      set_int (ex, node, "size", layer->local_size);
      set_float (ex, node, "alpha", layer->alpha);
      set_float (ex, node, "beta", layer->beta);
      set_float (ex, node, "bias", layer->k);
      return TRUE;

    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
      if (!check_pool_size (ex, layer, h, w, shape, error))
        return FALSE;
      g_ptr_array_add (names, NULL);
      node = add_node (ex, layer->type == KILN_LAYER_MAX_POOL ? "MaxPool" : "AveragePool", layer->name,
                       (const char * const *) names->pdata, ex->values[index]);
      set_window (ex, node, layer, FALSE);
      if (layer->rounding == KILN_ROUND_CEIL)
        set_int (ex, node, "ceil_mode", 1);
      if (layer->type == KILN_LAYER_AVG_POOL)
        set_int (ex, node, "count_include_pad", layer->count_include_pad ? 1 : 0);
      return TRUE;

    case KILN_LAYER_GLOBAL_AVG_POOL:
      g_ptr_array_add (names, NULL);
      add_node (ex, "GlobalAveragePool", layer->name, (const char * const *) names->pdata, ex->values[index]);
      return TRUE;

    case KILN_LAYER_INNER_PRODUCT:
      if (rank == 4)
        {
          /* Gemm takes N × K: flatten first, under a name no layer has. */
          g_autofree char *flat = g_strconcat (layer->name, "/flatten", NULL);
          for (guint n = 2; name_taken (ex, flat, kiln_net_spec_get_n_layers (ex->spec)); n++)
            {
              g_free (flat);
              flat = g_strdup_printf ("%s/flatten_%u", layer->name, n);
            }
          const char *flat_inputs[] = { g_ptr_array_index (names, 0), NULL };
          node = add_node (ex, "Flatten", flat, flat_inputs, flat);
          set_int (ex, node, "axis", 1);
          g_free (names->pdata[0]);
          names->pdata[0] = g_steal_pointer (&flat);
        }
      g_ptr_array_add (names, g_strconcat (layer->name, ".weight", NULL));
      if (layer->bias)
        g_ptr_array_add (names, g_strconcat (layer->name, ".bias", NULL));
      g_ptr_array_add (names, NULL);
      node = add_node (ex, "Gemm", layer->name, (const char * const *) names->pdata, ex->values[index]);
      set_int (ex, node, "transB", 1);
      ex->ranks[index] = 2;
      return add_param (ex, layer, 0, "weight", error) && (!layer->bias || add_param (ex, layer, 1, "bias", error));

    case KILN_LAYER_DROPOUT:
      {
        /* Opset 12 made the ratio an input; without training_mode it is inference. */
        g_autofree char *ratio = g_strconcat (layer->name, ".ratio", NULL);
        float *value = g_new (float, 1);
        *value = layer->ratio;
        add_initializer (ex, ratio, 0, NULL, value, 1);
        g_ptr_array_add (names, g_steal_pointer (&ratio));
        g_ptr_array_add (names, NULL);
        add_node (ex, "Dropout", layer->name, (const char * const *) names->pdata, ex->values[index]);
        return TRUE;
      }

    case KILN_LAYER_BATCH_NORM:
      {
        static const char *const parts[] = { "scale", "bias", "mean", "var" };
        for (guint i = 0; i < 4; i++)
          g_ptr_array_add (names, g_strconcat (layer->name, ".", parts[i], NULL));
        g_ptr_array_add (names, NULL);
        node = add_node (ex, "BatchNormalization", layer->name, (const char * const *) names->pdata,
                         ex->values[index]);
        set_float (ex, node, "epsilon", layer->epsilon);
        set_float (ex, node, "momentum", layer->momentum);
        for (guint i = 0; i < 4; i++)
          if (!add_param (ex, layer, i, parts[i], error))
            return FALSE;
        return TRUE;
      }

    case KILN_LAYER_CONCAT:
    case KILN_LAYER_ADD:
      for (guint k = 1; k < inputs->len; k++)
        {
          int other_rank, oc, oh, ow;
          input_of (ex, inputs, k, &other_rank, &oc, &oh, &ow);
          if (other_rank != rank)
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                           _("%s: its inputs %s and %s are %d-D and %d-D in ONNX; flatten both or neither"),
                           layer->name, (char *) g_ptr_array_index (names, 0), (char *) g_ptr_array_index (names, k),
                           rank, other_rank);
              return FALSE;
            }
        }
      g_ptr_array_add (names, NULL);
      node = add_node (ex, layer->type == KILN_LAYER_ADD ? "Add" : "Concat", layer->name,
                       (const char * const *) names->pdata, ex->values[index]);
      if (layer->type == KILN_LAYER_CONCAT)
        set_int (ex, node, "axis", layer->axis);
      return TRUE;

    case KILN_LAYER_FLATTEN:
      g_ptr_array_add (names, NULL);
      node = add_node (ex, "Flatten", layer->name, (const char * const *) names->pdata, ex->values[index]);
      set_int (ex, node, "axis", 1);
      ex->ranks[index] = 2;
      return TRUE;

    case KILN_LAYER_SOFTMAX:
      /* Opset 13: over axis 1 alone, which is Kiln's per-position channel softmax. */
      g_ptr_array_add (names, NULL);
      node = add_node (ex, "Softmax", layer->name, (const char * const *) names->pdata, ex->values[index]);
      set_int (ex, node, "axis", 1);
      return TRUE;

    case KILN_LAYER_PAD:
      {
        /* Opset 11+: pads and the value are inputs; N and C are not padded,
         * and a 1-D (N×C×L) value pads L only. */
        g_autofree char *pads_name = g_strconcat (layer->name, ".pads", NULL);
        g_autofree char *value_name = g_strconcat (layer->name, ".value", NULL);
        const gint64 pads4[8] = { 0, 0, layer->pad_top, layer->pad_left, 0, 0, layer->pad_bottom, layer->pad_right };
        const gint64 pads3[6] = { 0, 0, layer->pad_top, 0, 0, layer->pad_bottom };
        float *value = g_new (float, 1);

        if (rank == 3 && (layer->pad_left || layer->pad_right))
          {
            g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                         _("%s: pads the width of a 1-D (N×C×L) value, which has none in ONNX"), layer->name);
            g_free (value);
            return FALSE;
          }
        add_int64_initializer (ex, pads_name, rank == 3 ? pads3 : pads4, rank == 3 ? 6 : 8);
        g_ptr_array_add (names, g_steal_pointer (&pads_name));
        *value = layer->pad_value;
        add_initializer (ex, value_name, 0, NULL, value, 1);
        g_ptr_array_add (names, g_steal_pointer (&value_name));
        g_ptr_array_add (names, NULL);
        node = add_node (ex, "Pad", layer->name, (const char * const *) names->pdata, ex->values[index]);
        set_string (ex, node, "mode", kiln_pad_mode_to_string (layer->pad_mode));
        return TRUE;
      }

    case KILN_LAYER_N_TYPES:
    default:
      break;
    }
  g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED, _("%s: layer type %d has no ONNX export"),
               layer->name, layer->type);
  return FALSE;
}

gboolean
kiln_onnx_export (KilnNet     *net,
                  const char  *path,
                  GError     **error)
{
  return kiln_onnx_export_named (net, path, NULL, NULL, error);
}

/* Whether a weight is called @name too: the graph would be ambiguous. */
static gboolean
check_io_name (Export *ex, const char *path, const char *name, GError **error)
{
  for (guint i = 0; i < ex->initializers->len; i++)
    if (g_str_equal (((Onnx__TensorProto *) g_ptr_array_index (ex->initializers, i))->name, name))
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                     _("Cannot export %s: the weights %s have the name given to the graph's input or output; "
                     "choose another"), path, name);
        return FALSE;
      }
  return TRUE;
}

gboolean
kiln_onnx_export_named (KilnNet     *net,
                        const char  *path,
                        const char  *input_name,
                        const char  *output_name,
                        GError     **error)
{
  return kiln_onnx_export_full (net, path, input_name, output_name, NULL, error);
}

gboolean
kiln_onnx_export_full (KilnNet            *net,
                       const char         *path,
                       const char         *input_name,
                       const char         *output_name,
                       const char *const  *metadata,
                       GError            **error)
{
  Export ex = { 0 };
  g_autoptr(GError) local_error = NULL;
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *opsets[1] = { &opset };
  Onnx__ValueInfoProto *graph_inputs[1], *graph_outputs[1];
  gboolean ok = TRUE;
  int c, h, w;

  g_return_val_if_fail (net != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  ex.input_name = input_name && *input_name ? input_name : KILN_ONNX_EXPORT_INPUT_NAME;
  ex.output_name = output_name && *output_name ? output_name : KILN_ONNX_EXPORT_OUTPUT_NAME;
  if (g_str_equal (ex.input_name, ex.output_name))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   _("Cannot export %s: the graph's input and output are both named “%s”; give them different "
                   "names"), path, ex.input_name);
      return FALSE;
    }
  ex.net = net;
  ex.spec = kiln_net_get_spec (net);
  if (!kiln_net_spec_infer_shapes (ex.spec, &local_error))
    {
      g_set_error (error, KILN_ERROR, local_error->code, _("Cannot export %s: %s"), path, local_error->message);
      return FALSE;
    }
  guint n_layers = kiln_net_spec_get_n_layers (ex.spec);
  if (n_layers == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, _("Cannot export %s: the net has no layers"),
                   path);
      return FALSE;
    }
  ex.keep = g_ptr_array_new_with_free_func (g_free);
  ex.nodes = g_ptr_array_new ();
  ex.initializers = g_ptr_array_new ();
  ex.ranks = g_new0 (int, MAX (n_layers, 1));
  name_values (&ex);

  for (guint i = 0; i < n_layers && ok; i++)
    ok = export_layer (&ex, i, error);
  ok = ok && check_io_name (&ex, path, ex.input_name, error) && check_io_name (&ex, path, ex.output_name, error);

  if (ok)
    {
      kiln_net_spec_get_input (ex.spec, &c, &h, &w);
      graph_inputs[0] = value_info (&ex, ex.input_name, 4, c, h, w);
      const KilnLayerShape *shape = kiln_net_spec_get_shape (ex.spec, n_layers - 1);
      graph_outputs[0] = value_info (&ex, ex.output_name, ex.ranks[n_layers - 1], shape->c, shape->h, shape->w);

      graph.name = (char *) kiln_net_spec_get_name (ex.spec);
      graph.n_node = ex.nodes->len;
      graph.node = (Onnx__NodeProto **) ex.nodes->pdata;
      graph.n_initializer = ex.initializers->len;
      graph.initializer = (Onnx__TensorProto **) ex.initializers->pdata;
      graph.n_input = 1;
      graph.input = graph_inputs;
      graph.n_output = 1;
      graph.output = graph_outputs;

      opset.domain = (char *) "";
      opset.has_version = TRUE;
      opset.version = KILN_ONNX_EXPORT_OPSET;
      model.has_ir_version = TRUE;
      model.ir_version = KILN_ONNX_EXPORT_IR_VERSION;
      model.n_opset_import = 1;
      model.opset_import = opsets;
      model.producer_name = (char *) "Kiln";
      model.producer_version = (char *) KILN_VERSION;
      model.graph = &graph;
      guint n_props = metadata ? g_strv_length ((char **) metadata) / 2 : 0;
      g_autofree Onnx__StringStringEntryProto *props = g_new (Onnx__StringStringEntryProto, MAX (n_props, 1));
      g_autofree Onnx__StringStringEntryProto **prop_list = g_new (Onnx__StringStringEntryProto *, MAX (n_props, 1));
      for (guint i = 0; i < n_props; i++)
        {
          onnx__string_string_entry_proto__init (&props[i]);
          props[i].key = (char *) metadata[2 * i];
          props[i].value = (char *) metadata[2 * i + 1];
          prop_list[i] = &props[i];
        }
      model.n_metadata_props = n_props;
      model.metadata_props = prop_list;

      gsize length = onnx__model_proto__get_packed_size (&model);
      if (length >= (gsize) G_MAXINT32)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                       _("Cannot export %s: the model needs %zu bytes, past protobuf's 2 GiB "
                       "limit"), path, length);
          ok = FALSE;
        }
      else
        {
          g_autofree guint8 *bytes = g_try_malloc (MAX (length, 1));
          if (bytes == NULL)
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, _("Not enough memory to export %s (%zu bytes)"), path, length);
              ok = FALSE;
            }
          else
            {
              g_autoptr(GError) local_error = NULL;
              onnx__model_proto__pack (&model, bytes);
              ok = g_file_set_contents_full (path, (const char *) bytes, (gssize) length,
                                             G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                             0644, &local_error);
              if (!ok)
                {
                  /* GLib names its temporary file; name the model and the room it needs. */
                  g_autofree char *size = g_format_size (length);
                  g_set_error (error, KILN_ERROR, KILN_ERROR_IO, _("Could not write the ONNX model %s (%s): %s"),
                               path, size, local_error->message);
                }
            }
        }
    }

  g_ptr_array_unref (ex.nodes);
  g_ptr_array_unref (ex.initializers);
  g_ptr_array_unref (ex.keep);
  g_free (ex.ranks);
  return ok;
}
