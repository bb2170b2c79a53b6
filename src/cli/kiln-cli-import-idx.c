#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

int
kiln_cli_import_idx (int argc, char **argv)
{
  gboolean as_json = FALSE, fashion = FALSE;
  g_autofree char *images = NULL;
  g_autofree char *labels = NULL;
  g_autofree char *names = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *project_dir = NULL;
  g_autofree char *fashion_dir = NULL;
  int limit = 0;
  const GOptionEntry entries[] = {
    { "images", 'i', 0, G_OPTION_ARG_FILENAME, &images, N_("IDX image file (may be .gz)"), N_("FILE") },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels, N_("IDX label file (may be .gz)"), N_("FILE") },
    { "names", 'n', 0, G_OPTION_ARG_STRING, &names,
      N_("Class names: “fashion-mnist”, “digits” or a comma-separated list (default: digits)"), N_("NAMES") },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, N_("File name prefix, such as “train-”"), N_("TEXT") },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("Import only the first N images"), N_("N") },
    { "fashion-mnist", 0, 0, G_OPTION_ARG_NONE, &fashion,
      N_("Import all of Fashion-MNIST (train and test) from Debian's dataset-fashion-mnist"), NULL },
    { "fashion-mnist-dir", 0, 0, G_OPTION_ARG_FILENAME, &fashion_dir,
      N_("Where the Fashion-MNIST files are (default /usr/share/datasets/fashion-mnist)"), N_("DIR") },
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir,
      N_("Import into the project's images/ folder and add the images to its store"), N_("DIR") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) custom = NULL;
  const char *const *classes = NULL;
  g_autofree char *out = NULL;
  g_autofree guint *counts = NULL;
  guint total = 0, added = 0, n_classes = 0;
  g_autoptr(GPtrArray) class_names = NULL;

  if (!kiln_cli_parse ("import-idx", _("[OUTPUT-FOLDER]"),
                       _("Import MNIST-style IDX files into OUTPUT-FOLDER/<class>/<prefix>NNNNN.png."),
                       entries, &argc, &argv))
    return 2;

  if (project_dir != NULL)
    {
      project = kiln_project_open (project_dir, &error);
      if (project == NULL)
        return kiln_cli_fail ("import-idx", error);
      out = kiln_project_build_path (project, "images");
    }
  else if (argc == 2)
    out = g_strdup (argv[1]);
  else
    {
      g_printerr (_("kiln-cli import-idx: give an OUTPUT-FOLDER or --project DIR\n"));
      return 2;
    }

  if (fashion)
    {
      const char *dir = fashion_dir ? fashion_dir : FASHION_MNIST_DIR;
      g_ptr_array_add (parts, g_build_filename (dir, "train-images-idx3-ubyte.gz", NULL));
      g_ptr_array_add (parts, g_build_filename (dir, "train-labels-idx1-ubyte.gz", NULL));
      g_ptr_array_add (parts, g_strdup ("train-"));
      g_ptr_array_add (parts, g_build_filename (dir, "t10k-images-idx3-ubyte.gz", NULL));
      g_ptr_array_add (parts, g_build_filename (dir, "t10k-labels-idx1-ubyte.gz", NULL));
      g_ptr_array_add (parts, g_strdup ("test-"));
      classes = kiln_labels_fashion_mnist_classes;
    }
  else if (images != NULL && labels != NULL)
    {
      g_ptr_array_add (parts, g_strdup (images));
      g_ptr_array_add (parts, g_strdup (labels));
      g_ptr_array_add (parts, g_strdup (prefix ? prefix : ""));
    }
  else
    {
      g_printerr (_("kiln-cli import-idx: give --images and --labels, or --fashion-mnist\n"));
      return 2;
    }
  if (names != NULL && g_str_equal (names, "fashion-mnist"))
    classes = kiln_labels_fashion_mnist_classes;
  else if (names != NULL && !g_str_equal (names, "digits"))
    {
      custom = g_strsplit (names, ",", -1);
      classes = (const char *const *) custom;
    }

  for (guint p = 0; p < parts->len; p += 3)
    {
      KilnCliProgress progress;
      g_autoptr(KilnLabelSet) set = NULL;
      g_autofree char *what = g_path_get_basename (parts->pdata[p]);

      kiln_cli_progress_init (&progress, what);
      set = kiln_labels_import_idx (parts->pdata[p], parts->pdata[p + 1], classes, out,
                                    parts->pdata[p + 2], limit > 0 ? (guint) limit : 0,
                                    kiln_cli_progress_update, &progress, NULL, &error);
      kiln_cli_progress_end (&progress);
      if (set == NULL)
        return kiln_cli_fail ("import-idx", error);
      if (project != NULL)
        {
          guint n = 0;
          if (!kiln_project_add_label_set (project, set, "images", &n, &error))
            return kiln_cli_fail ("import-idx", error);
          added += n;
        }
      if (class_names == NULL)
        {
          class_names = g_ptr_array_ref (set->classes);
          n_classes = set->classes->len;
          counts = g_new0 (guint, n_classes);
        }
      for (guint i = 0; i < set->labels->len; i++)
        {
          guint label = g_array_index (set->labels, int, i);
          if (label < n_classes)
            counts[label]++;
        }
      total += set->paths->len;
    }

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "images");
      json_builder_add_int_value (builder, total);
      json_builder_set_member_name (builder, "output");
      json_builder_add_string_value (builder, out);
      json_builder_set_member_name (builder, "classes");
      json_builder_begin_object (builder);
      for (guint c = 0; c < n_classes; c++)
        {
          json_builder_set_member_name (builder, class_names->pdata[c]);
          json_builder_add_int_value (builder, counts[c]);
        }
      json_builder_end_object (builder);
      if (project != NULL)
        {
          json_builder_set_member_name (builder, "added_to_project");
          json_builder_add_int_value (builder, added);
        }
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  for (guint c = 0; c < n_classes; c++)
    {
      g_autofree char *name = kiln_cli_pad (class_names->pdata[c], 16);
      g_print ("%s %u\n", name, counts[c]);
    }
  g_print (_("Imported %u images into %s\n"), total, out);
  return 0;
}
