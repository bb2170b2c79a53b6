/* The whole of Debian's Fashion-MNIST (60,000 training + 10,000 test
 * images) imported into class folders: 70,000 PNGs in 10 folders of 7,000,
 * each with its label and its exact pixels (suite e2e: about half a
 * minute). */
#include <glib/gstdio.h>
#include <unistd.h>

#include "kiln-core.h"
#include "test-util.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void
test_full_import (void)
{
  const char *parts[][3] = {
    { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "train-" },
    { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "test-" },
  };
  const guint counts[] = { 60000, 10000 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  guint total = 0;

  g_autofree char *probe = g_build_filename (FASHION_DIR, parts[0][0], NULL);
  if (!g_file_test (probe, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Debian's dataset-fashion-mnist is not installed (build-aux/packages.txt [run])");
      return;
    }
  /* 70,000 small files: on a disk mounted with "discard" deleting them
   * alone takes minutes, so use memory (/dev/shm, ~300 MB) when there is. */
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && g_access ("/dev/shm", W_OK) == 0)
    {
      dir = g_build_filename ("/dev/shm", "kiln-fashion-full-XXXXXX", NULL);
      g_assert_nonnull (g_mkdtemp (dir));
    }
  else
    {
      dir = g_dir_make_tmp ("kiln-fashion-full-XXXXXX", &error);
      g_assert_no_error (error);
    }
  g_test_message ("importing into %s", dir);

  for (guint p = 0; p < G_N_ELEMENTS (parts); p++)
    {
      g_autofree char *images = g_build_filename (FASHION_DIR, parts[p][0], NULL);
      g_autofree char *labels = g_build_filename (FASHION_DIR, parts[p][1], NULL);
      gint64 start = g_get_monotonic_time ();
      g_autoptr(KilnLabelSet) set =
        kiln_labels_import_idx (images, labels, kiln_labels_fashion_mnist_classes, dir,
                                parts[p][2], 0, NULL, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (set->paths->len, ==, counts[p]);
      g_test_message ("%s: %u images in %.1f s", parts[p][0], set->paths->len,
                      (g_get_monotonic_time () - start) / 1e6);
      total += set->paths->len;

      start = g_get_monotonic_time ();
      kiln_test_check_fashion_import (dir, parts[p][2], images, labels, counts[p]);
      g_test_message ("checked in %.1f s", (g_get_monotonic_time () - start) / 1e6);
    }
  g_assert_cmpuint (total, ==, 70000);

  /* Ten folders of 7,000 (Fashion-MNIST is balanced), labeled back in
   * the case-insensitive order. */
  gint64 start = g_get_monotonic_time ();
  g_autoptr(KilnLabelSet) labeled = kiln_labels_from_folder (dir, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("labeled in %.1f s", (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (labeled->classes->len, ==, 10);
  g_assert_cmpuint (labeled->paths->len, ==, 70000);
  guint per_class[10] = { 0 };
  for (guint i = 0; i < labeled->labels->len; i++)
    per_class[g_array_index (labeled->labels, int, i)]++;
  for (guint c = 0; c < 10; c++)
    g_assert_cmpuint (per_class[c], ==, 7000);

  start = g_get_monotonic_time ();
  kiln_test_remove_tree (dir);
  g_test_message ("removed in %.1f s", (g_get_monotonic_time () - start) / 1e6);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/labels/fashion-mnist-full", test_full_import);
  return g_test_run ();
}
