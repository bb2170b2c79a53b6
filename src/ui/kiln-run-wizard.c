/* kiln-run-wizard.c: the New Run assistant (see kiln-run-wizard.h). Every
 * widget turns its change into an action; the actions change the recipe
 * and set the widgets back from it, so tests and people take one path. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-net-calc.h"
#include "kiln-preset-names.h"
#include "kiln-run-device.h"
#include "kiln-run-wizard.h"

static const char *const step_names[] = { "model", "freeze", "training", "summary" };
static const char *const schedule_ids[] = { "exponential", "fixed", "step", "cosine" };

struct _KilnRunWizard
{
  AdwBin parent_instance;

  GtkStack *steps;
  AdwComboRow *weights_row;
  GtkStringList *weights_names;
  AdwComboRow *network_row;
  GtkStringList *network_names;
  GtkScale *freeze_scale;
  GtkAdjustment *freeze_adjustment;
  GtkLabel *freeze_label;
  GtkListBox *layers_list;
  AdwComboRow *optimizer_row;
  GtkSpinButton *lr_spin;
  AdwComboRow *schedule_row;
  GtkSpinButton *batch_spin;
  GtkSpinButton *epochs_spin;
  AdwComboRow *split_row;
  GtkStringList *split_names;
  GtkSwitch *mirror_switch;
  GtkSwitch *crop_switch;
  GtkSpinButton *size_spin;
  AdwActionRow *fit_row;
  GtkButton *fit_button;
  int fix_size;                /* the input size fit_button applies */
  AdwComboRow *resize_row;
  AdwActionRow *mean_row;
  GtkSwitch *mean_switch;
  AdwComboRow *device_row;
  GtkListBox *summary_list;
  AdwActionRow *memory_row;    /* the summary's, while its estimate is worked out */
  GCancellable *memory_cancellable;
  GtkLabel *error_label;
  GtkProgressBar *prepare_progress;
  GtkLabel *step_label;
  GtkStack *next_stack;

  char *project_dir;
  KilnRunRecipe recipe;
  KilnRunChoices *choices;
  GPtrArray *weights_values;   /* the recipe's weights for each weights_row entry ("" = none) */
  GPtrArray *network_values;   /* the recipe's preset for each network_row entry ("" = the weights') */
  KilnNetSpec *net;            /* the network as the run trains it, before freezing */
  GArray *weighted;            /* indices of net's layers with weights */
  guint step;
  gboolean syncing;            /* widgets are being set from the recipe */
  gboolean given_recipe;       /* the recipe came from a run: no defaults over it */
  char *pending_freeze;        /* its frozen layer, set again once its net is loaded */
  GCancellable *cancellable;   /* reading choices or the network */
  GCancellable *net_cancellable;
  KilnProgress *progress;      /* preparing the run */
  GtkFileChooserNative *chooser;
};

enum { SIGNAL_PREPARED, SIGNAL_CANCELLED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KilnRunWizard, kiln_run_wizard, ADW_TYPE_BIN)

GtkWidget *
kiln_run_wizard_new (void)
{
  return g_object_new (KILN_TYPE_RUN_WIZARD, NULL);
}

const KilnRunRecipe *
kiln_run_wizard_get_recipe (KilnRunWizard *self)
{
  g_return_val_if_fail (KILN_IS_RUN_WIZARD (self), NULL);
  return &self->recipe;
}

gboolean
kiln_run_wizard_is_ready (KilnRunWizard *self)
{
  g_return_val_if_fail (KILN_IS_RUN_WIZARD (self), FALSE);
  return self->choices != NULL && self->net != NULL;
}

KilnNetSpec *
kiln_run_wizard_get_net (KilnRunWizard *self)
{
  g_return_val_if_fail (KILN_IS_RUN_WIZARD (self), NULL);
  return self->net;
}

const char *
kiln_run_wizard_get_step (KilnRunWizard *self)
{
  g_return_val_if_fail (KILN_IS_RUN_WIZARD (self), NULL);
  return step_names[self->step];
}

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static void
set_string (char **field, const char *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

static guint
find_value (GPtrArray *values, const char *value)
{
  for (guint i = 0; i < values->len; i++)
    if (g_strcmp0 (values->pdata[i], value ? value : "") == 0)
      return i;
  return GTK_INVALID_LIST_POSITION;
}

/* ---- the freeze step ----------------------------------------------------- */

/* How many weighted layers the recipe freezes. */
static guint
n_frozen_weighted (KilnRunWizard *self)
{
  if (self->net == NULL || self->recipe.freeze_up_to == NULL)
    return 0;
  int last = kiln_net_spec_find_layer (self->net, self->recipe.freeze_up_to);
  guint n = 0;
  for (guint i = 0; i < self->weighted->len; i++)
    n += g_array_index (self->weighted, guint, i) <= (guint) last;
  return n;
}

static void
update_freeze (KilnRunWizard *self)
{
  clear_list (self->layers_list);
  if (self->net == NULL)
    {
      gtk_label_set_text (self->freeze_label, _("Reading the network…"));
      gtk_widget_set_sensitive (GTK_WIDGET (self->freeze_scale), FALSE);
      return;
    }
  guint frozen = n_frozen_weighted (self);
  int last_frozen = frozen > 0 ? (int) g_array_index (self->weighted, guint, frozen - 1) : -1;
  gint64 frozen_params = 0, trained_params = 0;
  for (guint i = 0; i < kiln_net_spec_get_n_layers (self->net); i++)
    {
      gint64 params = kiln_net_spec_get_shape (self->net, i)->params;
      if ((int) i <= last_frozen)
        frozen_params += params;
      else
        trained_params += params;
    }
  g_autofree char *frozen_count = kiln_format_count (frozen_params);
  g_autofree char *trained_count = kiln_format_count (trained_params);
  g_autofree char *text = NULL;
  if (self->recipe.weights == NULL)
    text = g_strdup_printf (_("From random weights every layer trains: %s parameters. Freezing needs weights "
                              "worth keeping; start from an earlier run or a checkpoint."), trained_count);
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u layer frozen, %s parameters · %u trained, %s parameters",
                                         "%u layers frozen, %s parameters · %u trained, %s parameters", frozen),
                            frozen, frozen_count, self->weighted->len - frozen, trained_count);
  gtk_label_set_text (self->freeze_label, text);
  gtk_widget_set_sensitive (GTK_WIDGET (self->freeze_scale), self->recipe.weights != NULL && self->weighted->len > 1);
  self->syncing = TRUE;
  /* The top layer always trains: it is the one fitted to the classes. */
  gtk_adjustment_set_upper (self->freeze_adjustment, MAX (0, (int) self->weighted->len - 1));
  gtk_scale_clear_marks (self->freeze_scale);
  for (guint k = 0; k + 1 < self->weighted->len || k == 0; k++)
    gtk_scale_add_mark (self->freeze_scale, k, GTK_POS_BOTTOM, NULL);
  gtk_adjustment_set_value (self->freeze_adjustment, frozen);
  self->syncing = FALSE;

  for (guint k = 0; k < self->weighted->len; k++)
    {
      guint index = g_array_index (self->weighted, guint, k);
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (self->net, index);
      g_autofree char *params = kiln_format_count (kiln_net_spec_get_shape (self->net, index)->params);
      g_autofree char *subtitle = g_strdup_printf (_("%s · %s parameters"), kiln_layer_type_to_string (layer->type),
                                                   params);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *state = gtk_label_new (k < frozen ? _("Frozen") : _("Trains"));
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), layer->name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_add_css_class (state, k < frozen ? "dim-label" : "accent");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), state);
      gtk_list_box_append (self->layers_list, row);
    }
}

/* The layer-size calculator on the chosen input size: a size whose windows
 * do not tile (AlexNet at 224) is said with what it does downstream, and
 * the nearest size that works is offered. */
static void
check_input_fit (KilnRunWizard *self)
{
  int size = self->recipe.input_height;

  self->fix_size = 0;
  if (self->net == NULL || size <= 0)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->fit_row), FALSE);
      return;
    }
  g_autoptr(KilnNetSpec) copy = kiln_net_spec_copy (self->net);
  g_autoptr(KilnNetCalc) calc = kiln_net_calc_new (copy);
  int channels, height, width;
  kiln_net_spec_get_input (self->net, &channels, &height, &width);
  kiln_net_calc_set_input (calc, channels, size, size);
  if (kiln_net_calc_is_whole (calc))
    {
      gtk_widget_set_visible (GTK_WIDGET (self->fit_row), FALSE);
      return;
    }
  int first = kiln_net_calc_get_first_problem (calc);
  KilnCalcRow *row = first >= 0 ? kiln_net_calc_get_row (calc, (guint) first) : NULL;   /* the calculator's */
  GPtrArray *fixes = row ? kiln_calc_row_get_fixes (row) : NULL;
  for (guint i = 0; fixes != NULL && i < fixes->len && self->fix_size == 0; i++)
    {
      const KilnCalcFix *fix = fixes->pdata[i];
      if (fix->kind == KILN_CALC_FIX_INPUT && fix->height == fix->width)
        self->fix_size = fix->height;
    }
  const char *error = kiln_net_calc_get_error (calc);
  const char *downstream = kiln_net_calc_get_downstream (calc);
  g_autofree char *title = g_strdup_printf (_("%d × %d does not fit %s"), size, size, kiln_net_spec_get_name (self->net));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->fit_row), title);
  adw_action_row_set_subtitle (self->fit_row, downstream ? downstream : error ? error : "");
  g_autofree char *use = g_strdup_printf (_("Use %d"), self->fix_size);
  gtk_button_set_label (self->fit_button, use);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->fit_button), GTK_ACCESSIBLE_PROPERTY_LABEL, use, -1);
  gtk_widget_set_visible (GTK_WIDGET (self->fit_button), self->fix_size > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->fit_row), TRUE);
}

static void
net_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) net = kiln_run_recipe_get_net_finish (result, &error);
  KilnRunWizard *self = user_data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* a newer choice, or the wizard went */
  g_clear_object (&self->net_cancellable);
  if (net == NULL)
    {
      gtk_label_set_text (self->freeze_label, error->message);
      gtk_label_set_text (self->error_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
      return;
    }
  g_set_object (&self->net, net);
  g_array_set_size (self->weighted, 0);
  for (guint i = 0; i < kiln_net_spec_get_n_layers (net); i++)
    if (kiln_layer_type_has_weights (kiln_net_spec_get_layer (net, i)->type))
      g_array_append_val (self->weighted, i);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  g_autofree char *freeze = g_steal_pointer (&self->pending_freeze);
  if (freeze != NULL && kiln_net_spec_find_layer (net, freeze) >= 0)
    set_string (&self->recipe.freeze_up_to, freeze);
  update_freeze (self);
  check_input_fit (self);
}

/* The network changed: read it, unfrozen (layer names may differ). */
static void
load_net (KilnRunWizard *self)
{
  g_auto(KilnRunRecipe) unfrozen;

  if (self->net_cancellable != NULL)
    g_cancellable_cancel (self->net_cancellable);
  g_set_object (&self->net_cancellable, g_cancellable_new ());
  g_clear_object (&self->net);
  /* Another net has other layers; a run's own choice waits for its net. */
  if (self->given_recipe && self->pending_freeze == NULL)
    self->pending_freeze = g_strdup (self->recipe.freeze_up_to);
  set_string (&self->recipe.freeze_up_to, NULL);
  update_freeze (self);
  if (self->choices == NULL)
    return;
  kiln_run_recipe_copy (&self->recipe, &unfrozen);
  /* At the net's own size: the chosen one is checked against it below. */
  unfrozen.input_channels = unfrozen.input_height = unfrozen.input_width = 0;
  kiln_run_recipe_get_net_async (&unfrozen, self->project_dir, self->choices->n_classes, self->net_cancellable,
                                 net_loaded, self);
}

/* ---- widgets from the recipe --------------------------------------------- */

static void
fill_model_rows (KilnRunWizard *self)
{
  const char *const *presets = kiln_net_spec_list_presets ();

  /* Runs, and a file picked earlier, are offered as weights. */
  gtk_string_list_splice (self->weights_names, 0, g_list_model_get_n_items (G_LIST_MODEL (self->weights_names)), NULL);
  g_ptr_array_set_size (self->weights_values, 0);
  gtk_string_list_append (self->weights_names, _("Random weights (train from scratch)"));
  g_ptr_array_add (self->weights_values, g_strdup (""));
  for (guint i = 0; self->choices != NULL && i < self->choices->runs->len; i++)
    {
      const KilnRunInfo *run = self->choices->runs->pdata[i];
      g_autofree char *label = isnan (run->summary.best_val_accuracy)
        ? g_strdup_printf (_("Run %s"), run->id)
        : g_strdup_printf (_("Run %s (validation accuracy %.1f %%)"), run->id, 100 * run->summary.best_val_accuracy);
      gtk_string_list_append (self->weights_names, label);
      g_ptr_array_add (self->weights_values, g_strdup (run->id));
    }
  if (self->recipe.weights != NULL && find_value (self->weights_values, self->recipe.weights) == GTK_INVALID_LIST_POSITION)
    {
      g_autofree char *base = g_path_get_basename (self->recipe.weights);
      gtk_string_list_append (self->weights_names, base);
      g_ptr_array_add (self->weights_values, g_strdup (self->recipe.weights));
    }
  gtk_string_list_append (self->weights_names, _("A Checkpoint File…"));
  g_ptr_array_add (self->weights_values, NULL);

  gtk_string_list_splice (self->network_names, 0, g_list_model_get_n_items (G_LIST_MODEL (self->network_names)), NULL);
  g_ptr_array_set_size (self->network_values, 0);
  if (self->recipe.weights != NULL)
    {
      gtk_string_list_append (self->network_names, _("The network saved with the weights"));
      g_ptr_array_add (self->network_values, g_strdup (""));
    }
  for (guint i = 0; presets[i] != NULL; i++)
    {
      gtk_string_list_append (self->network_names, kiln_preset_get_label (presets[i]));
      g_ptr_array_add (self->network_values, g_strdup (presets[i]));
    }
}

static void
fill_splits (KilnRunWizard *self)
{
  gtk_string_list_splice (self->split_names, 0, g_list_model_get_n_items (G_LIST_MODEL (self->split_names)), NULL);
  if (self->choices == NULL || self->choices->splits[0] == NULL)
    {
      gtk_string_list_append (self->split_names, _("A new split: 80 % training, 10 % validation, 10 % test"));
      return;
    }
  for (guint i = 0; self->choices->splits[i] != NULL; i++)
    {
      g_autofree char *label = i == 0 ? g_strdup_printf (_("%s (the current split)"), self->choices->splits[i])
                                      : g_strdup (self->choices->splits[i]);
      gtk_string_list_append (self->split_names, label);
    }
}

/* The recipe's resize modes and devices, in their rows' order. */
static const char *const resize_ids[] = { "squash", "crop-center", "fill", "downscale-crop" };
static const char *const device_ids[] = { "", "cpu", "cuda" };

static guint
index_of (const char *const *ids, guint n, const char *value, guint fallback)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (ids[i], value) == 0)
      return i;
  return fallback;
}

static void
sync_widgets (KilnRunWizard *self)
{
  KilnTrainerOptions defaults;
  const KilnRunRecipe *r = &self->recipe;

  kiln_trainer_options_init (&defaults);
  self->syncing = TRUE;
  fill_model_rows (self);
  guint weights = find_value (self->weights_values, r->weights);
  adw_combo_row_set_selected (self->weights_row, weights);
  adw_combo_row_set_selected (self->network_row, find_value (self->network_values, r->preset));
  adw_combo_row_set_selected (self->optimizer_row, g_strcmp0 (r->optimizer, "adam") == 0);
  gtk_spin_button_set_value (self->lr_spin, r->learning_rate > 0 ? r->learning_rate : defaults.learning_rate);
  guint schedule = 0;
  for (guint i = 0; i < G_N_ELEMENTS (schedule_ids); i++)
    if (g_strcmp0 (r->schedule, schedule_ids[i]) == 0)
      schedule = i;
  adw_combo_row_set_selected (self->schedule_row, schedule);
  gtk_spin_button_set_value (self->batch_spin, r->batch_size > 0 ? r->batch_size : defaults.batch_size);
  gtk_spin_button_set_value (self->epochs_spin, r->epochs > 0 ? r->epochs : defaults.epochs);
  fill_splits (self);
  guint split = 0;
  for (guint i = 0; self->choices != NULL && r->split != NULL && self->choices->splits[i] != NULL; i++)
    if (g_str_equal (self->choices->splits[i], r->split))
      split = i;
  adw_combo_row_set_selected (self->split_row, split);
  gtk_switch_set_active (self->mirror_switch, r->mirror);
  gtk_switch_set_active (self->crop_switch, r->random_crop);
  gtk_spin_button_set_value (self->size_spin, MAX (r->input_height, 0));
  adw_combo_row_set_selected (self->resize_row, index_of (resize_ids, G_N_ELEMENTS (resize_ids), r->resize, 0));
  /* The mean only matters with pretrained weights, whose mean is kept. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->mean_row), r->weights != NULL);
  gtk_switch_set_active (self->mean_switch, r->recompute_mean);
  adw_combo_row_set_selected (self->device_row, index_of (device_ids, G_N_ELEMENTS (device_ids),
                                                          r->device ? r->device : "", 0));
  self->syncing = FALSE;
  kiln_trainer_options_clear (&defaults);
}

/* ---- steps --------------------------------------------------------------- */

static void
add_summary_row (KilnRunWizard *self, const char *title, const char *value)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), value);
  gtk_widget_add_css_class (row, "property");
  gtk_list_box_append (self->summary_list, row);
}

static const char *
selected_string (AdwComboRow *row)
{
  GtkStringObject *item = adw_combo_row_get_selected_item (row);
  return item ? gtk_string_object_get_string (item) : "";
}

typedef struct {
  KilnRunRecipe recipe;
  char *project_dir;
} MemoryJob;

static void
memory_job_free (MemoryJob *job)
{
  kiln_run_recipe_clear (&job->recipe);
  g_free (job->project_dir);
  g_free (job);
}

/* The device the run will use, why, and what it needs of it: the same
 * check the run makes before it starts (kiln-cli train --dry-run). */
static void
memory_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MemoryJob *job = data;
  g_autoptr(KilnNetSpec) spec = NULL;
  KilnTrainerOptions options;
  KilnTrainingSetup setup;
  KilnNetMemory memory;
  g_autofree char *reason = NULL;
  GError *error = NULL;

  if (!kiln_run_recipe_build (&job->recipe, job->project_dir, &spec, &options, &setup, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_autofree char *device = kiln_run_device_check (job->recipe.device, spec, &options, &memory, &reason, &error);
  kiln_trainer_options_clear (&options);
  if (device == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_autofree char *needs = kiln_net_memory_format (&memory);
  g_task_return_pointer (task, g_strdup_printf (_("%s · needs %s"), reason, needs), g_free);
}

static void
memory_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->memory_row == NULL)
    return;
  adw_action_row_set_subtitle (self->memory_row, text ? text : error->message);
  if (text == NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->memory_row), "error");
}

static void
estimate_memory (KilnRunWizard *self)
{
  MemoryJob *job = g_new0 (MemoryJob, 1);

  g_cancellable_cancel (self->memory_cancellable);
  g_clear_object (&self->memory_cancellable);
  self->memory_cancellable = g_cancellable_new ();
  kiln_run_recipe_copy (&self->recipe, &job->recipe);
  job->project_dir = g_strdup (self->project_dir);
  g_autoptr(GTask) task = g_task_new (self, self->memory_cancellable, memory_done, NULL);
  g_task_set_source_tag (task, estimate_memory);
  g_task_set_task_data (task, job, (GDestroyNotify) memory_job_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, memory_thread);
}

static void
fill_summary (KilnRunWizard *self)
{
  const KilnRunRecipe *r = &self->recipe;
  g_autofree char *lr = g_strdup_printf ("%g", gtk_spin_button_get_value (self->lr_spin));
  g_autofree char *batch = g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (self->batch_spin));
  g_autofree char *epochs = g_strdup_printf ("%d", gtk_spin_button_get_value_as_int (self->epochs_spin));
  const char *augment = r->mirror && r->random_crop ? _("Mirror and random crops")
                      : r->mirror ? _("Mirror") : r->random_crop ? _("Random crops") : _("None");

  clear_list (self->summary_list);
  add_summary_row (self, _("Start From"), selected_string (self->weights_row));
  add_summary_row (self, _("Network"), selected_string (self->network_row));
  add_summary_row (self, _("Frozen Layers"), r->freeze_up_to ? r->freeze_up_to : _("None"));
  add_summary_row (self, _("Optimizer"), selected_string (self->optimizer_row));
  add_summary_row (self, _("Learning Rate"), lr);
  add_summary_row (self, _("Schedule"), selected_string (self->schedule_row));
  add_summary_row (self, _("Batch Size"), batch);
  add_summary_row (self, _("Epochs"), epochs);
  add_summary_row (self, _("Split"), selected_string (self->split_row));
  add_summary_row (self, _("Augmentation"), augment);
  g_autofree char *size = r->input_height > 0 ? g_strdup_printf ("%d × %d", r->input_height, r->input_width)
                                              : g_strdup (_("The network's own"));
  add_summary_row (self, _("Input Size"), size);
  add_summary_row (self, _("Resize"), selected_string (self->resize_row));
  if (r->weights != NULL)
    add_summary_row (self, _("Input Mean"), r->recompute_mean ? _("Recomputed from this project")
                                                              : _("The pretrained model's"));
  add_summary_row (self, _("Device"), _("Working it out…"));
  self->memory_row = ADW_ACTION_ROW (gtk_widget_get_last_child (GTK_WIDGET (self->summary_list)));
  if (self->project_dir != NULL)
    estimate_memory (self);
}

static void
show_step (KilnRunWizard *self, guint step)
{
  gboolean preparing = self->progress != NULL;

  self->step = step;
  if (step == G_N_ELEMENTS (step_names) - 1)
    fill_summary (self);
  gtk_stack_set_visible_child_name (self->steps, step_names[step]);
  gtk_stack_set_visible_child_name (self->next_stack, step + 1 < G_N_ELEMENTS (step_names) ? "next" : "start");
  /* Numbers only: the bar has little room beside its buttons on a phone. */
  g_autofree char *label = g_strdup_printf ("%u / %u", step + 1, (guint) G_N_ELEMENTS (step_names));
  g_autofree char *tip = g_strdup_printf (_("Step %u of %u"), step + 1, (guint) G_N_ELEMENTS (step_names));
  gtk_label_set_text (self->step_label, label);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->step_label), tip);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "wizard.back", step > 0 && !preparing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "wizard.next",
                                 step + 1 < G_N_ELEMENTS (step_names) && self->choices != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "wizard.start",
                                 step + 1 == G_N_ELEMENTS (step_names) && self->choices != NULL && !preparing);
}

static void
choices_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  KilnRunChoices *choices = kiln_run_choices_load_finish (result, &error);
  KilnRunWizard *self = user_data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->cancellable);
  if (choices == NULL)
    {
      gtk_label_set_text (self->error_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
      show_step (self, G_N_ELEMENTS (step_names) - 1);
      return;
    }
  self->choices = choices;
  /* The demo project (its split current) starts from kiln-cli demo's recipe. */
  if (!self->given_recipe && choices->splits[0] != NULL && g_str_equal (choices->splits[0], KILN_DEMO_SPLIT) &&
      self->recipe.weights == NULL)
    {
      kiln_run_recipe_clear (&self->recipe);
      kiln_run_recipe_init_demo (&self->recipe);
    }
  sync_widgets (self);
  load_net (self);
  show_step (self, self->step);
}

static void
set_project (KilnRunWizard *self, const char *project_dir, const KilnRunRecipe *recipe)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->net_cancellable != NULL)
    g_cancellable_cancel (self->net_cancellable);
  g_clear_object (&self->net_cancellable);
  g_clear_pointer (&self->choices, kiln_run_choices_free);
  g_clear_object (&self->net);
  set_string (&self->project_dir, project_dir);
  kiln_run_recipe_clear (&self->recipe);
  g_clear_pointer (&self->pending_freeze, g_free);
  self->given_recipe = recipe != NULL;
  if (recipe != NULL)
    {
      kiln_run_recipe_copy (recipe, &self->recipe);
      set_string (&self->recipe.run_id, NULL);
    }
  else
    {
      kiln_run_recipe_init (&self->recipe);
      self->recipe.preset = g_strdup ("lenet");
    }
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->prepare_progress), FALSE);
  sync_widgets (self);
  update_freeze (self);
  show_step (self, 0);
  if (project_dir == NULL)
    return;
  g_set_object (&self->cancellable, g_cancellable_new ());
  kiln_run_choices_load_async (project_dir, self->cancellable, choices_loaded, self);
}

void
kiln_run_wizard_set_project (KilnRunWizard *self, const char *project_dir)
{
  g_return_if_fail (KILN_IS_RUN_WIZARD (self));
  set_project (self, project_dir, NULL);
}

void
kiln_run_wizard_set_project_with_recipe (KilnRunWizard *self, const char *project_dir, const KilnRunRecipe *recipe)
{
  g_return_if_fail (KILN_IS_RUN_WIZARD (self));
  g_return_if_fail (recipe != NULL);
  set_project (self, project_dir, recipe);
}

/* ---- actions ------------------------------------------------------------- */

static void
back_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  if (self->step > 0)
    show_step (self, self->step - 1);
}

static void
next_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  if (self->step + 1 < G_N_ELEMENTS (step_names))
    show_step (self, self->step + 1);
}

static void
on_prepare_progress (KilnProgress *progress, KilnRunWizard *self)
{
  KilnProgressSnapshot s;
  kiln_progress_snapshot (progress, &s, NULL);
  g_autofree char *text = kiln_progress_format (&s);
  gtk_progress_bar_set_fraction (self->prepare_progress, s.total > 0 ? (double) s.done / s.total : 0);
  gtk_progress_bar_set_text (self->prepare_progress, text);
}

static void
prepared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnRunWizard) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnTrainer) trainer = kiln_run_recipe_prepare_finish (result, &error);

  if (self->progress != NULL)
    g_signal_handlers_disconnect_by_data (self->progress, self);
  g_clear_object (&self->progress);
  gtk_widget_set_visible (GTK_WIDGET (self->prepare_progress), FALSE);
  if (gtk_widget_in_destruction (GTK_WIDGET (self)))
    return;
  show_step (self, self->step);
  if (trainer == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, KILN_ERROR, KILN_ERROR_CANCELLED))
        {
          gtk_label_set_text (self->error_label, error->message);
          gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
        }
      return;
    }
  g_signal_emit (self, signals[SIGNAL_PREPARED], 0, trainer);
}

static void
start_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  if (self->progress != NULL || self->project_dir == NULL)
    return;
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  self->progress = kiln_progress_new ("training setup");
  g_signal_connect (self->progress, "changed", G_CALLBACK (on_prepare_progress), self);
  gtk_progress_bar_set_fraction (self->prepare_progress, 0);
  gtk_progress_bar_set_text (self->prepare_progress, _("Reading the images…"));
  gtk_widget_set_visible (GTK_WIDGET (self->prepare_progress), TRUE);
  show_step (self, self->step);
  /* Decoding the images into the cache takes a while: on a worker. */
  kiln_run_recipe_prepare_async (&self->recipe, self->project_dir, self->progress, NULL, prepared,
                                 g_object_ref (self));
}

static void
cancel_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  if (self->progress != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->progress));
  else
    g_signal_emit (self, signals[SIGNAL_CANCELLED], 0);
}

static void
set_weights_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  const char *weights = g_variant_get_string (parameter, NULL);
  gboolean had = self->recipe.weights != NULL;

  set_string (&self->recipe.weights, *weights ? weights : NULL);
  /* With weights, their own network unless one is named; without, a preset. */
  if (self->recipe.weights != NULL && !had)
    set_string (&self->recipe.preset, NULL);
  else if (self->recipe.weights == NULL && self->recipe.preset == NULL)
    set_string (&self->recipe.preset, "lenet");
  sync_widgets (self);
  load_net (self);
}

static void
set_preset_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  const char *preset = g_variant_get_string (parameter, NULL);

  set_string (&self->recipe.preset, *preset || self->recipe.weights == NULL ? (*preset ? preset : "lenet") : NULL);
  sync_widgets (self);
  load_net (self);
}

static void
set_freeze_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  const char *layer = g_variant_get_string (parameter, NULL);

  /* The core says what is wrong with a layer at Start; a name the net
   * lacks is not offered here. */
  if (*layer && self->net != NULL && kiln_net_spec_find_layer (self->net, layer) < 0)
    return;
  set_string (&self->recipe.freeze_up_to, *layer ? layer : NULL);
  update_freeze (self);
}

static void
set_optimizer_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  set_string (&self->recipe.optimizer, g_variant_get_string (parameter, NULL));
  sync_widgets (self);
}

static void
set_learning_rate_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  self->recipe.learning_rate = g_variant_get_double (parameter);
  sync_widgets (self);
}

static void
set_schedule_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  set_string (&self->recipe.schedule, g_variant_get_string (parameter, NULL));
  sync_widgets (self);
}

static void
set_batch_size_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  self->recipe.batch_size = MAX (1, g_variant_get_int32 (parameter));
  sync_widgets (self);
}

static void
set_epochs_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  self->recipe.epochs = MAX (1, g_variant_get_int32 (parameter));
  sync_widgets (self);
}

static void
set_split_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  const char *split = g_variant_get_string (parameter, NULL);

  set_string (&self->recipe.split, *split ? split : NULL);
  sync_widgets (self);
}

static void
set_mirror_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  self->recipe.mirror = g_variant_get_boolean (parameter);
  sync_widgets (self);
}

static void
set_random_crop_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  self->recipe.random_crop = g_variant_get_boolean (parameter);
  sync_widgets (self);
}

static void
set_input_size_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  int size = MAX (0, g_variant_get_int32 (parameter));

  self->recipe.input_height = self->recipe.input_width = size;
  self->recipe.input_channels = 0;
  sync_widgets (self);
  check_input_fit (self);
}

static void
apply_input_fix_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  if (self->fix_size > 0)
    gtk_widget_activate_action (widget, "wizard.set-input-size", "i", self->fix_size);
}

static void
set_resize_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  const char *mode = g_variant_get_string (parameter, NULL);

  /* Squash is the recipe's default: kept unset, as kiln-cli leaves it. */
  set_string (&self->recipe.resize, g_str_equal (mode, "squash") || *mode == '\0' ? NULL : mode);
  sync_widgets (self);
}

static void
set_recompute_mean_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);

  self->recipe.recompute_mean = g_variant_get_boolean (parameter);
  sync_widgets (self);
}

static void
set_device_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  const char *device = g_variant_get_string (parameter, NULL);

  set_string (&self->recipe.device, *device ? device : NULL);
  sync_widgets (self);
}

static void
chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-weights", "s", path);
    }
  g_clear_object (&self->chooser);
}

static void
choose_weights_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Start From a Checkpoint"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Checkpoints (safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- widget callbacks: each is an action ------------------------------- */

static void
weights_selected_cb (KilnRunWizard *self)
{
  guint selected = adw_combo_row_get_selected (self->weights_row);

  if (self->syncing || selected >= self->weights_values->len)
    return;
  const char *value = self->weights_values->pdata[selected];
  if (value == NULL)
    {
      /* The last entry opens the chooser; the choice stays until a file is picked. */
      sync_widgets (self);
      gtk_widget_activate_action (GTK_WIDGET (self), "wizard.choose-weights", NULL);
      return;
    }
  gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-weights", "s", value);
}

static void
network_selected_cb (KilnRunWizard *self)
{
  guint selected = adw_combo_row_get_selected (self->network_row);

  if (!self->syncing && selected < self->network_values->len)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-preset", "s", self->network_values->pdata[selected]);
}

static void
freeze_scale_changed_cb (KilnRunWizard *self)
{
  guint k = (guint) round (gtk_adjustment_get_value (self->freeze_adjustment));

  if (self->syncing || self->net == NULL)
    return;
  const char *layer = k == 0 || k > self->weighted->len ? ""
    : kiln_net_spec_get_layer (self->net, g_array_index (self->weighted, guint, k - 1))->name;
  gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-freeze", "s", layer);
}

static void
optimizer_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-optimizer", "s",
                                adw_combo_row_get_selected (self->optimizer_row) == 1 ? "adam" : "sgd");
}

static void
lr_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-learning-rate", "d",
                                gtk_spin_button_get_value (self->lr_spin));
}

static void
schedule_changed_cb (KilnRunWizard *self)
{
  guint selected = adw_combo_row_get_selected (self->schedule_row);

  if (!self->syncing && selected < G_N_ELEMENTS (schedule_ids))
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-schedule", "s", schedule_ids[selected]);
}

static void
batch_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-batch-size", "i",
                                gtk_spin_button_get_value_as_int (self->batch_spin));
}

static void
epochs_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-epochs", "i",
                                gtk_spin_button_get_value_as_int (self->epochs_spin));
}

static void
split_changed_cb (KilnRunWizard *self)
{
  guint selected = adw_combo_row_get_selected (self->split_row);

  if (self->syncing || self->choices == NULL)
    return;
  const char *split = selected < g_strv_length (self->choices->splits) ? self->choices->splits[selected] : "";
  gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-split", "s", split);
}

static void
mirror_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-mirror", "b",
                                gtk_switch_get_active (self->mirror_switch));
}

static void
crop_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-random-crop", "b",
                                gtk_switch_get_active (self->crop_switch));
}

static void
size_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-input-size", "i",
                                gtk_spin_button_get_value_as_int (self->size_spin));
}

static void
resize_changed_cb (KilnRunWizard *self)
{
  guint selected = adw_combo_row_get_selected (self->resize_row);
  if (!self->syncing && selected < G_N_ELEMENTS (resize_ids))
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-resize", "s", resize_ids[selected]);
}

static void
mean_changed_cb (KilnRunWizard *self)
{
  if (!self->syncing)
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-recompute-mean", "b",
                                gtk_switch_get_active (self->mean_switch));
}

static void
device_changed_cb (KilnRunWizard *self)
{
  guint selected = adw_combo_row_get_selected (self->device_row);
  if (!self->syncing && selected < G_N_ELEMENTS (device_ids))
    gtk_widget_activate_action (GTK_WIDGET (self), "wizard.set-device", "s", device_ids[selected]);
}

/* ---- object -------------------------------------------------------------- */

static void
kiln_run_wizard_dispose (GObject *object)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->net_cancellable != NULL)
    g_cancellable_cancel (self->net_cancellable);
  if (self->memory_cancellable != NULL)
    g_cancellable_cancel (self->memory_cancellable);
  g_clear_object (&self->memory_cancellable);
  self->memory_row = NULL;
  g_clear_object (&self->cancellable);
  g_clear_object (&self->net_cancellable);
  if (self->progress != NULL)
    {
      /* The prepare callback holds a reference and ends the folder it made. */
      g_cancellable_cancel (kiln_progress_get_cancellable (self->progress));
      g_signal_handlers_disconnect_by_data (self->progress, self);
    }
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_RUN_WIZARD);
  G_OBJECT_CLASS (kiln_run_wizard_parent_class)->dispose (object);
}

static void
kiln_run_wizard_finalize (GObject *object)
{
  KilnRunWizard *self = KILN_RUN_WIZARD (object);

  kiln_run_recipe_clear (&self->recipe);
  g_clear_pointer (&self->choices, kiln_run_choices_free);
  g_clear_object (&self->net);
  g_clear_object (&self->progress);
  g_ptr_array_unref (self->weights_values);
  g_ptr_array_unref (self->network_values);
  g_array_unref (self->weighted);
  g_free (self->project_dir);
  g_free (self->pending_freeze);
  G_OBJECT_CLASS (kiln_run_wizard_parent_class)->finalize (object);
}

static void
kiln_run_wizard_class_init (KilnRunWizardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_run_wizard_dispose;
  object_class->finalize = kiln_run_wizard_finalize;

  /* Start prepared the run; the receiver starts the trainer. */
  signals[SIGNAL_PREPARED] = g_signal_new ("prepared", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                           NULL, NULL, NULL, G_TYPE_NONE, 1, KILN_TYPE_TRAINER);
  signals[SIGNAL_CANCELLED] = g_signal_new ("cancelled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                            NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-run-wizard.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, steps);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, weights_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, weights_names);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, network_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, network_names);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, freeze_scale);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, freeze_adjustment);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, freeze_label);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, layers_list);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, optimizer_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, lr_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, schedule_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, split_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, split_names);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, mirror_switch);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, crop_switch);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, summary_list);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, error_label);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, prepare_progress);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, step_label);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, next_stack);
  gtk_widget_class_bind_template_callback (widget_class, freeze_scale_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, optimizer_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, lr_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, schedule_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, batch_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, epochs_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, split_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, mirror_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, crop_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, resize_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, size_changed_cb);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, size_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, fit_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, fit_button);
  gtk_widget_class_bind_template_callback (widget_class, mean_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, device_changed_cb);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, resize_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, mean_row);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, mean_switch);
  gtk_widget_class_bind_template_child (widget_class, KilnRunWizard, device_row);

  gtk_widget_class_install_action (widget_class, "wizard.back", NULL, back_activated);
  gtk_widget_class_install_action (widget_class, "wizard.next", NULL, next_activated);
  gtk_widget_class_install_action (widget_class, "wizard.start", NULL, start_activated);
  gtk_widget_class_install_action (widget_class, "wizard.cancel", NULL, cancel_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-weights", "s", set_weights_activated);
  gtk_widget_class_install_action (widget_class, "wizard.choose-weights", NULL, choose_weights_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-preset", "s", set_preset_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-freeze", "s", set_freeze_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-optimizer", "s", set_optimizer_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-learning-rate", "d", set_learning_rate_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-schedule", "s", set_schedule_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-batch-size", "i", set_batch_size_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-epochs", "i", set_epochs_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-split", "s", set_split_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-mirror", "b", set_mirror_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-random-crop", "b", set_random_crop_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-resize", "s", set_resize_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-input-size", "i", set_input_size_activated);
  gtk_widget_class_install_action (widget_class, "wizard.apply-input-fix", NULL, apply_input_fix_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-recompute-mean", "b", set_recompute_mean_activated);
  gtk_widget_class_install_action (widget_class, "wizard.set-device", "s", set_device_activated);
}

static void
kiln_run_wizard_init (KilnRunWizard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->weights_values = g_ptr_array_new_with_free_func (g_free);
  self->network_values = g_ptr_array_new_with_free_func (g_free);
  self->weighted = g_array_new (FALSE, FALSE, sizeof (guint));
  kiln_run_recipe_init (&self->recipe);
  self->recipe.preset = g_strdup ("lenet");
  g_signal_connect_swapped (self->weights_row, "notify::selected", G_CALLBACK (weights_selected_cb), self);
  g_signal_connect_swapped (self->network_row, "notify::selected", G_CALLBACK (network_selected_cb), self);
  sync_widgets (self);
  update_freeze (self);
  show_step (self, 0);
}
