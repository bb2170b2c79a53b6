/* kiln-inspector-async.c: kiln_inspector_run() on a worker thread, for the
 * window (kiln-cli runs it in place, printing its progress). */
#include "config.h"

#include "kiln-inspector.h"

/* Flags on their way from the inspecting threads to the caller's context:
 * queued under a lock and handed over by one idle source at a time; the
 * last are handed over before the run's own callback, never after. */
typedef struct {
  GMutex                 lock;
  GPtrArray             *pending;   /* GPtrArray of KilnFlag, one per image */
  gboolean               scheduled;
  gboolean               closed;
  GMainContext          *context;
  KilnInspectorFlagsFunc func;
  gpointer               data;
} FlagsChannel;

static void
flags_channel_clear (FlagsChannel *channel)
{
  g_mutex_clear (&channel->lock);
  g_ptr_array_unref (channel->pending);
  g_main_context_unref (channel->context);
}

static void
flags_channel_unref (FlagsChannel *channel)
{
  g_atomic_rc_box_release_full (channel, (GDestroyNotify) flags_channel_clear);
}

static void
flags_channel_drain (FlagsChannel *channel)
{
  g_mutex_lock (&channel->lock);
  g_autoptr(GPtrArray) batch = g_steal_pointer (&channel->pending);
  channel->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  channel->scheduled = FALSE;
  gboolean closed = channel->closed;
  g_mutex_unlock (&channel->lock);
  for (guint i = 0; !closed && i < batch->len; i++)
    {
      GPtrArray *flags = batch->pdata[i];
      channel->func (((KilnFlag *) flags->pdata[0])->image_id, flags, channel->data);
    }
}

static gboolean
flags_channel_idle (gpointer data)
{
  flags_channel_drain (data);
  return G_SOURCE_REMOVE;
}

/* On an inspecting thread. */
static void
flags_channel_push (gint64 image_id, GPtrArray *flags, gpointer data)
{
  FlagsChannel *channel = data;
  GPtrArray *copy = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);

  for (guint i = 0; i < flags->len; i++)
    {
      KilnFlag *flag = flags->pdata[i];
      g_ptr_array_add (copy, kiln_flag_new (flag->image_id, flag->reason, flag->detail));
    }
  g_mutex_lock (&channel->lock);
  g_ptr_array_add (channel->pending, copy);
  gboolean schedule = !channel->scheduled;
  channel->scheduled = TRUE;
  g_mutex_unlock (&channel->lock);
  if (schedule)
    {
      /* Coalesced: at most one handover per 50 ms. */
      GSource *source = g_timeout_source_new (50);
      g_source_set_callback (source, flags_channel_idle, g_atomic_rc_box_acquire (channel),
                             (GDestroyNotify) flags_channel_unref);
      g_source_attach (source, channel->context);
      g_source_unref (source);
    }
}

typedef struct {
  KilnProject           *project;
  KilnInspectorSettings *settings;
  guint                  n_threads;
  KilnProgress          *progress;
  KilnInspectorSummary   summary;
  FlagsChannel          *flags;     /* or NULL */
  GAsyncReadyCallback    callback;
  gpointer               user_data;
} InspectJob;

static void
inspect_job_free (InspectJob *job)
{
  g_clear_object (&job->project);
  g_clear_pointer (&job->settings, kiln_inspector_settings_free);
  g_clear_object (&job->progress);
  g_clear_pointer (&job->flags, flags_channel_unref);
  g_free (job);
}

static void
inspect_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  InspectJob *job = data;
  GError *error = NULL;
  g_autoptr(GPtrArray) reports = kiln_inspector_run_with_flags (job->project, job->settings, job->n_threads,
                                                                job->progress ? kiln_progress_feed : NULL,
                                                                job->progress,
                                                                job->flags ? flags_channel_push : NULL,
                                                                job->flags, cancellable, &job->summary, &error);
  gboolean ok = reports != NULL;

  if (job->progress != NULL)
    kiln_progress_finish (job->progress);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* The run's end: the flags still queued are handed over first. */
static void
inspect_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  InspectJob *job = g_task_get_task_data (G_TASK (result));

  if (job->flags != NULL)
    {
      flags_channel_drain (job->flags);
      g_mutex_lock (&job->flags->lock);
      job->flags->closed = TRUE;
      g_mutex_unlock (&job->flags->lock);
    }
  if (job->callback != NULL)
    job->callback (source, result, job->user_data);
}

void
kiln_inspector_run_async_full (KilnProject            *project,
                               KilnInspectorSettings  *settings,
                               guint                   n_threads,
                               KilnProgress           *progress,
                               KilnInspectorFlagsFunc  flags_func,
                               gpointer                flags_data,
                               GAsyncReadyCallback     callback,
                               gpointer                user_data)
{
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, inspect_done, NULL);
  InspectJob *job = g_new0 (InspectJob, 1);

  g_return_if_fail (KILN_IS_PROJECT (project));

  g_task_set_source_tag (task, kiln_inspector_run_async);
  job->project = g_object_ref (project);
  job->settings = settings ? settings : kiln_inspector_settings_new ();
  job->n_threads = n_threads;
  job->progress = progress ? g_object_ref (progress) : NULL;
  job->callback = callback;
  job->user_data = user_data;
  if (flags_func != NULL)
    {
      job->flags = g_atomic_rc_box_new0 (FlagsChannel);
      g_mutex_init (&job->flags->lock);
      job->flags->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
      job->flags->context = g_main_context_ref_thread_default ();
      job->flags->func = flags_func;
      job->flags->data = flags_data;
    }
  g_task_set_task_data (task, job, (GDestroyNotify) inspect_job_free);
  g_task_run_in_thread (task, inspect_thread);
}

void
kiln_inspector_run_async (KilnProject           *project,
                          KilnInspectorSettings *settings,
                          guint                  n_threads,
                          KilnProgress          *progress,
                          GAsyncReadyCallback    callback,
                          gpointer               user_data)
{
  kiln_inspector_run_async_full (project, settings, n_threads, progress, NULL, NULL, callback, user_data);
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
