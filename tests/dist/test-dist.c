/* Data-parallel training over MPI on loopback: `mpirun -np 2` (and 3)
 * `kiln-cli train --distributed` must end with the weights of a plain
 * one-process run with the same global batch (within 1e-5 relative, a
 * small net without batch norm or dropout), write one run folder that
 * records its rank count, and leave checkpoints that a one-process run
 * resumes to the same weights again; a rank killed mid-run must end the
 * run with a fresh checkpoint and an error that says so. Skipped, saying why, where mpirun or
 * a build with MPI is missing. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>

#include "kiln-core.h"
#include "test-util.h"

typedef struct {
  char *project;
  char *spec;
  char *mpirun;
} Fixture;

static gboolean
usable (Fixture *f)
{
  if (!kiln_dist_available ())
    {
      g_test_skip ("this Kiln was built without MPI");
      return FALSE;
    }
  if (f->mpirun == NULL)
    {
      g_test_skip ("mpirun is not installed (Debian: openmpi-bin)");
      return FALSE;
    }
  return TRUE;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnNetSpec) spec = kiln_test_bars_net ();
  g_autoptr(GError) error = NULL;

  f->mpirun = g_find_program_in_path ("mpirun");
  f->project = kiln_test_make_bars_project ();
  f->spec = g_build_filename (f->project, "bars.json", NULL);
  g_assert_true (kiln_net_spec_save (spec, f->spec, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  kiln_test_remove_tree (f->project);
  g_free (f->project);
  g_free (f->spec);
  g_free (f->mpirun);
}

/* kiln-cli train on @ranks processes (0: no mpirun, no --distributed). */
static void
train (Fixture *f, int ranks, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = -1;

  if (ranks > 0)
    {
      g_ptr_array_add (argv, g_strdup (f->mpirun));
      g_ptr_array_add (argv, g_strdup ("--oversubscribe"));
      g_ptr_array_add (argv, g_strdup ("--allow-run-as-root"));
      g_ptr_array_add (argv, g_strdup ("-np"));
      g_ptr_array_add (argv, g_strdup_printf ("%d", ranks));
    }
  g_ptr_array_add (argv, g_strdup (g_getenv ("KILN_CLI")));
  g_ptr_array_add (argv, g_strdup ("train"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  if (ranks > 0)
    g_ptr_array_add (argv, g_strdup ("--distributed"));
  g_ptr_array_add (argv, NULL);

  g_auto(GStrv) envp = g_environ_setenv (g_get_environ (), "OMP_NUM_THREADS", "1", TRUE);
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("kiln-cli train on %d ranks failed:\n%s\n%s", ranks, out, err);
}

static KilnSafetensors *
last_checkpoint (Fixture *f, const char *run_id, gint64 *iteration)
{
  g_autofree char *dir = g_build_filename (f->project, "runs", run_id, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = kiln_run_find_checkpoint (dir, FALSE, iteration, &error);
  KilnSafetensors *file;

  g_assert_no_error (error);
  file = kiln_safetensors_new_from_file (path, &error);
  g_assert_no_error (error);
  return file;
}

/* Every weight and bias of the two runs' last checkpoints within 1e-5
 * relative (‖a − b‖ / ‖b‖ per tensor); both at @iteration. */
static void
assert_same_weights (Fixture *f, const char *run_a, const char *run_b, gint64 iteration)
{
  gint64 it_a = 0, it_b = 0;
  g_autoptr(KilnSafetensors) a = last_checkpoint (f, run_a, &it_a);
  g_autoptr(KilnSafetensors) b = last_checkpoint (f, run_b, &it_b);
  guint n_weights = 0;

  g_assert_cmpint (it_a, ==, iteration);
  g_assert_cmpint (it_b, ==, iteration);
  for (guint i = 0; i < kiln_safetensors_get_n_tensors (b); i++)
    {
      const KilnSafetensorsTensor *t = kiln_safetensors_get_tensor_at (b, i);
      const char *name = t->name;
      g_autoptr(GError) error = NULL;
      gsize n = t->n_bytes / sizeof (float);

      /* The weights ("param/…"), not the optimizer's slots (they follow). */
      if (!g_str_has_prefix (name, "param/"))
        continue;
      g_autofree float *x = g_new (float, n);
      g_autofree float *y = g_new (float, n);
      g_assert_true (kiln_safetensors_read_f32 (a, name, x, n, &error));
      g_assert_true (kiln_safetensors_read_f32 (b, name, y, n, &error));
      g_assert_no_error (error);
      double e = kiln_test_normalized_error (x, y, n, NULL);
      g_test_message ("%s: %s vs %s: %.3g relative", name, run_a, run_b, e);
      if (e > 1e-5)
        g_error ("%s: %s and %s differ by %g relative", name, run_a, run_b, e);
      n_weights++;
    }
  /* conv and fc, a weight and a bias each. */
  g_assert_cmpuint (n_weights, >=, 4);
}

static void
assert_ranks_recorded (Fixture *f, const char *run_id, int ranks)
{
  g_autofree char *path = g_build_filename (f->project, "runs", run_id, "events.jsonl", NULL);
  g_autofree char *text = NULL;
  g_autofree char *want = g_strdup_printf ("\"ranks\":%d", ranks);
  g_autofree char *want_spaced = g_strdup_printf ("\"ranks\" : %d", ranks);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_true (strstr (text, want) != NULL || strstr (text, want_spaced) != NULL);

  /* kiln-cli runs says so too. */
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "runs", "--project", f->project, NULL };
  g_autofree char *line = g_strdup_printf ("%s ", run_id);
  g_autofree char *ranks_text = g_strdup_printf ("· %d ranks", ranks);
  g_assert_cmpint (kiln_test_run_cli (args, &out, &err), ==, 0);
  const char *at = strstr (out, line);
  g_assert_nonnull (at);
  g_autofree char *row = g_strndup (at, strcspn (at, "\n"));
  g_assert_nonnull (strstr (row, ranks_text));
}

static guint
count_runs (Fixture *f)
{
  g_autofree char *runs = g_build_filename (f->project, "runs", NULL);
  g_autoptr(GDir) dir = g_dir_open (runs, 0, NULL);
  guint n = 0;

  while (dir && g_dir_read_name (dir))
    n++;
  return n;
}

#define COMMON "--spec", f->spec, "--backend", "cpu", "--seed", "7", "--lr", "0.05", "--no-mirror", \
               "--schedule", "fixed", "--no-feature-cache"

/* 20 training images (the first run's split holds 10% out for validation
 * and 10% for test): 5 batches of 4 an epoch, so 4 epochs are 20 steps. */
static void
test_two_ranks (Fixture *f, gconstpointer data)
{
  if (!usable (f))
    return;
  const char *plain[] = { "-p", f->project, COMMON, "--batch", "4", "--epochs", "4", "--run-id", "plain", NULL };
  const char *two[] = { "-p", f->project, COMMON, "--batch", "4", "--epochs", "4", "--run-id", "two", NULL };
  const char *half[] = { "-p", f->project, COMMON, "--batch", "4", "--epochs", "2", "--run-id", "half", NULL };
  g_autofree char *half_dir = g_build_filename (f->project, "runs", "half", NULL);
  const char *resume[] = { "--resume", half_dir, "--epochs", "4", NULL };

  train (f, 0, plain);
  train (f, 2, two);
  assert_same_weights (f, "two", "plain", 20);
  assert_ranks_recorded (f, "two", 2);
  /* Rank 1 wrote no run of its own. */
  g_assert_cmpuint (count_runs (f), ==, 2);

  /* 10 steps on 2 ranks, the other 10 on one process. */
  train (f, 2, half);
  train (f, 0, resume);
  assert_same_weights (f, "half", "plain", 20);
}

/* A batch of 6 over 3 ranks: 3 batches an epoch, 7 epochs are 21 steps. */
static void
test_three_ranks (Fixture *f, gconstpointer data)
{
  if (!usable (f))
    return;
  const char *plain[] = { "-p", f->project, COMMON, "--batch", "6", "--epochs", "7", "--run-id", "plain6", NULL };
  const char *three[] = { "-p", f->project, COMMON, "--batch", "6", "--epochs", "7", "--run-id", "three", NULL };

  train (f, 0, plain);
  train (f, 3, three);
  assert_same_weights (f, "three", "plain6", 21);
  assert_ranks_recorded (f, "three", 3);
}

/* The rank of @mpirun's child @pid (from OMPI_COMM_WORLD_RANK), or -1. */
static int
rank_of (int pid, int mpirun)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *env_path = g_strdup_printf ("/proc/%d/environ", pid);
  g_autofree char *stat = NULL, *env = NULL;
  gsize len = 0;
  const char *paren;
  int ppid = 0;

  if (!g_file_get_contents (stat_path, &stat, NULL, NULL) || (paren = strrchr (stat, ')')) == NULL ||
      sscanf (paren + 2, "%*c %d", &ppid) != 1 || ppid != mpirun ||
      !g_file_get_contents (env_path, &env, &len, NULL))
    return -1;
  for (gsize at = 0; at < len; at += strlen (env + at) + 1)
    if (g_str_has_prefix (env + at, "OMPI_COMM_WORLD_RANK="))
      return atoi (env + at + strlen ("OMPI_COMM_WORLD_RANK="));
  return -1;
}

/* SIGKILL rank 1 of a long 2-rank run once it has checkpointed: mpirun
 * sends rank 0 SIGTERM, and rank 0 must give up the all-reduce, keep a
 * checkpoint of its last whole step and say why it stopped. */
static void
test_killed_rank (Fixture *f, gconstpointer data)
{
  if (!usable (f))
    return;
  g_autofree char *index = g_build_filename (f->project, "runs", "killed", "checkpoints", "index.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) mpirun = NULL;
  g_autofree char *err = NULL;
  int victim = -1;

  g_subprocess_launcher_setenv (launcher, "OMP_NUM_THREADS", "1", TRUE);
  /* Ten seconds between mpirun's SIGTERM and its SIGKILL (one by default),
   * so a loaded machine cannot turn the test into a race. */
  mpirun = g_subprocess_launcher_spawn (launcher, &error, f->mpirun, "--oversubscribe", "--allow-run-as-root",
                                        "--mca", "odls_base_sigkill_timeout", "10", "-np", "2",
                                        g_getenv ("KILN_CLI"), "train", "-p", f->project, "--spec", f->spec,
                                        "--backend", "cpu", "--batch", "4", "--epochs", "100000",
                                        "--checkpoint-every", "10", "--run-id", "killed", "--distributed", NULL);
  g_assert_no_error (error);
  int mpirun_pid = atoi (g_subprocess_get_identifier (mpirun));
  for (int tries = 0; tries < 1200 && (victim < 0 || !g_file_test (index, G_FILE_TEST_EXISTS)); tries++)
    {
      g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
      const char *name;

      g_usleep (50 * 1000);
      while (victim < 0 && proc && (name = g_dir_read_name (proc)))
        if (g_ascii_isdigit (name[0]) && rank_of (atoi (name), mpirun_pid) == 1)
          victim = atoi (name);
    }
  g_assert_cmpint (victim, >, 0);
  g_assert_true (g_file_test (index, G_FILE_TEST_EXISTS));
  g_assert_cmpint (kill (victim, SIGKILL), ==, 0);

  g_assert_true (g_subprocess_communicate_utf8 (mpirun, NULL, NULL, NULL, &err, &error));
  g_assert_no_error (error);
  g_assert_false (g_subprocess_get_successful (mpirun));
  const char *at = strstr (err, "stopped with a checkpoint at iteration ");
  if (at == NULL || strstr (err, "another rank has probably died") == NULL)
    g_error ("no clear error from rank 0:\n%s", err);
  gint64 stopped_at = g_ascii_strtoll (at + strlen ("stopped with a checkpoint at iteration "), NULL, 10);
  g_autofree char *run_dir = g_build_filename (f->project, "runs", "killed", NULL);
  gint64 latest = 0;
  g_autofree char *checkpoint = kiln_run_find_checkpoint (run_dir, FALSE, &latest, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latest, ==, stopped_at);
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));
}

/* A batch the ranks cannot share evenly is refused, naming the fix. */
static void
test_uneven_batch (Fixture *f, gconstpointer data)
{
  if (!usable (f))
    return;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { f->mpirun, "--oversubscribe", "--allow-run-as-root", "-np", "3", g_getenv ("KILN_CLI"),
                         "train", "-p", f->project, "--spec", f->spec, "--backend", "cpu", "--batch", "4",
                         "--epochs", "1", "--distributed", NULL };
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "does not split evenly over 3 ranks; use a multiple of 3"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/dist/two-ranks", Fixture, NULL, fixture_setup, test_two_ranks, fixture_teardown);
  g_test_add ("/dist/three-ranks", Fixture, NULL, fixture_setup, test_three_ranks, fixture_teardown);
  g_test_add ("/dist/killed-rank", Fixture, NULL, fixture_setup, test_killed_rank, fixture_teardown);
  g_test_add ("/dist/uneven-batch", Fixture, NULL, fixture_setup, test_uneven_batch, fixture_teardown);
  return g_test_run ();
}
