/* kiln-inspector-async.c: kiln_inspector_run() on a worker thread, for the
 * window (kiln-cli runs it in place, printing its progress). */
#include "config.h"

#include "kiln-inspector.h"

typedef struct {
  KilnProject           *project;
  KilnInspectorSettings *settings;
  guint                  n_threads;
  KilnProgress          *progress;
  KilnInspectorSummary   summary;
} InspectJob;

static void
inspect_job_free (InspectJob *job)
{
  g_clear_object (&job->project);
  g_clear_pointer (&job->settings, kiln_inspector_settings_free);
  g_clear_object (&job->progress);
  g_free (job);
}

static void
inspect_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  InspectJob *job = data;
  GError *error = NULL;
  gboolean ok = kiln_inspector_run (job->project, job->settings, job->n_threads,
                                    job->progress ? kiln_progress_feed : NULL, job->progress,
                                    cancellable, &job->summary, &error);

  if (job->progress != NULL)
    kiln_progress_finish (job->progress);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
kiln_inspector_run_async (KilnProject           *project,
                          KilnInspectorSettings *settings,
                          guint                  n_threads,
                          KilnProgress          *progress,
                          GAsyncReadyCallback    callback,
                          gpointer               user_data)
{
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  InspectJob *job = g_new0 (InspectJob, 1);

  g_return_if_fail (KILN_IS_PROJECT (project));

  g_task_set_source_tag (task, kiln_inspector_run_async);
  job->project = g_object_ref (project);
  job->settings = settings ? settings : kiln_inspector_settings_new ();
  job->n_threads = n_threads;
  job->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_task_data (task, job, (GDestroyNotify) inspect_job_free);
  g_task_run_in_thread (task, inspect_thread);
}

gboolean
kiln_inspector_run_finish (GAsyncResult          *result,
                           KilnInspectorSummary  *summary,
                           GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_inspector_run_async), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (summary != NULL)
    *summary = ((InspectJob *) g_task_get_task_data (G_TASK (result)))->summary;
  return TRUE;
}
