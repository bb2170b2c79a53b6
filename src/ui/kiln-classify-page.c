/* kiln-classify-page.c: images dropped on the page, classified by a run's
 * best checkpoint (see kiln-classify-page.h). */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-classify-page.h"

#define TOP_K 5
#define THUMBNAIL 72

/* One image on the page; async work holds a reference, and a result for an
 * entry the page has let go (page NULL) is dropped. */
typedef struct {
  KilnClassifyPage *page;
  GFile *file;
  GtkWidget *row;
  GtkPicture *picture;
  GtkGrid *bars;
  GtkLabel *status;
  GArray *predictions;         /* of the current model, or NULL */
  GError *error;
  guint generation;            /* the model they come from */
} Entry;

struct _KilnClassifyPage
{
  AdwBin parent_instance;

  AdwComboRow *run_row;
  GtkLabel *status_label;
  GtkStack *results_stack;
  AdwStatusPage *empty_status;
  GtkListBox *results_list;

  char *project_dir;
  KilnRunsModel *runs;
  GtkCustomFilter *filter;
  GtkFilterListModel *with_checkpoint;
  KilnClassifier *classifier;
  char *run_id;                /* the run chosen */
  guint generation;            /* counts model choices */
  GCancellable *cancellable;   /* loading and using the current model */
  GPtrArray *entries;          /* Entry */
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (KilnClassifyPage, kiln_classify_page, ADW_TYPE_BIN)

static void classify_entry (KilnClassifyPage *self, Entry *entry);

GtkWidget *
kiln_classify_page_new (void)
{
  return g_object_new (KILN_TYPE_CLASSIFY_PAGE, NULL);
}

const char *
kiln_classify_page_get_run (KilnClassifyPage *self)
{
  g_return_val_if_fail (KILN_IS_CLASSIFY_PAGE (self), NULL);
  return self->run_id;
}

guint
kiln_classify_page_get_n_images (KilnClassifyPage *self)
{
  g_return_val_if_fail (KILN_IS_CLASSIFY_PAGE (self), 0);
  return self->entries->len;
}

GArray *
kiln_classify_page_get_predictions (KilnClassifyPage *self, guint index, const GError **error)
{
  g_return_val_if_fail (KILN_IS_CLASSIFY_PAGE (self), NULL);
  g_return_val_if_fail (index < self->entries->len, NULL);

  Entry *entry = self->entries->pdata[index];
  if (error != NULL)
    *error = entry->error;
  return entry->predictions;
}

static void
show_status (KilnClassifyPage *self, const char *text)
{
  gtk_label_set_text (self->status_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), text != NULL);
}

/* ---- entries --------------------------------------------------------------- */

static void
entry_clear (Entry *entry)
{
  g_clear_object (&entry->file);
  g_clear_pointer (&entry->predictions, g_array_unref);
  g_clear_error (&entry->error);
}

static Entry *
entry_ref (Entry *entry)
{
  return g_rc_box_acquire (entry);
}

static void
entry_unref (Entry *entry)
{
  g_rc_box_release_full (entry, (GDestroyNotify) entry_clear);
}

/* The page lets the entry go: its row leaves the list. */
static void
entry_detach (Entry *entry)
{
  if (entry->page != NULL && entry->row != NULL)
    gtk_list_box_remove (entry->page->results_list, entry->row);
  entry->page = NULL;
  entry->row = NULL;
  entry_unref (entry);
}

static void
clear_grid (GtkGrid *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
}

static void
show_entry (Entry *entry)
{
  clear_grid (entry->bars);
  if (entry->error != NULL)
    {
      gtk_label_set_text (entry->status, entry->error->message);
      gtk_widget_add_css_class (GTK_WIDGET (entry->status), "error");
      gtk_widget_set_visible (GTK_WIDGET (entry->status), TRUE);
      return;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (entry->status), "error");
  if (entry->predictions == NULL)
    {
      gtk_label_set_text (entry->status, _("Classifying…"));
      gtk_widget_set_visible (GTK_WIDGET (entry->status), TRUE);
      return;
    }
  gtk_widget_set_visible (GTK_WIDGET (entry->status), FALSE);
  for (guint i = 0; i < entry->predictions->len; i++)
    {
      const KilnPrediction *p = &g_array_index (entry->predictions, KilnPrediction, i);
      GtkWidget *name = gtk_label_new (p->class_name);
      GtkWidget *bar = gtk_progress_bar_new ();
      g_autofree char *percent = g_strdup_printf ("%.1f %%", 100.0 * p->probability);
      GtkWidget *value = gtk_label_new (percent);

      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
      /* One width for every image's names, so the bars line up. */
      gtk_label_set_max_width_chars (GTK_LABEL (name), 10);
      gtk_label_set_width_chars (GTK_LABEL (name), 10);
      gtk_widget_set_tooltip_text (name, p->class_name);
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (bar), p->probability);
      gtk_widget_set_hexpand (bar, TRUE);
      gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_PROPERTY_LABEL, p->class_name, -1);
      gtk_label_set_xalign (GTK_LABEL (value), 1);
      gtk_label_set_width_chars (GTK_LABEL (value), 6);
      gtk_widget_add_css_class (value, "numeric");
      if (i == 0)
        gtk_widget_add_css_class (name, "heading");
      else
        gtk_widget_add_css_class (value, "dim-label");
      gtk_grid_attach (entry->bars, name, 0, i, 1, 1);
      gtk_grid_attach (entry->bars, bar, 1, i, 1, 1);
      gtk_grid_attach (entry->bars, value, 2, i, 1, 1);
    }
}

static void
thumbnail_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Entry *entry = user_data;
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_stream_finish (result, NULL);

  /* An image the thumbnail cannot show still gets its row and its error. */
  if (entry->page != NULL && pixbuf != NULL)
    {
      g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);
      gtk_picture_set_paintable (entry->picture, GDK_PAINTABLE (texture));
    }
  entry_unref (entry);
}

static void
file_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Entry *entry = user_data;
  g_autoptr(GFileInputStream) stream = g_file_read_finish (G_FILE (source), result, NULL);

  if (entry->page == NULL || stream == NULL)
    {
      entry_unref (entry);
      return;
    }
  /* Decoded on a worker, scaled as it is read. */
  gdk_pixbuf_new_from_stream_at_scale_async (G_INPUT_STREAM (stream), THUMBNAIL, THUMBNAIL, TRUE, NULL,
                                             thumbnail_loaded, entry);
}

static Entry *
add_entry (KilnClassifyPage *self, GFile *file)
{
  Entry *entry = g_rc_box_new0 (Entry);
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *column = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  g_autofree char *name = g_file_get_basename (file);
  GtkWidget *title = gtk_label_new (name);

  entry->page = self;
  entry->file = g_object_ref (file);
  entry->row = row;
  entry->picture = GTK_PICTURE (gtk_picture_new ());
  entry->bars = GTK_GRID (gtk_grid_new ());
  entry->status = GTK_LABEL (gtk_label_new (NULL));

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_size_request (GTK_WIDGET (entry->picture), THUMBNAIL, THUMBNAIL);
  gtk_widget_set_valign (GTK_WIDGET (entry->picture), GTK_ALIGN_START);
  gtk_picture_set_can_shrink (entry->picture, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry->picture), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  gtk_widget_set_hexpand (column, TRUE);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (title, "heading");
  gtk_grid_set_column_spacing (entry->bars, 8);
  gtk_widget_add_css_class (GTK_WIDGET (entry->bars), "kiln-prediction-bars");
  gtk_grid_set_row_spacing (entry->bars, 4);
  gtk_label_set_xalign (entry->status, 0);
  gtk_label_set_wrap (entry->status, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (entry->status), "dim-label");
  gtk_box_append (GTK_BOX (column), title);
  gtk_box_append (GTK_BOX (column), GTK_WIDGET (entry->bars));
  gtk_box_append (GTK_BOX (column), GTK_WIDGET (entry->status));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (entry->picture));
  gtk_box_append (GTK_BOX (box), column);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_append (self->results_list, row);
  g_ptr_array_add (self->entries, entry);
  show_entry (entry);

  g_file_read_async (file, G_PRIORITY_DEFAULT, NULL, file_opened, entry_ref (entry));
  return entry;
}

void
kiln_classify_page_add_files (KilnClassifyPage *self, GSList *files)
{
  g_return_if_fail (KILN_IS_CLASSIFY_PAGE (self));

  for (GSList *l = files; l != NULL; l = l->next)
    {
      Entry *entry = add_entry (self, l->data);
      if (self->classifier != NULL)
        classify_entry (self, entry);
    }
  gtk_stack_set_visible_child_name (self->results_stack, self->entries->len > 0 ? "results" : "empty");
}

/* ---- classifying ----------------------------------------------------------- */

static void
classified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Entry *entry = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) predictions = kiln_classifier_classify_file_finish (KILN_CLASSIFIER (source), result, &error);

  /* Cleared, or another model chosen meanwhile. */
  if (entry->page == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      entry->generation != entry->page->generation)
    {
      entry_unref (entry);
      return;
    }
  g_clear_pointer (&entry->predictions, g_array_unref);
  g_clear_error (&entry->error);
  entry->predictions = g_steal_pointer (&predictions);
  entry->error = g_steal_pointer (&error);
  show_entry (entry);
  entry_unref (entry);
}

static void
classify_entry (KilnClassifyPage *self, Entry *entry)
{
  g_autofree char *path = g_file_get_path (entry->file);

  g_clear_pointer (&entry->predictions, g_array_unref);
  g_clear_error (&entry->error);
  entry->generation = self->generation;
  if (path == NULL)
    {
      g_set_error_literal (&entry->error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("Only files on this computer can be classified"));
      show_entry (entry);
      return;
    }
  show_entry (entry);
  kiln_classifier_classify_file_async (self->classifier, path, TOP_K, self->cancellable, classified,
                                       entry_ref (entry));
}

static void
classifier_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnClassifyPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnClassifier) classifier = kiln_classifier_new_from_run_finish (result, &error);

  /* Another run was chosen meanwhile, or the page went. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (classifier == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The model of run %s could not be loaded: %s"), self->run_id,
                                               error->message);
      show_status (self, text);
      return;
    }
  show_status (self, NULL);
  self->classifier = g_steal_pointer (&classifier);
  for (guint i = 0; i < self->entries->len; i++)
    classify_entry (self, self->entries->pdata[i]);
}

/* Loads @id's best checkpoint (NULL: none) and classifies the images again. */
static void
use_run (KilnClassifyPage *self, const char *id)
{
  KilnRunItem *item = id && self->runs ? kiln_runs_model_find (self->runs, id, NULL) : NULL;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_set_object (&self->cancellable, g_cancellable_new ());
  g_clear_object (&self->classifier);
  g_free (self->run_id);
  self->run_id = item ? g_strdup (id) : NULL;
  self->generation++;
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = self->entries->pdata[i];
      g_clear_pointer (&entry->predictions, g_array_unref);
      g_clear_error (&entry->error);
      show_entry (entry);
    }
  if (item == NULL)
    {
      show_status (self, self->project_dir ? _("No run has a checkpoint yet: train one on the Train page.")
                                           : _("Open a project to classify with its runs."));
      return;
    }
  g_autofree char *text = g_strdup_printf (_("Loading the model of run %s…"), id);
  show_status (self, text);
  kiln_classifier_new_from_run_async (kiln_run_item_get_dir (item), NULL, NULL, 1, self->cancellable,
                                      classifier_loaded, g_object_ref (self));
}

static void
run_selected_cb (KilnClassifyPage *self)
{
  KilnRunItem *item = adw_combo_row_get_selected_item (self->run_row);
  const char *id = item ? kiln_run_item_get_id (item) : NULL;

  if (g_strcmp0 (id, self->run_id) != 0)
    gtk_widget_activate_action (GTK_WIDGET (self), "classify.select-run", "s", id ? id : "");
}

static gboolean
has_checkpoint (gpointer item, gpointer user_data)
{
  const KilnRunInfo *info = kiln_run_item_get_info (item);

  return info->problem == NULL && info->summary.iteration > 0;
}

static void
runs_refreshed_cb (KilnClassifyPage *self)
{
  /* A run may have gained its first checkpoint. */
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  run_selected_cb (self);
}

void
kiln_classify_page_set_project (KilnClassifyPage *self, const char *project_dir)
{
  g_return_if_fail (KILN_IS_CLASSIFY_PAGE (self));

  if (g_strcmp0 (project_dir, self->project_dir) == 0 && self->runs != NULL)
    return;
  g_free (self->project_dir);
  self->project_dir = g_strdup (project_dir);
  if (self->runs != NULL)
    g_signal_handlers_disconnect_by_data (self->runs, self);
  g_clear_object (&self->runs);
  if (project_dir != NULL)
    {
      self->runs = kiln_runs_model_new (project_dir);
      g_signal_connect_swapped (self->runs, "refreshed", G_CALLBACK (runs_refreshed_cb), self);
    }
  gtk_filter_list_model_set_model (self->with_checkpoint, G_LIST_MODEL (self->runs));
  use_run (self, NULL);
}

/* ---- actions --------------------------------------------------------------- */

static void
select_run_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnClassifyPage *self = KILN_CLASSIFY_PAGE (widget);
  const char *id = g_variant_get_string (parameter, NULL);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->with_checkpoint));

  use_run (self, *id ? id : NULL);
  /* The row follows (it is how a person chooses). */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(KilnRunItem) item = g_list_model_get_item (G_LIST_MODEL (self->with_checkpoint), i);
      if (g_strcmp0 (kiln_run_item_get_id (item), id) == 0 && adw_combo_row_get_selected (self->run_row) != i)
        adw_combo_row_set_selected (self->run_row, i);
    }
}

static void
clear_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnClassifyPage *self = KILN_CLASSIFY_PAGE (widget);

  g_ptr_array_set_size (self->entries, 0);
  gtk_stack_set_visible_child_name (self->results_stack, "empty");
}

static void
chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KilnClassifyPage *self = KILN_CLASSIFY_PAGE (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) chosen = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      GSList *files = NULL;
      for (guint i = g_list_model_get_n_items (chosen); i > 0; i--)
        files = g_slist_prepend (files, g_list_model_get_item (chosen, i - 1));
      kiln_classify_page_add_files (self, files);
      g_slist_free_full (files, g_object_unref);
    }
  g_clear_object (&self->chooser);
}

static void
open_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnClassifyPage *self = KILN_CLASSIFY_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Open Images"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats (filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static gboolean
drop_cb (GtkDropTarget *target, const GValue *value, double x, double y, KilnClassifyPage *self)
{
  GdkFileList *list = g_value_get_boxed (value);
  GSList *files = list ? gdk_file_list_get_files (list) : NULL;

  if (files == NULL)
    return FALSE;
  kiln_classify_page_add_files (self, files);
  g_slist_free (files);
  return TRUE;
}

/* ---- object ---------------------------------------------------------------- */

static void
kiln_classify_page_dispose (GObject *object)
{
  KilnClassifyPage *self = KILN_CLASSIFY_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_ptr_array_set_size (self->entries, 0);
  if (self->runs != NULL)
    g_signal_handlers_disconnect_by_data (self->runs, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_CLASSIFY_PAGE);
  g_clear_object (&self->with_checkpoint);
  g_clear_object (&self->runs);
  g_clear_object (&self->classifier);
  G_OBJECT_CLASS (kiln_classify_page_parent_class)->dispose (object);
}

static void
kiln_classify_page_finalize (GObject *object)
{
  KilnClassifyPage *self = KILN_CLASSIFY_PAGE (object);

  g_ptr_array_unref (self->entries);
  g_free (self->project_dir);
  g_free (self->run_id);
  G_OBJECT_CLASS (kiln_classify_page_parent_class)->finalize (object);
}

static void
kiln_classify_page_class_init (KilnClassifyPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_classify_page_dispose;
  object_class->finalize = kiln_classify_page_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-classify-page.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnClassifyPage, run_row);
  gtk_widget_class_bind_template_child (widget_class, KilnClassifyPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, KilnClassifyPage, results_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnClassifyPage, empty_status);
  gtk_widget_class_bind_template_child (widget_class, KilnClassifyPage, results_list);

  gtk_widget_class_install_action (widget_class, "classify.open", NULL, open_activated);
  gtk_widget_class_install_action (widget_class, "classify.clear", NULL, clear_activated);
  gtk_widget_class_install_action (widget_class, "classify.select-run", "s", select_run_activated);
}

static void
kiln_classify_page_init (KilnClassifyPage *self)
{
  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_autoptr(GtkExpression) id = gtk_property_expression_new (KILN_TYPE_RUN_ITEM, NULL, "id");

  gtk_widget_init_template (GTK_WIDGET (self));
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_detach);
  self->filter = gtk_custom_filter_new (has_checkpoint, NULL, NULL);
  self->with_checkpoint = gtk_filter_list_model_new (NULL, GTK_FILTER (self->filter));
  adw_combo_row_set_expression (self->run_row, id);
  adw_combo_row_set_model (self->run_row, G_LIST_MODEL (self->with_checkpoint));
  g_signal_connect_swapped (self->run_row, "notify::selected-item", G_CALLBACK (run_selected_cb), self);
  g_signal_connect (drop, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  use_run (self, NULL);
}
