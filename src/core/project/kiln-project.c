#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-labels.h"
#include "kiln-project.h"
#include "kiln-project-private.h"


G_DEFINE_FINAL_TYPE (KilnProject, kiln_project, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Each entry moves the schema from version i to i + 1. Never edit a
 * released entry: add a new one. */
static const char *const migrations[] = {
  /* 0 → 1 */
  "CREATE TABLE classes ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE);"
  "CREATE TABLE images ("
  "  id INTEGER PRIMARY KEY,"
  "  path TEXT NOT NULL UNIQUE,"
  "  original_path TEXT,"
  "  class_id INTEGER REFERENCES classes (id),"
  "  status INTEGER NOT NULL DEFAULT 0,"
  "  discard_reason TEXT,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  width INTEGER NOT NULL DEFAULT 0,"
  "  height INTEGER NOT NULL DEFAULT 0,"
  "  sha256 TEXT,"
  "  pixel_hash TEXT,"
  "  phash INTEGER,"
  "  source_url TEXT,"
  "  http_status INTEGER NOT NULL DEFAULT 0,"
  "  added INTEGER NOT NULL,"
  "  updated INTEGER NOT NULL);"
  "CREATE INDEX images_class ON images (class_id);"
  "CREATE INDEX images_sha256 ON images (sha256);"
  "CREATE INDEX images_source_url ON images (source_url);"
  "CREATE TABLE flags ("
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  reason TEXT NOT NULL,"
  "  detail TEXT,"
  "  PRIMARY KEY (image_id, reason));"
  "CREATE INDEX flags_reason ON flags (reason);"
  "CREATE TABLE split_info ("
  "  name TEXT PRIMARY KEY,"
  "  seed INTEGER NOT NULL,"
  "  created INTEGER NOT NULL);"
  "CREATE TABLE splits ("
  "  name TEXT NOT NULL REFERENCES split_info (name) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  subset TEXT NOT NULL,"
  "  PRIMARY KEY (name, image_id));"
  "CREATE TABLE downloads ("
  "  url TEXT PRIMARY KEY,"
  "  wnid TEXT,"
  "  outcome TEXT NOT NULL,"
  "  http_status INTEGER NOT NULL DEFAULT 0,"
  "  detail TEXT,"
  "  file TEXT,"
  "  attempts INTEGER NOT NULL DEFAULT 0,"
  "  updated INTEGER NOT NULL);"
  "CREATE INDEX downloads_wnid ON downloads (wnid);"
  /* File moves that were recorded but maybe not done (crash journal). */
  "CREATE TABLE pending_moves ("
  "  image_id INTEGER PRIMARY KEY,"
  "  src TEXT NOT NULL,"
  "  dst TEXT NOT NULL);",
  /* 1 → 2: the project's known placeholder images (64-bit hashes stored
   * as SQLite's signed integers). */
  "CREATE TABLE placeholders ("
  "  phash INTEGER PRIMARY KEY,"
  "  note TEXT,"
  "  added INTEGER NOT NULL);",
  /* 2 → 3: syncing a folder asks "path = ? OR original_path = ?" per
   * file; without this index that scanned the table each time (minutes
   * for the demo's 70,000 images). */
  "CREATE INDEX IF NOT EXISTS images_original_path ON images (original_path);",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == KILN_PROJECT_SCHEMA_VERSION);

static const char *const subfolders[] = { "images", "discarded", "cache", "runs" };

#define STORE_NAME "kiln.db"
#define IMAGE_COLUMNS \
  "i.id, i.path, i.original_path, c.name, i.status, i.discard_reason, i.size," \
  " i.width, i.height, i.sha256, i.pixel_hash, i.phash, i.source_url, i.http_status"
#define IMAGE_FROM " FROM images i LEFT JOIN classes c ON c.id = i.class_id"

/* SQLite plumbing -------------------------------------------------------- */

gboolean
kiln_project_sql_fail (KilnProject  *self,
          GError      **error,
          const char   *what)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: %s: %s",
               self->db_path, what, sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
sql_exec (KilnProject  *self,
          const char   *sql,
          GError      **error)
{
  char *message = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: %s", self->db_path,
                   message ? message : sqlite3_errmsg (self->db));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

/* Prepared statements are cached for the life of the connection; the
 * caller holds the lock and gets the statement reset and unbound. */
sqlite3_stmt *
kiln_project_sql_prepare (KilnProject  *self,
             const char   *sql,
             GError      **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, sql);

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      kiln_project_sql_fail (self, error, "preparing a query");
      return NULL;
    }
  g_hash_table_insert (self->statements, (char *) sql, stmt);
  return stmt;
}

/* Runs a statement that returns no rows. */
gboolean
kiln_project_sql_step_done (KilnProject   *self,
               sqlite3_stmt  *stmt,
               GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return kiln_project_sql_fail (self, error, "writing");
  return TRUE;
}

void
kiln_project_bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

char *
kiln_project_column_text (sqlite3_stmt *stmt,
             int           index)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

gint64
kiln_project_now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Transactions ----------------------------------------------------------- */

gboolean
kiln_project_begin (KilnProject  *self,
       GError      **error)
{
  g_autofree char *sql = NULL;

  g_rec_mutex_lock (&self->lock);
  if (self->depth == 0)
    sql = g_strdup ("BEGIN IMMEDIATE");
  else
    sql = g_strdup_printf ("SAVEPOINT kiln_%u", self->depth);
  if (!sql_exec (self, sql, error))
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  self->depth++;
  return TRUE;
}

static gboolean
commit (KilnProject  *self,
        GError      **error)
{
  g_autofree char *sql = NULL;
  gboolean ok;

  g_assert (self->depth > 0);
  if (self->depth == 1)
    sql = g_strdup ("COMMIT");
  else
    sql = g_strdup_printf ("RELEASE kiln_%u", self->depth - 1);
  ok = sql_exec (self, sql, error);
  if (!ok && self->depth == 1)
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
  self->depth--;
  g_rec_mutex_unlock (&self->lock);
  return ok;
}

static void
rollback (KilnProject *self)
{
  g_autofree char *sql = NULL;

  g_assert (self->depth > 0);
  if (self->depth == 1)
    sql = g_strdup ("ROLLBACK");
  else
    sql = g_strdup_printf ("ROLLBACK TO kiln_%u; RELEASE kiln_%u",
                           self->depth - 1, self->depth - 1);
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    g_warning ("%s: rolling back failed: %s", self->db_path, sqlite3_errmsg (self->db));
  self->depth--;
  g_rec_mutex_unlock (&self->lock);
}

gboolean
kiln_project_transaction (KilnProject                *self,
                          KilnProjectTransactionFunc  func,
                          gpointer                    user_data,
                          GError                    **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  if (!func (self, user_data, error))
    {
      rollback (self);
      return FALSE;
    }
  return commit (self, error);
}

/* Ends a transaction opened with kiln_project_begin(): commits when @ok, else rolls
 * back. Returns @ok && the commit succeeded. */
gboolean
kiln_project_finish (KilnProject  *self,
        gboolean      ok,
        GError      **error)
{
  if (!ok)
    {
      rollback (self);
      return FALSE;
    }
  return commit (self, error);
}

/* GObject ----------------------------------------------------------------- */

static void
kiln_project_finalize (GObject *object)
{
  KilnProject *self = KILN_PROJECT (object);

  g_clear_pointer (&self->statements, g_hash_table_unref);
  if (self->db != NULL)
    sqlite3_close (self->db);
  g_rec_mutex_clear (&self->lock);
  g_free (self->path);
  g_free (self->db_path);

  G_OBJECT_CLASS (kiln_project_parent_class)->finalize (object);
}

static void
kiln_project_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  KilnProject *self = KILN_PROJECT (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_project_class_init (KilnProjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_project_finalize;
  object_class->get_property = kiln_project_get_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
kiln_project_init (KilnProject *self)
{
  g_rec_mutex_init (&self->lock);
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            finalize_statement);
}

/* Opening ---------------------------------------------------------------- */

static int
read_user_version (KilnProject *self)
{
  sqlite3_stmt *stmt = NULL;
  int version = -1;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return version;
}

static gboolean
migrate (KilnProject  *self,
         GError      **error)
{
  int version;

  if (!kiln_project_begin (self, error))
    return FALSE;
  version = read_user_version (self);
  if (version < 0)
    return kiln_project_finish (self, kiln_project_sql_fail (self, error, "reading the schema version"), error);
  if (version > KILN_PROJECT_SCHEMA_VERSION)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: the store has schema version %d but this Kiln knows up to %d; "
                   "open the project with a newer Kiln",
                   self->db_path, version, KILN_PROJECT_SCHEMA_VERSION);
      return kiln_project_finish (self, FALSE, error);
    }
  /* Each step and its version bump commit together (user_version is part
   * of the transaction). */
  for (; version < KILN_PROJECT_SCHEMA_VERSION; version++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);

      if (!sql_exec (self, migrations[version], error) || !sql_exec (self, bump, error))
        {
          g_prefix_error (error, "migrating the store to version %d: ", version + 1);
          return kiln_project_finish (self, FALSE, error);
        }
    }
  return kiln_project_finish (self, TRUE, error);
}

gboolean
kiln_project_exists (const char *path)
{
  g_autofree char *store = g_build_filename (path, STORE_NAME, NULL);

  g_return_val_if_fail (path != NULL, FALSE);
  return g_file_test (store, G_FILE_TEST_IS_REGULAR);
}

KilnProject *
kiln_project_open (const char  *path,
                   GError     **error)
{
  g_autoptr(KilnProject) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (KILN_TYPE_PROJECT, NULL);
  self->path = g_canonicalize_filename (path, NULL);
  self->db_path = g_build_filename (self->path, STORE_NAME, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (subfolders); i++)
    {
      g_autofree char *dir = g_build_filename (self->path, subfolders[i], NULL);

      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, KILN_ERROR, KILN_ERROR_IO,
                       "Could not create the project folder %s: %s; check the permissions",
                       dir, g_strerror (saved));
          return NULL;
        }
    }

  if (sqlite3_open_v2 (self->db_path, &self->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                       NULL) != SQLITE_OK)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not open the project store %s: %s",
                   self->db_path, self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return NULL;
    }
  sqlite3_busy_timeout (self->db, 5000);
  /* WAL with synchronous=NORMAL survives a killed process without losing a
   * committed transaction; only a power cut may lose the last ones. */
  if (!sql_exec (self, "PRAGMA journal_mode = WAL", error)
      || !sql_exec (self, "PRAGMA synchronous = NORMAL", error)
      || !sql_exec (self, "PRAGMA foreign_keys = ON", error))
    {
      g_prefix_error (error, "Could not configure the project store: ");
      return NULL;
    }
  /* Anything that is not SQLite (a text file named kiln.db) fails here. */
  if (!migrate (self, error) || !kiln_project_replay_pending_moves (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

const char *
kiln_project_get_path (KilnProject *self)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  return self->path;
}

int
kiln_project_get_schema_version (KilnProject *self)
{
  int version;

  g_return_val_if_fail (KILN_IS_PROJECT (self), -1);
  g_rec_mutex_lock (&self->lock);
  version = read_user_version (self);
  g_rec_mutex_unlock (&self->lock);
  return version;
}

char *
kiln_project_build_path (KilnProject *self,
                         const char  *relative)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  g_return_val_if_fail (relative != NULL, NULL);
  return g_build_filename (self->path, relative, NULL);
}

/* Classes ---------------------------------------------------------------- */

gboolean
kiln_project_ensure_class (KilnProject  *self,
                           const char   *name,
                           gint64       *id,
                           GError      **error)
{
  sqlite3_stmt *stmt;

  *id = 0;
  if (name == NULL)
    return TRUE;
  if (*name == '\0' || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "A class name must be non-empty UTF-8 text");
      return FALSE;
    }
  stmt = kiln_project_sql_prepare (self, "INSERT OR IGNORE INTO classes (name) VALUES (?)", error);
  if (stmt == NULL)
    return FALSE;
  kiln_project_bind_text (stmt, 1, name);
  if (!kiln_project_sql_step_done (self, stmt, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self, "SELECT id FROM classes WHERE name = ?", error);
  if (stmt == NULL)
    return FALSE;
  kiln_project_bind_text (stmt, 1, name);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return kiln_project_sql_fail (self, error, "reading a class");
  *id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
kiln_project_add_class (KilnProject  *self,
                        const char   *name,
                        GError      **error)
{
  gint64 id;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  return kiln_project_finish (self, kiln_project_ensure_class (self, name, &id, error), error);
}

static int
compare_class_names (gconstpointer a,
                     gconstpointer b)
{
  return kiln_labels_compare_classes (*(const char **) a, *(const char **) b);
}

GStrv
kiln_project_list_classes (KilnProject  *self,
                           GError      **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "SELECT name FROM classes", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (names, kiln_project_column_text (stmt, 0));
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);

  g_ptr_array_sort (names, compare_class_names);
  g_ptr_array_add (names, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* Images ----------------------------------------------------------------- */

static KilnImageRecord *
image_from_row (sqlite3_stmt *stmt)
{
  KilnImageRecord *record = g_new0 (KilnImageRecord, 1);

  record->id = sqlite3_column_int64 (stmt, 0);
  record->path = kiln_project_column_text (stmt, 1);
  record->original_path = kiln_project_column_text (stmt, 2);
  record->class_name = kiln_project_column_text (stmt, 3);
  record->status = sqlite3_column_int (stmt, 4);
  record->discard_reason = kiln_project_column_text (stmt, 5);
  record->size = sqlite3_column_int64 (stmt, 6);
  record->width = sqlite3_column_int (stmt, 7);
  record->height = sqlite3_column_int (stmt, 8);
  record->sha256 = kiln_project_column_text (stmt, 9);
  record->pixel_hash = kiln_project_column_text (stmt, 10);
  record->has_phash = sqlite3_column_type (stmt, 11) != SQLITE_NULL;
  record->phash = (guint64) sqlite3_column_int64 (stmt, 11);
  record->source_url = kiln_project_column_text (stmt, 12);
  record->http_status = sqlite3_column_int (stmt, 13);
  return record;
}

/* Binds the fields both INSERT and UPDATE write, from index 1. */
static void
bind_image_fields (sqlite3_stmt          *stmt,
                   const KilnImageRecord *record,
                   gint64                 class_id)
{
  kiln_project_bind_text (stmt, 1, record->path);
  if (class_id > 0)
    sqlite3_bind_int64 (stmt, 2, class_id);
  else
    sqlite3_bind_null (stmt, 2);
  sqlite3_bind_int64 (stmt, 3, record->size);
  sqlite3_bind_int (stmt, 4, record->width);
  sqlite3_bind_int (stmt, 5, record->height);
  kiln_project_bind_text (stmt, 6, record->sha256);
  kiln_project_bind_text (stmt, 7, record->pixel_hash);
  if (record->has_phash)
    sqlite3_bind_int64 (stmt, 8, (gint64) record->phash);
  else
    sqlite3_bind_null (stmt, 8);
  kiln_project_bind_text (stmt, 9, record->source_url);
  sqlite3_bind_int (stmt, 10, record->http_status);
  sqlite3_bind_int64 (stmt, 11, kiln_project_now_seconds ());
}

static gboolean
check_relative_path (const char  *path,
                     GError     **error)
{
  if (path == NULL || *path == '\0' || g_path_is_absolute (path)
      || g_str_has_prefix (path, "../") || strstr (path, "/../") != NULL
      || g_str_equal (path, "..") || g_str_has_suffix (path, "/.."))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a path inside the project; give it relative to the project folder",
                   path ? path : "(null)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_image_locked (KilnProject      *self,
                  KilnImageRecord  *record,
                  GError          **error)
{
  sqlite3_stmt *stmt;
  gint64 class_id;
  int rc;

  if (!check_relative_path (record->path, error)
      || !kiln_project_ensure_class (self, record->class_name, &class_id, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self,
                      "INSERT INTO images (path, class_id, size, width, height, sha256,"
                      " pixel_hash, phash, source_url, http_status, updated, added)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  bind_image_fields (stmt, record, class_id);
  sqlite3_bind_int64 (stmt, 12, kiln_project_now_seconds ());
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_CONSTRAINT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s: the project already has an image at “%s”", self->path, record->path);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return kiln_project_sql_fail (self, error, "adding an image");
  record->id = sqlite3_last_insert_rowid (self->db);
  record->status = KILN_IMAGE_KEPT;
  return TRUE;
}

gboolean
kiln_project_add_image (KilnProject      *self,
                        KilnImageRecord  *record,
                        GError          **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (record != NULL, FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  return kiln_project_finish (self, add_image_locked (self, record, error), error);
}

static gboolean
update_image_locked (KilnProject            *self,
                     const KilnImageRecord  *record,
                     GError                **error)
{
  sqlite3_stmt *stmt;
  gint64 class_id;

  if (!check_relative_path (record->path, error)
      || !kiln_project_ensure_class (self, record->class_name, &class_id, error))
    return FALSE;
  stmt = kiln_project_sql_prepare (self,
                      "UPDATE images SET path = ?, class_id = ?, size = ?, width = ?, height = ?,"
                      " sha256 = ?, pixel_hash = ?, phash = ?, source_url = ?, http_status = ?,"
                      " updated = ? WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  bind_image_fields (stmt, record, class_id);
  sqlite3_bind_int64 (stmt, 12, record->id);
  if (!kiln_project_sql_step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) != 1)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s: no image with id %" G_GINT64_FORMAT, self->path, record->id);
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_project_update_image (KilnProject            *self,
                           const KilnImageRecord  *record,
                           GError                **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (record != NULL, FALSE);

  if (!kiln_project_begin (self, error))
    return FALSE;
  return kiln_project_finish (self, update_image_locked (self, record, error), error);
}

static KilnImageRecord *
query_one_image (KilnProject  *self,
                 const char   *sql,
                 gint64        id,
                 const char   *path,
                 GError      **error)
{
  KilnImageRecord *record = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, sql, error);
  if (stmt != NULL)
    {
      if (path != NULL)
        kiln_project_bind_text (stmt, 1, path);
      else
        sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        record = image_from_row (stmt);
      else if (rc != SQLITE_DONE)
        kiln_project_sql_fail (self, error, "reading an image");
      else if (path == NULL)
        g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                     "%s: no image with id %" G_GINT64_FORMAT, self->path, id);
      sqlite3_reset (stmt);
    }
  g_rec_mutex_unlock (&self->lock);
  return record;
}

KilnImageRecord *
kiln_project_get_image (KilnProject  *self,
                        gint64        id,
                        GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  return query_one_image (self, "SELECT " IMAGE_COLUMNS IMAGE_FROM " WHERE i.id = ?",
                          id, NULL, error);
}

KilnImageRecord *
kiln_project_find_image (KilnProject  *self,
                         const char   *path,
                         GError      **error)
{
  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  return query_one_image (self, "SELECT " IMAGE_COLUMNS IMAGE_FROM " WHERE i.path = ?",
                          0, path, error);
}

GPtrArray *
kiln_project_list_images (KilnProject  *self,
                          const char   *class_name,
                          int           status,
                          GError      **error)
{
  g_autoptr(GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_image_record_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self,
                      "SELECT " IMAGE_COLUMNS IMAGE_FROM
                      " WHERE (?1 IS NULL OR c.name = ?1) AND (?2 < 0 OR i.status = ?2)"
                      " ORDER BY i.id", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  kiln_project_bind_text (stmt, 1, class_name);
  sqlite3_bind_int (stmt, 2, status);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (images, image_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      kiln_project_sql_fail (self, error, "listing images");
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  g_rec_mutex_unlock (&self->lock);
  return g_steal_pointer (&images);
}

gint64
kiln_project_count_images (KilnProject  *self,
                           int           status,
                           GError      **error)
{
  sqlite3_stmt *stmt;
  gint64 count = -1;

  g_return_val_if_fail (KILN_IS_PROJECT (self), -1);

  g_rec_mutex_lock (&self->lock);
  stmt = kiln_project_sql_prepare (self, "SELECT count(*) FROM images WHERE ?1 < 0 OR status = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int (stmt, 1, status);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        count = sqlite3_column_int64 (stmt, 0);
      else
        kiln_project_sql_fail (self, error, "counting images");
      sqlite3_reset (stmt);
    }
  g_rec_mutex_unlock (&self->lock);
  return count;
}

typedef struct {
  const KilnLabelSet *set;
  const char         *prefix;
  guint               added;
} LabelSetImport;

static gboolean
add_label_set_locked (KilnProject  *self,
                      gpointer      user_data,
                      GError      **error)
{
  LabelSetImport *import = user_data;
  const KilnLabelSet *set = import->set;
  sqlite3_stmt *stmt;

  for (guint i = 0; i < set->paths->len; i++)
    {
      int label = g_array_index (set->labels, int, i);
      g_autofree char *path = import->prefix && *import->prefix
                              ? g_strconcat (import->prefix, "/", set->paths->pdata[i], NULL)
                              : g_strdup (set->paths->pdata[i]);
      g_autoptr(KilnImageRecord) record = NULL;
      gboolean known;

      stmt = kiln_project_sql_prepare (self, "SELECT 1 FROM images WHERE path = ? OR original_path = ?", error);
      if (stmt == NULL)
        return FALSE;
      kiln_project_bind_text (stmt, 1, path);
      kiln_project_bind_text (stmt, 2, path);
      known = sqlite3_step (stmt) == SQLITE_ROW;
      sqlite3_reset (stmt);
      if (known)
        continue;
      record = kiln_image_record_new (path, label >= 0 && (guint) label < set->classes->len
                                            ? set->classes->pdata[label] : NULL);
      if (!add_image_locked (self, record, error))
        return FALSE;
      import->added++;
    }
  return TRUE;
}

gboolean
kiln_project_add_label_set (KilnProject         *self,
                            const KilnLabelSet  *set,
                            const char          *prefix,
                            guint               *n_added,
                            GError             **error)
{
  LabelSetImport import = { set, prefix, 0 };

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (set != NULL, FALSE);

  if (!kiln_project_transaction (self, add_label_set_locked, &import, error))
    return FALSE;
  if (n_added != NULL)
    *n_added = import.added;
  return TRUE;
}
