/* shoot-train-page: renders the window on its Train or Classify page to a
 * PNG, to look at the pages at a width, in the dark style or another
 * language, with real runs of the bars project behind them. Not a test;
 * run under Xvfb (and dbus-run-session):
 *
 *   xvfb-run -a _build/tests/shoot-train-page out.png 1100 1500 --page train --dark
 *   xvfb-run -a _build/tests/shoot-train-page out.png 360 1500 --page wizard --alone
 *   LANGUAGE=ja xvfb-run -a … --localedir _build/po
 *
 * --page: train (a finished run selected: charts, confusion matrix; with
 * --compare an earlier run overlaid, with --zoom the charts zoomed), cell
 * (a confusion-matrix cell opened in the Curate page), suspects (Find
 * Suspects done, its list in the Curate page), preferences (the
 * Preferences window),
 * live (a run training, paused), model (the wizard's first step, from an
 * earlier run's weights), wizard (its freeze step), options (its training
 * step), summary (its last step), classify (two images dropped),
 * empty (a project without runs). */
#include "config.h"

#include <adwaita.h>

#include "kiln-application.h"
#include "kiln-chart.h"
#include "kiln-classify-page.h"
#include "kiln-run-wizard.h"
#include "kiln-train-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

static gboolean
showing_curate (gpointer window)
{
  AdwViewStack *stack = kiln_test_child (window, KILN_TYPE_WINDOW, "view_stack");
  return g_strcmp0 (adw_view_stack_get_visible_child_name (stack), "curate") == 0;
}

static gboolean
has_evaluation (gpointer page)
{
  return kiln_train_page_get_evaluation (page) != NULL;
}

static gboolean
wizard_ready (gpointer wizard)
{
  return kiln_run_wizard_is_ready (wizard);
}

static gboolean
has_trainer (gpointer page)
{
  return kiln_train_page_get_trainer (page) != NULL;
}

static gboolean
classified (gpointer page)
{
  guint n = kiln_classify_page_get_n_images (page);
  const GError *error = NULL;

  for (guint i = 0; i < n; i++)
    if (kiln_classify_page_get_predictions (page, i, &error) == NULL && error == NULL)
      return FALSE;
  return n > 0;
}

static gboolean
selected (gpointer page)
{
  return kiln_train_page_get_selected (page) != NULL;
}

/* The first widget of @type under @widget (the log's expander). */
static GtkWidget *
find_type (GtkWidget *widget, GType type)
{
  if (g_type_is_a (G_OBJECT_TYPE (widget), type))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_type (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
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

static void
pause_when_rows (KilnTrainer *trainer, GArray *rows, gpointer data)
{
  KilnTrainerStatus s;
  kiln_trainer_get_status (trainer, &s);
  if (s.iteration > 60)
    kiln_trainer_pause (trainer);
}

int
main (int argc, char **argv)
{
  g_autofree char *page_name = NULL;
  gboolean alone = FALSE, hover = FALSE, log = FALSE, compare = FALSE, zoom = FALSE;
  int width, height;
  const GOptionEntry entries[] = {
    { "page", 0, 0, G_OPTION_ARG_STRING, &page_name, "train, live, model, wizard, options, summary, classify or empty", "PAGE" },
    { "hover", 0, 0, G_OPTION_ARG_NONE, &hover, "The pointer over the loss chart (train)", NULL },
    { "log", 0, 0, G_OPTION_ARG_NONE, &log, "The log open (train)", NULL },
    { "compare", 0, 0, G_OPTION_ARG_NONE, &compare, "An earlier run overlaid (train)", NULL },
    { "zoom", 0, 0, G_OPTION_ARG_NONE, &zoom, "The charts zoomed to iterations 20 to 60 (train)", NULL },
    { NULL }
  };
  g_autoptr(KilnApplication) app = kiln_test_shoot_start (&argc, &argv, entries, &alone, &width, &height);

  if (app == NULL)
    return 2;
  const char *which = page_name ? page_name : "train";

  /* A project of bars with a finished run, unless it is to be empty. */
  g_autofree char *project = kiln_test_make_bars_project ();
  if (compare)
    kiln_test_train_bars (project, "bars-8", 8);
  if (!g_str_equal (which, "empty"))
    kiln_test_train_bars (project, "bars-20", 20);

  /* The main window, or one page alone in a plain one. */
  gboolean classify = g_str_equal (which, "classify");
  GtkWidget *window = alone ? adw_application_window_new (GTK_APPLICATION (app)) : GTK_WIDGET (kiln_window_new (app));
  KilnTrainPage *train = alone ? KILN_TRAIN_PAGE (kiln_train_page_new ()) : kiln_test_child (window, KILN_TYPE_WINDOW, "train_page");
  KilnClassifyPage *classify_page = alone ? KILN_CLASSIFY_PAGE (kiln_classify_page_new ())
                                          : kiln_test_child (window, KILN_TYPE_WINDOW, "classify_page");
  if (alone)
    {
      adw_application_window_set_content (ADW_APPLICATION_WINDOW (window),
                                          classify ? GTK_WIDGET (classify_page) : GTK_WIDGET (train));
      /* The page not shown is not in the window. */
      g_object_ref_sink (classify ? GTK_WIDGET (train) : GTK_WIDGET (classify_page));
    }
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_present (GTK_WINDOW (window));
  while (!is_mapped (window))
    g_main_context_iteration (NULL, TRUE);
  if (alone)
    {
      kiln_train_page_set_project (train, project);
      kiln_classify_page_set_project (classify_page, project);
    }
  else
    {
      kiln_test_open_project (KILN_WINDOW (window), project);
    }
  KilnRunWizard *wizard = kiln_test_child (train, KILN_TYPE_TRAIN_PAGE, "wizard");
  AdwLeaflet *leaflet = kiln_test_child (train, KILN_TYPE_TRAIN_PAGE, "leaflet");

  if (classify)
    {
      KilnClassifyPage *page = classify_page;
      g_autofree char *a = g_build_filename (project, "images", "vertical", "3.png", NULL);
      g_autofree char *b = g_build_filename (project, "images", "horizontal", "4.png", NULL);
      g_autoptr(GFile) fa = g_file_new_for_path (a);
      g_autoptr(GFile) fb = g_file_new_for_path (b);
      GSList files = { fa, NULL }, second = { fb, NULL };
      files.next = &second;
      gtk_widget_activate_action (window, "win.show-page", "s", "classify");
      kiln_classify_page_add_files (page, &files);
      kiln_test_spin_until (classified, page, 30);
    }
  else
    {
      gtk_widget_activate_action (window, "win.show-page", "s", "train");
      kiln_test_spin_until (selected, train, 10);
    }
  if (g_str_equal (which, "preferences"))
    {
      g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
      settle (30);
      GtkWindow *preferences = NULL;
      for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
        if (l->data != window)
          preferences = l->data;
      gtk_window_set_default_size (preferences, MIN (width, 560), MIN (height, 900));
      settle (30);
      gboolean ok = kiln_test_save_png (GTK_WIDGET (preferences), argv[1]);
      g_print ("%s: %d × %d\n", argv[1], gtk_widget_get_width (GTK_WIDGET (preferences)),
               gtk_widget_get_height (GTK_WIDGET (preferences)));
      gtk_window_destroy (preferences);
      gtk_window_destroy (GTK_WINDOW (window));
      settle (20);
      kiln_test_remove_tree (project);
      return ok ? 0 : 1;
    }
  if (g_str_equal (which, "cell") || g_str_equal (which, "suspects"))
    {
      adw_leaflet_navigate (leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
      kiln_test_spin_until (has_evaluation, train, 30);
      if (g_str_equal (which, "cell"))
        gtk_widget_activate_action (GTK_WIDGET (train), "train.open-cell", "(uu)", 1, 1);
      else
        {
          gtk_widget_activate_action (GTK_WIDGET (train), "train.find-suspects", NULL);
          kiln_test_spin_until (showing_curate, window, 120);
        }
      settle (60);
    }
  if (g_str_equal (which, "train"))
    {
      adw_leaflet_navigate (leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
      kiln_test_spin_until (has_evaluation, train, 30);
      if (compare)
        {
          gtk_widget_activate_action (GTK_WIDGET (train), "train.set-overlay", "(sb)", "bars-8", TRUE);
          KilnChart *loss = kiln_test_child (train, KILN_TYPE_TRAIN_PAGE, "loss_chart");
          settle (20);
          g_print ("overlays: %u, %u points\n", kiln_chart_get_n_overlays (loss),
                   kiln_chart_get_n_overlays (loss) ? kiln_chart_get_overlay_n_points (loss, 0, 0) : 0);
        }
      if (zoom)
        kiln_chart_zoom (kiln_test_child (train, KILN_TYPE_TRAIN_PAGE, "loss_chart"), 20, 60);
      settle (10);
      if (hover)
        {
          GtkWidget *chart = kiln_test_child (train, KILN_TYPE_TRAIN_PAGE, "loss_chart");
          g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (chart);
          for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
            {
              g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);
              if (GTK_IS_EVENT_CONTROLLER_MOTION (c))
                g_signal_emit_by_name (c, "motion", gtk_widget_get_width (chart) * 0.55, 80.0);
            }
        }
      if (log)
        {
          GtkWidget *expander = find_type (GTK_WIDGET (train), GTK_TYPE_EXPANDER);
          gtk_expander_set_expanded (GTK_EXPANDER (expander), TRUE);
        }
    }
  else if (g_str_equal (which, "wizard") || g_str_equal (which, "summary") || g_str_equal (which, "live") ||
           g_str_equal (which, "model") || g_str_equal (which, "options"))
    {
      gtk_widget_activate_action (GTK_WIDGET (train), "train.new-run", NULL);
      kiln_test_spin_until (wizard_ready, wizard, 30);
      if (g_str_equal (which, "live"))
        {
          gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.set-batch-size", "i", 4);
          gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.set-epochs", "i", 400);
          for (int i = 0; i < 3; i++)
            gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.next", NULL);
          gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.start", NULL);
          kiln_test_spin_until (has_trainer, train, 30);
          g_signal_connect (kiln_train_page_get_trainer (train), "metrics", G_CALLBACK (pause_when_rows), NULL);
          adw_leaflet_navigate (leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
          settle (150);
        }
      else
        {
          gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.set-weights", "s", "bars-20");
          kiln_test_spin_until (wizard_ready, wizard, 30);
          if (!g_str_equal (which, "model"))
            gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.next", NULL);
          gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.set-freeze", "s", "conv");
          if (!g_str_equal (which, "wizard"))
            gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.next", NULL);
          if (g_str_equal (which, "summary"))
            gtk_widget_activate_action (GTK_WIDGET (wizard), "wizard.next", NULL);
        }
    }
  settle (30);

  int page_min;
  gtk_widget_measure (classify ? GTK_WIDGET (classify_page) : GTK_WIDGET (train), GTK_ORIENTATION_HORIZONTAL, -1,
                      &page_min, NULL, NULL, NULL);
  g_print ("the page needs at least %d px\n", page_min);
  if (!kiln_test_save_png (window, argv[1]))
    {
      g_printerr ("could not write %s\n", argv[1]);
      return 1;
    }
  g_print ("%s: %d × %d\n", argv[1], gtk_widget_get_width (window), gtk_widget_get_height (window));
  if (kiln_train_page_get_trainer (train) != NULL)
    kiln_trainer_stop (kiln_train_page_get_trainer (train));
  gtk_window_destroy (GTK_WINDOW (window));
  settle (20);
  kiln_test_remove_tree (project);
  return 0;
}
