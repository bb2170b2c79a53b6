#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"
#include "kiln-demo.h"

int
kiln_cli_demo (int argc, char **argv)
{
  g_autofree char *dir = NULL, *dataset = NULL;
  int limit = 0, epochs = KILN_DEMO_EPOCHS, val_per_class = 0, keep = 0;
  gboolean import_only = FALSE, as_json = FALSE;
  g_autofree char *epochs_help = g_strdup_printf (_("Epochs to train (default %d)"), KILN_DEMO_EPOCHS);
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, N_("Demo project folder (default: ~/.local/share/kiln/demo)"), N_("DIR") },
    { "dataset", 0, 0, G_OPTION_ARG_FILENAME, &dataset, N_("Folder with the Fashion-MNIST IDX files"), N_("DIR") },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("Training images to import, and a sixth as many test images (default 0: all 60,000 and 10,000)"), N_("N") },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, epochs_help, N_("N") },
    { "val-per-class", 0, 0, G_OPTION_ARG_INT, &val_per_class, N_("Training images of each class to validate on instead (default 0)"), N_("N") },
    { "keep", 0, 0, G_OPTION_ARG_INT, &keep, N_("Checkpoints to keep besides the best (default 3; bench/fashion-93.sh keeps every epoch's)"), N_("N") },
    { "import-only", 0, 0, G_OPTION_ARG_NONE, &import_only, N_("Only import the project and make its split, do not train"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON array: the training summary and the test evaluation"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProgress) progress = kiln_progress_new ("demo");
  g_autoptr(GAsyncResult) imported = NULL;

  if (!kiln_cli_parse ("demo", NULL,
                       _("Import the Fashion-MNIST demo project, train the fashion-bn network on its 60,000 "
                         "training images and test it on its 10,000 test images."),
                       entries, &argc, &argv))
    return 2;
  if (limit < 0 || epochs < 1 || val_per_class < 0 || keep < 0)
    {
      g_printerr ("%s", _("kiln-cli demo: --limit, --val-per-class and --keep must be ≥ 0 and --epochs ≥ 1\n"));
      return 2;
    }
  if (dir == NULL)
    dir = kiln_demo_default_dir ();
  if (!as_json)
    kiln_cli_show_progress (progress, _("importing Fashion-MNIST"));
  kiln_demo_ensure_async (dir, dataset, limit, progress, NULL, kiln_cli_keep_result, &imported);
  if (!kiln_demo_ensure_finish (kiln_cli_wait (&imported), &error))
    {
      kiln_cli_status_done ();
      return kiln_cli_fail ("demo", error);
    }
  kiln_cli_status_done ();
  guint counts[3];
  if (!kiln_demo_split (dir, val_per_class, counts, &error))
    return kiln_cli_fail ("demo", error);
  if (!as_json)
    g_print (_("demo project: %s (split “%s”: %u training, %u validation, %u test images)\n"),
             dir, KILN_DEMO_SPLIT, counts[0], counts[1], counts[2]);
  if (import_only)
    return 0;

  /* The window's New Run wizard starts the demo project from the same
   * recipe; then kiln-cli eval on the test images, as a user would. */
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_auto(KilnRunRecipe) recipe;
  kiln_run_recipe_init_demo (&recipe);
  recipe.epochs = epochs;
  recipe.keep = keep;
  recipe.run_id = g_date_time_format (now, "demo-%Y%m%d-%H%M%S");

  if (as_json)
    g_print ("[\n");
  int status = kiln_cli_train_recipe (&recipe, dir, as_json);
  if (status == 0)
    {
      g_autofree char *run = g_build_filename (dir, "runs", recipe.run_id, NULL);
      const char *eval[] = { "eval", run, "--subset", "test", as_json ? "--json" : NULL, NULL };
      if (as_json)
        g_print (",\n");
      else
        g_print ("%s", _("test images, never trained on:\n"));
      /* Option parsing reorders the vector it is given: give it a copy. */
      g_autofree char **eval_argv = g_memdup2 (eval, sizeof eval);
      status = kiln_cli_eval (as_json ? 5 : 4, eval_argv);
    }
  if (as_json)
    g_print ("]\n");
  return status;
}
