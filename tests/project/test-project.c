/* KilnProject against real SQLite files in a temporary folder: layout,
 * schema versioning, reopening, images/classes/flags/splits/downloads,
 * discard and undo, rollback of failed transactions, and the crash journal
 * of file moves. */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiln-core.h"
#include "test-util.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("kiln-project-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
project_dir (Fixture *f)
{
  return g_build_filename (f->dir, "my project", NULL);
}

static gboolean
exists (KilnProject *project,
        const char  *relative)
{
  g_autofree char *path = kiln_project_build_path (project, relative);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* Runs one SQL query on the store behind Kiln's back and returns the
 * first column of the first row as text. */
static char *
raw_query (const char *db_path,
           const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *result = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return result;
}

static void
test_layout_and_schema (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autofree char *db_path = g_build_filename (dir, "kiln.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  const char *folders[] = { "images", "discarded", "cache", "runs" };

  g_assert_no_error (error);
  g_assert_cmpstr (kiln_project_get_path (project), ==, dir);
  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    g_assert_true (exists (project, folders[i]));
  g_assert_cmpint (kiln_project_get_schema_version (project), ==, KILN_PROJECT_SCHEMA_VERSION);

  g_autofree char *mode = raw_query (db_path, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");
  g_autofree char *version = raw_query (db_path, "PRAGMA user_version");
  g_assert_cmpint (atoi (version), ==, KILN_PROJECT_SCHEMA_VERSION);
}

static void
test_newer_schema_refused (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autofree char *db_path = g_build_filename (dir, "kiln.db", NULL);
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
    g_assert_no_error (error);
  }
  g_free (raw_query (db_path, "PRAGMA user_version = 99"));

  g_autoptr(KilnProject) again = kiln_project_open (dir, &error);
  g_assert_null (again);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "99"));
  g_assert_nonnull (strstr (error->message, "kiln.db"));
}

static void
test_not_a_database (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autofree char *db_path = g_build_filename (dir, "kiln.db", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (db_path, "this is a text file, not SQLite, and it is long enough\n"
                                "to cover the 100-byte header that SQLite reads first.....\n",
                       -1, &error);
  g_assert_no_error (error);

  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_assert_null (project);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_IO);
}

static void
test_images_and_reopen (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  gint64 cat_id;

  {
    g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
    g_autoptr(KilnImageRecord) full = kiln_image_record_new ("images/Zebra/z 1.jpg", "Zebra");

    g_assert_no_error (error);
    cat_id = kiln_test_add_image (project, "images/cat/a.jpg", "cat");
    kiln_test_add_image (project, "images/Ängste/ü.png", "Ängste");
    full->size = 1234;
    full->width = 640;
    full->height = 480;
    full->sha256 = g_strdup ("ab12");
    full->pixel_hash = g_strdup ("cd34");
    full->phash = G_GUINT64_CONSTANT (0xfedcba9876543210);
    full->has_phash = TRUE;
    full->source_url = g_strdup ("http://example.org/z.jpg");
    full->http_status = 200;
    kiln_project_add_image (project, full, &error);
    g_assert_no_error (error);
    kiln_project_add_class (project, "apple", &error);
    g_assert_no_error (error);

    /* The same path twice is refused and changes nothing. */
    g_autoptr(KilnImageRecord) twice = kiln_image_record_new ("images/cat/a.jpg", "dog");
    g_assert_false (kiln_project_add_image (project, twice, &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);

    /* Paths that leave the project are refused. */
    g_autoptr(KilnImageRecord) escape = kiln_image_record_new ("../outside.jpg", "cat");
    g_assert_false (kiln_project_add_image (project, escape, &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* Everything survives closing and reopening. */
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_assert_no_error (error);
  g_auto(GStrv) classes = kiln_project_list_classes (project, &error);
  g_assert_no_error (error);
  const char *expected[] = { "apple", "cat", "Zebra", "Ängste", NULL };
  g_assert_cmpstrv (classes, expected);

  g_assert_cmpint (kiln_project_count_images (project, -1, &error), ==, 3);
  g_autoptr(KilnImageRecord) z = kiln_project_find_image (project, "images/Zebra/z 1.jpg", &error);
  g_assert_no_error (error);
  g_assert_nonnull (z);
  g_assert_cmpstr (z->class_name, ==, "Zebra");
  g_assert_cmpint (z->size, ==, 1234);
  g_assert_cmpint (z->width, ==, 640);
  g_assert_cmpint (z->height, ==, 480);
  g_assert_cmpstr (z->sha256, ==, "ab12");
  g_assert_cmpstr (z->pixel_hash, ==, "cd34");
  g_assert_true (z->has_phash);
  g_assert_cmpuint (z->phash, ==, G_GUINT64_CONSTANT (0xfedcba9876543210));
  g_assert_cmpstr (z->source_url, ==, "http://example.org/z.jpg");
  g_assert_cmpint (z->http_status, ==, 200);
  g_assert_cmpint (z->status, ==, KILN_IMAGE_KEPT);

  g_autoptr(KilnImageRecord) missing = kiln_project_find_image (project, "images/none.jpg", &error);
  g_assert_no_error (error);
  g_assert_null (missing);

  /* Update rewrites the fields. */
  g_autoptr(KilnImageRecord) cat = kiln_project_get_image (project, cat_id, &error);
  g_assert_no_error (error);
  g_assert_false (cat->has_phash);
  cat->width = 10;
  cat->has_phash = TRUE;
  cat->phash = 7;
  kiln_project_update_image (project, cat, &error);
  g_assert_no_error (error);
  g_autoptr(KilnImageRecord) cat2 = kiln_project_get_image (project, cat_id, &error);
  g_assert_cmpint (cat2->width, ==, 10);
  g_assert_cmpuint (cat2->phash, ==, 7);

  g_autoptr(KilnImageRecord) nobody = kiln_project_get_image (project, 9999, &error);
  g_assert_null (nobody);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_autoptr(GPtrArray) cats = kiln_project_list_images (project, "cat", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cats->len, ==, 1);
  g_autoptr(GPtrArray) all = kiln_project_list_images (project, NULL, KILN_IMAGE_KEPT, &error);
  g_assert_cmpuint (all->len, ==, 3);
}

static void
test_flags (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  gint64 a = kiln_test_add_image (project, "images/x/a.jpg", "x");
  gint64 b = kiln_test_add_image (project, "images/x/b.jpg", "x");

  kiln_project_set_flag (project, a, "truncated", "ends at byte 10", &error);
  g_assert_no_error (error);
  kiln_project_set_flag (project, a, "too-dark", "mean 3", &error);
  kiln_project_set_flag (project, b, "duplicate", NULL, &error);
  /* Setting the same reason again replaces its detail. */
  kiln_project_set_flag (project, a, "truncated", "ends at byte 11", &error);
  g_assert_no_error (error);

  g_autoptr(GPtrArray) of_a = kiln_project_list_flags (project, a, &error);
  g_assert_cmpuint (of_a->len, ==, 2);
  KilnFlag *first = of_a->pdata[0];
  KilnFlag *second = of_a->pdata[1];
  g_assert_cmpstr (first->reason, ==, "too-dark");
  g_assert_cmpstr (second->reason, ==, "truncated");
  g_assert_cmpstr (second->detail, ==, "ends at byte 11");

  g_autoptr(GPtrArray) every = kiln_project_list_flags (project, 0, &error);
  g_assert_cmpuint (every->len, ==, 3);

  kiln_project_clear_flags (project, a, "too-dark", &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) after = kiln_project_list_flags (project, a, &error);
  g_assert_cmpuint (after->len, ==, 1);
  kiln_project_clear_flags (project, a, NULL, &error);
  g_autoptr(GPtrArray) none = kiln_project_list_flags (project, a, &error);
  g_assert_cmpuint (none->len, ==, 0);

  /* A flag for an image that does not exist is refused. */
  g_assert_false (kiln_project_set_flag (project, 4242, "truncated", NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
}

static void
test_discard_and_restore (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  gint64 a, b;

  {
    g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
    g_assert_no_error (error);
    a = kiln_test_add_image (project, "images/cat/photo 1.jpg", "cat");
    b = kiln_test_add_image (project, "images/dog/photo 1.jpg", "dog");

    kiln_project_discard_image (project, a, "truncated", &error);
    g_assert_no_error (error);
    g_assert_false (exists (project, "images/cat/photo 1.jpg"));
    g_assert_true (exists (project, "discarded/truncated/cat/photo 1.jpg"));

    /* A second image whose name collides gets a numbered name. */
    kiln_test_write_project_file (project, "discarded/truncated/dog/photo 1.jpg", "someone else's file");
    kiln_project_discard_image (project, b, "truncated", &error);
    g_assert_no_error (error);
    g_assert_true (exists (project, "discarded/truncated/dog/photo 1-1.jpg"));

    /* Discarding twice and bad reasons are refused without changes. */
    g_assert_false (kiln_project_discard_image (project, a, "duplicate", &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (kiln_project_discard_image (project, b, "../escape", &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* The discard is recorded durably. */
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_assert_no_error (error);
  g_autoptr(KilnImageRecord) ra = kiln_project_get_image (project, a, &error);
  g_assert_cmpint (ra->status, ==, KILN_IMAGE_DISCARDED);
  g_assert_cmpstr (ra->discard_reason, ==, "truncated");
  g_assert_cmpstr (ra->path, ==, "discarded/truncated/cat/photo 1.jpg");
  g_assert_cmpstr (ra->original_path, ==, "images/cat/photo 1.jpg");
  g_assert_cmpstr (ra->class_name, ==, "cat");
  g_assert_cmpint (kiln_project_count_images (project, KILN_IMAGE_DISCARDED, &error), ==, 2);

  /* Undo puts the file and the row back, and leaves no empty folder. */
  kiln_project_restore_image (project, a, &error);
  g_assert_no_error (error);
  g_assert_true (exists (project, "images/cat/photo 1.jpg"));
  g_assert_false (exists (project, "discarded/truncated/cat"));
  g_autoptr(KilnImageRecord) back = kiln_project_get_image (project, a, &error);
  g_assert_cmpint (back->status, ==, KILN_IMAGE_KEPT);
  g_assert_cmpstr (back->path, ==, "images/cat/photo 1.jpg");
  g_assert_null (back->discard_reason);
  g_assert_null (back->original_path);
  g_autofree char *contents = NULL;
  g_autofree char *path = kiln_project_build_path (project, back->path);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_cmpstr (contents, ==, "images/cat/photo 1.jpg");

  /* Restoring onto a path that another file took is refused. */
  kiln_test_write_project_file (project, "images/dog/photo 1.jpg", "a new dog");
  g_assert_false (kiln_project_restore_image (project, b, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_IO);
  g_clear_error (&error);
  g_assert_true (exists (project, "discarded/truncated/dog/photo 1-1.jpg"));
  g_autoptr(KilnImageRecord) rb = kiln_project_get_image (project, b, &error);
  g_assert_cmpint (rb->status, ==, KILN_IMAGE_DISCARDED);

  /* Restoring a kept image is refused. */
  g_assert_false (kiln_project_restore_image (project, a, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

static void
test_discard_missing_file (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  gint64 a = kiln_test_add_image (project, "images/cat/gone.jpg", "cat");
  g_autofree char *path = kiln_project_build_path (project, "images/cat/gone.jpg");

  g_unlink (path);
  g_assert_false (kiln_project_discard_image (project, a, "zero-byte", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_autoptr(KilnImageRecord) record = kiln_project_get_image (project, a, NULL);
  g_assert_cmpint (record->status, ==, KILN_IMAGE_KEPT);
  g_assert_cmpstr (record->path, ==, "images/cat/gone.jpg");
}

typedef struct {
  const char *path;
  gboolean    fail;
} TxData;

static gboolean
add_and_flag (KilnProject  *project,
              gpointer      user_data,
              GError      **error)
{
  TxData *tx = user_data;
  g_autoptr(KilnImageRecord) record = kiln_image_record_new (tx->path, "new-class");

  if (!kiln_project_add_image (project, record, error)
      || !kiln_project_set_flag (project, record->id, "too-small", "1×1", error)
      || !kiln_project_record_download (project, "http://x/1.jpg", "n1", KILN_DOWNLOAD_KEPT,
                                        200, NULL, tx->path, error))
    return FALSE;
  if (tx->fail)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "simulated failure after three writes");
      return FALSE;
    }
  return TRUE;
}

static gboolean
outer_with_failing_inner (KilnProject  *project,
                          gpointer      user_data,
                          GError      **error)
{
  TxData inner = { "images/new-class/inner.jpg", TRUE };
  TxData outer = { "images/new-class/outer.jpg", FALSE };
  g_autoptr(GError) inner_error = NULL;

  g_assert_false (kiln_project_transaction (project, add_and_flag, &inner, &inner_error));
  g_assert_error (inner_error, KILN_ERROR, KILN_ERROR_FAILED);
  /* The inner savepoint is gone; the outer transaction goes on. */
  return add_and_flag (project, &outer, error);
}

static void
test_failed_transaction_leaves_nothing (Fixture       *f,
                                        gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  TxData failing = { "images/new-class/a.jpg", TRUE };

  {
    g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
    g_assert_no_error (error);
    kiln_test_add_image (project, "images/old/keep.jpg", "old");

    g_assert_false (kiln_project_transaction (project, add_and_flag, &failing, &error));
    g_assert_error (error, KILN_ERROR, KILN_ERROR_FAILED);
    g_clear_error (&error);

    /* No image, class, flag or download of the failed transaction. */
    g_assert_cmpint (kiln_project_count_images (project, -1, &error), ==, 1);
    g_auto(GStrv) classes = kiln_project_list_classes (project, &error);
    g_assert_cmpuint (g_strv_length (classes), ==, 1);
    g_autoptr(GPtrArray) flags = kiln_project_list_flags (project, 0, &error);
    g_assert_cmpuint (flags->len, ==, 0);
    g_autoptr(KilnDownloadRecord) download = kiln_project_get_download (project, "http://x/1.jpg", &error);
    g_assert_no_error (error);
    g_assert_null (download);

    kiln_project_transaction (project, outer_with_failing_inner, NULL, &error);
    g_assert_no_error (error);
  }

  /* After reopening: only the outer transaction's writes exist. */
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_autoptr(GPtrArray) images = kiln_project_list_images (project, "new-class", -1, &error);
  g_assert_cmpuint (images->len, ==, 1);
  g_assert_cmpstr (((KilnImageRecord *) images->pdata[0])->path, ==, "images/new-class/outer.jpg");
  g_autoptr(GPtrArray) flags = kiln_project_list_flags (project, 0, &error);
  g_assert_cmpuint (flags->len, ==, 1);
  g_autoptr(KilnDownloadRecord) download = kiln_project_get_download (project, "http://x/1.jpg", &error);
  g_assert_nonnull (download);
  g_assert_cmpint (download->attempts, ==, 1);
  g_assert_cmpstr (download->file, ==, "images/new-class/outer.jpg");
}

static gboolean
add_then_die (KilnProject  *project,
              gpointer      user_data,
              GError      **error)
{
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *path = g_strdup_printf ("images/doomed/%u.jpg", i);
      g_autoptr(KilnImageRecord) record = kiln_image_record_new (path, "doomed");

      if (!kiln_project_add_image (project, record, error))
        return FALSE;
    }
  /* Killed in the middle of the transaction: no commit, no cleanup. */
  _exit (0);
}

static void
test_killed_mid_transaction (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  int status = 0;
  pid_t child;

  {
    g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
    g_assert_no_error (error);
    kiln_test_add_image (project, "images/old/keep.jpg", "old");
  }
  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    {
      KilnProject *project = kiln_project_open (dir, NULL);

      if (project != NULL)
        kiln_project_transaction (project, add_then_die, NULL, NULL);
      _exit (1);
    }
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kiln_project_count_images (project, -1, &error), ==, 1);
  g_auto(GStrv) classes = kiln_project_list_classes (project, &error);
  const char *expected[] = { "old", NULL };
  g_assert_cmpstrv (classes, expected);
}

/* A crash after the store recorded a discard but before the rename: the
 * next open finishes the move. Simulated by writing the journal row the
 * way relocate_image() commits it, without doing the rename. */
static void
test_crash_journal_replayed (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autofree char *db_path = g_build_filename (dir, "kiln.db", NULL);
  g_autoptr(GError) error = NULL;
  gint64 a;

  {
    g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
    g_assert_no_error (error);
    a = kiln_test_add_image (project, "images/cat/a.jpg", "cat");
  }
  g_autofree char *sql = g_strdup_printf (
    "BEGIN;"
    "UPDATE images SET path = 'discarded/blank/cat/a.jpg', status = 1, discard_reason = 'blank',"
    " original_path = 'images/cat/a.jpg' WHERE id = %" G_GINT64_FORMAT ";"
    "INSERT INTO pending_moves VALUES (%" G_GINT64_FORMAT ", 'images/cat/a.jpg', 'discarded/blank/cat/a.jpg');"
    "COMMIT;", a, a);
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_assert_no_error (error);
  g_assert_false (exists (project, "images/cat/a.jpg"));
  g_assert_true (exists (project, "discarded/blank/cat/a.jpg"));
  g_autofree char *pending = raw_query (db_path, "SELECT count(*) FROM pending_moves");
  g_assert_cmpstr (pending, ==, "0");

  /* And the undo works from there. */
  kiln_project_restore_image (project, a, &error);
  g_assert_no_error (error);
  g_assert_true (exists (project, "images/cat/a.jpg"));
}

static void
test_splits (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  gint64 ids[3];
  const char *subsets[] = { "train", "val", "train" };
  guint64 seed = 0;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = g_strdup_printf ("images/c/%u.jpg", i);
      ids[i] = kiln_test_add_image (project, path, "c");
    }
  kiln_project_set_split (project, "default", 42, ids, subsets, 3, &error);
  g_assert_no_error (error);
  g_autoptr(GHashTable) split = kiln_project_get_split (project, "default", &seed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seed, ==, 42);
  g_assert_cmpuint (g_hash_table_size (split), ==, 3);
  g_assert_cmpstr (g_hash_table_lookup (split, &ids[1]), ==, "val");

  /* Setting it again replaces it. */
  kiln_project_set_split (project, "default", 7, ids, subsets, 1, &error);
  g_assert_no_error (error);
  g_autoptr(GHashTable) again = kiln_project_get_split (project, "default", &seed, &error);
  g_assert_cmpuint (seed, ==, 7);
  g_assert_cmpuint (g_hash_table_size (again), ==, 1);

  g_autoptr(GHashTable) none = kiln_project_get_split (project, "other", NULL, &error);
  g_assert_null (none);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
}

static void
test_downloads (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  gint64 counts[KILN_DOWNLOAD_N_OUTCOMES];

  {
    g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
    g_assert_no_error (error);
    kiln_project_queue_download (project, "http://a/1.jpg", "n01", &error);
    kiln_project_queue_download (project, "http://a/2.jpg", "n01", &error);
    kiln_project_queue_download (project, "http://a/3.jpg", "n01", &error);
    kiln_project_queue_download (project, "http://b/1.jpg", "n02", &error);
    g_assert_no_error (error);
    kiln_project_record_download (project, "http://a/1.jpg", NULL, KILN_DOWNLOAD_KEPT, 200,
                                  NULL, "images/n01/1.jpg", &error);
    kiln_project_record_download (project, "http://a/2.jpg", NULL, KILN_DOWNLOAD_RETRY, 503,
                                  "service unavailable", NULL, &error);
    kiln_project_record_download (project, "http://a/2.jpg", NULL, KILN_DOWNLOAD_RETRY, 0,
                                  "timed out", NULL, &error);
    kiln_project_record_download (project, "http://a/3.jpg", NULL, KILN_DOWNLOAD_REJECTED, 404,
                                  "not found", NULL, &error);
    g_assert_no_error (error);
    /* Queuing a known URL again keeps its outcome. */
    kiln_project_queue_download (project, "http://a/1.jpg", "n01", &error);
    g_assert_no_error (error);
  }

  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_autoptr(KilnDownloadRecord) two = kiln_project_get_download (project, "http://a/2.jpg", &error);
  g_assert_no_error (error);
  g_assert_cmpint (two->outcome, ==, KILN_DOWNLOAD_RETRY);
  g_assert_cmpint (two->attempts, ==, 2);
  g_assert_cmpstr (two->detail, ==, "timed out");
  g_assert_cmpstr (two->wnid, ==, "n01");
  g_assert_cmpint (two->updated, >, 0);

  g_assert_true (kiln_project_download_is_done (project, "http://a/1.jpg", &error));
  g_assert_false (kiln_project_download_is_done (project, "http://a/2.jpg", &error));
  g_assert_true (kiln_project_download_is_done (project, "http://a/3.jpg", &error));
  g_assert_false (kiln_project_download_is_done (project, "http://b/1.jpg", &error));
  g_assert_false (kiln_project_download_is_done (project, "http://never/seen", &error));

  g_autoptr(GHashTable) done = kiln_project_get_done_urls (project, "n01", &error);
  g_assert_cmpuint (g_hash_table_size (done), ==, 2);
  g_assert_true (g_hash_table_contains (done, "http://a/1.jpg"));
  g_assert_true (g_hash_table_contains (done, "http://a/3.jpg"));
  g_autoptr(GHashTable) done_b = kiln_project_get_done_urls (project, "n02", &error);
  g_assert_cmpuint (g_hash_table_size (done_b), ==, 0);

  kiln_project_count_downloads (project, NULL, counts, &error);
  g_assert_no_error (error);
  g_assert_cmpint (counts[KILN_DOWNLOAD_PENDING], ==, 1);
  g_assert_cmpint (counts[KILN_DOWNLOAD_KEPT], ==, 1);
  g_assert_cmpint (counts[KILN_DOWNLOAD_RETRY], ==, 1);
  g_assert_cmpint (counts[KILN_DOWNLOAD_REJECTED], ==, 1);
  g_assert_cmpint (counts[KILN_DOWNLOAD_FAILED], ==, 0);

  g_autoptr(GPtrArray) list = kiln_project_list_downloads (project, "n02", &error);
  g_assert_cmpuint (list->len, ==, 1);

  /* Only what will not be fetched again: the 404, then a failure added now
   * (newest first), and a limit. */
  g_autoptr(GPtrArray) failed = kiln_project_list_failed_downloads (project, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (failed->len, ==, 1);
  g_assert_cmpstr (((KilnDownloadRecord *) failed->pdata[0])->url, ==, "http://a/3.jpg");
  g_assert_cmpint (((KilnDownloadRecord *) failed->pdata[0])->http_status, ==, 404);
  g_usleep (1100 * 1000);   /* `updated` has whole seconds */
  kiln_project_record_download (project, "http://b/1.jpg", NULL, KILN_DOWNLOAD_FAILED, 0, "timed out", NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) newest = kiln_project_list_failed_downloads (project, NULL, 1, &error);
  g_assert_cmpuint (newest->len, ==, 1);
  g_assert_cmpstr (((KilnDownloadRecord *) newest->pdata[0])->url, ==, "http://b/1.jpg");
  g_autoptr(GPtrArray) of_n01 = kiln_project_list_failed_downloads (project, "n01", 0, &error);
  g_assert_cmpuint (of_n01->len, ==, 1);

  KilnDownloadOutcome outcome;
  for (guint i = 0; i < KILN_DOWNLOAD_N_OUTCOMES; i++)
    {
      g_assert_true (kiln_download_outcome_from_string (kiln_download_outcome_to_string (i), &outcome));
      g_assert_cmpint (outcome, ==, i);
    }
  g_assert_false (kiln_download_outcome_from_string ("bogus", &outcome));
}

typedef struct {
  KilnProject *project;
  guint        thread;
} ThreadData;

static gpointer
add_from_thread (gpointer user_data)
{
  ThreadData *data = user_data;

  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *path = g_strdup_printf ("images/t%u/%u.jpg", data->thread, i);
      g_autoptr(KilnImageRecord) record = kiln_image_record_new (path, "threads");
      g_autoptr(GError) error = NULL;

      kiln_project_add_image (data->project, record, &error);
      g_assert_no_error (error);
      kiln_project_set_flag (data->project, record->id, "odd-aspect", path, &error);
      g_assert_no_error (error);
    }
  return NULL;
}

static void
test_threads (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *dir = project_dir (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  ThreadData threads[4];
  GThread *handles[4];

  for (guint i = 0; i < 4; i++)
    {
      threads[i] = (ThreadData) { project, i };
      handles[i] = g_thread_new ("adder", add_from_thread, &threads[i]);
    }
  for (guint i = 0; i < 4; i++)
    g_thread_join (handles[i]);
  g_assert_cmpint (kiln_project_count_images (project, -1, &error), ==, 200);
  g_autoptr(GPtrArray) flags = kiln_project_list_flags (project, 0, &error);
  g_assert_cmpuint (flags->len, ==, 200);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/project/layout-and-schema", test_layout_and_schema);
  ADD ("/project/newer-schema-refused", test_newer_schema_refused);
  ADD ("/project/not-a-database", test_not_a_database);
  ADD ("/project/images-and-reopen", test_images_and_reopen);
  ADD ("/project/flags", test_flags);
  ADD ("/project/discard-and-restore", test_discard_and_restore);
  ADD ("/project/discard-missing-file", test_discard_missing_file);
  ADD ("/project/failed-transaction-leaves-nothing", test_failed_transaction_leaves_nothing);
  ADD ("/project/killed-mid-transaction", test_killed_mid_transaction);
  ADD ("/project/crash-journal-replayed", test_crash_journal_replayed);
  ADD ("/project/splits", test_splits);
  ADD ("/project/downloads", test_downloads);
  ADD ("/project/threads", test_threads);
#undef ADD
  return g_test_run ();
}
