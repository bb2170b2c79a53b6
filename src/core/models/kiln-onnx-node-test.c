/* kiln-onnx-node-test.c: the ONNX backend node-test loader. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-onnx-node-test.h"

#define DEFAULT_NODE_TEST_DIR "/usr/share/libonnx-testdata/data/node"
/* More than any upstream test uses; bounds the loop over numbered files. */
#define MAX_TENSORS_PER_SET 64

typedef struct {
  GPtrArray *inputs;    /* KilnOnnxTensor* */
  GPtrArray *outputs;
} DataSet;

struct _KilnOnnxNodeTest {
  char *name;
  KilnOnnxModel *model;
  GArray *data_sets;    /* DataSet */
};

static void
data_set_clear (gpointer data)
{
  DataSet *set = data;

  g_clear_pointer (&set->inputs, g_ptr_array_unref);
  g_clear_pointer (&set->outputs, g_ptr_array_unref);
}

char *
kiln_onnx_node_test_get_default_dir (void)
{
  const char *dir = g_getenv ("KILN_ONNX_NODE_TEST_DIR");

  return g_strdup (dir && *dir ? dir : DEFAULT_NODE_TEST_DIR);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

GPtrArray *
kiln_onnx_node_test_list (const char         *dir,
                          const char * const *patterns,
                          GError            **error)
{
  g_autoptr(GDir) d = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  d = g_dir_open (dir, 0, &local_error);
  if (d == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   _("Cannot list ONNX node tests in %s: %s (install libonnx-testdata or set "
                   "KILN_ONNX_NODE_TEST_DIR)"), dir, local_error->message);
      return NULL;
    }
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      gboolean match = patterns == NULL;
      for (guint i = 0; patterns && patterns[i] && !match; i++)
        match = g_pattern_match_simple (patterns[i], entry);
      if (match)
        g_ptr_array_add (names, g_strdup (entry));
    }
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

/* Checks a data file against the model's declaration. */
static gboolean
check_tensor (const KilnOnnxTensor    *tensor,
              const KilnOnnxValueInfo *info,
              const char              *path,
              GError                 **error)
{
  if (info->elem_type != 0 && info->elem_type != tensor->data_type)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   _("%s holds %s data but model.onnx declares %s as %s"),
                   path, kiln_onnx_data_type_to_string (tensor->data_type), info->name,
                   kiln_onnx_data_type_to_string (info->elem_type));
      return FALSE;
    }
  if (info->n_dims < 0)
    return TRUE;

  gboolean same = info->n_dims == tensor->n_dims;
  for (int i = 0; same && i < info->n_dims; i++)
    same = info->dims[i] < 0 || info->dims[i] == tensor->dims[i];
  if (!same)
    {
      g_autofree char *have = kiln_onnx_tensor_dims_to_string (tensor);
      g_autofree char *want = kiln_onnx_value_info_dims_to_string (info);
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   _("%s has dims %s but model.onnx declares %s as %s"),
                   path, have, info->name, want);
      return FALSE;
    }
  return TRUE;
}

/* Reads prefix_0.pb … prefix_{n-1}.pb and checks there are exactly n. */
static GPtrArray *
load_tensors (KilnOnnxModel *model,
              const char    *set_dir,
              const char    *prefix,
              gboolean       outputs,
              GError       **error)
{
  g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_onnx_tensor_free);
  g_autoptr(GPtrArray) infos = g_ptr_array_new_with_free_func (g_free);
  guint n_declared = outputs ? kiln_onnx_model_get_n_outputs (model) : kiln_onnx_model_get_n_inputs (model);

  /* Inputs that are initializers have no data file. */
  for (guint i = 0; i < n_declared; i++)
    {
      KilnOnnxValueInfo *info = g_new (KilnOnnxValueInfo, 1);
      if (outputs)
        kiln_onnx_model_get_output (model, i, info);
      else
        kiln_onnx_model_get_input (model, i, info);
      if (!outputs && kiln_onnx_model_has_initializer (model, info->name))
        g_free (info);
      else
        g_ptr_array_add (infos, info);
    }

  for (guint i = 0; i < MAX_TENSORS_PER_SET; i++)
    {
      g_autofree char *file = g_strdup_printf ("%s_%u.pb", prefix, i);
      g_autofree char *path = g_build_filename (set_dir, file, NULL);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        break;
      if (i >= infos->len)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                       _("%s exists but model.onnx declares only %u graph %s"),
                       path, infos->len, outputs ? "outputs" : "inputs");
          return NULL;
        }
      KilnOnnxTensor *tensor = kiln_onnx_tensor_load (path, error);
      if (tensor == NULL)
        return NULL;
      g_ptr_array_add (tensors, tensor);
      if (!check_tensor (tensor, infos->pdata[i], path, error))
        return NULL;
    }
  if (tensors->len != infos->len)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   _("%s has %u %s files but model.onnx declares %u graph %s; the test folder is incomplete"),
                   set_dir, tensors->len, prefix, infos->len, outputs ? "outputs" : "inputs");
      return NULL;
    }
  return g_steal_pointer (&tensors);
}

KilnOnnxNodeTest *
kiln_onnx_node_test_load (const char *test_dir, GError **error)
{
  g_autoptr(KilnOnnxNodeTest) self = g_new0 (KilnOnnxNodeTest, 1);
  g_autofree char *model_path = g_build_filename (test_dir, "model.onnx", NULL);

  self->name = g_path_get_basename (test_dir);
  self->data_sets = g_array_new (FALSE, TRUE, sizeof (DataSet));
  g_array_set_clear_func (self->data_sets, data_set_clear);
  self->model = kiln_onnx_model_load (model_path, error);
  if (self->model == NULL)
    return NULL;

  for (guint i = 0;; i++)
    {
      g_autofree char *set_name = g_strdup_printf ("test_data_set_%u", i);
      g_autofree char *set_dir = g_build_filename (test_dir, set_name, NULL);
      DataSet set = { NULL, NULL };

      if (!g_file_test (set_dir, G_FILE_TEST_IS_DIR))
        break;
      set.inputs = load_tensors (self->model, set_dir, "input", FALSE, error);
      if (set.inputs == NULL)
        return NULL;
      set.outputs = load_tensors (self->model, set_dir, "output", TRUE, error);
      if (set.outputs == NULL)
        {
          data_set_clear (&set);
          return NULL;
        }
      g_array_append_val (self->data_sets, set);
    }
  if (self->data_sets->len == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   _("%s has no test_data_set_0 folder; the node test is incomplete"), test_dir);
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
kiln_onnx_node_test_free (KilnOnnxNodeTest *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->data_sets, g_array_unref);
  g_clear_pointer (&self->model, kiln_onnx_model_free);
  g_free (self->name);
  g_free (self);
}

const char *
kiln_onnx_node_test_get_name (KilnOnnxNodeTest *self)
{
  return self->name;
}

KilnOnnxModel *
kiln_onnx_node_test_get_model (KilnOnnxNodeTest *self)
{
  return self->model;
}

const KilnOnnxNode *
kiln_onnx_node_test_get_node (KilnOnnxNodeTest *self)
{
  if (kiln_onnx_model_get_n_nodes (self->model) != 1)
    return NULL;
  return kiln_onnx_model_get_node (self->model, 0);
}

const char *
kiln_onnx_node_test_get_op_type (KilnOnnxNodeTest *self)
{
  const KilnOnnxNode *node = kiln_onnx_node_test_get_node (self);

  return node ? kiln_onnx_node_get_op_type (node) : NULL;
}

guint
kiln_onnx_node_test_get_n_data_sets (KilnOnnxNodeTest *self)
{
  return self->data_sets->len;
}

GPtrArray *
kiln_onnx_node_test_get_inputs (KilnOnnxNodeTest *self, guint data_set)
{
  g_return_val_if_fail (data_set < self->data_sets->len, NULL);
  return g_array_index (self->data_sets, DataSet, data_set).inputs;
}

GPtrArray *
kiln_onnx_node_test_get_expected_outputs (KilnOnnxNodeTest *self, guint data_set)
{
  g_return_val_if_fail (data_set < self->data_sets->len, NULL);
  return g_array_index (self->data_sets, DataSet, data_set).outputs;
}
