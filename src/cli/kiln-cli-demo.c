#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"
#include "kiln-demo.h"

/* The recipe that takes fashion-bn past 93% on the 10,000 test images in
 * under five minutes of training on two cores (bench/fashion-93.sh,
 * bench/RESULTS.md): batch norm, a cosine schedule after a short warm-up,
 * random 28×28 crops of the image padded to 32×32 (downscale-crop pads,
 * never enlarges), and left-right flips (on by default). */
#define DEMO_EPOCHS 12
static const char *const recipe[] = {
  "--preset", "fashion-bn", "--batch", "128", "--lr", "0.05", "--schedule", "cosine", "--warmup", "200",
  "--cache-size", "32x32", "--resize", "downscale-crop", "--random-crop",
};

int
kiln_cli_demo (int argc, char **argv)
{
  g_autofree char *dir = NULL, *dataset = NULL;
  int limit = 0, epochs = DEMO_EPOCHS, val_per_class = 0, keep = 0;
  gboolean import_only = FALSE, as_json = FALSE;
  const GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, N_("Demo project folder (default: ~/.local/share/kiln/demo)"), N_("DIR") },
    { "dataset", 0, 0, G_OPTION_ARG_FILENAME, &dataset, N_("Folder with the Fashion-MNIST IDX files"), N_("DIR") },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("Training images to import, and a sixth as many test images (default 0: all 60,000 and 10,000)"), N_("N") },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, N_("Epochs to train (default 12)"), N_("N") },
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

  /* The same path a user takes: kiln-cli train, then kiln-cli eval. */
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *run_id = g_date_time_format (now, "demo-%Y%m%d-%H%M%S");
  g_autofree char *epochs_text = g_strdup_printf ("%d", epochs);
  g_autofree char *keep_text = g_strdup_printf ("%d", keep);
  g_autoptr(GPtrArray) train = g_ptr_array_new ();
  const char *head[] = { "train", "--project", dir, "--split", KILN_DEMO_SPLIT, "--epochs", epochs_text,
                         "--run-id", run_id };
  for (guint i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (train, (gpointer) head[i]);
  for (guint i = 0; i < G_N_ELEMENTS (recipe); i++)
    g_ptr_array_add (train, (gpointer) recipe[i]);
  if (keep > 0)
    {
      g_ptr_array_add (train, "--keep");
      g_ptr_array_add (train, keep_text);
    }
  if (as_json)
    g_ptr_array_add (train, "--json");
  g_ptr_array_add (train, NULL);

  if (as_json)
    g_print ("[\n");
  /* Option parsing reorders the vector it is given: give it copies. */
  g_autofree char **train_argv = g_memdup2 (train->pdata, train->len * sizeof (gpointer));
  int status = kiln_cli_train (train->len - 1, train_argv);
  if (status == 0)
    {
      g_autofree char *run = g_build_filename (dir, "runs", run_id, NULL);
      const char *eval[] = { "eval", run, "--subset", "test", as_json ? "--json" : NULL, NULL };
      if (as_json)
        g_print (",\n");
      else
        g_print (_("test images, never trained on:\n"));
      g_autofree char **eval_argv = g_memdup2 (eval, sizeof eval);
      status = kiln_cli_eval (as_json ? 5 : 4, eval_argv);
    }
  if (as_json)
    g_print ("]\n");
  return status;
}
