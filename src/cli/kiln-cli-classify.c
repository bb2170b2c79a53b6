#include "config.h"

#include <glib/gi18n.h>

#include "kiln-classifier.h"
#include "kiln-cli.h"
#include "kiln-core.h"

int
kiln_cli_classify (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *backend = NULL;
  int top = 5;
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "top", 'k', 0, G_OPTION_ARG_INT, &top, N_("How many classes to show (default 5)"), N_("K") },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, N_("Use this checkpoint (default: the run's best)"), N_("FILE") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, cuda, cuda:N or auto (default: $KILN_DEVICE, else the Preferences' device, else auto)"), N_("DEVICE") },
    { "backend", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &backend, N_("Same as --device"), N_("DEVICE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;

  if (!kiln_cli_parse ("classify", _("RUN IMAGE…"),
                       _("Classify images with a trained run (its best checkpoint, preprocessing and mean)."),
                       entries, &argc, &argv))
    return 2;
  if (argc < 3 || top < 1)
    {
      g_printerr ("%s", _("kiln-cli classify: give a run folder and at least one image; --top must be ≥ 1\n"));
      return 2;
    }
  g_autoptr(KilnClassifier) classifier = kiln_classifier_new_from_run (argv[1], checkpoint, backend, 1, &error);
  if (classifier == NULL)
    return kiln_cli_fail ("classify", error);

  g_autoptr(JsonBuilder) builder = json_builder_new ();
  int status = 0;
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "checkpoint");
  json_builder_add_string_value (builder, kiln_classifier_get_checkpoint (classifier));
  json_builder_set_member_name (builder, "images");
  json_builder_begin_array (builder);
  for (int i = 2; i < argc; i++)
    {
      g_autoptr(GError) image_error = NULL;
      g_autoptr(GArray) predictions = kiln_classifier_classify_file (classifier, argv[i], top, &image_error);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, argv[i]);
      if (predictions == NULL)
        {
          status = 1;
          json_builder_set_member_name (builder, "error");
          json_builder_add_string_value (builder, image_error->message);
          if (!as_json)
            g_printerr ("kiln-cli classify: %s\n", image_error->message);
        }
      else
        {
          json_builder_set_member_name (builder, "predictions");
          json_builder_begin_array (builder);
          if (!as_json)
            g_print ("%s\n", argv[i]);
          for (guint p = 0; p < predictions->len; p++)
            {
              KilnPrediction *pred = &g_array_index (predictions, KilnPrediction, p);
              json_builder_begin_object (builder);
              json_builder_set_member_name (builder, "class");
              json_builder_add_string_value (builder, pred->class_name);
              json_builder_set_member_name (builder, "probability");
              json_builder_add_double_value (builder, pred->probability);
              json_builder_end_object (builder);
              if (!as_json)
                g_print ("  %6.2f%%  %s\n", 100.0 * pred->probability, pred->class_name);
            }
          json_builder_end_array (builder);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  if (as_json)
    kiln_cli_print_json (builder);
  return status;
}
