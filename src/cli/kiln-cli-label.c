#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

/* Per-class image counts of @set as a JSON object member "classes". */
static void
add_classes (JsonBuilder        *builder,
             const KilnLabelSet *set)
{
  g_autofree guint *counts = g_new0 (guint, set->classes->len + 1);

  for (guint i = 0; i < set->labels->len; i++)
    counts[g_array_index (set->labels, int, i)]++;
  json_builder_set_member_name (builder, "classes");
  json_builder_begin_array (builder);
  for (guint c = 0; c < set->classes->len; c++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "label");
      json_builder_add_int_value (builder, c);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, set->classes->pdata[c]);
      json_builder_set_member_name (builder, "images");
      json_builder_add_int_value (builder, counts[c]);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

int
kiln_cli_label (int argc, char **argv)
{
  gboolean as_json = FALSE, image_folder = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *label_file = NULL;
  g_autofree char *class_file = NULL;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir,
      N_("Label the project's images/ folder and add new images to its store"), N_("DIR") },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &label_file,
      N_("Where to write the “path label” file (default: labels.txt beside the images)"), N_("FILE") },
    { "classes", 'c', 0, G_OPTION_ARG_FILENAME, &class_file,
      N_("Where to write the “index name” class file (default: classes.txt)"), N_("FILE") },
    { "image-folder", 0, 0, G_OPTION_ARG_NONE, &image_folder,
      N_("Number classes as torchvision's ImageFolder does (case-sensitive, no root class)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(KilnLabelSet) set = NULL;
  g_autofree char *root = NULL;
  g_autofree char *base = NULL;
  guint added = 0;

  if (!kiln_cli_parse ("label", _("[FOLDER]"),
                       _("Label images by folder: one class per sub-folder, sorted without regard "
                         "to case; images directly in FOLDER form the class ROOT."),
                       entries, &argc, &argv))
    return 2;

  if (project_dir != NULL)
    {
      project = kiln_project_open (project_dir, &error);
      if (project == NULL)
        return kiln_cli_fail ("label", error);
      root = kiln_project_build_path (project, "images");
      base = g_strdup (kiln_project_get_path (project));
    }
  else if (argc == 2)
    {
      root = g_strdup (argv[1]);
      base = g_strdup (argv[1]);
    }
  else
    {
      g_printerr (_("kiln-cli label: give a FOLDER or --project DIR\n"));
      return 2;
    }
  if (label_file == NULL)
    label_file = g_build_filename (base, "labels.txt", NULL);
  if (class_file == NULL)
    class_file = g_build_filename (base, "classes.txt", NULL);

  set = image_folder ? kiln_labels_read_image_folder (root, NULL, &error)
                     : kiln_labels_from_folder (root, NULL, &error);
  if (set == NULL || !kiln_labels_write (set, label_file, class_file, &error))
    return kiln_cli_fail ("label", error);
  if (project != NULL && !kiln_project_add_label_set (project, set, "images", &added, &error))
    return kiln_cli_fail ("label", error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "images");
      json_builder_add_int_value (builder, set->paths->len);
      add_classes (builder, set);
      json_builder_set_member_name (builder, "label_file");
      json_builder_add_string_value (builder, label_file);
      json_builder_set_member_name (builder, "class_file");
      json_builder_add_string_value (builder, class_file);
      if (project != NULL)
        {
          json_builder_set_member_name (builder, "added_to_project");
          json_builder_add_int_value (builder, added);
        }
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }

  for (guint c = 0; c < set->classes->len; c++)
    {
      guint n = 0;
      for (guint i = 0; i < set->labels->len; i++)
        n += g_array_index (set->labels, int, i) == (int) c;
      g_autofree char *name = kiln_cli_pad (set->classes->pdata[c], 24);
      g_print ("%3u  %s %u\n", c, name, n);
    }
  g_print (_("%u images in %u classes; wrote %s and %s\n"), set->paths->len, set->classes->len,
           label_file, class_file);
  if (project != NULL)
    g_print (_("%u new images added to the project\n"), added);
  return 0;
}
