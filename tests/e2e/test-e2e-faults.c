/* Faults, end to end (issue 18), on a small Fashion-MNIST project:
 *
 * - ENOSPC while building the tensor cache, writing a checkpoint and
 *   exporting ONNX, made by tests/enospc-preload.c (an LD_PRELOAD shim that
 *   fails the Nth write, or the Nth file's writes, to matching files: no
 *   tmpfs needs mounting): the
 *   command fails naming the file and "No space left on device", and the
 *   last good state is intact (the cache builds again and is used; the
 *   newest checkpoint loads; an earlier export is unchanged).
 * - SIGKILL at random moments of `inspect --discard`, `cache` and `train`,
 *   then the command again, KILN_FAULT_ROUNDS times each (default 2;
 *   bench/faults.sh runs 100): after every kill the store passes PRAGMA
 *   integrity_check, every image file has its row and every row its file,
 *   every kept image decodes, and no temporary file is left where a later
 *   run would trust it; the killed training, resumed, ends with the very
 *   weights of an uninterrupted run.
 *
 * Each violation is counted and reported ("violations: N") before the test
 * fails, so the bench can tabulate them. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>

#include "kiln-demo.h"
#include "kiln-run.h"
#include "kiln-safetensors.h"
#include "test-util.h"

#define LIMIT 240

static char *project;
static guint violations;

G_GNUC_PRINTF (1, 2)
static void
violation (const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("VIOLATION: %s", text);
  violations++;
}

static gboolean
have_project (void)
{
  if (kiln_demo_is_ready (project))
    return TRUE;
  g_test_skip ("no demo project (see /e2e/faults/import)");
  return FALSE;
}

/* Runs kiln-cli with @args, the shim loaded to fail writes to files whose
 * path holds @match (none when @match is NULL) from the @nth write on, or
 * (@nth negative) from the −@nth such file on. */
static int
run_cli_env (const char *const *args, const char *match, int nth, char **out, char **err)
{
  const char *shim = g_getenv ("KILN_ENOSPC_PRELOAD");
  g_autofree char *nth_text = g_strdup_printf ("%d", ABS (nth));
  int status;

  if (match)
    {
      g_setenv ("LD_PRELOAD", shim, TRUE);
      g_setenv ("KILN_ENOSPC_MATCH", match, TRUE);
      g_setenv (nth < 0 ? "KILN_ENOSPC_FILE" : "KILN_ENOSPC_AFTER", nth_text, TRUE);
    }
  status = kiln_test_run_cli (args, out, err);
  g_unsetenv ("LD_PRELOAD");
  g_unsetenv ("KILN_ENOSPC_MATCH");
  g_unsetenv ("KILN_ENOSPC_AFTER");
  g_unsetenv ("KILN_ENOSPC_FILE");
  return status;
}

/* ---- Invariants ---------------------------------------------------------- */

static void
collect_files (const char *root, const char *relative, GHashTable *files)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (relative, name, NULL);
      g_autofree char *full = g_build_filename (root, child, NULL);
      if (g_file_test (full, G_FILE_TEST_IS_DIR))
        collect_files (root, child, files);
      else
        g_hash_table_add (files, g_steal_pointer (&child));
    }
}

/* The store is sound, files and rows match, no temporary file sits among
 * the images, and (with @decode: once a command has finished; an inspection
 * killed early has not discarded the broken ones yet) kept images decode. */
static void
check_project (const char *when, gboolean decode)
{
  g_autofree char *db_path = g_build_filename (project, "kiln.db", NULL);
  g_autoptr(GHashTable) files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  guint rows = 0, decoded = 0;

  if (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    {
      violation ("%s: cannot open %s: %s", when, db_path, sqlite3_errmsg (db));
      sqlite3_close (db);
      return;
    }
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_ROW || g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
    violation ("%s: PRAGMA integrity_check: %s", when,
               stmt ? (const char *) sqlite3_column_text (stmt, 0) : sqlite3_errmsg (db));
  sqlite3_finalize (stmt);

  collect_files (project, "images", files);
  collect_files (project, "discarded", files);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT path, status FROM images", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *path = (const char *) sqlite3_column_text (stmt, 0);
      g_autofree char *full = g_build_filename (project, path, NULL);
      rows++;
      if (!g_hash_table_remove (files, path))
        {
          violation ("%s: the row %s has no file", when, path);
          continue;
        }
      /* Every kept image decodes; discarded ones may be what was broken. */
      if (decode && g_str_has_prefix (path, "images/"))
        {
          g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (full, NULL);
          if (pixbuf == NULL)
            violation ("%s: the kept image %s does not decode", when, path);
          else
            decoded++;
        }
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  GHashTableIter iter;
  const char *orphan;
  g_hash_table_iter_init (&iter, files);
  while (g_hash_table_iter_next (&iter, (gpointer *) &orphan, NULL))
    violation ("%s: the file %s has no row%s", when, orphan,
               strstr (orphan, "tmp") || strchr (orphan, '~') ? " (a temporary file left among the images)" : "");
  if (decode)
    g_test_message ("%s: %u rows, %u kept images decode", when, rows, decoded);
  else
    g_test_message ("%s: %u rows", when, rows);
}

/* ---- Tests ----------------------------------------------------------------- */

static void
test_import (void)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_test (KILN_DEMO_DATASET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("dataset-fashion-mnist is not installed (" KILN_DEMO_DATASET_DIR ")");
      return;
    }
  g_assert_true (kiln_demo_ensure (project, NULL, LIMIT, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* The store: every image gets its row. */
  const char *label[] = { "label", "--project", project, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = kiln_test_run_cli (label, &out, &err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("label failed: %s", err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  check_project ("after the import", TRUE);
  g_assert_cmpuint (violations, ==, 0);
}

static gboolean
shim_usable (void)
{
  const char *shim = g_getenv ("KILN_ENOSPC_PRELOAD");

  /* An ASan build refuses a preloaded library before its runtime. */
#ifdef __SANITIZE_ADDRESS__
  shim = NULL;
#endif
  if (shim == NULL || !g_file_test (shim, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no usable ENOSPC shim (KILN_ENOSPC_PRELOAD; not under ASan)");
      return FALSE;
    }
  return TRUE;
}

/* The cache build fails naming its file; nothing half-built is trusted:
 * the next build (no fault) succeeds. */
static void
test_enospc_cache (void)
{
  g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;
  const char *args[] = { "cache", "--project", project, "--size", "28x28", "--channels", "1", NULL };

  if (!have_project () || !shim_usable ())
    return;
  int status = run_cli_env (args, "/cache/", 1, &out, &err);
  g_test_message ("cache on a full disk: %s", err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "No space left on device"));
  g_assert_nonnull (strstr (err, "/cache/"));
  /* With the room it needs ("(1.2 MB)"). */
  g_assert_nonnull (strstr (err, "B): No space left on device"));
  check_project ("after the cache ran out of space", TRUE);
  status = run_cli_env (args, NULL, 0, &out2, &err2);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpuint (violations, ==, 0);
}

/* A checkpoint that does not fit stops the run naming the file; the
 * checkpoint before it is intact and loads. */
static void
test_enospc_checkpoint (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *run_dir = g_build_filename (project, "runs", "enospc", NULL);
  const char *args[] = { "train", "--project", project, "--preset", "lenet", "--epochs", "2", "--seed", "3",
                         "--checkpoint-every", "2", "--keep", "50", "--run-id", "enospc", NULL };

  if (!have_project () || !shim_usable ())
    return;
  /* The third checkpoint does not fit. */
  int status = run_cli_env (args, "checkpoints/iter-", -3, &out, &err);
  g_test_message ("train on a full disk: %s", err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "No space left on device"));
  g_assert_nonnull (strstr (err, "checkpoints/iter-"));
  g_assert_nonnull (strstr (err, ".safetensors ("));
  g_autoptr(KilnRun) run = kiln_run_open (run_dir, -1, &error);
  g_assert_no_error (error);
  gint64 iteration = 0;
  g_autofree char *latest = kiln_run_get_latest_checkpoint (run, &iteration);
  g_assert_nonnull (latest);
  g_assert_cmpint (iteration, >, 0);
  g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (latest, &error);
  g_assert_no_error (error);
  g_autofree char *expected = g_strdup_printf ("%" G_GINT64_FORMAT, iteration);
  g_assert_cmpstr (kiln_safetensors_get_metadata (file, "kiln.iteration"), ==, expected);
  /* And the run goes on from it once there is room. */
  const char *resume[] = { "train", "--resume", run_dir, NULL };
  g_autofree char *out2 = NULL, *err2 = NULL;
  status = run_cli_env (resume, NULL, 0, &out2, &err2);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("resume failed: %s", err2);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* An export that does not fit fails naming its file and leaves the earlier
 * export as it was. */
static void
test_enospc_export (void)
{
  g_autofree char *run_dir = g_build_filename (project, "runs", "enospc", NULL);
  g_autofree char *dir = g_build_filename (project, "exports", NULL);
  g_autofree char *path = g_build_filename (dir, "model.onnx", NULL);
  g_autofree char *before = NULL, *after = NULL;
  gsize before_len = 0, after_len = 0;
  const char *args[] = { "export-onnx", run_dir, "--out", path, NULL };

  if (!have_project () || !shim_usable ())
    return;
  if (!g_file_test (run_dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no run (see /e2e/faults/enospc/checkpoint)");
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *out = NULL, *err = NULL;
  int status = run_cli_env (args, NULL, 0, &out, &err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));

  g_autofree char *out2 = NULL, *err2 = NULL;
  status = run_cli_env (args, "exports/", 1, &out2, &err2);
  g_test_message ("export on a full disk: %s", err2);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err2, "No space left on device"));
  g_assert_nonnull (strstr (err2, "Could not write the ONNX model"));
  g_assert_nonnull (strstr (err2, "model.onnx ("));
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  /* No temporary file left beside it. */
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_assert_cmpstr (name, ==, "model.onnx");
}

static guint
fault_rounds (void)
{
  const char *text = g_getenv ("KILN_FAULT_ROUNDS");
  return text ? (guint) g_ascii_strtoull (text, NULL, 10) : 2;
}

/* Starts kiln-cli with @args and SIGKILLs it after @delay_ms (unless it
 * ended first); returns whether it was killed. */
static gboolean
kill_after (const char *const *args, guint delay_ms)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  GPid pid;
  int status;

  g_ptr_array_add (argv, (char *) g_getenv ("KILN_CLI"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_async (NULL, (char **) argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  for (guint waited = 0; waited < delay_ms; waited += 5)
    {
      if (waitpid (pid, &status, WNOHANG) == pid)
        {
          g_spawn_close_pid (pid);
          return FALSE;
        }
      g_usleep (5000);
    }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
  g_spawn_close_pid (pid);
  return WIFSIGNALED (status);
}

/* Milliseconds an uninterrupted run of kiln-cli with @args takes. */
static guint
time_run (const char *const *args)
{
  g_autofree char *out = NULL, *err = NULL;
  gint64 start = g_get_monotonic_time ();
  int status = run_cli_env (args, NULL, 0, &out, &err);

  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("%s failed: %s", args[0], err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return (guint) MAX (10, (g_get_monotonic_time () - start) / 1000);
}

/* Copies of some images under new names (exact duplicates) and a few cut
 * in half, with their rows: work for inspect --discard. */
static void
plant_bad_images (void)
{
  g_autofree char *dir = g_build_filename (project, "images", "Bag", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d && (name = g_dir_read_name (d)) != NULL && n < 24)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *copy = g_strdup_printf ("%s/planted-%02u.png", dir, n);
      g_autofree char *bytes = NULL;
      gsize length;
      if (g_str_has_prefix (name, "planted-") || !g_file_get_contents (path, &bytes, &length, NULL))
        continue;
      g_assert_true (g_file_set_contents (copy, bytes, n % 4 == 3 ? (gssize) length / 2 : (gssize) length, NULL));
      n++;
    }
  const char *label[] = { "label", "--project", project, NULL };
  time_run (label);
}

/* inspect --discard and cache: killed at random moments of a run (the
 * delay drawn from how long a whole one takes), then run again. */
static void
test_kill_loop (gconstpointer data)
{
  const char *command = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_str_hash (command));
  const char *inspect[] = { "inspect", "--project", project, "--discard", NULL };
  const char *cache[] = { "cache", "--project", project, "--size", "28x28", "--channels", "1", NULL };
  const char *const *args = g_str_equal (command, "inspect") ? inspect : cache;
  guint rounds = fault_rounds (), killed = 0, before = violations;

  const char *restore[] = { "restore", "--project", project, "--all", NULL };
  gboolean is_inspect = g_str_equal (command, "inspect");
  g_autofree char *cache_dir = g_build_filename (project, "cache", NULL);

  if (!have_project ())
    return;
  if (is_inspect)
    {
      plant_bad_images ();
      time_run (args);
      time_run (restore);
    }
  guint whole_ms = time_run (args);
  g_test_message ("%s: an uninterrupted run takes %u ms", command, whole_ms);
  for (guint r = 0; r < rounds; r++)
    {
      guint delay = (guint) g_rand_int_range (rand, 0, (gint32) (whole_ms * 4 / 5 + 1));
      /* Work to interrupt: discarded images back, the cache gone. */
      if (is_inspect)
        time_run (restore);
      else
        {
          g_autoptr(GDir) d = g_dir_open (cache_dir, 0, NULL);
          const char *name;
          while (d && (name = g_dir_read_name (d)) != NULL)
            if (strstr (name, ".kilncache"))
              {
                g_autofree char *path = g_build_filename (cache_dir, name, NULL);
                g_unlink (path);
              }
        }
      killed += kill_after (args, delay);
      g_autofree char *when = g_strdup_printf ("%s killed after %u ms (round %u)", command, delay, r + 1);
      check_project (when, FALSE);
      g_autofree char *out = NULL, *err = NULL;
      int status = run_cli_env (args, NULL, 0, &out, &err);
      if (!g_spawn_check_wait_status (status, NULL))
        violation ("%s: the command again failed: %s", when, err);
      check_project ("and run again", TRUE);
    }
  g_test_message ("%s: %u rounds, %u killed mid-run, violations: %u", command, rounds, killed, violations - before);
  g_assert_cmpuint (violations, ==, before);
}

static gboolean
same_weights (const char *a_path, const char *b_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnSafetensors) a = kiln_safetensors_new_from_file (a_path, &error);
  g_autoptr(KilnSafetensors) b = kiln_safetensors_new_from_file (b_path, &error);

  if (a == NULL || b == NULL || kiln_safetensors_get_n_tensors (a) != kiln_safetensors_get_n_tensors (b))
    return FALSE;
  for (guint i = 0; i < kiln_safetensors_get_n_tensors (a); i++)
    {
      const KilnSafetensorsTensor *ta = kiln_safetensors_get_tensor_at (a, i);
      const KilnSafetensorsTensor *tb = kiln_safetensors_get_tensor (b, ta->name);
      if (tb == NULL || ta->n_bytes != tb->n_bytes || memcmp (ta->data, tb->data, ta->n_bytes) != 0)
        return FALSE;
    }
  return TRUE;
}

/* Training killed at random moments, resumed each time from its newest
 * checkpoint, ends with the weights of the uninterrupted run. */
static void
test_kill_loop_train (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (77);
  guint rounds = fault_rounds (), before = violations;

  if (!have_project ())
    return;
  const char *whole[] = { "train", "--project", project, "--preset", "lenet", "--epochs", "3", "--seed", "5",
                          "--checkpoint-every", "1", "--keep", "2", "--run-id", "whole", NULL };
  int status;
  guint whole_ms = time_run (whole);
  g_test_message ("train: an uninterrupted run takes %u ms", whole_ms);
  g_autofree char *whole_dir = g_build_filename (project, "runs", "whole", NULL);
  g_autoptr(KilnRun) whole_run = kiln_run_open (whole_dir, -1, &error);
  g_assert_no_error (error);
  gint64 whole_last = 0;
  g_autofree char *whole_ckpt = kiln_run_get_latest_checkpoint (whole_run, &whole_last);

  for (guint r = 0; r < rounds; r++)
    {
      g_autofree char *id = g_strdup_printf ("killed%u", r);
      g_autofree char *dir = g_build_filename (project, "runs", id, NULL);
      const char *first[] = { "train", "--project", project, "--preset", "lenet", "--epochs", "3", "--seed", "5",
                              "--checkpoint-every", "1", "--keep", "2", "--run-id", id, NULL };
      const char *resume[] = { "train", "--resume", dir, NULL };
      guint kills = 0;

      /* Killed up to three times at random moments, resumed after each. */
      gboolean started = FALSE;
      for (guint k = 0; k < 3; k++)
        {
          guint delay = (guint) g_rand_int_range (rand, 0, (gint32) whole_ms);
          gboolean resumable = started && g_file_test (dir, G_FILE_TEST_IS_DIR);
          if (kill_after (resumable ? resume : first, delay))
            kills++;
          started = TRUE;
          /* A run killed before its first checkpoint has nothing to resume. */
          g_autoptr(KilnRun) probe = kiln_run_open (dir, -1, NULL);
          gint64 it = 0;
          g_autofree char *latest = probe ? kiln_run_get_latest_checkpoint (probe, &it) : NULL;
          if (latest == NULL)
            {
              kiln_test_remove_tree (dir);
              started = FALSE;
            }
          else
            {
              g_autoptr(KilnSafetensors) loaded = kiln_safetensors_new_from_file (latest, NULL);
              if (loaded == NULL)
                violation ("round %u: the newest checkpoint %s does not load", r + 1, latest);
            }
        }
      g_autofree char *out2 = NULL, *err2 = NULL;
      status = run_cli_env (g_file_test (dir, G_FILE_TEST_IS_DIR) ? resume : first, NULL, 0, &out2, &err2);
      if (!g_spawn_check_wait_status (status, NULL))
        {
          violation ("round %u: the resumed run failed: %s", r + 1, err2);
          continue;
        }
      g_autoptr(KilnRun) run = kiln_run_open (dir, -1, &error);
      g_assert_no_error (error);
      gint64 last = 0;
      g_autofree char *ckpt = kiln_run_get_latest_checkpoint (run, &last);
      if (last != whole_last || !same_weights (ckpt, whole_ckpt))
        violation ("round %u (%u kills): the resumed run ended at iteration %" G_GINT64_FORMAT " with other "
                   "weights than the uninterrupted one (%" G_GINT64_FORMAT ")", r + 1, kills, last, whole_last);
      g_test_message ("train round %u: killed %u times, resumed, same final weights", r + 1, kills);
      kiln_test_remove_tree (dir);
    }
  check_project ("after the training kills", TRUE);
  g_test_message ("train: %u rounds, violations: %u", rounds, violations - before);
  g_assert_cmpuint (violations, ==, before);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("kiln-faults-XXXXXX", NULL);
  project = g_build_filename (tmp, "fashion", NULL);
  g_test_add_func ("/e2e/faults/import", test_import);
  g_test_add_func ("/e2e/faults/enospc/cache", test_enospc_cache);
  g_test_add_func ("/e2e/faults/enospc/checkpoint", test_enospc_checkpoint);
  g_test_add_func ("/e2e/faults/enospc/export", test_enospc_export);
  g_test_add_data_func ("/e2e/faults/kill-loop/inspect", "inspect", test_kill_loop);
  g_test_add_data_func ("/e2e/faults/kill-loop/cache", "cache", test_kill_loop);
  g_test_add_func ("/e2e/faults/kill-loop/train", test_kill_loop_train);
  int status = g_test_run ();
  g_test_message ("violations: %u", violations);
  kiln_test_remove_tree (tmp);
  return status;
}
