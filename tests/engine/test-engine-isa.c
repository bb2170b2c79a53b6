/* The CPU backend must get oneDNN's JIT kernels on whatever x86 it runs:
 * one AlexNet training step and one inference step (kiln-bench-net) run
 * with ONEDNN_VERBOSE, and no primitive of the step may be oneDNN's
 * reference code — on this machine's own ISA and capped to AVX2 (where a
 * fixed 16-channel block once sent pooling and LRN to ref:any). SSE4.1
 * must still run, slower. */
#include <glib.h>
#include <string.h>

typedef struct {
  char *isa;           /* what kiln-bench-net reports */
  guint n_exec;
  GPtrArray *refs;     /* "kind impl" of every ref primitive */
} Run;

static void
run_clear (Run *run)
{
  g_free (run->isa);
  g_clear_pointer (&run->refs, g_ptr_array_unref);
}

static void
run_bench (const char *max_isa, Run *run)
{
  const char *bench = g_getenv ("KILN_BENCH_NET");
  g_assert_nonnull (bench);
  g_auto(GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "ONEDNN_VERBOSE", "1", TRUE);
  env = g_environ_setenv (env, "KILN_NUM_THREADS", "2", TRUE);
  if (max_isa != NULL)
    env = g_environ_setenv (env, "ONEDNN_MAX_CPU_ISA", max_isa, TRUE);
  else
    env = g_environ_unsetenv (env, "ONEDNN_MAX_CPU_ISA");
  const char *argv[] = { bench, "2", "1", "1", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("kiln-bench-net failed under %s: %s", max_isa ? max_isa : "the native ISA", err);

  *run = (Run) { .refs = g_ptr_array_new_with_free_func (g_free) };
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "isa "))
        run->isa = g_strdup (lines[i] + 4);
      /* onednn_verbose,exec,cpu,KIND,IMPL,… */
      if (!g_str_has_prefix (lines[i], "onednn_verbose,exec,"))
        continue;
      g_auto(GStrv) fields = g_strsplit (lines[i], ",", 6);
      if (g_strv_length (fields) < 5)
        continue;
      run->n_exec++;
      if (strstr (fields[4], "ref") != NULL)
        g_ptr_array_add (run->refs, g_strdup_printf ("%s %s", fields[3], fields[4]));
    }
  g_assert_nonnull (run->isa);
}

static void
assert_no_ref (Run *run_)
{
  Run run = *run_;
  g_test_message ("%s: %u primitives executed", run.isa, run.n_exec);
  g_assert_cmpuint (run.n_exec, >, 20);
  for (guint i = 0; i < run.refs->len; i++)
    g_test_message ("reference kernel under %s: %s", run.isa, (const char *) run.refs->pdata[i]);
  g_assert_cmpuint (run.refs->len, ==, 0);
}

static void
test_native (void)
{
  Run run;
  run_bench (NULL, &run);
  assert_no_ref (&run);
  run_clear (&run);
}

static void
test_avx2 (void)
{
  Run run;
  run_bench ("AVX2", &run);
  if (!g_str_has_prefix (run.isa, "avx2"))
    {
      g_autofree char *why = g_strdup_printf ("this processor has no AVX2 (oneDNN reports %s)", run.isa);
      run_clear (&run);
      g_test_skip (why);
      return;
    }
  assert_no_ref (&run);
  run_clear (&run);
}

static void
test_sse41_runs (void)
{
  Run run;
  run_bench ("SSE41", &run);
  g_assert_cmpstr (run.isa, ==, "sse41");
  g_assert_cmpuint (run.n_exec, >, 20);
  run_clear (&run);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/isa/native-has-no-reference-kernels", test_native);
  g_test_add_func ("/engine/isa/avx2-has-no-reference-kernels", test_avx2);
  g_test_add_func ("/engine/isa/sse41-runs", test_sse41_runs);
  return g_test_run ();
}
