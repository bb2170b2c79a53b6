/* Whole-class edits through the core on real files: rename (the folder
 * follows, splits and discards stay with their images), merge (name
 * clashes numbered), drop and restore (nothing deleted), refusals, the
 * journal that finishes moves a failure or crash left after the commit,
 * and kiln-cli classes doing the same. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

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

static KilnImageRecord *
record_of (KilnProject *project, gint64 id)
{
  g_autoptr(GError) error = NULL;
  KilnImageRecord *record = kiln_project_get_image (project, id, &error);
  g_assert_no_error (error);
  return record;
}

static guint
count_of (KilnProject *project, const char *name, KilnImageStatus status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) counts = kiln_project_count_by_class (project, status, &error);
  g_assert_no_error (error);
  g_assert_true (g_hash_table_contains (counts, name));
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, name));
}

static gboolean
has_class (KilnProject *project, const char *name)
{
  g_auto(GStrv) names = kiln_project_list_classes (project, NULL);
  return g_strv_contains ((const char * const *) names, name);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->project = kiln_test_new_project ("kiln-classes", &f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
test_rename (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 a = kiln_test_add_image (p, "images/cat/a.jpg", "cat");
  gint64 b = kiln_test_add_image (p, "images/cat/sub/b.jpg", "cat");
  gint64 c = kiln_test_add_image (p, "images/cat/c.jpg", "cat");
  gint64 d = kiln_test_add_image (p, "images/dog/d.jpg", "dog");
  const gint64 ids[] = { a, b, d };
  const char *subsets[] = { "train", "val", "test" };
  guint n = 0;

  kiln_test_write_project_file (p, "images/cat/by-hand.jpg", "x");
  g_assert_true (kiln_project_discard_image (p, c, "manual", &error));
  g_assert_true (kiln_project_set_split (p, "s", 3, ids, subsets, 3, &error));
  g_assert_no_error (error);

  g_assert_true (kiln_project_rename_class (p, "cat", "kitty", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_false (has_class (p, "cat"));
  g_assert_true (has_class (p, "kitty"));

  g_autoptr(KilnImageRecord) ra = record_of (p, a);
  g_autoptr(KilnImageRecord) rb = record_of (p, b);
  g_autoptr(KilnImageRecord) rc = record_of (p, c);
  g_assert_cmpstr (ra->path, ==, "images/kitty/a.jpg");
  g_assert_cmpstr (ra->class_name, ==, "kitty");
  g_assert_cmpstr (rb->path, ==, "images/kitty/sub/b.jpg");
  g_assert_true (exists (p, "images/kitty/a.jpg"));
  g_assert_true (exists (p, "images/kitty/sub/b.jpg"));
  /* The folder moved whole, with the file copied in by hand. */
  g_assert_true (exists (p, "images/kitty/by-hand.jpg"));
  g_assert_false (exists (p, "images/cat"));
  /* The discarded image stays discarded, and will come back to the new folder. */
  g_assert_cmpint (rc->status, ==, KILN_IMAGE_DISCARDED);
  g_assert_cmpstr (rc->class_name, ==, "kitty");
  g_assert_cmpstr (rc->original_path, ==, "images/kitty/c.jpg");
  g_assert_true (kiln_project_restore_image (p, c, &error));
  g_assert_no_error (error);
  g_assert_true (exists (p, "images/kitty/c.jpg"));

  /* The split holds the same images. */
  g_autoptr(GHashTable) split = kiln_project_get_split (p, "s", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (split, &b), ==, "val");

  /* Refused: an existing name (merge instead), a bad folder name, no such class. */
  g_assert_false (kiln_project_rename_class (p, "kitty", "dog", NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "merge"));
  g_clear_error (&error);
  g_assert_false (kiln_project_rename_class (p, "kitty", "a/b", NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (kiln_project_rename_class (p, "lion", "tiger", NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (exists (p, "images/kitty/a.jpg"));
}

static void
test_merge (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 a = kiln_test_add_image (p, "images/cat/a.jpg", "cat");
  gint64 b = kiln_test_add_image (p, "images/cat/b.jpg", "cat");
  gint64 c = kiln_test_add_image (p, "images/cat/c.jpg", "cat");
  kiln_test_add_image (p, "images/dog/a.jpg", "dog");
  guint n = 0;

  g_assert_true (kiln_project_discard_image (p, c, "manual", &error));
  g_assert_true (kiln_project_merge_class (p, "cat", "dog", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_false (has_class (p, "cat"));
  g_assert_cmpuint (count_of (p, "dog", KILN_IMAGE_KEPT), ==, 3);

  g_autoptr(KilnImageRecord) ra = record_of (p, a);
  g_autoptr(KilnImageRecord) rb = record_of (p, b);
  g_autoptr(KilnImageRecord) rc = record_of (p, c);
  /* dog already had a.jpg: the newcomer is numbered, nothing overwritten. */
  g_assert_cmpstr (ra->path, ==, "images/dog/a-1.jpg");
  g_assert_cmpstr (rb->path, ==, "images/dog/b.jpg");
  g_assert_cmpstr (ra->class_name, ==, "dog");
  g_assert_true (exists (p, "images/dog/a.jpg"));
  g_assert_true (exists (p, "images/dog/a-1.jpg"));
  g_assert_true (exists (p, "images/dog/b.jpg"));
  g_assert_false (exists (p, "images/cat"));
  g_assert_cmpstr (rc->class_name, ==, "dog");
  g_assert_cmpstr (rc->original_path, ==, "images/dog/c.jpg");

  /* Merging into a new name makes the class. */
  g_assert_true (kiln_project_merge_class (p, "dog", "animal", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (count_of (p, "animal", KILN_IMAGE_KEPT), ==, 3);
  g_assert_false (kiln_project_merge_class (p, "animal", "animal", NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

static void
test_drop_restore (Fixture *f, gconstpointer data)
{
  KilnProject *p = f->project;
  g_autoptr(GError) error = NULL;
  gint64 a = kiln_test_add_image (p, "images/cat/a.jpg", "cat");
  kiln_test_add_image (p, "images/cat/b.jpg", "cat");
  gint64 c = kiln_test_add_image (p, "images/cat/c.jpg", "cat");
  kiln_test_add_image (p, "images/dog/d.jpg", "dog");
  guint n = 0;

  g_assert_true (kiln_project_discard_image (p, c, "manual", &error));
  g_assert_true (kiln_project_drop_class (p, "cat", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  /* The class stays, empty; its files wait under discarded/. */
  g_assert_true (has_class (p, "cat"));
  g_assert_cmpuint (count_of (p, "cat", KILN_IMAGE_KEPT), ==, 0);
  g_assert_cmpuint (count_of (p, "cat", KILN_IMAGE_DISCARDED), ==, 2);
  g_assert_cmpuint (count_of (p, "dog", KILN_IMAGE_KEPT), ==, 1);
  g_autoptr(KilnImageRecord) ra = record_of (p, a);
  g_assert_cmpint (ra->status, ==, KILN_IMAGE_DISCARDED);
  g_assert_cmpstr (ra->discard_reason, ==, KILN_CLASS_DROPPED_REASON);
  g_assert_cmpstr (ra->path, ==, "discarded/" KILN_CLASS_DROPPED_REASON "/cat/a.jpg");
  g_assert_true (exists (p, ra->path));
  g_assert_false (exists (p, "images/cat/a.jpg"));
  /* Training no longer sees it. */
  g_autoptr(KilnLabelSet) set = kiln_project_get_label_set (p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->paths->len, ==, 1);

  /* Restore brings back what the drop took, not the image discarded by hand. */
  g_assert_true (kiln_project_restore_class (p, "cat", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (count_of (p, "cat", KILN_IMAGE_KEPT), ==, 2);
  g_assert_true (exists (p, "images/cat/a.jpg"));
  g_assert_true (exists (p, "images/cat/b.jpg"));
  g_assert_false (exists (p, "images/cat/c.jpg"));
  g_assert_false (exists (p, "discarded/" KILN_CLASS_DROPPED_REASON));
  g_autoptr(KilnImageRecord) rc = record_of (p, c);
  g_assert_cmpint (rc->status, ==, KILN_IMAGE_DISCARDED);
}

/* Moves that fail after the commit stay journaled and the next open
 * finishes them: what a crash at that moment leaves behind too. */
static void
test_journal_finishes_moves (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = kiln_test_add_image (f->project, "images/cat/a.jpg", "cat");
  kiln_test_add_image (f->project, "images/cat/b.jpg", "cat");
  kiln_project_add_class (f->project, "dog", &error);
  g_assert_no_error (error);
  /* A plain file where the dog folder should be: no file can move there. */
  kiln_test_write_project_file (f->project, "images/dog", "in the way");

  g_assert_false (kiln_project_merge_class (f->project, "cat", "dog", NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "retries"));
  g_clear_error (&error);
  /* The store already says dog; the files have not moved. */
  g_autoptr(KilnImageRecord) before = record_of (f->project, a);
  g_assert_cmpstr (before->path, ==, "images/dog/a.jpg");
  g_assert_true (exists (f->project, "images/cat/a.jpg"));
  g_clear_object (&f->project);

  g_autofree char *blocker = g_build_filename (f->dir, "images", "dog", NULL);
  g_assert_cmpint (g_unlink (blocker), ==, 0);
  f->project = kiln_project_open (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (exists (f->project, "images/dog/a.jpg"));
  g_assert_true (exists (f->project, "images/dog/b.jpg"));
  g_assert_false (exists (f->project, "images/cat/a.jpg"));
}

static char *
run_ok (const char *const *args)
{
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = kiln_test_run_cli (args, &out, &err);

  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("kiln-cli %s %s failed: %s", args[0], args[1], err);
  return out;
}

static void
test_cli (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  kiln_test_add_image (f->project, "images/cat/a.jpg", "cat");
  kiln_test_add_image (f->project, "images/cat/b.jpg", "cat");
  kiln_test_add_image (f->project, "images/dog/a.jpg", "dog");
  kiln_test_add_image (f->project, "images/owl/o.jpg", "owl");
  g_clear_object (&f->project);

  const char *rename[] = { "classes", "rename", "cat", "kitty", "--project", f->dir, NULL };
  g_free (run_ok (rename));
  const char *merge[] = { "classes", "merge", "kitty", "dog", "--project", f->dir, NULL };
  g_free (run_ok (merge));
  const char *drop[] = { "classes", "drop", "owl", "--project", f->dir, NULL };
  g_free (run_ok (drop));
  const char *list[] = { "classes", "list", "--json", "--project", f->dir, NULL };
  g_autofree char *json = run_ok (list);

  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  JsonArray *rows = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (rows), ==, 2);
  JsonObject *dog = json_array_get_object_element (rows, 0);
  JsonObject *owl = json_array_get_object_element (rows, 1);
  g_assert_cmpstr (json_object_get_string_member (dog, "name"), ==, "dog");
  g_assert_cmpint (json_object_get_int_member (dog, "kept"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (owl, "name"), ==, "owl");
  g_assert_cmpint (json_object_get_int_member (owl, "kept"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (owl, "dropped"), ==, 1);

  g_autofree char *dog_a1 = g_build_filename (f->dir, "images", "dog", "a-1.jpg", NULL);
  g_assert_true (g_file_test (dog_a1, G_FILE_TEST_EXISTS));

  const char *restore[] = { "classes", "restore", "owl", "--project", f->dir, NULL };
  g_free (run_ok (restore));
  g_autofree char *owl_o = g_build_filename (f->dir, "images", "owl", "o.jpg", NULL);
  g_assert_true (g_file_test (owl_o, G_FILE_TEST_EXISTS));

  /* Export: the store's kept images, numbered by classes.txt, and the split's subsets. */
  {
    /* Two images with equal pixels: split --json lists their group. */
    g_autoptr(KilnProject) p = kiln_project_open (f->dir, &error);
    const char *twins[] = { "images/dog/a.jpg", "images/owl/o.jpg" };
    g_assert_no_error (error);
    for (guint i = 0; i < G_N_ELEMENTS (twins); i++)
      {
        g_autoptr(KilnImageRecord) record = kiln_project_find_image (p, twins[i], &error);
        g_assert_no_error (error);
        record->pixel_hash = g_strdup ("same");
        g_assert_true (kiln_project_update_image (p, record, &error));
      }
  }
  const char *split[] = { "split", "--project", f->dir, "--shares", "50,50,0", "--json", NULL };
  g_autofree char *split_json = run_ok (split);
  g_autoptr(JsonParser) split_parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (split_parser, split_json, -1, &error));
  JsonObject *summary = json_node_get_object (json_parser_get_root (split_parser));
  JsonArray *groups = json_object_get_array_member (summary, "groups");
  g_assert_cmpuint (json_array_get_length (groups), ==, 1);
  JsonArray *group = json_array_get_array_element (groups, 0);
  g_assert_cmpuint (json_array_get_length (group), ==, 2);
  g_assert_cmpint (json_object_get_int_member (summary, "near_duplicate_groups"), ==, 1);
  g_autofree char *folder = g_build_filename (f->dir, "out", NULL);
  const char *export[] = { "classes", "export", folder, "--split", "default", "--project", f->dir, NULL };
  g_free (run_ok (export));
  g_autofree char *labels_txt = g_build_filename (folder, "labels.txt", NULL);
  g_autofree char *classes_txt = g_build_filename (folder, "classes.txt", NULL);
  g_autoptr(KilnLabelSet) labels = kiln_labels_read (labels_txt, classes_txt, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (labels->paths->len, ==, 4);
  g_assert_cmpuint (labels->classes->len, ==, 2);
  g_assert_cmpstr (labels->classes->pdata[0], ==, "dog");
  guint owl_at = 0;
  g_assert_true (g_ptr_array_find_with_equal_func (labels->paths, "images/owl/o.jpg", g_str_equal, &owl_at));
  g_assert_cmpint (g_array_index (labels->labels, int, owl_at), ==, 1);
  guint n_subsets = 0;
  for (guint s = 0; s < 3; s++)
    {
      const char *names[] = { "train.txt", "val.txt", "test.txt" };
      g_autofree char *path = g_build_filename (folder, names[s], NULL);
      g_autoptr(KilnLabelSet) subset = kiln_labels_read (path, classes_txt, &error);
      g_assert_no_error (error);
      n_subsets += subset->paths->len;
    }
  g_assert_cmpuint (n_subsets, ==, 4);

  /* A wrong call says what to do, and changes nothing. */
  const char *bad[] = { "classes", "rename", "dog", "--project", f->dir, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = kiln_test_run_cli (bad, &out, &err);
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  g_assert_nonnull (strstr (err, "rename OLD NEW"));
}

/* --no-stratify shuffles one pool: subset totals follow the shares, but a
 * class's share in a subset follows chance. */
static void
test_unstratified_split (void)
{
  int labels[200];
  guint8 subsets[200];
  KilnSplitSpec spec;
  g_autoptr(GError) error = NULL;
  gboolean some_uneven = FALSE;

  for (int i = 0; i < 200; i++)
    labels[i] = i < 100 ? 0 : 1;
  kiln_split_spec_init (&spec);
  spec.fractions[0] = 0.5;
  spec.fractions[1] = 0.5;
  spec.fractions[2] = 0;
  for (guint64 seed = 0; seed < 5; seed++)
    {
      guint train = 0, train0 = 0;

      spec.seed = seed;
      spec.unstratified = FALSE;
      g_assert_true (kiln_dataset_split (labels, 200, &spec, subsets, &error));
      for (int i = 0; i < 100; i++)
        train0 += subsets[i] == KILN_SUBSET_TRAIN;
      g_assert_cmpuint (train0, ==, 50);

      spec.unstratified = TRUE;
      g_assert_true (kiln_dataset_split (labels, 200, &spec, subsets, &error));
      g_assert_no_error (error);
      train0 = 0;
      for (int i = 0; i < 200; i++)
        {
          g_assert_cmpint (subsets[i], !=, KILN_SUBSET_UNUSED);
          train += subsets[i] == KILN_SUBSET_TRAIN;
          train0 += i < 100 && subsets[i] == KILN_SUBSET_TRAIN;
        }
      g_assert_cmpuint (train, ==, 100);
      some_uneven |= train0 != 50;
    }
  g_assert_true (some_uneven);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/classes/rename", test_rename);
  ADD ("/classes/merge", test_merge);
  ADD ("/classes/drop-restore", test_drop_restore);
  ADD ("/classes/journal-finishes-moves", test_journal_finishes_moves);
  ADD ("/classes/cli", test_cli);
#undef ADD
  g_test_add_func ("/classes/unstratified-split", test_unstratified_split);
  return g_test_run ();
}
