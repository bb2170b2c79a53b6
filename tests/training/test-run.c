/* A run's folder: config, metrics and events logs, checkpoint rotation, and
 * what reopening for resume keeps after a kill. */
#include <glib/gstdio.h>
#include <math.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-run.h"

static char *
make_tmp (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("kiln-run-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static KilnRunMetrics
train_row (gint64 iteration, double loss)
{
  return (KilnRunMetrics) {
    .iteration = iteration, .epoch = (int) (iteration / 10), .phase = KILN_RUN_PHASE_TRAIN,
    .loss = loss, .accuracy = 0.5, .top5 = NAN, .learning_rate = 0.01,
    .images_per_second = 100, .elapsed_seconds = iteration * 0.1,
  };
}

static void
touch_checkpoint (KilnRun *run, gint64 iteration)
{
  g_autofree char *path = kiln_run_checkpoint_path (run, iteration);
  g_assert_true (g_file_set_contents (path, "weights", -1, NULL));
}

static void
test_create_and_log (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) config = json_object_new ();
  json_object_set_int_member (config, "batch_size", 32);

  g_autoptr(KilnRun) run = kiln_run_create (tmp, "first", config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_run_get_id (run), ==, "first");

  for (int i = 1; i <= 5; i++)
    {
      KilnRunMetrics row = train_row (i, 2.0 / i);
      g_assert_true (kiln_run_append_metrics (run, &row, &error));
      g_assert_no_error (error);
    }
  g_autoptr(JsonObject) fields = json_object_new ();
  json_object_set_string_member (fields, "message", "epoch 0 done");
  g_assert_true (kiln_run_append_event (run, "epoch", fields, &error));
  g_assert_no_error (error);
  g_assert_true (kiln_run_sync (run, &error));

  /* Logs are readable while the run is still open: nothing waits for close. */
  g_autoptr(GArray) rows = kiln_run_read_metrics (kiln_run_get_dir (run), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 5);
  g_assert_cmpfloat_with_epsilon (g_array_index (rows, KilnRunMetrics, 3).loss, 0.5, 1e-12);
  g_assert_true (isnan (g_array_index (rows, KilnRunMetrics, 3).top5));

  g_autofree char *events_path = g_build_filename (kiln_run_get_dir (run), "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, events, -1, &error));
  JsonObject *event = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "epoch");
  g_assert_cmpstr (json_object_get_string_member (event, "message"), ==, "epoch 0 done");

  /* A second run with the same id is refused, not mixed in. */
  g_autoptr(GError) dup_error = NULL;
  g_autoptr(KilnRun) dup = kiln_run_create (tmp, "first", NULL, &dup_error);
  g_assert_null (dup);
  g_assert_error (dup_error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);

  g_autoptr(GError) bad_error = NULL;
  g_autoptr(KilnRun) bad = kiln_run_create (tmp, "../escape", NULL, &bad_error);
  g_assert_null (bad);
  g_assert_error (bad_error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

static void
test_checkpoint_rotation_keeps_best (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnRun) run = kiln_run_create (tmp, "rot", NULL, &error);
  double accuracy[] = { 0.50, 0.90, 0.60, 0.70, 0.65 };

  for (int i = 0; i < 5; i++)
    {
      touch_checkpoint (run, (i + 1) * 100);
      g_assert_true (kiln_run_commit_checkpoint (run, (i + 1) * 100, accuracy[i], 2, &error));
      g_assert_no_error (error);
    }
  /* Newest two (400, 500) and the best (200, 0.90) remain; the rest are gone. */
  gint64 kept[] = { 200, 400, 500 }, gone[] = { 100, 300 };
  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_autofree char *path = kiln_run_checkpoint_path (run, kept[i]);
      g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
    }
  for (guint i = 0; i < G_N_ELEMENTS (gone); i++)
    {
      g_autofree char *path = kiln_run_checkpoint_path (run, gone[i]);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }
  gint64 iteration = 0;
  double best = 0;
  g_autofree char *best_path = kiln_run_get_best_checkpoint (run, &iteration, &best);
  g_assert_cmpint (iteration, ==, 200);
  g_assert_cmpfloat (best, ==, 0.90);
  g_autofree char *latest = kiln_run_get_latest_checkpoint (run, &iteration);
  g_assert_cmpint (iteration, ==, 500);

  /* An uncommitted (missing) file cannot be recorded. */
  g_autoptr(GError) missing = NULL;
  g_assert_false (kiln_run_commit_checkpoint (run, 600, NAN, 2, &missing));
  g_assert_error (missing, KILN_ERROR, KILN_ERROR_NOT_FOUND);

  /* The index survives reopening. */
  g_autoptr(KilnRun) again = kiln_run_open (kiln_run_get_dir (run), -1, &error);
  g_assert_no_error (error);
  g_autofree char *latest_again = kiln_run_get_latest_checkpoint (again, &iteration);
  g_assert_cmpint (iteration, ==, 500);
}

static void
test_resume_trims_after_checkpoint (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;

  {
    g_autoptr(KilnRun) run = kiln_run_create (tmp, "killed", NULL, &error);
    g_assert_no_error (error);
    dir = g_strdup (kiln_run_get_dir (run));
    for (int i = 1; i <= 30; i++)
      {
        KilnRunMetrics row = train_row (i, 1.0 / i);
        g_assert_true (kiln_run_append_metrics (run, &row, NULL));
      }
    g_assert_true (kiln_run_append_event (run, "iteration", NULL, NULL));
  }
  /* A kill in the middle of a write leaves torn last lines. */
  g_autofree char *metrics = g_build_filename (dir, "metrics.csv", NULL);
  g_autofree char *events = g_build_filename (dir, "events.jsonl", NULL);
  FILE *f = g_fopen (metrics, "a");
  fputs ("31,3,tra", f);
  fclose (f);
  f = g_fopen (events, "a");
  fputs ("{\"time\": \"2026", f);
  fclose (f);

  /* Resuming from the checkpoint at iteration 20 drops rows 21.. and the torn ones. */
  g_autoptr(KilnRun) resumed = kiln_run_open (dir, 20, &error);
  g_assert_no_error (error);
  KilnRunMetrics next = train_row (21, 0.123);
  g_assert_true (kiln_run_append_metrics (resumed, &next, &error));

  g_autoptr(GArray) rows = kiln_run_read_metrics (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 21);
  for (guint i = 0; i < rows->len; i++)
    g_assert_cmpint (g_array_index (rows, KilnRunMetrics, i).iteration, ==, i + 1);
  g_assert_cmpfloat (g_array_index (rows, KilnRunMetrics, 20).loss, ==, 0.123);

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (events, &text, NULL, NULL));
  g_assert_true (g_str_has_suffix (text, "}\n"));
}

static void
test_full_disk_is_an_error (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;

  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("/dev/full is not available to simulate a full disk");
      return;
    }
  {
    g_autoptr(KilnRun) run = kiln_run_create (tmp, "full", NULL, &error);
    g_assert_no_error (error);
    dir = g_strdup (kiln_run_get_dir (run));
  }
  /* Every write to /dev/full fails with ENOSPC, like a full disk. */
  g_autofree char *metrics = g_build_filename (dir, "metrics.csv", NULL);
  g_assert_cmpint (g_unlink (metrics), ==, 0);
  g_assert_cmpint (symlink ("/dev/full", metrics), ==, 0);

  g_autoptr(GError) open_error = NULL;
  g_autoptr(KilnRun) run = kiln_run_open (dir, -1, &open_error);
  /* Opening writes the header: the error surfaces here or on the first row. */
  if (run != NULL)
    {
      KilnRunMetrics row = train_row (1, 1.0);
      g_assert_false (kiln_run_append_metrics (run, &row, &error));
      g_assert_error (error, KILN_ERROR, KILN_ERROR_IO);
      g_assert_nonnull (strstr (error->message, "disk is full"));
    }
  else
    {
      g_assert_nonnull (open_error);
      g_assert_nonnull (strstr (open_error->message, "disk is full"));
    }
}

/* Redoing an interrupted validation: its row goes, the train row of the
 * same iteration stays, later appends land in the rewritten file, and a
 * hand-damaged row (no comma) is neither read past nor kept. */
static void
test_drop_val_metrics (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnRun) run = kiln_run_create (tmp, "revalidate", NULL, &error);
  g_assert_no_error (error);

  for (int i = 1; i <= 12; i++)
    {
      KilnRunMetrics row = train_row (i, 1.0 / i);
      g_assert_true (kiln_run_append_metrics (run, &row, NULL));
    }
  KilnRunMetrics val = train_row (12, 0.7);
  val.phase = KILN_RUN_PHASE_VAL;
  g_assert_true (kiln_run_append_metrics (run, &val, NULL));
  g_autofree char *metrics = g_build_filename (kiln_run_get_dir (run), "metrics.csv", NULL);
  FILE *f = g_fopen (metrics, "a");
  fputs ("12\n", f);
  fclose (f);

  g_assert_true (kiln_run_drop_val_metrics (run, 12, &error));
  g_assert_no_error (error);
  KilnRunMetrics again = val;
  again.loss = 0.6;
  g_assert_true (kiln_run_append_metrics (run, &again, &error));
  g_assert_true (kiln_run_sync (run, &error));

  g_autoptr(GArray) rows = kiln_run_read_metrics (kiln_run_get_dir (run), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 13);
  g_assert_cmpint (g_array_index (rows, KilnRunMetrics, 11).phase, ==, KILN_RUN_PHASE_TRAIN);
  g_assert_cmpint (g_array_index (rows, KilnRunMetrics, 12).phase, ==, KILN_RUN_PHASE_VAL);
  g_assert_cmpfloat (g_array_index (rows, KilnRunMetrics, 12).loss, ==, 0.6);

  /* Nothing to drop: the file is left alone. */
  g_assert_true (kiln_run_drop_val_metrics (run, 5, &error));
  g_assert_no_error (error);
}

static void
test_summarize (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnRun) run = kiln_run_create (tmp, "summary", NULL, &error);
  KilnRunSummary summary;
  g_assert_no_error (error);
  const char *dir = kiln_run_get_dir (run);

  g_assert_true (kiln_run_summarize (dir, &summary, &error));
  g_assert_cmpint (summary.iteration, ==, 0);
  g_assert_true (isnan (summary.best_val_accuracy));
  g_assert_false (summary.finished);

  const double val_accuracy[] = { 0.6, 0.8, 0.7 };
  for (int i = 1; i <= 30; i++)
    {
      KilnRunMetrics row = train_row (i, 1.0 / i);
      g_assert_true (kiln_run_append_metrics (run, &row, NULL));
      if (i % 10 == 0)
        {
          row.phase = KILN_RUN_PHASE_VAL;
          row.accuracy = val_accuracy[i / 10 - 1];
          g_assert_true (kiln_run_append_metrics (run, &row, NULL));
        }
    }
  g_assert_true (kiln_run_summarize (dir, &summary, &error));
  g_assert_cmpint (summary.iteration, ==, 30);
  g_assert_cmpfloat (summary.best_val_accuracy, ==, 0.8);
  g_assert_false (summary.finished);

  g_autofree char *export_path = g_build_filename (dir, KILN_RUN_EXPORT_NAME, NULL);
  g_assert_true (g_file_set_contents (export_path, "onnx", -1, NULL));
  g_assert_true (kiln_run_summarize (dir, &summary, &error));
  g_assert_true (summary.finished);
}

/* Runs named by the clock, started within one second, get a folder each. */
static void
test_generated_ids_never_collide (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnRun) run = kiln_run_create (tmp, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (run);
      g_assert_false (g_hash_table_contains (seen, kiln_run_get_id (run)));
      g_hash_table_add (seen, g_strdup (kiln_run_get_id (run)));
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, 4);
}

static void
test_open_rejects_non_run (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnRun) run = kiln_run_open (tmp, -1, &error);

  g_assert_null (run);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "config.json"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/run/create-and-log", test_create_and_log);
  g_test_add_func ("/run/generated-ids-never-collide", test_generated_ids_never_collide);
  g_test_add_func ("/run/checkpoint-rotation", test_checkpoint_rotation_keeps_best);
  g_test_add_func ("/run/resume-trims", test_resume_trims_after_checkpoint);
  g_test_add_func ("/run/full-disk", test_full_disk_is_an_error);
  g_test_add_func ("/run/drop-val-metrics", test_drop_val_metrics);
  g_test_add_func ("/run/summarize", test_summarize);
  g_test_add_func ("/run/open-rejects-non-run", test_open_rejects_non_run);
  return g_test_run ();
}
