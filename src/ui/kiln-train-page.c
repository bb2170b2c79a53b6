/* kiln-train-page.c: the project's runs, the live one and its charts (see
 * kiln-train-page.h). */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-chart.h"
#include "kiln-run-wizard.h"
#include "kiln-train-page.h"

struct _KilnTrainPage
{
  AdwBin parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkStack *main_stack;
  AdwStatusPage *empty_status;
  GtkWidget *empty_button;
  AdwLeaflet *leaflet;
  GtkWidget *sidebar;
  GtkWidget *details;
  GtkListView *runs_view;
  GtkLabel *run_title;
  GtkLabel *run_state;
  GtkWidget *live_box;
  GtkProgressBar *live_progress;
  GtkLabel *live_label;
  GtkWidget *resume_box;
  GtkWidget *resume_button;
  GtkWidget *again_button;
  KilnChart *loss_chart;
  KilnChart *accuracy_chart;
  KilnChart *lr_chart;
  GtkWidget *compare_list;
  GtkLabel *confusion_label;
  GtkGrid *confusion_grid;
  GtkLabel *suspects_label;
  GtkWidget *suspects_progress_box;
  GtkProgressBar *suspects_progress;
  GtkTextView *log_view;
  KilnRunWizard *wizard;

  char *project_dir;
  KilnRunsModel *runs;
  GtkSingleSelection *selection;
  GHashTable *row_labels;       /* KilnRunItem → its bound row's subtitle label */
  KilnRunItem *selected;
  KilnMetricList *metrics;      /* the selected run's */
  KilnEvaluation *evaluation;   /* the selected run's, once computed (owned by evaluations) */
  GHashTable *evaluations;      /* "dir@iteration" → KilnEvaluation */
  GCancellable *selected_cancellable;   /* reading the selected run */
  char *select_when_listed;     /* a run to select once the list has it */
  guint select_source;

  KilnTrainer *trainer;
  char *trainer_run_id;
  KilnMetricList *live_metrics;
  gboolean resuming;
  KilnProgress *suspects;       /* finding suspects, or NULL */
  GHashTable *overlays;         /* run id → its KilnMetricList, drawn under the selected run's */
  GCancellable *cancellable;    /* the page's lifetime */
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (KilnTrainPage, kiln_train_page, ADW_TYPE_BIN)

static void show_selected (KilnTrainPage *self);
static void selected_info_changed (KilnRunItem *item, GParamSpec *pspec, KilnTrainPage *self);

GtkWidget *
kiln_train_page_new (void)
{
  return g_object_new (KILN_TYPE_TRAIN_PAGE, NULL);
}

KilnRunsModel *
kiln_train_page_get_runs (KilnTrainPage *self)
{
  g_return_val_if_fail (KILN_IS_TRAIN_PAGE (self), NULL);
  return self->runs;
}

KilnTrainer *
kiln_train_page_get_trainer (KilnTrainPage *self)
{
  g_return_val_if_fail (KILN_IS_TRAIN_PAGE (self), NULL);
  return self->trainer;
}

const char *
kiln_train_page_get_selected (KilnTrainPage *self)
{
  g_return_val_if_fail (KILN_IS_TRAIN_PAGE (self), NULL);
  return self->selected ? kiln_run_item_get_id (self->selected) : NULL;
}

KilnMetricList *
kiln_train_page_get_metrics (KilnTrainPage *self)
{
  g_return_val_if_fail (KILN_IS_TRAIN_PAGE (self), NULL);
  return self->metrics;
}

KilnEvaluation *
kiln_train_page_get_evaluation (KilnTrainPage *self)
{
  g_return_val_if_fail (KILN_IS_TRAIN_PAGE (self), NULL);
  return self->evaluation;
}

static void
show_toast (KilnTrainPage *self, const char *text)
{
  /* Toast titles are markup; messages name files that may hold “&”. */
  g_autofree char *markup = g_markup_escape_text (text, -1);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (markup));
}

static gboolean
is_live (KilnTrainPage *self, KilnRunItem *item)
{
  return self->trainer != NULL && item != NULL && g_strcmp0 (kiln_run_item_get_id (item), self->trainer_run_id) == 0;
}

/* What a run's row says under its id. */
static char *
describe (KilnTrainPage *self, KilnRunItem *item)
{
  const KilnRunInfo *info = kiln_run_item_get_info (item);
  const KilnRunSummary *s = &info->summary;

  if (is_live (self, item))
    {
      KilnTrainerStatus status;
      kiln_trainer_get_status (self->trainer, &status);
      if (status.state == KILN_TRAINER_PAUSED)
        return g_strdup_printf (_("paused · epoch %d of %d"), status.epoch + 1, status.total_epochs);
      return g_strdup_printf (_("training · epoch %d of %d"), status.epoch + 1, status.total_epochs);
    }
  if (info->problem != NULL)
    return g_strdup (info->problem);
  if (s->finished && !isnan (s->best_val_accuracy))
    return g_strdup_printf (_("finished · best validation accuracy %.1f %%"), 100 * s->best_val_accuracy);
  if (s->finished)
    return g_strdup (_("finished"));
  if (g_strcmp0 (info->last_event, "failed") == 0)
    return g_strdup_printf (_("failed at iteration %lld"), (long long) s->iteration);
  if (s->iteration == 0)
    return g_strdup (_("not started"));
  if (!isnan (s->best_val_accuracy))
    return g_strdup_printf (_("stopped at iteration %lld · best validation accuracy %.1f %%"),
                            (long long) s->iteration, 100 * s->best_val_accuracy);
  return g_strdup_printf (_("stopped at iteration %lld"), (long long) s->iteration);
}

static void
update_row (KilnTrainPage *self, KilnRunItem *item)
{
  GtkLabel *label = g_hash_table_lookup (self->row_labels, item);

  if (label != NULL)
    {
      g_autofree char *text = describe (self, item);
      gtk_label_set_text (label, text);
    }
}

static void
update_actions (KilnTrainPage *self)
{
  KilnTrainerState state = self->trainer ? kiln_trainer_get_state (self->trainer) : KILN_TRAINER_IDLE;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.new-run", self->project_dir != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.pause", state == KILN_TRAINER_RUNNING);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.continue", state == KILN_TRAINER_PAUSED);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.stop", self->trainer != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.resume-run", self->trainer == NULL && !self->resuming);

  /* Suspects train k models: not beside a run, and of a run with a checkpoint. */
  const KilnRunInfo *info = self->selected ? kiln_run_item_get_info (self->selected) : NULL;
  gboolean scorable = info != NULL && info->problem == NULL && info->summary.iteration > 0;
  g_autofree char *saved = info ? g_build_filename (info->dir, KILN_SUSPECTS_FILE, NULL) : NULL;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.find-suspects",
                                 scorable && self->trainer == NULL && self->suspects == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.cancel-suspects", self->suspects != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.show-suspects",
                                 saved != NULL && g_file_test (saved, G_FILE_TEST_EXISTS));
}

/* ---- the runs list --------------------------------------------------------- */

static void
setup_row (GtkSignalListItemFactory *factory, GtkListItem *list_item, KilnTrainPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *subtitle = gtk_label_new (NULL);

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_wrap (GTK_LABEL (subtitle), TRUE);
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), subtitle);
  gtk_list_item_set_child (list_item, box);
}

static void
item_info_changed (KilnRunItem *item, GParamSpec *pspec, KilnTrainPage *self)
{
  update_row (self, item);
}

static void
bind_row (GtkSignalListItemFactory *factory, GtkListItem *list_item, KilnTrainPage *self)
{
  KilnRunItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *title = gtk_widget_get_first_child (box);

  gtk_label_set_text (GTK_LABEL (title), kiln_run_item_get_id (item));
  g_hash_table_insert (self->row_labels, item, gtk_widget_get_next_sibling (title));
  g_signal_connect (item, "notify::info", G_CALLBACK (item_info_changed), self);
  update_row (self, item);
}

static void
unbind_row (GtkSignalListItemFactory *factory, GtkListItem *list_item, KilnTrainPage *self)
{
  KilnRunItem *item = gtk_list_item_get_item (list_item);

  g_signal_handlers_disconnect_by_func (item, item_info_changed, self);
  g_hash_table_remove (self->row_labels, item);
}

static void
select_id (KilnTrainPage *self, const char *id)
{
  guint position;

  if (self->runs != NULL && kiln_runs_model_find (self->runs, id, &position) != NULL)
    {
      g_clear_pointer (&self->select_when_listed, g_free);
      gtk_single_selection_set_selected (self->selection, position);
    }
  else
    {
      g_free (self->select_when_listed);
      self->select_when_listed = g_strdup (id);
    }
}

static void
show_main (KilnTrainPage *self)
{
  gboolean any = self->runs != NULL && g_list_model_get_n_items (G_LIST_MODEL (self->runs)) > 0;

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "wizard") == 0)
    return;
  gtk_stack_set_visible_child_name (self->main_stack, any ? "runs" : "empty");
}

static gboolean
select_pending (gpointer data)
{
  KilnTrainPage *self = data;
  g_autofree char *id = g_strdup (self->select_when_listed);

  self->select_source = 0;
  if (id != NULL)
    select_id (self, id);
  return G_SOURCE_REMOVE;
}

static void
runs_changed_cb (GListModel *model, guint position, guint removed, guint added, KilnTrainPage *self)
{
  /* Not from inside the change: the list view takes it in after us. */
  if (self->select_when_listed != NULL && self->select_source == 0)
    self->select_source = g_idle_add (select_pending, self);
  show_main (self);
}

static void
runs_refreshed_cb (KilnRunsModel *runs, KilnTrainPage *self)
{
  const GError *error = kiln_runs_model_get_error (runs);

  if (error != NULL)
    {
      g_autofree char *markup = g_markup_escape_text (error->message, -1);
      adw_status_page_set_description (self->empty_status, markup);
    }
  show_main (self);
}

static void
selection_changed_cb (KilnTrainPage *self)
{
  KilnRunItem *item = gtk_single_selection_get_selected_item (self->selection);

  if (item == self->selected)
    return;
  /* Only this handler: the item's row listens to it too. */
  if (self->selected != NULL)
    g_signal_handlers_disconnect_by_func (self->selected, selected_info_changed, self);
  g_set_object (&self->selected, item);
  show_selected (self);
}

static void
run_activated_cb (KilnTrainPage *self, guint position)
{
  gtk_single_selection_set_selected (self->selection, position);
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

void
kiln_train_page_set_project (KilnTrainPage *self, const char *project_dir)
{
  g_return_if_fail (KILN_IS_TRAIN_PAGE (self));

  if (g_strcmp0 (self->project_dir, project_dir) == 0 && self->runs != NULL)
    {
      kiln_runs_model_refresh (self->runs);
      return;
    }
  g_free (self->project_dir);
  self->project_dir = g_strdup (project_dir);
  /* Another project's runs are not compared with. */
  GHashTableIter iter;
  gpointer id;
  g_hash_table_iter_init (&iter, self->overlays);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    {
      kiln_chart_remove_overlay (self->loss_chart, id);
      kiln_chart_remove_overlay (self->accuracy_chart, id);
    }
  g_hash_table_remove_all (self->overlays);
  if (self->runs != NULL)
    g_signal_handlers_disconnect_by_data (self->runs, self);
  g_clear_object (&self->runs);
  if (project_dir != NULL)
    {
      self->runs = kiln_runs_model_new (project_dir);
      g_signal_connect (self->runs, "refreshed", G_CALLBACK (runs_refreshed_cb), self);
    }
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->runs));
  g_hash_table_remove_all (self->evaluations);
  adw_status_page_set_title (self->empty_status, project_dir ? _("No Training Runs Yet") : _("No Project Open"));
  adw_status_page_set_description (self->empty_status,
                                   project_dir ? _("Train a classifier on this project’s images. Runs started with "
                                                   "“kiln-cli train” appear here too.")
                                               : _("Open a project folder to train on its images."));
  gtk_widget_set_visible (self->empty_button, project_dir != NULL);
  gtk_stack_set_visible_child_name (self->main_stack, "empty");
  update_actions (self);
  show_selected (self);
}

/* ---- the selected run ------------------------------------------------------ */

static void
clear_grid (GtkGrid *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
}

static GtkWidget *
grid_label (const char *text, const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_add_css_class (label, css_class);
  gtk_widget_add_css_class (label, "numeric");
  return label;
}

/* Rows are true classes, columns predictions; a cell is shaded by the share
 * of its row, green on the diagonal and red off it. */
static void
show_confusion (KilnTrainPage *self, KilnEvaluation *evaluation)
{
  guint k = kiln_evaluation_get_n_classes (evaluation);

  clear_grid (self->confusion_grid);
  if (kiln_evaluation_get_n (evaluation) == 0)
    {
      gtk_label_set_text (self->confusion_label, _("The run’s split has no validation images to score."));
      return;
    }
  g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
      "Best checkpoint on %u validation image: accuracy %.1f %%, top-5 %.1f %%. Rows: true class; columns: predicted.",
      "Best checkpoint on %u validation images: accuracy %.1f %%, top-5 %.1f %%. Rows: true class; columns: predicted.",
      kiln_evaluation_get_n (evaluation)),
    kiln_evaluation_get_n (evaluation), 100 * kiln_evaluation_get_top1 (evaluation),
    100 * kiln_evaluation_get_top5 (evaluation));
  gtk_label_set_text (self->confusion_label, text);

  for (guint c = 0; c < k; c++)
    {
      g_autofree char *number = g_strdup_printf ("%u", c + 1);
      GtkWidget *header = grid_label (number, "confusion-header");
      gtk_widget_set_tooltip_text (header, kiln_evaluation_get_class_name (evaluation, c));
      gtk_grid_attach (self->confusion_grid, header, c + 1, 0, 1, 1);
    }
  for (guint t = 0; t < k; t++)
    {
      g_autofree char *name = g_strdup_printf ("%u  %s", t + 1, kiln_evaluation_get_class_name (evaluation, t));
      GtkWidget *header = grid_label (name, "confusion-header");
      guint total = 0;
      gtk_label_set_xalign (GTK_LABEL (header), 0);
      gtk_label_set_ellipsize (GTK_LABEL (header), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (header), 16);
      gtk_widget_set_tooltip_text (header, kiln_evaluation_get_class_name (evaluation, t));
      gtk_grid_attach (self->confusion_grid, header, 0, t + 1, 1, 1);
      for (guint p = 0; p < k; p++)
        total += kiln_evaluation_get_confusion (evaluation, t, p);
      for (guint p = 0; p < k; p++)
        {
          guint count = kiln_evaluation_get_confusion (evaluation, t, p);
          g_autofree char *value = g_strdup_printf ("%u", count);
          g_autofree char *level = g_strdup_printf ("confusion-level-%u",
                                                    total ? (guint) ceil (4.0 * count / total) : 0);
          g_autofree char *tip = g_strdup_printf (_("%s taken for %s: %u"),
                                                  kiln_evaluation_get_class_name (evaluation, t),
                                                  kiln_evaluation_get_class_name (evaluation, p), count);
          /* A button: its images open in the Curate page. */
          GtkWidget *cell = gtk_button_new ();
          gtk_button_set_child (GTK_BUTTON (cell), grid_label (value, "confusion-count"));
          gtk_widget_add_css_class (cell, "flat");
          gtk_widget_add_css_class (cell, "confusion-cell");
          gtk_widget_add_css_class (cell, t == p ? "confusion-right" : "confusion-wrong");
          gtk_widget_add_css_class (cell, level);
          gtk_widget_set_tooltip_text (cell, tip);
          gtk_actionable_set_action_name (GTK_ACTIONABLE (cell), "train.open-cell");
          gtk_actionable_set_action_target (GTK_ACTIONABLE (cell), "(uu)", t, p);
          gtk_widget_set_sensitive (cell, count > 0);
          gtk_grid_attach (self->confusion_grid, cell, p + 1, t + 1, 1, 1);
        }
    }
}

static char *
evaluation_key (KilnRunItem *item)
{
  return g_strdup_printf ("%s@%lld", kiln_run_item_get_dir (item),
                          (long long) kiln_run_item_get_info (item)->summary.iteration);
}

typedef struct {
  KilnTrainPage *page;
  char *key;
} EvaluationRequest;

static void
evaluated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EvaluationRequest *request = user_data;
  g_autoptr(KilnTrainPage) self = request->page;
  g_autofree char *key = request->key;
  g_autoptr(GError) error = NULL;
  KilnEvaluation *evaluation = kiln_classifier_evaluate_run_finish (result, &error);

  g_free (request);
  if (evaluation == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, KILN_ERROR, KILN_ERROR_CANCELLED))
        gtk_label_set_text (self->confusion_label, error->message);
      return;
    }
  /* The cache owns it; the page shows it while this run is selected. A
   * second request for the same checkpoint keeps the first answer. */
  KilnEvaluation *cached = g_hash_table_lookup (self->evaluations, key);
  if (cached != NULL)
    {
      kiln_evaluation_free (evaluation);
      evaluation = cached;
    }
  else
    g_hash_table_insert (self->evaluations, g_strdup (key), evaluation);
  show_confusion (self, evaluation);
  self->evaluation = evaluation;
}

static void
load_confusion (KilnTrainPage *self)
{
  KilnRunItem *item = self->selected;
  const KilnRunInfo *info = kiln_run_item_get_info (item);

  clear_grid (self->confusion_grid);
  self->evaluation = NULL;
  if (is_live (self, item))
    {
      gtk_label_set_text (self->confusion_label,
                          _("When the run stops, its best checkpoint is scored on the validation images here."));
      return;
    }
  if (info->problem != NULL || info->summary.iteration == 0)
    {
      gtk_label_set_text (self->confusion_label, _("The run has no checkpoint to score yet."));
      return;
    }
  g_autofree char *key = evaluation_key (item);
  KilnEvaluation *cached = g_hash_table_lookup (self->evaluations, key);
  if (cached != NULL)
    {
      show_confusion (self, cached);
      self->evaluation = cached;
      return;
    }
  gtk_label_set_text (self->confusion_label, _("Scoring the best checkpoint on the validation images…"));
  EvaluationRequest *request = g_new (EvaluationRequest, 1);
  request->page = g_object_ref (self);
  request->key = g_steal_pointer (&key);
  /* Decoding and forward passes: on a worker. */
  kiln_classifier_evaluate_run_async (kiln_run_item_get_dir (item), "val", NULL, NULL, self->selected_cancellable,
                                      evaluated, request);
}

static void
log_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnTrainPage) self = user_data;
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->log_view),
                                  g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? "" : error->message, -1);
      return;
    }
  /* A line being written may be torn: show complete lines, the newest in view. */
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->log_view);
  GtkTextIter last;
  char *end = g_utf8_validate (contents, length, NULL) ? strrchr (contents, '\n') : NULL;
  gtk_text_buffer_set_text (buffer, contents, end ? end - contents + 1 : 0);
  gtk_text_buffer_get_end_iter (buffer, &last);
  gtk_text_buffer_place_cursor (buffer, &last);
  gtk_text_view_scroll_mark_onscreen (self->log_view, gtk_text_buffer_get_insert (buffer));
}

static void
load_log (KilnTrainPage *self)
{
  g_autofree char *path = g_build_filename (kiln_run_item_get_dir (self->selected), "events.jsonl", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);

  g_file_load_contents_async (file, self->selected_cancellable, log_loaded, g_object_ref (self));
}

static void
metrics_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnTrainPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!kiln_metric_list_load_finish (KILN_METRIC_LIST (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_toast (self, error->message);
}

static void
update_live (KilnTrainPage *self)
{
  KilnTrainerStatus s;

  if (self->trainer == NULL)
    return;
  kiln_trainer_get_status (self->trainer, &s);
  g_autofree char *status = kiln_trainer_status_format (&s);
  gtk_label_set_text (self->live_label, status);
  gtk_progress_bar_set_fraction (self->live_progress,
                                 s.total_iterations > 0 ? (double) s.iteration / s.total_iterations : 0);
}

/* Texts that change with the run's state. */
static void
show_state (KilnTrainPage *self)
{
  KilnRunItem *item = self->selected;
  gboolean live = is_live (self, item);
  const KilnRunInfo *info = item ? kiln_run_item_get_info (item) : NULL;
  g_autofree char *state = item ? describe (self, item) : NULL;

  gtk_label_set_text (self->run_state, state ? state : "");
  gtk_widget_set_visible (self->live_box, live);
  gtk_widget_set_visible (self->resume_box, info != NULL && !live && !info->summary.finished && info->problem == NULL);
  gtk_widget_set_visible (self->again_button, info != NULL && !live);
  if (info != NULL)
    {
      gtk_actionable_set_action_target (GTK_ACTIONABLE (self->resume_button), "s", info->dir);
      gtk_actionable_set_action_target (GTK_ACTIONABLE (self->again_button), "s", info->dir);
    }
  if (live)
    update_live (self);
  update_actions (self);
}

/* A reading of the selected run's folder says something new. */
static void
selected_info_changed (KilnRunItem *item, GParamSpec *pspec, KilnTrainPage *self)
{
  show_state (self);
  load_log (self);
  if (!is_live (self, item))
    {
      kiln_metric_list_load_async (self->metrics, kiln_run_item_get_dir (item), self->selected_cancellable,
                                   metrics_loaded, g_object_ref (self));
      load_confusion (self);
    }
}

static void
show_selected (KilnTrainPage *self)
{
  KilnRunItem *item = self->selected;
  KilnChart *charts[] = { self->loss_chart, self->accuracy_chart, self->lr_chart };

  if (self->selected_cancellable != NULL)
    g_cancellable_cancel (self->selected_cancellable);
  g_set_object (&self->selected_cancellable, g_cancellable_new ());
  g_clear_object (&self->metrics);
  self->evaluation = NULL;
  gtk_widget_set_sensitive (self->details, item != NULL);
  if (item == NULL)
    {
      gtk_label_set_text (self->run_title, "");
      show_state (self);
      for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
        kiln_chart_set_model (charts[i], NULL);
      clear_grid (self->confusion_grid);
      gtk_label_set_text (self->confusion_label, "");
      gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->log_view), "", 0);
      return;
    }
  g_signal_handlers_disconnect_by_func (item, selected_info_changed, self);
  g_signal_connect (item, "notify::info", G_CALLBACK (selected_info_changed), self);
  gtk_label_set_text (self->run_title, kiln_run_item_get_id (item));
  if (is_live (self, item))
    self->metrics = g_object_ref (self->live_metrics);
  else
    {
      self->metrics = kiln_metric_list_new ();
      kiln_metric_list_load_async (self->metrics, kiln_run_item_get_dir (item), self->selected_cancellable,
                                   metrics_loaded, g_object_ref (self));
    }
  for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
    kiln_chart_set_model (charts[i], G_LIST_MODEL (self->metrics));
  show_state (self);
  load_log (self);
  load_confusion (self);
}

/* ---- the live run ---------------------------------------------------------- */

static void
on_trainer_progress (KilnTrainer *trainer, KilnTrainPage *self)
{
  KilnRunItem *item = self->runs ? kiln_runs_model_find (self->runs, self->trainer_run_id, NULL) : NULL;

  if (item != NULL)
    update_row (self, item);
  if (is_live (self, self->selected))
    show_state (self);
  update_actions (self);
}

/* The run wrote a line of its log (swapped: the signal's arguments do not matter). */
static void
on_trainer_event (KilnTrainPage *self)
{
  if (is_live (self, self->selected))
    load_log (self);
}

static void
notify_unseen (KilnTrainPage *self, const char *title, const char *body)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GApplication *app = g_application_get_default ();

  /* Someone looking at the window sees the toast. */
  if (app == NULL || (GTK_IS_WINDOW (root) && gtk_window_is_active (GTK_WINDOW (root))))
    return;
  g_autoptr(GNotification) notification = g_notification_new (title);
  g_notification_set_body (notification, body);
  g_application_send_notification (app, "kiln-run-finished", notification);
}

static void
on_trainer_finished (KilnTrainer *trainer, int state, KilnTrainPage *self)
{
  const GError *error = kiln_trainer_get_error (trainer);
  g_autofree char *id = g_strdup (self->trainer_run_id);
  g_autofree char *text = NULL;
  KilnTrainerStatus s;

  kiln_trainer_get_status (trainer, &s);
  if (state == KILN_TRAINER_FINISHED && !isnan (s.best_val_accuracy))
    text = g_strdup_printf (_("Run %s finished · best validation accuracy %.1f %%"), id, 100 * s.best_val_accuracy);
  else if (state == KILN_TRAINER_FINISHED)
    text = g_strdup_printf (_("Run %s finished"), id);
  else if (state == KILN_TRAINER_FAILED && error != NULL)
    text = g_strdup_printf (_("Run %s failed: %s"), id, error->message);
  else
    text = g_strdup_printf (_("Run %s stopped; it can be resumed"), id);
  show_toast (self, text);
  notify_unseen (self, state == KILN_TRAINER_FINISHED ? _("Training finished")
                     : state == KILN_TRAINER_FAILED ? _("Training failed") : _("Training stopped"), text);

  g_signal_handlers_disconnect_by_data (trainer, self);
  g_clear_object (&self->trainer);
  g_clear_pointer (&self->trainer_run_id, g_free);
  update_actions (self);
  if (self->runs != NULL)
    kiln_runs_model_refresh (self->runs);
  /* The charts keep their rows; state and confusion matrix change. */
  if (self->selected != NULL && g_strcmp0 (kiln_run_item_get_id (self->selected), id) == 0)
    {
      show_state (self);
      load_log (self);
      load_confusion (self);
    }
  KilnRunItem *item = self->runs ? kiln_runs_model_find (self->runs, id, NULL) : NULL;
  if (item != NULL)
    update_row (self, item);
}

/* Takes over a prepared trainer: its metrics, its signals, then starts it. */
static void
adopt_trainer (KilnTrainPage *self, KilnTrainer *trainer)
{
  g_autoptr(GError) error = NULL;
  KilnRun *run = kiln_trainer_get_run (trainer);

  g_clear_object (&self->live_metrics);
  self->live_metrics = kiln_metric_list_new ();
  kiln_metric_list_follow (self->live_metrics, trainer);
  g_signal_connect (trainer, "progress", G_CALLBACK (on_trainer_progress), self);
  g_signal_connect (trainer, "finished", G_CALLBACK (on_trainer_finished), self);
  g_signal_connect_swapped (trainer, "epoch-finished", G_CALLBACK (on_trainer_event), self);
  g_signal_connect_swapped (trainer, "checkpoint-saved", G_CALLBACK (on_trainer_event), self);
  if (!kiln_trainer_start (trainer, &error))
    {
      g_autofree char *text = g_strdup_printf (_("The run could not start: %s"), error->message);
      g_signal_handlers_disconnect_by_data (trainer, self);
      kiln_metric_list_follow (self->live_metrics, NULL);
      show_toast (self, text);
      return;
    }
  self->trainer = g_object_ref (trainer);
  self->trainer_run_id = g_strdup (kiln_run_get_id (run));
  /* A resumed run's rows so far come from its file; the trainer adds the rest. */
  kiln_metric_list_load_async (self->live_metrics, kiln_run_get_dir (run), self->cancellable, metrics_loaded,
                               g_object_ref (self));
  update_actions (self);
  if (self->runs != NULL)
    kiln_runs_model_refresh (self->runs);
  if (self->selected != NULL && g_strcmp0 (kiln_run_item_get_id (self->selected), self->trainer_run_id) == 0)
    show_selected (self);
  else
    select_id (self, self->trainer_run_id);
}

static void
wizard_prepared_cb (KilnTrainPage *self, KilnTrainer *trainer)
{
  gtk_stack_set_visible_child_name (self->main_stack, "runs");
  adopt_trainer (self, trainer);
}

static void
wizard_cancelled_cb (KilnTrainPage *self)
{
  gtk_stack_set_visible_child_name (self->main_stack, "runs");
  show_main (self);
}

static void
resume_prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnTrainPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnTrainer) trainer = kiln_training_prepare_resume_finish (result, &error);

  self->resuming = FALSE;
  /* The page went meanwhile: the run stays as it was on disk. */
  if (self->cancellable == NULL || g_cancellable_is_cancelled (self->cancellable))
    return;
  update_actions (self);
  if (trainer == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The run could not be resumed: %s"), error->message);
      show_toast (self, text);
      return;
    }
  adopt_trainer (self, trainer);
}

/* ---- suspects --------------------------------------------------------------- */

/* Hands @suspects (of run @id) to the Curate page. */
static void
open_suspects (KilnTrainPage *self, const char *id, GPtrArray *suspects)
{
  g_autoptr(GArray) ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), suspects->len);

  for (guint i = 0; i < suspects->len; i++)
    g_array_append_val (ids, ((KilnSuspect *) suspects->pdata[i])->image_id);
  g_autofree char *title = g_strdup_printf (_("Suspects of run %s"), id);
  GVariant *list = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, ids->data, ids->len, sizeof (gint64));
  gtk_widget_activate_action (GTK_WIDGET (self), "win.curate-images", "(s@ax)", title, list);
}

static void
on_suspects_progress (KilnProgress *progress, KilnTrainPage *self)
{
  KilnProgressSnapshot s;
  kiln_progress_snapshot (progress, &s, NULL);
  g_autofree char *text = kiln_progress_format (&s);
  gtk_progress_bar_set_fraction (self->suspects_progress, s.total > 0 ? (double) s.done / s.total : 0);
  gtk_progress_bar_set_text (self->suspects_progress, text);
}

static void
suspects_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnTrainPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) suspects = kiln_suspects_find_finish (result, &error);
  g_autoptr(KilnProgress) progress = g_steal_pointer (&self->suspects);

  /* The page went meanwhile. */
  if (self->cancellable == NULL || g_cancellable_is_cancelled (self->cancellable))
    return;
  g_signal_handlers_disconnect_by_data (progress, self);
  gtk_widget_set_visible (self->suspects_progress_box, FALSE);
  update_actions (self);
  if (suspects == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("No suspects were found: %s"), error->message);
      show_toast (self, g_cancellable_is_cancelled (kiln_progress_get_cancellable (progress))
                        ? _("Finding suspects cancelled") : text);
      return;
    }
  const char *id = g_object_get_data (G_OBJECT (progress), "run-id");
  open_suspects (self, id, suspects);
}

static void
find_suspects_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);
  KilnSuspectsOptions options;

  if (self->selected == NULL || self->suspects != NULL)
    return;
  if (self->trainer != NULL)
    {
      show_toast (self, _("A run is already training; stop it first"));
      return;
    }
  kiln_suspects_options_init (&options);
  options.top = 50;
  self->suspects = kiln_progress_new ("suspects");
  g_object_set_data_full (G_OBJECT (self->suspects), "run-id", g_strdup (kiln_run_item_get_id (self->selected)),
                          g_free);
  g_signal_connect (self->suspects, "changed", G_CALLBACK (on_suspects_progress), self);
  gtk_progress_bar_set_fraction (self->suspects_progress, 0);
  gtk_progress_bar_set_text (self->suspects_progress, _("Training the folds…"));
  gtk_widget_set_visible (self->suspects_progress_box, TRUE);
  update_actions (self);
  /* k trainings and k evaluations: on a worker, cancelled with the page. */
  kiln_suspects_find_async (kiln_run_item_get_dir (self->selected), &options, self->suspects, self->cancellable,
                            suspects_found, g_object_ref (self));
}

static void
cancel_suspects_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);

  if (self->suspects != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->suspects));
}

static void
show_suspects_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);
  g_autoptr(GError) error = NULL;

  if (self->selected == NULL)
    return;
  g_autofree char *path = g_build_filename (kiln_run_item_get_dir (self->selected), KILN_SUSPECTS_FILE, NULL);
  g_autoptr(GPtrArray) suspects = kiln_suspects_load (path, &error);
  if (suspects == NULL)
    show_toast (self, error->message);
  else
    open_suspects (self, kiln_run_item_get_id (self->selected), suspects);
}

/* ---- comparing runs ---------------------------------------------------------- */

static void
overlay_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnTrainPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!kiln_metric_list_load_finish (KILN_METRIC_LIST (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->cancellable != NULL)
    show_toast (self, error->message);
}

/* (run id, on): that run's loss and accuracy drawn dimmed under the selected run's. */
static void
set_overlay_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);
  KilnChart *charts[] = { self->loss_chart, self->accuracy_chart };
  const char *id;
  gboolean on;

  g_variant_get (parameter, "(&sb)", &id, &on);
  KilnRunItem *item = self->runs ? kiln_runs_model_find (self->runs, id, NULL) : NULL;
  if (on == g_hash_table_contains (self->overlays, id) || (on && item == NULL))
    return;
  if (!on)
    {
      for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
        kiln_chart_remove_overlay (charts[i], id);
      g_hash_table_remove (self->overlays, id);
      return;
    }
  KilnMetricList *metrics = kiln_metric_list_new ();
  g_hash_table_insert (self->overlays, g_strdup (id), metrics);
  for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
    kiln_chart_add_overlay (charts[i], id, G_LIST_MODEL (metrics));
  kiln_metric_list_load_async (metrics, kiln_run_item_get_dir (item), self->cancellable, overlay_loaded,
                               g_object_ref (self));
}

static void
compare_toggled_cb (GtkCheckButton *check, KilnTrainPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "train.set-overlay", "(sb)",
                              gtk_check_button_get_label (check), gtk_check_button_get_active (check));
}

/* The runs to compare with, listed afresh each time the popover opens. */
static void
compare_shown_cb (KilnTrainPage *self)
{
  GtkWidget *child;
  guint n = self->runs ? g_list_model_get_n_items (G_LIST_MODEL (self->runs)) : 0;

  while ((child = gtk_widget_get_first_child (self->compare_list)) != NULL)
    gtk_box_remove (GTK_BOX (self->compare_list), child);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(KilnRunItem) item = g_list_model_get_item (G_LIST_MODEL (self->runs), i);
      const char *id = kiln_run_item_get_id (item);
      if (item == self->selected)
        continue;
      GtkWidget *check = gtk_check_button_new_with_label (id);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), g_hash_table_contains (self->overlays, id));
      g_signal_connect (check, "toggled", G_CALLBACK (compare_toggled_cb), self);
      gtk_box_append (GTK_BOX (self->compare_list), check);
    }
  if (gtk_widget_get_first_child (self->compare_list) == NULL)
    {
      GtkWidget *none = gtk_label_new (_("No other runs yet"));
      gtk_widget_add_css_class (none, "dim-label");
      gtk_box_append (GTK_BOX (self->compare_list), none);
    }
}

static void
reset_zoom_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  kiln_chart_zoom (KILN_TRAIN_PAGE (widget)->loss_chart, NAN, NAN);
}

/* ---- actions --------------------------------------------------------------- */

static void
new_run_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);

  if (self->project_dir == NULL)
    return;
  if (self->trainer != NULL)
    {
      show_toast (self, _("A run is already training; stop it first"));
      return;
    }
  kiln_run_wizard_set_project (self->wizard, self->project_dir);
  gtk_stack_set_visible_child_name (self->main_stack, "wizard");
}

/* The New Run wizard, filled with the choices the run in @dir started
 * from (its recipe.json), to review and start. */
static void
train_again_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);
  g_auto(KilnRunRecipe) recipe;
  g_autoptr(GError) error = NULL;

  if (self->project_dir == NULL)
    return;
  if (self->trainer != NULL)
    {
      show_toast (self, _("A run is already training; stop it first"));
      return;
    }
  kiln_run_recipe_init (&recipe);
  if (!kiln_run_recipe_load_from_run (&recipe, g_variant_get_string (parameter, NULL), &error))
    {
      show_toast (self, error->message);
      return;
    }
  kiln_run_wizard_set_project_with_recipe (self->wizard, self->project_dir, &recipe);
  gtk_stack_set_visible_child_name (self->main_stack, "wizard");
}

static void
select_run_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  select_id (KILN_TRAIN_PAGE (widget), g_variant_get_string (parameter, NULL));
}

static void
resume_run_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);

  if (self->trainer != NULL)
    {
      show_toast (self, _("A run is already training; stop it first"));
      return;
    }
  /* Decoding the cache and loading the checkpoint block: off the main thread. */
  self->resuming = TRUE;
  update_actions (self);
  kiln_training_prepare_resume_async (g_variant_get_string (parameter, NULL), NULL, self->cancellable,
                                      resume_prepared, g_object_ref (self));
}

static void
pause_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);

  if (self->trainer != NULL)
    kiln_trainer_pause (self->trainer);
}

static void
continue_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);

  if (self->trainer != NULL)
    kiln_trainer_resume (self->trainer);
}

static void
stop_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);

  if (self->trainer != NULL)
    kiln_trainer_stop (self->trainer);
}

/* (true class, predicted class): that cell's images in the Curate page. */
static void
open_cell_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);
  guint t, p;

  g_variant_get (parameter, "(uu)", &t, &p);
  if (self->evaluation == NULL || t >= kiln_evaluation_get_n_classes (self->evaluation)
      || p >= kiln_evaluation_get_n_classes (self->evaluation))
    return;
  g_autoptr(GArray) items = kiln_evaluation_get_cell (self->evaluation, t, p);
  g_autoptr(GArray) ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), items->len);
  for (guint i = 0; i < items->len; i++)
    {
      gint64 id = (gint64) g_array_index (items, KilnEvaluationItem, i).source;
      g_array_append_val (ids, id);
    }
  g_autofree char *title = g_strdup_printf (_("%s predicted as %s"),
                                            kiln_evaluation_get_class_name (self->evaluation, t),
                                            kiln_evaluation_get_class_name (self->evaluation, p));
  GVariant *list = g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, ids->data, ids->len, sizeof (gint64));
  gtk_widget_activate_action (widget, "win.curate-images", "(s@ax)", title, list);
}

static void
show_list_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  adw_leaflet_navigate (KILN_TRAIN_PAGE (widget)->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

gboolean
kiln_train_page_export_charts (KilnTrainPage *self, const char *path, GError **error)
{
  KilnChart *charts[] = { self->loss_chart, self->accuracy_chart, self->lr_chart };

  g_return_val_if_fail (KILN_IS_TRAIN_PAGE (self), FALSE);
  return kiln_chart_export (charts, G_N_ELEMENTS (charts), path, 900, 260, error);
}

static void
export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (user_data);
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path == NULL)
        show_toast (self, _("Charts can only be saved to files on this computer"));
      else if (!kiln_train_page_export_charts (self, path, &error))
        show_toast (self, error->message);
    }
  g_clear_object (&self->chooser);
}

static void
export_charts_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (widget);
  const char *format = g_variant_get_string (parameter, NULL);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->chooser != NULL || self->selected == NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Export the Charts"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  g_autofree char *name = g_strdup_printf ("%s-charts.%s", kiln_run_item_get_id (self->selected),
                                           g_str_equal (format, "svg") ? "svg" : "png");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- object ---------------------------------------------------------------- */

static void
release_application (KilnTrainer *trainer, int state, GApplication *app)
{
  g_application_release (app);
}

static void
kiln_train_page_dispose (GObject *object)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->suspects != NULL)
    g_signal_handlers_disconnect_by_data (self->suspects, self);
  g_clear_handle_id (&self->select_source, g_source_remove);
  if (self->selected_cancellable != NULL)
    g_cancellable_cancel (self->selected_cancellable);
  g_clear_object (&self->selected_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->trainer != NULL)
    {
      /* The run stops after a checkpoint without being waited for: the
       * trainer keeps itself until it has written it, and the
       * application stays until then. */
      GApplication *app = g_application_get_default ();
      g_signal_handlers_disconnect_by_data (self->trainer, self);
      if (app != NULL)
        {
          g_application_hold (app);
          g_signal_connect_data (self->trainer, "finished", G_CALLBACK (release_application), g_object_ref (app),
                                 (GClosureNotify) (void (*) (void)) g_object_unref, 0);
        }
      kiln_trainer_stop (self->trainer);
      g_clear_object (&self->trainer);
    }
  if (self->selected != NULL)
    g_signal_handlers_disconnect_by_func (self->selected, selected_info_changed, self);
  g_clear_object (&self->selected);
  if (self->runs != NULL)
    g_signal_handlers_disconnect_by_data (self->runs, self);
  g_clear_object (&self->live_metrics);
  g_clear_object (&self->metrics);
  /* The toast overlay is both the bin's child and a template child: let
   * the bin drop it first, or both would unparent it. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_TRAIN_PAGE);
  g_clear_object (&self->selection);
  g_clear_object (&self->runs);
  G_OBJECT_CLASS (kiln_train_page_parent_class)->dispose (object);
}

static void
kiln_train_page_finalize (GObject *object)
{
  KilnTrainPage *self = KILN_TRAIN_PAGE (object);

  g_hash_table_unref (self->row_labels);
  g_hash_table_unref (self->evaluations);
  g_hash_table_unref (self->overlays);
  g_free (self->project_dir);
  g_free (self->trainer_run_id);
  g_free (self->select_when_listed);
  G_OBJECT_CLASS (kiln_train_page_parent_class)->finalize (object);
}

static void
kiln_train_page_class_init (KilnTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_train_page_dispose;
  object_class->finalize = kiln_train_page_finalize;

  g_type_ensure (KILN_TYPE_CHART);
  g_type_ensure (KILN_TYPE_RUN_WIZARD);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-train-page.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, main_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, empty_status);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, empty_button);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, leaflet);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, sidebar);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, details);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, runs_view);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, run_title);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, run_state);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, live_box);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, live_progress);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, live_label);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, resume_box);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, resume_button);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, again_button);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, loss_chart);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, accuracy_chart);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, lr_chart);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, compare_list);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, confusion_label);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, confusion_grid);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, log_view);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, suspects_label);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, suspects_progress_box);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, suspects_progress);
  gtk_widget_class_bind_template_child (widget_class, KilnTrainPage, wizard);
  gtk_widget_class_bind_template_callback (widget_class, run_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, wizard_prepared_cb);
  gtk_widget_class_bind_template_callback (widget_class, wizard_cancelled_cb);
  gtk_widget_class_bind_template_callback (widget_class, compare_shown_cb);

  gtk_widget_class_install_action (widget_class, "train.new-run", NULL, new_run_activated);
  gtk_widget_class_install_action (widget_class, "train.train-again", "s", train_again_activated);
  gtk_widget_class_install_action (widget_class, "train.select-run", "s", select_run_activated);
  gtk_widget_class_install_action (widget_class, "train.resume-run", "s", resume_run_activated);
  gtk_widget_class_install_action (widget_class, "train.pause", NULL, pause_activated);
  gtk_widget_class_install_action (widget_class, "train.continue", NULL, continue_activated);
  gtk_widget_class_install_action (widget_class, "train.stop", NULL, stop_activated);
  gtk_widget_class_install_action (widget_class, "train.export-charts", "s", export_charts_activated);
  gtk_widget_class_install_action (widget_class, "train.show-list", NULL, show_list_activated);
  gtk_widget_class_install_action (widget_class, "train.open-cell", "(uu)", open_cell_activated);
  gtk_widget_class_install_action (widget_class, "train.set-overlay", "(sb)", set_overlay_activated);
  gtk_widget_class_install_action (widget_class, "train.reset-zoom", NULL, reset_zoom_activated);
  gtk_widget_class_install_action (widget_class, "train.find-suspects", NULL, find_suspects_activated);
  gtk_widget_class_install_action (widget_class, "train.cancel-suspects", NULL, cancel_suspects_activated);
  gtk_widget_class_install_action (widget_class, "train.show-suspects", NULL, show_suspects_activated);
}

static void
kiln_train_page_init (KilnTrainPage *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->row_labels = g_hash_table_new (NULL, NULL);
  self->evaluations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) kiln_evaluation_free);
  self->cancellable = g_cancellable_new ();
  self->overlays = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  g_signal_connect (factory, "setup", G_CALLBACK (setup_row), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row), self);
  gtk_list_view_set_factory (self->runs_view, factory);
  self->selection = gtk_single_selection_new (NULL);
  g_signal_connect_swapped (self->selection, "notify::selected-item", G_CALLBACK (selection_changed_cb), self);
  g_signal_connect (self->selection, "items-changed", G_CALLBACK (runs_changed_cb), self);
  gtk_list_view_set_model (self->runs_view, GTK_SELECTION_MODEL (self->selection));

  kiln_chart_add_series (self->loss_chart, _("training"), KILN_RUN_PHASE_TRAIN, KILN_METRIC_LOSS, KILN_CHART_SMOOTHED);
  kiln_chart_add_series (self->loss_chart, _("validation"), KILN_RUN_PHASE_VAL, KILN_METRIC_LOSS, KILN_CHART_POINTS);
  kiln_chart_add_series (self->accuracy_chart, _("validation"), KILN_RUN_PHASE_VAL, KILN_METRIC_ACCURACY,
                         KILN_CHART_POINTS);
  kiln_chart_add_series (self->accuracy_chart, _("training batch"), KILN_RUN_PHASE_TRAIN, KILN_METRIC_ACCURACY,
                         KILN_CHART_SMOOTHED);
  kiln_chart_set_range (self->accuracy_chart, 0, 1);
  kiln_chart_add_series (self->lr_chart, _("learning rate"), KILN_RUN_PHASE_TRAIN, KILN_METRIC_LEARNING_RATE,
                         KILN_CHART_LINE);
  kiln_chart_set_range (self->lr_chart, 0, NAN);
  /* One x axis for the three: a zoom or a longer run moves them together. */
  kiln_chart_link (self->loss_chart, self->accuracy_chart);
  kiln_chart_link (self->loss_chart, self->lr_chart);
  gtk_widget_set_visible (self->empty_button, FALSE);
  update_actions (self);
  show_selected (self);
}
