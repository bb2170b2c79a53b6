/* kiln-project-placeholders.c: the project's known placeholder images. */
#include "config.h"

#include "kiln-project-private.h"

void
kiln_placeholder_record_free (KilnPlaceholderRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->note);
  g_free (record);
}

/* Runs @sql in a transaction with ?1 the hash and, where the statement
 * has them, ?2 the note and ?3 the time; *changed: whether a row changed. */
static gboolean
change_placeholders (KilnProject  *self,
                     const char   *sql,
                     guint64       phash,
                     const char   *note,
                     gboolean     *changed,
                     GError      **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  if (!kiln_project_begin (self, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self, sql, error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) phash);
      if (sqlite3_bind_parameter_count (stmt) >= 3)
        {
          kiln_project_bind_text (stmt, 2, note);
          sqlite3_bind_int64 (stmt, 3, kiln_project_now_seconds ());
        }
      ok = kiln_project_sql_step_done (self, stmt, error);
      if (changed)
        *changed = ok && sqlite3_changes (self->db) > 0;
    }
  return kiln_project_finish (self, ok, error);
}

gboolean
kiln_project_add_placeholder (KilnProject  *self,
                              guint64       phash,
                              const char   *note,
                              GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  return change_placeholders (self, "INSERT OR IGNORE INTO placeholders (phash, note, added) VALUES (?1, ?2, ?3)",
                              phash, note, NULL, error);
}

gboolean
kiln_project_remove_placeholder (KilnProject  *self,
                                 guint64       phash,
                                 gboolean     *removed,
                                 GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  return change_placeholders (self, "DELETE FROM placeholders WHERE phash = ?1", phash, NULL, removed, error);
}

GPtrArray *
kiln_project_list_placeholders (KilnProject  *self,
                                GError      **error)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_placeholder_record_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "SELECT phash, note, added FROM placeholders ORDER BY added, rowid", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      KilnPlaceholderRecord *record = g_new0 (KilnPlaceholderRecord, 1);

      record->phash = (guint64) sqlite3_column_int64 (stmt, 0);
      record->note = kiln_project_column_text (stmt, 1);
      record->added = sqlite3_column_int64 (stmt, 2);
      g_ptr_array_add (records, record);
    }
  if (rc != SQLITE_DONE)
    kiln_project_sql_fail (self, error, "reading the placeholders");
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);
  return rc == SQLITE_DONE ? g_steal_pointer (&records) : NULL;
}
