/* shoot-dataset-page: renders the window on its Dataset page to a PNG, to
 * look at it at a width, in the dark style or another language, on a few
 * hundred Fashion-MNIST images (the demo's dataset). Not a test; run under
 * Xvfb (the page scrolls, so make the window tall to see all of it):
 *
 *   xvfb-run -a _build/tests/shoot-dataset-page out.png 1100 2600 --dark
 *   LANGUAGE=ja xvfb-run -a … --localedir _build/po
 *
 * --state: plain (the project just opened), split (after Apply), mean
 * (split, then the mean at 28 × 28 gray and the mean-subtracted preview). */
#include "config.h"

#include <adwaita.h>

#include "kiln-core.h"
#include "kiln-dataset-page.h"
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

static gboolean
is_idle (gpointer page)
{
  return !kiln_dataset_page_is_busy (page);
}

static gboolean
has_project (gpointer page)
{
  return kiln_dataset_page_get_project (page) != NULL;
}

int
main (int argc, char **argv)
{
  g_autofree char *state = NULL;
  gboolean alone = FALSE;
  int width = 0, height = 0, n_images = 300;
  const GOptionEntry entries[] = {
    { "state", 0, 0, G_OPTION_ARG_STRING, &state, "plain, split or mean (default)", "STATE" },
    { "images", 0, 0, G_OPTION_ARG_INT, &n_images, "Demo images to import (300)", "N" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_autoptr(KilnApplication) app = kiln_test_shoot_start (&argc, &argv, entries, &alone, &width, &height);
  if (app == NULL)
    return 2;
  if (state == NULL)
    state = g_strdup ("mean");

  g_autofree char *root = g_dir_make_tmp ("kiln-shoot-XXXXXX", &error);
  g_autofree char *project = root ? g_build_filename (root, "fashion", NULL) : NULL;
  if (project == NULL || !kiln_demo_ensure (project, NULL, (guint) n_images, NULL, NULL, NULL, &error))
    {
      g_printerr ("could not make the project: %s\n", error->message);
      return 1;
    }

  GtkWidget *window;
  KilnDatasetPage *page;
  if (alone)
    {
      g_autoptr(KilnProject) store = kiln_project_open_dataset (project, NULL, &error);
      g_assert_no_error (error);
      window = adw_application_window_new (GTK_APPLICATION (app));
      page = KILN_DATASET_PAGE (kiln_dataset_page_new ());
      adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), GTK_WIDGET (page));
      kiln_dataset_page_set_project (page, store);
    }
  else
    {
      g_autoptr(GFile) folder = g_file_new_for_path (project);
      window = GTK_WIDGET (kiln_window_new (app));
      page = KILN_DATASET_PAGE (gtk_widget_get_template_child (window, KILN_TYPE_WINDOW, "dataset_page"));
      kiln_window_open_project (KILN_WINDOW (window), folder);
    }
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_present (GTK_WINDOW (window));
  kiln_test_spin_until (has_project, page, 60);
  if (!alone)
    gtk_widget_activate_action (window, "win.show-page", "s", "dataset");

  if (!g_str_equal (state, "plain"))
    gtk_widget_activate_action (GTK_WIDGET (page), "dataset.apply-split", NULL);
  if (g_str_equal (state, "mean"))
    {
      GObject *w = gtk_widget_get_template_child (GTK_WIDGET (page), KILN_TYPE_DATASET_PAGE, "width_spin");
      GObject *h = gtk_widget_get_template_child (GTK_WIDGET (page), KILN_TYPE_DATASET_PAGE, "height_spin");
      GObject *channels = gtk_widget_get_template_child (GTK_WIDGET (page), KILN_TYPE_DATASET_PAGE, "channels_row");
      GObject *centered = gtk_widget_get_template_child (GTK_WIDGET (page), KILN_TYPE_DATASET_PAGE, "centered_switch");

      gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), 28);
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (h), 28);
      adw_combo_row_set_selected (ADW_COMBO_ROW (channels), 1);
      gtk_widget_activate_action (GTK_WIDGET (page), "dataset.compute-mean", NULL);
      kiln_test_spin_until (is_idle, page, 120);
      gtk_switch_set_active (GTK_SWITCH (centered), TRUE);
    }
  settle (40);

  if (!kiln_test_shoot_window (window, GTK_WIDGET (page), argv[1]))
    return 1;
  gtk_window_destroy (GTK_WINDOW (window));
  kiln_test_remove_tree (root);
  return 0;
}
