/* Curation through the core, on real files in a temporary project: relabel
 * (its moves, name collisions, refusals and crash journal), the undo
 * history over discard, restore and relabel, the image list model the
 * Curate page shows (filters, counts, updates in place, reloads), and
 * making projects through the _async pair. */
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

typedef struct {
  char        *dir;
  KilnProject *project;
} Fixture;

static gboolean
exists (KilnProject *project, const char *relative)
{
  g_autofree char *path = kiln_project_build_path (project, relative);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static char *
path_of (KilnProject *project, gint64 id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageRecord) record = kiln_project_get_image (project, id, &error);
  g_assert_no_error (error);
  return g_strdup (record->path);
}

static char *
class_of (KilnProject *project, gint64 id)
{
  g_autoptr(KilnImageRecord) record = kiln_project_get_image (project, id, NULL);
  return g_strdup (record->class_name);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->project = kiln_test_new_project ("kiln-curation", &f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
test_relabel (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 a = kiln_test_add_image (p, "images/cat/a.jpg", "cat");
  gint64 b = kiln_test_add_image (p, "images/cat/b.jpg", "cat");
  kiln_test_add_image (p, "images/dog/a.jpg", "dog");

  /* The file moves to the new class's folder, numbered when its name is
   * taken there; the store says the same. */
  g_assert_true (kiln_project_relabel_image (p, a, "dog", NULL, &error));
  g_assert_no_error (error);
  g_autofree char *moved = path_of (p, a);
  g_assert_cmpstr (moved, ==, "images/dog/a-1.jpg");
  g_autofree char *klass = class_of (p, a);
  g_assert_cmpstr (klass, ==, "dog");
  g_assert_true (exists (p, "images/dog/a-1.jpg"));
  g_assert_true (exists (p, "images/dog/a.jpg"));
  g_assert_false (exists (p, "images/cat/a.jpg"));

  /* A new class is made on the way; the old folder stays. */
  g_assert_true (kiln_project_relabel_image (p, b, "bird", NULL, &error));
  g_assert_true (exists (p, "images/bird/b.jpg"));
  g_autofree char *cat_folder = kiln_project_build_path (p, "images/cat");
  g_assert_true (g_file_test (cat_folder, G_FILE_TEST_IS_DIR));
  g_auto(GStrv) classes = kiln_project_list_classes (p, &error);
  const char *want[] = { "bird", "cat", "dog", NULL };
  g_assert_cmpstrv (classes, want);

  /* Back, under the name it had. */
  g_assert_true (kiln_project_relabel_image (p, a, "cat", "a.jpg", &error));
  g_autofree char *back = path_of (p, a);
  g_assert_cmpstr (back, ==, "images/cat/a.jpg");

  /* The same class and name is nothing to do. */
  g_assert_true (kiln_project_relabel_image (p, a, "cat", NULL, &error));
  g_autofree char *same = path_of (p, a);
  g_assert_cmpstr (same, ==, "images/cat/a.jpg");

  /* Refused, changing nothing: a class that cannot be a folder, a file
   * name with a slash, a discarded image. */
  const char *bad[] = { "", "a/b", ".hidden", NULL };
  for (guint i = 0; bad[i]; i++)
    {
      g_assert_false (kiln_project_relabel_image (p, a, bad[i], NULL, &error));
      g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_false (kiln_project_relabel_image (p, a, "dog", "../x.jpg", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (kiln_project_discard_image (p, a, "manual", &error));
  g_assert_false (kiln_project_relabel_image (p, a, "dog", NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (exists (p, "discarded/manual/cat/a.jpg"));

  /* Restore takes it back to its class, and a label set sees it there. */
  g_assert_true (kiln_project_restore_image (p, a, &error));
  g_autoptr(KilnLabelSet) set = kiln_project_get_label_set (p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->paths->len, ==, 3);
}

/* A crash between the store's commit and the rename of a relabel: the
 * next open finishes the move, and the class is already the new one. */
static void
test_relabel_journal_replayed (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = kiln_test_add_image (f->project, "images/cat/a.jpg", "cat");
  kiln_project_add_class (f->project, "dog", &error);
  g_assert_no_error (error);
  g_clear_object (&f->project);

  g_autofree char *db_path = g_build_filename (f->dir, "kiln.db", NULL);
  g_autofree char *sql = g_strdup_printf (
    "BEGIN;"
    "UPDATE images SET path = 'images/dog/a.jpg', class_id = (SELECT id FROM classes WHERE name = 'dog')"
    " WHERE id = %" G_GINT64_FORMAT ";"
    "INSERT INTO pending_moves VALUES (%" G_GINT64_FORMAT ", 'images/cat/a.jpg', 'images/dog/a.jpg');"
    "COMMIT;", a, a);
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  f->project = kiln_project_open (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (exists (f->project, "images/dog/a.jpg"));
  g_assert_false (exists (f->project, "images/cat/a.jpg"));
  g_autofree char *klass = class_of (f->project, a);
  g_assert_cmpstr (klass, ==, "dog");
}

static gboolean
array_has (GArray *ids, gint64 id)
{
  for (guint i = 0; i < ids->len; i++)
    if (g_array_index (ids, gint64, i) == id)
      return TRUE;
  return FALSE;
}

static void
test_history (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 ids[3] = {
    kiln_test_add_image (p, "images/cat/1.jpg", "cat"),
    kiln_test_add_image (p, "images/cat/2.jpg", "cat"),
    kiln_test_add_image (p, "images/dog/3.jpg", "dog"),
  };
  g_autoptr(KilnCurationHistory) history = kiln_curation_history_new (p);
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_assert_false (kiln_curation_history_can_undo (history));
  /* Nothing to undo is no error. */
  g_assert_true (kiln_curation_history_undo (history, changed, &error));
  g_assert_cmpuint (changed->len, ==, 0);

  /* Discarding two is one step. */
  g_assert_true (kiln_curation_history_discard (history, ids, 2, "manual", changed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (changed->len, ==, 2);
  g_assert_true (exists (p, "discarded/manual/cat/1.jpg"));
  g_assert_true (exists (p, "discarded/manual/cat/2.jpg"));
  g_assert_true (kiln_curation_history_can_undo (history));

  /* Relabel is another step; an image already of the class is left out. */
  g_array_set_size (changed, 0);
  gint64 both[] = { ids[2], ids[0] };
  g_assert_true (kiln_curation_history_relabel (history, both, 1, "bird", changed, &error));
  g_assert_cmpuint (changed->len, ==, 1);
  g_assert_true (exists (p, "images/bird/3.jpg"));

  /* Undo goes back a step at a time, redo forward again. */
  g_array_set_size (changed, 0);
  g_assert_true (kiln_curation_history_undo (history, changed, &error));
  g_assert_no_error (error);
  g_assert_true (array_has (changed, ids[2]));
  g_assert_true (exists (p, "images/dog/3.jpg"));
  g_autofree char *klass = class_of (p, ids[2]);
  g_assert_cmpstr (klass, ==, "dog");
  g_assert_true (kiln_curation_history_can_redo (history));

  g_array_set_size (changed, 0);
  g_assert_true (kiln_curation_history_undo (history, changed, &error));
  g_assert_cmpuint (changed->len, ==, 2);
  g_assert_true (exists (p, "images/cat/1.jpg"));
  g_assert_true (exists (p, "images/cat/2.jpg"));
  g_assert_false (exists (p, "discarded/manual"));
  g_assert_false (kiln_curation_history_can_undo (history));

  g_assert_true (kiln_curation_history_redo (history, NULL, &error));
  g_assert_true (exists (p, "discarded/manual/cat/2.jpg"));
  g_assert_true (kiln_curation_history_redo (history, NULL, &error));
  g_assert_true (exists (p, "images/bird/3.jpg"));
  g_assert_false (kiln_curation_history_can_redo (history));

  /* A new action after an undo drops what could be redone. */
  g_assert_true (kiln_curation_history_undo (history, NULL, &error));
  g_assert_true (kiln_curation_history_can_redo (history));
  g_assert_true (kiln_curation_history_restore (history, ids, 1, NULL, &error));
  g_assert_false (kiln_curation_history_can_redo (history));
  g_assert_true (exists (p, "images/cat/1.jpg"));
  /* Undoing a restore discards again, for the same reason. */
  g_assert_true (kiln_curation_history_undo (history, NULL, &error));
  g_assert_true (exists (p, "discarded/manual/cat/1.jpg"));
}

/* A step that fails part-way keeps what it did, and undo of it works. */
static void
test_history_partial_failure (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 ids[3] = {
    kiln_test_add_image (p, "images/cat/1.jpg", "cat"),
    kiln_test_add_image (p, "images/cat/2.jpg", "cat"),
    kiln_test_add_image (p, "images/cat/3.jpg", "cat"),
  };
  g_autoptr(KilnCurationHistory) history = kiln_curation_history_new (p);
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *second = kiln_project_build_path (p, "images/cat/2.jpg");

  g_assert_cmpint (g_unlink (second), ==, 0);
  g_assert_false (kiln_curation_history_discard (history, ids, 3, "manual", changed, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "2.jpg"));
  g_clear_error (&error);
  g_assert_cmpuint (changed->len, ==, 1);
  g_assert_true (exists (p, "discarded/manual/cat/1.jpg"));
  g_assert_true (exists (p, "images/cat/3.jpg"));

  g_assert_true (kiln_curation_history_can_undo (history));
  g_assert_true (kiln_curation_history_undo (history, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (exists (p, "images/cat/1.jpg"));
}

static void
on_items_changed (GListModel *model, guint position, guint removed, guint added, gpointer data)
{
  (*(guint *) data)++;
}

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static guint
n_items (KilnImageList *list)
{
  return g_list_model_get_n_items (G_LIST_MODEL (list));
}

static gint64
id_at (KilnImageList *list, guint position)
{
  g_autoptr(KilnImageItem) item = g_list_model_get_item (G_LIST_MODEL (list), position);
  return kiln_image_item_get_id (item);
}

static void
test_image_list (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 c1 = kiln_test_add_image (p, "images/cat/1.jpg", "cat");
  gint64 c2 = kiln_test_add_image (p, "images/cat/2.jpg", "cat");
  gint64 d1 = kiln_test_add_image (p, "images/dog/1.jpg", "dog");
  gint64 d2 = kiln_test_add_image (p, "images/dog/2.jpg", "dog");
  g_assert_true (kiln_project_set_flag (p, c2, "truncated", "ends early", &error));
  g_assert_true (kiln_project_set_flag (p, d1, "too-dark", NULL, &error));
  g_assert_true (kiln_project_set_flag (p, d1, "truncated", NULL, &error));
  g_assert_true (kiln_project_discard_image (p, d2, "blurry", &error));

  g_autoptr(KilnImageList) list = kiln_image_list_new (p);
  guint changes = 0;
  g_signal_connect (list, "items-changed", G_CALLBACK (on_items_changed), &changes);
  g_assert_cmpuint (n_items (list), ==, 0);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == KILN_TYPE_IMAGE_ITEM);
  g_assert_true (kiln_image_list_reload (list, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_items (list), ==, 4);
  g_assert_cmpuint (changes, ==, 1);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (list), 4));

  /* Items carry their row and flags. */
  KilnImageItem *item = kiln_image_list_lookup (list, d1);
  g_assert_cmpstr (kiln_image_item_get_path (item), ==, "images/dog/1.jpg");
  g_assert_cmpuint (kiln_image_item_get_flags (item)->len, ==, 2);
  g_assert_true (kiln_image_item_has_flag (item, "too-dark"));
  g_assert_false (kiln_image_item_has_flag (kiln_image_list_lookup (list, c1), NULL));
  g_assert_null (kiln_image_list_lookup (list, 999));

  /* Filters: a class, flagged by reason or any, discarded. */
  kiln_image_list_set_filter (list, "cat", KILN_IMAGE_KEPT, NULL);
  g_assert_cmpuint (n_items (list), ==, 2);
  g_assert_cmpint (id_at (list, 0), ==, c1);
  g_assert_cmpuint (kiln_image_list_find (list, d1), ==, G_MAXUINT);
  kiln_image_list_set_filter (list, NULL, KILN_IMAGE_KEPT, "truncated");
  g_assert_cmpuint (n_items (list), ==, 2);
  g_assert_cmpuint (kiln_image_list_find (list, d1), ==, 1);
  kiln_image_list_set_filter (list, NULL, -1, KILN_IMAGE_LIST_ANY_FLAG);
  g_assert_cmpuint (n_items (list), ==, 2);
  kiln_image_list_set_filter (list, NULL, KILN_IMAGE_DISCARDED, NULL);
  g_assert_cmpuint (n_items (list), ==, 1);
  g_assert_cmpint (id_at (list, 0), ==, d2);
  g_assert_cmpstr (kiln_image_item_get_discard_reason (kiln_image_list_lookup (list, d2)), ==, "blurry");

  /* An id list, kept or discarded, with ids the store lacks left out;
   * cleared, the other filter applies alone. */
  gint64 named[] = { d2, 999, c2 };
  kiln_image_list_set_filter (list, NULL, -1, NULL);
  kiln_image_list_set_id_filter (list, named, G_N_ELEMENTS (named));
  g_assert_true (kiln_image_list_has_id_filter (list));
  g_assert_cmpuint (n_items (list), ==, 2);
  g_assert_cmpint (id_at (list, 0), ==, c2);
  g_assert_cmpint (id_at (list, 1), ==, d2);
  kiln_image_list_set_id_filter (list, named, 0);
  g_assert_cmpuint (n_items (list), ==, 0);
  kiln_image_list_set_id_filter (list, NULL, 0);
  g_assert_false (kiln_image_list_has_id_filter (list));
  g_assert_cmpuint (n_items (list), ==, 4);
  kiln_image_list_set_filter (list, NULL, KILN_IMAGE_DISCARDED, NULL);

  /* Counts are over every image, whatever is shown. */
  g_assert_cmpuint (kiln_image_list_count (list, "dog", KILN_IMAGE_KEPT, NULL), ==, 1);
  g_assert_cmpuint (kiln_image_list_count (list, NULL, -1, NULL), ==, 4);
  g_assert_cmpuint (kiln_image_list_count (list, NULL, KILN_IMAGE_KEPT, KILN_IMAGE_LIST_ANY_FLAG), ==, 2);
  g_auto(GStrv) reasons = kiln_image_list_list_flag_reasons (list, KILN_IMAGE_KEPT);
  const char *want_reasons[] = { "too-dark", "truncated", NULL };
  g_assert_cmpstrv (reasons, want_reasons);
  const char *want_classes[] = { "cat", "dog", NULL };
  g_assert_cmpstrv ((char **) kiln_image_list_get_classes (list), want_classes);

  /* A change made through the store and refreshed updates the item in
   * place, and it stays shown though it no longer passes the filter. */
  kiln_image_list_set_filter (list, "cat", KILN_IMAGE_KEPT, NULL);
  item = kiln_image_list_lookup (list, c1);
  guint notified = 0;
  g_signal_connect (item, "notify::status", G_CALLBACK (on_notify), &notified);
  changes = 0;
  g_assert_true (kiln_project_discard_image (p, c1, "manual", &error));
  g_assert_true (kiln_image_list_refresh (list, &c1, 1, &error));
  g_assert_cmpuint (changes, ==, 0);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (kiln_image_list_lookup (list, c1) == item);
  g_assert_cmpint (kiln_image_item_get_status (item), ==, KILN_IMAGE_DISCARDED);
  g_assert_cmpuint (n_items (list), ==, 2);
  g_assert_cmpuint (kiln_image_list_count (list, "cat", KILN_IMAGE_KEPT, NULL), ==, 1);
  /* The next filter change applies the filter. */
  kiln_image_list_set_filter (list, "cat", KILN_IMAGE_KEPT, NULL);
  g_assert_cmpuint (n_items (list), ==, 1);

  /* A new image in the store appears on a reload, when it passes; the
   * items already there stay the same objects. */
  gint64 c3 = kiln_test_add_image (p, "images/cat/3.jpg", "cat");
  kiln_test_add_image (p, "images/dog/3.jpg", "dog");
  changes = 0;
  g_assert_true (kiln_image_list_reload (list, &error));
  g_assert_cmpuint (changes, ==, 1);
  g_assert_cmpuint (n_items (list), ==, 2);
  g_assert_cmpint (id_at (list, 1), ==, c3);
  g_assert_true (kiln_image_list_lookup (list, c1) == item);
  g_assert_cmpuint (kiln_image_list_count (list, NULL, -1, NULL), ==, 6);
}

static void
reloaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (kiln_image_list_reload_finish (KILN_IMAGE_LIST (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

/* The async reload reads on a worker; an image refreshed meanwhile keeps
 * what the refresh read, not the older read. */
static void
test_image_list_async (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 a = kiln_test_add_image (p, "images/cat/a.jpg", "cat");
  g_autoptr(KilnImageList) list = kiln_image_list_new (p);
  gboolean done = FALSE;

  kiln_image_list_reload_async (list, NULL, reloaded, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (n_items (list), ==, 1);

  done = FALSE;
  kiln_image_list_reload_async (list, NULL, reloaded, &done);
  /* The worker may have read before or after this discard. */
  g_assert_true (kiln_project_discard_image (p, a, "manual", &error));
  g_assert_true (kiln_image_list_refresh (list, &a, 1, &error));
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (kiln_image_item_get_status (kiln_image_list_lookup (list, a)), ==, KILN_IMAGE_DISCARDED);
}

static void
made (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static KilnProject *
make_project (const char *dir, const char *folder, KilnImportMode mode, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(KilnProgress) progress = kiln_progress_new ("new");

  kiln_project_new_async (dir, folder, mode, progress, made, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return kiln_project_new_finish (result, error);
}

static void
test_new_async (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tree = g_build_filename (f->dir, "tree", NULL);
  g_autofree char *copy = g_build_filename (f->dir, "copy", NULL);
  g_autofree char *empty = g_build_filename (f->dir, "empty", NULL);

  /* A class-folder tree beside the fixture's project. */
  const char *files[] = { "tree/red/1.png", "tree/red/2.png", "tree/blue/1.png", NULL };
  for (guint i = 0; files[i]; i++)
    kiln_test_write_project_file (f->project, files[i], files[i]);

  g_autoptr(KilnProject) copied = make_project (copy, tree, KILN_IMPORT_COPY, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kiln_project_count_images (copied, KILN_IMAGE_KEPT, &error), ==, 3);
  g_assert_true (exists (copied, "images/red/2.png"));

  g_autoptr(KilnProject) fresh = make_project (empty, NULL, KILN_IMPORT_COPY, &error);
  g_assert_no_error (error);
  g_assert_true (kiln_project_exists (empty));
  g_assert_cmpint (kiln_project_count_images (fresh, -1, &error), ==, 0);

  /* A project there already, or a folder with files, is refused. */
  g_assert_null (make_project (empty, NULL, KILN_IMPORT_COPY, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (make_project (tree, NULL, KILN_IMPORT_COPY, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_false (kiln_project_exists (tree));
}

static void
count_notify (GObject *item, GParamSpec *pspec, guint *n)
{
  (*n)++;
}

/* Flags shown before the store has them (an inspection's verdicts as
 * they arrive): one of the same reason is replaced, others stay, the list
 * stays ordered by reason, n-flags notifies only on a change, and the
 * store's next word replaces them. */
static void
test_item_add_flags (void)
{
  g_autoptr(KilnImageRecord) record = kiln_image_record_new ("images/cats/a.jpg", "cats");
  record->id = 7;
  GPtrArray *stored = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);
  g_ptr_array_add (stored, kiln_flag_new (7, "user-review", "odd"));
  g_ptr_array_add (stored, kiln_flag_new (7, "tiny", "old verdict"));
  g_autoptr(KilnImageItem) item = kiln_image_item_new (record, stored);
  guint notified = 0;
  g_signal_connect (item, "notify::n-flags", G_CALLBACK (count_notify), &notified);

  g_autoptr(GPtrArray) arrived = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);
  g_ptr_array_add (arrived, kiln_flag_new (7, "truncated", "ends early"));
  g_ptr_array_add (arrived, kiln_flag_new (7, "tiny", "8 × 8"));
  kiln_image_item_add_flags (item, arrived);
  g_assert_cmpuint (notified, ==, 1);
  GPtrArray *flags = kiln_image_item_get_flags (item);
  g_assert_cmpuint (flags->len, ==, 3);
  g_assert_cmpstr (((KilnFlag *) flags->pdata[0])->reason, ==, "tiny");
  g_assert_cmpstr (((KilnFlag *) flags->pdata[0])->detail, ==, "8 × 8");
  g_assert_cmpstr (((KilnFlag *) flags->pdata[1])->reason, ==, "truncated");
  g_assert_cmpstr (((KilnFlag *) flags->pdata[2])->reason, ==, "user-review");
  kiln_image_item_add_flags (item, arrived);
  g_assert_cmpuint (notified, ==, 1);

  /* The store's word wins. */
  g_autoptr(KilnImageItem) from_store = kiln_image_item_new (record, NULL);
  kiln_image_item_update (item, from_store);
  g_assert_cmpuint (kiln_image_item_get_flags (item)->len, ==, 0);
  g_assert_cmpuint (notified, ==, 2);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/curation/relabel", test_relabel);
  ADD ("/curation/relabel-journal-replayed", test_relabel_journal_replayed);
  ADD ("/curation/history", test_history);
  ADD ("/curation/history-partial-failure", test_history_partial_failure);
  ADD ("/curation/image-list", test_image_list);
  g_test_add_func ("/curation/item-add-flags", test_item_add_flags);
  ADD ("/curation/image-list-async", test_image_list_async);
  ADD ("/curation/new-async", test_new_async);
#undef ADD
  return g_test_run ();
}
