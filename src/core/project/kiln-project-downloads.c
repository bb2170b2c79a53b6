/* kiln-project-downloads.c: the gatherer's queue and the outcome of every URL. */
#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-project-private.h"

void
kiln_download_record_free (KilnDownloadRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->url);
  g_free (record->wnid);
  g_free (record->detail);
  g_free (record->file);
  g_free (record);
}

static const char *const outcome_names[] = {
  [KILN_DOWNLOAD_PENDING] = "pending",
  [KILN_DOWNLOAD_KEPT] = "kept",
  [KILN_DOWNLOAD_REJECTED] = "rejected",
  [KILN_DOWNLOAD_RETRY] = "retry",
  [KILN_DOWNLOAD_FAILED] = "failed",
};

const char *
kiln_download_outcome_to_string (KilnDownloadOutcome outcome)
{
  g_return_val_if_fail (outcome < KILN_DOWNLOAD_N_OUTCOMES, NULL);
  return outcome_names[outcome];
}

gboolean
kiln_download_outcome_from_string (const char          *text,
                                   KilnDownloadOutcome *outcome)
{
  for (guint i = 0; i < G_N_ELEMENTS (outcome_names); i++)
    if (g_strcmp0 (text, outcome_names[i]) == 0)
      {
        *outcome = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
kiln_download_outcome_is_done (KilnDownloadOutcome outcome)
{
  return outcome == KILN_DOWNLOAD_KEPT
      || outcome == KILN_DOWNLOAD_REJECTED
      || outcome == KILN_DOWNLOAD_FAILED;
}

/* Downloads -------------------------------------------------------------- */

gboolean
kiln_project_queue_download (KilnProject  *self,
                             const char   *url,
                             const char   *wnid,
                             GError      **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self, "INSERT OR IGNORE INTO downloads (url, wnid, outcome, updated)"
                            " VALUES (?, ?, ?, ?)", error);
  ok = stmt != NULL;
  if (ok)
    {
      kiln_project_bind_text (stmt, 1, url);
      kiln_project_bind_text (stmt, 2, wnid);
      kiln_project_bind_text (stmt, 3, outcome_names[KILN_DOWNLOAD_PENDING]);
      sqlite3_bind_int64 (stmt, 4, kiln_project_now_seconds ());
      ok = kiln_project_sql_step_done (self, stmt, error);
    }
  return kiln_project_finish (self, ok, error);
}

gboolean
kiln_project_record_download (KilnProject          *self,
                              const char           *url,
                              const char           *wnid,
                              KilnDownloadOutcome   outcome,
                              int                   http_status,
                              const char           *detail,
                              const char           *file,
                              GError              **error)
{
  return kiln_project_record_download_attempts (self, url, wnid, outcome, http_status, detail, file,
                                                outcome == KILN_DOWNLOAD_PENDING ? 0 : 1, error);
}

gboolean
kiln_project_record_download_attempts (KilnProject          *self,
                                       const char           *url,
                                       const char           *wnid,
                                       KilnDownloadOutcome   outcome,
                                       int                   http_status,
                                       const char           *detail,
                                       const char           *file,
                                       guint                 attempts,
                                       GError              **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (outcome < KILN_DOWNLOAD_N_OUTCOMES, FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self,
                      "INSERT INTO downloads (url, wnid, outcome, http_status, detail, file,"
                      " attempts, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                      " ON CONFLICT (url) DO UPDATE SET wnid = coalesce (?2, wnid),"
                      " outcome = ?3, http_status = ?4, detail = ?5, file = ?6,"
                      " attempts = attempts + ?7, updated = ?8", error);
  ok = stmt != NULL;
  if (ok)
    {
      kiln_project_bind_text (stmt, 1, url);
      kiln_project_bind_text (stmt, 2, wnid);
      kiln_project_bind_text (stmt, 3, outcome_names[outcome]);
      sqlite3_bind_int (stmt, 4, http_status);
      kiln_project_bind_text (stmt, 5, detail);
      kiln_project_bind_text (stmt, 6, file);
      sqlite3_bind_int64 (stmt, 7, attempts);
      sqlite3_bind_int64 (stmt, 8, kiln_project_now_seconds ());
      ok = kiln_project_sql_step_done (self, stmt, error);
    }
  return kiln_project_finish (self, ok, error);
}

#define DOWNLOAD_COLUMNS "url, wnid, outcome, http_status, detail, file, attempts, updated"

static KilnDownloadRecord *
download_from_row (sqlite3_stmt *stmt)
{
  KilnDownloadRecord *record = g_new0 (KilnDownloadRecord, 1);

  record->url = kiln_project_column_text (stmt, 0);
  record->wnid = kiln_project_column_text (stmt, 1);
  if (!kiln_download_outcome_from_string ((const char *) sqlite3_column_text (stmt, 2),
                                          &record->outcome))
    record->outcome = KILN_DOWNLOAD_PENDING;
  record->http_status = sqlite3_column_int (stmt, 3);
  record->detail = kiln_project_column_text (stmt, 4);
  record->file = kiln_project_column_text (stmt, 5);
  record->attempts = sqlite3_column_int (stmt, 6);
  record->updated = sqlite3_column_int64 (stmt, 7);
  return record;
}

KilnDownloadRecord *
kiln_project_get_download (KilnProject  *self,
                           const char   *url,
                           GError      **error)
{
  KilnDownloadRecord *record = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  g_return_val_if_fail (url != NULL, NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "SELECT " DOWNLOAD_COLUMNS " FROM downloads WHERE url = ?", error);
  if (stmt != NULL)
    {
      kiln_project_bind_text (stmt, 1, url);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        record = download_from_row (stmt);
      else if (rc != SQLITE_DONE)
        kiln_project_sql_fail (self, error, "reading a download");
      sqlite3_reset (stmt);
    }
  g_rec_mutex_unlock (&self->lock);
  return record;
}

gboolean
kiln_project_download_is_done (KilnProject  *self,
                               const char   *url,
                               GError      **error)
{
  g_autoptr(KilnDownloadRecord) record = kiln_project_get_download (self, url, error);

  return record != NULL && kiln_download_outcome_is_done (record->outcome);
}

GHashTable *
kiln_project_get_done_urls (KilnProject  *self,
                            const char   *wnid,
                            GError      **error)
{
  g_autoptr(GHashTable) done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *stmt;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self,
                      "SELECT url FROM downloads WHERE (?1 IS NULL OR wnid = ?1)"
                      " AND outcome IN ('kept', 'rejected', 'failed')", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  kiln_project_bind_text (stmt, 1, wnid);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_add (done, kiln_project_column_text (stmt, 0));
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);
  return g_steal_pointer (&done);
}

static GPtrArray *
list_downloads (KilnProject *self, const char *sql, const char *wnid, gint64 limit, GError **error)
{
  g_autoptr(GPtrArray) records =
    g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_download_record_free);
  sqlite3_stmt *stmt;

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, sql, error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  kiln_project_bind_text (stmt, 1, wnid);
  sqlite3_bind_int64 (stmt, 2, limit);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (records, download_from_row (stmt));
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);
  return g_steal_pointer (&records);
}

GPtrArray *
kiln_project_list_downloads (KilnProject  *self,
                             const char   *wnid,
                             GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  return list_downloads (self, "SELECT " DOWNLOAD_COLUMNS " FROM downloads"
                               " WHERE ?1 IS NULL OR wnid = ?1 ORDER BY url LIMIT ?2", wnid, -1, error);
}

GPtrArray *
kiln_project_list_failed_downloads (KilnProject  *self,
                                    const char   *wnid,
                                    guint         max_records,
                                    GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  return list_downloads (self, "SELECT " DOWNLOAD_COLUMNS " FROM downloads"
                               " WHERE (?1 IS NULL OR wnid = ?1) AND outcome IN ('rejected', 'failed')"
                               " ORDER BY updated DESC, url LIMIT ?2",
                         wnid, max_records > 0 ? (gint64) max_records : -1, error);
}

gboolean
kiln_project_count_downloads (KilnProject  *self,
                              const char   *wnid,
                              gint64       *counts,
                              GError      **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (counts != NULL, FALSE);

  memset (counts, 0, sizeof (gint64) * KILN_DOWNLOAD_N_OUTCOMES);
  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "SELECT outcome, count(*) FROM downloads"
                            " WHERE ?1 IS NULL OR wnid = ?1 GROUP BY outcome", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  kiln_project_bind_text (stmt, 1, wnid);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      KilnDownloadOutcome outcome;

      if (kiln_download_outcome_from_string ((const char *) sqlite3_column_text (stmt, 0),
                                             &outcome))
        counts[outcome] = sqlite3_column_int64 (stmt, 1);
    }
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);
  return TRUE;
}
