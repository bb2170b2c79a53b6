/* kiln-onnx-import-fold.c: the ONNX ops that make no layer. Shape arithmetic
 * on constants is folded at import (Shape, Gather, Unsqueeze, Concat of
 * shape pieces, Constant, Cast): PyTorch's x.view(x.size(0), -1) exports as
 * Shape → Gather → Unsqueeze → Concat → Reshape, with the batch size as a
 * marker, and computes a Pad's pads with ConstantOfShape, Reshape, Slice and
 * Transpose of constants, folded here too. Identity, Cast to FLOAT and a 2-D
 * Transpose pass their input through; Pads are kiln-onnx-import-pad.c's. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-onnx-import-private.h"

/* ---- Shape arithmetic on constants ---------------------------------------- */

static gboolean
import_shape (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  const Value *input;
  KilnOnnxTensor *shape;
  int c, h, w;

  if (!kiln_import_check_attributes (ctx, node, NULL, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL ||
      !kiln_import_value_shape (ctx, node, input, &c, &h, &w, error))
    return FALSE;
  gint64 rank = input->rank;
  if ((shape = kiln_import_int64_tensor (1, &rank, error)) == NULL)
    return FALSE;
  kiln_import_set_int64 (shape, 0, BATCH_DIM);
  if (input->rank == 2)
    kiln_import_set_int64 (shape, 1, (gint64) c * h * w);
  else
    {
      /* Rank 3 (N×C×L) runs as C×L×1. */
      kiln_import_set_int64 (shape, 1, c);
      kiln_import_set_int64 (shape, 2, h);
      if (input->rank == 4)
        kiln_import_set_int64 (shape, 3, w);
    }
  kiln_import_set_constant (ctx, node, shape);
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

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "axis", &axis, error) ||
      (data = kiln_import_get_int64_vector (ctx, node, 0, "data", error)) == NULL ||
      (indices = kiln_import_get_int64_vector (ctx, node, 1, "indices", error)) == NULL)
    return FALSE;
  if (axis != 0 && axis != -1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("gathers along axis %" PRId64), axis);
  if ((result = kiln_import_int64_tensor (indices->n_dims, indices->dims, error)) == NULL)
    return FALSE;
  for (gsize i = 0; i < indices->n_elements; i++)
    {
      gint64 k = indices->int64_data[i];
      if (k < 0)
        k += (gint64) data->n_elements;
      if (k < 0 || k >= (gint64) data->n_elements)
        {
          kiln_onnx_tensor_free (result);
          return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("index %" PRId64
                                         " is outside the %zu values"), indices->int64_data[i],
                                         data->n_elements);
        }
      kiln_import_set_int64 (result, i, data->int64_data[k]);
    }
  kiln_import_set_constant (ctx, node, result);
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
  if (!kiln_import_check_attributes (ctx, node, ctx->opset < 13 ? known_old : NULL, error) ||
      (data = kiln_import_get_constant (ctx, node, 0, "data", error)) == NULL)
    return FALSE;
  if (ctx->opset < 13)
    {
      if (!kiln_onnx_node_get_ints (node, "axes", &axes, &n_axes, error))
        return FALSE;
    }
  else
    {
      if ((axes_tensor = kiln_import_get_int64_vector (ctx, node, 1, "axes", error)) == NULL)
        return FALSE;
      axes = axes_tensor->int64_data;
      n_axes = axes_tensor->n_elements;
    }
  gint64 rank = data->n_dims + (gint64) n_axes;
  if (n_axes == 0 || rank > KILN_ONNX_MAX_DIMS)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("inserts %zu axes into %d"), n_axes, data->n_dims);
  for (gsize i = 0; i < n_axes; i++)
    {
      gint64 a = axes[i] < 0 ? axes[i] + rank : axes[i];
      if (a < 0 || a >= rank || inserted[a])
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                       _("axis %" PRId64 " is out of range or repeated"), axes[i]);
      inserted[a] = TRUE;
    }
  /* Only the dims change: a 1 at each new axis. */
  gint64 dims[KILN_ONNX_MAX_DIMS];
  for (gint64 a = 0, from = 0; a < rank; a++)
    dims[a] = inserted[a] ? 1 : data->dims[from++];
  memcpy (data->dims, dims, sizeof dims);
  data->n_dims = (int) rank;
  kiln_import_set_constant (ctx, node, g_steal_pointer (&data));
  return TRUE;
}

/* Concat of 1-D INT64 constants: the pieces of a shape. */
gboolean
kiln_import_fold_concat (Import *ctx, const KilnOnnxNode *node, gint64 axis, GError **error)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (gint64));
  KilnOnnxTensor *result;

  if (axis != 0 && axis != -1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("joins constants along axis %" PRId64 "; Kiln folds 1-D shapes only"),
                                   axis);
  for (guint i = 0; i < kiln_onnx_node_get_n_inputs (node); i++)
    {
      g_autoptr(KilnOnnxTensor) piece = kiln_import_get_int64_vector (ctx, node, i, "input", error);
      if (piece == NULL)
        return FALSE;
      g_array_append_vals (values, piece->int64_data, piece->n_elements);
    }
  gint64 n = values->len;
  if ((result = kiln_import_int64_tensor (1, &n, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < values->len; i++)
    kiln_import_set_int64 (result, i, g_array_index (values, gint64, i));
  kiln_import_set_constant (ctx, node, result);
  return TRUE;
}

/* Folded constants are shapes and pads: a few values. A hostile shape
 * must not allocate gigabytes. */
#define MAX_FOLDED_ELEMENTS 65536

/* An empty tensor of @like's type with new dims, or NULL with an error. */
static KilnOnnxTensor *
new_folded (Import *ctx, const KilnOnnxNode *node, const KilnOnnxTensor *like, int n_dims, const gint64 *dims,
            GError **error)
{
  KilnOnnxTensor *tensor;
  gint64 n = 1;

  for (int d = 0; d < n_dims; d++)
    if (dims[d] < 0 || dims[d] > MAX_FOLDED_ELEMENTS || (n *= MAX (dims[d], 1)) > MAX_FOLDED_ELEMENTS)
      {
        kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                _("makes a constant of dim %" PRId64 " (axis %d); Kiln folds constants of "
                                "0 to %d values"), dims[d], d, MAX_FOLDED_ELEMENTS);
        return NULL;
      }
  if ((tensor = kiln_onnx_tensor_new ("constant", n_dims, dims, error)) == NULL)
    return NULL;
  tensor->data_type = like->data_type;
  if (like->int64_data)
    tensor->int64_data = g_new0 (gint64, MAX (tensor->n_elements, 1));
  return tensor;
}

static void
copy_element (KilnOnnxTensor *to, gsize i, const KilnOnnxTensor *from, gsize j)
{
  to->data[i] = from->data[j];
  if (to->int64_data)
    to->int64_data[i] = from->int64_data[j];
}

/* Row-major strides of @tensor. */
static void
get_strides (const KilnOnnxTensor *tensor, gint64 *strides)
{
  gint64 stride = 1;

  for (int d = tensor->n_dims - 1; d >= 0; d--)
    {
      strides[d] = stride;
      stride *= tensor->dims[d];
    }
}

/* The node's output: a tensor of @dims whose element (k0, k1, …) is @data's
 * at offset + Σ k_d·steps[d] (a Slice or a Transpose of a constant). */
static gboolean
set_gathered (Import *ctx, const KilnOnnxNode *node, const KilnOnnxTensor *data, const gint64 *dims,
              gint64 offset, const gint64 *steps, GError **error)
{
  KilnOnnxTensor *result = new_folded (ctx, node, data, data->n_dims, dims, error);

  if (result == NULL)
    return FALSE;
  for (gsize i = 0; i < result->n_elements; i++)
    {
      gsize rest = i;
      gint64 from = offset;
      for (int d = data->n_dims - 1; d >= 0; d--)
        {
          from += (gint64) (rest % (gsize) dims[d]) * steps[d];
          rest /= (gsize) dims[d];
        }
      copy_element (result, i, data, (gsize) from);
    }
  kiln_import_set_constant (ctx, node, result);
  return TRUE;
}

/* ConstantOfShape: the value (a one-element tensor, default FLOAT 0) at every
 * index of the shape. */
static gboolean
import_constant_of_shape (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "value", NULL };
  g_autoptr(KilnOnnxTensor) shape = NULL;
  g_autoptr(KilnOnnxTensor) value = NULL;
  g_autoptr(GError) local_error = NULL;
  gint64 one = 1;
  KilnOnnxTensor *result;

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      (shape = kiln_import_get_int64_vector (ctx, node, 0, "shape", error)) == NULL)
    return FALSE;
  if ((value = kiln_onnx_node_get_tensor (node, "value", &local_error)) == NULL && local_error == NULL)
    value = kiln_onnx_tensor_new ("value", 1, &one, &local_error);
  if (value == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (value->n_elements != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("the value has %zu elements; it must have one"),
                                   value->n_elements);
  if (shape->n_elements > KILN_ONNX_MAX_DIMS)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("makes a %zu-D constant; Kiln folds up to %d dims"),
                                   shape->n_elements, KILN_ONNX_MAX_DIMS);
  if ((result = new_folded (ctx, node, value, (int) shape->n_elements, shape->int64_data, error)) == NULL)
    return FALSE;
  for (gsize i = 0; i < result->n_elements; i++)
    copy_element (result, i, value, 0);
  kiln_import_set_constant (ctx, node, result);
  return TRUE;
}

/* One axis of a Slice, clamped as ONNX says: the first index, the step and
 * the count. */
static gint64
slice_axis (gint64 dim, gint64 start, gint64 end, gint64 step, gint64 *first)
{
  *first = 0;
  if (dim == 0)
    return 0;
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0)
    {
      start = CLAMP (start, 0, dim);
      end = CLAMP (end, 0, dim);
      *first = start;
      return end > start ? (end - start - 1) / step + 1 : 0;
    }
  start = CLAMP (start, 0, dim - 1);
  end = CLAMP (end, -1, dim - 1);
  *first = start;
  return start > end ? (start - end - 1) / -step + 1 : 0;
}

/* Slice of a constant (PyTorch reverses the pairs of a Pad's pads with a
 * step of -1). Opset 10 moved starts, ends and axes to inputs and added
 * steps. */
static gboolean
import_slice (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known_old[] = { "axes", "ends", "starts", NULL };
  static const char *const what[] = { "starts", "ends", "axes", "steps" };
  g_autoptr(KilnOnnxTensor) data = NULL;
  g_autoptr(KilnOnnxTensor) starts_t = NULL;
  g_autoptr(KilnOnnxTensor) ends_t = NULL;
  g_autoptr(KilnOnnxTensor) axes_t = NULL;
  g_autoptr(KilnOnnxTensor) steps_t = NULL;
  KilnOnnxTensor **inputs[4] = { &starts_t, &ends_t, &axes_t, &steps_t };
  const gint64 *starts = NULL, *ends = NULL, *axes = NULL, *steps = NULL;
  gsize n = 0, n_ends = 0, n_axes = 0, n_steps = 0;
  gint64 first[KILN_ONNX_MAX_DIMS], step[KILN_ONNX_MAX_DIMS], dims[KILN_ONNX_MAX_DIMS];
  gint64 in_strides[KILN_ONNX_MAX_DIMS];
  gboolean seen[KILN_ONNX_MAX_DIMS] = { FALSE };

  if (!kiln_import_check_attributes (ctx, node, ctx->opset < 10 ? known_old : NULL, error) ||
      (data = kiln_import_get_constant (ctx, node, 0, "data", error)) == NULL)
    return FALSE;
  if (ctx->opset < 10)
    {
      if (!kiln_onnx_node_get_ints (node, "starts", &starts, &n, error) ||
          !kiln_onnx_node_get_ints (node, "ends", &ends, &n_ends, error) ||
          !kiln_onnx_node_get_ints (node, "axes", &axes, &n_axes, error))
        return FALSE;
    }
  else
    {
      for (guint i = 0; i < 4; i++)
        if ((i < 2 || kiln_import_has_input (node, i + 1)) &&
            (*inputs[i] = kiln_import_get_int64_vector (ctx, node, i + 1, what[i], error)) == NULL)
          return FALSE;
      starts = starts_t->int64_data, n = starts_t->n_elements;
      ends = ends_t->int64_data, n_ends = ends_t->n_elements;
      if (axes_t)
        axes = axes_t->int64_data, n_axes = axes_t->n_elements;
      if (steps_t)
        steps = steps_t->int64_data, n_steps = steps_t->n_elements;
    }
  if (starts == NULL || ends == NULL || n_ends != n || (axes && n_axes != n) || (steps && n_steps != n) ||
      n > (gsize) data->n_dims)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("starts, ends, axes and steps do not fit the %d-D data"), data->n_dims);

  for (int d = 0; d < data->n_dims; d++)
    {
      first[d] = 0;
      step[d] = 1;
      dims[d] = data->dims[d];
    }
  for (gsize i = 0; i < n; i++)
    {
      gint64 a = axes ? axes[i] : (gint64) i;
      if (a < 0)
        a += data->n_dims;
      /* A step of −2^63 has no magnitude in 64 bits. */
      if (a < 0 || a >= data->n_dims || seen[a] || (steps && (steps[i] == 0 || steps[i] == G_MININT64)))
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                       _("slice %zu has a bad or repeated axis, or a step of 0"), i);
      seen[a] = TRUE;
      step[a] = steps ? steps[i] : 1;
      dims[a] = slice_axis (data->dims[a], starts[i], ends[i], step[a], &first[a]);
      /* A step past the axis takes one element either way; clamped, it
       * cannot overflow the offsets below. */
      step[a] = CLAMP (step[a], -data->dims[a], data->dims[a]);
    }

  gint64 offset = 0;
  get_strides (data, in_strides);
  for (int d = 0; d < data->n_dims; d++)
    {
      offset += first[d] * in_strides[d];
      step[d] *= in_strides[d];
    }
  return set_gathered (ctx, node, data, dims, offset, step, error);
}

/* Reshape of a constant: the same values under new dims (0 copies a dim
 * unless allowzero, -1 takes what is left). */
gboolean
kiln_import_fold_reshape (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "allowzero", NULL };
  g_autoptr(KilnOnnxTensor) data = NULL;
  g_autoptr(KilnOnnxTensor) shape = NULL;
  gint64 allowzero = 0, dims[KILN_ONNX_MAX_DIMS], known_size = 1;
  int inferred = -1;

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "allowzero", &allowzero, error) ||
      (data = kiln_import_get_constant (ctx, node, 0, "data", error)) == NULL ||
      (shape = kiln_import_get_int64_vector (ctx, node, 1, "shape", error)) == NULL)
    return FALSE;
  if (shape->n_elements > KILN_ONNX_MAX_DIMS)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("reshapes a constant to %zu dims; Kiln folds up to %d"),
                                   shape->n_elements, KILN_ONNX_MAX_DIMS);
  for (gsize d = 0; d < shape->n_elements; d++)
    {
      gint64 s = shape->int64_data[d];
      if (s == 0 && !allowzero && d < (gsize) data->n_dims)
        s = data->dims[d];
      if (s == -1 && inferred < 0)
        inferred = (int) d;
      else if (s < 0 || (s > 0 && known_size > G_MAXINT64 / s))
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                       _("the shape has %" PRId64 " at axis %zu"), s, d);
      else
        known_size *= s;
      dims[d] = s;
    }
  if (inferred >= 0)
    dims[inferred] = known_size > 0 ? (gint64) data->n_elements / known_size : 0;
  gint64 total = 1;
  for (gsize d = 0; d < shape->n_elements; d++)
    total *= dims[d];
  if (total != (gint64) data->n_elements)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("reshapes a constant of %zu values to %" PRId64),
                                   data->n_elements, total);
  memcpy (data->dims, dims, shape->n_elements * sizeof (gint64));
  data->n_dims = (int) shape->n_elements;
  kiln_import_set_constant (ctx, node, g_steal_pointer (&data));
  return TRUE;
}

/* Transpose of a constant, any permutation (default: reversed axes). */
static gboolean
fold_transpose (Import *ctx, const KilnOnnxNode *node, const gint64 *perm, gsize n_perm, GError **error)
{
  g_autoptr(KilnOnnxTensor) data = kiln_import_get_constant (ctx, node, 0, "data", error);
  gint64 order[KILN_ONNX_MAX_DIMS], dims[KILN_ONNX_MAX_DIMS], in_strides[KILN_ONNX_MAX_DIMS];
  gint64 steps[KILN_ONNX_MAX_DIMS];
  gboolean seen[KILN_ONNX_MAX_DIMS] = { FALSE };

  if (data == NULL)
    return FALSE;
  if (perm != NULL && n_perm != (gsize) data->n_dims)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("perm has %zu values for a %d-D constant"), n_perm,
                                   data->n_dims);
  for (int d = 0; d < data->n_dims; d++)
    {
      order[d] = perm ? perm[d] : data->n_dims - 1 - d;
      if (order[d] < 0 || order[d] >= data->n_dims || seen[order[d]])
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("perm is not a permutation"));
      seen[order[d]] = TRUE;
      dims[d] = data->dims[order[d]];
    }
  get_strides (data, in_strides);
  for (int d = 0; d < data->n_dims; d++)
    steps[d] = in_strides[order[d]];
  return set_gathered (ctx, node, data, dims, 0, steps, error);
}

static gboolean
import_constant (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "value", "value_float", "value_floats", "value_int", "value_ints", NULL };
  g_autoptr(KilnOnnxTensor) tensor = NULL;

  if (!kiln_import_check_attributes (ctx, node, known, error))
    return FALSE;
  if (kiln_onnx_node_get_n_attributes (node) != 1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("needs exactly one value attribute"));

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
            kiln_import_set_int64 (tensor, k, ints ? ints[k] : i);
        }
    }
  kiln_import_set_constant (ctx, node, g_steal_pointer (&tensor));
  return TRUE;
}

/* Cast of a constant (opset 7 exports cast Reshape shapes) is folded; a
 * cast of activations to FLOAT passes them through. */
static gboolean
import_cast (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  static const char *const known[] = { "to", NULL };
  const char *input = kiln_import_has_input (node, 0) ? kiln_onnx_node_get_input (node, 0) : "";
  gint64 to = 0;

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_int (node, "to", &to, error))
    return FALSE;
  if (g_hash_table_contains (ctx->values, input))
    {
      const Value *value = g_hash_table_lookup (ctx->values, input);
      if (to != KILN_ONNX_TYPE_FLOAT)
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("casts activations to %s; Kiln computes in FLOAT"),
                                       kiln_onnx_data_type_to_string ((int) to));
      kiln_import_alias_value (ctx, kiln_onnx_node_get_output (node, 0), value, FALSE);
      return TRUE;
    }

  g_autoptr(KilnOnnxTensor) tensor = kiln_import_get_constant (ctx, node, 0, "input", error);
  if (tensor == NULL)
    return FALSE;
  if (to == KILN_ONNX_TYPE_INT64 && tensor->int64_data == NULL)
    {
      tensor->int64_data = g_new0 (gint64, MAX (tensor->n_elements, 1));
      for (gsize i = 0; i < tensor->n_elements; i++)
        {
          /* ±2^62: well inside gint64, and NaN fails the test too. */
          if (!(fabsf (tensor->data[i]) < 4.6e18f))
            return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                           _("casts %g to INT64, which does not fit"), tensor->data[i]);
          tensor->int64_data[i] = (gint64) tensor->data[i];
        }
    }
  else if (to != KILN_ONNX_TYPE_INT64 && to != KILN_ONNX_TYPE_FLOAT)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED, _("casts a constant to %s"),
                                   kiln_onnx_data_type_to_string ((int) to));
  tensor->data_type = (int) to;
  if (to == KILN_ONNX_TYPE_FLOAT)
    g_clear_pointer (&tensor->int64_data, g_free);
  kiln_import_set_constant (ctx, node, g_steal_pointer (&tensor));
  return TRUE;
}

static gboolean
import_identity (Import *ctx, const KilnOnnxNode *node, GError **error)
{
  const char *input = kiln_import_has_input (node, 0) ? kiln_onnx_node_get_input (node, 0) : "";
  const Value *value = g_hash_table_lookup (ctx->values, input);

  if (!kiln_import_check_attributes (ctx, node, NULL, error))
    return FALSE;
  if (value)
    {
      kiln_import_alias_value (ctx, kiln_onnx_node_get_output (node, 0), value, FALSE);
      return TRUE;
    }
  g_autoptr(KilnOnnxTensor) tensor = kiln_import_get_constant (ctx, node, 0, "input", error);
  if (tensor == NULL)
    return FALSE;
  kiln_import_set_constant (ctx, node, g_steal_pointer (&tensor));
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

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      !kiln_onnx_node_get_ints (node, "perm", &perm, &n_perm, error))
    return FALSE;
  if (kiln_import_has_input (node, 0) && kiln_import_is_constant (ctx, kiln_onnx_node_get_input (node, 0)))
    return fold_transpose (ctx, node, perm, n_perm, error);
  if ((input = kiln_import_get_value_maybe_transposed (ctx, node, 0, error)) == NULL)
    return FALSE;
  gboolean identity = perm != NULL && n_perm == 2 && perm[0] == 0 && perm[1] == 1;
  if (input->rank != 2 || (perm != NULL && !identity && (n_perm != 2 || perm[0] != 1 || perm[1] != 0)))
    {
      g_autoptr(GString) list = g_string_new (NULL);
      for (gsize i = 0; i < n_perm; i++)
        g_string_append_printf (list, "%s%" G_GINT64_FORMAT, i ? ", " : "", perm[i]);
      return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                     _("perm [%s] of a %d-D value; Kiln imports only the 2-D transpose that a Gemm "
                                     "with transA = 1 undoes"), perm ? list->str : _("reversed"), input->rank);
    }
  kiln_import_alias_value (ctx, kiln_onnx_node_get_output (node, 0), input, !identity);
  return TRUE;
}

/* The converters of the ops that make no layer, by ONNX op type. */
const ImportOp kiln_import_fold_ops[] = {
  { "Cast", import_cast },
  { "Constant", import_constant },
  { "ConstantOfShape", import_constant_of_shape },
  { "Gather", import_gather },
  { "Identity", import_identity },
  { "Pad", kiln_import_pad },
  { "Shape", import_shape },
  { "Slice", import_slice },
  { "Transpose", import_transpose },
  { "Unsqueeze", import_unsqueeze },
  { NULL, NULL }
};
