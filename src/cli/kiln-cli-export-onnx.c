/* kiln-cli export-onnx: a checkpoint (a training run's, or import-model's
 * weights) written as an ONNX model for onnxruntime and other tools. The
 * graph keeps the input and output names that import-model stored, else
 * reads "input" and writes "output". */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-checkpoint.h"
#include "kiln-training-weights.h"
#include "kiln-cli.h"
#include "kiln-core.h"

int
kiln_cli_export_onnx (int argc, char **argv)
{
  g_autofree char *spec_path = NULL, *out = NULL;
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "spec", 0, 0, G_OPTION_ARG_FILENAME, &spec_path,
      N_("Network spec (default: the one a training checkpoint carries)"), N_("SPEC.json") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Write the ONNX model here"), N_("MODEL.onnx") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnSafetensors) file = NULL;
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(KilnBackend) backend = NULL;
  g_autoptr(KilnNet) net = NULL;

  if (!kiln_cli_parse ("export-onnx", _("CHECKPOINT|RUN"),
                       _("Write a network and the weights of a checkpoint as an ONNX model (opset 13).\n\n"
                         "The graph's input and output keep the names of a model imported with "
                         "import-model; Kiln's own nets read “input” and write “output”."),
                       entries, &argc, &argv))
    return 2;
  if (argc != 2 || out == NULL)
    {
      g_printerr ("%s", _("kiln-cli export-onnx: give one CHECKPOINT and --out MODEL.onnx\n"));
      return 2;
    }
  /* A run folder names its best checkpoint, as train --weights reads it. */
  g_autofree char *checkpoint = kiln_training_resolve_weights (NULL, argv[1], NULL, &error);
  if (checkpoint == NULL || (file = kiln_safetensors_new_from_file (checkpoint, &error)) == NULL)
    return kiln_cli_fail ("export-onnx", error);

  if (spec_path != NULL)
    spec = kiln_net_spec_new_from_file (spec_path, &error);
  else
    {
      const char *text = kiln_safetensors_get_metadata (file, "kiln.spec");
      g_autoptr(JsonNode) node = NULL;
      if (text == NULL)
        {
          g_printerr (_("kiln-cli export-onnx: %s does not carry its network spec; give --spec SPEC.json\n"),
                      checkpoint);
          return 1;
        }
      if ((node = json_from_string (text, &error)) != NULL)
        spec = kiln_net_spec_new_from_json (node, &error);
    }
  /* The shapes give the parameter count reported below. */
  if (spec == NULL || !kiln_net_spec_infer_shapes (spec, &error))
    return kiln_cli_fail ("export-onnx", error);

  const char *input_name = kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_INPUT_NAME);
  const char *output_name = kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_OUTPUT_NAME);
  if (input_name == NULL || output_name == NULL)
    {
      input_name = KILN_ONNX_EXPORT_INPUT_NAME;
      output_name = KILN_ONNX_EXPORT_OUTPUT_NAME;
    }
  backend = kiln_backend_new ("cpu", &error);
  if (backend == NULL || (net = kiln_net_new (spec, backend, 1, 1, &error)) == NULL ||
      kiln_checkpoint_load (net, file, KILN_CHECKPOINT_LOAD_STRICT, NULL, &error) < 0 ||
      !kiln_onnx_export_named (net, out, input_name, output_name, &error))
    return kiln_cli_fail ("export-onnx", error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "model");
      json_builder_add_string_value (builder, out);
      json_builder_set_member_name (builder, "opset");
      json_builder_add_int_value (builder, KILN_ONNX_EXPORT_OPSET);
      json_builder_set_member_name (builder, "layers");
      json_builder_add_int_value (builder, kiln_net_spec_get_n_layers (spec));
      json_builder_set_member_name (builder, "params");
      json_builder_add_int_value (builder, kiln_net_spec_get_total_params (spec));
      json_builder_set_member_name (builder, "input");
      json_builder_add_string_value (builder, input_name);
      json_builder_set_member_name (builder, "output");
      json_builder_add_string_value (builder, output_name);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  g_print (_("Wrote %s (ONNX opset %d, %u layers, %lld parameters; input “%s”, output “%s”)\n"),
           out, KILN_ONNX_EXPORT_OPSET, kiln_net_spec_get_n_layers (spec),
           (long long) kiln_net_spec_get_total_params (spec),
           input_name, output_name);
  return 0;
}
