/* libFuzzer target for IDX files (MNIST's format, gzip or not): the first
 * byte picks where the bytes split into an image file and a label file,
 * which kiln_labels_import_idx turns into at most four PNGs. A label set or
 * a GError; every image it returns is a file under the output folder, and
 * the set has no more than the limit. */
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>

#include "kiln-labels.h"
#include "test-util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define LIMIT 4

static char *dir;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  /* tmpfs where there is one: the PNGs are written with fsync. */
  if (dir == NULL)
    dir = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? g_mkdtemp (g_strdup ("/dev/shm/kiln-fuzz-idx-XXXXXX"))
                                                       : g_dir_make_tmp ("kiln-fuzz-idx-XXXXXX", NULL);
  g_autofree char *images = g_build_filename (dir, "images.idx", NULL);
  g_autofree char *labels = g_build_filename (dir, "labels.idx", NULL);
  g_autofree char *out = g_build_filename (dir, "out", NULL);
  /* The split scales the first byte to the rest's length. */
  gsize rest = size - 1, split = rest * data[0] / 255;

  if (!g_file_set_contents (images, (const char *) data + 1, (gssize) split, NULL) ||
      !g_file_set_contents (labels, (const char *) data + 1 + split, (gssize) (rest - split), NULL))
    return 0;
  g_autoptr(KilnLabelSet) set = kiln_labels_import_idx (images, labels, NULL, out, "img", LIMIT, NULL, NULL,
                                                        NULL, NULL);
  if (set != NULL)
    {
      g_assert_cmpuint (set->paths->len, <=, LIMIT);
      for (guint i = 0; i < set->paths->len; i++)
        {
          const char *path = set->paths->pdata[i];
          g_autofree char *full = g_build_filename (out, path, NULL);
          g_assert_false (g_path_is_absolute (path));
          g_assert_null (strstr (path, ".."));
          g_assert_true (g_file_test (full, G_FILE_TEST_IS_REGULAR));
        }
    }
  kiln_test_remove_tree (out);
  return 0;
}
