/* libFuzzer target for label files edited by hand: the bytes are split at
 * the first NUL into a "path label" file and a class file, both read back
 * by kiln_labels_read. A label set or a GError; every label it returns
 * names a class it has. */
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>

#include "kiln-labels.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *dir;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* tmpfs where there is one: g_file_set_contents syncs, which on a disk
   * cost 99% of the run time (40 executions a second). */
  if (dir == NULL)
    dir = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? g_mkdtemp (g_strdup ("/dev/shm/kiln-fuzz-labels-XXXXXX"))
                                                       : g_dir_make_tmp ("kiln-fuzz-labels-XXXXXX", NULL);
  g_autofree char *labels = g_build_filename (dir, "labels.txt", NULL);
  g_autofree char *classes = g_build_filename (dir, "classes.txt", NULL);
  const uint8_t *split = memchr (data, '\0', size);
  gsize first = split ? (gsize) (split - data) : size;

  if (!g_file_set_contents (labels, (const char *) data, (gssize) first, NULL) ||
      !g_file_set_contents (classes, split ? (const char *) split + 1 : "", split ? (gssize) (size - first - 1) : 0,
                            NULL))
    return 0;
  for (int with_classes = 0; with_classes < 2; with_classes++)
    {
      g_autoptr(KilnLabelSet) set = kiln_labels_read (labels, with_classes ? classes : NULL, NULL);
      if (set == NULL)
        continue;
      g_assert_cmpuint (set->paths->len, ==, set->labels->len);
      for (guint i = 0; i < set->labels->len; i++)
        g_assert_cmpint (g_array_index (set->labels, int, i), <, (int) set->classes->len);
    }
  return 0;
}
