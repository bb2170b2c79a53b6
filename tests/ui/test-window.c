/* The real main window under Xvfb: it maps, has its pages and actions;
 * without a project it welcomes, opening a project folder shows it (name
 * in the header, in the recent projects) and closing it welcomes again;
 * the demo import can be cancelled and started again. */
#include <adwaita.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-application.h"
#include "kiln-classify-page.h"
#include "kiln-train-page.h"
#include "kiln-core.h"
#include "kiln-training-setup.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

static gboolean
has_action (GtkWidget *widget, const char *name)
{
  GType owner;
  const char *installed, *property;
  const GVariantType *type;
  for (guint i = 0; gtk_widget_class_query_action (GTK_WIDGET_GET_CLASS (widget), i, &owner, &installed, &type,
                                                   &property); i++)
    if (g_str_equal (installed, name))
      return TRUE;
  return FALSE;
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
  const char *actions[] = { "win.new-project", "win.new-project-from-folder", "win.create-project",
                            "win.open-recent", "win.close-project", "win.open-demo", "win.start-from-synsets", NULL };
  for (guint i = 0; actions[i]; i++)
    g_assert_true (has_action (GTK_WIDGET (window), actions[i]));
  g_auto(GStrv) new_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.new-project");
  g_assert_cmpstr (new_accels[0], ==, "<Control>n");

  /* No project yet: the welcome page, and nothing to close. */
  GtkStack *project_stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW,
                                                                      "project_stack"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (project_stack), ==, "welcome");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.close-project", NULL);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (project_stack), ==, "welcome");
  g_assert_nonnull (g_action_map_lookup_action (G_ACTION_MAP (app), "about"));
  g_assert_nonnull (g_action_map_lookup_action (G_ACTION_MAP (app), "quit"));

  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.quit");
  g_assert_cmpstr (accels[0], ==, "<Control>q");

  /* Pages by Alt+digit, the synset search by Ctrl+F. */
  AdwViewStack *stack = ADW_VIEW_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW,
                                                                       "view_stack"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "curate");
  g_auto(GStrv) page_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.show-page::train");
  g_assert_cmpstr (page_accels[0], ==, "<Alt>3");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "train"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "train");
  g_auto(GStrv) classify_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                          "win.show-page::classify");
  g_assert_cmpstr (classify_accels[0], ==, "<Alt>5");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "classify"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "classify");
  /* Ctrl+Shift+N starts a new run from anywhere (Ctrl+N makes a new
   * project): it goes to the Train page. */
  g_auto(GStrv) new_run_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.new-run");
  g_assert_cmpstr (new_run_accels[0], ==, "<Shift><Control>n");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-run", NULL));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "train");
  g_auto(GStrv) find_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.find-synset");
  g_assert_cmpstr (find_accels[0], ==, "<Control>f");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.find-synset", NULL));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "gather");

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
write_png (const char *path)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 4, 4);
  gdk_pixbuf_fill (pixbuf, 0x336699ff);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
}

static void
write_pngs (const char *dir, const char *const *files)
{
  for (guint i = 0; files[i]; i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);
      g_autofree char *parent = g_path_get_dirname (path);
      g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
      write_png (path);
    }
}

static const char *
project_stack_shows (KilnWindow *window)
{
  GtkStack *stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW,
                                                              "project_stack"));
  return gtk_stack_get_visible_child_name (stack);
}

static void
test_open_project (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-project-XXXXXX", &error);
  g_autofree char *name = g_path_get_basename (dir);
  g_autofree char *title = g_strdup_printf ("%s – Kiln", name);
  const char *files[] = { "images/cats/a.png", "images/cats/b.png", "images/dogs/c.png", NULL };
  AdwViewSwitcherTitle *switcher = ADW_VIEW_SWITCHER_TITLE (
    gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW, "switcher_title"));

  g_assert_no_error (error);
  write_pngs (dir, files);
  gtk_window_present (GTK_WINDOW (window));
  kiln_test_open_project (window, dir);

  /* Its name in the header, its images on the Curate page. */
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, title);
  g_assert_cmpstr (adw_view_switcher_title_get_subtitle (switcher), ==, name);
  g_assert_cmpstr (project_stack_shows (window), ==, "curate");
  kiln_test_assert_curate_title (kiln_test_curate_page (window), "All Images", "3 images");
  KilnImageList *images = kiln_curate_page_get_images (kiln_test_curate_page (window));
  g_assert_cmpuint (kiln_image_list_count (images, "cats", KILN_IMAGE_KEPT, NULL), ==, 2);
  /* The Train page lists the project's runs. */
  KilnTrainPage *train = KILN_TRAIN_PAGE (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW, "train_page"));
  g_assert_cmpstr (kiln_runs_model_get_project_dir (kiln_train_page_get_runs (train)), ==, dir);

  /* Among the recent projects, and the one opened next time. */
  GSettings *settings = kiln_application_get_settings (app);
  g_auto(GStrv) recent = g_settings_get_strv (settings, "recent-projects");
  g_assert_cmpstr (recent[0], ==, dir);
  g_autofree char *last = g_settings_get_string (settings, "last-project");
  g_assert_cmpstr (last, ==, dir);
  GtkWidget *welcome = (GtkWidget *) gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW,
                                                                    "welcome_page");
  g_assert_nonnull (kiln_test_find_action_row (welcome, name));

  /* The page counts what the store keeps: a discarded image is gone from
   * the count though its file still lies in discarded/. */
  {
    g_autoptr(KilnProject) store = kiln_project_open (dir, &error);
    g_assert_no_error (error);
    g_autoptr(KilnImageRecord) dog = kiln_project_find_image (store, "images/dogs/c.png", &error);
    g_assert_nonnull (dog);
    g_assert_true (kiln_project_discard_image (store, dog->id, "blurry", &error));
  }
  kiln_test_open_project (window, dir);
  kiln_test_assert_curate_title (kiln_test_curate_page (window), "All Images", "2 images");

  /* A folder that does not exist leaves the open project in place. */
  g_autoptr(GFile) folder = g_file_new_for_path (dir);
  g_autoptr(GFile) missing = g_file_new_for_path ("/nonexistent/kiln-test");
  kiln_window_open_project (window, missing);
  g_assert_true (g_file_equal (kiln_window_get_project (window), folder));

  /* Closing it welcomes again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.close-project", NULL));
  g_assert_null (kiln_window_get_project (window));
  g_assert_cmpstr (project_stack_shows (window), ==, "welcome");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Kiln");
  g_assert_null (kiln_curate_page_get_images (kiln_test_curate_page (window)));

  /* A folder of class folders that is no project yet is offered to become
   * one (copy or link), not opened. */
  g_autofree char *tree = g_dir_make_tmp ("kiln-tree-XXXXXX", &error);
  const char *tree_files[] = { "red/1.png", "blue/1.png", NULL };
  write_pngs (tree, tree_files);
  g_autoptr(GFile) tree_folder = g_file_new_for_path (tree);
  kiln_window_open_project (window, tree_folder);
  AdwMessageDialog *dialog = kiln_test_wait_message_dialog ();
  g_assert_nonnull (strstr (adw_message_dialog_get_heading (dialog), "Make a Project of"));
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_null (kiln_window_get_project (window));
  g_assert_false (kiln_project_exists (tree));

  gtk_window_destroy (GTK_WINDOW (window));
  kiln_test_remove_tree (tree);
  kiln_test_remove_tree (dir);
}

static gboolean
stack_shows (gpointer data)
{
  gpointer *args = data;
  return g_strcmp0 (project_stack_shows (args[0]), args[1]) == 0;
}

/* Cancel returns to the welcome page with nothing half-imported, and the
 * welcome page's demo row starts the import again. */
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
  /* Where win.open-demo imports: under the test's own XDG_DATA_HOME. */
  g_autofree char *project = kiln_demo_default_dir ();
  gpointer preparing[] = { window, (gpointer) "preparing" };
  gpointer back[] = { window, (gpointer) "welcome" };

  gtk_window_present (GTK_WINDOW (window));
  for (guint round = 0; round < 2; round++)
    {
      /* The welcome page's row is this action. */
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-demo", NULL));
      g_assert_true (stack_shows (preparing));
      /* Cancel is what the page's button does. */
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-import", NULL));
      kiln_test_spin_until (stack_shows, back, 10);
      g_assert_true (stack_shows (back));

      /* Nothing half-imported is left to be trusted later. */
      g_autofree char *images = g_build_filename (project, "images", NULL);
      g_autofree char *partial = g_build_filename (project, "images.partial", NULL);
      g_assert_false (g_file_test (images, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
      g_assert_null (kiln_window_get_project (window));
    }
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char *argv[])
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  /* A GTK warning (markup that does not parse, say) fails the test. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/window/maps", test_window_maps);
  g_test_add_func ("/window/open-project", test_open_project);
  g_test_add_func ("/window/demo-import-cancel", test_demo_import_can_be_cancelled);
  return g_test_run ();
}
