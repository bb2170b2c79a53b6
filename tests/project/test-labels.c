/* kiln-labels: labeling a folder tree (nested folders, spaces, UTF-8,
 * escapes), the label and class files round trip, ImageFolder order, and
 * IDX import from synthetic files and from Debian's Fashion-MNIST. */
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void
touch (const char *root,
       const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_set_contents (path, relative, -1, &error);
  g_assert_no_error (error);
}

/* A tree with nested folders, spaces, UTF-8, a hidden folder, an empty
 * class folder, a non-image file and images in the root. */
static char *
make_tree (void)
{
  g_autoptr(GError) error = NULL;
  char *root = g_dir_make_tmp ("kiln-labels-XXXXXX", &error);
  const char *files[] = {
    "zeta/sub dir/deep/z 1.JPG",
    "zeta/a.png",
    "b cats/photo one.jpg",
    "b cats/photo two.jpeg",
    "b cats/notes.txt",
    "Apple/red.gif",
    "ünïcode ß/日本.png",
    "ünïcode ß/we\\ird\nname.jpg",
    ".hidden/secret.jpg",
    "root one.png",
    "root two.bmp",
    "readme.md",
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    touch (root, files[i]);
  g_autofree char *empty = g_build_filename (root, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  return root;
}

static void
assert_set_equal (const KilnLabelSet *a,
                  const KilnLabelSet *b)
{
  g_assert_cmpuint (a->classes->len, ==, b->classes->len);
  for (guint i = 0; i < a->classes->len; i++)
    g_assert_cmpstr (a->classes->pdata[i], ==, b->classes->pdata[i]);
  g_assert_cmpuint (a->paths->len, ==, b->paths->len);
  for (guint i = 0; i < a->paths->len; i++)
    {
      g_assert_cmpstr (a->paths->pdata[i], ==, b->paths->pdata[i]);
      g_assert_cmpint (g_array_index (a->labels, int, i), ==, g_array_index (b->labels, int, i));
    }
}

static int
label_of (const KilnLabelSet *set,
          const char         *path)
{
  for (guint i = 0; i < set->paths->len; i++)
    if (g_str_equal (set->paths->pdata[i], path))
      return g_array_index (set->labels, int, i);
  return -1;
}

static void
test_label_tree_round_trip (void)
{
  g_autofree char *root = make_tree ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelSet) set = kiln_labels_from_folder (root, NULL, &error);
  const char *classes[] = { "Apple", "b cats", "zeta", "ünïcode ß", KILN_LABELS_ROOT_CLASS };

  g_assert_no_error (error);
  g_assert_cmpuint (set->classes->len, ==, G_N_ELEMENTS (classes));
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    g_assert_cmpstr (set->classes->pdata[i], ==, classes[i]);
  g_assert_cmpuint (set->paths->len, ==, 9);
  g_assert_cmpint (label_of (set, "Apple/red.gif"), ==, 0);
  g_assert_cmpint (label_of (set, "b cats/photo one.jpg"), ==, 1);
  g_assert_cmpint (label_of (set, "zeta/sub dir/deep/z 1.JPG"), ==, 2);
  g_assert_cmpint (label_of (set, "ünïcode ß/日本.png"), ==, 3);
  g_assert_cmpint (label_of (set, "ünïcode ß/we\\ird\nname.jpg"), ==, 3);
  g_assert_cmpint (label_of (set, "root one.png"), ==, 4);
  g_assert_cmpint (label_of (set, "b cats/notes.txt"), ==, -1);
  g_assert_cmpint (label_of (set, ".hidden/secret.jpg"), ==, -1);

  g_autofree char *label_file = g_build_filename (root, "labels.txt", NULL);
  g_autofree char *class_file = g_build_filename (root, "classes.txt", NULL);
  kiln_labels_write (set, label_file, class_file, &error);
  g_assert_no_error (error);

  /* The text keeps ordinary paths as they are and escapes the rest. */
  g_autofree char *text = NULL;
  g_file_get_contents (label_file, &text, NULL, &error);
  g_assert_nonnull (strstr (text, "\nb cats/photo one.jpg 1\n"));
  g_assert_nonnull (strstr (text, "\nünïcode ß/we\\\\ird\\nname.jpg 3\n"));
  g_autofree char *class_text = NULL;
  g_file_get_contents (class_file, &class_text, NULL, &error);
  g_assert_cmpstr (class_text, ==, "0 Apple\n1 b cats\n2 zeta\n3 ünïcode ß\n4 ROOT\n");

  g_autoptr(KilnLabelSet) back = kiln_labels_read (label_file, class_file, &error);
  g_assert_no_error (error);
  assert_set_equal (set, back);

  /* Without a class file the classes are numbers. */
  g_autoptr(KilnLabelSet) numbered = kiln_labels_read (label_file, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (numbered->classes->len, ==, 5);
  g_assert_cmpstr (numbered->classes->pdata[4], ==, "4");

  /* Every listed path names a real file. */
  for (guint i = 0; i < back->paths->len; i++)
    {
      g_autofree char *path = g_build_filename (root, back->paths->pdata[i], NULL);
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
    }
  kiln_test_remove_tree (root);
}

static void
test_image_folder_order (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("kiln-imagefolder-XXXXXX", &error);

  touch (root, "apple/1.jpg");
  touch (root, "Zebra/1.jpg");
  touch (root, "Zebra/2.png");
  touch (root, "loose.jpg");
  /* torchvision sorts by code point: "Zebra" before "apple", and ignores
   * files in the root. */
  g_autoptr(KilnLabelSet) set = kiln_labels_read_image_folder (root, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->classes->len, ==, 2);
  g_assert_cmpstr (set->classes->pdata[0], ==, "Zebra");
  g_assert_cmpstr (set->classes->pdata[1], ==, "apple");
  g_assert_cmpuint (set->paths->len, ==, 3);
  g_assert_cmpint (label_of (set, "apple/1.jpg"), ==, 1);

  /* mlimages' order is case-insensitive and keeps root images. */
  g_autoptr(KilnLabelSet) ml = kiln_labels_from_folder (root, NULL, &error);
  g_assert_cmpstr (ml->classes->pdata[0], ==, "apple");
  g_assert_cmpstr (ml->classes->pdata[1], ==, "Zebra");
  g_assert_cmpstr (ml->classes->pdata[2], ==, "ROOT");

  g_autoptr(KilnLabelSet) none = kiln_labels_from_folder ("/nonexistent/kiln", NULL, &error);
  g_assert_null (none);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  kiln_test_remove_tree (root);
}

static void
test_read_errors (void)
{
  struct {
    const char *labels;
    const char *classes;
    const char *message;
  } cases[] = {
    { "a.jpg x\n", NULL, "not a label number" },
    { "nolabel\n", NULL, "no space" },
    { "bad\\tescape.jpg 0\n", NULL, "backslash" },
    { "a.jpg 0\nb.jpg 2\n", "0 one\n1 two\n", "defines only 2" },
    { "a.jpg 0\n", "0 one\n2 three\n", "class 1 is missing" },
    { "a.jpg 0\n", "0 one\n0 again\n", "defined twice" },
    /* Found by fuzz-classes: a huge index or label made a table that big
     * (gigabytes) before any check. */
    { "a.jpg 0\n", "1999999999 far\n", "at most 999999" },
    { "a.jpg 2147483647\n", NULL, "at most 999999" },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-labels-bad-XXXXXX", &error);
  g_autofree char *label_file = g_build_filename (dir, "labels.txt", NULL);
  g_autofree char *class_file = g_build_filename (dir, "classes.txt", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_file_set_contents (label_file, cases[i].labels, -1, &error);
      if (cases[i].classes)
        g_file_set_contents (class_file, cases[i].classes, -1, &error);
      g_assert_no_error (error);
      g_autoptr(KilnLabelSet) set = kiln_labels_read (label_file, cases[i].classes ? class_file : NULL,
                                                      &error);
      g_test_message ("case %u: %s", i, error ? error->message : "(no error)");
      g_assert_null (set);
      g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_clear_error (&error);
    }

  /* CRLF line ends and tabs are accepted. */
  g_file_set_contents (label_file, "a b.jpg\t1\r\nc.jpg 0\r\n", -1, &error);
  g_autoptr(KilnLabelSet) crlf = kiln_labels_read (label_file, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (crlf->paths->pdata[0], ==, "a b.jpg");
  g_assert_cmpint (g_array_index (crlf->labels, int, 0), ==, 1);
  kiln_test_remove_tree (dir);
}


/* Synthetic IDX pairs, plain and gzip-compressed: pixels encode the image
 * index, so each PNG can be traced back. */
static void
test_idx_synthetic (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-idx-XXXXXX", &error);
  g_autoptr(GByteArray) images = g_byte_array_new ();
  g_autoptr(GByteArray) labels = g_byte_array_new ();
  const guint n = 12, rows = 4, cols = 5;
  const char *classes[] = { "zero", "one", "two", NULL };

  kiln_test_put_be32 (images, 0x00000803);
  kiln_test_put_be32 (images, n);
  kiln_test_put_be32 (images, rows);
  kiln_test_put_be32 (images, cols);
  kiln_test_put_be32 (labels, 0x00000801);
  kiln_test_put_be32 (labels, n);
  for (guint i = 0; i < n; i++)
    {
      guint8 label = i % 3;
      g_byte_array_append (labels, &label, 1);
      for (guint p = 0; p < rows * cols; p++)
        {
          guint8 v = (guint8) (i * 20 + p);
          g_byte_array_append (images, &v, 1);
        }
    }
  g_autofree char *images_gz = g_build_filename (dir, "img.idx3-ubyte.gz", NULL);
  g_autofree char *labels_raw = g_build_filename (dir, "lab.idx1-ubyte", NULL);
  kiln_test_write_gz (images_gz, images->data, images->len);
  g_file_set_contents (labels_raw, (char *) labels->data, labels->len, &error);
  g_assert_no_error (error);

  g_autofree char *out = g_build_filename (dir, "out", NULL);
  g_autoptr(KilnLabelSet) set = kiln_labels_import_idx (images_gz, labels_raw, classes, out,
                                                        "t-", 0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->paths->len, ==, n);
  g_assert_cmpstr (set->paths->pdata[4], ==, "one/t-00004.png");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_build_filename (out, set->paths->pdata[i], NULL);
      g_autoptr(GdkPixbuf) pixbuf = kiln_image_load (path, NULL, NULL, &error);
      guint8 gray[4 * 5];

      g_assert_no_error (error);
      g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, cols);
      g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, rows);
      kiln_image_to_u8 (pixbuf, KILN_CHANNELS_GRAY, gray);
      g_assert_cmpmem (gray, sizeof gray, images->data + 16 + i * rows * cols, rows * cols);
      g_assert_cmpint (g_array_index (set->labels, int, i), ==, (int) (i % 3));
    }

  /* A limit imports the first images only. */
  g_autofree char *out2 = g_build_filename (dir, "out2", NULL);
  g_autoptr(KilnLabelSet) five = kiln_labels_import_idx (images_gz, labels_raw, NULL, out2, "",
                                                         5, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (five->paths->len, ==, 5);
  g_assert_cmpstr (five->classes->pdata[2], ==, "2");

  /* Swapped files are refused with a message naming the magic. */
  g_autoptr(KilnLabelSet) swapped = kiln_labels_import_idx (labels_raw, images_gz, NULL, out2, "",
                                                            0, NULL, NULL, NULL, &error);
  g_assert_null (swapped);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "magic"));
  g_clear_error (&error);

  /* A truncated image file is refused. */
  g_autofree char *short_images = g_build_filename (dir, "short.idx3-ubyte", NULL);
  g_file_set_contents (short_images, (char *) images->data, images->len - 7, &error);
  g_autoptr(KilnLabelSet) truncated = kiln_labels_import_idx (short_images, labels_raw, NULL, out2,
                                                              "x", 0, NULL, NULL, NULL, &error);
  g_assert_null (truncated);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "truncated"));
  kiln_test_remove_tree (dir);
}

static void
count_progress (guint64  done,
                guint64  total,
                gpointer user_data)
{
  guint64 *last = user_data;

  g_assert_cmpuint (done, >, *last);
  g_assert_cmpuint (done, <=, total);
  *last = done;
}

static void
test_fashion_mnist_subset (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *images_file = g_build_filename (FASHION_DIR, "t10k-images-idx3-ubyte.gz", NULL);
  g_autofree char *labels_file = g_build_filename (FASHION_DIR, "t10k-labels-idx1-ubyte.gz", NULL);
  guint64 last = 0;

  if (!g_file_test (images_file, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Debian's dataset-fashion-mnist is not installed (build-aux/packages.txt [run])");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("kiln-fashion-XXXXXX", &error);
  g_autoptr(KilnLabelSet) set =
    kiln_labels_import_idx (images_file, labels_file, kiln_labels_fashion_mnist_classes, dir,
                            "test-", 500, count_progress, &last, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->paths->len, ==, 500);
  g_assert_cmpuint (last, ==, 500);

  kiln_test_check_fashion_import (dir, "test-", images_file, labels_file, 500);
  /* The first test labels of Fashion-MNIST, as published: 9 2 1 1 6. */
  const char *first[] = { "Ankle_boot/test-00000.png", "Pullover/test-00001.png",
                          "Trouser/test-00002.png", "Trouser/test-00003.png",
                          "Shirt/test-00004.png" };
  for (guint i = 0; i < G_N_ELEMENTS (first); i++)
    g_assert_cmpstr (set->paths->pdata[i], ==, first[i]);

  /* Labeling the imported folders gives the same images, under the
   * case-insensitive class order. */
  g_autoptr(KilnLabelSet) labeled = kiln_labels_from_folder (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (labeled->paths->len, ==, 500);
  g_assert_cmpstr (labeled->classes->pdata[0], ==, "Ankle_boot");
  g_assert_cmpstr (labeled->classes->pdata[9], ==, "Trouser");
  kiln_test_remove_tree (dir);
}

/* The tree's labeler, the store and every subset number classes one way:
 * ROOT last, though "ROOT" sorts before "zeta" by name. */
static void
test_one_class_order (void)
{
  g_autofree char *root = make_tree ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelSet) tree = kiln_labels_from_folder (root, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *parent = g_dir_make_tmp ("kiln-order-XXXXXX", &error);
  g_autofree char *project_dir = g_build_filename (parent, "p", NULL);
  g_autoptr(KilnProject) project = kiln_project_new_from_folder (project_dir, root, KILN_IMPORT_COPY, NULL, &error);
  g_assert_no_error (error);

  g_auto(GStrv) stored = kiln_project_list_classes (project, &error);
  g_autoptr(KilnLabelSet) kept = kiln_project_get_label_set (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (stored), ==, tree->classes->len);
  g_assert_cmpuint (kept->classes->len, ==, tree->classes->len);
  for (guint c = 0; c < tree->classes->len; c++)
    {
      g_assert_cmpstr (stored[c], ==, tree->classes->pdata[c]);
      g_assert_cmpstr (kept->classes->pdata[c], ==, tree->classes->pdata[c]);
    }
  g_assert_cmpstr (stored[tree->classes->len - 1], ==, KILN_LABELS_ROOT_CLASS);
  kiln_test_remove_tree (parent);
}

/* An empty label file is an empty set (found by fuzz-labels: the reader
 * did arithmetic on the NULL an empty mapping gives; UBSan builds abort). */
static void
test_empty_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-empty-labels-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "labels.txt", NULL);
  g_assert_true (g_file_set_contents (path, "", 0, &error));
  g_autoptr(KilnLabelSet) set = kiln_labels_read (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->paths->len, ==, 0);
  kiln_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/labels/tree-round-trip", test_label_tree_round_trip);
  g_test_add_func ("/labels/one-class-order", test_one_class_order);
  g_test_add_func ("/labels/empty-file", test_empty_file);
  g_test_add_func ("/labels/image-folder-order", test_image_folder_order);
  g_test_add_func ("/labels/read-errors", test_read_errors);
  g_test_add_func ("/labels/idx-synthetic", test_idx_synthetic);
  g_test_add_func ("/labels/fashion-mnist-subset", test_fashion_mnist_subset);
  return g_test_run ();
}
