/* kiln-cli classes: list a project's classes with their counts, and rename,
 * merge, drop (discard every image, reversibly) or restore one. The window's
 * Dataset page makes the same core calls. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

static int
list_classes (KilnProject *project, gboolean as_json)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = kiln_project_list_classes (project, &error);
  g_autoptr(GHashTable) kept = names ? kiln_project_count_by_class (project, KILN_IMAGE_KEPT, &error) : NULL;
  g_autoptr(GHashTable) dropped = kept ? kiln_project_count_by_class (project, KILN_IMAGE_DISCARDED, &error) : NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (dropped == NULL)
    return kiln_cli_fail ("classes", error);
  json_builder_begin_array (b);
  for (guint i = 0; names[i] != NULL; i++)
    {
      guint n_kept = GPOINTER_TO_UINT (g_hash_table_lookup (kept, names[i]));
      guint n_dropped = GPOINTER_TO_UINT (g_hash_table_lookup (dropped, names[i]));

      if (!as_json)
        {
          /* Tab-separated: the name may hold spaces. */
          if (n_dropped > 0)
            g_print (_("%s\t%u kept\t%u dropped\n"), names[i], n_kept, n_dropped);
          else
            g_print (_("%s\t%u kept\n"), names[i], n_kept);
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, names[i]);
      json_builder_set_member_name (b, "kept");
      json_builder_add_int_value (b, n_kept);
      json_builder_set_member_name (b, "dropped");
      json_builder_add_int_value (b, n_dropped);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (as_json)
    kiln_cli_print_json (b);
  return 0;
}

int
kiln_cli_classes (int argc, char **argv)
{
  gboolean as_json = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *split = NULL;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("The project"), N_("DIR") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
      N_("export: also write train.txt, val.txt and test.txt of this split"), N_("NAME") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print the list as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  const char *verb;
  guint n = 0;
  gboolean ok;

  if (!kiln_cli_parse ("classes", _("list | rename OLD NEW | merge SOURCE TARGET | drop NAME | restore NAME | export FOLDER"),
                       _("List the classes with their image counts, or change one: rename it (its folder "
                         "follows), merge it into another, drop it (its images are discarded, not "
                         "deleted) or restore a dropped one; or export the kept images as label files (labels.txt, "
                         "classes.txt, and a split's subsets)."),
                       entries, &argc, &argv))
    return 2;
  verb = argc >= 2 ? argv[1] : "list";
  if (project_dir == NULL)
    {
      g_printerr (_("kiln-cli classes: give --project DIR\n"));
      return 2;
    }
  if ((g_str_equal (verb, "list") && argc > 2)
      || ((g_str_equal (verb, "rename") || g_str_equal (verb, "merge")) && argc != 4)
      || ((g_str_equal (verb, "drop") || g_str_equal (verb, "restore") || g_str_equal (verb, "export"))
          && argc != 3)
      || !g_strv_contains ((const char *[]) { "list", "rename", "merge", "drop", "restore", "export", NULL }, verb))
    {
      g_printerr (_("kiln-cli classes: use list, rename OLD NEW, merge SOURCE TARGET, drop NAME, "
                    "restore NAME or export FOLDER\n"));
      return 2;
    }

  project = kiln_project_open (project_dir, &error);
  if (project == NULL)
    return kiln_cli_fail ("classes", error);
  if (g_str_equal (verb, "list"))
    return list_classes (project, as_json);
  if (g_str_equal (verb, "export"))
    {
      if (!kiln_project_export_labels (project, split, argv[2], &error))
        return kiln_cli_fail ("classes", error);
      g_print (_("Label files written to %s\n"), argv[2]);
      return 0;
    }

  if (g_str_equal (verb, "rename"))
    ok = kiln_project_rename_class (project, argv[2], argv[3], &n, &error);
  else if (g_str_equal (verb, "merge"))
    ok = kiln_project_merge_class (project, argv[2], argv[3], &n, &error);
  else if (g_str_equal (verb, "drop"))
    ok = kiln_project_drop_class (project, argv[2], &n, &error);
  else
    ok = kiln_project_restore_class (project, argv[2], &n, &error);
  if (!ok)
    return kiln_cli_fail ("classes", error);

  if (g_str_equal (verb, "rename"))
    g_print (g_dngettext (GETTEXT_PACKAGE, "Renamed %s to %s (%u image)\n", "Renamed %s to %s (%u images)\n", n),
             argv[2], argv[3], n);
  else if (g_str_equal (verb, "merge"))
    g_print (g_dngettext (GETTEXT_PACKAGE, "Merged %s into %s (%u image)\n", "Merged %s into %s (%u images)\n", n),
             argv[2], argv[3], n);
  else if (g_str_equal (verb, "drop"))
    g_print (g_dngettext (GETTEXT_PACKAGE, "Dropped %s: %u image discarded (kiln-cli classes restore brings it back)\n",
                          "Dropped %s: %u images discarded (kiln-cli classes restore brings them back)\n", n),
             argv[2], n);
  else
    g_print (g_dngettext (GETTEXT_PACKAGE, "Restored %s: %u image\n", "Restored %s: %u images\n", n), argv[2], n);
  return 0;
}
