/* kiln-project-splits.c: named splits of the kept images into subsets. */
#include "config.h"

#include "kiln-error.h"
#include "kiln-project-private.h"

/* Splits ----------------------------------------------------------------- */

gboolean
kiln_project_set_split (KilnProject         *self,
                        const char          *name,
                        guint64              seed,
                        const gint64        *image_ids,
                        const char * const  *subsets,
                        gsize                n,
                        GError             **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (image_ids != NULL && subsets != NULL), FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self, "DELETE FROM splits WHERE name = ?", error);
  ok = stmt != NULL;
  if (ok)
    {
      kiln_project_bind_text (stmt, 1, name);
      ok = kiln_project_sql_step_done (self, stmt, error);
    }
  if (ok)
    {
      stmt = kiln_project_sql_prepare (self, "INSERT OR REPLACE INTO split_info (name, seed, created)"
                                " VALUES (?, ?, ?)", error);
      ok = stmt != NULL;
      if (ok)
        {
          kiln_project_bind_text (stmt, 1, name);
          sqlite3_bind_int64 (stmt, 2, (gint64) seed);
          sqlite3_bind_int64 (stmt, 3, kiln_project_now_seconds ());
          ok = kiln_project_sql_step_done (self, stmt, error);
        }
    }
  for (gsize i = 0; ok && i < n; i++)
    {
      stmt = kiln_project_sql_prepare (self, "INSERT INTO splits (name, image_id, subset) VALUES (?, ?, ?)",
                          error);
      ok = stmt != NULL;
      if (ok)
        {
          kiln_project_bind_text (stmt, 1, name);
          sqlite3_bind_int64 (stmt, 2, image_ids[i]);
          kiln_project_bind_text (stmt, 3, subsets[i]);
          ok = kiln_project_sql_step_done (self, stmt, error);
        }
    }
  return kiln_project_finish (self, ok, error);
}

GHashTable *
kiln_project_get_split (KilnProject  *self,
                        const char   *name,
                        guint64      *seed,
                        GError      **error)
{
  g_autoptr(GHashTable) split = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "SELECT seed FROM split_info WHERE name = ?", error);
  if (stmt == NULL)
    goto out;
  kiln_project_bind_text (stmt, 1, name);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      sqlite3_reset (stmt);
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s: no split named “%s”; make one with kiln-cli split --project %s --name %s",
                   self->path, name, self->path, name);
      goto out;
    }
  if (seed != NULL)
    *seed = (guint64) sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  stmt = kiln_project_sql_prepare (self, "SELECT image_id, subset FROM splits WHERE name = ?", error);
  if (stmt == NULL)
    goto out;
  kiln_project_bind_text (stmt, 1, name);
  split = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_hash_table_insert (split, g_memdup2 (&id, sizeof id), kiln_project_column_text (stmt, 1));
    }
  sqlite3_reset (stmt);

out:
  g_rec_mutex_unlock (&self->lock);
  return g_steal_pointer (&split);
}

GStrv
kiln_project_list_splits (KilnProject  *self,
                          GError      **error)
{
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  sqlite3_stmt *stmt;
  GStrv result = NULL;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  /* Setting a split replaces its split_info row, so the newest rowid is
   * the split set last. */
  stmt = kiln_project_sql_prepare (self, "SELECT name FROM split_info ORDER BY rowid DESC", error);
  if (stmt != NULL)
    {
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          g_autofree char *name = kiln_project_column_text (stmt, 0);
          g_strv_builder_add (names, name);
        }
      sqlite3_reset (stmt);
      result = g_strv_builder_end (names);
    }
  g_rec_mutex_unlock (&self->lock);
  return result;
}
