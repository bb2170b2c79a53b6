/* kiln-onnx.c: safe reading of ONNX models and tensors.
 *
 * Defence in three layers: the file size is capped before anything is
 * mapped; a wire-format walk checks every tag, wire type and length and
 * bounds message nesting (protobuf-c recurses without a limit) before
 * protobuf-c sees the bytes; and protobuf-c allocates through a budget, so
 * structures that expand small input into large allocations stop early. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <gio/gio.h>
#include <protobuf-c/protobuf-c.h>

#include "kiln-error.h"
#include "kiln-onnx.h"
#include "kiln-protobuf.h"
#include "onnx.pb-c.h"

G_STATIC_ASSERT (sizeof (int64_t) == sizeof (gint64));

struct _KilnOnnxModel {
  char *display_name;
  ProtobufCAllocator allocator;
  KilnProtobufBudget *budget;
  Onnx__ModelProto *proto;
  GHashTable *initializers;   /* name → Onnx__TensorProto*, borrowed */
  gint64 opset;
};

/* ---- Tensors ------------------------------------------------------------ */

G_DEFINE_BOXED_TYPE (KilnOnnxTensor, kiln_onnx_tensor, kiln_onnx_tensor_copy, kiln_onnx_tensor_free)

const char *
kiln_onnx_data_type_to_string (int data_type)
{
  static const char *names[] = {
    "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
    "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
  };

  if (data_type >= 0 && data_type < (int) G_N_ELEMENTS (names))
    return names[data_type];
  return "(unknown type)";
}

/* Element count of dims, or FALSE when a dim is negative or it overflows
 * what a float array can hold. */
static gboolean
count_elements (int n_dims, const gint64 *dims, gsize *n_elements)
{
  guint64 n = 1;

  for (int i = 0; i < n_dims; i++)
    {
      if (dims[i] < 0 || !g_uint64_checked_mul (&n, n, (guint64) dims[i]))
        return FALSE;
    }
  if (n > G_MAXSIZE / sizeof (gint64))
    return FALSE;
  *n_elements = n;
  return TRUE;
}

static char *
dims_to_string (int n_dims, const gint64 *dims)
{
  GString *s = g_string_new (NULL);

  if (n_dims == 0)
    g_string_append (s, "scalar");
  for (int i = 0; i < n_dims; i++)
    {
      if (i > 0)
        g_string_append (s, "×");
      if (dims[i] < 0)
        g_string_append (s, "?");
      else
        g_string_append_printf (s, "%" G_GINT64_FORMAT, dims[i]);
    }
  return g_string_free (s, FALSE);
}

char *
kiln_onnx_tensor_dims_to_string (const KilnOnnxTensor *tensor)
{
  return dims_to_string (tensor->n_dims, tensor->dims);
}

char *
kiln_onnx_value_info_dims_to_string (const KilnOnnxValueInfo *info)
{
  if (info->n_dims < 0)
    return g_strdup ("(no shape)");
  return dims_to_string (info->n_dims, info->dims);
}

static KilnOnnxTensor *
tensor_alloc (const char *name, int data_type, int n_dims, const gint64 *dims, gsize n_elements)
{
  KilnOnnxTensor *tensor = g_new0 (KilnOnnxTensor, 1);

  tensor->name = g_strdup (name ? name : "");
  tensor->data_type = data_type;
  tensor->n_dims = n_dims;
  if (n_dims > 0)
    memcpy (tensor->dims, dims, n_dims * sizeof (gint64));
  tensor->n_elements = n_elements;
  tensor->data = g_try_new0 (float, MAX (n_elements, 1));
  if (tensor->data == NULL)
    {
      kiln_onnx_tensor_free (tensor);
      return NULL;
    }
  if (data_type == KILN_ONNX_TYPE_INT64)
    {
      tensor->int64_data = g_try_new0 (gint64, MAX (n_elements, 1));
      if (tensor->int64_data == NULL)
        {
          kiln_onnx_tensor_free (tensor);
          return NULL;
        }
    }
  return tensor;
}

KilnOnnxTensor *
kiln_onnx_tensor_new (const char   *name,
                      int           n_dims,
                      const gint64 *dims,
                      GError      **error)
{
  gsize n_elements;
  KilnOnnxTensor *tensor;

  if (n_dims < 0 || n_dims > KILN_ONNX_MAX_DIMS || (n_dims > 0 && dims == NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   _("Tensor %s: %d dims; Kiln handles 0 to %d"), name, n_dims, KILN_ONNX_MAX_DIMS);
      return NULL;
    }
  if (!count_elements (n_dims, dims, &n_elements))
    {
      g_autofree char *shape = dims_to_string (n_dims, dims);
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   _("Tensor %s: dims %s are negative or their product overflows"), name, shape);
      return NULL;
    }
  tensor = tensor_alloc (name, KILN_ONNX_TYPE_FLOAT, n_dims, dims, n_elements);
  if (tensor == NULL)
    g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                 _("Tensor %s: out of memory for %zu floats"), name, n_elements);
  return tensor;
}

KilnOnnxTensor *
kiln_onnx_tensor_copy (const KilnOnnxTensor *tensor)
{
  KilnOnnxTensor *copy = g_new0 (KilnOnnxTensor, 1);

  *copy = *tensor;
  copy->name = g_strdup (tensor->name);
  copy->data = g_memdup2 (tensor->data, MAX (tensor->n_elements, 1) * sizeof (float));
  if (tensor->int64_data)
    copy->int64_data = g_memdup2 (tensor->int64_data, MAX (tensor->n_elements, 1) * sizeof (gint64));
  return copy;
}

void
kiln_onnx_tensor_free (KilnOnnxTensor *tensor)
{
  if (tensor == NULL)
    return;
  g_free (tensor->name);
  g_free (tensor->data);
  g_free (tensor->int64_data);
  g_free (tensor);
}

static gsize
element_size (int data_type)
{
  switch (data_type)
    {
    case KILN_ONNX_TYPE_FLOAT:
    case KILN_ONNX_TYPE_INT32:
      return 4;
    case KILN_ONNX_TYPE_UINT8:
    case KILN_ONNX_TYPE_INT8:
    case KILN_ONNX_TYPE_BOOL:
      return 1;
    case KILN_ONNX_TYPE_INT64:
    case KILN_ONNX_TYPE_DOUBLE:
      return 8;
    default:
      return 0;
    }
}

/* Decodes one little-endian element of raw_data. */
static void
store_raw (KilnOnnxTensor *tensor, gsize i, const guint8 *p)
{
  switch (tensor->data_type)
    {
    case KILN_ONNX_TYPE_FLOAT:
      {
        guint32 bits;
        float f;
        memcpy (&bits, p, 4);
        bits = GUINT32_FROM_LE (bits);
        memcpy (&f, &bits, 4);
        tensor->data[i] = f;
      }
      break;
    case KILN_ONNX_TYPE_DOUBLE:
      {
        guint64 bits;
        double d;
        memcpy (&bits, p, 8);
        bits = GUINT64_FROM_LE (bits);
        memcpy (&d, &bits, 8);
        tensor->data[i] = (float) d;
      }
      break;
    case KILN_ONNX_TYPE_INT32:
      {
        guint32 bits;
        memcpy (&bits, p, 4);
        tensor->data[i] = (float) (gint32) GUINT32_FROM_LE (bits);
      }
      break;
    case KILN_ONNX_TYPE_INT64:
      {
        guint64 bits;
        memcpy (&bits, p, 8);
        tensor->int64_data[i] = (gint64) GUINT64_FROM_LE (bits);
        tensor->data[i] = (float) tensor->int64_data[i];
      }
      break;
    case KILN_ONNX_TYPE_UINT8:
      tensor->data[i] = p[0];
      break;
    case KILN_ONNX_TYPE_INT8:
      tensor->data[i] = (gint8) p[0];
      break;
    case KILN_ONNX_TYPE_BOOL:
      tensor->data[i] = p[0] != 0;
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The typed field that holds a tensor's values when raw_data is absent. */
static gsize
typed_count (const Onnx__TensorProto *proto, int data_type)
{
  switch (data_type)
    {
    case KILN_ONNX_TYPE_FLOAT:
      return proto->n_float_data;
    case KILN_ONNX_TYPE_DOUBLE:
      return proto->n_double_data;
    case KILN_ONNX_TYPE_INT64:
      return proto->n_int64_data;
    default:
      return proto->n_int32_data;
    }
}

static void
store_typed (KilnOnnxTensor *tensor, const Onnx__TensorProto *proto, gsize i)
{
  switch (tensor->data_type)
    {
    case KILN_ONNX_TYPE_FLOAT:
      tensor->data[i] = proto->float_data[i];
      break;
    case KILN_ONNX_TYPE_DOUBLE:
      tensor->data[i] = (float) proto->double_data[i];
      break;
    case KILN_ONNX_TYPE_INT64:
      tensor->int64_data[i] = proto->int64_data[i];
      tensor->data[i] = (float) proto->int64_data[i];
      break;
    case KILN_ONNX_TYPE_BOOL:
      tensor->data[i] = proto->int32_data[i] != 0;
      break;
    default:
      tensor->data[i] = (float) proto->int32_data[i];
      break;
    }
}

/* TensorProto → host tensor. `where` names the file for messages. */
static KilnOnnxTensor *
tensor_from_proto (const Onnx__TensorProto *proto,
                   const char              *where,
                   GError                 **error)
{
  const char *name = proto->name && *proto->name ? proto->name : "(unnamed)";
  int data_type = proto->has_data_type ? proto->data_type : KILN_ONNX_TYPE_UNDEFINED;
  gint64 dims[KILN_ONNX_MAX_DIMS];
  gsize n_elements, elem_size;
  KilnOnnxTensor *tensor;

  if ((proto->has_data_location && proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
      proto->n_external_data > 0)
    {
      const char *location = "another file";
      for (gsize i = 0; i < proto->n_external_data; i++)
        if (g_strcmp0 (proto->external_data[i]->key, "location") == 0 && proto->external_data[i]->value)
          location = proto->external_data[i]->value;
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: tensor %s keeps its data in %s (ONNX external data), which Kiln does not read; "
                   "save the model self-contained with onnx.save_model(model, path, "
                   "save_as_external_data=False)"), where, name, location);
      return NULL;
    }
  if (proto->segment != NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: tensor %s is one segment of a split tensor, which Kiln does not read"), where, name);
      return NULL;
    }
  elem_size = element_size (data_type);
  if (elem_size == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: tensor %s has type %s (%d); Kiln reads FLOAT, DOUBLE, INT64, INT32, INT8, UINT8 and BOOL"),
                   where, name, kiln_onnx_data_type_to_string (data_type), data_type);
      return NULL;
    }
  if (proto->n_dims > KILN_ONNX_MAX_DIMS)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: tensor %s has %zu dims; Kiln handles at most %d"),
                   where, name, proto->n_dims, KILN_ONNX_MAX_DIMS);
      return NULL;
    }
  for (gsize i = 0; i < proto->n_dims; i++)
    dims[i] = proto->dims[i];
  if (!count_elements (proto->n_dims, dims, &n_elements))
    {
      g_autofree char *shape = dims_to_string (proto->n_dims, dims);
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("%s: tensor %s has dims %s, which are negative or whose product overflows; "
                   "the file is damaged or hostile"), where, name, shape);
      return NULL;
    }

  /* The data must be there before anything is allocated for it, so a small
   * file claiming a huge tensor fails here. */
  if (proto->has_raw_data)
    {
      if (proto->raw_data.len / elem_size != n_elements || proto->raw_data.len % elem_size != 0)
        {
          g_autofree char *shape = dims_to_string (proto->n_dims, dims);
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       _("%s: tensor %s claims %s %s elements (%zu values) but carries %zu bytes of data; the file is truncated or damaged"),
                       where, name, shape, kiln_onnx_data_type_to_string (data_type),
                       n_elements, (gsize) proto->raw_data.len);
          return NULL;
        }
    }
  else if (typed_count (proto, data_type) != n_elements)
    {
      g_autofree char *shape = dims_to_string (proto->n_dims, dims);
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("%s: tensor %s claims %s (%zu values) but carries %zu; the file is truncated or damaged"),
                   where, name, shape, n_elements, typed_count (proto, data_type));
      return NULL;
    }

  tensor = tensor_alloc (name, data_type, proto->n_dims, dims, n_elements);
  if (tensor == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                   _("%s: out of memory reading tensor %s (%zu values)"), where, name, n_elements);
      return NULL;
    }
  for (gsize i = 0; i < n_elements; i++)
    {
      if (proto->has_raw_data)
        store_raw (tensor, i, proto->raw_data.data + i * elem_size);
      else
        store_typed (tensor, proto, i);
    }
  return tensor;
}

KilnOnnxTensor *
kiln_onnx_tensor_load_from_data (const guint8 *data,
                                 gsize         length,
                                 const char   *display_name,
                                 GError      **error)
{
  ProtobufCAllocator allocator;
  KilnProtobufBudget budget;
  Onnx__TensorProto *proto;
  KilnOnnxTensor *tensor;

  proto = (Onnx__TensorProto *) kiln_protobuf_unpack (&onnx__tensor_proto__descriptor, data, length,
                                                display_name, "ONNX", &allocator, &budget, error);
  if (proto == NULL)
    return NULL;
  tensor = tensor_from_proto (proto, display_name, error);
  protobuf_c_message_free_unpacked (&proto->base, &allocator);
  return tensor;
}

KilnOnnxTensor *
kiln_onnx_tensor_load (const char *path, GError **error)
{
  g_autoptr(GMappedFile) mapped = kiln_protobuf_map_file (path, _("give the path of an .onnx or .pb file"), error);

  if (mapped == NULL)
    return NULL;
  return kiln_onnx_tensor_load_from_data ((const guint8 *) g_mapped_file_get_contents (mapped),
                                          g_mapped_file_get_length (mapped), path, error);
}

/* ---- Models ------------------------------------------------------------- */

static gboolean
check_name (const char *s, const char *what, guint index, const char *where, GError **error)
{
  if (s != NULL && g_utf8_validate (s, -1, NULL))
    return TRUE;
  g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
               _("%s: %s #%u %s; the file is damaged or not ONNX"),
               where, what, index, s == NULL ? "has no name" : "has a name that is not UTF-8");
  return FALSE;
}

static gboolean
check_value_info (const Onnx__ValueInfoProto *info, const char *what, guint index,
                  const char *where, GError **error)
{
  if (!check_name (info->name, what, index, where, error))
    return FALSE;
  if (info->type && info->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
      info->type->tensor_type->shape &&
      info->type->tensor_type->shape->n_dim > KILN_ONNX_MAX_DIMS)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: %s %s has %zu dims; Kiln handles at most %d"),
                   where, what, info->name, info->type->tensor_type->shape->n_dim, KILN_ONNX_MAX_DIMS);
      return FALSE;
    }
  return TRUE;
}

/* The walk makes the unpacked structure well formed; this checks what the
 * accessors rely on: names present and printable. */
static gboolean
validate_model (KilnOnnxModel *self, GError **error)
{
  const Onnx__GraphProto *graph = self->proto->graph;
  const char *where = self->display_name;

  if (graph == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("%s has no graph; it is not an ONNX model (is it a tensor .pb file?)"), where);
      return FALSE;
    }
  for (gsize i = 0; i < graph->n_node; i++)
    {
      const Onnx__NodeProto *node = graph->node[i];
      if (node->op_type == NULL || !g_utf8_validate (node->op_type, -1, NULL) ||
          (node->name && !g_utf8_validate (node->name, -1, NULL)) ||
          (node->domain && !g_utf8_validate (node->domain, -1, NULL)))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       _("%s: node #%zu has no op_type or a name that is not UTF-8; "
                       "the file is damaged"), where, i);
          return FALSE;
        }
      for (gsize j = 0; j < node->n_input; j++)
        if (!check_name (node->input[j], "node input", j, where, error))
          return FALSE;
      for (gsize j = 0; j < node->n_output; j++)
        if (!check_name (node->output[j], "node output", j, where, error))
          return FALSE;
      for (gsize j = 0; j < node->n_attribute; j++)
        if (!check_name (node->attribute[j]->name, "attribute", j, where, error))
          return FALSE;
    }
  for (gsize i = 0; i < graph->n_input; i++)
    if (!check_value_info (graph->input[i], "graph input", i, where, error))
      return FALSE;
  for (gsize i = 0; i < graph->n_output; i++)
    if (!check_value_info (graph->output[i], "graph output", i, where, error))
      return FALSE;
  for (gsize i = 0; i < graph->n_initializer; i++)
    {
      if (!check_name (graph->initializer[i]->name, "initializer", i, where, error))
        return FALSE;
      g_hash_table_insert (self->initializers, graph->initializer[i]->name, graph->initializer[i]);
    }

  self->opset = 1;
  for (gsize i = 0; i < self->proto->n_opset_import; i++)
    {
      const Onnx__OperatorSetIdProto *id = self->proto->opset_import[i];
      if ((id->domain == NULL || *id->domain == '\0' || g_str_equal (id->domain, "ai.onnx")) &&
          id->has_version)
        self->opset = id->version;
    }
  return TRUE;
}

KilnOnnxModel *
kiln_onnx_model_load_from_data (const guint8 *data,
                                gsize         length,
                                const char   *display_name,
                                GError      **error)
{
  g_autoptr(KilnOnnxModel) self = g_new0 (KilnOnnxModel, 1);

  self->display_name = g_strdup (display_name ? display_name : "(ONNX data)");
  self->budget = g_new0 (KilnProtobufBudget, 1);
  self->initializers = g_hash_table_new (g_str_hash, g_str_equal);
  self->proto = (Onnx__ModelProto *) kiln_protobuf_unpack (&onnx__model_proto__descriptor, data, length,
                                                     self->display_name, "ONNX", &self->allocator,
                                                     self->budget, error);
  if (self->proto == NULL || !validate_model (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

KilnOnnxModel *
kiln_onnx_model_load (const char *path, GError **error)
{
  g_autoptr(GMappedFile) mapped = kiln_protobuf_map_file (path, _("give the path of an .onnx or .pb file"), error);

  if (mapped == NULL)
    return NULL;
  return kiln_onnx_model_load_from_data ((const guint8 *) g_mapped_file_get_contents (mapped),
                                         g_mapped_file_get_length (mapped), path, error);
}

void
kiln_onnx_model_free (KilnOnnxModel *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->initializers, g_hash_table_unref);
  if (self->proto)
    protobuf_c_message_free_unpacked (&self->proto->base, &self->allocator);
  g_free (self->budget);
  g_free (self->display_name);
  g_free (self);
}

const char *
kiln_onnx_model_get_display_name (KilnOnnxModel *self)
{
  return self->display_name;
}

gint64
kiln_onnx_model_get_opset (KilnOnnxModel *self)
{
  return self->opset;
}

const char *
kiln_onnx_model_get_producer (KilnOnnxModel *self)
{
  return self->proto->producer_name ? self->proto->producer_name : "";
}

guint
kiln_onnx_model_get_n_nodes (KilnOnnxModel *self)
{
  return self->proto->graph->n_node;
}

const KilnOnnxNode *
kiln_onnx_model_get_node (KilnOnnxModel *self, guint index)
{
  g_return_val_if_fail (index < self->proto->graph->n_node, NULL);
  return self->proto->graph->node[index];
}

guint
kiln_onnx_model_get_n_inputs (KilnOnnxModel *self)
{
  return self->proto->graph->n_input;
}

guint
kiln_onnx_model_get_n_outputs (KilnOnnxModel *self)
{
  return self->proto->graph->n_output;
}

static void
fill_value_info (const Onnx__ValueInfoProto *proto, KilnOnnxValueInfo *info)
{
  const Onnx__TypeProto__Tensor *tensor_type = NULL;

  memset (info, 0, sizeof *info);
  info->name = proto->name;
  info->n_dims = -1;
  if (proto->type && proto->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    tensor_type = proto->type->tensor_type;
  if (tensor_type == NULL)
    return;
  info->elem_type = tensor_type->has_elem_type ? tensor_type->elem_type : 0;
  if (tensor_type->shape == NULL)
    return;
  info->n_dims = tensor_type->shape->n_dim;
  for (int i = 0; i < info->n_dims; i++)
    {
      const Onnx__TensorShapeProto__Dimension *dim = tensor_type->shape->dim[i];
      info->dims[i] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                      dim->dim_value >= 0 ? dim->dim_value : -1;
    }
}

void
kiln_onnx_model_get_input (KilnOnnxModel *self, guint index, KilnOnnxValueInfo *info)
{
  g_return_if_fail (index < self->proto->graph->n_input);
  fill_value_info (self->proto->graph->input[index], info);
}

void
kiln_onnx_model_get_output (KilnOnnxModel *self, guint index, KilnOnnxValueInfo *info)
{
  g_return_if_fail (index < self->proto->graph->n_output);
  fill_value_info (self->proto->graph->output[index], info);
}

gboolean
kiln_onnx_model_has_initializer (KilnOnnxModel *self, const char *name)
{
  return g_hash_table_contains (self->initializers, name);
}

KilnOnnxTensor *
kiln_onnx_model_get_initializer (KilnOnnxModel *self, const char *name, GError **error)
{
  const Onnx__TensorProto *proto = g_hash_table_lookup (self->initializers, name);

  if (proto == NULL)
    return NULL;
  return tensor_from_proto (proto, self->display_name, error);
}

/* ---- Nodes -------------------------------------------------------------- */

const char *
kiln_onnx_node_get_op_type (const KilnOnnxNode *node)
{
  return node->op_type;
}

const char *
kiln_onnx_node_get_name (const KilnOnnxNode *node)
{
  return node->name ? node->name : "";
}

const char *
kiln_onnx_node_get_label (const KilnOnnxNode *node)
{
  if (node->name && *node->name)
    return node->name;
  if (node->n_output > 0 && *node->output[0])
    return node->output[0];
  return node->op_type;
}

const char *
kiln_onnx_node_get_domain (const KilnOnnxNode *node)
{
  return node->domain ? node->domain : "";
}

guint
kiln_onnx_node_get_n_inputs (const KilnOnnxNode *node)
{
  return node->n_input;
}

const char *
kiln_onnx_node_get_input (const KilnOnnxNode *node, guint index)
{
  g_return_val_if_fail (index < node->n_input, NULL);
  return node->input[index];
}

guint
kiln_onnx_node_get_n_outputs (const KilnOnnxNode *node)
{
  return node->n_output;
}

const char *
kiln_onnx_node_get_output (const KilnOnnxNode *node, guint index)
{
  g_return_val_if_fail (index < node->n_output, NULL);
  return node->output[index];
}

guint
kiln_onnx_node_get_n_attributes (const KilnOnnxNode *node)
{
  return node->n_attribute;
}

const char *
kiln_onnx_node_get_attribute_name (const KilnOnnxNode *node, guint index)
{
  g_return_val_if_fail (index < node->n_attribute, NULL);
  return node->attribute[index]->name;
}

static const Onnx__AttributeProto *
find_attribute (const KilnOnnxNode *node, const char *name)
{
  for (gsize i = 0; i < node->n_attribute; i++)
    if (g_str_equal (node->attribute[i]->name, name))
      return node->attribute[i];
  return NULL;
}

gboolean
kiln_onnx_node_has_attribute (const KilnOnnxNode *node, const char *name)
{
  return find_attribute (node, name) != NULL;
}

/* The attribute's type; old models leave `type` unset, so fall back on
 * which field carries a value. */
static int
attribute_type (const Onnx__AttributeProto *attr)
{
  if (attr->has_type && attr->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
    return attr->type;
  if (attr->has_f)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (attr->has_i)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (attr->has_s)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (attr->t)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (attr->n_floats)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (attr->n_ints)
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static const char *
attribute_type_name (int type)
{
  switch (type)
    {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "FLOAT";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "INT";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "STRING";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "TENSOR";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "FLOATS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "INTS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "STRINGS";
    default: return "another type";
    }
}

/* Finds `name` and checks its type: TRUE with *attr NULL when absent, FALSE
 * with an error naming the node when it has another type. */
static gboolean
typed_attribute (const KilnOnnxNode          *node,
                 const char                  *name,
                 int                          type,
                 const Onnx__AttributeProto **attr,
                 GError                     **error)
{
  *attr = find_attribute (node, name);
  if (*attr == NULL || attribute_type (*attr) == type)
    return TRUE;
  g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
               _("%s node %s: attribute %s is %s where ONNX specifies %s"),
               node->op_type, kiln_onnx_node_get_label (node), name,
               attribute_type_name (attribute_type (*attr)), attribute_type_name (type));
  *attr = NULL;
  return FALSE;
}

gboolean
kiln_onnx_node_get_int (const KilnOnnxNode *node, const char *name, gint64 *value, GError **error)
{
  const Onnx__AttributeProto *attr;

  if (!typed_attribute (node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, &attr, error))
    return FALSE;
  if (attr)
    *value = attr->i;
  return TRUE;
}

gboolean
kiln_onnx_node_get_float (const KilnOnnxNode *node, const char *name, float *value, GError **error)
{
  const Onnx__AttributeProto *attr;

  if (!typed_attribute (node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, &attr, error))
    return FALSE;
  if (attr)
    *value = attr->f;
  return TRUE;
}

gboolean
kiln_onnx_node_get_ints (const KilnOnnxNode *node, const char *name,
                         const gint64 **values, gsize *n_values, GError **error)
{
  const Onnx__AttributeProto *attr;

  if (!typed_attribute (node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, &attr, error))
    return FALSE;
  if (attr)
    {
      *values = (const gint64 *) attr->ints;
      *n_values = attr->n_ints;
    }
  return TRUE;
}

gboolean
kiln_onnx_node_get_floats (const KilnOnnxNode *node, const char *name,
                           const float **values, gsize *n_values, GError **error)
{
  const Onnx__AttributeProto *attr;

  if (!typed_attribute (node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS, &attr, error))
    return FALSE;
  if (attr)
    {
      *values = attr->floats;
      *n_values = attr->n_floats;
    }
  return TRUE;
}

gboolean
kiln_onnx_node_get_string (const KilnOnnxNode *node, const char *name, char **value, GError **error)
{
  const Onnx__AttributeProto *attr;

  if (!typed_attribute (node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, &attr, error))
    return FALSE;
  if (attr)
    {
      /* A STRING attribute may omit its value: then it is empty. */
      char *s = attr->s.data ? g_strndup ((const char *) attr->s.data, attr->s.len) : g_strdup ("");
      if (!g_utf8_validate (s, -1, NULL))
        {
          g_free (s);
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       _("%s node %s: attribute %s is not UTF-8 text"),
                       node->op_type, kiln_onnx_node_get_label (node), name);
          return FALSE;
        }
      *value = s;
    }
  return TRUE;
}

KilnOnnxTensor *
kiln_onnx_node_get_tensor (const KilnOnnxNode *node, const char *name, GError **error)
{
  const Onnx__AttributeProto *attr;
  g_autofree char *where = NULL;

  if (!typed_attribute (node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR, &attr, error))
    return NULL;
  if (attr == NULL)
    return NULL;
  if (attr->t == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, _("%s node %s: attribute %s holds no tensor"),
                   node->op_type, kiln_onnx_node_get_label (node), name);
      return NULL;
    }
  where = g_strdup_printf ("%s node %s", node->op_type, kiln_onnx_node_get_label (node));
  return tensor_from_proto (attr->t, where, error);
}
