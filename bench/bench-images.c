/* bench-images: Kiln's side of bench/images.py.
 *
 *   bench-images decode SIZE FILE…   decode + crop-center resize to SIZE×SIZE
 *                                    RGB uint8, one thread; prints images/s
 *   bench-images inspect FILE…       the inspector on one thread: analysis
 *                                    time, then duplicate grouping time
 *
 * Output is "key value" lines for the driver to read. */
#include <stdio.h>
#include <stdlib.h>

#include "kiln-core.h"

static int
decode (int argc, char **argv)
{
  int size = atoi (argv[2]);
  KilnImageSpec spec = { size, size, KILN_CHANNELS_RGB, KILN_RESIZE_CROP_CENTER, 0 };
  g_autofree guint8 *tensor = g_malloc (kiln_image_spec_size (&spec));
  gint64 start = g_get_monotonic_time ();
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
  printf ("images %d\nseconds %.4f\nper_second %.1f\n", n,
          (g_get_monotonic_time () - start) / 1e6,
          n / ((g_get_monotonic_time () - start) / 1e6));
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

int
main (int argc, char *argv[])
{
  if (argc >= 4 && g_str_equal (argv[1], "decode"))
    return decode (argc, argv);
  if (argc >= 3 && g_str_equal (argv[1], "inspect"))
    return inspect (argc, argv);
  fprintf (stderr, "usage: bench-images decode SIZE FILE… | inspect FILE…\n");
  return 2;
}
