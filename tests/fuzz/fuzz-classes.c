/* libFuzzer target for class-definition files ("index name" lines, the
 * mlimages/Caffe form): the bytes are the class file of a one-image label
 * file. A label set or a GError; a set's classes run from 0 without gaps,
 * each named, at most KILN_LABELS_MAX_CLASSES of them (a huge index once
 * made a table of gigabytes). */
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>

#include "kiln-labels.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *dir;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (dir == NULL)
    dir = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? g_mkdtemp (g_strdup ("/dev/shm/kiln-fuzz-classes-XXXXXX"))
                                                       : g_dir_make_tmp ("kiln-fuzz-classes-XXXXXX", NULL);
  g_autofree char *labels = g_build_filename (dir, "labels.txt", NULL);
  g_autofree char *classes = g_build_filename (dir, "classes.txt", NULL);

  if (!g_file_set_contents (labels, "a.png 0\n", -1, NULL) ||
      !g_file_set_contents (classes, (const char *) data, (gssize) size, NULL))
    return 0;
  g_autoptr(KilnLabelSet) set = kiln_labels_read (labels, classes, NULL);
  if (set == NULL)
    return 0;
  g_assert_cmpuint (set->classes->len, >=, 1);
  g_assert_cmpuint (set->classes->len, <=, KILN_LABELS_MAX_CLASSES);
  for (guint i = 0; i < set->classes->len; i++)
    {
      const char *name = set->classes->pdata[i];
      g_assert_nonnull (name);
      g_assert_cmpuint (strlen (name), >, 0);
    }

  /* Written back (names escaped) and read again: the same classes. */
  g_autofree char *labels2 = g_build_filename (dir, "labels2.txt", NULL);
  g_autofree char *classes2 = g_build_filename (dir, "classes2.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (kiln_labels_write (set, labels2, classes2, &error));
  g_autoptr(KilnLabelSet) again = kiln_labels_read (labels2, classes2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->classes->len, ==, set->classes->len);
  for (guint i = 0; i < set->classes->len; i++)
    g_assert_cmpstr (again->classes->pdata[i], ==, set->classes->pdata[i]);
  return 0;
}
