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
  g_assert_cmpstr (page_accels[0], ==, "<Alt>4");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "train"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "train");
  g_auto(GStrv) classify_accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                          "win.show-page::classify");
  g_assert_cmpstr (classify_accels[0], ==, "<Alt>6");
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

static int
min_width (GtkWidget *widget)
{
  int minimum = 0;
  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
  return minimum;
}

static GtkWidget *
find_descendant (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_descendant (child, type);
      if (found)
        return found;
    }
  return NULL;
}

/* Debugging aid: the widgets under @widget that need more than @limit px. */
static void
report_wide (GtkWidget *widget, int limit, int depth)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    if (min_width (child) > limit)
      {
        const char *id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (child));
        g_test_message ("%*s%s %s: %d px", depth * 2, "", G_OBJECT_TYPE_NAME (child), id ? id : "", min_width (child));
        report_wide (child, limit, depth + 1);
      }
}

/* A phone-sized window (360 px) must fit every page and the header; the
 * view switcher then moves to the bottom bar. Names what is too wide. */
static void
test_window_fits_360 (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 360, 640);
  gtk_window_present (GTK_WINDOW (window));
  kiln_test_spin_until (is_mapped, window, 10);

  AdwViewStack *stack = ADW_VIEW_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW,
                                                                       "view_stack"));
  for (GtkWidget *page = gtk_widget_get_first_child (GTK_WIDGET (stack)); page != NULL;
       page = gtk_widget_get_next_sibling (page))
    {
      AdwViewStackPage *stack_page = adw_view_stack_get_page (stack, page);
      const char *name = stack_page ? adw_view_stack_page_get_name (stack_page) : G_OBJECT_TYPE_NAME (page);
      g_test_message ("page %s needs %d px", name, min_width (page));
      if (g_getenv ("KILN_WIDTH_DEBUG"))
        report_wide (page, g_ascii_strtoll (g_getenv ("KILN_WIDTH_DEBUG"), NULL, 10), 0);
      g_assert_cmpint (min_width (page), <=, 360);
    }
  GtkWidget *header = find_descendant (GTK_WIDGET (window), ADW_TYPE_HEADER_BAR);
  g_test_message ("the header bar needs %d px", min_width (header));
  g_assert_cmpint (min_width (header), <=, 360);
  g_assert_cmpint (min_width (GTK_WIDGET (window)), <=, 360);

  /* At that width the bottom switcher bar shows instead of the title's. */
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 640);
  for (int i = 0; i < 20; i++)
    {
      g_usleep (20000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), <=, 360);
  AdwViewSwitcherTitle *title = ADW_VIEW_SWITCHER_TITLE (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                                       KILN_TYPE_WINDOW,
                                                                                       "switcher_title"));
  g_assert_true (adw_view_switcher_title_get_title_visible (title));

  gtk_window_destroy (GTK_WINDOW (window));
}

/* A control's name for screen readers: a label or a labelled-by relation
 * set in the .ui. An icon-only button's implicit relation points at its
 * image, which Orca reads as "GtkImage"; a mnemonic label is read as
 * "_Stop Stop" by GTK 4.8 unless the name is set without the underscore. */
static gboolean
has_accessible_name (GtkWidget *widget)
{
  GtkAccessible *accessible = GTK_ACCESSIBLE (widget);
  gboolean has_label = gtk_test_accessible_has_property (accessible, GTK_ACCESSIBLE_PROPERTY_LABEL);

  if (GTK_IS_BUTTON (widget))
    {
      const char *text = gtk_button_get_label (GTK_BUTTON (widget));
      GtkWidget *content = gtk_button_get_child (GTK_BUTTON (widget));
      if (text == NULL || (content != NULL && !GTK_IS_LABEL (content)))
        return has_label;
      if (gtk_button_get_use_underline (GTK_BUTTON (widget)) && strchr (text, '_') != NULL)
        {
          g_autofree char *same = gtk_test_accessible_check_property (accessible, GTK_ACCESSIBLE_PROPERTY_LABEL, text);
          return same != NULL;   /* differs from the raw mnemonic text */
        }
      return TRUE;
    }
  if (GTK_IS_CHECK_BUTTON (widget) && gtk_check_button_get_label (GTK_CHECK_BUTTON (widget)))
    return TRUE;
  return has_label || gtk_test_accessible_has_relation (accessible, GTK_ACCESSIBLE_RELATION_LABELLED_BY);
}

static gboolean
is_control (GtkWidget *widget)
{
  switch (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (widget)))
    {
    case GTK_ACCESSIBLE_ROLE_BUTTON:
    case GTK_ACCESSIBLE_ROLE_CHECKBOX:
    case GTK_ACCESSIBLE_ROLE_SPIN_BUTTON:
    case GTK_ACCESSIBLE_ROLE_PROGRESS_BAR:
    case GTK_ACCESSIBLE_ROLE_SLIDER:
    case GTK_ACCESSIBLE_ROLE_SWITCH:
    case GTK_ACCESSIBLE_ROLE_SEARCH_BOX:
    case GTK_ACCESSIBLE_ROLE_TEXT_BOX:
    case GTK_ACCESSIBLE_ROLE_COMBO_BOX:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Collects "Type (id or label)" of every unnamed control below @widget.
 * Parts GTK and libadwaita build inside their own widgets (a spin
 * button's text, a row's switch wired by activatable-widget, the window
 * controls) are theirs to name and are not walked into. */
static void
collect_unnamed (GtkWidget *widget, GPtrArray *unnamed)
{
  if (GTK_IS_WINDOW_CONTROLS (widget))
    return;
  /* A hidden control is not shown to screen readers (an expander row's
   * unused switch, say). */
  if (is_control (widget) && gtk_widget_get_visible (widget) && !has_accessible_name (widget))
    {
      const char *id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (widget));
      const char *tooltip = gtk_widget_get_tooltip_text (widget);
      GtkWidget *parent = gtk_widget_get_parent (widget);
      g_ptr_array_add (unnamed, g_strdup_printf ("%s (%s) in %s", G_OBJECT_TYPE_NAME (widget),
                                                 id ? id : tooltip ? tooltip : "?",
                                                 parent ? G_OBJECT_TYPE_NAME (parent) : "-"));
    }
  if (GTK_IS_SPIN_BUTTON (widget) || GTK_IS_DROP_DOWN (widget) || GTK_IS_SEARCH_ENTRY (widget) ||
      GTK_IS_MENU_BUTTON (widget) || ADW_IS_ENTRY_ROW (widget) || ADW_IS_COMBO_ROW (widget))
    return;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect_unnamed (child, unnamed);
}

/* Every control of every page, with a project open, has a name. */
static void
test_accessible_names (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);
  g_autoptr(GPtrArray) unnamed = g_ptr_array_new_with_free_func (g_free);

  gtk_window_present (GTK_WINDOW (window));
  kiln_test_spin_until (is_mapped, window, 10);
  collect_unnamed (GTK_WIDGET (window), unnamed);
  for (guint i = 0; i < unnamed->len; i++)
    g_test_message ("no accessible name: %s", (char *) unnamed->pdata[i]);
  g_assert_cmpuint (unnamed->len, ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Ctrl+Q (app.quit) saves the window's size like closing it does, and the
 * next window opens at that size. */
static void
test_quit_saves_size (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);
  GSettings *settings = kiln_application_get_settings (app);

  g_assert_nonnull (settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 913, 611);
  gtk_window_present (GTK_WINDOW (window));
  kiln_test_spin_until (is_mapped, window, 10);
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
  for (int i = 0; i < 50 && window != NULL; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (window);
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 913);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 611);

  KilnWindow *next = kiln_window_new (app);
  int width = 0, height = 0;
  gtk_window_get_default_size (GTK_WINDOW (next), &width, &height);
  g_assert_cmpint (width, ==, 913);
  g_assert_cmpint (height, ==, 611);
  gtk_window_destroy (GTK_WINDOW (next));
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
  g_test_add_func ("/window/fits-360", test_window_fits_360);
  g_test_add_func ("/window/accessible-names", test_accessible_names);
  g_test_add_func ("/window/quit-saves-size", test_quit_saves_size);
  g_test_add_func ("/window/open-project", test_open_project);
  g_test_add_func ("/window/demo-import-cancel", test_demo_import_can_be_cancelled);
  return g_test_run ();
}
