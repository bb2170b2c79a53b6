#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

int
kiln_cli_new (int argc, char **argv)
{
  g_autofree char *folder = NULL;
  gboolean reference = FALSE, as_json = FALSE;
  const GOptionEntry entries[] = {
    { "from", 'f', 0, G_OPTION_ARG_FILENAME, &folder,
      N_("Fill the project from a folder with one sub-folder of images per class"), N_("FOLDER") },
    { "reference", 0, 0, G_OPTION_ARG_NONE, &reference,
      N_("Link to the folder's images instead of copying them (the folder must stay)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;

  if (!kiln_cli_parse ("new", _("PROJECT"),
                       _("Make a new project, empty or from a folder of class folders (copied by "
                         "default, or linked with --reference)."),
                       entries, &argc, &argv))
    return 2;
  if (argc != 2 || (reference && folder == NULL))
    {
      g_printerr ("%s", _("kiln-cli new: give one PROJECT folder (and --from FOLDER to fill it; "
                          "--reference needs --from)\n"));
      return 2;
    }
  const char *project_dir = argv[1];
  g_autoptr(KilnProgress) progress = kiln_progress_new ("new");
  g_autoptr(GAsyncResult) made = NULL;
  if (!as_json && folder != NULL)
    kiln_cli_show_progress (progress, reference ? _("linking images") : _("copying images"));
  /* The window makes projects through the same core call. */
  kiln_project_new_async (project_dir, folder, reference ? KILN_IMPORT_REFERENCE : KILN_IMPORT_COPY, progress,
                          kiln_cli_keep_result, &made);
  project = kiln_project_new_finish (kiln_cli_wait (&made), &error);
  if (folder != NULL)
    kiln_cli_status_done ();
  if (project == NULL)
    return kiln_cli_fail ("new", error);

  g_autoptr(KilnLabelSet) set = kiln_project_get_label_set (project, NULL, NULL, NULL, &error);
  if (set == NULL)
    return kiln_cli_fail ("new", error);
  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "project");
      json_builder_add_string_value (builder, kiln_project_get_path (project));
      json_builder_set_member_name (builder, "classes");
      json_builder_add_int_value (builder, set->classes->len);
      json_builder_set_member_name (builder, "images");
      json_builder_add_int_value (builder, set->paths->len);
      json_builder_set_member_name (builder, "mode");
      json_builder_add_string_value (builder, folder == NULL ? "empty" : reference ? "reference" : "copy");
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  g_print (_("%s: %u classes, %u images%s\n"), kiln_project_get_path (project), set->classes->len,
           set->paths->len, reference ? _(" (linked)") : "");
  return 0;
}
