/* kiln-project-dataset.c: the project's images as a dataset, read from the
 * store through KilnProject's public API (so the SQL stays in one file). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-project-dataset.h"

KilnLabelSet *
kiln_project_get_label_set (KilnProject  *self,
                            const char   *split,
                            const char   *subset,
                            GArray       *ids,
                            GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  g_return_val_if_fail (split == NULL || subset != NULL, NULL);

  g_autoptr(GPtrArray) images = kiln_project_list_images (self, NULL, KILN_IMAGE_KEPT, error);
  if (images == NULL)
    return NULL;
  g_auto(GStrv) classes = kiln_project_list_classes (self, error);
  if (classes == NULL)
    return NULL;
  g_autoptr(GHashTable) assignment = NULL;
  if (split != NULL && (assignment = kiln_project_get_split (self, split, NULL, error)) == NULL)
    return NULL;

  /* Only classes with kept images become labels: a class whose images were
   * all discarded must not become an output nothing trains. */
  g_autoptr(GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *record = images->pdata[i];
      if (record->class_name != NULL)
        g_hash_table_add (used, record->class_name);
    }
  g_autoptr(KilnLabelSet) set = kiln_label_set_new ();
  g_autoptr(GHashTable) label_of = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint c = 0; classes[c] != NULL; c++)
    if (g_hash_table_contains (used, classes[c]))
      {
        g_hash_table_insert (label_of, classes[c], GUINT_TO_POINTER (set->classes->len + 1));
        g_ptr_array_add (set->classes, g_strdup (classes[c]));
      }

  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *record = images->pdata[i];
      if (assignment != NULL && g_strcmp0 (g_hash_table_lookup (assignment, &record->id), subset) != 0)
        continue;
      int label = record->class_name
                  ? (int) GPOINTER_TO_UINT (g_hash_table_lookup (label_of, record->class_name)) - 1 : -1;
      kiln_label_set_add (set, record->path, label);
      if (ids != NULL)
        g_array_append_val (ids, record->id);
    }
  return g_steal_pointer (&set);
}

char *
kiln_project_get_current_split (KilnProject  *self,
                                GError      **error)
{
  g_auto(GStrv) names = kiln_project_list_splits (self, error);

  if (names == NULL || names[0] == NULL)
    return NULL;
  return g_strdup (names[0]);
}

gboolean
kiln_project_sync_images (KilnProject   *self,
                          guint         *n_added,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autofree char *images = kiln_project_build_path (self, "images");
  guint added = 0;

  if (n_added != NULL)
    *n_added = 0;
  if (!g_file_test (images, G_FILE_TEST_IS_DIR))
    return TRUE;
  g_autoptr(KilnLabelSet) set = kiln_labels_from_folder (images, cancellable, error);
  if (set == NULL || !kiln_project_add_label_set (self, set, "images", &added, error))
    return FALSE;
  if (n_added != NULL)
    *n_added = added;
  return TRUE;
}

gboolean
kiln_project_is_class_tree (const char *path)
{
  if (kiln_project_exists (path))
    return FALSE;
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return FALSE;
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (name[0] == '.')
        continue;
      g_autofree char *sub = g_build_filename (path, name, NULL);
      g_autoptr(GDir) class_dir = g_dir_open (sub, 0, NULL);
      const char *file;
      while (class_dir != NULL && (file = g_dir_read_name (class_dir)) != NULL)
        if (kiln_labels_is_image_name (file))
          return TRUE;
    }
  return FALSE;
}

KilnProject *
kiln_project_open_dataset (const char    *project_dir,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autofree char *images = g_build_filename (project_dir, "images", NULL);

  if (!kiln_project_exists (project_dir))
    {
      if (kiln_project_is_class_tree (project_dir))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "%s is a folder of class folders, not a Kiln project; make a project of it with "
                       "“kiln-cli new PROJECT --from %s” (add --reference to link instead of copying)",
                       project_dir, project_dir);
          return NULL;
        }
      if (!g_file_test (images, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                       "%s is not a Kiln project (no kiln.db, no images/ folder); make one with "
                       "“kiln-cli new PROJECT --from FOLDER”", project_dir);
          return NULL;
        }
    }
  g_autoptr(KilnProject) project = kiln_project_open (project_dir, error);
  if (project == NULL || !kiln_project_sync_images (project, NULL, cancellable, error))
    return NULL;
  return g_steal_pointer (&project);
}

static void
open_dataset_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  KilnProject *project = kiln_project_open_dataset (data, cancellable, &error);

  if (project == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, project, g_object_unref);
}

void
kiln_project_open_dataset_async (const char          *project_dir,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, kiln_project_open_dataset_async);
  g_task_set_task_data (task, g_strdup (project_dir), g_free);
  g_task_run_in_thread (task, open_dataset_thread);
}

KilnProject *
kiln_project_open_dataset_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_project_open_dataset_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
folder_is_empty (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  return dir == NULL || g_dir_read_name (dir) == NULL;
}

/* Copies @src to @dst through a temporary name, so a kill leaves either
 * the whole file under its name or nothing the labeler would take. */
static gboolean
copy_atomically (const char *src, const char *dst, GCancellable *cancellable, GError **error)
{
  g_autofree char *partial = g_strconcat (dst, ".kiln-partial", NULL);
  g_autoptr(GFile) from = g_file_new_for_path (src);
  g_autoptr(GFile) to = g_file_new_for_path (partial);

  if (!g_file_copy (from, to, G_FILE_COPY_OVERWRITE, cancellable, NULL, NULL, error))
    return FALSE;
  int fd = g_open (partial, O_RDONLY, 0);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
  if (g_rename (partial, dst) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not move %s into place: %s",
                   dst, g_strerror (saved));
      g_unlink (partial);
      return FALSE;
    }
  return TRUE;
}

KilnProject *
kiln_project_new_from_folder (const char     *project_dir,
                              const char     *folder,
                              KilnImportMode  mode,
                              KilnProgress   *progress,
                              GError        **error)
{
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is not a folder; give a folder with one sub-folder of images per class", folder);
      return NULL;
    }
  g_autofree char *folder_abs = g_canonicalize_filename (folder, NULL);
  g_autofree char *project_abs = g_canonicalize_filename (project_dir, NULL);
  g_autofree char *folder_slash = g_strconcat (folder_abs, "/", NULL);
  if (g_str_equal (folder_abs, project_abs) || g_str_has_prefix (project_abs, folder_slash))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "The project %s would lie inside the folder it imports (%s); choose a project "
                   "folder outside it", project_dir, folder);
      return NULL;
    }
  if (kiln_project_exists (project_dir))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s is already a Kiln project; copy new images into its images/<class>/ "
                   "folders or choose a new project folder", project_dir);
      return NULL;
    }
  if (g_file_test (project_dir, G_FILE_TEST_EXISTS) && !folder_is_empty (project_dir))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s exists and is not empty; a new project needs a new or empty folder", project_dir);
      return NULL;
    }

  g_autoptr(KilnLabelSet) tree = kiln_labels_from_folder (folder_abs, cancellable, error);
  if (tree == NULL)
    return NULL;
  if (tree->paths->len == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s holds no images; put one sub-folder of images per class there", folder);
      return NULL;
    }

  g_autoptr(KilnProject) project = kiln_project_open (project_dir, error);
  if (project == NULL)
    return NULL;
  if (progress)
    kiln_progress_set_total (progress, tree->paths->len);

  /* Paths under images/: class folders keep their names; images directly
   * in the folder form the ROOT class, as the labeler names it. */
  g_autoptr(KilnLabelSet) placed = kiln_label_set_new ();
  for (guint c = 0; c < tree->classes->len; c++)
    g_ptr_array_add (placed->classes, g_strdup (tree->classes->pdata[c]));
  for (guint i = 0; i < tree->paths->len; i++)
    {
      const char *relative = tree->paths->pdata[i];
      int label = g_array_index (tree->labels, int, i);
      gboolean at_root = strchr (relative, '/') == NULL;
      g_autofree char *inside = at_root ? g_strconcat (KILN_LABELS_ROOT_CLASS, "/", relative, NULL)
                                        : g_strdup (relative);
      g_autofree char *src = g_build_filename (folder_abs, relative, NULL);
      g_autofree char *dst = g_build_filename (project_abs, "images", inside, NULL);
      g_autofree char *parent = g_path_get_dirname (dst);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (g_mkdir_with_parents (parent, 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create %s: %s", parent, g_strerror (saved));
          return NULL;
        }
      if (!g_file_test (dst, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
        {
          if (mode == KILN_IMPORT_REFERENCE)
            {
              if (symlink (src, dst) != 0)
                {
                  int saved = errno;
                  g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not link %s to %s: %s",
                               dst, src, g_strerror (saved));
                  return NULL;
                }
            }
          else if (!copy_atomically (src, dst, cancellable, error))
            return NULL;
        }
      kiln_label_set_add (placed, inside, label);
      if (progress)
        kiln_progress_add_done (progress, 1);
    }
  if (!kiln_project_add_label_set (project, placed, "images", NULL, error))
    return NULL;
  if (progress)
    kiln_progress_finish (progress);
  return g_steal_pointer (&project);
}

typedef struct {
  char           *project_dir;
  char           *folder;       /* NULL: an empty project */
  KilnImportMode  mode;
  KilnProgress   *progress;
} NewJob;

static void
new_job_free (NewJob *job)
{
  g_free (job->project_dir);
  g_free (job->folder);
  g_clear_object (&job->progress);
  g_free (job);
}

/* An empty project: a new or empty folder only, like a filled one. */
static KilnProject *
new_empty (const char *project_dir, GError **error)
{
  if (kiln_project_exists (project_dir))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s is already a Kiln project; open it instead", project_dir);
      return NULL;
    }
  if (g_file_test (project_dir, G_FILE_TEST_EXISTS) && !folder_is_empty (project_dir))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s exists and is not empty; a new project needs a new or empty folder", project_dir);
      return NULL;
    }
  return kiln_project_open (project_dir, error);
}

static void
new_project_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  NewJob *job = data;
  GError *error = NULL;
  KilnProject *project = job->folder == NULL
                         ? new_empty (job->project_dir, &error)
                         : kiln_project_new_from_folder (job->project_dir, job->folder, job->mode,
                                                         job->progress, &error);

  if (job->progress != NULL)
    kiln_progress_finish (job->progress);
  if (project == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, project, g_object_unref);
}

void
kiln_project_new_async (const char          *project_dir,
                        const char          *folder,
                        KilnImportMode       mode,
                        KilnProgress        *progress,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  NewJob *job = g_new0 (NewJob, 1);

  g_task_set_source_tag (task, kiln_project_new_async);
  job->project_dir = g_strdup (project_dir);
  job->folder = g_strdup (folder);
  job->mode = mode;
  job->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_task_data (task, job, (GDestroyNotify) new_job_free);
  g_task_run_in_thread (task, new_project_thread);
}

KilnProject *
kiln_project_new_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_project_new_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
kiln_project_export_labels (KilnProject  *self,
                            const char   *split,
                            const char   *folder,
                            GError      **error)
{
  static const char *const subsets[] = { "train", "val", "test" };
  g_autoptr(KilnLabelSet) all = NULL;
  g_autofree char *labels = NULL;
  g_autofree char *classes = NULL;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (folder != NULL, FALSE);

  if (g_mkdir_with_parents (folder, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create the folder %s: %s",
                   folder, g_strerror (saved));
      return FALSE;
    }
  /* Every subset of a split shares the kept images' class list, so one
   * classes.txt numbers them all. */
  all = kiln_project_get_label_set (self, NULL, NULL, NULL, error);
  if (all == NULL)
    return FALSE;
  labels = g_build_filename (folder, "labels.txt", NULL);
  classes = g_build_filename (folder, "classes.txt", NULL);
  if (!kiln_labels_write (all, labels, classes, error))
    return FALSE;
  for (guint i = 0; split != NULL && i < G_N_ELEMENTS (subsets); i++)
    {
      g_autoptr(KilnLabelSet) set = kiln_project_get_label_set (self, split, subsets[i], NULL, error);
      g_autofree char *name = g_strconcat (subsets[i], ".txt", NULL);
      g_autofree char *path = g_build_filename (folder, name, NULL);

      if (set == NULL || !kiln_labels_write (set, path, NULL, error))
        return FALSE;
    }
  return TRUE;
}
