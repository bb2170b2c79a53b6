/* What the window's charts and runs list are made of: KilnMetricList keeps
 * each row once and in a run's order whichever way it comes (file, trainer,
 * both, again), a trainer's "metrics" signal carries every row it logs,
 * and KilnRunsModel notices a run folder that appears and one that changes
 * state, keeping the item of a run it lists already. */
#include <glib/gstdio.h>
#include <math.h>

#include "kiln-metric-list.h"
#include "kiln-runs-model.h"
#include "kiln-training-setup.h"
#include "test-util.h"

static KilnRunMetrics
row (gint64 iteration, KilnRunPhase phase, double loss)
{
  return (KilnRunMetrics) { .iteration = iteration, .epoch = 0, .phase = phase, .loss = loss,
                            .accuracy = NAN, .top5 = NAN, .learning_rate = NAN,
                            .images_per_second = NAN, .elapsed_seconds = NAN };
}

static void
count_changes (GListModel *model, guint position, guint removed, guint added, guint *changes)
{
  g_assert_cmpuint (removed, ==, 0);
  (*changes)++;
}

static void
keep_result (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static void
test_merge (void)
{
  g_autoptr(KilnMetricList) list = kiln_metric_list_new ();
  guint changes = 0;

  g_signal_connect (list, "items-changed", G_CALLBACK (count_changes), &changes);
  /* Live rows from iteration 5 on, one batch of them a change. */
  KilnRunMetrics live[] = { row (5, KILN_RUN_PHASE_TRAIN, 0.5), row (5, KILN_RUN_PHASE_VAL, 0.45),
                            row (6, KILN_RUN_PHASE_TRAIN, 0.4) };
  kiln_metric_list_append (list, live, G_N_ELEMENTS (live));
  g_assert_cmpuint (changes, ==, 1);
  /* A row received twice, or out of order, is not kept again. */
  kiln_metric_list_append (list, live + 1, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 3);
  g_assert_cmpuint (changes, ==, 1);

  /* The file, read meanwhile, holds what came before and some of the same. */
  g_autofree char *dir = g_dir_make_tmp ("kiln-metrics-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "metrics.csv", NULL);
  const char *csv = KILN_RUN_METRICS_HEADER "\n"
                    "4,0,train,0.9,,,,,\n4,0,val,0.8,,,,,\n5,1,train,0.5,,,,,\n5,1,val,0.45,,,,,\n"
                    "6,1,train,0.4,,,,,\n7,1,train,0.3,,,,,\n";
  g_assert_true (g_file_set_contents (path, csv, -1, NULL));
  g_autoptr(GAsyncResult) result = NULL;
  kiln_metric_list_load_async (list, dir, NULL, keep_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_autoptr(GError) error = NULL;
  g_assert_true (kiln_metric_list_load_finish (list, result, &error));
  g_assert_no_error (error);

  const gint64 want_iterations[] = { 4, 4, 5, 5, 6, 7 };
  const KilnRunPhase want_phases[] = { KILN_RUN_PHASE_TRAIN, KILN_RUN_PHASE_VAL, KILN_RUN_PHASE_TRAIN,
                                       KILN_RUN_PHASE_VAL, KILN_RUN_PHASE_TRAIN, KILN_RUN_PHASE_TRAIN };
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, G_N_ELEMENTS (want_iterations));
  for (guint i = 0; i < G_N_ELEMENTS (want_iterations); i++)
    {
      g_autoptr(KilnMetricPoint) point = g_list_model_get_item (G_LIST_MODEL (list), i);
      g_assert_cmpint (kiln_metric_point_get_row (point)->iteration, ==, want_iterations[i]);
      g_assert_cmpint (kiln_metric_point_get_row (point)->phase, ==, want_phases[i]);
    }
  g_assert_cmpfloat (kiln_metric_list_get_row (list, 0)->loss, ==, 0.9);
  g_autoptr(KilnMetricPoint) first = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_cmpfloat (kiln_metric_point_get_value (first, KILN_METRIC_LOSS), ==, 0.9);
  g_assert_true (isnan (kiln_metric_point_get_value (first, KILN_METRIC_LEARNING_RATE)));
  /* Front and back: two more changes, nothing removed. */
  g_assert_cmpuint (changes, ==, 3);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (list), 6));
  kiln_test_remove_tree (dir);
}

static void
on_metrics (KilnTrainer *trainer, GArray *rows, GArray *seen)
{
  g_array_append_vals (seen, rows->data, rows->len);
}

static void
test_trainer_signals_every_row (void)
{
  g_autofree char *project = kiln_test_make_bars_project ();
  g_autoptr(KilnNetSpec) spec = kiln_test_bars_net ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (KilnRunMetrics));
  g_autoptr(KilnMetricList) list = kiln_metric_list_new ();
  KilnTrainerOptions options;
  KilnTrainingSetup setup;

  kiln_trainer_options_init (&options);
  options.epochs = 6;
  options.batch_size = 2;
  kiln_training_setup_init (&setup);
  setup.val_fraction = 0.25;
  setup.run_id = "r";
  g_autoptr(KilnTrainer) trainer = kiln_training_prepare (project, spec, &options, &setup, NULL, &error);
  kiln_trainer_options_clear (&options);
  g_assert_no_error (error);
  g_signal_connect (trainer, "metrics", G_CALLBACK (on_metrics), seen);
  kiln_metric_list_follow (list, trainer);
  g_assert_true (kiln_trainer_start (trainer, &error));
  kiln_trainer_join (trainer);

  g_autofree char *run_dir = g_build_filename (project, "runs", "r", NULL);
  g_autoptr(GArray) file = kiln_run_read_metrics (run_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file->len, >, 6);
  g_assert_cmpuint (seen->len, ==, file->len);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, file->len);
  for (guint i = 0; i < file->len; i++)
    {
      const KilnRunMetrics *a = &g_array_index (file, KilnRunMetrics, i);
      const KilnRunMetrics *b = &g_array_index (seen, KilnRunMetrics, i);
      g_assert_cmpint (a->iteration, ==, b->iteration);
      g_assert_cmpint (a->phase, ==, b->phase);
      g_assert_cmpfloat_with_epsilon (a->loss, b->loss, 1e-7 * MAX (1, fabs (a->loss)));
      g_assert_cmpint (kiln_metric_list_get_row (list, i)->iteration, ==, a->iteration);
    }
  kiln_test_remove_tree (project);
}

static gboolean
wake (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
spin_until (gboolean (*done) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, wake, NULL);

  while (!done (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

static gboolean
has_two (gpointer model)
{
  return g_list_model_get_n_items (model) == 2;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

static void
set_true (GObject *object, GParamSpec *pspec, gboolean *flag)
{
  *flag = TRUE;
}

static void
write_run (const char *project, const char *id, const char *events)
{
  g_autofree char *dir = g_build_filename (project, "runs", id, NULL);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *log = g_build_filename (dir, "events.jsonl", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (config, "{\"format\": \"kiln-run-1\", \"options\": {\"epochs\": 2}}", -1, NULL));
  g_assert_true (g_file_set_contents (log, events, -1, NULL));
}

static void
test_runs_model_watches (void)
{
  g_autofree char *project = g_dir_make_tmp ("kiln-runs-XXXXXX", NULL);
  g_autoptr(KilnRunsModel) runs = kiln_runs_model_new (project);

  /* No runs/ yet: it is watched for. */
  spin_until ((gboolean (*) (gpointer)) kiln_runs_model_is_loaded, runs);
  g_assert_true (kiln_runs_model_is_loaded (runs));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (runs)), ==, 0);
  write_run (project, "a", "{\"type\":\"start\"}\n");
  /* A second run a second later is newer: listed first. */
  g_usleep (1100 * 1000);
  write_run (project, "b", "{\"type\":\"start\"}\n");
  spin_until (has_two, runs);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (runs)), ==, 2);
  g_autoptr(KilnRunItem) first = g_list_model_get_item (G_LIST_MODEL (runs), 0);
  g_assert_cmpstr (kiln_run_item_get_id (first), ==, "b");
  KilnRunItem *a = kiln_runs_model_find (runs, "a", NULL);
  g_assert_nonnull (a);
  g_assert_cmpstr (kiln_run_item_get_info (a)->last_event, ==, "start");

  /* A run that fails changes in place. */
  gboolean changed = FALSE;
  g_signal_connect (a, "notify::info", G_CALLBACK (set_true), &changed);
  g_autofree char *log = g_build_filename (project, "runs", "a", "events.jsonl", NULL);
  g_assert_true (g_file_set_contents (log, "{\"type\":\"start\"}\n{\"type\":\"failed\"}\n", -1, NULL));
  spin_until (is_true, &changed);
  g_assert_true (changed);
  g_assert_true (kiln_runs_model_find (runs, "a", NULL) == a);
  g_assert_cmpstr (kiln_run_item_get_info (a)->last_event, ==, "failed");
  kiln_test_remove_tree (project);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metric-list/merge", test_merge);
  g_test_add_func ("/metric-list/trainer-signals-every-row", test_trainer_signals_every_row);
  g_test_add_func ("/runs-model/watches", test_runs_model_watches);
  return g_test_run ();
}
