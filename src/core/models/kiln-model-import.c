/* kiln-model-import.c: one pretrained model made ready to fine-tune. */
#include "config.h"

#include <string.h>

#include "kiln-backend.h"
#include "kiln-caffe.h"
#include "kiln-checkpoint.h"
#include "kiln-error.h"
#include "kiln-json-text.h"
#include "kiln-model-import.h"
#include "kiln-net.h"
#include "kiln-onnx.h"

/* The layer that computes the class scores: the last one with weights
 * (a trailing Softmax has been dropped by then). */
static int
top_layer (KilnNetSpec *spec)
{
  for (int i = (int) kiln_net_spec_get_n_layers (spec) - 1; i >= 0; i--)
    {
      KilnLayerType type = kiln_net_spec_get_layer (spec, i)->type;
      if (type == KILN_LAYER_INNER_PRODUCT || type == KILN_LAYER_CONVOLUTION)
        return i;
      if (kiln_layer_type_has_weights (type))
        return -1;
    }
  return -1;
}

/* A copy of `spec` without its last layer. */
static KilnNetSpec *
without_last_layer (KilnNetSpec *spec, GError **error)
{
  int c, h, w;
  KilnNetSpec *copy;

  kiln_net_spec_get_input (spec, &c, &h, &w);
  copy = kiln_net_spec_new (kiln_net_spec_get_name (spec), c, h, w);
  kiln_net_spec_set_exact_fit (copy, kiln_net_spec_get_exact_fit (spec));
  for (guint i = 0; i + 1 < kiln_net_spec_get_n_layers (spec); i++)
    if (!kiln_net_spec_add_layer (copy, kiln_net_spec_get_layer (spec, i), error))
      {
        g_object_unref (copy);
        return NULL;
      }
  return copy;
}

void
kiln_model_import_free (KilnModelImport *import)
{
  if (import == NULL)
    return;
  g_clear_object (&import->spec);
  g_free (import->dropped_softmax);
  g_free (import->replaced_layer);
  g_free (import);
}

gboolean
kiln_model_import_is_model (const char *path)
{
  return g_str_has_suffix (path, ".onnx") || g_str_has_suffix (path, ".caffemodel");
}

KilnModelImport *
kiln_model_import (const char  *model,
                   const char  *prototxt,
                   const char  *format,
                   int          classes,
                   gboolean     keep_softmax,
                   guint64      seed,
                   const char  *spec_out,
                   const char  *weights_out,
                   GError     **error)
{
  g_autoptr(KilnModelImport) import = g_new0 (KilnModelImport, 1);
  g_autoptr(GHashTable) weights = NULL;
  g_autofree char *input_name = NULL, *output_name = NULL;

  import->caffe = format ? g_str_equal (format, "caffe") : prototxt != NULL || g_str_has_suffix (model, ".caffemodel");
  if (import->caffe ? !kiln_caffe_import (model, prototxt, &import->spec, &weights, error)
                    : !kiln_onnx_import_spec_with_names (model, &import->spec, &weights, &input_name, &output_name,
                                                         error))
    return NULL;

  /* The trainer adds softmax cross-entropy on the scores. */
  guint n = kiln_net_spec_get_n_layers (import->spec);
  if (!keep_softmax && n > 1 && kiln_net_spec_get_layer (import->spec, n - 1)->type == KILN_LAYER_SOFTMAX)
    {
      KilnNetSpec *trimmed = without_last_layer (import->spec, error);
      if (trimmed == NULL)
        return NULL;
      import->dropped_softmax = g_strdup (kiln_net_spec_get_layer (import->spec, n - 1)->name);
      g_object_unref (import->spec);
      import->spec = trimmed;
    }

  int top = top_layer (import->spec);
  if (top >= 0)
    import->old_classes = kiln_net_spec_get_layer (import->spec, top)->num_output;
  import->classes = import->old_classes;
  if (classes > 0 && classes != import->old_classes)
    {
      if (top < 0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                       "%s ends in no convolution or inner product whose outputs could become %d classes",
                       model, classes);
          return NULL;
        }
      KilnLayerSpec *layer = kiln_net_spec_get_layer (import->spec, top);
      layer->num_output = classes;
      import->classes = classes;
      import->replaced_layer = g_strdup (layer->name);
    }
  if (!kiln_net_spec_infer_shapes (import->spec, error))
    return NULL;

  /* The weights go through a net so they are written exactly as a Kiln
   * checkpoint holds them (names, order, N×C×H×W shapes). */
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", error);
  g_autoptr(KilnNet) net = backend ? kiln_net_new (import->spec, backend, 1, seed, error) : NULL;
  if (net == NULL)
    return NULL;
  const char *skip[] = { import->replaced_layer, NULL };
  if (!kiln_onnx_load_weights_except (net, weights, skip, error))
    return NULL;

  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *basename = g_path_get_basename (model);
  g_hash_table_insert (metadata, "kiln.imported_from", basename);
  g_hash_table_insert (metadata, "kiln.imported_format", import->caffe ? "caffe" : "onnx");
  /* export-onnx gives the graph the names the model came with. */
  if (input_name && output_name)
    {
      g_hash_table_insert (metadata, KILN_CHECKPOINT_INPUT_NAME, input_name);
      g_hash_table_insert (metadata, KILN_CHECKPOINT_OUTPUT_NAME, output_name);
    }
  /* As training checkpoints do, so export-onnx needs no --spec. */
  g_autoptr(JsonNode) spec_node = kiln_net_spec_to_json (import->spec);
  g_autofree char *spec_json = kiln_json_to_text (spec_node, FALSE);
  g_hash_table_insert (metadata, "kiln.spec", spec_json);
  if ((spec_out != NULL && !kiln_net_spec_save (import->spec, spec_out, error)) ||
      !kiln_checkpoint_save (&net, 1, weights_out, 0, metadata, error))
    return NULL;
  return g_steal_pointer (&import);
}
