#include "config.h"

#include <glib/gi18n.h>

#include "kiln-application.h"
#include "kiln-backend-cpu.h"
#include "kiln-core.h"
#include "kiln-demo.h"
#include "kiln-parallel.h"
#include "kiln-preferences-window.h"
#include "kiln-project.h"
#include "kiln-version.h"
#include "kiln-window.h"

struct _KilnApplication
{
  AdwApplication parent_instance;
  GSettings *settings;
  char *project_path;
  gboolean demo;                /* --demo: open the demo project */
};

G_DEFINE_FINAL_TYPE (KilnApplication, kiln_application, ADW_TYPE_APPLICATION)

KilnApplication *
kiln_application_new (void)
{
  return g_object_new (KILN_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       "resource-base-path", "/org/kiln/Kiln",
                       NULL);
}

GSettings *
kiln_application_get_settings (KilnApplication *self)
{
  g_return_val_if_fail (KILN_IS_APPLICATION (self), NULL);
  return self->settings;
}

static void
present_window (KilnApplication *self, GFile *project)
{
  KilnWindow *window = kiln_window_new (self);
  if (project != NULL)
    kiln_window_open_project (window, project);
  gtk_window_present (GTK_WINDOW (window));
}

static void
kiln_application_activate (GApplication *app)
{
  KilnApplication *self = KILN_APPLICATION (app);
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (active != NULL)
    {
      gtk_window_present (active);
      return;
    }
  if (self->project_path != NULL)
    {
      g_autoptr(GFile) project = g_file_new_for_commandline_arg (self->project_path);
      present_window (self, project);
      return;
    }
  if (self->demo)
    {
      KilnWindow *window = kiln_window_new (self);
      g_autofree char *demo = kiln_demo_default_dir ();
      gtk_window_present (GTK_WINDOW (window));
      kiln_window_open_demo (window, demo);
      return;
    }
  /* The last project, else the welcome page: nothing is opened (or
   * gathered into) that the user did not choose. */
  g_autofree char *last = self->settings ? g_settings_get_string (self->settings, "last-project") : NULL;
  g_autoptr(GFile) project = last != NULL && kiln_project_exists (last) ? g_file_new_for_path (last) : NULL;
  present_window (self, project);
}

static void
kiln_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  for (int i = 0; i < n_files; i++)
    present_window (KILN_APPLICATION (app), files[i]);
}

static int
kiln_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  KilnApplication *self = KILN_APPLICATION (app);

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("kiln %s\n", KILN_VERSION);
      return 0;
    }
  g_variant_dict_lookup (options, "project", "s", &self->project_path);
  self->demo = g_variant_dict_contains (options, "demo");
  return -1;
}

void
kiln_application_apply_preferences (GSettings *settings)
{
  g_autofree char *device = g_settings_get_string (settings, "device");
  g_autofree char *cache = g_settings_get_string (settings, "cache-location");

  kiln_backend_set_default_device (device);
  kiln_backend_cpu_set_default_threads (g_settings_get_int (settings, "threads"));
  kiln_cache_policy_set (cache, (guint64) g_settings_get_uint (settings, "cache-size-limit") * 1024 * 1024);
  kiln_gather_set_request_defaults (g_settings_get_uint (settings, "download-parallel"),
                                    g_settings_get_uint (settings, "connect-timeout") * 1000,
                                    g_settings_get_uint (settings, "download-timeout") * 1000);
}

/* Any key: the core takes them all again (a handful of assignments). */
static void
settings_changed_cb (GSettings *settings, const char *key, gpointer user_data)
{
  kiln_application_apply_preferences (settings);
}

static void
kiln_application_startup (GApplication *app)
{
  KilnApplication *self = KILN_APPLICATION (app);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *open_accels[] = { "<Control>o", NULL };
  static const char *new_accels[] = { "<Control>n", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };
  static const char *find_accels[] = { "<Control>f", NULL };
  static const char *new_run_accels[] = { "<Control><Shift>n", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const struct { const char *name, *accel; } pages[] = {
    { "gather", "<Alt>1" }, { "curate", "<Alt>2" }, { "dataset", "<Alt>3" },
    { "train", "<Alt>4" }, { "network", "<Alt>5" }, { "classify", "<Alt>6" },
  };

  G_APPLICATION_CLASS (kiln_application_parent_class)->startup (app);
  /* Inspection, thumbnails and the like may use every core; the window's
   * own thread must still get one to draw. */
  kiln_parallel_set_worker_nice (5);

  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, APP_ID, TRUE) : NULL;
  if (schema != NULL)
    {
      self->settings = g_settings_new (APP_ID);
      kiln_application_apply_preferences (self->settings);
      g_signal_connect (self->settings, "changed", G_CALLBACK (settings_changed_cb), NULL);
    }
  else
    g_message ("GSettings schema %s is not installed; window size and preferences will not be kept", APP_ID);

  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.open-project", open_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.new-project", new_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "window.close", close_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.find-synset", find_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.new-run", new_run_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", preferences_accels);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      const char *accels[] = { pages[i].accel, NULL };
      g_autofree char *detailed = g_strdup_printf ("win.show-page::%s", pages[i].name);
      gtk_application_set_accels_for_action (GTK_APPLICATION (app), detailed, accels);
    }
}

/* Closing each window, rather than g_application_quit(), lets a window
 * save its size and stop its runs; the application ends with the last. */
static void
quit_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (user_data)));

  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (GTK_WINDOW (l->data));
  g_list_free (windows);
}

static void
about_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  static const char *developers[] = { "The Kiln developers", NULL };

  adw_show_about_window (gtk_application_get_active_window (app),
                         "application-name", _("Kiln"),
                         "application-icon", APP_ID,
                         "developer-name", _("The Kiln developers"),
                         "version", KILN_VERSION,
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments", _("Turn a pile of images into a trained image classifier"),
                         NULL);
}

static void
preferences_activated (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  KilnApplication *self = KILN_APPLICATION (user_data);
  GtkWidget *window = kiln_preferences_window_new (gtk_application_get_active_window (GTK_APPLICATION (self)),
                                                   self->settings);
  gtk_window_set_application (GTK_WINDOW (window), GTK_APPLICATION (self));
  gtk_window_present (GTK_WINDOW (window));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = quit_activated },
  { .name = "preferences", .activate = preferences_activated },
  { .name = "about", .activate = about_activated },
};

static void
kiln_application_finalize (GObject *object)
{
  KilnApplication *self = KILN_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->project_path, g_free);
  G_OBJECT_CLASS (kiln_application_parent_class)->finalize (object);
}

static void
kiln_application_class_init (KilnApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = kiln_application_finalize;
  app_class->activate = kiln_application_activate;
  app_class->open = kiln_application_open;
  app_class->startup = kiln_application_startup;
  app_class->handle_local_options = kiln_application_handle_local_options;
}

static void
kiln_application_init (KilnApplication *self)
{
  const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Show the version and exit"), NULL },
    { "project", 'p', 0, G_OPTION_ARG_STRING, NULL, N_("Open the project in FOLDER"), N_("FOLDER") },
    { "demo", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Open the Fashion-MNIST demo project, importing it on first use"),
      NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
}
