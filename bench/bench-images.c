/* bench-images: Kiln's side of bench/images.py.
 *
 *   bench-images decode SIZE FILE…   decode + crop-center resize to SIZE×SIZE
 *                                    RGB uint8, one thread; prints images per
 *                                    second of wall and of CPU time
 *   bench-images inspect FILE…       the inspector on one thread: analysis
 *                                    time, then duplicate grouping time
 *   bench-images loader THREADS FILE… batches of 32 augmented 227×227 crops
 *                                    from a 256×256 tensor cache, against
 *                                    memcpy of the same cached bytes
 *
 * Output is "key value" lines for the driver to read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib/gstdio.h>

#include "kiln-batch-loader.h"
#include "kiln-core.h"
#include "kiln-tensor-cache.h"

static int
decode (int argc, char **argv)
{
  int size = atoi (argv[2]);
  KilnImageSpec spec = { size, size, KILN_CHANNELS_RGB, KILN_RESIZE_CROP_CENTER, 0 };
  g_autofree guint8 *tensor = g_malloc (kiln_image_spec_size (&spec));
  gint64 start = g_get_monotonic_time ();
  clock_t cpu_start = clock ();
  int n = 0;

  for (int i = 3; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      if (!kiln_image_load_u8 (argv[i], &spec, tensor, NULL, &error))
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      n++;
    }
  /* CPU time as well: on a loaded machine wall time counts waiting for a
   * core; the driver compares the peer's CPU time the same way. */
  printf ("images %d\nseconds %.4f\nper_second %.1f\nper_cpu_second %.1f\n", n,
          (g_get_monotonic_time () - start) / 1e6,
          n / ((g_get_monotonic_time () - start) / 1e6),
          n / ((double) (clock () - cpu_start) / CLOCKS_PER_SEC));
  return 0;
}

static int
inspect (int argc, char **argv)
{
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_image_report_free);
  gint64 start = g_get_monotonic_time ();
  double analyse, group;
  guint groups;

  for (int i = 2; i < argc; i++)
    g_ptr_array_add (reports, kiln_inspector_analyse (settings, argv[i]));
  analyse = (g_get_monotonic_time () - start) / 1e6;
  start = g_get_monotonic_time ();
  groups = kiln_inspector_flag_duplicates (settings, reports);
  group = (g_get_monotonic_time () - start) / 1e6;
  printf ("images %u\nanalyse_seconds %.4f\ngroup_seconds %.4f\ngroups %u\n",
          reports->len, analyse, group, groups);
  return 0;
}

static gboolean
decode_for_cache (const char *path,
                  guint8     *chw,
                  gpointer    spec,
                  GError    **error)
{
  return kiln_image_load_u8 (path, spec, chw, NULL, error);
}

/* Caches the files at 256 × 256, then times batches of 32 random 227 × 227
 * mirrored crops as float32, against plain copies of the same bytes. */
static int
loader (int argc, char **argv)
{
  KilnImageSpec spec = { 256, 256, KILN_CHANNELS_RGB, KILN_RESIZE_CROP_CENTER, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-bench-cache-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "cache.bin", NULL);
  g_autoptr(KilnTensorCache) cache = NULL;
  g_autoptr(KilnBatchLoader) batches = NULL;
  KilnBatchLoaderOptions options = { .batch_size = 32, .crop_width = 227, .crop_height = 227,
                                     .random_crop = TRUE, .mirror = TRUE, .shuffle = TRUE, .seed = 1,
                                     .scale = 1.0f / 255, .n_threads = (guint) atoi (argv[2]) };
  g_autofree guint *items = NULL;
  g_autofree int *labels = NULL;
  g_autofree guint8 *copy = NULL;
  guint n = (guint) (argc - 3), n_batches = 200;
  gsize record = kiln_image_spec_size (&spec);
  gint64 start;
  double seconds, copy_seconds;

  cache = kiln_tensor_cache_build (path, (const char *const *) argv + 3, n, spec.channels,
                                   spec.height, spec.width, decode_for_cache, &spec, NULL, &error);
  if (cache == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  items = g_new (guint, n);
  labels = g_new0 (int, n);
  for (guint i = 0; i < n; i++)
    items[i] = i;
  batches = kiln_batch_loader_new (cache, items, labels, n, &options, &error);
  if (batches == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  start = g_get_monotonic_time ();
  for (guint b = 0; b < n_batches; b++)
    {
      const int *batch_labels;
      const guint *sources;
      guint count;

      if (kiln_batch_loader_next (batches, &batch_labels, &sources, &count, &error) == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
    }
  seconds = (g_get_monotonic_time () - start) / 1e6;

  copy = g_malloc (record * 32);
  start = g_get_monotonic_time ();
  for (guint b = 0; b < n_batches; b++)
    for (guint s = 0; s < 32; s++)
      memcpy (copy + s * record, kiln_tensor_cache_get (cache, (b * 32 + s) % n), record);
  copy_seconds = (g_get_monotonic_time () - start) / 1e6;

  printf ("batches_per_second %.1f\nimages_per_second %.1f\ncache_mb_per_second %.1f\n"
          "memcpy_mb_per_second %.1f\n", n_batches / seconds, n_batches * 32 / seconds,
          n_batches * 32 * record / seconds / 1e6, n_batches * 32 * record / copy_seconds / 1e6);
  g_clear_pointer (&batches, kiln_batch_loader_free);
  g_clear_pointer (&cache, kiln_tensor_cache_free);
  g_unlink (path);
  g_rmdir (dir);
  return 0;
}

int
main (int argc, char *argv[])
{
  if (argc >= 4 && g_str_equal (argv[1], "decode"))
    return decode (argc, argv);
  if (argc >= 3 && g_str_equal (argv[1], "inspect"))
    return inspect (argc, argv);
  if (argc >= 4 && g_str_equal (argv[1], "loader"))
    return loader (argc, argv);
  fprintf (stderr, "usage: bench-images decode SIZE FILE… | inspect FILE… | loader THREADS FILE…\n");
  return 2;
}
