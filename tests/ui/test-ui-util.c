#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "kiln-i18n.h"
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

KilnApplication *
kiln_test_shoot_start (int *argc, char ***argv, const GOptionEntry *entries, gboolean *alone, int *width, int *height)
{
  g_autofree char *localedir = NULL;
  gboolean dark = FALSE;
  const GOptionEntry common[] = {
    { "alone", 0, 0, G_OPTION_ARG_NONE, alone, "The page alone in a window (narrower than the main window goes)", NULL },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark, "Dark style", NULL },
    { "localedir", 0, 0, G_OPTION_ARG_FILENAME, &localedir, "Where kiln.mo lies (ja/LC_MESSAGES/)", "DIR" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("OUT.png WIDTH HEIGHT");
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, common, NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error) || *argc != 4)
    {
      g_printerr ("%s\n", error ? error->message : "usage: OUT.png WIDTH HEIGHT [OPTION…]");
      return NULL;
    }
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : kiln_i18n_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  *width = atoi ((*argv)[2]);
  *height = atoi ((*argv)[3]);

  KilnApplication *app = kiln_application_new ();
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  if (dark)
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  return app;
}

gboolean
kiln_test_save_png (GtkWidget *window, const char *path)
{
  int w = gtk_widget_get_width (window), h = gtk_widget_get_height (window);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  g_autoptr(GdkTexture) texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  return gdk_texture_save_to_png (texture, path);
}

gpointer
kiln_test_child (gpointer widget, GType type, const char *name)
{
  gpointer found = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (found);
  return found;
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

static const char notifications_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
  "<arg type='u' direction='out'/></method>"
  "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "<signal name='NotificationClosed'><arg type='u'/><arg type='u'/></signal>"
  "<signal name='ActionInvoked'><arg type='u'/><arg type='s'/></signal>"
  "</interface></node>";

static void
notifications_call (GDBusConnection *connection, const char *sender, const char *path, const char *interface,
                    const char *method, GVariant *parameters, GDBusMethodInvocation *invocation, gpointer data)
{
  GPtrArray *received = data;

  if (g_str_equal (method, "Notify"))
    {
      const char *summary, *body;
      g_variant_get_child (parameters, 3, "&s", &summary);
      g_variant_get_child (parameters, 4, "&s", &body);
      g_ptr_array_add (received, g_strdup_printf ("%s\n%s", summary, body));
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", received->len));
    }
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
name_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  *(gboolean *) data = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

GPtrArray *
kiln_test_notifications (void)
{
  static GPtrArray *received;
  static gboolean owned;
  static const GDBusInterfaceVTable vtable = { notifications_call };

  if (received != NULL)
    return received;
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (notifications_xml, &error);
  g_assert_no_error (error);
  received = g_ptr_array_new_with_free_func (g_free);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications", info->interfaces[0], &vtable, received,
                                     NULL, &error);
  g_assert_no_error (error);
  g_bus_own_name_on_connection (bus, "org.freedesktop.Notifications", G_BUS_NAME_OWNER_FLAGS_NONE, name_acquired,
                                NULL, &owned, NULL);
  kiln_test_spin_until (is_true, &owned, 10);
  g_assert_true (owned);
  return received;
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

static gboolean
frame_watch_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  KilnFrameWatch *watch = data;
  gint64 now = gdk_frame_clock_get_frame_time (clock);

  if (!watch->busy (watch->data))
    {
      watch->last_frame = 0;
      return G_SOURCE_CONTINUE;
    }
  if (watch->first_frame == 0)
    watch->first_frame = now;
  if (watch->last_frame > 0 && now - watch->last_frame > watch->longest_gap)
    {
      watch->longest_gap = now - watch->last_frame;
      watch->longest_at = now - watch->first_frame;
    }
  watch->last_frame = now;
  watch->frames++;
  return G_SOURCE_CONTINUE;
}

void
kiln_test_frame_watch_start (KilnFrameWatch *watch, GtkWidget *widget, gboolean (*busy) (gpointer), gpointer data)
{
  *watch = (KilnFrameWatch) { .busy = busy, .data = data, .widget = widget };
  watch->tick = gtk_widget_add_tick_callback (widget, frame_watch_tick, watch, NULL);
}

void
kiln_test_frame_watch_stop (KilnFrameWatch *watch)
{
  gtk_widget_remove_tick_callback (watch->widget, watch->tick);
  watch->tick = 0;
}
