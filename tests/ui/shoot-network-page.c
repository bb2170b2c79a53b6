/* shoot-network-page: renders the window on its Network page to a PNG, to
 * look at the page at a width, in the dark style or another language.
 * Not a test; run under Xvfb:
 *
 *   xvfb-run -a _build/tests/shoot-network-page out.png 360 1400 --state 224 --dark
 *   LANGUAGE=ja xvfb-run -a … --localedir _build/po
 *
 * --state: 227 (AlexNet as it is), 224 (the mismatch), compare (227 against
 * 224), resnet (ResNet-18). */
#include "config.h"

#include <adwaita.h>

#include "kiln-application.h"
#include "kiln-network-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

static void
settle (int rounds)
{
  for (int i = 0; i < rounds; i++)
    {
      g_usleep (20000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *state = NULL;
  gboolean alone = FALSE;
  int width, height;
  const GOptionEntry entries[] = {
    { "state", 0, 0, G_OPTION_ARG_STRING, &state, "227, 224, compare or resnet", "STATE" },
    { NULL }
  };
  g_autoptr(KilnApplication) app = kiln_test_shoot_start (&argc, &argv, entries, &alone, &width, &height);

  if (app == NULL)
    return 2;
  GtkWidget *window, *page;
  if (alone)
    {
      window = adw_application_window_new (GTK_APPLICATION (app));
      page = kiln_network_page_new ();
      adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), page);
    }
  else
    {
      window = GTK_WIDGET (kiln_window_new (app));
      AdwViewStack *stack = ADW_VIEW_STACK (gtk_widget_get_template_child (window, KILN_TYPE_WINDOW, "view_stack"));
      page = adw_view_stack_get_child_by_name (stack, "network");
    }
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_present (GTK_WINDOW (window));
  while (!is_mapped (window))
    g_main_context_iteration (NULL, TRUE);
  if (!alone)
    gtk_widget_activate_action (window, "win.show-page", "s", "network");
  if (g_strcmp0 (state, "224") == 0)
    gtk_widget_activate_action (page, "network.set-input", "(iii)", 3, 224, 224);
  else if (g_strcmp0 (state, "compare") == 0)
    gtk_widget_activate_action (page, "network.set-compare", "(iii)", 3, 224, 224);
  else if (g_strcmp0 (state, "resnet") == 0)
    gtk_widget_activate_action (page, "network.preset", "s", "resnet18");
  settle (25);

  if (!kiln_test_shoot_window (window, page, argv[1]))
    return 1;
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}
