#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

int
kiln_cli_mean (int argc, char **argv)
{
  gboolean as_json = FALSE, gray = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *label_file = NULL;
  g_autofree char *root = NULL;
  g_autofree char *size = NULL;
  g_autofree char *resize = NULL;
  g_autofree char *output = NULL;
  g_autofree char *split = NULL;
  g_autofree char *subset = NULL;
  int threads = 0;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("Use the project's kept images"), N_("DIR") },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &label_file, N_("Use the images of a label file…"), N_("FILE") },
    { "root", 'r', 0, G_OPTION_ARG_FILENAME, &root, N_("…whose paths are relative to this folder"), N_("DIR") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, N_("Only images of this split's subset"), N_("NAME") },
    { "subset", 0, 0, G_OPTION_ARG_STRING, &subset, N_("The subset (default: train)"), N_("NAME") },
    { "size", 's', 0, G_OPTION_ARG_STRING, &size, N_("Network input size (default 227x227)"), N_("WxH") },
    { "gray", 0, 0, G_OPTION_ARG_NONE, &gray, N_("One gray channel instead of RGB"), NULL },
    { "resize", 0, 0, G_OPTION_ARG_STRING, &resize,
      N_("crop-center, squash, fill or downscale-crop (default crop-center)"), N_("MODE") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Folder for mean.png, mean.f32, mean.json and mean-images.txt"), N_("DIR") },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Decoding threads (default: one per processor)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(KilnLabelSet) set = NULL;
  g_autoptr(KilnMeanImage) mean = NULL;
  KilnImageSpec spec = { 227, 227, KILN_CHANNELS_RGB, KILN_RESIZE_CROP_CENTER, 0 };
  KilnCliProgress progress;
  const char *base;

  if (!kiln_cli_parse ("mean", NULL,
                       _("Compute the mean image with the conversion training uses, and keep the "
                         "list of the images that went into it."),
                       entries, &argc, &argv))
    return 2;
  if (!kiln_cli_parse_spec ("mean", size, resize, gray, &spec))
    return 2;

  if (project_dir != NULL)
    {
      project = kiln_project_open (project_dir, &error);
      if (project == NULL)
        return kiln_cli_fail ("mean", error);
      /* By default the images training uses, as the window picks them. */
      set = kiln_dataset_mean_images (project, split, subset, &error);
      base = kiln_project_get_path (project);
    }
  else if (label_file != NULL)
    {
      set = kiln_labels_read (label_file, NULL, &error);
      if (root == NULL)
        root = g_path_get_dirname (label_file);
      base = root;
    }
  else
    {
      g_printerr (_("kiln-cli mean: give --project DIR or --labels FILE\n"));
      return 2;
    }
  if (set == NULL)
    return kiln_cli_fail ("mean", error);
  if (output == NULL && project != NULL)
    output = kiln_dataset_mean_folder (project, &spec);
  else if (output == NULL)
    output = g_strdup_printf ("mean-%dx%d-%s-%s", spec.width, spec.height,
                              spec.channels == 1 ? "gray" : "rgb", kiln_resize_mode_to_string (spec.mode));

  kiln_cli_progress_init (&progress, _("mean image"));
  mean = kiln_dataset_compute_mean (base, set, &spec, threads > 0 ? (guint) threads : 0,
                                    kiln_cli_progress_update, &progress, NULL, &error);
  kiln_cli_progress_end (&progress);
  if (mean == NULL || !kiln_mean_image_save (mean, output, &error))
    return kiln_cli_fail ("mean", error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "images");
      json_builder_add_int_value (builder, mean->used->paths->len);
      json_builder_set_member_name (builder, "skipped");
      json_builder_add_int_value (builder, mean->skipped->paths->len);
      json_builder_set_member_name (builder, "output");
      json_builder_add_string_value (builder, output);
      json_builder_set_member_name (builder, "channel_mean");
      json_builder_begin_array (builder);
      for (int c = 0; c < (int) spec.channels; c++)
        json_builder_add_double_value (builder, mean->channel_mean[c]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "channel_std");
      json_builder_begin_array (builder);
      for (int c = 0; c < (int) spec.channels; c++)
        json_builder_add_double_value (builder, mean->channel_std[c]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  g_print (_("Mean of %u images (%u skipped) written to %s\n"), mean->used->paths->len,
           mean->skipped->paths->len, output);
  for (guint i = 0; i < mean->skipped->paths->len; i++)
    g_print (_("skipped: %s\n"), (const char *) mean->skipped->paths->pdata[i]);
  return 0;
}
