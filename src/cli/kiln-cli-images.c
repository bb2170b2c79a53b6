#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

/* Whether @reason is an inspector's reason or a flag some image carries:
 * anything else is a typing mistake, not an empty answer. */
static gboolean
known_reason (const char *reason,
              GPtrArray  *flags)
{
  KilnInspectReason inspect_reason;

  if (kiln_inspect_reason_from_string (reason, &inspect_reason))
    return TRUE;
  for (guint i = 0; i < flags->len; i++)
    if (g_str_equal (((KilnFlag *) flags->pdata[i])->reason, reason))
      return TRUE;
  return FALSE;
}

/* Text: a line a flag (@reason's only, when given); JSON: the image with
 * all its flags. */
static void
print_image (const KilnImageRecord *record,
             GPtrArray             *flags,
             guint                  first,
             guint                  end,
             const char            *reason,
             gboolean               as_json,
             JsonBuilder           *builder)
{
  if (!as_json)
    {
      for (guint k = first; k < end; k++)
        {
          KilnFlag *flag = flags->pdata[k];

          if (reason == NULL || g_str_equal (flag->reason, reason))
            g_print ("%s: %s: %s\n", record->path, flag->reason, flag->detail ? flag->detail : "");
        }
      return;
    }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, record->path);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, record->class_name);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, record->status == KILN_IMAGE_KEPT ? "kept" : "discarded");
  json_builder_set_member_name (builder, "flags");
  json_builder_begin_object (builder);
  for (guint k = first; k < end; k++)
    {
      KilnFlag *flag = flags->pdata[k];

      json_builder_set_member_name (builder, flag->reason);
      json_builder_add_string_value (builder, flag->detail);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

int
kiln_cli_images (int argc, char **argv)
{
  gboolean as_json = FALSE, discarded = FALSE, all = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *reason = NULL;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("The project"), N_("DIR") },
    { "flag", 'f', 0, G_OPTION_ARG_STRING, &reason,
      N_("Only images flagged with this reason (kiln-cli inspect's, such as truncated or blurry)"),
      N_("REASON") },
    { "discarded", 0, 0, G_OPTION_ARG_NONE, &discarded, N_("Discarded images instead of kept ones"), NULL },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, N_("Kept and discarded images"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) flags = NULL;
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint listed = 0;

  if (!kiln_cli_parse ("images", NULL,
                       _("List a project's flagged images with their reasons, as the last "
                         "kiln-cli inspect recorded them."),
                       entries, &argc, &argv))
    return 2;
  if (project_dir == NULL || argc > 1)
    {
      g_printerr (_("kiln-cli images: give --project DIR, and --flag REASON to pick one reason\n"));
      return 2;
    }
  project = kiln_project_open (project_dir, &error);
  if (project == NULL)
    return kiln_cli_fail ("images", error);
  images = kiln_project_list_images (project, NULL,
                                     all ? -1 : discarded ? KILN_IMAGE_DISCARDED : KILN_IMAGE_KEPT, &error);
  flags = images ? kiln_project_list_flags (project, 0, &error) : NULL;
  if (flags == NULL)
    return kiln_cli_fail ("images", error);
  if (reason != NULL && !known_reason (reason, flags))
    {
      g_printerr (_("kiln-cli images: no image is flagged “%s” and kiln-cli inspect has no such "
                    "reason; see kiln-cli inspect --help\n"), reason);
      return 2;
    }
  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *record = images->pdata[i];
      g_hash_table_insert (by_id, &record->id, record);
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "images");
  json_builder_begin_array (builder);
  /* Flags come ordered by image: one run of them an image. */
  for (guint start = 0, end; start < flags->len; start = end)
    {
      KilnFlag *flag = flags->pdata[start];
      KilnImageRecord *record = g_hash_table_lookup (by_id, &flag->image_id);
      gboolean wanted = reason == NULL;

      for (end = start; end < flags->len && ((KilnFlag *) flags->pdata[end])->image_id == flag->image_id; end++)
        wanted |= g_strcmp0 (((KilnFlag *) flags->pdata[end])->reason, reason) == 0;
      if (record == NULL || !wanted)
        continue;
      print_image (record, flags, start, end, reason, as_json, builder);
      listed++;
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "count");
  json_builder_add_int_value (builder, listed);
  json_builder_end_object (builder);
  if (as_json)
    kiln_cli_print_json (builder);
  else if (listed == 0 && reason != NULL)
    g_print (_("No image is flagged %s.\n"), reason);
  else if (listed == 0)
    g_print (_("No image is flagged.\n"));
  return 0;
}
