/* kiln-project-curation.c: flags, discard, restore and relabel. Each moves
 * the file and records it in one journaled step, so a crash in between is
 * finished by the next open (kiln_project_replay_pending_moves). */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-project-private.h"

/* Flags ------------------------------------------------------------------ */

gboolean
kiln_project_set_flag (KilnProject  *self,
                       gint64        image_id,
                       const char   *reason,
                       const char   *detail,
                       GError      **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (reason != NULL, FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self,
                      "INSERT INTO flags (image_id, reason, detail) VALUES (?, ?, ?)"
                      " ON CONFLICT (image_id, reason) DO UPDATE SET detail = excluded.detail",
                      error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, image_id);
      kiln_project_bind_text (stmt, 2, reason);
      kiln_project_bind_text (stmt, 3, detail);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          ok = FALSE;
          if (sqlite3_extended_errcode (self->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                         "%s: no image with id %" G_GINT64_FORMAT " to flag",
                         self->path, image_id);
          else
            kiln_project_sql_fail (self, error, "setting a flag");
        }
      sqlite3_reset (stmt);
    }
  return kiln_project_finish (self, ok, error);
}

gboolean
kiln_project_clear_flags (KilnProject  *self,
                          gint64        image_id,
                          const char   *reason,
                          GError      **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self, "DELETE FROM flags WHERE image_id = ?1 AND (?2 IS NULL OR reason = ?2)",
                      error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, image_id);
      kiln_project_bind_text (stmt, 2, reason);
      ok = kiln_project_sql_step_done (self, stmt, error);
    }
  return kiln_project_finish (self, ok, error);
}

GPtrArray *
kiln_project_list_flags (KilnProject  *self,
                         gint64        image_id,
                         GError      **error)
{
  g_autoptr(GPtrArray) flags = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);
  sqlite3_stmt *stmt;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self,
                      "SELECT image_id, reason, detail FROM flags"
                      " WHERE ?1 = 0 OR image_id = ?1 ORDER BY image_id, reason", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  sqlite3_bind_int64 (stmt, 1, image_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      KilnFlag *flag = g_new0 (KilnFlag, 1);

      flag->image_id = sqlite3_column_int64 (stmt, 0);
      flag->reason = kiln_project_column_text (stmt, 1);
      flag->detail = kiln_project_column_text (stmt, 2);
      g_ptr_array_add (flags, flag);
    }
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);
  return g_steal_pointer (&flags);
}

gboolean
kiln_project_delete_pending_move (KilnProject  *self,
                     gint64        image_id,
                     GError      **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "DELETE FROM pending_moves WHERE image_id = ?", error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, image_id);
      ok = kiln_project_sql_step_done (self, stmt, error);
    }
  g_rec_mutex_unlock (&self->lock);
  return ok;
}

static gboolean
make_parent (const char  *file,
             GError     **error)
{
  g_autofree char *parent = g_path_get_dirname (file);

  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create the folder %s: %s",
                   parent, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_project_move_file (const char  *src,
           const char  *dst,
           GError     **error)
{
  if (!make_parent (dst, error))
    return FALSE;
  if (g_file_test (dst, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO,
                   "Could not move %s to %s: the destination exists; move it away first",
                   src, dst);
      return FALSE;
    }
  if (g_rename (src, dst) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not move %s to %s: %s",
                   src, dst, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Finishes the moves a crash interrupted: the store already says where the
 * file belongs, so only the rename is left to do. */
gboolean
kiln_project_replay_pending_moves (KilnProject  *self,
                      GError      **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) srcs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) dsts = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "SELECT image_id, src, dst FROM pending_moves", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
      g_ptr_array_add (srcs, kiln_project_column_text (stmt, 1));
      g_ptr_array_add (dsts, kiln_project_column_text (stmt, 2));
    }
  sqlite3_reset (stmt);

  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *src = kiln_project_build_path (self, srcs->pdata[i]);
      g_autofree char *dst = kiln_project_build_path (self, dsts->pdata[i]);
      g_autoptr(GError) local_error = NULL;

      if (g_file_test (src, G_FILE_TEST_EXISTS) && !g_file_test (dst, G_FILE_TEST_EXISTS)
          && !kiln_project_move_file (src, dst, &local_error))
        g_warning ("%s", local_error->message);
      if (!kiln_project_delete_pending_move (self, g_array_index (ids, gint64, i), error))
        {
          g_rec_mutex_unlock (&self->lock);
          return FALSE;
        }
    }
  g_rec_mutex_unlock (&self->lock);
  return TRUE;
}

/* Discard and restore ---------------------------------------------------- */

static gboolean
check_reason (const char  *reason,
              GError     **error)
{
  if (reason == NULL || *reason == '\0' || strlen (reason) > 64)
    goto bad;
  for (const char *p = reason; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '_'))
      goto bad;
  return TRUE;

bad:
  g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
               "“%s” is not a discard reason: use lowercase letters, digits, '-' and '_'",
               reason ? reason : "(null)");
  return FALSE;
}

static gboolean
path_is_taken (KilnProject *self,
               const char  *relative)
{
  g_autofree char *absolute = kiln_project_build_path (self, relative);
  g_autoptr(KilnImageRecord) other = NULL;

  if (g_file_test (absolute, G_FILE_TEST_EXISTS))
    return TRUE;
  other = kiln_project_find_image (self, relative, NULL);
  return other != NULL;
}

/* @candidate, or @candidate with "-N" before the extension when that name
 * is taken on disk or in the store. */
char *
kiln_project_free_destination (KilnProject *self,
                  const char  *candidate)
{
  const char *slash = strrchr (candidate, '/');
  const char *dot = strrchr (candidate, '.');
  g_autofree char *stem = NULL;

  if (!path_is_taken (self, candidate))
    return g_strdup (candidate);
  if (dot == NULL || dot < slash)
    dot = candidate + strlen (candidate);
  stem = g_strndup (candidate, dot - candidate);
  for (guint n = 1;; n++)
    {
      g_autofree char *numbered = g_strdup_printf ("%s-%u%s", stem, n, dot);

      if (!path_is_taken (self, numbered))
        return g_steal_pointer (&numbered);
    }
}

/* discarded/<reason>/<the path below images/>, numbered when taken. */
char *
kiln_project_discard_destination (KilnProject *self,
                     const char  *path,
                     const char  *reason)
{
  const char *below = g_str_has_prefix (path, "images/") ? path + strlen ("images/") : path;
  g_autofree char *candidate = g_strdup_printf ("discarded/%s/%s", reason, below);

  return kiln_project_free_destination (self, candidate);
}

/* Removes empty folders from @relative's parent up to (not including)
 * @stop, so undoing a discard leaves no empty discarded/<reason>/. */
void
kiln_project_prune_empty_parents (KilnProject *self,
                     const char  *relative,
                     const char  *stop)
{
  g_autofree char *dir = g_path_get_dirname (relative);

  while (g_str_has_prefix (dir, stop) && !g_str_equal (dir, stop))
    {
      g_autofree char *absolute = kiln_project_build_path (self, dir);
      char *parent;

      if (g_rmdir (absolute) != 0)
        break;
      parent = g_path_get_dirname (dir);
      g_free (dir);
      dir = parent;
    }
}

/* Records the new location (and class @class_name) and the pending move in
 * one transaction, then renames, then clears the journal. A crash after the
 * commit is finished by kiln_project_replay_pending_moves(). */
static gboolean
relocate_image (KilnProject      *self,
                KilnImageRecord  *image,
                const char       *dst,
                KilnImageStatus   status,
                const char       *reason,
                const char       *original_path,
                const char       *class_name,
                GError          **error)
{
  gint64 class_id = 0;
  g_autofree char *src_abs = kiln_project_build_path (self, image->path);
  g_autofree char *dst_abs = kiln_project_build_path (self, dst);
  g_autoptr(GError) move_error = NULL;
  sqlite3_stmt *stmt;
  gboolean ok;

  if (!g_file_test (src_abs, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is missing; the store cannot move an image that is not there", src_abs);
      return FALSE;
    }

  if (!kiln_project_begin (self, error))
    return FALSE;
  ok = kiln_project_ensure_class (self, class_name, &class_id, error);
  stmt = ok ? kiln_project_sql_prepare (self,
                      "UPDATE images SET path = ?, status = ?, discard_reason = ?,"
                      " original_path = ?, updated = ?, class_id = ? WHERE id = ?", error) : NULL;
  ok = stmt != NULL;
  if (ok)
    {
      kiln_project_bind_text (stmt, 1, dst);
      sqlite3_bind_int (stmt, 2, status);
      kiln_project_bind_text (stmt, 3, reason);
      kiln_project_bind_text (stmt, 4, original_path);
      sqlite3_bind_int64 (stmt, 5, kiln_project_now_seconds ());
      if (class_id > 0)
        sqlite3_bind_int64 (stmt, 6, class_id);
      sqlite3_bind_int64 (stmt, 7, image->id);
      ok = kiln_project_sql_step_done (self, stmt, error);
    }
  if (ok)
    {
      stmt = kiln_project_sql_prepare (self, "INSERT OR REPLACE INTO pending_moves (image_id, src, dst)"
                                " VALUES (?, ?, ?)", error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, image->id);
          kiln_project_bind_text (stmt, 2, image->path);
          kiln_project_bind_text (stmt, 3, dst);
          ok = kiln_project_sql_step_done (self, stmt, error);
        }
    }
  /* Keep the lock over the rename so no thread sees the store and the
   * folder disagree. */
  g_rec_mutex_lock (&self->lock);
  if (!kiln_project_finish (self, ok, error))
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }

  if (!kiln_project_move_file (src_abs, dst_abs, &move_error))
    {
      /* Put the row back as it was; the file never moved. */
      if (kiln_project_begin (self, error))
        {
          stmt = kiln_project_sql_prepare (self,
                              "UPDATE images SET path = ?, status = ?, discard_reason = ?,"
                              " original_path = ?, class_id = (SELECT id FROM classes WHERE name = ?)"
                              " WHERE id = ?", error);
          ok = stmt != NULL;
          if (ok)
            {
              kiln_project_bind_text (stmt, 1, image->path);
              sqlite3_bind_int (stmt, 2, image->status);
              kiln_project_bind_text (stmt, 3, image->discard_reason);
              kiln_project_bind_text (stmt, 4, image->original_path);
              kiln_project_bind_text (stmt, 5, image->class_name);
              sqlite3_bind_int64 (stmt, 6, image->id);
              ok = kiln_project_sql_step_done (self, stmt, error);
            }
          if (kiln_project_finish (self, ok, error))
            kiln_project_delete_pending_move (self, image->id, NULL);
        }
      g_rec_mutex_unlock (&self->lock);
      g_clear_error (error);
      g_propagate_error (error, g_steal_pointer (&move_error));
      return FALSE;
    }
  ok = kiln_project_delete_pending_move (self, image->id, error);
  g_rec_mutex_unlock (&self->lock);
  return ok;
}

gboolean
kiln_project_discard_image (KilnProject  *self,
                            gint64        image_id,
                            const char   *reason,
                            GError      **error)
{
  g_autoptr(KilnImageRecord) image = NULL;
  g_autofree char *dst = NULL;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);

  if (!check_reason (reason, error))
    return FALSE;
  g_rec_mutex_lock (&self->lock);
  image = kiln_project_get_image (self, image_id, error);
  if (image == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (image->status == KILN_IMAGE_DISCARDED)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s is already discarded (%s); restore it first",
                   image->path, image->discard_reason);
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  dst = kiln_project_discard_destination (self, image->path, reason);
  ok = relocate_image (self, image, dst, KILN_IMAGE_DISCARDED, reason, image->path, image->class_name, error);
  g_rec_mutex_unlock (&self->lock);
  return ok;
}

gboolean
kiln_project_restore_image (KilnProject  *self,
                            gint64        image_id,
                            GError      **error)
{
  g_autoptr(KilnImageRecord) image = NULL;
  g_autofree char *stop = NULL;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);

  g_rec_mutex_lock (&self->lock);
  image = kiln_project_get_image (self, image_id, error);
  if (image == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (image->status != KILN_IMAGE_DISCARDED || image->original_path == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s is not discarded; there is nothing to restore", image->path);
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (path_is_taken (self, image->original_path))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO,
                   "Cannot restore %s: %s is taken by another file; move that away first",
                   image->path, image->original_path);
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  ok = relocate_image (self, image, image->original_path, KILN_IMAGE_KEPT, NULL, NULL, image->class_name,
                       error);
  if (ok)
    {
      stop = g_strdup ("discarded");
      kiln_project_prune_empty_parents (self, image->path, stop);
    }
  g_rec_mutex_unlock (&self->lock);
  return ok;
}

/* Relabel ----------------------------------------------------------------- */

/* A class becomes a folder under images/: one plain name, no hidden one. */
gboolean
kiln_project_check_class_folder (const char  *name,
                    GError     **error)
{
  if (name != NULL && *name != '\0' && *name != '.' && strchr (name, '/') == NULL
      && g_utf8_validate (name, -1, NULL))
    return TRUE;
  g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
               "“%s” cannot be a class: a class is a folder under images/, so its name must be "
               "non-empty, without '/' and not start with '.'", name ? name : "(null)");
  return FALSE;
}

gboolean
kiln_project_relabel_image (KilnProject  *self,
                            gint64        image_id,
                            const char   *class_name,
                            const char   *name,
                            GError      **error)
{
  g_autoptr(KilnImageRecord) image = NULL;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);

  if (!kiln_project_check_class_folder (class_name, error))
    return FALSE;
  if (name != NULL && (*name == '\0' || strchr (name, '/') != NULL || g_str_equal (name, ".")
                       || g_str_equal (name, "..")))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a file name", name);
      return FALSE;
    }
  g_rec_mutex_lock (&self->lock);
  image = kiln_project_get_image (self, image_id, error);
  if (image == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (image->status == KILN_IMAGE_DISCARDED)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s is discarded; restore it before giving it another class", image->path);
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  g_autofree char *base = g_path_get_basename (image->path);
  g_autofree char *candidate = g_strdup_printf ("images/%s/%s", class_name, name ? name : base);
  if (g_strcmp0 (image->class_name, class_name) == 0 && g_str_equal (candidate, image->path))
    {
      g_rec_mutex_unlock (&self->lock);
      return TRUE;
    }
  g_autofree char *dst = kiln_project_free_destination (self, candidate);
  /* The old class folder stays, even empty: the user may have made it. */
  ok = relocate_image (self, image, dst, KILN_IMAGE_KEPT, NULL, NULL, class_name, error);
  g_rec_mutex_unlock (&self->lock);
  return ok;
}
