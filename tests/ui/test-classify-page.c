/* The Classify page under Xvfb: a file dropped on it (a real GdkFileList
 * through its drop target's "drop" signal) shows the same five classes and
 * probabilities as `kiln-cli classify --json` on that file; a file that is
 * no image says so in its row. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "kiln-application.h"
#include "kiln-classify-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

/* The bars project and its finished run "bars". */
static char *
make_trained_project (void)
{
  char *project = kiln_test_make_bars_project ();
  kiln_test_train_bars (project, "bars", 3);
  return project;
}

static GtkDropTarget *
find_drop_target (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (controller))
        return GTK_DROP_TARGET (controller);
    }
  return NULL;
}

static void
drop_files (KilnClassifyPage *page, GFile **files, gsize n)
{
  GtkDropTarget *target = find_drop_target (GTK_WIDGET (page));
  GValue value = G_VALUE_INIT;
  gboolean accepted = FALSE;

  g_assert_nonnull (target);
  g_assert_true (g_type_is_a (GDK_TYPE_FILE_LIST, gtk_drop_target_get_gtypes (target, NULL)[0]));
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_array (files, n));
  g_signal_emit_by_name (target, "drop", &value, 20.0, 20.0, &accepted);
  g_value_unset (&value);
  g_assert_true (accepted);
}

typedef struct {
  KilnClassifyPage *page;
  guint index;
} Image;

static gboolean
is_done (gpointer data)
{
  Image *image = data;
  const GError *error = NULL;

  if (kiln_classify_page_get_n_images (image->page) <= image->index)
    return FALSE;
  return kiln_classify_page_get_predictions (image->page, image->index, &error) != NULL || error != NULL;
}

/* Whether a label under @widget says @text. */
static gboolean
shows_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (shows_label (c, text))
      return TRUE;
  return FALSE;
}

static void
test_drop_matches_cli (void)
{
  g_autofree char *project = make_trained_project ();
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);
  g_autoptr(GError) error = NULL;

  gtk_window_set_default_size (GTK_WINDOW (window), 900, 800);
  gtk_window_present (GTK_WINDOW (window));
  kiln_test_spin_until (is_mapped, window, 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "classify"));
  kiln_test_open_project (window, project);
  KilnClassifyPage *page = kiln_test_child (window, KILN_TYPE_WINDOW, "classify_page");

  /* A vertical bar, and a file that is no image. */
  g_autofree char *image = g_build_filename (project, "images", "vertical", "3.png", NULL);
  g_autofree char *junk = g_build_filename (project, "notes.png", NULL);
  g_assert_true (g_file_set_contents (junk, "not an image", -1, NULL));
  GFile *files[] = { g_file_new_for_path (image), g_file_new_for_path (junk) };
  drop_files (page, files, G_N_ELEMENTS (files));
  g_object_unref (files[0]);
  g_object_unref (files[1]);
  g_assert_cmpuint (kiln_classify_page_get_n_images (page), ==, 2);

  Image first = { page, 0 }, second = { page, 1 };
  kiln_test_spin_until (is_done, &first, 30);
  kiln_test_spin_until (is_done, &second, 30);
  g_assert_cmpstr (kiln_classify_page_get_run (page), ==, "bars");
  const GError *image_error = NULL;
  GArray *predictions = kiln_classify_page_get_predictions (page, 0, &image_error);
  g_assert_null (image_error);
  g_assert_nonnull (predictions);

  g_autofree char *run = g_build_filename (project, "runs", "bars", NULL);
  const char *args[] = { "classify", run, image, "--json", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (kiln_test_run_cli (args, &out, &err), ==, 0);
  g_autoptr(JsonNode) root = json_from_string (out, &error);
  g_assert_no_error (error);
  JsonObject *result = json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (root), "images"), 0);
  JsonArray *want = json_object_get_array_member (result, "predictions");
  /* Two classes: the top five are both of them, best first. */
  g_assert_cmpuint (json_array_get_length (want), ==, 2);
  g_assert_cmpuint (predictions->len, ==, json_array_get_length (want));
  GtkWidget *list = kiln_test_child (page, KILN_TYPE_CLASSIFY_PAGE, "results_list");
  for (guint i = 0; i < predictions->len; i++)
    {
      JsonObject *p = json_array_get_object_element (want, i);
      const KilnPrediction *got = &g_array_index (predictions, KilnPrediction, i);
      g_assert_cmpstr (got->class_name, ==, json_object_get_string_member (p, "class"));
      g_assert_cmpfloat_with_epsilon (got->probability, json_object_get_double_member (p, "probability"), 1e-6);
      g_autofree char *percent = g_strdup_printf ("%.1f %%", 100.0 * got->probability);
      g_assert_true (shows_label (list, got->class_name));
      g_assert_true (shows_label (list, percent));
    }

  /* The junk file says why, in its row. */
  g_assert_null (kiln_classify_page_get_predictions (page, 1, &image_error));
  g_assert_nonnull (image_error);
  g_assert_true (shows_label (list, image_error->message));

  /* Clear empties the page. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "classify.clear", NULL));
  g_assert_cmpuint (kiln_classify_page_get_n_images (page), ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
  kiln_test_remove_tree (project);
}

int
main (int argc, char *argv[])
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  g_test_add_func ("/classify-page/drop-matches-cli", test_drop_matches_cli);
  return g_test_run ();
}
