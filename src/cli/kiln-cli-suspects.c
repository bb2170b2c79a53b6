#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

static void
print_table (GPtrArray *suspects)
{
  g_autofree char *given = kiln_cli_pad (_("given"), 16);
  g_autofree char *predicted = kiln_cli_pad (_("predicted"), 16);

  g_print ("%4s  %8s  %s %s %s\n", "#", _("loss"), given, predicted, _("image"));
  for (guint i = 0; i < suspects->len; i++)
    {
      KilnSuspect *s = suspects->pdata[i];
      g_autofree char *a = kiln_cli_pad (s->given_class, 16);
      g_autofree char *b = kiln_cli_pad (s->predicted_class, 16);
      g_print ("%4u  %8.3f  %s %s %s\n", i + 1, s->loss, a, b, s->path);
    }
}

static void
print_json (GPtrArray *suspects, const char *file)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, file);
  json_builder_set_member_name (b, "suspects");
  json_builder_begin_array (b);
  for (guint i = 0; i < suspects->len; i++)
    {
      KilnSuspect *s = suspects->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "image_id");
      json_builder_add_int_value (b, s->image_id);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, s->path);
      json_builder_set_member_name (b, "given_class");
      json_builder_add_string_value (b, s->given_class);
      json_builder_set_member_name (b, "predicted_class");
      json_builder_add_string_value (b, s->predicted_class);
      json_builder_set_member_name (b, "loss");
      json_builder_add_double_value (b, s->loss);
      json_builder_set_member_name (b, "given_probability");
      json_builder_add_double_value (b, s->given_probability);
      json_builder_set_member_name (b, "fold");
      json_builder_add_int_value (b, s->fold);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  kiln_cli_print_json (b);
}

int
kiln_cli_suspects (int argc, char **argv)
{
  KilnSuspectsOptions options;
  int folds = 3, epochs = 0, top = 20;
  gint64 seed = 1;
  gboolean as_json = FALSE;
  g_autoptr(GError) error = NULL;

  kiln_suspects_options_init (&options);
  const GOptionEntry entries[] = {
    { "folds", 'k', 0, G_OPTION_ARG_INT, &folds, N_("Folds of the training images, each judged by a model trained on the others (default 3)"), N_("K") },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, N_("Epochs each fold trains (default: the run's)"), N_("N") },
    { "top", 'n', 0, G_OPTION_ARG_INT, &top, N_("How many suspects to keep, most suspect first; 0 keeps all (default 20)"), N_("N") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("How images are dealt into folds (default 1)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!kiln_cli_parse ("suspects", _("RUN"),
                       _("Find the training images whose label the model disagrees with most: k models, each "
                         "trained without one fold, judge that fold. The list goes to RUN/suspects.tsv."),
                       entries, &argc, &argv))
    return 2;
  if (argc != 2)
    {
      g_printerr ("%s", _("kiln-cli suspects: give exactly one run folder\n"));
      return 2;
    }
  if (folds < 2 || epochs < 0 || top < 0 || seed < 0)
    {
      g_printerr ("%s", _("kiln-cli suspects: --folds is at least 2; --epochs, --top and --seed are not negative\n"));
      return 2;
    }
  options.folds = folds;
  options.epochs = epochs;
  options.top = top;
  options.seed = seed;

  const char *run_dir = argv[1];
  g_autoptr(KilnProgress) progress = kiln_progress_new ("suspects");
  if (!as_json)
    kiln_cli_show_progress (progress, _("training folds"));
  g_autoptr(GAsyncResult) result = NULL;
  kiln_suspects_find_async (run_dir, &options, progress, NULL, kiln_cli_keep_result, &result);
  g_autoptr(GPtrArray) suspects = kiln_suspects_find_finish (kiln_cli_wait (&result), &error);
  kiln_cli_status_done ();
  if (suspects == NULL)
    return kiln_cli_fail ("suspects", error);
  g_autofree char *file = g_build_filename (run_dir, KILN_SUSPECTS_FILE, NULL);
  if (as_json)
    print_json (suspects, file);
  else
    {
      print_table (suspects);
      g_print (_("\nWritten to %s\n"), file);
    }
  return 0;
}
