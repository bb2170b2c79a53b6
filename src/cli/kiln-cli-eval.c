#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-json-text.h"
#include "kiln-classifier.h"
#include "kiln-cli.h"
#include "kiln-core.h"
#include "kiln-training-setup.h"

static void
print_report (KilnEvaluation *e, KilnClassifier *c, const KilnLabelSet *set, guint list)
{
  guint k = kiln_evaluation_get_n_classes (e);

  g_print (_("images: %u   top-1: %.4f   top-5: %.4f   mean loss: %.4f\n\n"), kiln_evaluation_get_n (e),
           kiln_evaluation_get_top1 (e), kiln_evaluation_get_top5 (e), kiln_evaluation_get_mean_loss (e));
  g_autofree char *heading = kiln_cli_pad (_("class"), 24);
  g_print ("%s %9s %9s\n", heading, _("precision"), _("recall"));
  for (guint i = 0; i < k; i++)
    {
      double p = kiln_evaluation_get_precision (e, i), r = kiln_evaluation_get_recall (e, i);
      char ps[16] = "–", rs[16] = "–";
      if (!isnan (p))
        g_snprintf (ps, sizeof ps, "%.3f", p);
      if (!isnan (r))
        g_snprintf (rs, sizeof rs, "%.3f", r);
      g_autofree char *name = kiln_cli_pad (kiln_classifier_get_class_name (c, i), 24);
      g_print ("%s %9s %9s\n", name, ps, rs);
    }
  g_print ("\n%s\n", _("confusion (rows: true class, columns: predicted)"));
  for (guint t = 0; t < k; t++)
    {
      g_print ("%3u |", t);
      for (guint p = 0; p < k; p++)
        g_print (" %5u", kiln_evaluation_get_confusion (e, t, p));
      g_print ("\n");
    }
  g_autoptr(GArray) wrong = kiln_evaluation_get_misclassified (e, list);
  if (wrong->len > 0)
    g_print ("\n%s\n", _("most confident mistakes:"));
  for (guint i = 0; i < wrong->len; i++)
    {
      KilnEvaluationItem *item = &g_array_index (wrong, KilnEvaluationItem, i);
      g_print ("  %s: %s → %s (%.1f%%)\n", (const char *) set->paths->pdata[item->source],
               kiln_classifier_get_class_name (c, item->true_class),
               kiln_classifier_get_class_name (c, item->predicted_class), 100.0 * item->confidence);
    }
}

typedef struct {
  KilnClassifier *classifier;
  const KilnLabelSet *set;
  const char *root;
  KilnProgress *progress;
  guint skipped;
  GError *error;
} EvalJob;

static gpointer
evaluate_thread (gpointer data)
{
  EvalJob *job = data;
  return kiln_classifier_evaluate (job->classifier, job->set, job->root, job->progress, &job->skipped, &job->error);
}

int
kiln_cli_eval (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *backend = NULL, *labels = NULL, *root = NULL, *subset = NULL;
  g_autofree char *classes = NULL;
  int batch = 32, list = 10;
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "subset", 's', 0, G_OPTION_ARG_STRING, &subset, N_("The subset of the run's split to evaluate on: test, val (default) or train"), N_("NAME") },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels, N_("Label file to evaluate on instead of a subset"), N_("FILE") },
    { "classes", 'c', 0, G_OPTION_ARG_FILENAME, &classes, N_("The label file's class file (default: classes.txt beside it, else the run's classes); classes are matched by name"), N_("FILE") },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root, N_("Folder the label file's paths are relative to (default: the run's images)"), N_("DIR") },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, N_("Use this checkpoint (default: the run's best)"), N_("FILE") },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, N_("Images per forward pass (default 32)"), N_("N") },
    { "list", 0, 0, G_OPTION_ARG_INT, &list, N_("How many review candidates to list (default 10)"), N_("N") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &backend, N_("cpu, cuda, cuda:N or auto (default: $KILN_DEVICE, else the Preferences' device, else auto)"), N_("DEVICE") },
    { "backend", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &backend, N_("Same as --device"), N_("DEVICE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;

  if (!kiln_cli_parse ("eval", _("RUN"),
                       _("Evaluate a trained run: accuracy, confusion matrix, per-class precision and recall, "
                         "and the images worth a second look."), entries, &argc, &argv))
    return 2;
  if (argc != 2 || batch < 1 || list < 0)
    {
      g_printerr ("%s", _("kiln-cli eval: give exactly one run folder\n"));
      return 2;
    }
  const char *run_dir = argv[1];
  g_autoptr(JsonObject) config = kiln_training_read_config (run_dir, &error);
  if (config == NULL)
    return kiln_cli_fail ("eval", error);
  if (subset != NULL && !g_str_equal (subset, "test") && !g_str_equal (subset, "val")
      && !g_str_equal (subset, "train"))
    {
      g_printerr (_("kiln-cli eval: --subset is test, val or train, not “%s”\n"), subset);
      return 2;
    }
  if (subset != NULL && labels != NULL)
    {
      g_printerr ("%s", _("kiln-cli eval: give --subset or --labels, not both\n"));
      return 2;
    }
  /* The run wrote each subset of its split as SUBSET.txt. */
  g_autofree char *images_root = NULL;
  g_autoptr(KilnLabelSet) set = NULL;
  if (labels == NULL)
    {
      set = kiln_training_read_subset (run_dir, subset ? subset : "val", &images_root, &error);
      if (set == NULL)
        return kiln_cli_fail ("eval", error);
    }
  else
    {
      /* A label file of the user's numbers its classes its own way: read it
       * with its class file and match the run's classes by name. */
      g_autofree char *class_file = g_build_filename (run_dir, "labels.txt", NULL);
      g_autofree char *labels_dir = g_path_get_dirname (labels);
      g_autofree char *beside = g_build_filename (labels_dir, "classes.txt", NULL);
      const char *own_classes = classes ? classes
                              : g_file_test (beside, G_FILE_TEST_EXISTS) ? beside : NULL;
      g_autoptr(KilnLabelSet) read = kiln_labels_read (labels, own_classes ? own_classes : class_file, &error);
      if (read == NULL)
        return kiln_cli_fail ("eval", error);
      g_autoptr(GPtrArray) model_classes = g_ptr_array_new_with_free_func (g_free);
      JsonArray *class_names = json_object_has_member (config, "classes")
                               ? json_object_get_array_member (config, "classes") : NULL;
      for (guint c = 0; class_names != NULL && c < json_array_get_length (class_names); c++)
        g_ptr_array_add (model_classes, g_strdup (json_array_get_string_element (class_names, c)));
      set = own_classes ? kiln_labels_map_to_classes (read, model_classes, &error) : g_steal_pointer (&read);
      if (set == NULL)
        {
          g_prefix_error (&error, "%s (classes from %s): ", labels, own_classes);
          return kiln_cli_fail ("eval", error);
        }
      images_root = g_strdup (json_object_get_string_member_with_default (config, "images_root", "."));
    }
  if (root != NULL)
    {
      g_free (images_root);
      images_root = g_strdup (root);
    }
  g_autofree char *first_missing = NULL;
  guint missing = kiln_labels_count_missing (set, images_root, &first_missing);
  if (missing > 0 && missing == set->paths->len)
    {
      g_printerr (_("kiln-cli eval: none of the %u images was found, starting with %s; the paths of the "
                    "label file are relative to %s: give --root DIR\n"), missing, first_missing, images_root);
      return 1;
    }
  if (missing > 0 && !as_json)
    g_printerr (_("kiln-cli eval: %u of %u images not found (the first: %s); evaluating the rest\n"),
                missing, set->paths->len, first_missing);

  g_autoptr(KilnClassifier) classifier = kiln_classifier_new_from_run (run_dir, checkpoint, backend, batch, &error);
  if (classifier == NULL)
    return kiln_cli_fail ("eval", error);
  g_autoptr(KilnProgress) progress = kiln_progress_new ("eval");
  if (!as_json)
    kiln_cli_show_progress (progress, _("evaluating"));
  EvalJob job = { classifier, set, images_root, progress, 0, NULL };
  g_autoptr(KilnEvaluation) evaluation = kiln_cli_run_in_thread (evaluate_thread, &job);
  guint skipped = job.skipped;
  error = job.error;
  kiln_cli_status_done ();
  if (evaluation == NULL)
    return kiln_cli_fail ("eval", error);
  if (kiln_evaluation_get_n (evaluation) == 0)
    {
      g_printerr (_("kiln-cli eval: no image could be evaluated (%u could not be decoded)\n"), skipped);
      return 1;
    }

  if (as_json)
    {
      g_autoptr(JsonNode) node = kiln_evaluation_to_json (evaluation, list);
      JsonObject *o = json_node_get_object (node);
      json_object_set_string_member (o, "checkpoint", kiln_classifier_get_checkpoint (classifier));
      json_object_set_int_member (o, "skipped", skipped);
      /* Review lists name images by their path, not their index. */
      const char *lists[] = { "misclassified", "least_confident" };
      for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
        {
          JsonArray *items = json_object_get_array_member (o, lists[l]);
          for (guint i = 0; i < json_array_get_length (items); i++)
            {
              JsonObject *item = json_array_get_object_element (items, i);
              gint64 source = json_object_get_int_member (item, "source");
              json_object_set_string_member (item, "file", set->paths->pdata[source]);
            }
        }
      g_autofree char *text = kiln_json_to_text (node, TRUE);
      g_print ("%s\n", text);
    }
  else
    {
      g_print (_("checkpoint: %s\n"), kiln_classifier_get_checkpoint (classifier));
      if (skipped)
        g_print (_("skipped %u images that could not be decoded\n"), skipped);
      print_report (evaluation, classifier, set, list);
    }
  return 0;
}
