#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

int
kiln_cli_restore (int argc, char **argv)
{
  gboolean as_json = FALSE, all = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *reason = NULL;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("The project"), N_("DIR") },
    { "reason", 'r', 0, G_OPTION_ARG_STRING, &reason,
      N_("Restore the images discarded for this reason"), N_("REASON") },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, N_("Restore every discarded image"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(GPtrArray) images = NULL;
  guint restored = 0;

  if (!kiln_cli_parse ("restore", _("[PATH…]"),
                       _("Move discarded images back where they were (PATH is the image's path in "
                         "the project, before or after it was discarded)."),
                       entries, &argc, &argv))
    return 2;
  if (project_dir == NULL || (!all && reason == NULL && argc < 2))
    {
      g_printerr (_("kiln-cli restore: give --project DIR and PATHs, --reason REASON or --all\n"));
      return 2;
    }
  project = kiln_project_open (project_dir, &error);
  if (project == NULL)
    return kiln_cli_fail ("restore", error);
  images = kiln_project_list_images (project, NULL, KILN_IMAGE_DISCARDED, &error);
  if (images == NULL)
    return kiln_cli_fail ("restore", error);

  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *record = images->pdata[i];
      gboolean wanted = all || g_strcmp0 (record->discard_reason, reason) == 0;

      for (int a = 1; a < argc && !wanted; a++)
        wanted = g_strcmp0 (argv[a], record->path) == 0
                 || g_strcmp0 (argv[a], record->original_path) == 0;
      if (!wanted)
        continue;
      if (!kiln_project_restore_image (project, record->id, &error))
        return kiln_cli_fail ("restore", error);
      if (!as_json)
        g_print (_("restored %s\n"), record->original_path);
      restored++;
    }

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "restored");
      json_builder_add_int_value (builder, restored);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
    }
  return 0;
}
