/* kiln-cli placeholder: the project's known "photo unavailable" images,
 * which gather and inspect refuse. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-cli.h"
#include "kiln-core.h"

/* An image file's hash, or the hash itself (16 hexadecimal digits, as
 * `placeholder list` prints it). */
static gboolean
hash_of (const char *arg, guint64 *phash, GError **error)
{
  if (strlen (arg) == 16 && !g_file_test (arg, G_FILE_TEST_EXISTS) &&
      g_ascii_string_to_unsigned (arg, 16, 0, G_MAXUINT64, phash, NULL))
    return TRUE;
  return kiln_inspector_placeholder_hash (arg, phash, error);
}

static int
add_images (KilnProject *project, int argc, char **argv)
{
  for (int i = 2; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *name = g_path_get_basename (argv[i]);
      guint64 phash;

      if (!kiln_inspector_placeholder_hash (argv[i], &phash, &error) ||
          !kiln_project_add_placeholder (project, phash, name, &error))
        return kiln_cli_fail ("placeholder", error);
      g_print ("%016" G_GINT64_MODIFIER "x\t%s\n", phash, argv[i]);
    }
  return 0;
}

static int
remove_images (KilnProject *project, int argc, char **argv)
{
  for (int i = 2; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean removed = FALSE;
      guint64 phash;

      if (!hash_of (argv[i], &phash, &error) || !kiln_project_remove_placeholder (project, phash, &removed, &error))
        return kiln_cli_fail ("placeholder", error);
      if (!removed)
        {
          /* %llx, not G_GINT64_MODIFIER: xgettext cuts a message at a macro. */
          g_printerr (_("kiln-cli placeholder: %s (hash %016llx) is not one of the project's placeholders; "
                        "“kiln-cli placeholder list” shows them\n"), argv[i], (unsigned long long) phash);
          return 1;
        }
      g_print ("%016" G_GINT64_MODIFIER "x\t%s\n", phash, argv[i]);
    }
  return 0;
}

static int
list_placeholders (KilnProject *project, gboolean as_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = kiln_project_list_placeholders (project, &error);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (records == NULL)
    return kiln_cli_fail ("placeholder", error);
  json_builder_begin_array (b);
  for (guint i = 0; i < records->len; i++)
    {
      const KilnPlaceholderRecord *r = g_ptr_array_index (records, i);
      g_autofree char *hash = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", r->phash);
      g_autoptr(GDateTime) added = g_date_time_new_from_unix_local (r->added);
      g_autofree char *when = added ? g_date_time_format (added, "%Y-%m-%d %H:%M") : g_strdup ("?");

      if (!as_json)
        {
          g_print ("%s\t%s\t%s\n", hash, when, r->note ? r->note : "");
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "hash");
      json_builder_add_string_value (b, hash);
      json_builder_set_member_name (b, "note");
      json_builder_add_string_value (b, r->note);
      json_builder_set_member_name (b, "added");
      json_builder_add_int_value (b, r->added);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (as_json)
    kiln_cli_print_json (b);
  return 0;
}

int
kiln_cli_placeholder (int argc, char **argv)
{
  g_autofree char *project_dir = NULL;
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("The project"), N_("DIR") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("With list: print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  const char *action;

  if (!kiln_cli_parse ("placeholder", _("add|list|remove [IMAGE…]"),
                       _("The project's placeholders: the “photo unavailable” images its sources answer dead "
                         "links with.\nGathering (every source) and inspecting refuse images that look like them. "
                         "“remove” also takes a hash that “list” printed."),
                       entries, &argc, &argv))
    return 2;
  action = argc >= 2 ? argv[1] : "";
  if (project_dir == NULL ||
      !((g_str_equal (action, "list") && argc == 2) ||
        ((g_str_equal (action, "add") || g_str_equal (action, "remove")) && argc > 2)))
    {
      g_printerr (_("kiln-cli placeholder: give --project DIR and “add IMAGE…”, “list” or “remove IMAGE…”. "
                    "See “kiln-cli placeholder --help”.\n"));
      return 2;
    }
  /* Opening creates a project: a mistyped folder must not become one. */
  if (!kiln_project_exists (project_dir))
    {
      g_printerr (_("kiln-cli placeholder: %s is not a Kiln project (it has no kiln.db); check the path\n"),
                  project_dir);
      return 1;
    }
  project = kiln_project_open (project_dir, &error);
  if (project == NULL)
    return kiln_cli_fail ("placeholder", error);
  if (g_str_equal (action, "add"))
    return add_images (project, argc, argv);
  if (g_str_equal (action, "remove"))
    return remove_images (project, argc, argv);
  return list_placeholders (project, as_json);
}
