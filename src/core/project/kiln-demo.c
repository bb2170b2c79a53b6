#include "kiln-demo.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-error.h"
#include "kiln-labels.h"
#include "kiln-project-dataset.h"

char *
kiln_demo_default_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "kiln", "demo", NULL);
}

gboolean
kiln_demo_is_ready (const char *project_dir)
{
  g_autofree char *images = g_build_filename (project_dir, "images", NULL);
  return g_file_test (images, G_FILE_TEST_IS_DIR);
}

gboolean
kiln_demo_split (const char *project_dir, guint val_per_class, guint counts[3], GError **error)
{
  g_autoptr(KilnProject) project = kiln_project_open (project_dir, error);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(KilnLabelSet) set = NULL;

  if (project == NULL || !kiln_project_sync_images (project, NULL, NULL, error))
    return FALSE;
  set = kiln_project_get_label_set (project, NULL, NULL, ids, error);
  if (set == NULL)
    return FALSE;

  /* The store lists images by id, in the order the sync found them: the
   * first training images of each class validate. */
  static const char *const names[] = { "train", "val", "test", "unused" };
  g_autofree guint *val_taken = g_new0 (guint, set->classes->len);
  g_autofree const char **subsets = g_new (const char *, set->paths->len);
  guint n[4] = { 0 };
  for (guint i = 0; i < set->paths->len; i++)
    {
      g_autofree char *base = g_path_get_basename (set->paths->pdata[i]);
      int label = g_array_index (set->labels, int, i);
      guint s = 0;

      if (g_str_has_prefix (base, "test-"))
        s = 2;
      else if (!g_str_has_prefix (base, "train-") || label < 0)
        s = 3;
      else if (val_taken[label] < val_per_class)
        {
          s = 1;
          val_taken[label]++;
        }
      subsets[i] = names[s];
      n[s]++;
    }
  if (counts != NULL)
    memcpy (counts, n, 3 * sizeof (guint));
  if (n[0] == 0 || n[2] == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s holds no Fashion-MNIST training or test images (train-*.png, test-*.png) to split; "
                   "import the demo with “kiln-cli demo --import-only”", project_dir);
      return FALSE;
    }
  return kiln_project_set_split (project, KILN_DEMO_SPLIT, 0, (const gint64 *) ids->data, subsets,
                                 set->paths->len, error);
}

/* The demo's split, made once for the front ends, so that the window's New
 * Run wizard finds it current and starts from the demo's recipe. */
static gboolean
ensure_split (const char *project_dir, GError **error)
{
  g_auto(GStrv) splits = NULL;
  {
    g_autoptr(KilnProject) project = kiln_project_open (project_dir, error);
    if (project == NULL || (splits = kiln_project_list_splits (project, error)) == NULL)
      return FALSE;
  }
  if (g_strv_contains ((const char *const *) splits, KILN_DEMO_SPLIT))
    return TRUE;
  return kiln_demo_split (project_dir, 0, NULL, error);
}

static gboolean
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                                                   G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (children != NULL)
    for (;;)
      {
        GFileInfo *info;
        GFile *child;
        if (!g_file_enumerator_iterate (children, &info, &child, NULL, NULL) || info == NULL)
          break;
        g_autofree char *child_path = g_file_get_path (child);
        if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
          remove_tree (child_path);
        else
          g_unlink (child_path);
      }
  return g_rmdir (path) == 0 || errno == ENOENT;
}

typedef struct {
  KilnProgressFunc progress;
  gpointer user_data;
  guint64 offset, total;
} Progress;

static void
forward_progress (guint64 done, guint64 total, gpointer data)
{
  Progress *p = data;
  if (p->progress)
    p->progress (p->offset + done, p->total, p->user_data);
}

gboolean
kiln_demo_ensure (const char *project_dir, const char *dataset_dir, guint limit, KilnProgressFunc progress,
                  gpointer user_data, GCancellable *cancellable, GError **error)
{
  const char *files[2][3] = {
    { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "train-" },
    { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "test-" },
  };
  guint limits[2] = { limit, limit ? MAX (1, limit / 6) : 0 };

  if (kiln_demo_is_ready (project_dir))
    return TRUE;
  if (dataset_dir == NULL)
    dataset_dir = KILN_DEMO_DATASET_DIR;
  for (guint f = 0; f < 2; f++)
    {
      g_autofree char *path = g_build_filename (dataset_dir, files[f][0], NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                       "The demo needs Fashion-MNIST: %s is missing; install it with "
                       "“apt-get install dataset-fashion-mnist”", path);
          return FALSE;
        }
    }
  if (g_mkdir_with_parents (project_dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create %s: %s", project_dir, g_strerror (saved));
      return FALSE;
    }

  /* Import next to the final place, then rename: all or nothing. */
  g_autofree char *partial = g_build_filename (project_dir, "images.partial", NULL);
  g_autofree char *images = g_build_filename (project_dir, "images", NULL);
  remove_tree (partial);
  Progress p = { progress, user_data, 0, limit ? limits[0] + limits[1] : 70000 };
  for (guint f = 0; f < 2; f++)
    {
      g_autofree char *image_file = g_build_filename (dataset_dir, files[f][0], NULL);
      g_autofree char *label_file = g_build_filename (dataset_dir, files[f][1], NULL);
      g_autoptr(KilnLabelSet) set = kiln_labels_import_idx (image_file, label_file,
                                                            kiln_labels_fashion_mnist_classes,
                                                            partial, files[f][2], limits[f],
                                                            forward_progress, &p, cancellable, error);
      if (set == NULL)
        {
          remove_tree (partial);
          return FALSE;
        }
      p.offset += set->paths->len;
    }
  if (g_rename (partial, images) != 0)
    {
      int saved = errno;
      remove_tree (partial);
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not move the demo images into %s: %s",
                   images, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  char *project_dir;
  char *dataset_dir;
  guint limit;
  KilnProgress *progress;
} DemoJob;

static void
demo_job_free (DemoJob *job)
{
  g_free (job->project_dir);
  g_free (job->dataset_dir);
  g_clear_object (&job->progress);
  g_free (job);
}

static void
ensure_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DemoJob *job = data;
  GError *error = NULL;
  gboolean ok = kiln_demo_ensure (job->project_dir, job->dataset_dir, job->limit,
                                  job->progress ? kiln_progress_feed : NULL, job->progress, cancellable, &error) &&
                ensure_split (job->project_dir, &error);

  if (job->progress != NULL)
    kiln_progress_finish (job->progress);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
kiln_demo_ensure_async (const char *project_dir, const char *dataset_dir, guint limit, KilnProgress *progress,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  DemoJob *job = g_new0 (DemoJob, 1);

  g_task_set_source_tag (task, kiln_demo_ensure_async);
  job->project_dir = g_strdup (project_dir);
  job->dataset_dir = g_strdup (dataset_dir);
  job->limit = limit;
  job->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_task_data (task, job, (GDestroyNotify) demo_job_free);
  g_task_run_in_thread (task, ensure_thread);
}

gboolean
kiln_demo_ensure_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_demo_ensure_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
