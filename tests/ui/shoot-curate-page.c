/* shoot-curate-page: renders the window on its Curate page to a PNG, to
 * look at the page at a width, in the dark style or another language.
 * Not a test; run under Xvfb from the build folder:
 *
 *   xvfb-run -a tests/shoot-curate-page out.png 1100 720 --state inspected --dark
 *   LANGUAGE=ja xvfb-run -a … --localedir po
 *
 * The project is a few hundred Fashion-MNIST images (the demo's dataset)
 * plus planted bad files from tests/images, made in a temporary folder.
 * --state: welcome (no project), grid (the project), inspected (after
 * Inspect, one image selected), flagged (the Flagged filter), sidebar (the
 * folded sidebar shown), gather (the Gather page and what it gathers into;
 * gather-none without a project). */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <locale.h>

#include "kiln-application.h"
#include "kiln-core.h"
#include "kiln-curate-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

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

static void
wait_idle (KilnCuratePage *page)
{
  for (int i = 0; i < 1500 && kiln_curate_page_is_busy (page); i++)
    settle (1);
}

static gboolean
plant (const char *source_dir, const char *name, const char *dst, GError **error)
{
  g_autofree char *src = g_build_filename (source_dir, "tests", "images", name, NULL);
  g_autofree char *bytes = NULL;
  gsize length = 0;

  return g_file_get_contents (src, &bytes, &length, error) && g_file_set_contents (dst, bytes, length, error);
}

/* A demo project of @n images with a few bad files planted in it. */
static char *
make_project (const char *source_dir, guint n, GError **error)
{
  g_autofree char *root = g_dir_make_tmp ("kiln-shoot-XXXXXX", error);
  if (root == NULL)
    return NULL;
  char *dir = g_build_filename (root, "fashion", NULL);
  const char *planted[] = { "truncated.jpg", "zero.jpg", "html.jpg", "tiny.png", "dup-a.png", "dup-b.png", NULL };

  if (!kiln_demo_ensure (dir, NULL, n, NULL, NULL, NULL, error))
    return NULL;
  for (guint i = 0; planted[i] != NULL; i++)
    {
      g_autofree char *dst = g_build_filename (dir, "images", "Bag", planted[i], NULL);
      if (!plant (source_dir, planted[i], dst, error))
        return NULL;
    }
  return dir;
}

int
main (int argc, char **argv)
{
  g_autofree char *state = NULL, *localedir = NULL, *source_dir = NULL;
  gboolean dark = FALSE, alone = FALSE;
  int n_images = 600;
  const GOptionEntry entries[] = {
    { "state", 0, 0, G_OPTION_ARG_STRING, &state, "welcome, grid, inspected, flagged, sidebar, gather or gather-none", "STATE" },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark, "Dark style", NULL },
    { "alone", 0, 0, G_OPTION_ARG_NONE, &alone, "The page alone in a window (narrower than the main window goes)",
      NULL },
    { "images", 0, 0, G_OPTION_ARG_INT, &n_images, "Demo images to import (600)", "N" },
    { "localedir", 0, 0, G_OPTION_ARG_FILENAME, &localedir, "Where kiln.mo lies (ja/LC_MESSAGES/)", "DIR" },
    { "source", 0, 0, G_OPTION_ARG_FILENAME, &source_dir, "Kiln's source folder (for tests/images)", "DIR" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("OUT.png WIDTH HEIGHT");
  g_autoptr(GError) error = NULL;

  /* The user's own settings (recent projects) stay untouched. */
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 4)
    {
      g_printerr ("%s\n", error ? error->message : "usage: shoot-curate-page OUT.png WIDTH HEIGHT");
      return 2;
    }
  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : kiln_i18n_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  if (state == NULL)
    state = g_strdup ("inspected");
  if (source_dir == NULL)
    source_dir = g_strdup (g_getenv ("KILN_SOURCE_DIR") ? g_getenv ("KILN_SOURCE_DIR") : "..");

  int width = atoi (argv[2]), height = atoi (argv[3]);
  g_autoptr(KilnApplication) app = kiln_application_new ();
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  if (dark)
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);

  GtkWidget *window;
  KilnCuratePage *page;
  if (alone)
    {
      window = adw_application_window_new (GTK_APPLICATION (app));
      page = KILN_CURATE_PAGE (kiln_curate_page_new ());
      adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), GTK_WIDGET (page));
    }
  else
    {
      window = GTK_WIDGET (kiln_window_new (app));
      page = KILN_CURATE_PAGE (gtk_widget_get_template_child (window, KILN_TYPE_WINDOW, "curate_page"));
    }
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_present (GTK_WINDOW (window));
  while (!gtk_widget_get_mapped (GTK_WIDGET (window)))
    g_main_context_iteration (NULL, TRUE);

  g_autofree char *project = NULL;
  if (!g_str_equal (state, "welcome") && !g_str_equal (state, "gather-none"))
    {
      project = make_project (source_dir, (guint) n_images, &error);
      if (project == NULL)
        {
          g_printerr ("could not make the project: %s\n", error->message);
          return 1;
        }
      g_autoptr(GFile) folder = g_file_new_for_path (project);
      if (alone)
        {
          g_autoptr(KilnProject) store = kiln_project_open_dataset (project, NULL, &error);
          g_assert_no_error (error);
          kiln_curate_page_set_project (page, store);
        }
      else
        kiln_window_open_project (KILN_WINDOW (window), folder);
      for (int i = 0; i < 1500 && kiln_curate_page_get_project (page) == NULL; i++)
        settle (1);
      wait_idle (page);
    }
  if (g_str_equal (state, "inspected") || g_str_equal (state, "flagged"))
    {
      gtk_widget_activate_action (GTK_WIDGET (page), "curate.inspect", NULL);
      wait_idle (page);
      if (g_str_equal (state, "flagged"))
        gtk_widget_activate_action (GTK_WIDGET (page), "curate.filter", "s", "flagged");
      gtk_selection_model_select_item (kiln_curate_page_get_selection (page), 3, TRUE);
    }
  if (g_str_has_prefix (state, "gather") && !alone)
    gtk_widget_activate_action (window, "win.show-page", "s", "gather");
  if (g_str_equal (state, "sidebar"))
    {
      AdwFlap *flap = ADW_FLAP (gtk_widget_get_template_child (GTK_WIDGET (page), KILN_TYPE_CURATE_PAGE, "flap"));
      adw_flap_set_reveal_flap (flap, TRUE);
    }
  settle (40);
  wait_idle (page);
  settle (20);

  if (!kiln_test_shoot_window (window, GTK_WIDGET (page), argv[1]))
    return 1;
  gtk_window_destroy (GTK_WINDOW (window));
  if (project != NULL)
    {
      g_autofree char *root = g_path_get_dirname (project);
      kiln_test_remove_tree (root);
    }
  return 0;
}
