/* libFuzzer target for the ONNX readers: model and tensor parsing, every
 * accessor on what parsed, and the import into a KilnNetSpec. Whatever the
 * bytes, the result is a value or a GError; sanitizers catch the rest.
 *
 * Built only with clang (tests/fuzz/meson.build): CC=clang-14 meson setup
 * _build-fuzz; then mkdir corpus && _build-fuzz/tests/fuzz/fuzz-onnx
 * -max_total_time=60 corpus tests/fixtures/onnx */
#include <stdint.h>

#include "kiln-onnx.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
touch_node (const KilnOnnxNode *node)
{
  for (guint i = 0; i < kiln_onnx_node_get_n_attributes (node); i++)
    {
      const char *name = kiln_onnx_node_get_attribute_name (node, i);
      const gint64 *ints = NULL;
      const float *floats = NULL;
      gsize n = 0;
      gint64 v = 0;
      float f = 0;
      g_autofree char *s = NULL;

      /* Each getter either matches the type or fails cleanly. */
      kiln_onnx_node_get_int (node, name, &v, NULL);
      kiln_onnx_node_get_float (node, name, &f, NULL);
      kiln_onnx_node_get_ints (node, name, &ints, &n, NULL);
      for (gsize k = 0; ints && k < n; k++)
        v ^= ints[k];
      kiln_onnx_node_get_floats (node, name, &floats, &n, NULL);
      for (gsize k = 0; floats && k < n; k++)
        f += floats[k];
      kiln_onnx_node_get_string (node, name, &s, NULL);
      kiln_onnx_tensor_free (kiln_onnx_node_get_tensor (node, name, NULL));
    }
  for (guint i = 0; i < kiln_onnx_node_get_n_inputs (node); i++)
    (void) kiln_onnx_node_get_input (node, i);
  (void) kiln_onnx_node_get_label (node);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load_from_data (data, size, "fuzz.onnx", NULL);
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;

  kiln_onnx_tensor_free (kiln_onnx_tensor_load_from_data (data, size, "fuzz.pb", NULL));
  if (model == NULL)
    return 0;
  for (guint i = 0; i < kiln_onnx_model_get_n_nodes (model); i++)
    touch_node (kiln_onnx_model_get_node (model, i));
  for (guint i = 0; i < kiln_onnx_model_get_n_inputs (model); i++)
    {
      KilnOnnxValueInfo info;
      kiln_onnx_model_get_input (model, i, &info);
      kiln_onnx_tensor_free (kiln_onnx_model_get_initializer (model, info.name, NULL));
    }
  if (!kiln_onnx_import_spec_from_model (model, &spec, &weights, &error))
    g_assert (error != NULL);
  return 0;
}
