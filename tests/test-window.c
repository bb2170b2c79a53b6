/* The real main window under Xvfb: it maps, has its pages and actions, and
 * opening a project folder shows what the folder holds. */
#include <adwaita.h>
#include <glib/gstdio.h>

#include "kiln-application.h"
#include "kiln-window.h"

static void
spin_until (gboolean (*done) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!done (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

/* One registered application for the whole program, as in the real app. */
static KilnApplication *
make_app (void)
{
  static KilnApplication *app;

  if (app == NULL)
    {
      g_autoptr(GError) error = NULL;
      app = kiln_application_new ();
      g_application_register (G_APPLICATION (app), NULL, &error);
      g_assert_no_error (error);
    }
  return g_object_ref (app);
}

static void
test_window_maps (void)
{
  g_autoptr(KilnApplication) app = make_app ();
  KilnWindow *window = kiln_window_new (app);

  gtk_window_present (GTK_WINDOW (window));
  spin_until (is_mapped, window);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window)));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Kiln");
  gtk_test_accessible_assert_role (GTK_ACCESSIBLE (window), GTK_ACCESSIBLE_ROLE_WINDOW);

  /* Everything a button or shortcut does is an action UI tests can drive. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-project", NULL));
  g_assert_nonnull (g_action_map_lookup_action (G_ACTION_MAP (app), "about"));
  g_assert_nonnull (g_action_map_lookup_action (G_ACTION_MAP (app), "quit"));

  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.quit");
  g_assert_cmpstr (accels[0], ==, "<Control>q");

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_open_project_counts_classes (void)
{
  g_autoptr(KilnApplication) app = make_app ();
  KilnWindow *window = kiln_window_new (app);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-project-XXXXXX", &error);
  g_assert_no_error (error);

  g_autofree char *cats = g_build_filename (dir, "cats", NULL);
  g_autofree char *dogs = g_build_filename (dir, "dogs", NULL);
  g_autofree char *loose = g_build_filename (dir, "notes.txt", NULL);
  g_assert_cmpint (g_mkdir (cats, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (dogs, 0755), ==, 0);
  g_assert_true (g_file_set_contents (loose, "x", 1, NULL));

  gtk_window_present (GTK_WINDOW (window));
  g_autoptr(GFile) folder = g_file_new_for_path (dir);
  kiln_window_open_project (window, folder);
  g_assert_true (g_file_equal (kiln_window_get_project (window), folder));

  /* A folder that does not exist leaves the open project in place. */
  g_autoptr(GFile) missing = g_file_new_for_path ("/nonexistent/kiln-test");
  kiln_window_open_project (window, missing);
  g_assert_true (g_file_equal (kiln_window_get_project (window), folder));

  gtk_window_destroy (GTK_WINDOW (window));
  g_remove (loose);
  g_rmdir (cats);
  g_rmdir (dogs);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  /* Not G_TEST_OPTION_ISOLATE_DIRS: it also empties XDG_DATA_DIRS, which
   * hides the shared MIME database GdkPixbuf needs to load SVG icons. The
   * user's own folders are still kept out of reach. */
  g_autofree char *home = g_dir_make_tmp ("kiln-test-home-XXXXXX", NULL);
  g_assert_nonnull (home);
  const char *subdirs[] = { "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME" };
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir = g_build_filename (home, subdirs[i], NULL);
      g_setenv (subdirs[i], dir, TRUE);
    }
  g_setenv ("HOME", home, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  g_test_add_func ("/window/maps", test_window_maps);
  g_test_add_func ("/window/open-project", test_open_project_counts_classes);
  return g_test_run ();
}
