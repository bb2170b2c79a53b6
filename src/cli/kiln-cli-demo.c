#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"
#include "kiln-demo.h"

int
kiln_cli_demo (int argc, char **argv)
{
  g_autofree char *dir = NULL, *dataset = NULL;
  int limit = 6000, epochs = 3;
  gboolean import_only = FALSE, as_json = FALSE;
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, N_("Demo project folder (default: ~/.local/share/kiln/demo)"), N_("DIR") },
    { "dataset", 0, 0, G_OPTION_ARG_FILENAME, &dataset, N_("Folder with the Fashion-MNIST IDX files"), N_("DIR") },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("Training images to import (0: all 60,000; default 6,000)"), N_("N") },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, N_("Epochs to train (default 3)"), N_("N") },
    { "import-only", 0, 0, G_OPTION_ARG_NONE, &import_only, N_("Only import the project, do not train"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary at the end"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProgress) progress = kiln_progress_new ("demo");
  g_autoptr(GAsyncResult) imported = NULL;

  if (!kiln_cli_parse ("demo", NULL,
                       _("Import the Fashion-MNIST demo project and train LeNet on it end to end."),
                       entries, &argc, &argv))
    return 2;
  if (limit < 0 || epochs < 1)
    {
      g_printerr ("%s", _("kiln-cli demo: --limit must be ≥ 0 and --epochs ≥ 1\n"));
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
  if (!as_json)
    g_print (_("demo project: %s\n"), dir);
  if (import_only)
    return 0;

  /* The same path a user takes: kiln-cli train on the project. */
  g_autofree char *epochs_text = g_strdup_printf ("%d", epochs);
  const char *train_argv[] = { "train", "--project", dir, "--preset", "lenet", "--epochs", epochs_text,
                               "--lr", "0.01", "--no-mirror", as_json ? "--json" : NULL, NULL };
  return kiln_cli_train (as_json ? 11 : 10, (char **) g_memdup2 (train_argv, sizeof train_argv));
}
