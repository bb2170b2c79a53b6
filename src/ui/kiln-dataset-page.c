/* kiln-dataset-page.c: the Dataset page (see kiln-dataset-page.h). Every
 * change is a core call that kiln-cli makes too (classes, split, mean,
 * classes export); the page reads the store back afterwards rather than
 * guessing what changed. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-dataset-page.h"
#include "kiln-network-input.h"
#include "kiln-progress.h"
#include "kiln-project-dataset.h"

struct _KilnDatasetPage
{
  AdwBin parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkStack *stack;
  GtkListBox *class_list;
  AdwEntryRow *split_name_row;
  GtkSpinButton *train_spin;
  GtkSpinButton *val_spin;
  GtkSpinButton *test_spin;
  GtkSpinButton *seed_spin;
  GtkSwitch *stratified_switch;
  GtkButton *apply_button;
  GtkLabel *split_summary;
  GtkListBox *split_list;
  GtkLabel *groups_label;
  GtkListBox *group_list;
  GtkSpinButton *width_spin;
  GtkSpinButton *height_spin;
  AdwComboRow *channels_row;
  AdwComboRow *resize_row;
  GtkSwitch *centered_switch;
  GtkPicture *before_picture;
  GtkPicture *after_picture;
  GtkLabel *tensor_label;
  GtkButton *compute_button;
  GtkProgressBar *mean_progress;
  GtkPicture *mean_picture;
  GtkLabel *images_label;
  GtkListView *image_view;
  GtkLabel *mean_label;

  KilnProject *project;
  GtkStringList *images;        /* paths of the images the mean uses */
  GtkSingleSelection *image_selection;
  KilnProgress *computing;      /* the mean in progress */
  KilnMeanImage *mean;
  float *preview;               /* the tensor shown */
  KilnImageSpec preview_spec;
  char *preview_path;
  GCancellable *editing;        /* class edits of this project */
  guint n_edits;                /* class edits in flight */
  guint n_splits;               /* splits being made */
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (KilnDatasetPage, kiln_dataset_page, ADW_TYPE_BIN)

enum {
  SIGNAL_CLASSES_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const KilnResizeMode resize_modes[] = {
  KILN_RESIZE_CROP_CENTER, KILN_RESIZE_SQUASH, KILN_RESIZE_FILL, KILN_RESIZE_DOWNSCALE_CROP,
};

static void update_preview (KilnDatasetPage *self);
static void update_actions (KilnDatasetPage *self);

static void
show_toast (KilnDatasetPage *self, const char *text)
{
  /* Toast titles are markup; class names may hold “&”. */
  g_autofree char *markup = g_markup_escape_text (text, -1);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (markup));
}

static char *
format_images (guint n)
{
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'u image", "%'u images", n), n);
}

void
kiln_dataset_page_get_spec (KilnDatasetPage *self,
                            KilnImageSpec   *spec)
{
  guint mode = adw_combo_row_get_selected (self->resize_row);

  g_return_if_fail (KILN_IS_DATASET_PAGE (self));

  *spec = (KilnImageSpec) {
    .width = gtk_spin_button_get_value_as_int (self->width_spin),
    .height = gtk_spin_button_get_value_as_int (self->height_spin),
    .channels = adw_combo_row_get_selected (self->channels_row) == 1 ? KILN_CHANNELS_GRAY : KILN_CHANNELS_RGB,
    .mode = resize_modes[MIN (mode, G_N_ELEMENTS (resize_modes) - 1)],
  };
}

/* The mean at the current spec: it is what training subtracts. */
static const float *
matching_mean (KilnDatasetPage *self)
{
  KilnImageSpec spec;

  kiln_dataset_page_get_spec (self, &spec);
  if (self->mean == NULL || self->mean->spec.width != spec.width || self->mean->spec.height != spec.height
      || self->mean->spec.channels != spec.channels || self->mean->spec.mode != spec.mode)
    return NULL;
  return self->mean->mean;
}

/* ---- Classes ------------------------------------------------------------- */

static GtkWidget *
row_button (const char *icon, const char *label, const char *action, const char *name)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), g_variant_new_string (name));
  gtk_widget_add_css_class (button, "flat");
  return button;
}

static void
update_classes (KilnDatasetPage *self)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GHashTable) kept = NULL;
  g_autoptr(GHashTable) dropped = NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->class_list))) != NULL)
    gtk_list_box_remove (self->class_list, child);
  if (self->project == NULL)
    return;
  names = kiln_project_list_classes (self->project, &error);
  if (names != NULL)
    kept = kiln_project_count_by_class (self->project, KILN_IMAGE_KEPT, &error);
  if (kept != NULL)
    dropped = kiln_project_count_by_class (self->project, KILN_IMAGE_DISCARDED, &error);
  if (dropped == NULL)
    {
      show_toast (self, error->message);
      return;
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *name = names[i];
      guint n_kept = GPOINTER_TO_UINT (g_hash_table_lookup (kept, name));
      guint n_dropped = GPOINTER_TO_UINT (g_hash_table_lookup (dropped, name));
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *widget_name = g_strconcat ("class:", name, NULL);
      g_autofree char *count = format_images (n_kept);
      g_autofree char *rename = g_strdup_printf (_("Rename %s"), name);
      g_autofree char *merge = g_strdup_printf (_("Merge %s into another class"), name);
      g_autofree char *drop = g_strdup_printf (_("Drop %s"), name);
      g_autofree char *restore = g_strdup_printf (_("Restore %s"), name);
      g_autofree char *subtitle = NULL;

      if (n_dropped > 0)
        /* TRANSLATORS: "12 images · 30 dropped" */
        subtitle = g_strdup_printf (_("%s · %'u dropped"), count, n_dropped);
      gtk_widget_set_name (row, widget_name);
      /* Class names are folder names, not markup. */
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle ? subtitle : count);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 row_button ("document-edit-symbolic", rename, "dataset.rename-class", name));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                 row_button ("go-jump-symbolic", merge, "dataset.merge-class", name));
      if (n_kept > 0)
        adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                   row_button ("user-trash-symbolic", drop, "dataset.drop-class", name));
      if (n_dropped > 0)
        adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                                   row_button ("edit-undo-symbolic", restore, "dataset.restore-class", name));
      gtk_list_box_append (self->class_list, row);
    }
}

/* ---- Split --------------------------------------------------------------- */

/* Only so many group rows: a project full of copies is a Curate job. */
#define MAX_GROUP_ROWS 50

static void
clear_groups (KilnDatasetPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->group_list))) != NULL)
    gtk_list_box_remove (self->group_list, child);
  gtk_widget_set_visible (GTK_WIDGET (self->group_list), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->groups_label), FALSE);
}

/* The near-duplicate groups the split kept whole, each with its subset
 * (@subset_of: path → untranslated subset label). */
static void
show_groups (KilnDatasetPage *self, GHashTable *subset_of)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = kiln_dataset_near_duplicate_groups (self->project, 0, &error);
  g_autofree char *heading = NULL;

  clear_groups (self);
  if (groups == NULL)
    {
      show_toast (self, error->message);
      return;
    }
  if (groups->len == 0)
    /* Only inspected images have the hashes that find twins. */
    heading = g_strdup (_("No near-duplicate groups among the inspected images (Inspect on the Curate page finds them)"));
  else
    heading = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'u near-duplicate group, kept in one subset",
                                            "%'u near-duplicate groups, each kept in one subset", groups->len),
                               groups->len);
  gtk_label_set_text (self->groups_label, heading);
  gtk_widget_set_visible (GTK_WIDGET (self->groups_label), TRUE);
  for (guint g = 0; g < groups->len && g < MAX_GROUP_ROWS; g++)
    {
      const char *const *paths = groups->pdata[g];
      const char *subset = g_hash_table_lookup (subset_of, paths[0]);
      g_autofree char *count = format_images (g_strv_length ((GStrv) paths));
      /* TRANSLATORS: "3 images → Train": a group and the subset it went to */
      g_autofree char *title = g_strdup_printf (_("%s → %s"), count, subset ? _(subset) : _("Left out"));
      g_autofree char *list = g_strjoinv (", ", (GStrv) paths);
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), list);
      gtk_list_box_append (self->group_list, row);
    }
  if (groups->len > MAX_GROUP_ROWS)
    {
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *more = g_strdup_printf (_("%'u more groups: the Curate page shows them all"),
                                               groups->len - MAX_GROUP_ROWS);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), more);
      gtk_list_box_append (self->group_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->group_list), groups->len > 0);
}

/* Counts per class and subset of @split, one row a class. */
static void
update_split_counts (KilnDatasetPage *self,
                     const char      *split)
{
  static const char *const subsets[] = { "train", "val", "test" };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelSet) all = NULL;
  static const char *const subset_labels[] = { N_("Train"), N_("Validation"), N_("Test") };
  g_autoptr(GHashTable) subset_of = NULL;
  g_autofree guint *counts = NULL;
  guint totals[3] = { 0 };
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->split_list))) != NULL)
    gtk_list_box_remove (self->split_list, child);
  gtk_widget_set_visible (GTK_WIDGET (self->split_list), FALSE);
  clear_groups (self);
  if (self->project == NULL || split == NULL)
    return;

  all = kiln_project_get_label_set (self->project, NULL, NULL, NULL, &error);
  if (all == NULL)
    {
      show_toast (self, error->message);
      return;
    }
  counts = g_new0 (guint, all->classes->len * 3);
  subset_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint s = 0; s < 3; s++)
    {
      g_autoptr(KilnLabelSet) set = kiln_project_get_label_set (self->project, split, subsets[s], NULL, &error);

      if (set == NULL)
        {
          show_toast (self, error->message);
          return;
        }
      for (guint i = 0; i < set->paths->len; i++)
        g_hash_table_insert (subset_of, g_strdup (set->paths->pdata[i]), (gpointer) subset_labels[s]);
      /* Subsets of a split share the kept images' class list. */
      for (guint i = 0; i < set->labels->len; i++)
        {
          int label = g_array_index (set->labels, int, i);
          if (label >= 0 && (guint) label < all->classes->len)
            counts[label * 3 + s]++;
          totals[s]++;
        }
    }
  for (guint c = 0; c <= all->classes->len; c++)
    {
      gboolean total = c == all->classes->len;
      const guint *n = total ? totals : counts + c * 3;
      GtkWidget *row = adw_action_row_new ();
      /* TRANSLATORS: images of one class in each subset of a split */
      g_autofree char *text = g_strdup_printf (_("Train %'u · Validation %'u · Test %'u"), n[0], n[1], n[2]);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), total ? _("All classes") : all->classes->pdata[c]);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text);
      if (total)
        gtk_widget_add_css_class (row, "heading");
      gtk_list_box_append (self->split_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->split_list), TRUE);
  show_groups (self, subset_of);
}

static void
update_split (KilnDatasetPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *split = NULL;

  if (self->project != NULL)
    split = kiln_project_get_current_split (self->project, &error);
  if (split != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Current split: “%s”"), split);
      gtk_label_set_text (self->split_summary, text);
    }
  else
    gtk_label_set_text (self->split_summary, _("No split yet: training makes one with the shares above."));
  update_split_counts (self, split);
}

typedef struct {
  KilnDatasetPage *self;
  KilnProject *project;   /* the split's, to tell a page that moved on */
  char *name;
} SplitCall;

static void
split_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  SplitCall *call = data;
  KilnDatasetPage *self = call->self;
  KilnProject *project = call->project;
  const char *name = call->name;
  g_autoptr(GError) error = NULL;
  KilnSplitSummary summary;

  self->n_splits--;
  if (!kiln_dataset_split_project_finish (result, &summary, &error))
    {
      if (project == self->project)
        show_toast (self, error->message);
    }
  else if (project == self->project)
    {
      /* The mean averages the new train subset. */
      kiln_dataset_page_reload (self);
      g_autofree char *unused = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'u image left out",
                                                              "%'u images left out",
                                                              summary.counts[KILN_SUBSET_UNUSED]),
                                                 summary.counts[KILN_SUBSET_UNUSED]);
      g_autofree char *groups = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                              "%'u near-duplicate group kept whole in one subset",
                                                              "%'u near-duplicate groups kept whole, each in one subset",
                                                              summary.n_groups),
                                                 summary.n_groups);
      g_autofree char *text = g_strdup_printf (_("Split “%s” applied. %s; %s (%'u moved to their group’s subset)."),
                                               name, unused, groups, summary.n_moved);
      gtk_label_set_text (self->split_summary, text);
    }
  update_actions (self);
  g_object_unref (call->self);
  g_object_unref (call->project);
  g_free (call->name);
  g_free (call);
}

static void
apply_split_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->split_name_row))));
  SplitCall *call;
  KilnSplitSpec spec;

  if (self->project == NULL)
    return;
  if (*name == '\0')
    {
      g_free (name);
      name = g_strdup (KILN_SPLIT_DEFAULT_NAME);
    }
  kiln_split_spec_init (&spec);
  spec.fractions[0] = gtk_spin_button_get_value (self->train_spin) / 100.0;
  spec.fractions[1] = gtk_spin_button_get_value (self->val_spin) / 100.0;
  spec.fractions[2] = gtk_spin_button_get_value (self->test_spin) / 100.0;
  spec.seed = (guint64) gtk_spin_button_get_value_as_int (self->seed_spin);
  spec.unstratified = !gtk_switch_get_active (self->stratified_switch);
  self->n_splits++;
  update_actions (self);
  call = g_new0 (SplitCall, 1);
  call->self = g_object_ref (self);
  call->project = g_object_ref (self->project);
  call->name = g_strdup (name);
  kiln_dataset_split_project_async (self->project, name, &spec, NULL, split_done_cb, call);
}

/* ---- The mean's images and the preview ----------------------------------- */

static void
update_images (KilnDatasetPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelSet) set = NULL;
  g_autofree char *selected = g_strdup (self->preview_path);
  guint position = 0;

  gtk_string_list_splice (self->images, 0, g_list_model_get_n_items (G_LIST_MODEL (self->images)), NULL);
  if (self->project != NULL)
    set = kiln_dataset_mean_images (self->project, NULL, NULL, &error);
  if (set != NULL)
    {
      g_ptr_array_add (set->paths, NULL);
      gtk_string_list_splice (self->images, 0, 0, (const char * const *) set->paths->pdata);
      g_ptr_array_set_size (set->paths, set->paths->len - 1);
      if (selected == NULL || !g_ptr_array_find_with_equal_func (set->paths, selected, g_str_equal, &position))
        position = 0;
      {
        g_autofree char *count = format_images (set->paths->len);
        /* TRANSLATORS: the heading of the list of images the mean averages */
        g_autofree char *text = g_strdup_printf (_("Training images: %s"), count);
        gtk_label_set_text (self->images_label, text);
      }
    }
  else
    gtk_label_set_text (self->images_label, error ? error->message : "");
  if (g_list_model_get_n_items (G_LIST_MODEL (self->images)) > 0)
    gtk_single_selection_set_selected (self->image_selection, position);
  update_preview (self);
}

static void
update_preview (KilnDatasetPage *self)
{
  g_autoptr(GError) error = NULL;
  GtkStringObject *item = gtk_single_selection_get_selected_item (self->image_selection);
  const float *mean = matching_mean (self);
  gboolean centered = gtk_switch_get_active (self->centered_switch) && mean != NULL;
  g_autofree char *absolute = NULL;
  g_autoptr(GdkPixbuf) before = NULL;
  g_autoptr(GdkPixbuf) after = NULL;
  KilnImageSpec spec;
  gsize n;
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;

  gtk_widget_set_sensitive (GTK_WIDGET (self->centered_switch), mean != NULL);
  g_clear_pointer (&self->preview, g_free);
  g_clear_pointer (&self->preview_path, g_free);
  gtk_picture_set_paintable (self->before_picture, NULL);
  gtk_picture_set_paintable (self->after_picture, NULL);
  gtk_label_set_text (self->tensor_label, "");
  if (self->project == NULL || item == NULL)
    return;

  kiln_dataset_page_get_spec (self, &spec);
  self->preview_path = g_strdup (gtk_string_object_get_string (item));
  absolute = kiln_project_build_path (self->project, self->preview_path);
  /* One image at the network's size decodes in milliseconds; the
   * training conversion itself, so the preview cannot differ from it. */
  self->preview = kiln_network_input_load (absolute, &spec, centered ? mean : NULL, 0, &error);
  if (self->preview == NULL)
    {
      gtk_label_set_text (self->tensor_label, error->message);
      return;
    }
  self->preview_spec = spec;
  /* A photo decodes reduced (JPEG draft mode): the picture is small. */
  before = kiln_image_load (absolute, &(KilnImageLoadOptions) { .min_side = 320 }, NULL, NULL);
  if (before != NULL)
    {
      g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (before);
      gtk_picture_set_paintable (self->before_picture, GDK_PAINTABLE (texture));
    }
  after = kiln_network_input_render (self->preview, &spec, centered ? mean : NULL, 0, centered);
  {
    g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (after);
    gtk_picture_set_paintable (self->after_picture, GDK_PAINTABLE (texture));
  }
  n = kiln_image_spec_size (&spec);
  for (gsize i = 0; i < n; i++)
    {
      lo = MIN (lo, self->preview[i]);
      hi = MAX (hi, self->preview[i]);
    }
  {
    /* TRANSLATORS: the network input's shape (channels × height × width) and value range */
    g_autofree char *text = g_strdup_printf (_("%s: %d × %d × %d float32, values %.3f to %.3f%s"),
                                             self->preview_path, spec.channels, spec.height, spec.width,
                                             lo, hi, centered ? _(", mean subtracted") : "");
    gtk_label_set_text (self->tensor_label, text);
  }
}

static void
selection_changed_cb (KilnDatasetPage *self)
{
  update_preview (self);
}

static void
preview_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  const char *path = g_variant_get_string (parameter, NULL);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->images));

  for (guint i = 0; i < n; i++)
    if (g_str_equal (gtk_string_list_get_string (self->images, i), path))
      {
        gtk_single_selection_set_selected (self->image_selection, i);
        update_preview (self);
        return;
      }
}

static void
spec_changed_cb (KilnDatasetPage *self)
{
  update_preview (self);
}

static void
setup_image_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_margin_start (label, 6);
  gtk_widget_set_margin_end (label, 6);
  gtk_list_item_set_child (item, label);
}

static void
bind_image_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkStringObject *path = gtk_list_item_get_item (item);

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), gtk_string_object_get_string (path));
}

/* ---- Mean ---------------------------------------------------------------- */

static void
show_mean (KilnDatasetPage *self)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  if (self->mean == NULL)
    {
      gtk_picture_set_paintable (self->mean_picture, NULL);
      gtk_label_set_text (self->mean_label, _("Not computed yet."));
      return;
    }
  pixbuf = kiln_image_from_f32 (self->mean->mean, self->mean->spec.channels, self->mean->spec.height,
                                self->mean->spec.width, NULL, 1.0f);
  {
    g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);
    gtk_picture_set_paintable (self->mean_picture, GDK_PAINTABLE (texture));
  }
  {
    g_autofree char *used = format_images (self->mean->used->paths->len);
    g_autofree char *text = NULL;

    if (self->mean->spec.channels == KILN_CHANNELS_RGB)
      /* TRANSLATORS: the mean image's per-channel means, 0…255 */
      text = g_strdup_printf (_("Mean of %s (%'u skipped), %d × %d; channel means R %.1f, G %.1f, B %.1f."),
                              used, self->mean->skipped->paths->len, self->mean->spec.width,
                              self->mean->spec.height, self->mean->channel_mean[0], self->mean->channel_mean[1],
                              self->mean->channel_mean[2]);
    else
      text = g_strdup_printf (_("Mean of %s (%'u skipped), %d × %d; gray mean %.1f."),
                              used, self->mean->skipped->paths->len, self->mean->spec.width,
                              self->mean->spec.height, self->mean->channel_mean[0]);
    gtk_label_set_text (self->mean_label, text);
  }
}

static void
mean_progress_changed_cb (KilnProgress *progress, KilnDatasetPage *self)
{
  KilnProgressSnapshot s;
  g_autofree char *text = NULL;

  if (progress != self->computing)
    return;
  kiln_progress_snapshot (progress, &s, NULL);
  text = kiln_progress_format (&s);
  gtk_progress_bar_set_text (self->mean_progress, text);
  gtk_progress_bar_set_fraction (self->mean_progress, s.total > 0 ? (double) s.done / s.total : 0.0);
}

typedef struct {
  KilnDatasetPage *self;   /* weak: NULL once the page is gone */
  KilnProgress *progress;
} MeanCall;

static void
mean_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  MeanCall *call = data;
  KilnDatasetPage *self = call->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnMeanImage) mean = kiln_dataset_compute_project_mean_finish (result, &error);

  if (self != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self), (gpointer *) &call->self);
  /* A page that moved on (another project, a newer Compute) keeps its own. */
  if (self != NULL && self->computing == call->progress)
    {
      g_clear_object (&self->computing);
      if (mean != NULL)
        {
          g_clear_pointer (&self->mean, kiln_mean_image_free);
          self->mean = g_steal_pointer (&mean);
          gtk_progress_bar_set_fraction (self->mean_progress, 1.0);
          gtk_progress_bar_set_text (self->mean_progress, _("Done"));
          show_mean (self);
          update_preview (self);
        }
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_progress_bar_set_text (self->mean_progress, _("Cancelled"));
      else
        {
          gtk_progress_bar_set_text (self->mean_progress, _("Failed"));
          show_toast (self, error->message);
        }
      update_actions (self);
    }
  g_object_unref (call->progress);
  g_free (call);
}

static void
compute_mean_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  MeanCall *call;
  KilnImageSpec spec;

  if (self->project == NULL || self->computing != NULL)
    return;
  kiln_dataset_page_get_spec (self, &spec);
  self->computing = kiln_progress_new ("mean");
  g_signal_connect_object (self->computing, "changed", G_CALLBACK (mean_progress_changed_cb), self, 0);
  gtk_progress_bar_set_fraction (self->mean_progress, 0.0);
  gtk_progress_bar_set_text (self->mean_progress, _("Starting…"));
  call = g_new0 (MeanCall, 1);
  call->self = self;
  call->progress = g_object_ref (self->computing);
  g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &call->self);
  kiln_dataset_compute_project_mean_async (self->project, NULL, NULL, &spec, self->computing, mean_done_cb, call);
  update_actions (self);
}

static void
cancel_mean_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);

  if (self->computing != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->computing));
}

/* ---- Class edits --------------------------------------------------------- */

static void
edit_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  KilnDatasetPage *self = data;   /* referenced by the call */
  g_autoptr(GError) error = NULL;
  guint n = 0;

  self->n_edits--;
  if (!kiln_project_edit_class_finish (KILN_PROJECT (source), result, &n, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_toast (self, error->message);
    }
  if (KILN_PROJECT (source) == self->project)
    {
      kiln_dataset_page_reload (self);
      g_signal_emit (self, signals[SIGNAL_CLASSES_CHANGED], 0);
    }
  update_actions (self);
  g_object_unref (self);
}

static void
edit_class (KilnDatasetPage *self, KilnClassEdit edit, const char *name, const char *target)
{
  if (self->project == NULL)
    return;
  self->n_edits++;
  update_actions (self);
  kiln_project_edit_class_async (self->project, edit, name, target, self->editing, edit_done_cb,
                                 g_object_ref (self));
}

static void
rename_class_to_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  const char *name, *target;

  g_variant_get (parameter, "(&s&s)", &name, &target);
  edit_class (KILN_DATASET_PAGE (widget), KILN_CLASS_EDIT_RENAME, name, target);
}

static void
merge_class_into_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  const char *name, *target;

  g_variant_get (parameter, "(&s&s)", &name, &target);
  edit_class (KILN_DATASET_PAGE (widget), KILN_CLASS_EDIT_MERGE, name, target);
}

static void
drop_class_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_autofree char *title = g_strdup_printf (_("Dropped %s"), name);
  g_autofree char *markup = g_markup_escape_text (title, -1);
  AdwToast *toast = adw_toast_new (markup);

  edit_class (self, KILN_CLASS_EDIT_DROP, name, NULL);
  /* Dropping is one click; undoing it must be one too. */
  adw_toast_set_button_label (toast, _("_Undo"));
  adw_toast_set_action_name (toast, "dataset.restore-class");
  adw_toast_set_action_target_value (toast, g_variant_new_string (name));
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
restore_class_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  edit_class (KILN_DATASET_PAGE (widget), KILN_CLASS_EDIT_RESTORE, g_variant_get_string (parameter, NULL), NULL);
}

/* The class a rename or merge dialog is about. */
static const char *
dialog_class (AdwMessageDialog *dialog)
{
  return g_object_get_data (G_OBJECT (dialog), "class-name");
}

static void
rename_response_cb (AdwMessageDialog *dialog, const char *response, KilnDatasetPage *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *target = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  if (g_str_equal (response, "rename") && *target != '\0')
    gtk_widget_activate_action (GTK_WIDGET (self), "dataset.rename-class-to", "(ss)", dialog_class (dialog), target);
}

static void
rename_entry_changed_cb (GtkEditable *entry, AdwMessageDialog *dialog)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  adw_message_dialog_set_response_enabled (dialog, "rename",
                                           *text != '\0' && !g_str_equal (text, dialog_class (dialog)));
}

static AdwMessageDialog *
class_dialog (KilnDatasetPage *self, const char *name, const char *heading, const char *body,
              const char *response, const char *label)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (
    adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, body));

  g_object_set_data_full (G_OBJECT (dialog), "class-name", g_strdup (name), g_free);
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), response, label, NULL);
  adw_message_dialog_set_response_appearance (dialog, response, ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, response);
  adw_message_dialog_set_close_response (dialog, "cancel");
  return dialog;
}

static void
rename_class_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_autofree char *heading = g_strdup_printf (_("Rename %s"), name);
  AdwMessageDialog *dialog = class_dialog (self, name, heading,
                                           _("Its folder under images/ is renamed too. Splits keep their images."),
                                           "rename", _("_Rename"));
  GtkWidget *entry = gtk_entry_new ();

  gtk_editable_set_text (GTK_EDITABLE (entry), name);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("New class name"), -1);
  adw_message_dialog_set_extra_child (dialog, entry);
  adw_message_dialog_set_response_enabled (dialog, "rename", FALSE);
  g_signal_connect (entry, "changed", G_CALLBACK (rename_entry_changed_cb), dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (rename_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
merge_response_cb (AdwMessageDialog *dialog, const char *response, KilnDatasetPage *self)
{
  GtkDropDown *drop_down = GTK_DROP_DOWN (adw_message_dialog_get_extra_child (dialog));
  GtkStringObject *target = gtk_drop_down_get_selected_item (drop_down);

  if (g_str_equal (response, "merge") && target != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "dataset.merge-class-into", "(ss)", dialog_class (dialog),
                                gtk_string_object_get_string (target));
}

static void
merge_class_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_auto(GStrv) names = self->project ? kiln_project_list_classes (self->project, NULL) : NULL;
  g_autoptr(GtkStringList) others = gtk_string_list_new (NULL);
  g_autofree char *heading = g_strdup_printf (_("Merge %s Into…"), name);
  AdwMessageDialog *dialog;
  GtkWidget *drop_down;

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    if (!g_str_equal (names[i], name))
      gtk_string_list_append (others, names[i]);
  dialog = class_dialog (self, name, heading,
                         _("Its images move into the chosen class's folder and it disappears."),
                         "merge", _("_Merge"));
  drop_down = gtk_drop_down_new (G_LIST_MODEL (g_object_ref (others)), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (drop_down), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Target class"), -1);
  adw_message_dialog_set_extra_child (dialog, drop_down);
  adw_message_dialog_set_response_enabled (dialog, "merge", g_list_model_get_n_items (G_LIST_MODEL (others)) > 0);
  g_signal_connect_object (dialog, "response", G_CALLBACK (merge_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Export -------------------------------------------------------------- */

static void
export_labels_to_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  const char *folder = g_variant_get_string (parameter, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *split = NULL;

  if (self->project == NULL)
    return;
  split = kiln_project_get_current_split (self->project, &error);
  if (error == NULL && kiln_project_export_labels (self->project, split, folder, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Label files written to %s"), folder);
      show_toast (self, text);
    }
  else
    show_toast (self, error->message);
}

static void
chooser_response_cb (GtkNativeDialog *chooser, int response, KilnDatasetPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        gtk_widget_activate_action (GTK_WIDGET (self), "dataset.export-labels-to", "s", path);
    }
  g_clear_object (&self->chooser);
}

static void
export_labels_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->project == NULL || self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Export Label Files"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- The page ------------------------------------------------------------ */

static void
update_actions (KilnDatasetPage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean has = self->project != NULL;
  gboolean editing = self->n_edits > 0;

  gtk_widget_action_set_enabled (widget, "dataset.rename-class", has && !editing);
  gtk_widget_action_set_enabled (widget, "dataset.rename-class-to", has && !editing);
  gtk_widget_action_set_enabled (widget, "dataset.merge-class", has && !editing);
  gtk_widget_action_set_enabled (widget, "dataset.merge-class-into", has && !editing);
  gtk_widget_action_set_enabled (widget, "dataset.drop-class", has && !editing);
  gtk_widget_action_set_enabled (widget, "dataset.restore-class", has && !editing);
  gtk_widget_action_set_enabled (widget, "dataset.apply-split", has && !editing && self->n_splits == 0);
  gtk_widget_action_set_enabled (widget, "dataset.compute-mean", has && self->computing == NULL);
  gtk_widget_action_set_enabled (widget, "dataset.cancel-mean", self->computing != NULL);
  gtk_widget_action_set_enabled (widget, "dataset.export-labels", has);
  gtk_widget_action_set_enabled (widget, "dataset.export-labels-to", has);
  gtk_widget_action_set_enabled (widget, "dataset.preview", has);
}

void
kiln_dataset_page_reload (KilnDatasetPage *self)
{
  g_return_if_fail (KILN_IS_DATASET_PAGE (self));

  update_classes (self);
  update_split (self);
  update_images (self);
}

void
kiln_dataset_page_set_project (KilnDatasetPage *self,
                               KilnProject     *project)
{
  g_return_if_fail (KILN_IS_DATASET_PAGE (self));

  if (self->project == project)
    return;
  if (self->computing != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->computing));
  g_clear_object (&self->computing);
  g_cancellable_cancel (self->editing);
  g_clear_object (&self->editing);
  self->editing = g_cancellable_new ();
  g_set_object (&self->project, project);
  g_clear_pointer (&self->mean, kiln_mean_image_free);
  g_clear_pointer (&self->preview_path, g_free);
  gtk_progress_bar_set_fraction (self->mean_progress, 0.0);
  gtk_progress_bar_set_text (self->mean_progress, "");
  gtk_stack_set_visible_child_name (self->stack, project ? "content" : "empty");
  show_mean (self);
  kiln_dataset_page_reload (self);
  update_actions (self);
}

KilnProject *
kiln_dataset_page_get_project (KilnDatasetPage *self)
{
  g_return_val_if_fail (KILN_IS_DATASET_PAGE (self), NULL);
  return self->project;
}

gboolean
kiln_dataset_page_is_busy (KilnDatasetPage *self)
{
  g_return_val_if_fail (KILN_IS_DATASET_PAGE (self), FALSE);
  return self->computing != NULL || self->n_edits > 0 || self->n_splits > 0;
}

const KilnMeanImage *
kiln_dataset_page_get_mean (KilnDatasetPage *self)
{
  g_return_val_if_fail (KILN_IS_DATASET_PAGE (self), NULL);
  return self->mean;
}

const float *
kiln_dataset_page_get_preview (KilnDatasetPage *self,
                               KilnImageSpec   *spec,
                               const char     **path)
{
  g_return_val_if_fail (KILN_IS_DATASET_PAGE (self), NULL);
  if (spec != NULL)
    *spec = self->preview_spec;
  if (path != NULL)
    *path = self->preview_path;
  return self->preview;
}

GtkWidget *
kiln_dataset_page_new (void)
{
  return g_object_new (KILN_TYPE_DATASET_PAGE, NULL);
}

/* Counts change when another page discards or relabels: read them again
 * whenever the page comes into view. */
static void
map_cb (KilnDatasetPage *self)
{
  if (self->project != NULL && self->n_edits == 0)
    {
      update_classes (self);
      update_split (self);
    }
}

static void
kiln_dataset_page_dispose (GObject *object)
{
  KilnDatasetPage *self = KILN_DATASET_PAGE (object);

  if (self->computing != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->computing));
  g_clear_object (&self->computing);
  if (self->editing != NULL)
    g_cancellable_cancel (self->editing);
  g_clear_object (&self->editing);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->project);
  g_clear_pointer (&self->mean, kiln_mean_image_free);
  g_clear_pointer (&self->preview, g_free);
  g_clear_pointer (&self->preview_path, g_free);
  g_clear_object (&self->image_selection);
  g_clear_object (&self->images);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_DATASET_PAGE);
  G_OBJECT_CLASS (kiln_dataset_page_parent_class)->dispose (object);
}

static void
kiln_dataset_page_class_init (KilnDatasetPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_dataset_page_dispose;

  signals[SIGNAL_CLASSES_CHANGED] = g_signal_new ("classes-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-dataset-page.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, KilnDatasetPage, name)
  CHILD (stack);
  CHILD (class_list);
  CHILD (split_name_row);
  CHILD (train_spin);
  CHILD (val_spin);
  CHILD (test_spin);
  CHILD (seed_spin);
  CHILD (stratified_switch);
  CHILD (apply_button);
  CHILD (split_summary);
  CHILD (split_list);
  CHILD (groups_label);
  CHILD (group_list);
  CHILD (width_spin);
  CHILD (height_spin);
  CHILD (channels_row);
  CHILD (resize_row);
  CHILD (centered_switch);
  CHILD (before_picture);
  CHILD (after_picture);
  CHILD (tensor_label);
  CHILD (compute_button);
  CHILD (mean_progress);
  CHILD (mean_picture);
  CHILD (images_label);
  CHILD (image_view);
  CHILD (mean_label);
#undef CHILD

  gtk_widget_class_install_action (widget_class, "dataset.rename-class", "s", rename_class_activated);
  gtk_widget_class_install_action (widget_class, "dataset.rename-class-to", "(ss)", rename_class_to_activated);
  gtk_widget_class_install_action (widget_class, "dataset.merge-class", "s", merge_class_activated);
  gtk_widget_class_install_action (widget_class, "dataset.merge-class-into", "(ss)", merge_class_into_activated);
  gtk_widget_class_install_action (widget_class, "dataset.drop-class", "s", drop_class_activated);
  gtk_widget_class_install_action (widget_class, "dataset.restore-class", "s", restore_class_activated);
  gtk_widget_class_install_action (widget_class, "dataset.apply-split", NULL, apply_split_activated);
  gtk_widget_class_install_action (widget_class, "dataset.compute-mean", NULL, compute_mean_activated);
  gtk_widget_class_install_action (widget_class, "dataset.cancel-mean", NULL, cancel_mean_activated);
  gtk_widget_class_install_action (widget_class, "dataset.export-labels", NULL, export_labels_activated);
  gtk_widget_class_install_action (widget_class, "dataset.export-labels-to", "s", export_labels_to_activated);
  gtk_widget_class_install_action (widget_class, "dataset.preview", "s", preview_activated);
}

static void
kiln_dataset_page_init (KilnDatasetPage *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  /* Not a bound template child: disposing the template would unparent it
   * before AdwBin does. */
  self->toast_overlay = ADW_TOAST_OVERLAY (adw_bin_get_child (ADW_BIN (self)));
  self->editing = g_cancellable_new ();
  self->images = gtk_string_list_new (NULL);
  self->image_selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->images)));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_image_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_image_cb), NULL);
  gtk_list_view_set_factory (self->image_view, factory);
  g_object_unref (factory);
  gtk_list_view_set_model (self->image_view, GTK_SELECTION_MODEL (self->image_selection));
  g_signal_connect_swapped (self->image_selection, "notify::selected", G_CALLBACK (selection_changed_cb), self);
  g_signal_connect_swapped (self->width_spin, "value-changed", G_CALLBACK (spec_changed_cb), self);
  g_signal_connect_swapped (self->height_spin, "value-changed", G_CALLBACK (spec_changed_cb), self);
  g_signal_connect_swapped (self->channels_row, "notify::selected", G_CALLBACK (spec_changed_cb), self);
  g_signal_connect_swapped (self->resize_row, "notify::selected", G_CALLBACK (spec_changed_cb), self);
  g_signal_connect_swapped (self->centered_switch, "notify::active", G_CALLBACK (spec_changed_cb), self);
  g_signal_connect (self, "map", G_CALLBACK (map_cb), NULL);
  show_mean (self);
  update_actions (self);
}
