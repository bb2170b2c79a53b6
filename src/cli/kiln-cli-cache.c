#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

int
kiln_cli_cache (int argc, char **argv)
{
  gboolean as_json = FALSE, gray = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *size = NULL;
  g_autofree char *resize = NULL;
  g_autofree char *split = NULL;
  g_autofree char *subset = NULL;
  int threads = 0;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("The project"), N_("DIR") },
    { "size", 's', 0, G_OPTION_ARG_STRING, &size,
      N_("Cached size, at least the network input (default 256x256)"), N_("WxH") },
    { "gray", 0, 0, G_OPTION_ARG_NONE, &gray, N_("One gray channel instead of RGB"), NULL },
    { "resize", 0, 0, G_OPTION_ARG_STRING, &resize,
      N_("crop-center, squash, fill or downscale-crop (default crop-center)"), N_("MODE") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, N_("Only images of this split's subset"), N_("NAME") },
    { "subset", 0, 0, G_OPTION_ARG_STRING, &subset, N_("The subset (default: train)"), N_("NAME") },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Decoding threads (default: one per processor)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(KilnLabelSet) set = NULL;
  g_autoptr(KilnTensorCache) cache = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  KilnImageSpec spec = { 256, 256, KILN_CHANNELS_RGB, KILN_RESIZE_CROP_CENTER, 0 };
  KilnCliProgress progress;
  guint decoded = 0, invalid = 0;

  if (!kiln_cli_parse ("cache", NULL,
                       _("Decode a project's kept images once into a memory-mapped tensor cache; "
                         "later runs decode only images that changed."),
                       entries, &argc, &argv))
    return 2;
  if (project_dir == NULL)
    {
      g_printerr (_("kiln-cli cache: give --project DIR\n"));
      return 2;
    }
  if (!kiln_cli_parse_spec ("cache", size, resize, gray, &spec))
    return 2;

  project = kiln_project_open (project_dir, &error);
  if (project == NULL)
    return kiln_cli_fail ("cache", error);
  set = kiln_cli_project_images (project, split, subset ? subset : "train", &error);
  if (set == NULL)
    return kiln_cli_fail ("cache", error);
  name = g_strdup_printf ("tensors-%dx%d-%s-%s%s%s.bin", spec.width, spec.height,
                          spec.channels == 1 ? "gray" : "rgb", kiln_resize_mode_to_string (spec.mode),
                          split ? "-" : "", split ? split : "");
  path = g_build_filename (kiln_project_get_path (project), "cache", name, NULL);

  kiln_cli_progress_init (&progress, _("decoding"));
  cache = kiln_tensor_cache_update (path, kiln_project_get_path (project), set, &spec,
                                    threads > 0 ? (guint) threads : 0, kiln_cli_progress_update,
                                    &progress, NULL, &decoded, &error);
  kiln_cli_progress_end (&progress);
  if (cache == NULL)
    return kiln_cli_fail ("cache", error);
  for (guint i = 0; i < kiln_tensor_cache_get_n (cache); i++)
    invalid += !kiln_tensor_cache_is_valid (cache, i);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, path);
      json_builder_set_member_name (builder, "images");
      json_builder_add_int_value (builder, kiln_tensor_cache_get_n (cache));
      json_builder_set_member_name (builder, "decoded");
      json_builder_add_int_value (builder, decoded);
      json_builder_set_member_name (builder, "reused");
      json_builder_add_int_value (builder, kiln_tensor_cache_get_n (cache) - decoded);
      json_builder_set_member_name (builder, "invalid");
      json_builder_add_int_value (builder, invalid);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  g_print (_("%u images cached in %s (%u decoded, %u reused, %u could not be decoded)\n"),
           kiln_tensor_cache_get_n (cache), path, decoded, kiln_tensor_cache_get_n (cache) - decoded,
           invalid);
  return 0;
}
