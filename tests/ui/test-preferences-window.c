/* The Preferences window under Xvfb: app.preferences (Ctrl+comma, in the
 * primary menu) opens it, and each row, changed as a person would, reaches
 * the core where the setting takes effect: the engine's default device and
 * CPU threads (a CPU backend made afterwards uses them), the image caches'
 * location and size limit, and new gather requests' parallelism and
 * timeouts (the Gather page's spin starts there). */
#include <adwaita.h>
#include <string.h>

#include "kiln-application.h"
#include "kiln-backend-cpu.h"
#include "kiln-core.h"
#include "kiln-gather-page.h"
#include "kiln-window.h"
#include "kiln-preferences-window.h"
#include "test-ui-util.h"
#include "test-util.h"

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

static KilnPreferencesWindow *
find_preferences (GtkApplication *app)
{
  for (GList *l = gtk_application_get_windows (app); l != NULL; l = l->next)
    if (KILN_IS_PREFERENCES_WINDOW (l->data))
      return l->data;
  return NULL;
}

static gboolean
has_preferences (gpointer app)
{
  return find_preferences (app) != NULL;
}

static void
set_spin (KilnPreferencesWindow *window, const char *name, double value)
{
  GtkSpinButton *spin = kiln_test_child (window, KILN_TYPE_PREFERENCES_WINDOW, name);
  gtk_spin_button_set_value (spin, value);
}

static void
test_each_preference_reaches_the_core (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  GSettings *settings = kiln_application_get_settings (app);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (settings);
  g_unsetenv ("KILN_NUM_THREADS");
  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.preferences");
  g_assert_cmpstr (accels[0], ==, "<Control>comma");
  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  kiln_test_spin_until (has_preferences, app, 10);
  KilnPreferencesWindow *window = find_preferences (GTK_APPLICATION (app));
  g_assert_nonnull (window);
  kiln_test_spin_until (is_mapped, window, 10);

  /* Device: the CPU, then automatic again. */
  AdwComboRow *device = kiln_test_child (window, KILN_TYPE_PREFERENCES_WINDOW, "device_row");
  g_autofree char *before = kiln_backend_dup_default_device ();
  g_assert_cmpstr (before, ==, "auto");
  adw_combo_row_set_selected (device, 1);
  g_autofree char *cpu = kiln_backend_dup_default_device ();
  g_assert_cmpstr (cpu, ==, "cpu");
  g_autofree char *stored = g_settings_get_string (settings, "device");
  g_assert_cmpstr (stored, ==, "cpu");
  g_autoptr(KilnBackend) backend = kiln_backend_new ("auto", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (backend), ==, "cpu");
  g_clear_pointer (&backend, kiln_backend_free);
  adw_combo_row_set_selected (device, 0);
  g_autofree char *automatic = kiln_backend_dup_default_device ();
  g_assert_cmpstr (automatic, ==, "auto");

  /* Threads: a CPU backend made now uses 3; 0 is every processor. */
  set_spin (window, "threads_spin", 3);
  g_assert_cmpint (kiln_backend_cpu_get_default_threads (), ==, 3);
  backend = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  g_assert_cmpint (kiln_backend_cpu_get_threads (backend), ==, 3);
  g_clear_pointer (&backend, kiln_backend_free);
  set_spin (window, "threads_spin", 0);
  g_assert_cmpint (kiln_backend_cpu_get_default_threads (), ==, (int) g_get_num_processors ());

  /* The cache: its location (typed and applied) and its limit. */
  AdwEntryRow *location = kiln_test_child (window, KILN_TYPE_PREFERENCES_WINDOW, "cache_location_row");
  g_autofree char *caches = g_build_filename (g_get_tmp_dir (), "kiln-caches", NULL);
  gtk_editable_set_text (GTK_EDITABLE (location), caches);
  g_signal_emit_by_name (location, "apply");
  g_autofree char *dir = kiln_cache_dir ("/srv/projects/shoes");
  g_assert_true (g_str_has_prefix (dir, caches));
  g_assert_nonnull (strstr (dir, "shoes-"));
  set_spin (window, "cache_limit_spin", 5);
  g_assert_cmpuint (kiln_cache_policy_get_size_limit (), ==, 5 * 1024 * 1024);
  gtk_editable_set_text (GTK_EDITABLE (location), "");
  g_signal_emit_by_name (location, "apply");
  g_free (dir);
  dir = kiln_cache_dir ("/srv/projects/shoes");
  g_assert_cmpstr (dir, ==, "/srv/projects/shoes/cache");

  /* Downloads: what a new gather request starts with. */
  set_spin (window, "parallel_spin", 7);
  set_spin (window, "connect_timeout_spin", 3);
  set_spin (window, "download_timeout_spin", 20);
  g_autoptr(KilnGatherRequest) request = kiln_gather_request_new (KILN_GATHER_URLS, NULL, NULL);
  g_assert_cmpuint (request->max_parallel, ==, 7);
  g_assert_cmpuint (request->connect_timeout_ms, ==, 3000);
  g_assert_cmpuint (request->total_timeout_ms, ==, 20000);

  /* The Gather page's own spin starts from the preference when it shows. */
  KilnWindow *main_window = kiln_window_new (app);
  gtk_window_present (GTK_WINDOW (main_window));
  kiln_test_spin_until (is_mapped, main_window, 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (main_window), "win.show-page", "s", "gather"));
  GtkWidget *gather = kiln_test_child (main_window, KILN_TYPE_WINDOW, "gather_page");
  kiln_test_spin_until (is_mapped, gather, 10);
  GtkSpinButton *gather_spin = kiln_test_child (gather, KILN_TYPE_GATHER_PAGE, "parallel_spin");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (gather_spin), ==, 7);
  gtk_window_destroy (GTK_WINDOW (main_window));

  /* A change made elsewhere (another window, dconf) shows here too. */
  g_settings_set_string (settings, "device", "cpu");
  g_assert_cmpuint (adw_combo_row_get_selected (device), ==, 1);
  g_settings_reset (settings, "device");
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char *argv[])
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  g_test_add_func ("/preferences/each-reaches-the-core", test_each_preference_reaches_the_core);
  return g_test_run ();
}
