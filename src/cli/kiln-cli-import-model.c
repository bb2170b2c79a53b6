/* kiln-cli import-model: an ONNX or Caffe model as a Kiln spec (JSON) plus
 * its weights as a safetensors checkpoint that `kiln-cli train --spec SPEC
 * --weights FILE` fine-tunes. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-json-text.h"
#include "kiln-checkpoint.h"
#include "kiln-cli.h"
#include "kiln-core.h"

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

static char *
default_weights_path (const char *spec_path)
{
  g_autofree char *base = g_strdup (spec_path);

  if (g_str_has_suffix (base, ".json"))
    base[strlen (base) - 5] = '\0';
  return g_strconcat (base, ".safetensors", NULL);
}

int
kiln_cli_import_model (int argc, char **argv)
{
  g_autofree char *prototxt = NULL, *out = NULL, *weights_out = NULL, *format = NULL;
  int classes = 0;
  gint64 seed = 1;
  gboolean as_json = FALSE, keep_softmax = FALSE;
  const GOptionEntry entries[] = {
    { "prototxt", 0, 0, G_OPTION_ARG_FILENAME, &prototxt,
      N_("Caffe deploy.prototxt (layers and input size) for a .caffemodel"), N_("FILE") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("onnx or caffe (default: from the file name)"), N_("NAME") },
    { "classes", 0, 0, G_OPTION_ARG_INT, &classes,
      N_("Replace the top layer for this many classes (fresh initialisation)"), N_("N") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Write the network spec (JSON) here"), N_("SPEC.json") },
    { "weights", 'w', 0, G_OPTION_ARG_FILENAME, &weights_out,
      N_("Write the weights here (default: the spec's name with .safetensors)"), N_("FILE") },
    { "keep-softmax", 0, 0, G_OPTION_ARG_NONE, &keep_softmax,
      N_("Keep a final Softmax (training adds its own loss, so it is dropped by default)"), NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed for a replaced top layer's weights"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(KilnBackend) backend = NULL;
  g_autoptr(KilnNet) net = NULL;
  g_autofree char *dropped = NULL, *replaced = NULL, *input_name = NULL, *output_name = NULL;
  int old_classes = 0;
  gboolean caffe;

  if (!kiln_cli_parse ("import-model", _("MODEL"),
                       _("Convert an ONNX model or a Caffe .caffemodel into a Kiln network spec and "
                         "safetensors weights for fine-tuning with kiln-cli train --spec --weights."),
                       entries, &argc, &argv))
    return 2;
  if (argc != 2 || out == NULL)
    {
      g_printerr ("%s", _("kiln-cli import-model: give one MODEL and --out SPEC.json\n"));
      return 2;
    }
  if (classes < 0 || (format && !g_str_equal (format, "onnx") && !g_str_equal (format, "caffe")))
    {
      g_printerr ("%s", _("kiln-cli import-model: --classes wants a positive count and --format onnx or caffe\n"));
      return 2;
    }
  const char *model = argv[1];
  caffe = format ? g_str_equal (format, "caffe") : prototxt != NULL || g_str_has_suffix (model, ".caffemodel");
  if (weights_out == NULL)
    weights_out = default_weights_path (out);

  if (caffe ? !kiln_caffe_import (model, prototxt, &spec, &weights, &error)
            : !kiln_onnx_import_spec_with_names (model, &spec, &weights, &input_name, &output_name, &error))
    return kiln_cli_fail ("import-model", error);

  /* The trainer adds softmax cross-entropy on the scores. */
  guint n = kiln_net_spec_get_n_layers (spec);
  if (!keep_softmax && n > 1 && kiln_net_spec_get_layer (spec, n - 1)->type == KILN_LAYER_SOFTMAX)
    {
      KilnNetSpec *trimmed = without_last_layer (spec, &error);
      if (trimmed == NULL)
        return kiln_cli_fail ("import-model", error);
      dropped = g_strdup (kiln_net_spec_get_layer (spec, n - 1)->name);
      g_object_unref (spec);
      spec = trimmed;
    }

  int top = top_layer (spec);
  if (top >= 0)
    old_classes = kiln_net_spec_get_layer (spec, top)->num_output;
  if (classes > 0 && classes != old_classes)
    {
      if (top < 0)
        {
          g_printerr (_("kiln-cli import-model: %s ends in no convolution or inner product whose outputs "
                        "could become %d classes\n"), model, classes);
          return 1;
        }
      KilnLayerSpec *layer = kiln_net_spec_get_layer (spec, top);
      layer->num_output = classes;
      replaced = g_strdup (layer->name);
    }
  if (!kiln_net_spec_infer_shapes (spec, &error))
    return kiln_cli_fail ("import-model", error);

  /* The weights go through a net so they are written exactly as a Kiln
   * checkpoint holds them (names, order, N×C×H×W shapes). */
  backend = kiln_backend_new ("cpu", &error);
  if (backend == NULL ||
      (net = kiln_net_new (spec, backend, 1, (guint64) seed, &error)) == NULL)
    return kiln_cli_fail ("import-model", error);
  const char *skip[] = { replaced, NULL };
  if (!kiln_onnx_load_weights_except (net, weights, skip, &error))
    return kiln_cli_fail ("import-model", error);

  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *basename = g_path_get_basename (model);
  g_hash_table_insert (metadata, "kiln.imported_from", basename);
  g_hash_table_insert (metadata, "kiln.imported_format", caffe ? "caffe" : "onnx");
  /* export-onnx gives the graph the names the model came with. */
  if (input_name && output_name)
    {
      g_hash_table_insert (metadata, KILN_CHECKPOINT_INPUT_NAME, input_name);
      g_hash_table_insert (metadata, KILN_CHECKPOINT_OUTPUT_NAME, output_name);
    }
  /* As training checkpoints do, so export-onnx needs no --spec. */
  g_autoptr(JsonNode) spec_node = kiln_net_spec_to_json (spec);
  g_autofree char *spec_json = kiln_json_to_text (spec_node, FALSE);
  g_hash_table_insert (metadata, "kiln.spec", spec_json);
  if (!kiln_net_spec_save (spec, out, &error) ||
      !kiln_checkpoint_save (&net, 1, weights_out, 0, metadata, &error))
    return kiln_cli_fail ("import-model", error);

  int c, h, w;
  kiln_net_spec_get_input (spec, &c, &h, &w);
  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "format");
      json_builder_add_string_value (builder, caffe ? "caffe" : "onnx");
      json_builder_set_member_name (builder, "spec");
      json_builder_add_string_value (builder, out);
      json_builder_set_member_name (builder, "weights");
      json_builder_add_string_value (builder, weights_out);
      json_builder_set_member_name (builder, "layers");
      json_builder_add_int_value (builder, kiln_net_spec_get_n_layers (spec));
      json_builder_set_member_name (builder, "params");
      json_builder_add_int_value (builder, kiln_net_spec_get_total_params (spec));
      json_builder_set_member_name (builder, "input");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, c);
      json_builder_add_int_value (builder, h);
      json_builder_add_int_value (builder, w);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "classes");
      json_builder_add_int_value (builder, classes > 0 ? classes : old_classes);
      json_builder_set_member_name (builder, "dropped_softmax");
      if (dropped)
        json_builder_add_string_value (builder, dropped);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "replaced_layer");
      if (replaced)
        json_builder_add_string_value (builder, replaced);
      else
        json_builder_add_null_value (builder);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  g_print (_("%s: %u layers, %" G_GINT64_FORMAT " parameters, input %d×%d×%d\n"), model,
           kiln_net_spec_get_n_layers (spec), kiln_net_spec_get_total_params (spec), c, h, w);
  if (dropped)
    g_print (_("Dropped the final Softmax %s: training adds its own loss.\n"), dropped);
  if (replaced)
    g_print (_("Replaced the top layer %s: %d → %d classes, freshly initialised.\n"), replaced, old_classes,
             classes);
  g_print (_("Wrote %s and %s; fine-tune with kiln-cli train --spec %s --weights %s\n"), out, weights_out, out,
           weights_out);
  return 0;
}
