/* kiln-onnx-import-fold.c: the ONNX ops that make no layer. Shape arithmetic
 * on constants is folded at import (Shape, Gather, Unsqueeze, Concat of
 * shape pieces, Constant, Cast): PyTorch's x.view(x.size(0), -1) exports as
 * Shape → Gather → Unsqueeze → Concat → Reshape, with the batch size as a
 * marker. Identity, Cast to FLOAT, a Pad that adds nothing and a 2-D
 * Transpose pass their input through. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-onnx-import-private.h"

/* ---- Shape arithmetic on constants ---------------------------------------- */

/* A 1-D INT64 constant input (a shape, axes or indices). */
static KilnOnnxTensor *
get_int64_vector (Import *ctx, const KilnOnnxNode *node, guint index, const char *what, GError **error)
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
      (data = get_int64_vector (ctx, node, 0, "data", error)) == NULL ||
      (indices = get_int64_vector (ctx, node, 1, "indices", error)) == NULL)
    return FALSE;
  if (axis != 0 && axis != -1)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("gathers along axis %" G_GINT64_FORMAT), axis);
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
          return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT, _("index %" G_GINT64_FORMAT
                                         " is outside the %" G_GSIZE_FORMAT " values"), indices->int64_data[i],
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
      if ((axes_tensor = get_int64_vector (ctx, node, 1, "axes", error)) == NULL)
        return FALSE;
      axes = axes_tensor->int64_data;
      n_axes = axes_tensor->n_elements;
    }
  gint64 rank = data->n_dims + (gint64) n_axes;
  if (n_axes == 0 || rank > KILN_ONNX_MAX_DIMS)
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                   _("inserts %" G_GSIZE_FORMAT " axes into %d"), n_axes, data->n_dims);
  for (gsize i = 0; i < n_axes; i++)
    {
      gint64 a = axes[i] < 0 ? axes[i] + rank : axes[i];
      if (a < 0 || a >= rank || inserted[a])
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                       _("axis %" G_GINT64_FORMAT " is out of range or repeated"), axes[i]);
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
                                   _("joins constants along axis %" G_GINT64_FORMAT "; Kiln folds 1-D shapes only"),
                                   axis);
  for (guint i = 0; i < kiln_onnx_node_get_n_inputs (node); i++)
    {
      g_autoptr(KilnOnnxTensor) piece = get_int64_vector (ctx, node, i, "input", error);
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

  if (!kiln_import_check_attributes (ctx, node, known, error) ||
      (input = kiln_import_get_value (ctx, node, 0, error)) == NULL)
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
    return kiln_import_node_error (ctx, node, error, KILN_ERROR_CORRUPT,
                                   _("pads has %" G_GSIZE_FORMAT " values for a %d-D input (2 per axis)"),
                                   n_pads, input->rank);
  for (gsize i = 0; i < n_pads; i++)
    if (pads[i] != 0)
      {
        g_autoptr(GString) list = g_string_new (NULL);
        for (gsize j = 0; j < n_pads; j++)
          g_string_append_printf (list, "%s%" G_GINT64_FORMAT, j ? ", " : "", pads[j]);
        return kiln_import_node_error (ctx, node, error, KILN_ERROR_UNSUPPORTED,
                                       _("pads [%s]; Kiln imports a Pad only when it adds nothing: re-export with the "
                                       "padding in the Conv or pooling node's own pads"), list->str);
      }
  kiln_import_alias_value (ctx, kiln_onnx_node_get_output (node, 0), input, FALSE);
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
      !kiln_onnx_node_get_ints (node, "perm", &perm, &n_perm, error) ||
      (input = kiln_import_get_value_maybe_transposed (ctx, node, 0, error)) == NULL)
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
  { "Gather", import_gather },
  { "Identity", import_identity },
  { "Pad", import_pad },
  { "Shape", import_shape },
  { "Transpose", import_transpose },
  { "Unsqueeze", import_unsqueeze },
  { NULL, NULL }
};
