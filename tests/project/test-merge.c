/* kiln_project_merge on hand-made projects: what the gather test cannot
 * reach. A discarded image keeps its status, reason and original path;
 * flags travel; a taken name with other bytes becomes "-2"; the same
 * bytes under another name are a duplicate, a hash 3 bits away a near
 * duplicate, a hash close to a placeholder only the other project knew a
 * placeholder; a kept outcome replaces a rejected one and names the file
 * where it landed; a second merge adds nothing. */
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

#define CAT_HASH G_GUINT64_CONSTANT (0xf0f0f0f0f0f0f0f0)
#define CARD_HASH G_GUINT64_CONSTANT (0x123456789abcdef0)

static gint64
add (KilnProject *project, const char *path, const char *bytes, guint64 phash)
{
  g_autoptr(KilnImageRecord) record = kiln_image_record_new (path, "cat");
  g_autoptr(GError) error = NULL;

  kiln_test_write_project_file (project, path, bytes);
  record->sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, bytes, -1);
  record->phash = phash;
  record->has_phash = phash != 0;
  g_assert_true (kiln_project_add_image (project, record, &error));
  g_assert_no_error (error);
  return record->id;
}

static KilnProject *
open_in (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  KilnProject *project = kiln_project_open (path, &error);

  g_assert_no_error (error);
  return project;
}

static KilnFlag *
flag_of (KilnProject *project, const char *path, const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnImageRecord) record = kiln_project_find_image (project, path, &error);
  g_autoptr(GPtrArray) flags = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (record);
  flags = kiln_project_list_flags (project, record->id, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < flags->len; i++)
    {
      KilnFlag *f = flags->pdata[i];
      if (g_str_equal (f->reason, reason))
        return kiln_flag_new (f->image_id, f->reason, f->detail);
    }
  return NULL;
}

static void
assert_file (KilnProject *project, const char *path, const char *bytes)
{
  g_autofree char *abs_path = kiln_project_build_path (project, path);
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (abs_path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, bytes);
}

static void
test_merge_rows (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-merge-XXXXXX", NULL);
  g_autoptr(KilnProject) a = open_in (dir, "a");
  g_autoptr(KilnProject) b = open_in (dir, "b");
  g_autoptr(KilnProject) dest = open_in (dir, "dest");
  KilnMergeStats stats = { 0 }, again = { 0 };
  gint64 cat = add (a, "images/cat/a.jpg", "the cat of A", CAT_HASH);
  gint64 dog = add (a, "images/cat/b.jpg", "a dog filed as a cat", 0);

  g_assert_true (kiln_project_set_flag (a, cat, "blurry", "sharpness 3.1", &error));
  g_assert_true (kiln_project_discard_image (a, dog, "wrong-class", &error));
  g_assert_true (kiln_project_add_placeholder (a, CARD_HASH, "card.png", &error));
  g_assert_true (kiln_project_record_download (a, "http://h/x.jpg", NULL, KILN_DOWNLOAD_REJECTED, 404,
                                               "http: 404", NULL, &error));
  add (b, "images/cat/a.jpg", "the cat of B", 0);
  add (b, "images/cat/c.jpg", "the cat of A", 0);
  add (b, "images/cat/d.jpg", "almost the cat of A", CAT_HASH ^ 0x7);
  add (b, "images/cat/e.jpg", "a card", CARD_HASH ^ 0x1);
  g_assert_true (kiln_project_record_download (b, "http://h/x.jpg", NULL, KILN_DOWNLOAD_KEPT, 200, "kept",
                                               "images/cat/a.jpg", &error));
  g_assert_no_error (error);

  g_assert_true (kiln_project_merge (dest, kiln_project_get_path (a), 4, &stats, NULL, &error));
  g_assert_true (kiln_project_merge (dest, kiln_project_get_path (b), 4, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.n_images, ==, 6);
  g_assert_cmpuint (stats.n_renamed, ==, 1);
  g_assert_cmpuint (stats.n_duplicates, ==, 1);
  g_assert_cmpuint (stats.n_near, ==, 1);
  g_assert_cmpuint (stats.n_placeholder_matches, ==, 1);
  g_assert_cmpuint (stats.n_placeholders, ==, 1);

  /* The discarded image: moved file, status, reason and origin kept. */
  g_autoptr(GPtrArray) discarded = kiln_project_list_images (dest, NULL, KILN_IMAGE_DISCARDED, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (discarded->len, ==, 1);
  KilnImageRecord *d = discarded->pdata[0];
  g_assert_cmpstr (d->path, ==, "discarded/wrong-class/cat/b.jpg");
  g_assert_cmpstr (d->discard_reason, ==, "wrong-class");
  g_assert_cmpstr (d->original_path, ==, "images/cat/b.jpg");
  assert_file (dest, d->path, "a dog filed as a cat");

  g_autoptr(KilnFlag) blurry = flag_of (dest, "images/cat/a.jpg", "blurry");
  g_assert_nonnull (blurry);
  g_assert_cmpstr (blurry->detail, ==, "sharpness 3.1");
  assert_file (dest, "images/cat/a.jpg", "the cat of A");
  assert_file (dest, "images/cat/a-2.jpg", "the cat of B");
  g_autoptr(KilnFlag) duplicate = flag_of (dest, "images/cat/c.jpg", "duplicate");
  g_assert_nonnull (duplicate);
  g_assert_nonnull (strstr (duplicate->detail, "images/cat/a.jpg"));
  g_autoptr(KilnFlag) near = flag_of (dest, "images/cat/d.jpg", "near-duplicate");
  g_assert_nonnull (near);
  g_assert_nonnull (strstr (near->detail, "3 bits"));
  g_autoptr(KilnFlag) card = flag_of (dest, "images/cat/e.jpg", "placeholder");
  g_assert_nonnull (card);
  g_assert_null (flag_of (dest, "images/cat/a-2.jpg", "duplicate"));

  /* B's kept outcome wins over A's 404 and names B's file where it landed. */
  g_autoptr(KilnDownloadRecord) x = kiln_project_get_download (dest, "http://h/x.jpg", &error);
  g_assert_no_error (error);
  g_assert_cmpint (x->outcome, ==, KILN_DOWNLOAD_KEPT);
  g_assert_cmpstr (x->file, ==, "images/cat/a-2.jpg");

  g_assert_true (kiln_project_merge (dest, kiln_project_get_path (a), 4, &again, NULL, &error));
  g_assert_true (kiln_project_merge (dest, kiln_project_get_path (b), 4, &again, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (again.n_images, ==, 0);
  g_assert_cmpuint (again.n_downloads, ==, 0);
  g_assert_cmpuint (again.n_already, ==, 6);
  g_assert_cmpint (kiln_project_count_images (dest, -1, &error), ==, 6);

  /* A folder that is no project is refused, and nothing is created in it. */
  g_autofree char *nowhere = g_build_filename (dir, "nowhere", NULL);
  g_assert_false (kiln_project_merge (dest, nowhere, 4, &again, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (nowhere, G_FILE_TEST_EXISTS));

  g_clear_object (&a);
  g_clear_object (&b);
  g_clear_object (&dest);
  kiln_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/project/merge/rows", test_merge_rows);
  return g_test_run ();
}
