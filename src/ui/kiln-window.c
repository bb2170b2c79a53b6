#include "config.h"

#include <glib/gi18n.h>

#include "kiln-window.h"

struct _KilnWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  AdwStatusPage *images_status;

  GFile *project;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (KilnWindow, kiln_window, ADW_TYPE_APPLICATION_WINDOW)

KilnWindow *
kiln_window_new (KilnApplication *application)
{
  return g_object_new (KILN_TYPE_WINDOW, "application", application, NULL);
}

GFile *
kiln_window_get_project (KilnWindow *self)
{
  g_return_val_if_fail (KILN_IS_WINDOW (self), NULL);
  return self->project;
}

static void
show_toast (KilnWindow *self, const char *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

/* Counts class folders (sub-folders) and loose files: the folder layout is
 * the labelling, as in mlimages. */
static gboolean
count_entries (GFile *folder, guint *n_folders, guint *n_files, GError **error)
{
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (folder,
                                                                   G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                                                   G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                   G_FILE_QUERY_INFO_NONE, NULL, error);
  if (children == NULL)
    return FALSE;

  *n_folders = *n_files = 0;
  for (;;)
    {
      GFileInfo *info = NULL;
      if (!g_file_enumerator_iterate (children, &info, NULL, NULL, error))
        return FALSE;
      if (info == NULL)
        break;
      if (g_file_info_get_name (info)[0] == '.')
        continue;
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        (*n_folders)++;
      else
        (*n_files)++;
    }
  return TRUE;
}

void
kiln_window_open_project (KilnWindow *self, GFile *folder)
{
  g_autoptr(GError) error = NULL;
  guint n_folders = 0, n_files = 0;

  g_return_if_fail (KILN_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (folder));

  if (!count_entries (folder, &n_folders, &n_files, &error))
    {
      g_autofree char *name = g_file_get_parse_name (folder);
      g_autofree char *text = g_strdup_printf (_("Could not open “%s”: %s"), name, error->message);
      show_toast (self, text);
      return;
    }

  g_set_object (&self->project, folder);
  g_autofree char *basename = g_file_get_basename (folder);
  adw_view_switcher_title_set_subtitle (self->switcher_title, basename);
  adw_status_page_set_title (self->images_status, basename);
  g_autofree char *description =
    g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u folder", "%u folders", n_folders), n_folders);
  g_autofree char *files =
    g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n_files), n_files);
  g_autofree char *both = g_strdup_printf ("%s · %s", description, files);
  adw_status_page_set_description (self->images_status, both);

  GSettings *settings = kiln_application_get_settings (KILN_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
  if (settings != NULL)
    {
      g_autofree char *path = g_file_get_path (folder);
      if (path != NULL)
        g_settings_set_string (settings, "last-project", path);
    }
}

static void
chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KilnWindow *self = KILN_WINDOW (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (folder != NULL)
        kiln_window_open_project (self, folder);
    }
  g_clear_object (&self->chooser);
}

static void
open_project_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Open Project"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
save_window_state (KilnWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings = app ? kiln_application_get_settings (KILN_APPLICATION (app)) : NULL;
  int width, height;

  if (settings == NULL)
    return;
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
}

static gboolean
kiln_window_close_request (GtkWindow *window)
{
  save_window_state (KILN_WINDOW (window));
  return GTK_WINDOW_CLASS (kiln_window_parent_class)->close_request (window);
}

static void
kiln_window_constructed (GObject *object)
{
  KilnWindow *self = KILN_WINDOW (object);
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings = app ? kiln_application_get_settings (KILN_APPLICATION (app)) : NULL;

  G_OBJECT_CLASS (kiln_window_parent_class)->constructed (object);

  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }
#if KILN_DEVELOPMENT
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
}

static void
kiln_window_dispose (GObject *object)
{
  KilnWindow *self = KILN_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->project);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_WINDOW);
  G_OBJECT_CLASS (kiln_window_parent_class)->dispose (object);
}

static void
kiln_window_class_init (KilnWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = kiln_window_constructed;
  object_class->dispose = kiln_window_dispose;
  window_class->close_request = kiln_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-window.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, images_status);

  gtk_widget_class_install_action (widget_class, "win.open-project", NULL, open_project_activated);
}

static void
kiln_window_init (KilnWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
