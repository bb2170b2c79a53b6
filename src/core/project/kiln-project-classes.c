/* kiln-project-classes.c: renaming, merging, dropping and restoring whole
 * classes (see kiln-project.h).
 *
 * Crash safety: the rows and one pending_moves entry per image change in a
 * single transaction, and only after its commit are files renamed, each
 * journal entry going once its file is where the store says. So a crash
 * before the commit leaves the old state whole, and a crash after it
 * leaves journaled moves that kiln_project_open() finishes
 * (kiln_project_replay_pending_moves: moves a file whose source is still
 * there and whose destination is free). A move that fails now (a full
 * disk, permissions) stays journaled too and is retried on the next open. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-project-private.h"

typedef struct {
  gint64           id;
  char            *src;       /* where the file is now */
  char            *dst;       /* where the store will say it is */
  KilnImageStatus  status;
  const char      *reason;    /* static; NULL when kept */
  char            *original;  /* original_path after the move */
} ClassMove;

static void
class_move_free (ClassMove *move)
{
  g_free (move->src);
  g_free (move->dst);
  g_free (move->original);
  g_free (move);
}

static gboolean
class_id_of (KilnProject  *self,
             const char   *name,
             gint64       *id,
             GError      **error)
{
  sqlite3_stmt *stmt = kiln_project_sql_prepare (self, "SELECT id FROM classes WHERE name = ?", error);

  *id = 0;
  if (stmt == NULL)
    return FALSE;
  kiln_project_bind_text (stmt, 1, name);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    *id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return TRUE;
}

static gboolean
require_class (KilnProject  *self,
               const char   *name,
               gint64       *id,
               GError      **error)
{
  if (!class_id_of (self, name, id, error))
    return FALSE;
  if (*id == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s has no class “%s”; kiln-cli classes list shows the classes it has",
                   self->path, name);
      return FALSE;
    }
  return TRUE;
}

/* @path with its leading @old_prefix replaced by @new_prefix, or a copy of
 * @path when it does not start with it. */
static char *
replace_prefix (const char *path,
                const char *old_prefix,
                const char *new_prefix)
{
  if (path == NULL)
    return NULL;
  if (!g_str_has_prefix (path, old_prefix))
    return g_strdup (path);
  return g_strconcat (new_prefix, path + strlen (old_prefix), NULL);
}

/* Records @move's row and its journal entry; @class_id 0 keeps the class. */
static gboolean
record_move (KilnProject      *self,
             const ClassMove  *move,
             gint64            class_id,
             GError          **error)
{
  sqlite3_stmt *stmt;

  stmt = kiln_project_sql_prepare (self,
                                   "UPDATE images SET path = ?, status = ?, discard_reason = ?,"
                                   " original_path = ?, updated = ?,"
                                   " class_id = CASE WHEN ? > 0 THEN ? ELSE class_id END WHERE id = ?",
                                   error);
  if (stmt == NULL)
    return FALSE;
  kiln_project_bind_text (stmt, 1, move->dst);
  sqlite3_bind_int (stmt, 2, move->status);
  kiln_project_bind_text (stmt, 3, move->reason);
  kiln_project_bind_text (stmt, 4, move->original);
  sqlite3_bind_int64 (stmt, 5, kiln_project_now_seconds ());
  sqlite3_bind_int64 (stmt, 6, class_id);
  sqlite3_bind_int64 (stmt, 7, class_id);
  sqlite3_bind_int64 (stmt, 8, move->id);
  if (!kiln_project_sql_step_done (self, stmt, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self, "INSERT OR REPLACE INTO pending_moves (image_id, src, dst)"
                                   " VALUES (?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, move->id);
  kiln_project_bind_text (stmt, 2, move->src);
  kiln_project_bind_text (stmt, 3, move->dst);
  return kiln_project_sql_step_done (self, stmt, error);
}

/* Picks each kept image's destination: @dst_prefix + the part of its path
 * below @src_prefix (its name alone when it lies elsewhere), numbered when
 * the store, the disk or an earlier image of the batch has it. */
static GPtrArray *
plan_moves (KilnProject *self,
            GPtrArray   *images,
            const char  *src_prefix,
            const char  *dst_prefix)
{
  g_autoptr(GHashTable) chosen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *moves = g_ptr_array_new_with_free_func ((GDestroyNotify) class_move_free);

  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *image = images->pdata[i];
      ClassMove *move = g_new0 (ClassMove, 1);
      g_autofree char *base = g_path_get_basename (image->path);
      g_autofree char *candidate = g_str_has_prefix (image->path, src_prefix)
                                   ? replace_prefix (image->path, src_prefix, dst_prefix)
                                   : g_strconcat (dst_prefix, base, NULL);

      move->id = image->id;
      move->src = g_strdup (image->path);
      move->status = KILN_IMAGE_KEPT;
      move->dst = kiln_project_free_destination (self, candidate);
      for (guint n = 1; g_hash_table_contains (chosen, move->dst); n++)
        {
          const char *dot = strrchr (candidate, '.');
          const char *slash = strrchr (candidate, '/');
          g_autofree char *stem = NULL;

          if (dot == NULL || dot < slash)
            dot = candidate + strlen (candidate);
          stem = g_strndup (candidate, dot - candidate);
          g_free (move->dst);
          move->dst = g_strdup_printf ("%s-b%u%s", stem, n, dot);
        }
      g_hash_table_add (chosen, move->dst);
      g_ptr_array_add (moves, move);
    }
  return moves;
}

/* The renames after the commit. With @dir_src and @dir_dst set and every
 * move going from one to the other, the folder is renamed in one step (it
 * takes the files a user copied in by hand along); otherwise file by file.
 * Each finished move leaves the journal; a failed one stays for the next
 * open, and the first failure is reported. */
static gboolean
perform_moves (KilnProject  *self,
               GPtrArray    *moves,
               const char   *dir_src,
               const char   *dir_dst,
               GError      **error)
{
  g_autoptr(GError) first_error = NULL;
  gboolean whole = dir_src != NULL && dir_dst != NULL;

  for (guint i = 0; whole && i < moves->len; i++)
    {
      ClassMove *move = moves->pdata[i];
      g_autofree char *expected = replace_prefix (move->src, dir_src, dir_dst);

      whole = g_str_has_prefix (move->src, dir_src) && g_str_equal (expected, move->dst);
    }
  if (whole)
    {
      /* Both without their trailing '/'. */
      g_autofree char *src_dir = g_strndup (dir_src, strlen (dir_src) - 1);
      g_autofree char *dst_dir = g_strndup (dir_dst, strlen (dir_dst) - 1);
      g_autofree char *src_abs = kiln_project_build_path (self, src_dir);
      g_autofree char *dst_abs = kiln_project_build_path (self, dst_dir);

      whole = !g_file_test (dst_abs, G_FILE_TEST_EXISTS) && g_rename (src_abs, dst_abs) == 0;
    }

  for (guint i = 0; i < moves->len; i++)
    {
      ClassMove *move = moves->pdata[i];
      g_autoptr(GError) local_error = NULL;

      if (!whole)
        {
          g_autofree char *src_abs = kiln_project_build_path (self, move->src);
          g_autofree char *dst_abs = kiln_project_build_path (self, move->dst);

          if (!kiln_project_move_file (src_abs, dst_abs, &local_error))
            {
              if (first_error == NULL)
                first_error = g_steal_pointer (&local_error);
              continue;
            }
        }
      if (!kiln_project_delete_pending_move (self, move->id, &local_error) && first_error == NULL)
        first_error = g_steal_pointer (&local_error);
    }
  if (first_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&first_error),
                                  "The store was changed but a file could not follow (opening the "
                                  "project again retries it): ");
      return FALSE;
    }
  return TRUE;
}

/* Rewrites original_path of the discarded images of @class_id from under
 * @old_prefix to under @new_prefix, and moves them to @new_class_id (0:
 * keep), so restoring them puts them in the class's new folder. */
static gboolean
follow_discarded (KilnProject  *self,
                  gint64        class_id,
                  const char   *old_prefix,
                  const char   *new_prefix,
                  gint64        new_class_id,
                  GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = kiln_project_sql_prepare (self,
                                   "UPDATE images SET original_path = ?3 || substr (original_path, length (?2) + 1),"
                                   " class_id = CASE WHEN ?4 > 0 THEN ?4 ELSE class_id END"
                                   " WHERE class_id = ?1 AND status = 1 AND substr (original_path, 1, length (?2)) = ?2",
                                   error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, class_id);
  kiln_project_bind_text (stmt, 2, old_prefix);
  kiln_project_bind_text (stmt, 3, new_prefix);
  sqlite3_bind_int64 (stmt, 4, new_class_id);
  if (!kiln_project_sql_step_done (self, stmt, error))
    return FALSE;
  if (new_class_id <= 0)
    return TRUE;
  /* Discarded images that came from elsewhere change class all the same. */
  stmt = kiln_project_sql_prepare (self, "UPDATE images SET class_id = ?2 WHERE class_id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, class_id);
  sqlite3_bind_int64 (stmt, 2, new_class_id);
  return kiln_project_sql_step_done (self, stmt, error);
}

/* Rename and merge share everything but what happens to the class row. */
static gboolean
move_class (KilnProject  *self,
            const char   *source,
            const char   *target,
            gboolean      rename,
            guint        *n_images,
            GError      **error)
{
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) moves = NULL;
  g_autofree char *src_prefix = g_strdup_printf ("images/%s/", source);
  g_autofree char *dst_prefix = g_strdup_printf ("images/%s/", target);
  gint64 source_id = 0, target_id = 0;
  gboolean ok;

  if (!kiln_project_check_class_folder (target, error))
    return FALSE;
  if (g_str_equal (source, target))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "“%s” already has that name", source);
      return FALSE;
    }

  g_rec_mutex_lock (&self->lock);
  ok = require_class (self, source, &source_id, error) && class_id_of (self, target, &target_id, error);
  if (ok && rename && target_id != 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s already has a class “%s”; merge “%s” into it instead",
                   self->path, target, source);
      ok = FALSE;
    }
  if (ok)
    images = kiln_project_list_images (self, source, KILN_IMAGE_KEPT, error);
  if (images == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  moves = plan_moves (self, images, src_prefix, dst_prefix);

  ok = kiln_project_begin (self, error);
  if (!ok)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (rename)
    {
      sqlite3_stmt *stmt = kiln_project_sql_prepare (self, "UPDATE classes SET name = ? WHERE id = ?", error);

      ok = stmt != NULL;
      if (ok)
        {
          kiln_project_bind_text (stmt, 1, target);
          sqlite3_bind_int64 (stmt, 2, source_id);
          ok = kiln_project_sql_step_done (self, stmt, error);
        }
      target_id = 0;  /* the rows keep their class id */
    }
  else
    ok = kiln_project_ensure_class (self, target, &target_id, error);
  for (guint i = 0; ok && i < moves->len; i++)
    ok = record_move (self, moves->pdata[i], target_id, error);
  if (ok)
    ok = follow_discarded (self, source_id, src_prefix, dst_prefix, target_id, error);
  if (ok && !rename)
    {
      sqlite3_stmt *stmt = kiln_project_sql_prepare (self, "DELETE FROM classes WHERE id = ?", error);

      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, source_id);
          ok = kiln_project_sql_step_done (self, stmt, error);
        }
    }
  if (!kiln_project_finish (self, ok, error))
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }

  /* A rename may move the folder whole; a merge goes file by file into a
   * folder that usually exists. */
  ok = perform_moves (self, moves, rename ? src_prefix : NULL, rename ? dst_prefix : NULL, error);
  if (moves->len > 0)
    kiln_project_prune_empty_parents (self, ((ClassMove *) moves->pdata[0])->src, "images");
  else
    {
      /* An empty class's folder follows its name all the same. */
      g_autofree char *old_dir = kiln_project_build_path (self, src_prefix);
      g_rmdir (old_dir);
    }
  g_rec_mutex_unlock (&self->lock);
  if (n_images != NULL)
    *n_images = moves->len;
  return ok;
}

gboolean
kiln_project_rename_class (KilnProject  *self,
                           const char   *old_name,
                           const char   *new_name,
                           guint        *n_images,
                           GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (old_name != NULL, FALSE);

  return move_class (self, old_name, new_name, TRUE, n_images, error);
}

gboolean
kiln_project_merge_class (KilnProject  *self,
                          const char   *source,
                          const char   *target,
                          guint        *n_images,
                          GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (source != NULL, FALSE);

  return move_class (self, source, target, FALSE, n_images, error);
}

/* Drop and restore: the images change status, not class. */
static gboolean
move_status (KilnProject  *self,
             const char   *name,
             gboolean      drop,
             guint        *n_images,
             GError      **error)
{
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) moves = g_ptr_array_new_with_free_func ((GDestroyNotify) class_move_free);
  g_autoptr(GHashTable) chosen = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 class_id = 0;
  gboolean ok;

  g_rec_mutex_lock (&self->lock);
  ok = require_class (self, name, &class_id, error);
  if (ok)
    images = kiln_project_list_images (self, name, drop ? KILN_IMAGE_KEPT : KILN_IMAGE_DISCARDED, error);
  if (images == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *image = images->pdata[i];
      ClassMove *move;

      /* Restore brings back what the drop took, not other discards. */
      if (!drop && (g_strcmp0 (image->discard_reason, KILN_CLASS_DROPPED_REASON) != 0
                    || image->original_path == NULL))
        continue;
      move = g_new0 (ClassMove, 1);
      move->id = image->id;
      move->src = g_strdup (image->path);
      if (drop)
        {
          move->dst = kiln_project_discard_destination (self, image->path, KILN_CLASS_DROPPED_REASON);
          move->status = KILN_IMAGE_DISCARDED;
          move->reason = KILN_CLASS_DROPPED_REASON;
          move->original = g_strdup (image->path);
        }
      else
        {
          move->dst = kiln_project_free_destination (self, image->original_path);
          move->status = KILN_IMAGE_KEPT;
        }
      /* Two batch members never share a destination (the store does not
       * know the earlier ones' new paths until the transaction). */
      for (guint n = 1; g_hash_table_contains (chosen, move->dst); n++)
        {
          g_autofree char *numbered = g_strdup_printf ("%s-b%u", move->src, n);
          g_free (move->dst);
          move->dst = drop ? kiln_project_discard_destination (self, numbered, KILN_CLASS_DROPPED_REASON)
                           : kiln_project_free_destination (self, numbered);
        }
      g_hash_table_add (chosen, move->dst);
      g_ptr_array_add (moves, move);
    }

  if (!kiln_project_begin (self, error))
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  ok = TRUE;
  for (guint i = 0; ok && i < moves->len; i++)
    ok = record_move (self, moves->pdata[i], 0, error);
  if (!kiln_project_finish (self, ok, error))
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  ok = perform_moves (self, moves, NULL, NULL, error);
  for (guint i = 0; i < moves->len; i++)
    {
      ClassMove *move = moves->pdata[i];
      kiln_project_prune_empty_parents (self, move->src, drop ? "images" : "discarded");
    }
  g_rec_mutex_unlock (&self->lock);
  if (n_images != NULL)
    *n_images = moves->len;
  return ok;
}

gboolean
kiln_project_drop_class (KilnProject  *self,
                         const char   *name,
                         guint        *n_images,
                         GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return move_status (self, name, TRUE, n_images, error);
}

gboolean
kiln_project_restore_class (KilnProject  *self,
                            const char   *name,
                            guint        *n_images,
                            GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return move_status (self, name, FALSE, n_images, error);
}

GHashTable *
kiln_project_count_by_class (KilnProject      *self,
                             KilnImageStatus   status,
                             GError          **error)
{
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *stmt;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self,
                                   "SELECT c.name, COUNT (i.id) FROM classes c LEFT JOIN images i"
                                   " ON i.class_id = c.id AND i.status = ?1"
                                   " AND (?1 = 0 OR i.discard_reason = ?2) GROUP BY c.id", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  sqlite3_bind_int (stmt, 1, status);
  kiln_project_bind_text (stmt, 2, KILN_CLASS_DROPPED_REASON);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_insert (counts, kiln_project_column_text (stmt, 0),
                         GUINT_TO_POINTER ((guint) sqlite3_column_int64 (stmt, 1)));
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);
  return g_steal_pointer (&counts);
}

typedef struct {
  KilnClassEdit  edit;
  char          *name;
  char          *target;
  guint          n_images;
} EditJob;

static void
edit_job_free (EditJob *job)
{
  g_free (job->name);
  g_free (job->target);
  g_free (job);
}

static void
edit_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  KilnProject *self = source;
  EditJob *job = data;
  GError *error = NULL;
  gboolean ok = FALSE;

  switch (job->edit)
    {
    case KILN_CLASS_EDIT_RENAME:
      ok = kiln_project_rename_class (self, job->name, job->target, &job->n_images, &error);
      break;
    case KILN_CLASS_EDIT_MERGE:
      ok = kiln_project_merge_class (self, job->name, job->target, &job->n_images, &error);
      break;
    case KILN_CLASS_EDIT_DROP:
      ok = kiln_project_drop_class (self, job->name, &job->n_images, &error);
      break;
    case KILN_CLASS_EDIT_RESTORE:
      ok = kiln_project_restore_class (self, job->name, &job->n_images, &error);
      break;
    }
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
kiln_project_edit_class_async (KilnProject          *self,
                               KilnClassEdit         edit,
                               const char           *name,
                               const char           *target,
                               GCancellable         *cancellable,
                               GAsyncReadyCallback   callback,
                               gpointer              user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  EditJob *job = g_new0 (EditJob, 1);

  g_return_if_fail (KILN_IS_PROJECT (self));
  g_return_if_fail (name != NULL);

  g_task_set_source_tag (task, kiln_project_edit_class_async);
  job->edit = edit;
  job->name = g_strdup (name);
  job->target = g_strdup (target);
  g_task_set_task_data (task, job, (GDestroyNotify) edit_job_free);
  g_task_run_in_thread (task, edit_thread);
}

gboolean
kiln_project_edit_class_finish (KilnProject   *self,
                                GAsyncResult  *result,
                                guint         *n_images,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_project_edit_class_async), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (n_images != NULL)
    *n_images = ((EditJob *) g_task_get_task_data (G_TASK (result)))->n_images;
  return TRUE;
}
