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
