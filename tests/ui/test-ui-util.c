#include "test-ui-util.h"

KilnApplication *
kiln_test_make_app (void)
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

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

void
kiln_test_spin_until (gboolean (*done) (gpointer), gpointer data, int seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  /* A blocking iteration with nothing to do would outlive the deadline. */
  guint tick = g_timeout_add (100, wake_up, NULL);

  while (!done (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

gpointer
kiln_test_find_action_row (gpointer widget, const char *suffix)
{
  if (ADW_IS_ACTION_ROW (widget) &&
      g_str_has_suffix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), suffix))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      gpointer found = kiln_test_find_action_row (c, suffix);
      if (found != NULL)
        return found;
    }
  return NULL;
}

KilnCuratePage *
kiln_test_curate_page (KilnWindow *window)
{
  gpointer page = gtk_widget_get_template_child (GTK_WIDGET (window), KILN_TYPE_WINDOW, "curate_page");
  g_assert_nonnull (page);
  return KILN_CURATE_PAGE (page);
}

static gboolean
curate_is_idle (gpointer page)
{
  return !kiln_curate_page_is_busy (page);
}

void
kiln_test_wait_curate (KilnCuratePage *page)
{
  kiln_test_spin_until (curate_is_idle, page, 30);
  g_assert_false (kiln_curate_page_is_busy (page));
}

/* The window shows the folder args[1], in a store other than args[2]. */
static gboolean
project_is (gpointer data)
{
  gpointer *args = data;
  GFile *open = kiln_window_get_project (args[0]);
  KilnProject *store = kiln_curate_page_get_project (kiln_test_curate_page (args[0]));
  return open != NULL && g_file_equal (open, args[1]) && store != NULL && store != args[2];
}

void
kiln_test_open_project (KilnWindow *window, const char *dir)
{
  g_autoptr(GFile) folder = g_file_new_for_path (dir);
  /* Opening the open project again reads a new store. */
  gpointer args[] = { window, folder, kiln_curate_page_get_project (kiln_test_curate_page (window)) };

  kiln_window_open_project (window, folder);
  kiln_test_spin_until (project_is, args, 20);
  g_assert_true (project_is (args));
  kiln_test_wait_curate (kiln_test_curate_page (window));
}

void
kiln_test_assert_curate_title (KilnCuratePage *page, const char *title, const char *count)
{
  GObject *title_label = gtk_widget_get_template_child (GTK_WIDGET (page), KILN_TYPE_CURATE_PAGE, "title_label");
  GObject *count_label = gtk_widget_get_template_child (GTK_WIDGET (page), KILN_TYPE_CURATE_PAGE, "count_label");

  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (title_label)), ==, title);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (count_label)), ==, count);
}

gboolean
kiln_test_shoot_window (GtkWidget *window, GtkWidget *page, const char *path)
{
  int w = gtk_widget_get_width (window), h = gtk_widget_get_height (window), page_min;
  gtk_widget_measure (page, GTK_ORIENTATION_HORIZONTAL, -1, &page_min, NULL, NULL, NULL);
  g_print ("the page needs at least %d px\n", page_min);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  g_autoptr(GdkTexture) texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));

  if (!gdk_texture_save_to_png (texture, path))
    {
      g_printerr ("could not write %s\n", path);
      return FALSE;
    }
  g_print ("%s: %d × %d\n", path, w, h);
  return TRUE;
}

static gboolean
find_message_dialog (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) toplevel = g_list_model_get_item (toplevels, i);
      if (ADW_IS_MESSAGE_DIALOG (toplevel))
        {
          *(gpointer *) data = toplevel;
          return TRUE;
        }
    }
  return FALSE;
}

AdwMessageDialog *
kiln_test_wait_message_dialog (void)
{
  gpointer dialog = NULL;

  kiln_test_spin_until (find_message_dialog, &dialog, 10);
  g_assert_nonnull (dialog);
  return dialog;
}
