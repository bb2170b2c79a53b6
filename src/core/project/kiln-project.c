#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-labels.h"
#include "kiln-project.h"

struct _KilnProject
{
  GObject     parent_instance;

  char       *path;
  char       *db_path;
  sqlite3    *db;
  GRecMutex   lock;
  GHashTable *statements;   /* SQL text → sqlite3_stmt */
  guint       depth;        /* open transactions (savepoints when > 1) */
};

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
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == KILN_PROJECT_SCHEMA_VERSION);

static const char *const subfolders[] = { "images", "discarded", "cache", "runs" };

#define STORE_NAME "kiln.db"
#define IMAGE_COLUMNS \
  "i.id, i.path, i.original_path, c.name, i.status, i.discard_reason, i.size," \
  " i.width, i.height, i.sha256, i.pixel_hash, i.phash, i.source_url, i.http_status"
#define IMAGE_FROM " FROM images i LEFT JOIN classes c ON c.id = i.class_id"

/* Records ---------------------------------------------------------------- */

KilnImageRecord *
kiln_image_record_new (const char *path,
                       const char *class_name)
{
  KilnImageRecord *record = g_new0 (KilnImageRecord, 1);

  record->path = g_strdup (path);
  record->class_name = g_strdup (class_name);
  return record;
}

KilnImageRecord *
kiln_image_record_copy (const KilnImageRecord *record)
{
  KilnImageRecord *copy = g_memdup2 (record, sizeof *record);

  copy->path = g_strdup (record->path);
  copy->original_path = g_strdup (record->original_path);
  copy->class_name = g_strdup (record->class_name);
  copy->discard_reason = g_strdup (record->discard_reason);
  copy->sha256 = g_strdup (record->sha256);
  copy->pixel_hash = g_strdup (record->pixel_hash);
  copy->source_url = g_strdup (record->source_url);
  return copy;
}

void
kiln_image_record_free (KilnImageRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->path);
  g_free (record->original_path);
  g_free (record->class_name);
  g_free (record->discard_reason);
  g_free (record->sha256);
  g_free (record->pixel_hash);
  g_free (record->source_url);
  g_free (record);
}

KilnFlag *
kiln_flag_new (gint64      image_id,
               const char *reason,
               const char *detail)
{
  KilnFlag *flag = g_new0 (KilnFlag, 1);

  flag->image_id = image_id;
  flag->reason = g_strdup (reason);
  flag->detail = g_strdup (detail);
  return flag;
}

void
kiln_flag_free (KilnFlag *flag)
{
  if (flag == NULL)
    return;
  g_free (flag->reason);
  g_free (flag->detail);
  g_free (flag);
}

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

/* SQLite plumbing -------------------------------------------------------- */

static gboolean
sql_fail (KilnProject  *self,
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
static sqlite3_stmt *
sql_prepare (KilnProject  *self,
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
      sql_fail (self, error, "preparing a query");
      return NULL;
    }
  g_hash_table_insert (self->statements, (char *) sql, stmt);
  return stmt;
}

/* Runs a statement that returns no rows. */
static gboolean
sql_step_done (KilnProject   *self,
               sqlite3_stmt  *stmt,
               GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return sql_fail (self, error, "writing");
  return TRUE;
}

static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

static char *
column_text (sqlite3_stmt *stmt,
             int           index)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Transactions ----------------------------------------------------------- */

static gboolean
begin (KilnProject  *self,
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

  if (!begin (self, error))
    return FALSE;
  if (!func (self, user_data, error))
    {
      rollback (self);
      return FALSE;
    }
  return commit (self, error);
}

/* Ends a transaction opened with begin(): commits when @ok, else rolls
 * back. Returns @ok && the commit succeeded. */
static gboolean
finish (KilnProject  *self,
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

  if (!begin (self, error))
    return FALSE;
  version = read_user_version (self);
  if (version < 0)
    return finish (self, sql_fail (self, error, "reading the schema version"), error);
  if (version > KILN_PROJECT_SCHEMA_VERSION)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: the store has schema version %d but this Kiln knows up to %d; "
                   "open the project with a newer Kiln",
                   self->db_path, version, KILN_PROJECT_SCHEMA_VERSION);
      return finish (self, FALSE, error);
    }
  /* Each step and its version bump commit together (user_version is part
   * of the transaction). */
  for (; version < KILN_PROJECT_SCHEMA_VERSION; version++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);

      if (!sql_exec (self, migrations[version], error) || !sql_exec (self, bump, error))
        {
          g_prefix_error (error, "migrating the store to version %d: ", version + 1);
          return finish (self, FALSE, error);
        }
    }
  return finish (self, TRUE, error);
}

static gboolean
delete_pending_move (KilnProject  *self,
                     gint64        image_id,
                     GError      **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_rec_mutex_lock (&self->lock);
  stmt = sql_prepare (self, "DELETE FROM pending_moves WHERE image_id = ?", error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, image_id);
      ok = sql_step_done (self, stmt, error);
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

static gboolean
move_file (const char  *src,
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
static gboolean
replay_pending_moves (KilnProject  *self,
                      GError      **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) srcs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) dsts = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;

  g_rec_mutex_lock (&self->lock);
  stmt = sql_prepare (self, "SELECT image_id, src, dst FROM pending_moves", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
      g_ptr_array_add (srcs, column_text (stmt, 1));
      g_ptr_array_add (dsts, column_text (stmt, 2));
    }
  sqlite3_reset (stmt);

  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *src = kiln_project_build_path (self, srcs->pdata[i]);
      g_autofree char *dst = kiln_project_build_path (self, dsts->pdata[i]);
      g_autoptr(GError) local_error = NULL;

      if (g_file_test (src, G_FILE_TEST_EXISTS) && !g_file_test (dst, G_FILE_TEST_EXISTS)
          && !move_file (src, dst, &local_error))
        g_warning ("%s", local_error->message);
      if (!delete_pending_move (self, g_array_index (ids, gint64, i), error))
        {
          g_rec_mutex_unlock (&self->lock);
          return FALSE;
        }
    }
  g_rec_mutex_unlock (&self->lock);
  return TRUE;
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
  if (!migrate (self, error) || !replay_pending_moves (self, error))
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

/* Returns the id of @name, creating the class; 0 for a NULL name. Called
 * with the lock held. */
static gboolean
ensure_class (KilnProject  *self,
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
  stmt = sql_prepare (self, "INSERT OR IGNORE INTO classes (name) VALUES (?)", error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, name);
  if (!sql_step_done (self, stmt, error))
    return FALSE;
  stmt = sql_prepare (self, "SELECT id FROM classes WHERE name = ?", error);
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, name);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return sql_fail (self, error, "reading a class");
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

  if (!begin (self, error))
    return FALSE;
  return finish (self, ensure_class (self, name, &id, error), error);
}

static int
compare_class_names (gconstpointer a,
                     gconstpointer b)
{
  return kiln_labels_compare_names (*(const char **) a, *(const char **) b);
}

GStrv
kiln_project_list_classes (KilnProject  *self,
                           GError      **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;

  g_return_val_if_fail (KILN_IS_PROJECT (self), NULL);

  g_rec_mutex_lock (&self->lock);
  stmt = sql_prepare (self, "SELECT name FROM classes", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (names, column_text (stmt, 0));
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
  record->path = column_text (stmt, 1);
  record->original_path = column_text (stmt, 2);
  record->class_name = column_text (stmt, 3);
  record->status = sqlite3_column_int (stmt, 4);
  record->discard_reason = column_text (stmt, 5);
  record->size = sqlite3_column_int64 (stmt, 6);
  record->width = sqlite3_column_int (stmt, 7);
  record->height = sqlite3_column_int (stmt, 8);
  record->sha256 = column_text (stmt, 9);
  record->pixel_hash = column_text (stmt, 10);
  record->has_phash = sqlite3_column_type (stmt, 11) != SQLITE_NULL;
  record->phash = (guint64) sqlite3_column_int64 (stmt, 11);
  record->source_url = column_text (stmt, 12);
  record->http_status = sqlite3_column_int (stmt, 13);
  return record;
}

/* Binds the fields both INSERT and UPDATE write, from index 1. */
static void
bind_image_fields (sqlite3_stmt          *stmt,
                   const KilnImageRecord *record,
                   gint64                 class_id)
{
  bind_text (stmt, 1, record->path);
  if (class_id > 0)
    sqlite3_bind_int64 (stmt, 2, class_id);
  else
    sqlite3_bind_null (stmt, 2);
  sqlite3_bind_int64 (stmt, 3, record->size);
  sqlite3_bind_int (stmt, 4, record->width);
  sqlite3_bind_int (stmt, 5, record->height);
  bind_text (stmt, 6, record->sha256);
  bind_text (stmt, 7, record->pixel_hash);
  if (record->has_phash)
    sqlite3_bind_int64 (stmt, 8, (gint64) record->phash);
  else
    sqlite3_bind_null (stmt, 8);
  bind_text (stmt, 9, record->source_url);
  sqlite3_bind_int (stmt, 10, record->http_status);
  sqlite3_bind_int64 (stmt, 11, now_seconds ());
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
      || !ensure_class (self, record->class_name, &class_id, error))
    return FALSE;
  stmt = sql_prepare (self,
                      "INSERT INTO images (path, class_id, size, width, height, sha256,"
                      " pixel_hash, phash, source_url, http_status, updated, added)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  bind_image_fields (stmt, record, class_id);
  sqlite3_bind_int64 (stmt, 12, now_seconds ());
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_CONSTRAINT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s: the project already has an image at “%s”", self->path, record->path);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return sql_fail (self, error, "adding an image");
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

  if (!begin (self, error))
    return FALSE;
  return finish (self, add_image_locked (self, record, error), error);
}

static gboolean
update_image_locked (KilnProject            *self,
                     const KilnImageRecord  *record,
                     GError                **error)
{
  sqlite3_stmt *stmt;
  gint64 class_id;

  if (!check_relative_path (record->path, error)
      || !ensure_class (self, record->class_name, &class_id, error))
    return FALSE;
  stmt = sql_prepare (self,
                      "UPDATE images SET path = ?, class_id = ?, size = ?, width = ?, height = ?,"
                      " sha256 = ?, pixel_hash = ?, phash = ?, source_url = ?, http_status = ?,"
                      " updated = ? WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  bind_image_fields (stmt, record, class_id);
  sqlite3_bind_int64 (stmt, 12, record->id);
  if (!sql_step_done (self, stmt, error))
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

  if (!begin (self, error))
    return FALSE;
  return finish (self, update_image_locked (self, record, error), error);
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
  stmt = sql_prepare (self, sql, error);
  if (stmt != NULL)
    {
      if (path != NULL)
        bind_text (stmt, 1, path);
      else
        sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        record = image_from_row (stmt);
      else if (rc != SQLITE_DONE)
        sql_fail (self, error, "reading an image");
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
  stmt = sql_prepare (self,
                      "SELECT " IMAGE_COLUMNS IMAGE_FROM
                      " WHERE (?1 IS NULL OR c.name = ?1) AND (?2 < 0 OR i.status = ?2)"
                      " ORDER BY i.id", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  bind_text (stmt, 1, class_name);
  sqlite3_bind_int (stmt, 2, status);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (images, image_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      sql_fail (self, error, "listing images");
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
  stmt = sql_prepare (self, "SELECT count(*) FROM images WHERE ?1 < 0 OR status = ?1", error);
  if (stmt != NULL)
    {
      sqlite3_bind_int (stmt, 1, status);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        count = sqlite3_column_int64 (stmt, 0);
      else
        sql_fail (self, error, "counting images");
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

      stmt = sql_prepare (self, "SELECT 1 FROM images WHERE path = ? OR original_path = ?", error);
      if (stmt == NULL)
        return FALSE;
      bind_text (stmt, 1, path);
      bind_text (stmt, 2, path);
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

  if (!begin (self, error))
    return FALSE;
  stmt = sql_prepare (self,
                      "INSERT INTO flags (image_id, reason, detail) VALUES (?, ?, ?)"
                      " ON CONFLICT (image_id, reason) DO UPDATE SET detail = excluded.detail",
                      error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, image_id);
      bind_text (stmt, 2, reason);
      bind_text (stmt, 3, detail);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          ok = FALSE;
          if (sqlite3_extended_errcode (self->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                         "%s: no image with id %" G_GINT64_FORMAT " to flag",
                         self->path, image_id);
          else
            sql_fail (self, error, "setting a flag");
        }
      sqlite3_reset (stmt);
    }
  return finish (self, ok, error);
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

  if (!begin (self, error))
    return FALSE;
  stmt = sql_prepare (self, "DELETE FROM flags WHERE image_id = ?1 AND (?2 IS NULL OR reason = ?2)",
                      error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, image_id);
      bind_text (stmt, 2, reason);
      ok = sql_step_done (self, stmt, error);
    }
  return finish (self, ok, error);
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
  stmt = sql_prepare (self,
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
      flag->reason = column_text (stmt, 1);
      flag->detail = column_text (stmt, 2);
      g_ptr_array_add (flags, flag);
    }
  sqlite3_reset (stmt);
  g_rec_mutex_unlock (&self->lock);
  return g_steal_pointer (&flags);
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

/* discarded/<reason>/<the path below images/>, with "-N" before the
 * extension when that name is taken. */
static char *
discard_destination (KilnProject *self,
                     const char  *path,
                     const char  *reason)
{
  const char *below = g_str_has_prefix (path, "images/") ? path + strlen ("images/") : path;
  g_autofree char *candidate = g_strdup_printf ("discarded/%s/%s", reason, below);
  const char *slash = strrchr (candidate, '/');
  const char *dot = strrchr (candidate, '.');
  g_autofree char *stem = NULL;
  const char *extension;

  if (!path_is_taken (self, candidate))
    return g_steal_pointer (&candidate);

  if (dot == NULL || dot < slash)
    dot = candidate + strlen (candidate);
  stem = g_strndup (candidate, dot - candidate);
  extension = dot;
  for (guint n = 1;; n++)
    {
      g_autofree char *numbered = g_strdup_printf ("%s-%u%s", stem, n, extension);

      if (!path_is_taken (self, numbered))
        return g_steal_pointer (&numbered);
    }
}

/* Removes empty folders from @relative's parent up to (not including)
 * @stop, so undoing a discard leaves no empty discarded/<reason>/. */
static void
prune_empty_parents (KilnProject *self,
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

/* Records the new location and the pending move in one transaction, then
 * renames, then clears the journal. A crash after the commit is finished
 * by replay_pending_moves(). */
static gboolean
relocate_image (KilnProject      *self,
                KilnImageRecord  *image,
                const char       *dst,
                KilnImageStatus   status,
                const char       *reason,
                const char       *original_path,
                GError          **error)
{
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

  if (!begin (self, error))
    return FALSE;
  stmt = sql_prepare (self,
                      "UPDATE images SET path = ?, status = ?, discard_reason = ?,"
                      " original_path = ?, updated = ? WHERE id = ?", error);
  ok = stmt != NULL;
  if (ok)
    {
      bind_text (stmt, 1, dst);
      sqlite3_bind_int (stmt, 2, status);
      bind_text (stmt, 3, reason);
      bind_text (stmt, 4, original_path);
      sqlite3_bind_int64 (stmt, 5, now_seconds ());
      sqlite3_bind_int64 (stmt, 6, image->id);
      ok = sql_step_done (self, stmt, error);
    }
  if (ok)
    {
      stmt = sql_prepare (self, "INSERT OR REPLACE INTO pending_moves (image_id, src, dst)"
                                " VALUES (?, ?, ?)", error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, image->id);
          bind_text (stmt, 2, image->path);
          bind_text (stmt, 3, dst);
          ok = sql_step_done (self, stmt, error);
        }
    }
  /* Keep the lock over the rename so no thread sees the store and the
   * folder disagree. */
  g_rec_mutex_lock (&self->lock);
  if (!finish (self, ok, error))
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }

  if (!move_file (src_abs, dst_abs, &move_error))
    {
      /* Put the row back as it was; the file never moved. */
      if (begin (self, error))
        {
          stmt = sql_prepare (self,
                              "UPDATE images SET path = ?, status = ?, discard_reason = ?,"
                              " original_path = ? WHERE id = ?", error);
          ok = stmt != NULL;
          if (ok)
            {
              bind_text (stmt, 1, image->path);
              sqlite3_bind_int (stmt, 2, image->status);
              bind_text (stmt, 3, image->discard_reason);
              bind_text (stmt, 4, image->original_path);
              sqlite3_bind_int64 (stmt, 5, image->id);
              ok = sql_step_done (self, stmt, error);
            }
          if (finish (self, ok, error))
            delete_pending_move (self, image->id, NULL);
        }
      g_rec_mutex_unlock (&self->lock);
      g_clear_error (error);
      g_propagate_error (error, g_steal_pointer (&move_error));
      return FALSE;
    }
  ok = delete_pending_move (self, image->id, error);
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
  dst = discard_destination (self, image->path, reason);
  ok = relocate_image (self, image, dst, KILN_IMAGE_DISCARDED, reason, image->path, error);
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
  ok = relocate_image (self, image, image->original_path, KILN_IMAGE_KEPT, NULL, NULL, error);
  if (ok)
    {
      stop = g_strdup ("discarded");
      prune_empty_parents (self, image->path, stop);
    }
  g_rec_mutex_unlock (&self->lock);
  return ok;
}

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

  if (!begin (self, error))
    return FALSE;
  stmt = sql_prepare (self, "DELETE FROM splits WHERE name = ?", error);
  ok = stmt != NULL;
  if (ok)
    {
      bind_text (stmt, 1, name);
      ok = sql_step_done (self, stmt, error);
    }
  if (ok)
    {
      stmt = sql_prepare (self, "INSERT OR REPLACE INTO split_info (name, seed, created)"
                                " VALUES (?, ?, ?)", error);
      ok = stmt != NULL;
      if (ok)
        {
          bind_text (stmt, 1, name);
          sqlite3_bind_int64 (stmt, 2, (gint64) seed);
          sqlite3_bind_int64 (stmt, 3, now_seconds ());
          ok = sql_step_done (self, stmt, error);
        }
    }
  for (gsize i = 0; ok && i < n; i++)
    {
      stmt = sql_prepare (self, "INSERT INTO splits (name, image_id, subset) VALUES (?, ?, ?)",
                          error);
      ok = stmt != NULL;
      if (ok)
        {
          bind_text (stmt, 1, name);
          sqlite3_bind_int64 (stmt, 2, image_ids[i]);
          bind_text (stmt, 3, subsets[i]);
          ok = sql_step_done (self, stmt, error);
        }
    }
  return finish (self, ok, error);
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
  stmt = sql_prepare (self, "SELECT seed FROM split_info WHERE name = ?", error);
  if (stmt == NULL)
    goto out;
  bind_text (stmt, 1, name);
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

  stmt = sql_prepare (self, "SELECT image_id, subset FROM splits WHERE name = ?", error);
  if (stmt == NULL)
    goto out;
  bind_text (stmt, 1, name);
  split = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_hash_table_insert (split, g_memdup2 (&id, sizeof id), column_text (stmt, 1));
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
  stmt = sql_prepare (self, "SELECT name FROM split_info ORDER BY rowid DESC", error);
  if (stmt != NULL)
    {
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          g_autofree char *name = column_text (stmt, 0);
          g_strv_builder_add (names, name);
        }
      sqlite3_reset (stmt);
      result = g_strv_builder_end (names);
    }
  g_rec_mutex_unlock (&self->lock);
  return result;
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

  if (!begin (self, error))
    return FALSE;
  stmt = sql_prepare (self, "INSERT OR IGNORE INTO downloads (url, wnid, outcome, updated)"
                            " VALUES (?, ?, ?, ?)", error);
  ok = stmt != NULL;
  if (ok)
    {
      bind_text (stmt, 1, url);
      bind_text (stmt, 2, wnid);
      bind_text (stmt, 3, outcome_names[KILN_DOWNLOAD_PENDING]);
      sqlite3_bind_int64 (stmt, 4, now_seconds ());
      ok = sql_step_done (self, stmt, error);
    }
  return finish (self, ok, error);
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
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (outcome < KILN_DOWNLOAD_N_OUTCOMES, FALSE);

  if (!begin (self, error))
    return FALSE;
  stmt = sql_prepare (self,
                      "INSERT INTO downloads (url, wnid, outcome, http_status, detail, file,"
                      " attempts, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                      " ON CONFLICT (url) DO UPDATE SET wnid = coalesce (?2, wnid),"
                      " outcome = ?3, http_status = ?4, detail = ?5, file = ?6,"
                      " attempts = attempts + ?7, updated = ?8", error);
  ok = stmt != NULL;
  if (ok)
    {
      bind_text (stmt, 1, url);
      bind_text (stmt, 2, wnid);
      bind_text (stmt, 3, outcome_names[outcome]);
      sqlite3_bind_int (stmt, 4, http_status);
      bind_text (stmt, 5, detail);
      bind_text (stmt, 6, file);
      sqlite3_bind_int (stmt, 7, outcome == KILN_DOWNLOAD_PENDING ? 0 : 1);
      sqlite3_bind_int64 (stmt, 8, now_seconds ());
      ok = sql_step_done (self, stmt, error);
    }
  return finish (self, ok, error);
}

#define DOWNLOAD_COLUMNS "url, wnid, outcome, http_status, detail, file, attempts, updated"

static KilnDownloadRecord *
download_from_row (sqlite3_stmt *stmt)
{
  KilnDownloadRecord *record = g_new0 (KilnDownloadRecord, 1);

  record->url = column_text (stmt, 0);
  record->wnid = column_text (stmt, 1);
  if (!kiln_download_outcome_from_string ((const char *) sqlite3_column_text (stmt, 2),
                                          &record->outcome))
    record->outcome = KILN_DOWNLOAD_PENDING;
  record->http_status = sqlite3_column_int (stmt, 3);
  record->detail = column_text (stmt, 4);
  record->file = column_text (stmt, 5);
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
  stmt = sql_prepare (self, "SELECT " DOWNLOAD_COLUMNS " FROM downloads WHERE url = ?", error);
  if (stmt != NULL)
    {
      bind_text (stmt, 1, url);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        record = download_from_row (stmt);
      else if (rc != SQLITE_DONE)
        sql_fail (self, error, "reading a download");
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
  stmt = sql_prepare (self,
                      "SELECT url FROM downloads WHERE (?1 IS NULL OR wnid = ?1)"
                      " AND outcome IN ('kept', 'rejected', 'failed')", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  bind_text (stmt, 1, wnid);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_add (done, column_text (stmt, 0));
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
  stmt = sql_prepare (self, sql, error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return NULL;
    }
  bind_text (stmt, 1, wnid);
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
  stmt = sql_prepare (self, "SELECT outcome, count(*) FROM downloads"
                            " WHERE ?1 IS NULL OR wnid = ?1 GROUP BY outcome", error);
  if (stmt == NULL)
    {
      g_rec_mutex_unlock (&self->lock);
      return FALSE;
    }
  bind_text (stmt, 1, wnid);
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
