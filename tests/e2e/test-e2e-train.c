/* End to end, without a display: import a Fashion-MNIST subset, train with
 * kiln-cli to a stated accuracy; then SIGKILL a second run mid-epoch,
 * resume it, and check that it continues from its checkpoint, that every
 * file is complete and parseable, and that its final weights equal those of
 * an uninterrupted run with the same seed. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "kiln-demo.h"
#include "kiln-error.h"
#include "kiln-onnx.h"
#include "kiln-run.h"
#include "kiln-safetensors.h"
#include "test-util.h"

#define LIMIT "1800"
#define REQUIRED_ACCURACY 0.70

static char *project;

/* kiln-cli's stdout; its stderr goes to the test log when it fails. */
static char *
run_cli (const char *const *args, int *status)
{
  char *out = NULL;
  g_autofree char *err = NULL;
  *status = kiln_test_run_cli (args, &out, &err);
  if (!g_spawn_check_wait_status (*status, NULL))
    g_test_message ("kiln-cli failed: %s", err);
  return out;
}

static JsonObject *
parse_summary (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_import (void)
{
  g_autoptr(GError) error = NULL;
  if (!g_file_test (KILN_DEMO_DATASET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("dataset-fashion-mnist is not installed (" KILN_DEMO_DATASET_DIR ")");
      return;
    }
  g_assert_true (kiln_demo_ensure (project, NULL, 1800, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* 1,800 training + 300 test images, ten class folders. */
  g_autofree char *images = g_build_filename (project, "images", NULL);
  g_autoptr(GDir) dir = g_dir_open (images, 0, NULL);
  guint n_classes = 0, n_images = 0;
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *sub = g_build_filename (images, name, NULL);
      g_autoptr(GDir) class_dir = g_dir_open (sub, 0, NULL);
      n_classes++;
      while (g_dir_read_name (class_dir))
        n_images++;
    }
  g_assert_cmpuint (n_classes, ==, 10);
  g_assert_cmpuint (n_images, ==, 2100);
}

static void
test_trains_to_accuracy (void)
{
  int status;
  if (!kiln_demo_is_ready (project))
    {
      g_test_skip ("no demo project (see /e2e/import)");
      return;
    }
  const char *args[] = { "train", "--project", project, "--preset", "lenet", "--epochs", "4", "--lr", "0.02",
                         "--seed", "5", "--run-id", "accuracy", "--no-mirror", "--json", NULL };
  g_autofree char *out = run_cli (args, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autoptr(JsonObject) summary = parse_summary (out);
  g_assert_cmpstr (json_object_get_string_member (summary, "state"), ==, "finished");
  double accuracy = json_object_get_double_member (summary, "best_val_accuracy");
  g_test_message ("LeNet on %s Fashion-MNIST images, 4 epochs: validation accuracy %.4f", LIMIT, accuracy);
  g_assert_cmpfloat (accuracy, >=, REQUIRED_ACCURACY);
}

static void
test_classify_and_eval (void)
{
  int status;
  if (!kiln_demo_is_ready (project))
    {
      g_test_skip ("no demo project (see /e2e/import)");
      return;
    }
  g_autofree char *run = g_build_filename (project, "runs", "accuracy", NULL);
  g_autofree char *config = g_build_filename (run, "config.json", NULL);
  if (!g_file_test (config, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no trained run (see /e2e/trains-to-accuracy)");
      return;
    }

  /* Evaluating the best checkpoint on the validation split reproduces the
   * accuracy the trainer measured: the same preprocessing, the same mean. */
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) rows = kiln_run_read_metrics (run, &error);
  g_assert_no_error (error);
  double best = 0;
  for (guint i = 0; i < rows->len; i++)
    if (g_array_index (rows, KilnRunMetrics, i).phase == KILN_RUN_PHASE_VAL)
      best = MAX (best, g_array_index (rows, KilnRunMetrics, i).accuracy);
  const char *eval_args[] = { "eval", run, "--json", "--list", "3", NULL };
  g_autofree char *eval_out = run_cli (eval_args, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autoptr(JsonObject) report = parse_summary (eval_out);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (report, "top1"), best, 1e-9);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "classes")), ==, 10);
  JsonArray *wrong = json_object_get_array_member (report, "misclassified");
  g_assert_cmpuint (json_array_get_length (wrong), ==, 3);
  const char *wrong_file = json_object_get_string_member (json_array_get_object_element (wrong, 0), "file");
  g_assert_true (g_str_has_suffix (wrong_file, ".png"));

  /* Classifying a training image of a distinctive class. */
  g_autofree char *trousers = g_build_filename (project, "images", "Trouser", NULL);
  g_autoptr(GDir) dir = g_dir_open (trousers, 0, NULL);
  g_autofree char *image = g_build_filename (trousers, g_dir_read_name (dir), NULL);
  const char *classify_args[] = { "classify", run, image, "--top", "3", "--json", NULL };
  g_autofree char *out = run_cli (classify_args, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autoptr(JsonObject) result = parse_summary (out);
  JsonObject *first = json_array_get_object_element (json_object_get_array_member (result, "images"), 0);
  JsonArray *predictions = json_object_get_array_member (first, "predictions");
  g_assert_cmpuint (json_array_get_length (predictions), ==, 3);
  double previous = 1.0, total = 0;
  for (guint i = 0; i < 3; i++)
    {
      double p = json_object_get_double_member (json_array_get_object_element (predictions, i), "probability");
      g_assert_cmpfloat (p, <=, previous);
      previous = p;
      total += p;
    }
  g_assert_cmpfloat (total, <=, 1.0 + 1e-6);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (predictions, 0), "class"), ==, "Trouser");

  /* The finished run left its best model as ONNX, readable by the importer. */
  g_autofree char *onnx = g_build_filename (run, "model.onnx", NULL);
  g_autoptr(KilnNetSpec) imported = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_assert_true (kiln_onnx_import_spec (onnx, &imported, &weights, &error));
  g_assert_no_error (error);
  g_assert_true (kiln_net_spec_infer_shapes (imported, &error));
  guint n = kiln_net_spec_get_n_layers (imported);
  g_assert_cmpint (kiln_net_spec_get_shape (imported, n - 1)->c, ==, 10);

  /* A file that is not an image is an error naming it, not a crash. */
  const char *bad_args[] = { "classify", run, config, NULL };
  g_autofree char *bad_out = run_cli (bad_args, &status);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
}

static gboolean
same_weights (const char *a_path, const char *b_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnSafetensors) a = kiln_safetensors_new_from_file (a_path, &error);
  g_assert_no_error (error);
  g_autoptr(KilnSafetensors) b = kiln_safetensors_new_from_file (b_path, &error);
  g_assert_no_error (error);
  if (kiln_safetensors_get_n_tensors (a) != kiln_safetensors_get_n_tensors (b))
    return FALSE;
  for (guint i = 0; i < kiln_safetensors_get_n_tensors (a); i++)
    {
      const KilnSafetensorsTensor *ta = kiln_safetensors_get_tensor_at (a, i);
      const KilnSafetensorsTensor *tb = kiln_safetensors_get_tensor (b, ta->name);
      if (tb == NULL || ta->n_bytes != tb->n_bytes || memcmp (ta->data, tb->data, ta->n_bytes) != 0)
        {
          g_test_message ("tensor %s differs", ta->name);
          return FALSE;
        }
    }
  return TRUE;
}

static gint64
count_metric_rows (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "metrics.csv", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  gint64 lines = 0;
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  return lines - 1;
}

static void
check_files_complete (const char *run_dir)
{
  g_autoptr(GError) error = NULL;
  const char *json_files[] = { "config.json", "mean.json", "checkpoints/index.json" };
  for (guint i = 0; i < G_N_ELEMENTS (json_files); i++)
    {
      g_autofree char *path = g_build_filename (run_dir, json_files[i], NULL);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_file (parser, path, &error));
      g_assert_no_error (error);
    }
  g_autofree char *events_path = g_build_filename (run_dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_assert_true (g_str_has_suffix (events, "\n"));
  g_auto(GStrv) lines = g_strsplit (events, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, &error));
    }
  g_autoptr(GArray) rows = kiln_run_read_metrics (run_dir, &error);
  g_assert_no_error (error);
  for (guint i = 1; i < rows->len; i++)
    g_assert_cmpint (g_array_index (rows, KilnRunMetrics, i).iteration, >=,
                     g_array_index (rows, KilnRunMetrics, i - 1).iteration);

  /* Every checkpoint on disk loads; no temporary file is left behind. */
  g_autofree char *checkpoints = g_build_filename (run_dir, "checkpoints", NULL);
  g_autoptr(GDir) dir = g_dir_open (checkpoints, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (checkpoints, name, NULL);
      g_assert_true (g_str_has_suffix (name, ".safetensors") || g_str_equal (name, "index.json"));
      if (g_str_has_suffix (name, ".safetensors"))
        {
          g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (path, &error);
          g_assert_no_error (error);
        }
    }
}

static void
test_kill_and_resume (void)
{
  int status;
  g_autoptr(GError) error = NULL;
  if (!kiln_demo_is_ready (project))
    {
      g_test_skip ("no demo project (see /e2e/import)");
      return;
    }
  /* 1,890 training images / 32 = 59 iterations an epoch; checkpoints every 15. */
  const char *common[] = { "train", "--project", project, "--preset", "lenet", "--epochs", "2", "--seed", "9",
                           "--checkpoint-every", "15", "--keep", "50", "--json", NULL };
  g_autoptr(GStrvBuilder) whole_args = g_strv_builder_new ();
  g_strv_builder_addv (whole_args, common);
  g_strv_builder_add_many (whole_args, "--run-id", "whole", NULL);
  g_auto(GStrv) whole_argv = g_strv_builder_end (whole_args);
  g_autofree char *whole_out = run_cli ((const char *const *) whole_argv, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  /* The same run, killed with SIGKILL once its second checkpoint is on disk. */
  g_autofree char *killed_dir = g_build_filename (project, "runs", "killed", NULL);
  g_autofree char *index = g_build_filename (killed_dir, "checkpoints", "index.json", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) g_getenv ("KILN_CLI"));
  for (guint i = 0; common[i]; i++)
    g_ptr_array_add (argv, (char *) common[i]);
  g_ptr_array_add (argv, "--run-id");
  g_ptr_array_add (argv, "killed");
  g_ptr_array_add (argv, NULL);
  GPid pid;
  g_assert_true (g_spawn_async (NULL, (char **) argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  gint64 killed_at_rows = 0;
  for (;;)
    {
      g_autofree char *text = NULL;
      if (g_file_get_contents (index, &text, NULL, NULL) && strstr (text, "\"iteration\" : 30") != NULL &&
          (killed_at_rows = count_metric_rows (killed_dir)) > 31)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (2000);
    }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
  g_assert_true (WIFSIGNALED (status));
  g_test_message ("killed at %" G_GINT64_FORMAT " metric rows, after the checkpoint at iteration 30",
                  killed_at_rows);

  const char *resume_args[] = { "train", "--resume", killed_dir, "--json", NULL };
  g_autofree char *resumed_out = run_cli (resume_args, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autoptr(JsonObject) summary = parse_summary (resumed_out);
  g_assert_cmpstr (json_object_get_string_member (summary, "state"), ==, "finished");

  /* It continued from the checkpoint: the log says so, and the curve has no
   * repeated or missing iterations. */
  g_autofree char *events_path = g_build_filename (killed_dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_assert_nonnull (strstr (events, "\"type\":\"resumed\""));
  g_assert_nonnull (strstr (events, "\"from_iteration\":30"));
  g_autoptr(GArray) rows = kiln_run_read_metrics (killed_dir, &error);
  g_assert_no_error (error);
  gint64 expected = 1;
  for (guint i = 0; i < rows->len; i++)
    {
      KilnRunMetrics *row = &g_array_index (rows, KilnRunMetrics, i);
      if (row->phase == KILN_RUN_PHASE_TRAIN)
        g_assert_cmpint (row->iteration, ==, expected++);
    }
  check_files_complete (killed_dir);

  /* Bit-identical final weights and optimizer state. */
  g_autofree char *whole_dir = g_build_filename (project, "runs", "whole", NULL);
  g_autoptr(KilnRun) whole_run = kiln_run_open (whole_dir, -1, &error);
  g_assert_no_error (error);
  g_autoptr(KilnRun) killed_run = kiln_run_open (killed_dir, -1, &error);
  g_assert_no_error (error);
  gint64 whole_last = 0, killed_last = 0;
  g_autofree char *a = kiln_run_get_latest_checkpoint (whole_run, &whole_last);
  g_autofree char *b = kiln_run_get_latest_checkpoint (killed_run, &killed_last);
  g_assert_cmpint (whole_last, ==, killed_last);
  g_assert_cmpint (expected - 1, ==, whole_last);
  g_assert_true (same_weights (a, b));

  /* And the resumed loss curve is the uninterrupted one. */
  g_autoptr(GArray) whole_rows = kiln_run_read_metrics (whole_dir, &error);
  g_assert_cmpuint (whole_rows->len, ==, rows->len);
  for (guint i = 0; i < rows->len; i++)
    g_assert_cmpfloat (g_array_index (whole_rows, KilnRunMetrics, i).loss, ==,
                       g_array_index (rows, KilnRunMetrics, i).loss);
}

/* A run whose folder is a 12 MiB tmpfs (in a private mount namespace): a
 * few LeNet checkpoints fit, then one does not. The run must stop with a clear error
 * and leave the last good checkpoint intact and loadable. */
static void
test_full_disk (void)
{
  g_autoptr(GError) error = NULL;
  if (!kiln_demo_is_ready (project))
    {
      g_test_skip ("no demo project (see /e2e/import)");
      return;
    }
  g_autofree char *unshare = g_find_program_in_path ("unshare");
  if (unshare == NULL)
    {
      g_test_skip ("unshare (util-linux) is not installed: no private tmpfs for a full disk");
      return;
    }
  const char *probe[] = { unshare, "-m", "true", NULL };
  int probe_status;
  g_autofree char *probe_err = NULL;
  if (!g_spawn_sync (NULL, (char **) probe, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &probe_err,
                     &probe_status, NULL) || !g_spawn_check_wait_status (probe_status, NULL))
    {
      g_autofree char *why = g_strdup_printf ("no private mount namespace here (unshare -m: %s)",
                                              probe_err ? g_strstrip (probe_err) : "failed");
      g_test_skip (why);
      return;
    }
  g_autofree char *run_dir = g_build_filename (project, "runs", "full", NULL);
  g_autofree char *copy = g_build_filename (project, "full-copy", NULL);
  g_assert_cmpint (g_mkdir_with_parents (run_dir, 0755), ==, 0);
  g_autofree char *script = g_strdup_printf (
    "mount -t tmpfs -o size=12m kiln-full \"$1\" || exit 77; "
    "\"$2\" train --project \"$3\" --preset lenet --epochs 2 --checkpoint-every 5 --keep 50 "
    "--run-id full --json > \"$3\"/full-summary.json 2> \"$3\"/full-stderr.txt; "
    "echo $? > \"$3\"/full-status; cp -a \"$1\" \"$4\"");
  const char *argv[] = { unshare, "-m", "sh", "-c", script, "sh", run_dir, g_getenv ("KILN_CLI"), project, copy, NULL };
  int status;
  g_autofree char *err = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_autofree char *why = g_strdup_printf ("cannot mount a tmpfs here (needs root in a mount namespace): %s", err);
      g_test_skip (why);
      return;
    }
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  g_autofree char *status_path = g_build_filename (project, "full-status", NULL);
  g_autofree char *stderr_path = g_build_filename (project, "full-stderr.txt", NULL);
  g_autofree char *cli_status = NULL, *cli_stderr = NULL;
  g_assert_true (g_file_get_contents (status_path, &cli_status, NULL, NULL));
  g_assert_true (g_file_get_contents (stderr_path, &cli_stderr, NULL, NULL));
  g_test_message ("kiln-cli train on a full disk: exit %s, %s", g_strstrip (cli_status), cli_stderr);
  g_assert_cmpstr (cli_status, ==, "1");
  g_assert_nonnull (strstr (cli_stderr, "No space left on device"));
  /* Which checkpoint ran out of room depends on their size; it is named. */
  const char *named = strstr (cli_stderr, "iter-");
  g_assert_nonnull (named);
  gint64 failed_at = g_ascii_strtoll (named + 5, NULL, 10);
  g_assert_cmpint (failed_at, >=, 10);

  /* The last good checkpoint is intact; nothing half-written is left. */
  g_autoptr(KilnRun) run = kiln_run_open (copy, -1, &error);
  g_assert_no_error (error);
  gint64 iteration = 0;
  g_autofree char *latest = kiln_run_get_latest_checkpoint (run, &iteration);
  g_assert_cmpint (iteration, ==, failed_at - 5);
  g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (latest, &error);
  g_assert_no_error (error);
  g_autofree char *expected = g_strdup_printf ("%" G_GINT64_FORMAT, failed_at - 5);
  g_assert_cmpstr (kiln_safetensors_get_metadata (file, "kiln.iteration"), ==, expected);
  check_files_complete (copy);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("kiln-e2e-XXXXXX", NULL);
  project = g_build_filename (tmp, "fashion", NULL);
  g_test_add_func ("/e2e/import", test_import);
  g_test_add_func ("/e2e/trains-to-accuracy", test_trains_to_accuracy);
  g_test_add_func ("/e2e/classify-and-eval", test_classify_and_eval);
  g_test_add_func ("/e2e/kill-and-resume", test_kill_and_resume);
  g_test_add_func ("/e2e/full-disk", test_full_disk);
  int result = g_test_run ();
  g_free (project);
  return result;
}
