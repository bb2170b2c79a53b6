/* curate-scale: opens a big project in the real window's Curate page and
 * scrolls its grid from top to bottom, reporting the time until the grid
 * holds every image, the frame intervals while scrolling, the peak RSS
 * and how many thumbnails were made. Run by bench/curate-scale.sh under
 * Xvfb:
 *
 *   curate-scale --make 100000 DIR   writes N JPEG files under DIR/images/
 *   curate-scale DIR                 opens, scrolls, prints the figures */
#include "config.h"

#include <adwaita.h>
#include <errno.h>
#include <sys/resource.h>

#include "kiln-application.h"
#include "kiln-core.h"
#include "kiln-curate-page.h"
#include "kiln-window.h"

#define N_CLASSES 10

/* Distinct JPEGs a little larger than the grid's 128-px thumbnails (so
 * each is decoded, scaled and cached): a gradient per image, a bar per
 * class. */
#define IMAGE_W 160
#define IMAGE_H 120

static gboolean
make_images (const char *dir, guint n, GError **error)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, IMAGE_W, IMAGE_H);

  for (guint c = 0; c < N_CLASSES; c++)
    {
      g_autofree char *class_dir = g_strdup_printf ("%s/images/class%02u", dir, c);
      if (g_mkdir_with_parents (class_dir, 0755) != 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", class_dir, g_strerror (errno));
          return FALSE;
        }
    }
  for (guint i = 0; i < n; i++)
    {
      guint c = i % N_CLASSES;
      g_autofree char *path = g_strdup_printf ("%s/images/class%02u/img%06u.jpg", dir, c, i);
      guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
      int stride = gdk_pixbuf_get_rowstride (pixbuf);
      for (int y = 0; y < IMAGE_H; y++)
        for (int x = 0; x < IMAGE_W; x++)
          {
            guint8 *p = pixels + y * stride + x * 3;
            p[0] = (guint8) (i * 7 + x);
            p[1] = (guint8) (i / 256 + y);
            p[2] = y / 12 == (int) c ? 255 : (guint8) (i * 13);
          }
      if (!gdk_pixbuf_save (pixbuf, path, "jpeg", error, "quality", "85", NULL))
        return FALSE;
    }
  return TRUE;
}

static gboolean
grid_is_full (gpointer data)
{
  gpointer *args = data;
  KilnCuratePage *page = args[0];
  KilnImageList *images = kiln_curate_page_get_images (page);
  return !kiln_curate_page_is_busy (page) && images != NULL &&
         g_list_model_get_n_items (G_LIST_MODEL (kiln_curate_page_get_selection (page))) >= GPOINTER_TO_UINT (args[1]);
}

static void
spin_until (gboolean (*done) (gpointer), gpointer data, int seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  while (!done (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

static GtkScrolledWindow *
find_scroller (GtkWidget *widget)
{
  if (GTK_IS_SCROLLED_WINDOW (widget) && GTK_IS_GRID_VIEW (gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (widget))))
    return GTK_SCROLLED_WINDOW (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkScrolledWindow *found = find_scroller (child);
      if (found)
        return found;
    }
  return NULL;
}

typedef struct {
  GtkAdjustment *adjustment;
  GArray *intervals;      /* double, ms */
  gint64 last;
  gboolean done;
} Scroll;

/* A page down per frame, as a fast wheel or a dragged scrollbar. */
static gboolean
scroll_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Scroll *s = data;
  gint64 now = g_get_monotonic_time ();
  double value = gtk_adjustment_get_value (s->adjustment);
  double end = gtk_adjustment_get_upper (s->adjustment) - gtk_adjustment_get_page_size (s->adjustment);

  if (s->last > 0)
    {
      double ms = (now - s->last) / 1000.0;
      g_array_append_val (s->intervals, ms);
    }
  s->last = now;
  if (value >= end)
    {
      s->done = TRUE;
      return G_SOURCE_REMOVE;
    }
  gtk_adjustment_set_value (s->adjustment, MIN (end, value + gtk_adjustment_get_page_size (s->adjustment)));
  return G_SOURCE_CONTINUE;
}

static gboolean
scroll_done (gpointer data)
{
  return ((Scroll *) data)->done;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      n += g_file_test (path, G_FILE_TEST_IS_DIR) ? count_files (path) : 1;
    }
  return n;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc == 4 && g_str_equal (argv[1], "--make"))
    {
      guint n = (guint) g_ascii_strtoull (argv[2], NULL, 10);
      if (!make_images (argv[3], n, &error))
        {
          g_printerr ("curate-scale: %s\n", error->message);
          return 1;
        }
      /* Registering the files is the store's first open, not the window's. */
      g_autoptr(KilnProject) project = kiln_project_open_dataset (argv[3], NULL, &error);
      if (project == NULL)
        {
          g_printerr ("curate-scale: %s\n", error->message);
          return 1;
        }
      g_print ("made %u images in %s\n", n, argv[3]);
      return 0;
    }
  if (argc != 2)
    {
      g_printerr ("usage: curate-scale --make N DIR | curate-scale DIR\n");
      return 2;
    }

  gtk_init ();
  adw_init ();
  g_autoptr(KilnApplication) app = kiln_application_new ();
  g_application_register (G_APPLICATION (app), NULL, NULL);
  KilnWindow *window = kiln_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);

  g_autoptr(KilnProject) counting = kiln_project_open (argv[1], &error);
  if (counting == NULL)
    {
      g_printerr ("curate-scale: %s\n", error->message);
      return 1;
    }
  g_autofree char *images_dir = g_build_filename (argv[1], "images", NULL);
  guint n_images = count_files (images_dir);
  guint n_classes = 0;
  g_autoptr(GDir) class_dirs = g_dir_open (images_dir, 0, NULL);
  while (class_dirs && g_dir_read_name (class_dirs))
    n_classes++;
  g_clear_object (&counting);

  /* Open: until the grid's model holds every image. */
  g_autoptr(GFile) folder = g_file_new_for_path (argv[1]);
  KilnCuratePage *page = KILN_CURATE_PAGE (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW,
                                                                           "curate_page"));
  gint64 start = g_get_monotonic_time ();
  kiln_window_open_project (window, folder);
  gpointer args[] = { page, GUINT_TO_POINTER (n_images) };
  spin_until (grid_is_full, args, 120);
  double open_s = (g_get_monotonic_time () - start) / 1e6;
  if (!grid_is_full (args))
    {
      g_printerr ("curate-scale: the grid did not fill in 120 s\n");
      return 1;
    }
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  long rss_open_kb = usage.ru_maxrss;
  g_print ("open to a full grid: %.2f s (scrolling next)\n", open_s);

  /* Scroll top to bottom, a page a frame. */
  GtkScrolledWindow *scroller = find_scroller (GTK_WIDGET (page));
  Scroll s = { gtk_scrolled_window_get_vadjustment (scroller), g_array_new (FALSE, FALSE, sizeof (double)), 0, FALSE };
  start = g_get_monotonic_time ();
  gtk_widget_add_tick_callback (GTK_WIDGET (scroller), scroll_tick, &s, NULL);
  spin_until (scroll_done, &s, 1800);
  if (!s.done)
    g_print ("(the scroll was stopped after 1,800 s, short of the bottom)\n");
  double scroll_s = (g_get_monotonic_time () - start) / 1e6;
  /* Let the last thumbnails land, then count them. */
  for (int i = 0; i < 200; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  getrusage (RUSAGE_SELF, &usage);
  g_array_sort (s.intervals, compare_double);
  guint n = s.intervals->len;
  double p50 = n ? g_array_index (s.intervals, double, n / 2) : 0;
  double p95 = n ? g_array_index (s.intervals, double, MIN (n - 1, n * 95 / 100)) : 0;
  double worst = n ? g_array_index (s.intervals, double, n - 1) : 0;
  g_autofree char *thumbs_dir = g_build_filename (argv[1], "cache", "thumbnails", NULL);

  g_print ("images: %u in %u classes\n", n_images, n_classes);
  g_print ("scroll top to bottom: %.1f s, %u frames; frame interval median %.1f ms, p95 %.1f ms, worst %.1f ms\n",
           scroll_s, n + 1, p50, p95, worst);
  g_print ("peak RSS: %.0f MiB after opening, %.0f MiB after scrolling\n", rss_open_kb / 1024.0,
           usage.ru_maxrss / 1024.0);
  g_print ("thumbnails on disk: %u (of %u images)\n", count_files (thumbs_dir), n_images);
  gtk_window_destroy (GTK_WINDOW (window));
  g_array_unref (s.intervals);
  return 0;
}
