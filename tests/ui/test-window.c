/* The real main window under Xvfb: it maps, has its pages and actions, and
 * opening a project folder shows what the folder holds. */
#include <adwaita.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-application.h"
#include "kiln-classify-page.h"
#include "kiln-train-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

static void
test_window_maps (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);

  gtk_window_present (GTK_WINDOW (window));
  kiln_test_spin_until (is_mapped, window, 10);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window)));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Kiln");
  gtk_test_accessible_assert_role (GTK_ACCESSIBLE (window), GTK_ACCESSIBLE_ROLE_WINDOW);

  /* Everything a button or shortcut does is an action UI tests can drive. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-project", NULL));
  g_assert_nonnull (g_action_map_lookup_action (G_ACTION_MAP (app), "about"));
  g_assert_nonnull (g_action_map_lookup_action (G_ACTION_MAP (app), "quit"));

  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.quit");
  g_assert_cmpstr (accels[0], ==, "<Control>q");

  /* Pages by Alt+digit, the synset search by Ctrl+F. */
  AdwViewStack *stack = ADW_VIEW_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW,
                                                                       "view_stack"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "images");
  g_auto(GStrv) page_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.show-page::train");
  g_assert_cmpstr (page_accels[0], ==, "<Alt>3");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "train"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "train");
  g_auto(GStrv) classify_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                          "win.show-page::classify");
  g_assert_cmpstr (classify_accels[0], ==, "<Alt>5");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "classify"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "classify");
  /* Ctrl+N starts a new run from anywhere: it goes to the Train page. */
  g_auto(GStrv) new_run_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.new-run");
  g_assert_cmpstr (new_run_accels[0], ==, "<Control>n");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-run", NULL));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "train");
  g_auto(GStrv) find_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.find-synset");
  g_assert_cmpstr (find_accels[0], ==, "<Control>f");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.find-synset", NULL));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "gather");

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
description_is (gpointer data)
{
  gpointer *args = data;
  const char *want = args[1];
  GtkWidget *window = args[0];
  /* The images page's status: found through the accessible tree is brittle,
   * so read the property off the widget the template named. */
  GtkWidget *status = GTK_WIDGET (gtk_widget_get_template_child (window, KILN_TYPE_WINDOW, "images_status"));
  return g_strcmp0 (adw_status_page_get_description (ADW_STATUS_PAGE (status)), want) == 0;
}

static void
write_png (const char *path)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 4, 4);
  gdk_pixbuf_fill (pixbuf, 0x336699ff);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
}

static void
test_open_project_counts_classes (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-project-XXXXXX", &error);
  g_assert_no_error (error);

  const char *files[] = { "images/cats/a.png", "images/cats/b.png", "images/dogs/c.png", NULL };
  for (guint i = 0; files[i]; i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);
      g_autofree char *parent = g_path_get_dirname (path);
      g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
      write_png (path);
    }

  gtk_window_present (GTK_WINDOW (window));
  g_autoptr(GFile) folder = g_file_new_for_path (dir);
  kiln_window_open_project (window, folder);
  g_assert_true (g_file_equal (kiln_window_get_project (window), folder));
  /* The Train page lists the project's runs. */
  KilnTrainPage *train = KILN_TRAIN_PAGE (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW, "train_page"));
  g_assert_cmpstr (kiln_runs_model_get_project_dir (kiln_train_page_get_runs (train)), ==, dir);
  gpointer args[] = { window, (gpointer) "2 classes · 3 images" };
  kiln_test_spin_until (description_is, args, 10);
  g_assert_true (description_is (args));

  /* The page counts what the store keeps: a discarded image is gone from
   * the count though its file still lies in discarded/. */
  {
    g_autoptr(KilnProject) store = kiln_project_open (dir, &error);
    g_assert_no_error (error);
    g_autoptr(KilnImageRecord) dog = kiln_project_find_image (store, "images/dogs/c.png", &error);
    g_assert_nonnull (dog);
    g_assert_true (kiln_project_discard_image (store, dog->id, "blurry", &error));
  }
  kiln_window_open_project (window, folder);
  gpointer after_discard[] = { window, (gpointer) "1 class · 2 images" };
  kiln_test_spin_until (description_is, after_discard, 10);
  g_assert_true (description_is (after_discard));

  /* A folder that does not exist leaves the open project in place. */
  g_autoptr(GFile) missing = g_file_new_for_path ("/nonexistent/kiln-test");
  kiln_window_open_project (window, missing);
  g_assert_true (g_file_equal (kiln_window_get_project (window), folder));

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
stack_shows (gpointer data)
{
  gpointer *args = data;
  GtkWidget *stack = GTK_WIDGET (gtk_widget_get_template_child (args[0], KILN_TYPE_WINDOW, "images_stack"));
  return g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (stack)), args[1]) == 0;
}

static void
test_demo_import_can_be_cancelled (void)
{
  if (!g_file_test ("/usr/share/datasets/fashion-mnist", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      return;
    }
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);
  g_autofree char *dir = g_dir_make_tmp ("kiln-demo-XXXXXX", NULL);
  g_autofree char *project = g_build_filename (dir, "demo", NULL);

  gtk_window_present (GTK_WINDOW (window));
  kiln_window_open_demo (window, project);
  gpointer preparing[] = { window, (gpointer) "preparing" };
  g_assert_true (stack_shows (preparing));
  /* Cancel is what the page's button does. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-import", NULL));
  gpointer back[] = { window, (gpointer) "project" };
  kiln_test_spin_until (stack_shows, back, 10);
  g_assert_true (stack_shows (back));

  /* Nothing half-imported is left to be trusted later. */
  g_autofree char *images = g_build_filename (project, "images", NULL);
  g_autofree char *partial = g_build_filename (project, "images.partial", NULL);
  g_assert_false (g_file_test (images, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
  g_assert_null (kiln_window_get_project (window));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char *argv[])
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  g_test_add_func ("/window/maps", test_window_maps);
  g_test_add_func ("/window/open-project", test_open_project_counts_classes);
  g_test_add_func ("/window/demo-import-cancel", test_demo_import_can_be_cancelled);
  return g_test_run ();
}
