#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "kiln-cli.h"
#include "kiln-core.h"
#include "kiln-training-setup.h"

typedef struct {
  const char *path, *images;
  KilnLabelSet **sets;
  KilnImageSpec *spec;
  KilnProgress *progress;
  GError *error;
} CacheJob;

static gpointer
build_thread (gpointer data)
{
  CacheJob *job = data;
  return kiln_training_build_cache (job->path, job->images, job->sets, 1, job->spec, job->progress, &job->error);
}

typedef struct {
  char       *path;     /* inside the project */
  const char *problem;
  char       *message;
} Undecodable;

static void
undecodable_clear (gpointer data)
{
  Undecodable *entry = data;

  g_free (entry->path);
  g_free (entry->message);
}

/* The cache keeps no errors: each undecodable entry is decoded again (they
 * are few) to say why. */
static GArray *
undecodable_entries (KilnTensorCache     *cache,
                     const char          *project_dir,
                     const KilnImageSpec *spec)
{
  GArray *entries = g_array_new (FALSE, FALSE, sizeof (Undecodable));
  KilnImageLoadOptions options = { .max_pixels = spec->max_pixels };
  g_autofree char *prefix = g_strconcat (project_dir, G_DIR_SEPARATOR_S, NULL);

  g_array_set_clear_func (entries, undecodable_clear);
  for (guint i = 0; i < kiln_tensor_cache_get_n (cache); i++)
    {
      const char *path = kiln_tensor_cache_get_path (cache, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(GdkPixbuf) pixbuf = NULL;
      KilnImageInfo info;
      Undecodable entry;

      if (kiln_tensor_cache_is_valid (cache, i))
        continue;
      pixbuf = kiln_image_load (path, &options, &info, &error);
      entry.path = g_strdup (g_str_has_prefix (path, prefix) ? path + strlen (prefix) : path);
      entry.problem = kiln_image_problem_to_string (info.problem);
      entry.message = pixbuf ? g_strdup (_("it decodes now; build the cache again"))
                             : g_strdup (error->message);
      g_array_append_val (entries, entry);
    }
  return entries;
}

int
kiln_cli_cache (int argc, char **argv)
{
  g_autofree char *project = NULL, *size = NULL, *resize = NULL;
  int channels = 3;
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project, N_("Project folder (with images/<class>/…)"), N_("DIR") },
    { "size", 's', 0, G_OPTION_ARG_STRING, &size, N_("Training size, width × height (default 227x227)"), N_("WxH") },
    { "channels", 'c', 0, G_OPTION_ARG_INT, &channels, N_("1 (gray) or 3 (RGB, default)"), N_("N") },
    { "resize", 0, 0, G_OPTION_ARG_STRING, &resize, N_("squash (default), crop-center, fill or downscale-crop"), N_("MODE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;

  if (!kiln_cli_parse ("cache", NULL,
                       _("Decode a project's images once to the training size; training reuses the cache "
                         "and a rebuild decodes only changed images."), entries, &argc, &argv))
    return 2;
  KilnImageSpec spec = { .width = 227, .height = 227, .channels = KILN_CHANNELS_RGB, .mode = KILN_RESIZE_SQUASH };
  if (size != NULL && !kiln_cli_parse_size ("cache", "--size", size, &spec.width, &spec.height))
    return 2;
  if (project == NULL || (channels != 1 && channels != 3) ||
      (resize != NULL && !kiln_resize_mode_from_string (resize, &spec.mode)))
    {
      g_printerr ("%s", _("kiln-cli cache: give --project DIR, --size WxH, --channels 1 or 3 and a known --resize mode\n"));
      return 2;
    }
  spec.channels = channels;
  /* The project's kept images, as training reads them (entries are reused
   * by path, so the order need not match a run's). */
  g_autoptr(KilnProject) store = kiln_project_open_dataset (project, NULL, &error);
  g_autoptr(KilnLabelSet) set = store ? kiln_project_get_label_set (store, NULL, NULL, NULL, &error) : NULL;
  if (set == NULL)
    return kiln_cli_fail ("cache", error);
  const char *images = kiln_project_get_path (store);
  g_autofree char *path = kiln_training_cache_path (project, &spec);
  g_autoptr(KilnProgress) progress = kiln_progress_new ("cache");
  if (!as_json)
    kiln_cli_show_progress (progress, _("decoding images"));
  KilnLabelSet *sets[] = { set };
  gint64 start = g_get_monotonic_time ();
  CacheJob job = { path, images, sets, &spec, progress, NULL };
  g_autoptr(KilnTensorCache) cache = kiln_cli_run_in_thread (build_thread, &job);
  error = job.error;
  kiln_cli_status_done ();
  if (cache == NULL)
    return kiln_cli_fail ("cache", error);
  g_autoptr(GArray) bad = undecodable_entries (cache, images, &spec);
  guint invalid = bad->len;
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  guint decoded = kiln_tensor_cache_get_n_decoded (cache);

  if (as_json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cache");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, kiln_tensor_cache_get_n (cache));
      json_builder_set_member_name (b, "decoded");
      json_builder_add_int_value (b, decoded);
      json_builder_set_member_name (b, "reused");
      json_builder_add_int_value (b, kiln_tensor_cache_get_n (cache) - decoded);
      json_builder_set_member_name (b, "undecodable");
      json_builder_add_int_value (b, invalid);
      json_builder_set_member_name (b, "undecodable_files");
      json_builder_begin_array (b);
      for (guint i = 0; i < bad->len; i++)
        {
          Undecodable *entry = &g_array_index (bad, Undecodable, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, entry->path);
          json_builder_set_member_name (b, "problem");
          json_builder_add_string_value (b, entry->problem);
          json_builder_set_member_name (b, "message");
          json_builder_add_string_value (b, entry->message);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_end_object (b);
      kiln_cli_print_json (b);
    }
  else
    {
      g_print (_("%s: %u images (%u decoded, %u reused, %u undecodable) in %.1f s\n"), path,
               kiln_tensor_cache_get_n (cache), decoded, kiln_tensor_cache_get_n (cache) - decoded, invalid, seconds);
      for (guint i = 0; i < bad->len; i++)
        {
          Undecodable *entry = &g_array_index (bad, Undecodable, i);

          g_print ("  %s: %s: %s\n", entry->path, entry->problem, entry->message);
        }
      if (invalid > 0)
        g_print (_("Training skips them; kiln-cli inspect --project %s --discard moves them away.\n"), project);
    }
  return 0;
}
