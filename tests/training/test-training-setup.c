/* The _async/_finish pairs of the training setup: the work runs on a GTask
 * thread, the result comes back on the caller's thread-default context and
 * the trainer it returns signals there too; errors and cancellation come
 * back through _finish. */
#include <string.h>

#include "kiln-training-setup.h"
#include "test-util.h"

typedef struct {
  GThread *caller;
  GAsyncResult *result;
  gboolean result_elsewhere;
  guint finished;
  gboolean signal_elsewhere;
  gboolean gave_up;
} Seen;

static void
keep_result (GObject *source, GAsyncResult *result, gpointer data)
{
  Seen *seen = data;
  seen->result_elsewhere = g_thread_self () != seen->caller;
  seen->result = g_object_ref (result);
}

static void
on_finished (KilnTrainer *trainer, int state, Seen *seen)
{
  seen->signal_elsewhere |= g_thread_self () != seen->caller;
  seen->finished++;
}

static gboolean
give_up (gpointer data)
{
  ((Seen *) data)->gave_up = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
has_result (Seen *seen)
{
  return seen->result != NULL;
}

static gboolean
has_finished (Seen *seen)
{
  return seen->finished > 0;
}

/* Turns @context until @done, with a generous guard. */
static void
spin (GMainContext *context, gboolean (*done) (Seen *), Seen *seen)
{
  g_autoptr(GSource) guard = g_timeout_source_new_seconds (60);
  g_source_set_callback (guard, give_up, seen, NULL);
  g_source_attach (guard, context);
  while (!done (seen) && !seen->gave_up)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (guard);
  g_assert_false (seen->gave_up);
}

static void
test_prepare_async_on_the_callers_context (void)
{
  g_autofree char *project = kiln_test_make_bars_project ();
  g_autoptr(KilnNetSpec) spec = kiln_test_bars_net ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  Seen seen = { .caller = g_thread_self () };
  KilnTrainerOptions options;
  KilnTrainingSetup setup;

  kiln_trainer_options_init (&options);
  options.epochs = 1;
  options.batch_size = 4;
  g_free (options.device);
  options.device = g_strdup ("cpu");
  kiln_training_setup_init (&setup);
  setup.val_fraction = 0.25;
  setup.run_id = "async";

  /* The caller's context is not the global default one: nothing may reach
   * that one (this test never turns it). */
  g_main_context_push_thread_default (context);
  kiln_training_prepare_async (project, spec, &options, &setup, NULL, NULL, keep_result, &seen);
  /* The arguments were copied. */
  kiln_trainer_options_clear (&options);
  g_clear_object (&spec);
  spin (context, has_result, &seen);
  g_assert_false (seen.result_elsewhere);
  g_autoptr(KilnTrainer) trainer = kiln_training_prepare_finish (seen.result, &error);
  g_clear_object (&seen.result);
  g_assert_no_error (error);
  g_assert_nonnull (trainer);

  g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &seen);
  g_assert_true (kiln_trainer_start (trainer, &error));
  spin (context, has_finished, &seen);
  g_assert_false (seen.signal_elsewhere);
  g_assert_cmpint (kiln_trainer_get_state (trainer), ==, KILN_TRAINER_FINISHED);

  /* Resuming the run the same way gives a trainer; a folder that is not a
   * run gives the setup's error. */
  g_autofree char *run_dir = g_build_filename (project, "runs", "async", NULL);
  kiln_training_prepare_resume_async (run_dir, NULL, NULL, keep_result, &seen);
  spin (context, has_result, &seen);
  g_autoptr(KilnTrainer) resumed = kiln_training_prepare_resume_finish (seen.result, &error);
  g_clear_object (&seen.result);
  g_assert_no_error (error);
  g_assert_nonnull (resumed);

  kiln_training_prepare_resume_async (project, NULL, NULL, keep_result, &seen);
  spin (context, has_result, &seen);
  g_assert_null (kiln_training_prepare_resume_finish (seen.result, &error));
  g_clear_object (&seen.result);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "config.json"));
  g_main_context_pop_thread_default (context);
  kiln_test_remove_tree (project);
}

static void
test_prepare_async_cancelled (void)
{
  g_autofree char *project = kiln_test_make_bars_project ();
  g_autoptr(KilnNetSpec) spec = kiln_test_bars_net ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Seen seen = { .caller = g_thread_self () };
  KilnTrainerOptions options;
  KilnTrainingSetup setup;

  kiln_trainer_options_init (&options);
  kiln_training_setup_init (&setup);
  g_cancellable_cancel (cancellable);
  kiln_training_prepare_async (project, spec, &options, &setup, NULL, cancellable, keep_result, &seen);
  kiln_trainer_options_clear (&options);
  spin (NULL, has_result, &seen);
  g_assert_null (kiln_training_prepare_finish (seen.result, &error));
  g_clear_object (&seen.result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  kiln_test_remove_tree (project);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/training-setup/prepare-async-on-the-callers-context", test_prepare_async_on_the_callers_context);
  g_test_add_func ("/training-setup/prepare-async-cancelled", test_prepare_async_cancelled);
  return g_test_run ();
}
