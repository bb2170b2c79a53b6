/* kiln-dataset-async.c: a project's mean image, chosen, computed and
 * saved the way kiln-cli mean does it, and a project's split, on a worker
 * thread for the window. */
#include "config.h"

#include "kiln-dataset.h"
#include "kiln-project-dataset.h"

KilnLabelSet *
kiln_dataset_mean_images (KilnProject  *project,
                          const char   *split,
                          const char   *subset,
                          GError      **error)
{
  g_autofree char *current = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (KILN_IS_PROJECT (project), NULL);

  /* The images training uses: the current split's train subset. */
  if (split == NULL)
    {
      current = kiln_project_get_current_split (project, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return NULL;
        }
      split = current;
    }
  return kiln_project_get_label_set (project, split, subset ? subset : "train", NULL, error);
}

char *
kiln_dataset_mean_folder (KilnProject         *project,
                          const KilnImageSpec *spec)
{
  g_autofree char *folder = g_strdup_printf ("mean-%dx%d-%s-%s", spec->width, spec->height,
                                             spec->channels == KILN_CHANNELS_GRAY ? "gray" : "rgb",
                                             kiln_resize_mode_to_string (spec->mode));

  return g_build_filename (kiln_project_get_path (project), "cache", folder, NULL);
}

typedef struct {
  KilnProject   *project;
  char          *split;
  char          *subset;
  KilnImageSpec  spec;
  KilnProgress  *progress;
} MeanJob;

static void
mean_job_free (MeanJob *job)
{
  g_clear_object (&job->project);
  g_free (job->split);
  g_free (job->subset);
  g_clear_object (&job->progress);
  g_free (job);
}

static void
mean_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MeanJob *job = data;
  GError *error = NULL;
  g_autoptr(KilnLabelSet) set = kiln_dataset_mean_images (job->project, job->split, job->subset, &error);
  g_autoptr(KilnMeanImage) mean = NULL;

  if (set != NULL)
    {
      if (job->progress != NULL)
        kiln_progress_set_total (job->progress, set->paths->len);
      mean = kiln_dataset_compute_mean (kiln_project_get_path (job->project), set, &job->spec, 0,
                                        job->progress ? kiln_progress_feed : NULL, job->progress,
                                        cancellable, &error);
    }
  if (mean != NULL)
    {
      g_autofree char *folder = kiln_dataset_mean_folder (job->project, &job->spec);

      if (!kiln_mean_image_save (mean, folder, &error))
        g_clear_pointer (&mean, kiln_mean_image_free);
    }
  if (job->progress != NULL)
    kiln_progress_finish (job->progress);
  if (mean != NULL)
    g_task_return_pointer (task, g_steal_pointer (&mean), (GDestroyNotify) kiln_mean_image_free);
  else
    g_task_return_error (task, error);
}

void
kiln_dataset_compute_project_mean_async (KilnProject         *project,
                                         const char          *split,
                                         const char          *subset,
                                         const KilnImageSpec *spec,
                                         KilnProgress        *progress,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  MeanJob *job = g_new0 (MeanJob, 1);

  g_return_if_fail (KILN_IS_PROJECT (project));
  g_return_if_fail (spec != NULL);

  g_task_set_source_tag (task, kiln_dataset_compute_project_mean_async);
  job->project = g_object_ref (project);
  job->split = g_strdup (split);
  job->subset = g_strdup (subset);
  job->spec = *spec;
  job->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_task_data (task, job, (GDestroyNotify) mean_job_free);
  g_task_run_in_thread (task, mean_thread);
}

KilnMeanImage *
kiln_dataset_compute_project_mean_finish (GAsyncResult  *result,
                                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_dataset_compute_project_mean_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  KilnProject      *project;
  char             *name;
  KilnSplitSpec     spec;
  KilnSplitSummary  summary;
} SplitJob;

static void
split_job_free (SplitJob *job)
{
  g_clear_object (&job->project);
  g_free (job->name);
  g_free (job);
}

static void
split_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SplitJob *job = data;
  GError *error = NULL;

  if (kiln_dataset_split_project (job->project, job->name, &job->spec, &job->summary, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
kiln_dataset_split_project_async (KilnProject          *project,
                                  const char           *name,
                                  const KilnSplitSpec  *spec,
                                  GCancellable         *cancellable,
                                  GAsyncReadyCallback   callback,
                                  gpointer              user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  SplitJob *job = g_new0 (SplitJob, 1);

  g_return_if_fail (KILN_IS_PROJECT (project));
  g_return_if_fail (name != NULL && spec != NULL);

  g_task_set_source_tag (task, kiln_dataset_split_project_async);
  job->project = g_object_ref (project);
  job->name = g_strdup (name);
  job->spec = *spec;
  g_task_set_task_data (task, job, (GDestroyNotify) split_job_free);
  g_task_run_in_thread (task, split_thread);
}

gboolean
kiln_dataset_split_project_finish (GAsyncResult      *result,
                                   KilnSplitSummary  *summary,
                                   GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_dataset_split_project_async), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (summary != NULL)
    *summary = ((SplitJob *) g_task_get_task_data (G_TASK (result)))->summary;
  return TRUE;
}
