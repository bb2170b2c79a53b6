/* kiln-preferences-window.c: the preferences (see kiln-preferences-window.h). */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-backend-module.h"
#include "kiln-preferences-window.h"

struct _KilnPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  AdwComboRow *device_row;
  GtkSpinButton *threads_spin;
  AdwEntryRow *cache_location_row;
  GtkSpinButton *cache_limit_spin;
  GtkSpinButton *parallel_spin;
  GtkSpinButton *connect_timeout_spin;
  GtkSpinButton *download_timeout_spin;

  GSettings *settings;
  GPtrArray *devices;           /* the device rows' names: "auto", "cpu", "cuda:N" */
  GtkFileChooserNative *chooser;
  gboolean syncing;
};

G_DEFINE_FINAL_TYPE (KilnPreferencesWindow, kiln_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* ---- device ------------------------------------------------------------------ */

static void
add_device (KilnPreferencesWindow *self, GtkStringList *labels, const char *name, const char *label)
{
  g_ptr_array_add (self->devices, g_strdup (name));
  gtk_string_list_append (labels, label);
}

/* Auto, the CPU, and the CUDA devices that answer, plus the one the key
 * names when it is not among them (another machine's, say). */
static void
fill_devices (KilnPreferencesWindow *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  g_autofree char *current = self->settings ? g_settings_get_string (self->settings, "device")
                                            : g_strdup ("auto");
  g_autofree char *description = NULL;
  int n_cuda = kiln_backend_module_probe_cuda (&description, NULL);

  self->syncing = TRUE;
  add_device (self, labels, "auto", _("Automatic"));
  add_device (self, labels, "cpu", _("CPU"));
  for (int i = 0; i < n_cuda; i++)
    {
      g_autofree char *name = g_strdup_printf ("cuda:%d", i);
      g_autofree char *label = g_strdup_printf (_("CUDA device %d"), i);
      add_device (self, labels, name, label);
    }
  gboolean known = FALSE;
  for (guint i = 0; i < self->devices->len; i++)
    known |= g_str_equal (self->devices->pdata[i], current);
  if (!known && g_str_has_prefix (current, "cuda"))
    {
      g_autofree char *label = g_strdup_printf (_("%s (not found here)"), current);
      add_device (self, labels, current, label);
    }
  adw_combo_row_set_model (self->device_row, G_LIST_MODEL (labels));
  self->syncing = FALSE;
}

static void
sync_device (KilnPreferencesWindow *self)
{
  g_autofree char *current = g_settings_get_string (self->settings, "device");

  self->syncing = TRUE;
  for (guint i = 0; i < self->devices->len; i++)
    if (g_str_equal (self->devices->pdata[i], current))
      adw_combo_row_set_selected (self->device_row, i);
  self->syncing = FALSE;
}

static void
device_selected_cb (KilnPreferencesWindow *self)
{
  guint i = adw_combo_row_get_selected (self->device_row);

  if (self->syncing || self->settings == NULL || i >= self->devices->len)
    return;
  g_settings_set_string (self->settings, "device", self->devices->pdata[i]);
}

/* ---- cache location --------------------------------------------------------------- */

static void
sync_cache_location (KilnPreferencesWindow *self)
{
  g_autofree char *location = g_settings_get_string (self->settings, "cache-location");
  gtk_editable_set_text (GTK_EDITABLE (self->cache_location_row), location);
}

static void
cache_location_applied_cb (KilnPreferencesWindow *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->cache_location_row))));

  if (self->settings != NULL)
    g_settings_set_string (self->settings, "cache-location", text);
}

static void
chooser_response (GtkNativeDialog *dialog, int response, KilnPreferencesWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;
      if (path != NULL && self->settings != NULL)
        g_settings_set_string (self->settings, "cache-location", path);
    }
  g_clear_object (&self->chooser);
}

static void
choose_cache_location_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnPreferencesWindow *self = KILN_PREFERENCES_WINDOW (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Cache Location"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- object ------------------------------------------------------------------------ */

static void
settings_changed_cb (GSettings *settings, const char *key, KilnPreferencesWindow *self)
{
  if (g_str_equal (key, "device"))
    sync_device (self);
  else if (g_str_equal (key, "cache-location"))
    sync_cache_location (self);
}

GtkWidget *
kiln_preferences_window_new (GtkWindow *parent, GSettings *settings)
{
  KilnPreferencesWindow *self = g_object_new (KILN_TYPE_PREFERENCES_WINDOW, "transient-for", parent, "modal", TRUE,
                                              NULL);
  static const struct { const char *key; gsize offset; } spins[] = {
    { "threads", G_STRUCT_OFFSET (KilnPreferencesWindow, threads_spin) },
    { "cache-size-limit", G_STRUCT_OFFSET (KilnPreferencesWindow, cache_limit_spin) },
    { "download-parallel", G_STRUCT_OFFSET (KilnPreferencesWindow, parallel_spin) },
    { "connect-timeout", G_STRUCT_OFFSET (KilnPreferencesWindow, connect_timeout_spin) },
    { "download-timeout", G_STRUCT_OFFSET (KilnPreferencesWindow, download_timeout_spin) },
  };

  g_set_object (&self->settings, settings);
  fill_devices (self);
  if (settings == NULL)
    {
      /* Nothing could be kept: say so rather than pretend. */
      gtk_widget_set_sensitive (GTK_WIDGET (self), FALSE);
      return GTK_WIDGET (self);
    }
  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    {
      GtkSpinButton *spin = G_STRUCT_MEMBER (GtkSpinButton *, self, spins[i].offset);
      g_settings_bind (settings, spins[i].key, gtk_spin_button_get_adjustment (spin), "value", G_SETTINGS_BIND_DEFAULT);
    }
  sync_device (self);
  sync_cache_location (self);
  g_signal_connect_object (settings, "changed", G_CALLBACK (settings_changed_cb), self, 0);
  return GTK_WIDGET (self);
}

static void
kiln_preferences_window_dispose (GObject *object)
{
  KilnPreferencesWindow *self = KILN_PREFERENCES_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_PREFERENCES_WINDOW);
  G_OBJECT_CLASS (kiln_preferences_window_parent_class)->dispose (object);
}

static void
kiln_preferences_window_finalize (GObject *object)
{
  g_ptr_array_unref (KILN_PREFERENCES_WINDOW (object)->devices);
  G_OBJECT_CLASS (kiln_preferences_window_parent_class)->finalize (object);
}

static void
kiln_preferences_window_class_init (KilnPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_preferences_window_dispose;
  object_class->finalize = kiln_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnPreferencesWindow, device_row);
  gtk_widget_class_bind_template_child (widget_class, KilnPreferencesWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnPreferencesWindow, cache_location_row);
  gtk_widget_class_bind_template_child (widget_class, KilnPreferencesWindow, cache_limit_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnPreferencesWindow, parallel_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnPreferencesWindow, connect_timeout_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnPreferencesWindow, download_timeout_spin);
  gtk_widget_class_bind_template_callback (widget_class, cache_location_applied_cb);
  gtk_widget_class_install_action (widget_class, "preferences.choose-cache-location", NULL,
                                   choose_cache_location_activated);
}

static void
kiln_preferences_window_init (KilnPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->devices = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect_swapped (self->device_row, "notify::selected", G_CALLBACK (device_selected_cb), self);
}
