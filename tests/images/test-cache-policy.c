/* The image caches' location and size limit: a location gives each project
 * its own folder; trimming deletes the oldest thumbnails first and tensor
 * caches last, and stops as soon as the caches fit. */
#include <glib/gstdio.h>
#include <utime.h>

#include "kiln-cache-policy.h"
#include "test-util.h"

static void
write_file (const char *dir, const char *name, gsize size, time_t mtime)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = g_malloc0 (size);
  struct utimbuf times = { mtime, mtime };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, contents, size, NULL));
  g_assert_cmpint (g_utime (path, &times), ==, 0);
}

static gboolean
exists (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
test_location (void)
{
  kiln_cache_policy_set (NULL, 0);
  g_autofree char *own = kiln_cache_dir ("/data/shoes");
  g_assert_cmpstr (own, ==, "/data/shoes/cache");

  kiln_cache_policy_set ("/fast/kiln", 0);
  g_autofree char *a = kiln_cache_dir ("/data/shoes");
  g_autofree char *b = kiln_cache_dir ("/other/shoes");
  g_assert_true (g_str_has_prefix (a, "/fast/kiln/shoes-"));
  g_assert_true (g_str_has_prefix (b, "/fast/kiln/shoes-"));
  /* Two projects of one name keep apart. */
  g_assert_cmpstr (a, !=, b);
  kiln_cache_policy_set ("", 0);
  g_autofree char *back = kiln_cache_dir ("/data/shoes");
  g_assert_cmpstr (back, ==, "/data/shoes/cache");
}

static void
test_trim (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *project = g_dir_make_tmp ("kiln-cache-XXXXXX", &error);
  g_autofree char *cache = g_build_filename (project, "cache", NULL);
  g_autofree char *thumbs = g_build_filename (cache, "thumbnails", "128", NULL);
  time_t now = time (NULL);
  guint64 freed = 0;

  write_file (cache, "images-28x28x1-squash.kilncache", 2000, now - 300);
  write_file (thumbs, "old.png", 1000, now - 200);
  write_file (thumbs, "new.png", 1000, now - 100);

  /* No limit: nothing goes. */
  kiln_cache_policy_set (NULL, 0);
  g_assert_true (kiln_cache_trim (project, &freed, &error));
  g_assert_cmpuint (freed, ==, 0);

  /* 4000 bytes into 3000: the older thumbnail is enough. */
  kiln_cache_policy_set (NULL, 3000);
  g_assert_true (kiln_cache_trim (project, &freed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (freed, ==, 1000);
  g_assert_false (exists (thumbs, "old.png"));
  g_assert_true (exists (thumbs, "new.png"));
  g_assert_true (exists (cache, "images-28x28x1-squash.kilncache"));

  /* Into 1500: thumbnails first though the tensor cache is older, then it. */
  kiln_cache_policy_set (NULL, 1500);
  g_assert_true (kiln_cache_trim (project, &freed, &error));
  g_assert_cmpuint (freed, ==, 3000);
  g_assert_false (exists (thumbs, "new.png"));
  g_assert_false (exists (cache, "images-28x28x1-squash.kilncache"));
  kiln_cache_policy_set (NULL, 0);
  kiln_test_remove_tree (project);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cache-policy/location", test_location);
  g_test_add_func ("/cache-policy/trim", test_trim);
  return g_test_run ();
}
