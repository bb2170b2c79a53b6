/* The Train page under Xvfb with real runs on a tiny project of bars:
 * the New Run wizard, driven by its actions, writes the config.json that
 * kiln-cli train writes for the same choices and starts the run; a live
 * run feeds the charts every row of its metrics.csv, in order, while the
 * window keeps drawing; the demo project's wizard starts from the demo's
 * recipe; Stop leaves a run that Resume finishes; a run that
 * kiln-cli starts meanwhile appears in the list by itself; closing the
 * window while a run trains does not wait for it; a cell of the confusion
 * matrix, clicked, shows its images in the Curate page. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "kiln-application.h"
#include "kiln-chart.h"
#include "kiln-run-wizard.h"
#include "kiln-train-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

typedef struct {
  KilnApplication *app;
  KilnWindow *window;
  KilnTrainPage *page;
  KilnRunWizard *wizard;
  char *project;
} Fixture;

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

static void
run_cli_ok (const char *const *args)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = kiln_test_run_cli (args, &out, &err);
  if (status != 0)
    g_printerr ("kiln-cli %s: %s%s", args[0], out, err);
  g_assert_cmpint (status, ==, 0);
}

/* The bars project with its split "default" made, in a window that is
 * presented when @present (an unpresented window is not active: a run
 * that ends there is notified). */
static void
fixture_setup (Fixture *f, gboolean present)
{
  f->project = kiln_test_make_bars_project ();
  /* A project (its store knows the images) before kiln-cli split reads it. */
  g_autoptr(KilnProject) store = kiln_project_open_dataset (f->project, NULL, NULL);
  g_assert_nonnull (store);
  g_clear_object (&store);
  const char *split[] = { "split", "--project", f->project, NULL };
  run_cli_ok (split);
  f->app = kiln_test_make_app ();
  f->window = kiln_window_new (f->app);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1100, 900);
  if (present)
    {
      gtk_window_present (GTK_WINDOW (f->window));
      kiln_test_spin_until (is_mapped, f->window, 10);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.show-page", "s", "train"));
    }
  f->page = kiln_test_child (f->window, KILN_TYPE_WINDOW, "train_page");
  f->wizard = kiln_test_child (f->page, KILN_TYPE_TRAIN_PAGE, "wizard");
  /* Opening reads the project on a worker: wait until the window has it. */
  kiln_test_open_project (f->window, f->project);
}

static void
fixture_teardown (Fixture *f)
{
  if (f->window != NULL)
    gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->app);
  kiln_test_remove_tree (f->project);
  g_free (f->project);
}

static gboolean
wizard_ready (gpointer wizard)
{
  return kiln_run_wizard_is_ready (wizard);
}

static void
wizard_do (Fixture *f, const char *action, const char *format, ...)
{
  va_list args;
  GVariant *parameter = NULL;

  if (format != NULL)
    {
      va_start (args, format);
      parameter = g_variant_new_va (format, NULL, &args);
      va_end (args);
    }
  g_autofree char *name = g_strconcat ("wizard.", action, NULL);
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (f->wizard), name, parameter));
}

static gboolean
has_trainer (gpointer page)
{
  return kiln_train_page_get_trainer (page) != NULL;
}

static gboolean
has_no_trainer (gpointer page)
{
  return kiln_train_page_get_trainer (page) == NULL;
}

/* Opens the wizard and waits until it offers the project's choices. */
static void
open_wizard (Fixture *f)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "train.new-run", NULL));
  GtkStack *stack = kiln_test_child (f->page, KILN_TYPE_TRAIN_PAGE, "main_stack");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "wizard");
  kiln_test_spin_until (wizard_ready, f->wizard, 30);
  g_assert_true (kiln_run_wizard_is_ready (f->wizard));
  g_assert_cmpstr (kiln_run_wizard_get_step (f->wizard), ==, "model");
}

/* Next to the summary, Start, and the run's id once it trains. */
static char *
start_from_wizard (Fixture *f)
{
  while (!g_str_equal (kiln_run_wizard_get_step (f->wizard), "summary"))
    wizard_do (f, "next", NULL);
  wizard_do (f, "start", NULL);
  kiln_test_spin_until (has_trainer, f->page, 60);
  KilnTrainer *trainer = kiln_train_page_get_trainer (f->page);
  if (trainer == NULL)
    {
      GtkLabel *error = kiln_test_child (f->wizard, KILN_TYPE_RUN_WIZARD, "error_label");
      g_test_message ("the wizard says: %s", gtk_label_get_text (error));
    }
  g_assert_nonnull (trainer);
  return g_strdup (kiln_run_get_id (kiln_trainer_get_run (trainer)));
}

static gboolean
notified (gpointer data)
{
  return kiln_test_notifications ()->len > GPOINTER_TO_UINT (data);
}

static void
test_wizard_matches_cli (void)
{
  Fixture f = { 0 };
  GPtrArray *notifications = kiln_test_notifications ();
  guint notifications_before = notifications->len;

  fixture_setup (&f, FALSE);
  /* A run to fine-tune from: the bars net, saved as a spec. */
  g_autofree char *spec_path = g_build_filename (f.project, "bars.json", NULL);
  g_autoptr(KilnNetSpec) bars = kiln_test_bars_net ();
  g_assert_true (kiln_net_spec_save (bars, spec_path, NULL));
  const char *base[] = { "train", "--project", f.project, "--spec", spec_path, "--epochs", "1", "--batch", "4",
                         "--run-id", "base", "--json", NULL };
  run_cli_ok (base);

  open_wizard (&f);
  /* Start from the run's weights: its own network, whose layers the
   * freeze step counts (conv: 4 filters of 3 × 3 and their biases). */
  wizard_do (&f, "set-weights", "s", "base");
  kiln_test_spin_until (wizard_ready, f.wizard, 30);
  g_assert_true (kiln_run_wizard_is_ready (f.wizard));
  g_assert_cmpstr (kiln_net_spec_get_name (kiln_run_wizard_get_net (f.wizard)), ==, "bars");
  wizard_do (&f, "next", NULL);
  g_assert_cmpstr (kiln_run_wizard_get_step (f.wizard), ==, "freeze");
  wizard_do (&f, "set-freeze", "s", "conv");
  GtkLabel *freeze = kiln_test_child (f.wizard, KILN_TYPE_RUN_WIZARD, "freeze_label");
  g_assert_true (g_str_has_prefix (gtk_label_get_text (freeze), "1 layer frozen, 40 parameters · 1 trained, "));
  wizard_do (&f, "next", NULL);
  wizard_do (&f, "set-optimizer", "s", "adam");
  wizard_do (&f, "set-learning-rate", "d", 0.005);
  wizard_do (&f, "set-schedule", "s", "cosine");
  wizard_do (&f, "set-batch-size", "i", 4);
  wizard_do (&f, "set-epochs", "i", 2);
  wizard_do (&f, "set-split", "s", "default");
  wizard_do (&f, "set-mirror", "b", FALSE);
  wizard_do (&f, "set-random-crop", "b", TRUE);
  /* Back and forth keeps the choices. */
  wizard_do (&f, "back", NULL);
  wizard_do (&f, "next", NULL);
  g_autofree char *id = start_from_wizard (&f);
  kiln_test_spin_until (has_no_trainer, f.page, 120);
  g_assert_null (kiln_train_page_get_trainer (f.page));

  const char *cli[] = { "train", "--project", f.project, "--weights", "base", "--freeze-up-to", "conv",
                        "--optimizer", "adam", "--lr", "0.005", "--schedule", "cosine", "--batch", "4",
                        "--epochs", "2", "--split", "default", "--no-mirror", "--random-crop", "--run-id", "cli",
                        "--json", NULL };
  run_cli_ok (cli);

  g_autofree char *wizard_config = g_build_filename (f.project, "runs", id, "config.json", NULL);
  g_autofree char *cli_config = g_build_filename (f.project, "runs", "cli", "config.json", NULL);
  g_autoptr(JsonNode) a = kiln_test_read_json (wizard_config);
  g_autoptr(JsonNode) b = kiln_test_read_json (cli_config);
  /* Neither holds its id or a time; were one added, it would go here. */
  if (!json_node_equal (a, b))
    {
      g_autofree char *ta = json_to_string (a, TRUE), *tb = json_to_string (b, TRUE);
      g_test_message ("wizard:\n%s\nkiln-cli:\n%s", ta, tb);
    }
  g_assert_true (json_node_equal (a, b));
  JsonObject *options = json_object_get_object_member (json_node_get_object (a), "options");
  g_assert_cmpstr (json_object_get_string_member (options, "optimizer"), ==, "adam");
  g_assert_cmpfloat (json_object_get_double_member (options, "learning_rate"), ==, 0.005);

  /* The run ended in a window nobody was looking at: a notification says so. */
  kiln_test_spin_until (notified, GUINT_TO_POINTER (notifications_before), 10);
  g_assert_cmpuint (notifications->len, >, notifications_before);
  const char *last = notifications->pdata[notifications->len - 1];
  g_assert_true (g_str_has_prefix (last, "Training finished\n"));
  g_assert_nonnull (strstr (last, id));

  /* Train Again: the wizard opens with that run's choices, frozen layer
   * included, and a new run id. */
  g_autofree char *run_dir = g_build_filename (f.project, "runs", id, NULL);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.train-again", "s", run_dir));
  GtkStack *main_stack = kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "main_stack");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (main_stack), ==, "wizard");
  kiln_test_spin_until (wizard_ready, f.wizard, 30);
  const KilnRunRecipe *again = kiln_run_wizard_get_recipe (f.wizard);
  g_assert_cmpstr (again->weights, ==, "base");
  g_assert_cmpstr (again->freeze_up_to, ==, "conv");
  g_assert_cmpstr (again->optimizer, ==, "adam");
  g_assert_cmpfloat (again->learning_rate, ==, 0.005);
  g_assert_cmpstr (again->schedule, ==, "cosine");
  g_assert_cmpint (again->epochs, ==, 2);
  g_assert_false (again->mirror);
  g_assert_true (again->random_crop);
  g_assert_null (again->run_id);
  wizard_do (&f, "cancel", NULL);
  fixture_teardown (&f);
}

/* ---- live charts ---- */

typedef struct {
  KilnTrainPage *page;
  gint64 last_frame;      /* µs */
  gint64 longest_gap;     /* µs, while the run trains */
  guint frames;
} FrameWatch;

static gboolean
on_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  FrameWatch *watch = data;
  gint64 now = gdk_frame_clock_get_frame_time (clock);

  if (kiln_train_page_get_trainer (watch->page) == NULL)
    {
      watch->last_frame = 0;
      return G_SOURCE_CONTINUE;
    }
  if (watch->last_frame > 0)
    watch->longest_gap = MAX (watch->longest_gap, now - watch->last_frame);
  watch->last_frame = now;
  watch->frames++;
  return G_SOURCE_CONTINUE;
}

static void
count_emissions (KilnTrainer *trainer, GArray *rows, guint *emissions)
{
  (*emissions)++;
}

static gboolean
selected_is (gpointer data)
{
  gpointer *args = data;
  return g_strcmp0 (kiln_train_page_get_selected (args[0]), args[1]) == 0;
}

/* @rows (the chart's or the list's) are the run's metrics.csv, row for row. */
static void
assert_rows_match (const char *what, GArray *file, guint n, const KilnRunMetrics *(*get) (gpointer, guint),
                   gpointer source, int phase)
{
  guint k = 0;

  for (guint i = 0; i < file->len; i++)
    {
      const KilnRunMetrics *want = &g_array_index (file, KilnRunMetrics, i);
      if (phase >= 0 && (int) want->phase != phase)
        continue;
      g_assert_cmpuint (k, <, n);
      const KilnRunMetrics *got = get (source, k++);
      if (got->iteration != want->iteration || got->phase != want->phase)
        g_test_message ("%s: row %u is iteration %lld, not %lld", what, k - 1, (long long) got->iteration,
                        (long long) want->iteration);
      g_assert_cmpint (got->iteration, ==, want->iteration);
      g_assert_cmpint (got->phase, ==, want->phase);
      /* metrics.csv keeps nine significant digits. */
      g_assert_cmpfloat_with_epsilon (got->loss, want->loss, 1e-7 * MAX (1, fabs (want->loss)));
    }
  g_assert_cmpuint (k, ==, n);
}

static const KilnRunMetrics *
list_row (gpointer list, guint i)
{
  return kiln_metric_list_get_row (list, i);
}

static guint chart_series;

static const KilnRunMetrics *
chart_row (gpointer chart, guint i)
{
  return kiln_chart_get_point (chart, chart_series, i);
}

static gboolean
is_paused (gpointer page)
{
  KilnTrainer *trainer = kiln_train_page_get_trainer (page);
  /* The state the page shows: the trainer's, as its last signal said. */
  return trainer != NULL && kiln_trainer_get_state (trainer) == KILN_TRAINER_PAUSED &&
         g_str_has_prefix (gtk_label_get_text (kiln_test_child (page, KILN_TYPE_TRAIN_PAGE, "run_state")), "paused");
}

/* The button under @widget whose action is @action. */
static GtkWidget *
button_for (gpointer widget, const char *action)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_actionable_get_action_name (widget), action) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = button_for (c, action);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Never true: spins for the time given. */
static gboolean
is_false (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
has_evaluation (gpointer page)
{
  return kiln_train_page_get_evaluation (page) != NULL;
}

/* The store ids of the run's validation images, read from its
 * split-ids.tsv here rather than through the core. */
static GHashTable *
read_val_ids (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "split-ids.tsv", NULL);
  g_autofree char *text = NULL;
  GHashTable *ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], "\t", 3);
      if (g_strv_length (fields) == 3 && g_str_equal (fields[1], "val"))
        g_hash_table_add (ids, g_memdup2 (&(gint64) { g_ascii_strtoll (fields[0], NULL, 10) }, sizeof (gint64)));
    }
  return ids;
}

/* Each cell of the confusion matrix, clicked, shows exactly its images in
 * the Curate page: as many as the cell counts, all of its true class, and
 * the cells together are the validation images, each once. */
static void
assert_cells_open_their_images (Fixture *f, const char *run_dir)
{
  KilnEvaluation *evaluation = kiln_train_page_get_evaluation (f->page);
  KilnCuratePage *curate = kiln_test_curate_page (f->window);
  AdwViewStack *stack = kiln_test_child (f->window, KILN_TYPE_WINDOW, "view_stack");
  guint k = kiln_evaluation_get_n_classes (evaluation);
  g_autoptr(GHashTable) val = read_val_ids (run_dir);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  g_assert_cmpuint (g_hash_table_size (val), ==, kiln_evaluation_get_n (evaluation));
  for (guint t = 0; t < k; t++)
    for (guint p = 0; p < k; p++)
      {
        guint want = kiln_evaluation_get_confusion (evaluation, t, p);
        const char *true_name = kiln_evaluation_get_class_name (evaluation, t);
        adw_view_stack_set_visible_child_name (stack, "train");
        g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "train.open-cell", "(uu)", t, p));
        g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "curate");
        GListModel *images = G_LIST_MODEL (kiln_curate_page_get_images (curate));
        g_assert_cmpuint (g_list_model_get_n_items (images), ==, want);
        for (guint i = 0; i < want; i++)
          {
            g_autoptr(KilnImageItem) item = g_list_model_get_item (images, i);
            gint64 id = kiln_image_item_get_id (item);
            g_assert_true (g_hash_table_contains (val, &id));
            g_assert_true (g_hash_table_add (seen, g_memdup2 (&id, sizeof id)));
            g_assert_cmpstr (kiln_image_item_get_class_name (item), ==, true_name);
          }
        g_autofree char *title = g_strdup_printf ("%s predicted as %s", true_name,
                                                  kiln_evaluation_get_class_name (evaluation, p));
        g_autofree char *count = g_strdup_printf (want == 1 ? "%u image" : "%u images", want);
        kiln_test_assert_curate_title (curate, title, count);
        g_assert_true (gtk_widget_get_visible (kiln_test_child (curate, KILN_TYPE_CURATE_PAGE, "all_button")));
      }
  g_assert_cmpuint (g_hash_table_size (seen), ==, g_hash_table_size (val));

  /* Show All is the way back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (curate), "curate.filter", "s", "all"));
  g_assert_false (gtk_widget_get_visible (kiln_test_child (curate, KILN_TYPE_CURATE_PAGE, "all_button")));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (kiln_curate_page_get_images (curate))), >,
                    g_hash_table_size (val));
}

static void
test_live_chart (void)
{
  Fixture f = { 0 };
  FrameWatch watch = { 0 };
  guint changes = 0;
  g_autoptr(GError) error = NULL;

  fixture_setup (&f, TRUE);
  watch.page = f.page;
  KilnChart *loss = kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "loss_chart");
  guint tick = gtk_widget_add_tick_callback (GTK_WIDGET (loss), on_tick, &watch, NULL);

  open_wizard (&f);
  wizard_do (&f, "set-batch-size", "i", 4);
  wizard_do (&f, "set-epochs", "i", 40);
  gint64 t0 = g_get_monotonic_time ();
  g_autofree char *id = start_from_wizard (&f);
  g_signal_connect (kiln_train_page_get_trainer (f.page), "metrics", G_CALLBACK (count_emissions), &changes);
  /* The new run is selected once the list has it. */
  gpointer selected[] = { f.page, id };
  kiln_test_spin_until (selected_is, selected, 10);
  g_assert_cmpstr (kiln_train_page_get_selected (f.page), ==, id);
  KilnMetricList *metrics = kiln_train_page_get_metrics (f.page);

  /* Pause holds the run (and only Continue and Stop are offered), Continue lets it go on. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.pause", NULL));
  kiln_test_spin_until (is_paused, f.page, 30);
  g_assert_true (is_paused (f.page));
  g_assert_false (gtk_widget_get_sensitive (button_for (f.page, "train.pause")));
  g_assert_true (gtk_widget_get_sensitive (button_for (f.page, "train.continue")));
  GtkLabel *state = kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "run_state");
  g_assert_true (g_str_has_prefix (gtk_label_get_text (state), "paused · epoch "));
  guint rows_paused = g_list_model_get_n_items (G_LIST_MODEL (metrics));
  kiln_test_spin_until (is_false, &(gboolean) { FALSE }, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (metrics)), ==, rows_paused);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.continue", NULL));
  kiln_test_spin_until (has_no_trainer, f.page, 120);
  g_assert_null (kiln_train_page_get_trainer (f.page));
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  gtk_widget_remove_tick_callback (GTK_WIDGET (loss), tick);

  /* Every row arrived, in order, while the run went (not read at the end). */
  g_autofree char *run_dir = g_build_filename (f.project, "runs", id, NULL);
  g_autoptr(GArray) file = kiln_run_read_metrics (run_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file->len, ==, 40 * 5 + 40);
  g_assert_true (kiln_train_page_get_metrics (f.page) == metrics);
  assert_rows_match ("list", file, g_list_model_get_n_items (G_LIST_MODEL (metrics)), list_row, metrics, -1);
  chart_series = 0;
  assert_rows_match ("training loss", file, kiln_chart_get_n_points (loss, 0), chart_row, loss, KILN_RUN_PHASE_TRAIN);
  chart_series = 1;
  assert_rows_match ("validation loss", file, kiln_chart_get_n_points (loss, 1), chart_row, loss, KILN_RUN_PHASE_VAL);
  g_assert_cmpuint (changes, >, 2);

  g_test_message ("%u frames in a run of %.1f s (%u metric updates); the longest gap between frames was %.0f ms",
                  watch.frames, seconds, changes, watch.longest_gap / 1000.0);
  g_assert_cmpuint (watch.frames, >, 0);
  /* A main loop blocked on the run (a join, a file read) would show here;
   * a second allows for a machine busy with other builds. */
  g_assert_cmpint (watch.longest_gap, <, 1000 * 1000);

  /* Hovering names the iteration under the pointer. */
  GtkEventController *motion = NULL;
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (loss));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_EVENT_CONTROLLER_MOTION (c))
        motion = c;
    }
  g_assert_nonnull (motion);
  g_signal_emit_by_name (motion, "motion", gtk_widget_get_width (GTK_WIDGET (loss)) * 0.6, 60.0);
  g_assert_nonnull (kiln_chart_get_hover_text (loss));
  g_assert_nonnull (strstr (kiln_chart_get_hover_text (loss), "iteration"));
  g_assert_nonnull (strstr (kiln_chart_get_hover_text (loss), "training: "));

  /* The charts as PNG and SVG. */
  g_autofree char *png = g_build_filename (f.project, "charts.png", NULL);
  g_autofree char *svg = g_build_filename (f.project, "charts.svg", NULL);
  g_assert_true (kiln_train_page_export_charts (f.page, png, &error));
  g_assert_true (kiln_train_page_export_charts (f.page, svg, &error));
  g_assert_no_error (error);
  g_autoptr(GdkPixbuf) image = gdk_pixbuf_new_from_file (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (image), ==, 900);
  g_assert_cmpint (gdk_pixbuf_get_height (image), ==, 3 * 260);
  g_autofree char *svg_text = NULL;
  g_assert_true (g_file_get_contents (svg, &svg_text, NULL, NULL));
  g_assert_nonnull (strstr (svg_text, "<svg"));
  g_assert_nonnull (strstr (svg_text, "<path"));

  /* Afterwards the best checkpoint's confusion matrix: 2 × 2 on the 2 validation images. */
  kiln_test_spin_until (has_evaluation, f.page, 30);
  KilnEvaluation *evaluation = kiln_train_page_get_evaluation (f.page);
  g_assert_nonnull (evaluation);
  g_assert_cmpuint (kiln_evaluation_get_n_classes (evaluation), ==, 2);
  g_assert_cmpuint (kiln_evaluation_get_n (evaluation), ==, 2);
  assert_cells_open_their_images (&f, run_dir);
  fixture_teardown (&f);
}

/* ---- stop, resume, and a run from kiln-cli ---- */

static void
stop_after_first_epoch (KilnTrainer *trainer, int epoch, KilnTrainPage *page)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "train.stop", NULL));
}

typedef struct {
  KilnRunsModel *runs;
  const char *id;
  gint64 iteration;
  gboolean finished;
} RunState;

static gboolean
run_is (gpointer data)
{
  RunState *want = data;
  KilnRunItem *item = kiln_runs_model_find (want->runs, want->id, NULL);
  return item != NULL && kiln_run_item_get_info (item)->summary.iteration == want->iteration &&
         kiln_run_item_get_info (item)->summary.finished == want->finished;
}

static gboolean
is_listed (gpointer data)
{
  RunState *want = data;
  return kiln_runs_model_find (want->runs, want->id, NULL) != NULL;
}

static void
cli_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (g_subprocess_wait_check_finish (G_SUBPROCESS (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* The label under the runs list's row of run args[1] starts with args[2]. */
static const char *
row_subtitle (GtkWidget *widget, const char *id)
{
  if (GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), id) == 0)
    {
      GtkWidget *next = gtk_widget_get_next_sibling (widget);
      return GTK_IS_LABEL (next) ? gtk_label_get_text (GTK_LABEL (next)) : NULL;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      const char *found = row_subtitle (c, id);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
row_starts_with (gpointer data)
{
  gpointer *args = data;
  const char *text = row_subtitle (kiln_test_child (args[0], KILN_TYPE_TRAIN_PAGE, "runs_view"), args[1]);
  return text != NULL && g_str_has_prefix (text, args[2]);
}

static gboolean
has_all_rows (gpointer list)
{
  return g_list_model_get_n_items (list) == 100 + 20;
}

static void
test_stop_resume_and_cli_run (void)
{
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;

  fixture_setup (&f, TRUE);
  open_wizard (&f);
  wizard_do (&f, "set-batch-size", "i", 4);
  wizard_do (&f, "set-epochs", "i", 20);
  g_autofree char *id = start_from_wizard (&f);
  KilnTrainer *trainer = kiln_train_page_get_trainer (f.page);
  g_signal_connect (trainer, "epoch-finished", G_CALLBACK (stop_after_first_epoch), f.page);
  kiln_test_spin_until (has_no_trainer, f.page, 60);
  g_assert_null (kiln_train_page_get_trainer (f.page));

  /* Stopped early (the worker goes on while the signal travels), and
   * listed so. */
  g_autofree char *run_dir = g_build_filename (f.project, "runs", id, NULL);
  KilnRunSummary summary;
  g_assert_true (kiln_run_summarize (run_dir, &summary, &error));
  g_assert_cmpint (summary.iteration, >=, 5);
  g_assert_cmpint (summary.iteration, <, 100);
  g_assert_false (summary.finished);
  RunState stopped = { kiln_train_page_get_runs (f.page), id, summary.iteration, FALSE };
  kiln_test_spin_until (run_is, &stopped, 10);
  g_assert_true (run_is (&stopped));
  gpointer selected[] = { f.page, id };
  kiln_test_spin_until (selected_is, selected, 10);
  GtkLabel *state = kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "run_state");
  g_autofree char *said = g_strdup_printf ("stopped at iteration %lld", (long long) summary.iteration);
  g_assert_true (g_str_has_prefix (gtk_label_get_text (state), said));

  /* kiln-cli trains another run meanwhile: the list shows it by itself. */
  const char *cli = g_getenv ("KILN_CLI");
  g_autoptr(GSubprocess) process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, cli, "train",
                                                     "--project", f.project, "--epochs", "1", "--batch", "4",
                                                     "--run-id", "from-cli", "--json", NULL);
  g_assert_no_error (error);
  gboolean cli_finished = FALSE;
  g_subprocess_wait_check_async (process, NULL, cli_done, &cli_finished);
  RunState from_cli = { kiln_train_page_get_runs (f.page), "from-cli", 5, TRUE };
  kiln_test_spin_until (is_listed, &from_cli, 60);
  g_assert_true (is_listed (&from_cli));
  kiln_test_spin_until (is_true, &cli_finished, 60);
  kiln_test_spin_until (run_is, &from_cli, 10);
  g_assert_true (run_is (&from_cli));

  /* Resume, asked for while another run is selected, shows the run it
   * continues, trains it to its end, and the list says so. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.select-run", "s", "from-cli"));
  g_assert_cmpstr (kiln_train_page_get_selected (f.page), ==, "from-cli");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.resume-run", "s", run_dir));
  kiln_test_spin_until (has_trainer, f.page, 30);
  g_assert_nonnull (kiln_train_page_get_trainer (f.page));
  kiln_test_spin_until (selected_is, selected, 10);
  g_assert_cmpstr (kiln_train_page_get_selected (f.page), ==, id);
  kiln_test_spin_until (has_no_trainer, f.page, 60);
  g_assert_true (kiln_run_summarize (run_dir, &summary, &error));
  g_assert_cmpint (summary.iteration, ==, 100);
  g_assert_true (summary.finished);
  g_autofree char *events_path = g_build_filename (run_dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_assert_nonnull (strstr (events, "\"type\":\"resumed\""));

  gpointer row_says[] = { f.page, id, (gpointer) "finished" };
  kiln_test_spin_until (row_starts_with, row_says, 10);
  g_assert_true (row_starts_with (row_says));

  /* Each step once, before and after the stop, in the charts' list too. */
  g_autoptr(GArray) file = kiln_run_read_metrics (run_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file->len, ==, 100 + 20);
  KilnMetricList *metrics = kiln_train_page_get_metrics (f.page);
  kiln_test_spin_until (has_all_rows, metrics, 10);
  assert_rows_match ("resumed list", file, g_list_model_get_n_items (G_LIST_MODEL (metrics)), list_row, metrics, -1);
  RunState finished = { kiln_train_page_get_runs (f.page), id, 100, TRUE };
  kiln_test_spin_until (run_is, &finished, 10);
  g_assert_true (run_is (&finished));
  fixture_teardown (&f);
}

static gboolean
suspects_idle (gpointer page)
{
  return !gtk_widget_get_visible (kiln_test_child (page, KILN_TYPE_TRAIN_PAGE, "suspects_progress_box"));
}

static gboolean
curate_title_starts (gpointer data)
{
  gpointer *args = data;
  GtkLabel *title = kiln_test_child (args[0], KILN_TYPE_CURATE_PAGE, "title_label");
  return g_str_has_prefix (gtk_label_get_text (title), args[1]);
}

/* Find Suspects trains its folds on a worker with progress and Cancel, and
 * opens what it found in the Curate page: the images suspects.tsv lists. */
static void
test_find_suspects (void)
{
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;

  fixture_setup (&f, TRUE);
  kiln_test_train_bars (f.project, "bars", 10);
  gpointer selected[] = { f.page, (gpointer) "bars" };
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.select-run", "s", "bars"));
  kiln_test_spin_until (selected_is, selected, 10);
  g_assert_cmpstr (kiln_train_page_get_selected (f.page), ==, "bars");
  g_autofree char *tsv = g_build_filename (f.project, "runs", "bars", KILN_SUSPECTS_FILE, NULL);

  /* Cancel stops it, and nothing is written. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.find-suspects", NULL));
  g_assert_false (suspects_idle (f.page));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.cancel-suspects", NULL));
  kiln_test_spin_until (suspects_idle, f.page, 30);
  g_assert_true (suspects_idle (f.page));
  g_assert_false (g_file_test (tsv, G_FILE_TEST_EXISTS));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.find-suspects", NULL));
  KilnCuratePage *curate = kiln_test_curate_page (f.window);
  gpointer titled[] = { curate, (gpointer) "Suspects of run bars" };
  kiln_test_spin_until (curate_title_starts, titled, 60);
  g_assert_true (curate_title_starts (titled));
  g_assert_true (suspects_idle (f.page));
  g_autoptr(GPtrArray) suspects = kiln_suspects_load (tsv, &error);
  g_assert_no_error (error);
  /* Every training image of the split (15 of 20) is judged. */
  g_assert_cmpuint (suspects->len, >, 10);
  GListModel *images = G_LIST_MODEL (kiln_curate_page_get_images (curate));
  g_assert_cmpuint (g_list_model_get_n_items (images), ==, suspects->len);
  for (guint i = 0; i < suspects->len; i++)
    {
      KilnSuspect *s = suspects->pdata[i];
      guint at = kiln_image_list_find (KILN_IMAGE_LIST (images), s->image_id);
      g_assert_cmpuint (at, !=, G_MAXUINT);
      g_autoptr(KilnImageItem) item = g_list_model_get_item (images, at);
      g_assert_cmpstr (kiln_image_item_get_path (item), ==, s->path);
      g_assert_cmpstr (kiln_image_item_get_class_name (item), ==, s->given_class);
    }
  fixture_teardown (&f);
}

static GtkEventController *
controller_of (gpointer widget, GType type)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (widget));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) c = g_list_model_get_item (controllers, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (c, type))
        return c;
    }
  return NULL;
}

static gboolean
chart_has_points (gpointer chart)
{
  return kiln_chart_get_n_points (chart, 0) > 0 && kiln_chart_get_plot_left (chart) > 0;
}

static gboolean
overlay_filled (gpointer data)
{
  gpointer *args = data;
  return kiln_chart_get_n_overlays (args[0]) == 1
         && kiln_chart_get_overlay_n_points (args[0], 0, 0) == GPOINTER_TO_UINT (args[1]);
}

static gboolean
plots_aligned (gpointer data)
{
  gpointer *charts = data;
  return kiln_chart_get_plot_left (charts[0]) == kiln_chart_get_plot_left (charts[1])
         && kiln_chart_get_plot_left (charts[1]) == kiln_chart_get_plot_left (charts[2]);
}

/* The three charts share one x axis (range and plot margin); dragging
 * across one zooms all three, a double click and reset-zoom show the whole
 * run again; an earlier run is overlaid on loss and accuracy and taken off. */
static void
test_charts_zoom_and_compare (void)
{
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;

  fixture_setup (&f, TRUE);
  kiln_test_train_bars (f.project, "short", 4);
  kiln_test_train_bars (f.project, "long", 8);
  gpointer selected[] = { f.page, (gpointer) "long" };
  kiln_test_spin_until (is_listed, &(RunState) { kiln_train_page_get_runs (f.page), "long", 0, FALSE }, 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.select-run", "s", "long"));
  kiln_test_spin_until (selected_is, selected, 10);
  KilnChart *charts[] = { kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "loss_chart"),
                          kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "accuracy_chart"),
                          kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "lr_chart") };
  kiln_test_spin_until (chart_has_points, charts[0], 10);
  g_assert_true (chart_has_points (charts[0]));
  kiln_test_spin_until (plots_aligned, charts, 5);
  g_assert_true (plots_aligned (charts));

  /* Whole run: 8 epochs of 5 batches, on each chart. */
  double x0, x1;
  for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
    {
      kiln_chart_get_x_range (charts[i], &x0, &x1);
      g_assert_cmpfloat (x0, ==, 0);
      g_assert_cmpfloat (x1, ==, 40);
      g_assert_false (kiln_chart_get_zoom (charts[i], NULL, NULL));
    }

  /* Dragging across the loss chart from 40% to 70% of its width zooms all three. */
  GtkEventController *drag = controller_of (charts[0], GTK_TYPE_GESTURE_DRAG);
  g_assert_nonnull (drag);
  double w = gtk_widget_get_width (GTK_WIDGET (charts[0]));
  g_signal_emit_by_name (drag, "drag-begin", 0.4 * w, 50.0);
  g_signal_emit_by_name (drag, "drag-update", 0.3 * w, 0.0);
  g_signal_emit_by_name (drag, "drag-end", 0.3 * w, 0.0);
  g_assert_true (kiln_chart_get_zoom (charts[0], &x0, &x1));
  g_assert_cmpfloat (x0, >, 0);
  g_assert_cmpfloat (x1, <, 40);
  g_assert_cmpfloat (x1 - x0, >, 5);
  for (guint i = 1; i < G_N_ELEMENTS (charts); i++)
    {
      double y0, y1;
      kiln_chart_get_x_range (charts[i], &y0, &y1);
      g_assert_cmpfloat (y0, ==, x0);
      g_assert_cmpfloat (y1, ==, x1);
    }
  /* A drag of a few pixels is a click: the zoom stays. */
  g_signal_emit_by_name (drag, "drag-begin", 0.5 * w, 50.0);
  g_signal_emit_by_name (drag, "drag-end", 3.0, 0.0);
  g_assert_true (kiln_chart_get_zoom (charts[1], NULL, NULL));
  /* A double click on the accuracy chart shows the whole run on all three. */
  g_signal_emit_by_name (controller_of (charts[1], GTK_TYPE_GESTURE_CLICK), "pressed", 2, 0.5 * w, 50.0);
  g_assert_false (kiln_chart_get_zoom (charts[0], NULL, NULL));
  kiln_chart_zoom (charts[2], 10, 20);
  g_assert_true (kiln_chart_get_zoom (charts[0], &x0, &x1));
  g_assert_cmpfloat (x0, ==, 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.reset-zoom", NULL));
  g_assert_false (kiln_chart_get_zoom (charts[2], NULL, NULL));

  /* The short run overlaid: its rows, loss and accuracy only. */
  g_autofree char *short_dir = g_build_filename (f.project, "runs", "short", NULL);
  g_autoptr(GArray) rows = kiln_run_read_metrics (short_dir, &error);
  g_assert_no_error (error);
  guint n_train = 0;
  for (guint i = 0; i < rows->len; i++)
    n_train += g_array_index (rows, KilnRunMetrics, i).phase == KILN_RUN_PHASE_TRAIN;
  g_assert_cmpuint (n_train, ==, 20);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.set-overlay", "(sb)", "short", TRUE));
  gpointer filled[] = { charts[0], GUINT_TO_POINTER (n_train) };
  kiln_test_spin_until (overlay_filled, filled, 10);
  g_assert_true (overlay_filled (filled));
  g_assert_cmpstr (kiln_chart_get_overlay_label (charts[0], 0), ==, "short");
  g_assert_cmpuint (kiln_chart_get_n_overlays (charts[1]), ==, 1);
  g_assert_cmpuint (kiln_chart_get_n_overlays (charts[2]), ==, 0);
  /* Its own points are untouched, and the axis still spans the longer run. */
  kiln_chart_get_x_range (charts[0], &x0, &x1);
  g_assert_cmpfloat (x1, ==, 40);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.page), "train.set-overlay", "(sb)", "short", FALSE));
  g_assert_cmpuint (kiln_chart_get_n_overlays (charts[0]), ==, 0);
  g_assert_cmpuint (kiln_chart_get_n_overlays (charts[1]), ==, 0);
  fixture_teardown (&f);
}

static gboolean
is_null (gpointer data)
{
  return *(gpointer *) data == NULL;
}

/* Closing the window while a run trains stops it after a checkpoint, and
 * the closing does not wait for that: the run finishes its checkpoint on
 * its own thread and then goes away by itself. */
static void
test_closing_while_training_does_not_wait (void)
{
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;

  fixture_setup (&f, TRUE);
  open_wizard (&f);
  wizard_do (&f, "set-batch-size", "i", 4);
  wizard_do (&f, "set-epochs", "i", 400);
  g_autofree char *id = start_from_wizard (&f);
  KilnTrainer *trainer = kiln_train_page_get_trainer (f.page);
  g_object_add_weak_pointer (G_OBJECT (trainer), (gpointer *) &trainer);

  /* The run ends only in a main-loop turn after its checkpoint; a page
   * that waited for the worker would have let it end inside destroy. */
  gtk_window_destroy (GTK_WINDOW (f.window));
  f.window = NULL;
  g_assert_nonnull (trainer);
  kiln_test_spin_until (is_null, &trainer, 60);
  g_assert_null (trainer);

  g_autofree char *run_dir = g_build_filename (f.project, "runs", id, NULL);
  KilnRunSummary summary;
  g_assert_true (kiln_run_summarize (run_dir, &summary, &error));
  g_assert_no_error (error);
  g_assert_false (summary.finished);
  g_autoptr(KilnRun) run = kiln_run_open (run_dir, -1, &error);
  g_assert_no_error (error);
  gint64 iteration = 0;
  g_autofree char *latest = kiln_run_get_latest_checkpoint (run, &iteration);
  /* The stop kept everything done: the newest checkpoint is where the log ends. */
  g_assert_cmpint (iteration, ==, summary.iteration);
  g_clear_object (&run);
  fixture_teardown (&f);
}

static gboolean
is_visible (gpointer widget)
{
  return gtk_widget_get_visible (widget);
}

/* What the wizard refuses is said on its summary step, and no run folder is left. */
static void
test_wizard_refusal_is_shown (void)
{
  Fixture f = { 0 };

  fixture_setup (&f, FALSE);
  open_wizard (&f);
  /* 20 training images cannot fill a batch of 64. */
  wizard_do (&f, "set-batch-size", "i", 64);
  while (!g_str_equal (kiln_run_wizard_get_step (f.wizard), "summary"))
    wizard_do (&f, "next", NULL);
  wizard_do (&f, "start", NULL);
  GtkLabel *error = kiln_test_child (f.wizard, KILN_TYPE_RUN_WIZARD, "error_label");
  kiln_test_spin_until (is_visible, error, 60);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (error)));
  g_assert_nonnull (strstr (gtk_label_get_text (error), "batch of 64"));
  g_assert_null (kiln_train_page_get_trainer (f.page));
  g_autofree char *runs = g_build_filename (f.project, "runs", NULL);
  g_autoptr(GDir) dir = g_dir_open (runs, 0, NULL);
  g_assert_true (dir == NULL || g_dir_read_name (dir) == NULL);

  /* Cancel goes back to the page. */
  wizard_do (&f, "cancel", NULL);
  GtkStack *stack = kiln_test_child (f.page, KILN_TYPE_TRAIN_PAGE, "main_stack");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");
  fixture_teardown (&f);
}

typedef struct {
  GtkListBox *list;
  const char *title;
} RowWait;

/* The summary row @title, once its subtitle is no longer the placeholder. */
static AdwActionRow *
summary_row (GtkListBox *list, const char *title)
{
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (list)); row; row = gtk_widget_get_next_sibling (row))
    if (ADW_IS_ACTION_ROW (row) && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), title) == 0)
      return ADW_ACTION_ROW (row);
  return NULL;
}

static gboolean
row_worked_out (gpointer data)
{
  RowWait *w = data;
  AdwActionRow *row = summary_row (w->list, w->title);
  return row != NULL && !g_str_has_suffix (adw_action_row_get_subtitle (row), "…");
}

/* Resize, the input mean and the device reach the recipe (as kiln-cli's
 * --resize, --recompute-mean and --device set it); the summary says which
 * device answers and what the run needs of it, as --dry-run does. */
static void
test_wizard_device_and_input (void)
{
  Fixture f = { 0 };

  fixture_setup (&f, FALSE);
  open_wizard (&f);
  const KilnRunRecipe *r = kiln_run_wizard_get_recipe (f.wizard);
  g_assert_null (r->resize);
  g_assert_null (r->device);
  wizard_do (&f, "set-resize", "s", "crop-center");
  wizard_do (&f, "set-device", "s", "cpu");
  wizard_do (&f, "set-recompute-mean", "b", TRUE);
  g_assert_cmpstr (r->resize, ==, "crop-center");
  g_assert_cmpstr (r->device, ==, "cpu");
  g_assert_true (r->recompute_mean);
  AdwComboRow *resize_row = kiln_test_child (f.wizard, KILN_TYPE_RUN_WIZARD, "resize_row");
  g_assert_cmpuint (adw_combo_row_get_selected (resize_row), ==, 1);
  /* Squash is the default, left unset as kiln-cli leaves it. */
  wizard_do (&f, "set-resize", "s", "squash");
  g_assert_null (r->resize);

  /* AlexNet at 224: the calculator says it does not fit, what that does
   * downstream, and offers 227, which fits. */
  wizard_do (&f, "set-preset", "s", "alexnet");
  kiln_test_spin_until (wizard_ready, f.wizard, 30);
  wizard_do (&f, "set-input-size", "i", 224);
  GtkWidget *fit_row = kiln_test_child (f.wizard, KILN_TYPE_RUN_WIZARD, "fit_row");
  GtkButton *fit_button = kiln_test_child (f.wizard, KILN_TYPE_RUN_WIZARD, "fit_button");
  g_assert_true (gtk_widget_get_visible (fit_row));
  g_test_message ("%s: %s", adw_preferences_row_get_title (ADW_PREFERENCES_ROW (fit_row)),
                  adw_action_row_get_subtitle (ADW_ACTION_ROW (fit_row)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (fit_row)), "6,400"));
  g_assert_cmpstr (gtk_button_get_label (fit_button), ==, "Use 227");
  wizard_do (&f, "apply-input-fix", NULL);
  g_assert_cmpint (r->input_height, ==, 227);
  g_assert_cmpint (r->input_width, ==, 227);
  g_assert_false (gtk_widget_get_visible (fit_row));

  while (!g_str_equal (kiln_run_wizard_get_step (f.wizard), "summary"))
    wizard_do (&f, "next", NULL);
  RowWait wait = { kiln_test_child (f.wizard, KILN_TYPE_RUN_WIZARD, "summary_list"), "Device" };
  kiln_test_spin_until (row_worked_out, &wait, 60);
  const char *device = adw_action_row_get_subtitle (summary_row (wait.list, "Device"));
  g_test_message ("device: %s", device);
  g_assert_true (g_str_has_prefix (device, "cpu"));
  g_assert_nonnull (strstr (device, "needs "));
  fixture_teardown (&f);
}

/* On the demo project (its split current) the wizard starts from the core
 * demo recipe that kiln-cli demo trains, not from LeNet's defaults. */
static void
test_wizard_starts_demo_recipe (void)
{
  Fixture f = { 0 };

  fixture_setup (&f, FALSE);
  const char *split[] = { "split", "--project", f.project, "--name", KILN_DEMO_SPLIT, NULL };
  run_cli_ok (split);
  open_wizard (&f);
  g_auto(KilnRunRecipe) demo;
  kiln_run_recipe_init_demo (&demo);
  const KilnRunRecipe *r = kiln_run_wizard_get_recipe (f.wizard);
  g_assert_cmpstr (r->preset, ==, demo.preset);
  g_assert_cmpstr (r->split, ==, KILN_DEMO_SPLIT);
  g_assert_cmpstr (r->schedule, ==, demo.schedule);
  g_assert_cmpint (r->warmup, ==, demo.warmup);
  g_assert_cmpint (r->batch_size, ==, demo.batch_size);
  g_assert_cmpint (r->epochs, ==, demo.epochs);
  g_assert_cmpfloat (r->learning_rate, ==, demo.learning_rate);
  g_assert_cmpstr (kiln_net_spec_get_name (kiln_run_wizard_get_net (f.wizard)), ==, demo.preset);

  /* Another project starts from the defaults again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.wizard), "wizard.cancel", NULL));
  const char *other[] = { "split", "--project", f.project, "--name", "other", NULL };
  run_cli_ok (other);
  open_wizard (&f);
  g_assert_cmpstr (kiln_run_wizard_get_recipe (f.wizard)->preset, ==, "lenet");
  fixture_teardown (&f);
}

int
main (int argc, char *argv[])
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  kiln_test_notifications ();
  g_test_add_func ("/train-page/wizard-matches-cli", test_wizard_matches_cli);
  g_test_add_func ("/train-page/wizard-refusal-is-shown", test_wizard_refusal_is_shown);
  g_test_add_func ("/train-page/wizard-starts-demo-recipe", test_wizard_starts_demo_recipe);
  g_test_add_func ("/train-page/wizard-device-and-input", test_wizard_device_and_input);
  g_test_add_func ("/train-page/live-chart", test_live_chart);
  g_test_add_func ("/train-page/find-suspects", test_find_suspects);
  g_test_add_func ("/train-page/charts-zoom-and-compare", test_charts_zoom_and_compare);
  g_test_add_func ("/train-page/stop-resume-and-cli-run", test_stop_resume_and_cli_run);
  g_test_add_func ("/train-page/closing-while-training-does-not-wait", test_closing_while_training_does_not_wait);
  return g_test_run ();
}
