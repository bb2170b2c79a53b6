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
  if (weights_out == NULL)
    weights_out = default_weights_path (out);

  g_autoptr(KilnModelImport) import = kiln_model_import (model, prototxt, format, classes, keep_softmax,
                                                          (guint64) seed, out, weights_out, &error);
  if (import == NULL)
    return kiln_cli_fail ("import-model", error);
  KilnNetSpec *spec = import->spec;
  gboolean caffe = import->caffe;
  const char *dropped = import->dropped_softmax, *replaced = import->replaced_layer;
  int old_classes = import->old_classes;

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
  g_print (_("%s: %u layers, %lld parameters, input %d×%d×%d\n"), model,
           kiln_net_spec_get_n_layers (spec), (long long) kiln_net_spec_get_total_params (spec), c, h, w);
  if (dropped)
    g_print (_("Dropped the final Softmax %s: training adds its own loss.\n"), dropped);
  if (replaced)
    g_print (_("Replaced the top layer %s: %d → %d classes, freshly initialised.\n"), replaced, old_classes,
             classes);
  g_print (_("Wrote %s and %s; fine-tune with kiln-cli train --spec %s --weights %s\n"), out, weights_out, out,
           weights_out);
  return 0;
}
