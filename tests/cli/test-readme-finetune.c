/* The README's fine-tuning section must work as written: its commands run
 * here, in order, on a small ONNX model (tests/fixtures/onnx/convnet, 3 ×
 * 23 × 23 input) standing in for model.onnx and generated class folders
 * standing in for photos/. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "test-util.h"

static GPtrArray *
readme_commands (void)
{
  const char *source = g_getenv ("KILN_SOURCE_DIR");
  g_assert_nonnull (source);
  g_autofree char *readme = g_build_filename (source, "README.md", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (readme, &text, NULL, NULL));
  const char *begin = strstr (text, "<!-- fine-tuning: begin -->");
  const char *end = begin ? strstr (begin, "<!-- fine-tuning: end -->") : NULL;
  g_assert_nonnull (begin);
  g_assert_nonnull (end);
  g_autofree char *section = g_strndup (begin, end - begin);
  g_auto(GStrv) lines = g_strsplit (section, "\n", -1);
  GPtrArray *commands = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!g_str_has_prefix (lines[i], "kiln-cli "))
        continue;
      char *comment = strstr (lines[i], " #");
      if (comment)
        *comment = '\0';
      g_auto(GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      GPtrArray *args = g_ptr_array_new ();
      for (guint w = 1; words[w] != NULL; w++)
        if (*words[w] != '\0')
          g_ptr_array_add (args, g_strdup (words[w]));
      g_ptr_array_add (args, NULL);
      g_ptr_array_add (commands, g_ptr_array_free (args, FALSE));
    }
  return commands;
}

static void
make_photos (const char *root)
{
  const char *classes[] = { "red", "green", "blue" };
  const guint32 colours[] = { 0xc04020ff, 0x30b040ff, 0x2040c0ff };
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    {
      g_autofree char *folder = g_build_filename (root, classes[c], NULL);
      g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
      for (guint i = 0; i < 20; i++)
        {
          g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 30, 30);
          gdk_pixbuf_fill (pixbuf, colours[c] + (i << 8));
          g_autofree char *name = g_strdup_printf ("%02u.jpg", i);
          g_autofree char *path = g_build_filename (folder, name, NULL);
          g_assert_true (gdk_pixbuf_save (pixbuf, path, "jpeg", NULL, NULL));
        }
    }
}

static void
test_readme_fine_tuning (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-readme-XXXXXX", &error);
  g_autofree char *photos = g_build_filename (dir, "photos", NULL);
  g_autofree char *model = g_build_filename (dir, "model.onnx", NULL);
  g_autofree char *fixture = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", "convnet-opset13.onnx", NULL);
  g_autofree char *bytes = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (fixture, &bytes, &length, NULL));
  g_assert_true (g_file_set_contents (model, bytes, length, NULL));
  make_photos (photos);

  g_autoptr(GPtrArray) commands = readme_commands ();
  g_assert_cmpuint (commands->len, >=, 6);
  g_autofree char *here = g_get_current_dir ();
  g_assert_cmpint (g_chdir (dir), ==, 0);
  for (guint i = 0; i < commands->len; i++)
    {
      const char *const *args = commands->pdata[i];
      g_autofree char *line = g_strjoinv (" ", (char **) args);
      g_autofree char *out = NULL, *err = NULL;
      int status = kiln_test_run_cli (args, &out, &err);
      g_test_message ("kiln-cli %s", line);
      if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        g_error ("README line “kiln-cli %s” failed: %s", line, err);
    }
  g_autofree char *exported = g_build_filename (dir, "pets.onnx", NULL);
  g_assert_true (g_file_test (exported, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_chdir (here), ==, 0);
  kiln_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  kiln_test_isolate_home ();
  g_test_add_func ("/cli/readme/fine-tuning", test_readme_fine_tuning);
  return g_test_run ();
}
