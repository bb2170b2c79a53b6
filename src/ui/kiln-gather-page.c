#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-gather-page.h"
#include "kiln-gatherer.h"
#include "kiln-synsets.h"

/* Enough to scroll through; a longer list means the query needs a word more. */
#define MAX_RESULTS 500
/* The newest failures shown; `kiln-cli gather --report --failed` lists all. */
#define MAX_FAILURES_SHOWN 50

struct _KilnGatherPage
{
  AdwBin parent_instance;

  AdwLeaflet *leaflet;
  GtkStack *sidebar_stack;
  GtkListView *tree_list;
  AdwActionRow *hypernym_row;
  AdwPreferencesGroup *basket_group;
  AdwActionRow *subset_row;
  AdwActionRow *parallel_row;
  AdwPreferencesGroup *summary_group;
  AdwActionRow *kept_row;
  AdwActionRow *rejected_row;
  AdwActionRow *failed_row;
  AdwActionRow *skipped_row;
  AdwActionRow *over_limit_row;
  GtkSearchEntry *search_entry;
  GtkLabel *results_label;
  GtkListView *synset_list;
  AdwActionRow *target_row;
  AdwPreferencesGroup *synset_group;
  AdwActionRow *wnid_row;
  AdwActionRow *membership_row;
  AdwActionRow *subtree_row;
  AdwComboRow *source_row;
  AdwEntryRow *location_row;
  GtkSwitch *subset_switch;
  GtkSpinButton *limit_spin;
  GtkSpinButton *parallel_spin;
  GtkProgressBar *progress_bar;
  GtkLabel *status_label;
  AdwPreferencesGroup *failures_group;
  GPtrArray *failure_rows;      /* rows added to failures_group */
  guint outcomes_generation;    /* the failure list whose read is shown */

  KilnSynsets *synsets;
  GtkStringList *results;       /* wnids */
  GtkSingleSelection *selection;
  GtkTreeListModel *tree;       /* of GtkStringObject wnids, from "entity" down */
  GtkSingleSelection *tree_selection;
  char *chosen;                 /* the chosen synset's wnid, from either list */
  gboolean chosen_in_tree;      /* it was picked in the hierarchy */
  gboolean selecting;           /* the page itself is moving a selection */
  GtkStringList *basket;        /* wnids gathered one after another */
  GPtrArray *basket_rows;
  GPtrArray *pending;           /* wnids (NULL: none) left for this run */
  KilnGatherProgress totals;    /* over the basket's runs so far */
  char *step;                   /* "Synset 2 of 3, n…" while a basket runs */
  GFile *project_dir;
  KilnProject *project;         /* opened on the first run */
  KilnGatherer *gatherer;       /* the run in progress, or NULL */
  GCancellable *cancellable;
  GtkFileChooserNative *chooser;
};

enum { SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KilnGatherPage, kiln_gather_page, ADW_TYPE_BIN)

GtkWidget *
kiln_gather_page_new (void)
{
  return g_object_new (KILN_TYPE_GATHER_PAGE, NULL);
}

gboolean
kiln_gather_page_is_running (KilnGatherPage *self)
{
  g_return_val_if_fail (KILN_IS_GATHER_PAGE (self), FALSE);
  return self->gatherer != NULL;
}

const char *
kiln_gather_page_get_wnid (KilnGatherPage *self)
{
  g_return_val_if_fail (KILN_IS_GATHER_PAGE (self), NULL);
  return self->chosen;
}

GListModel *
kiln_gather_page_get_basket (KilnGatherPage *self)
{
  g_return_val_if_fail (KILN_IS_GATHER_PAGE (self), NULL);
  return G_LIST_MODEL (self->basket);
}

void
kiln_gather_page_focus_search (KilnGatherPage *self)
{
  g_return_if_fail (KILN_IS_GATHER_PAGE (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
  gtk_editable_select_region (GTK_EDITABLE (self->search_entry), 0, -1);
}

static void
set_status (KilnGatherPage *self, const char *text)
{
  gtk_label_set_text (self->status_label, text);
}

static guint
basket_find (KilnGatherPage *self, const char *wnid)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->basket));
  for (guint i = 0; wnid != NULL && i < n; i++)
    if (g_str_equal (gtk_string_list_get_string (self->basket, i), wnid))
      return i;
  return G_MAXUINT;
}

/* URL lists, the API and ImageNet archives name each image's synset; a
 * folder of images is one class, so the basket does not apply to it. */
static gboolean
source_takes_basket (KilnGatherSource source)
{
  return source != KILN_GATHER_FOLDER;
}

static void
update_actions (KilnGatherPage *self)
{
  gboolean running = self->gatherer != NULL;
  KilnGatherSource source = adw_combo_row_get_selected (self->source_row);
  guint index = self->chosen && self->synsets ? kiln_synsets_lookup (self->synsets, self->chosen) : KILN_SYNSET_NONE;
  guint n_parents = 0;

  if (index != KILN_SYNSET_NONE)
    kiln_synsets_get_parents (self->synsets, index, &n_parents);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.start", !running && self->project_dir != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.cancel", running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.choose", !running && source != KILN_GATHER_API);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.go-up", n_parents > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.reveal", index != KILN_SYNSET_NONE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.add-to-basket",
                                 !running && index != KILN_SYNSET_NONE && basket_find (self, self->chosen) == G_MAXUINT);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.clear-basket",
                                 !running && g_list_model_get_n_items (G_LIST_MODEL (self->basket)) > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "gather.remove-from-basket", !running);
}

/* ---- Browsing ------------------------------------------------------------ */

static gboolean
ensure_synsets (KilnGatherPage *self)
{
  g_autoptr(GError) error = NULL;

  if (self->synsets == NULL)
    self->synsets = kiln_synsets_get_default (&error);
  if (self->synsets == NULL)
    gtk_label_set_text (self->results_label, error->message);
  return self->synsets != NULL;
}

/* Decompressing and indexing the synsets takes about 0.1 s: done on a
 * thread as the page is made, so the first keystroke does not wait. */
static void
load_synsets_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  KilnSynsets *synsets = kiln_synsets_get_default (&error);

  if (synsets != NULL)
    g_task_return_pointer (task, synsets, g_object_unref);
  else
    g_task_return_error (task, error);
}

static void
load_synsets_done (GObject *source, GAsyncResult *result, gpointer data)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (source);
  g_autoptr(KilnSynsets) synsets = g_task_propagate_pointer (G_TASK (result), NULL);

  /* A search may have loaded them already; a failure is reported when one runs. */
  if (self->synsets == NULL && synsets != NULL)
    self->synsets = g_steal_pointer (&synsets);
}

static void
search_changed_cb (KilnGatherPage *self)
{
  g_autofree char *query = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search_entry))));
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->results));

  if (*query == '\0' || !ensure_synsets (self))
    {
      gtk_string_list_splice (self->results, 0, n_old, NULL);
      if (*query == '\0')
        gtk_label_set_text (self->results_label,
                            _("Type a word such as “cat”, or an ImageNet id such as n02121808."));
      return;
    }

  g_autoptr(GArray) found = kiln_synsets_search (self->synsets, query, MAX_RESULTS);
  g_autofree const char **wnids = g_new0 (const char *, found->len + 1);
  for (guint i = 0; i < found->len; i++)
    wnids[i] = kiln_synsets_get_wnid (self->synsets, g_array_index (found, guint, i));
  gtk_string_list_splice (self->results, 0, n_old, wnids);
  /* Nothing is chosen behind the user's back, except a wnid typed in full. */
  if (found->len > 0 && g_ascii_strcasecmp (wnids[0], query) == 0)
    gtk_single_selection_set_selected (self->selection, 0);

  g_autofree char *text = NULL;
  if (found->len == 0)
    text = g_strdup_printf (_("No synset matches “%s”."), query);
  else if (found->len >= MAX_RESULTS)
    text = g_strdup_printf (_("The first %u matches; type more to narrow them, or pick one."), found->len);
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u match; press Enter to choose it",
                                         "%u matches; pick one, or press Enter for the first", found->len),
                            found->len);
  gtk_label_set_text (self->results_label, text);
}

/* Enter in the search entry chooses the top hit. */
static void
search_activate_cb (KilnGatherPage *self)
{
  if (g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0)
    gtk_single_selection_set_selected (self->selection, 0);
}

static void
show_synset (KilnGatherPage *self)
{
  const char *wnid = kiln_gather_page_get_wnid (self);
  guint index = wnid && self->synsets ? kiln_synsets_lookup (self->synsets, wnid) : KILN_SYNSET_NONE;

  if (index == KILN_SYNSET_NONE)
    {
      adw_preferences_group_set_title (self->synset_group, _("No Synset Chosen"));
      adw_preferences_group_set_description (self->synset_group,
                                             _("Pick a synset to gather its images; a URL list or folder can "
                                               "also be gathered without one."));
      adw_action_row_set_subtitle (self->wnid_row, "—");
      adw_action_row_set_subtitle (self->membership_row, "—");
      adw_action_row_set_subtitle (self->subtree_row, "—");
      adw_action_row_set_subtitle (self->hypernym_row, "—");
      return;
    }

  const char * const *words = kiln_synsets_get_words (self->synsets, index);
  g_autofree char *also = words[0] && words[1] ? g_strjoinv (", ", (char **) words + 1) : NULL;
  g_autofree char *description = also
    ? g_strdup_printf (_("%s (also: %s)"), kiln_synsets_get_gloss (self->synsets, index), also)
    : g_strdup (kiln_synsets_get_gloss (self->synsets, index));
  /* The group's labels take markup; glosses hold “&” and “<”. */
  g_autofree char *title_markup = g_markup_escape_text (kiln_synsets_get_name (self->synsets, index), -1);
  g_autofree char *description_markup = g_markup_escape_text (description, -1);
  adw_preferences_group_set_title (self->synset_group, title_markup);
  adw_preferences_group_set_description (self->synset_group, description_markup);
  adw_action_row_set_subtitle (self->wnid_row, wnid);

  const char *membership;
  if (kiln_synsets_in_1k (self->synsets, index))
    membership = _("An ILSVRC-2012 class (ImageNet-1k), and in ImageNet-21k");
  else if (kiln_synsets_in_21k (self->synsets, index))
    membership = _("ImageNet-21k");
  else
    membership = _("No: the API has no images for it, though its hyponyms may");
  adw_action_row_set_subtitle (self->membership_row, membership);

  guint below = kiln_synsets_get_subtree_size (self->synsets, index, 0) - 1;
  guint below_21k = kiln_synsets_get_subtree_size (self->synsets, index, KILN_SYNSET_IN_21K);
  if (kiln_synsets_in_21k (self->synsets, index))
    below_21k--;
  g_autofree char *subtree = g_strdup_printf (_("%u synsets below it, %u of them in ImageNet-21k"), below, below_21k);
  adw_action_row_set_subtitle (self->subtree_row, subtree);

  guint n_parents = 0;
  const guint *parents = kiln_synsets_get_parents (self->synsets, index, &n_parents);
  g_autofree char *up = n_parents > 0
    ? g_strdup_printf ("%s · %s", kiln_synsets_get_name (self->synsets, parents[0]),
                       kiln_synsets_get_wnid (self->synsets, parents[0]))
    : g_strdup (_("None: this is the root of the hierarchy"));
  adw_action_row_set_subtitle (self->hypernym_row, up);
}

static void reveal_in_tree (KilnGatherPage *self, const char *wnid);

static void
set_chosen (KilnGatherPage *self, const char *wnid, gboolean in_tree)
{
  if (g_strcmp0 (self->chosen, wnid) != 0)
    {
      g_free (self->chosen);
      self->chosen = g_strdup (wnid);
    }
  self->chosen_in_tree = in_tree;
  show_synset (self);
  update_actions (self);
}

/* A pick in a list opens the synset's page when the sidebar is folded. */
static void
show_gather_side (KilnGatherPage *self)
{
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child_name (self->leaflet, "gather");
}

static void
selection_changed_cb (KilnGatherPage *self)
{
  GtkStringObject *item = gtk_single_selection_get_selected_item (self->selection);

  if (item != NULL)
    set_chosen (self, gtk_string_object_get_string (item), FALSE);
  else if (!self->chosen_in_tree)
    set_chosen (self, NULL, FALSE);   /* new results: nothing chosen behind the user's back */
}

static void
tree_selection_changed_cb (KilnGatherPage *self)
{
  GtkTreeListRow *row = gtk_single_selection_get_selected_item (self->tree_selection);
  GtkStringObject *item = row ? gtk_tree_list_row_get_item (row) : NULL;

  if (item != NULL)
    {
      set_chosen (self, gtk_string_object_get_string (item), TRUE);
      if (!self->selecting)
        show_gather_side (self);
    }
  g_clear_object (&item);
}

static void
list_activate_cb (KilnGatherPage *self, guint position)
{
  show_gather_side (self);
}

static int
compare_by_name (gconstpointer a, gconstpointer b, gpointer synsets)
{
  return g_utf8_collate (kiln_synsets_get_name (synsets, *(const guint *) a),
                         kiln_synsets_get_name (synsets, *(const guint *) b));
}

/* Hyponyms of a tree row, by name; NULL makes the row a leaf. */
static GListModel *
create_children_cb (gpointer item, gpointer data)
{
  KilnGatherPage *self = data;
  guint index = kiln_synsets_lookup (self->synsets, gtk_string_object_get_string (item));
  guint n = 0;
  const guint *children = kiln_synsets_get_children (self->synsets, index, &n);

  if (n == 0)
    return NULL;
  g_autofree guint *sorted = g_memdup2 (children, n * sizeof (guint));
  g_qsort_with_data (sorted, n, sizeof (guint), compare_by_name, self->synsets);
  GtkStringList *list = gtk_string_list_new (NULL);
  for (guint i = 0; i < n; i++)
    gtk_string_list_append (list, kiln_synsets_get_wnid (self->synsets, sorted[i]));
  return G_LIST_MODEL (list);
}

static gboolean
ensure_tree (KilnGatherPage *self)
{
  if (self->tree != NULL)
    return TRUE;
  if (!ensure_synsets (self))
    return FALSE;

  /* Every noun synset descends from "entity". */
  const char *roots[] = { "n00001740", NULL };
  GtkStringList *root = gtk_string_list_new (roots);
  self->tree = gtk_tree_list_model_new (G_LIST_MODEL (root), FALSE, FALSE, create_children_cb, self, NULL);
  self->tree_selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->tree)));
  gtk_single_selection_set_autoselect (self->tree_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->tree_selection, TRUE);
  g_signal_connect_swapped (self->tree_selection, "notify::selected-item",
                            G_CALLBACK (tree_selection_changed_cb), self);
  gtk_list_view_set_model (self->tree_list, GTK_SELECTION_MODEL (self->tree_selection));
  return TRUE;
}

/* The row at or after @from holding @wnid at @depth, or G_MAXUINT. */
static guint
find_tree_row (KilnGatherPage *self, guint from, const char *wnid, guint depth)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->tree));

  for (guint i = from; i < n; i++)
    {
      g_autoptr(GtkTreeListRow) row = g_list_model_get_item (G_LIST_MODEL (self->tree), i);
      guint row_depth = gtk_tree_list_row_get_depth (row);
      if (row_depth < depth)
        break;   /* left the parent's children */
      if (row_depth > depth)
        continue;
      g_autoptr(GtkStringObject) item = gtk_tree_list_row_get_item (row);
      if (g_str_equal (gtk_string_object_get_string (item), wnid))
        return i;
    }
  return G_MAXUINT;
}

/* Expands the hierarchy from the root down to @wnid (through first
 * hypernyms) and selects it. */
static void
reveal_in_tree (KilnGatherPage *self, const char *wnid)
{
  guint index = wnid && ensure_tree (self) ? kiln_synsets_lookup (self->synsets, wnid) : KILN_SYNSET_NONE;

  if (index == KILN_SYNSET_NONE)
    return;
  g_autoptr(GArray) path = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint at = index; at != KILN_SYNSET_NONE;)
    {
      guint n_parents = 0;
      const guint *parents = kiln_synsets_get_parents (self->synsets, at, &n_parents);
      g_array_prepend_val (path, at);
      at = n_parents > 0 ? parents[0] : KILN_SYNSET_NONE;
    }

  guint position = 0;
  for (guint depth = 0; depth < path->len; depth++)
    {
      const char *step = kiln_synsets_get_wnid (self->synsets, g_array_index (path, guint, depth));
      position = find_tree_row (self, depth == 0 ? 0 : position + 1, step, depth);
      if (position == G_MAXUINT)
        return;
      if (depth + 1 < path->len)
        {
          g_autoptr(GtkTreeListRow) row = g_list_model_get_item (G_LIST_MODEL (self->tree), position);
          gtk_tree_list_row_set_expanded (row, TRUE);
        }
    }
  self->selecting = TRUE;
  gtk_single_selection_set_selected (self->tree_selection, position);
  self->selecting = FALSE;
  gtk_widget_activate_action (GTK_WIDGET (self->tree_list), "list.scroll-to-item", "u", position);
}

static void
sidebar_view_changed_cb (KilnGatherPage *self)
{
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->sidebar_stack), "browse") == 0)
    {
      if (self->chosen != NULL)
        reveal_in_tree (self, self->chosen);
      else
        ensure_tree (self);
    }
}

static void
reveal_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);

  adw_leaflet_set_visible_child_name (self->leaflet, "synsets");
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->sidebar_stack), "browse") == 0)
    reveal_in_tree (self, self->chosen);
  else
    gtk_stack_set_visible_child_name (self->sidebar_stack, "browse");
}

/* To the first hypernym; the hierarchy follows when it is shown. */
static void
go_up_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);
  guint index = self->chosen && self->synsets ? kiln_synsets_lookup (self->synsets, self->chosen) : KILN_SYNSET_NONE;
  guint n_parents = 0;
  const guint *parents = index != KILN_SYNSET_NONE ? kiln_synsets_get_parents (self->synsets, index, &n_parents)
                                                   : NULL;

  if (n_parents == 0)
    return;
  set_chosen (self, kiln_synsets_get_wnid (self->synsets, parents[0]), TRUE);
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->sidebar_stack), "browse") == 0)
    reveal_in_tree (self, self->chosen);
}

static void
show_synsets_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);
  adw_leaflet_set_visible_child_name (self->leaflet, "synsets");
}

/* ---- Basket -------------------------------------------------------------- */

static void
show_basket (KilnGatherPage *self)
{
  KilnGatherSource source = adw_combo_row_get_selected (self->source_row);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->basket));

  for (guint i = 0; i < self->basket_rows->len; i++)
    adw_preferences_group_remove (self->basket_group, self->basket_rows->pdata[i]);
  g_ptr_array_set_size (self->basket_rows, 0);
  for (guint i = 0; i < n && ensure_synsets (self); i++)
    {
      const char *wnid = gtk_string_list_get_string (self->basket, i);
      guint index = kiln_synsets_lookup (self->synsets, wnid);
      const char *name = index != KILN_SYNSET_NONE ? kiln_synsets_get_name (self->synsets, index) : wnid;
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *remove = gtk_button_new_from_icon_name ("list-remove-symbolic");
      g_autofree char *remove_name = g_strdup_printf (_("Remove %s from the basket"), name);
      g_autofree char *subtitle = g_strdup_printf (_("%s · into images/%s/"), wnid, wnid);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_set_tooltip_text (remove, remove_name);
      gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL, remove_name, -1);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (remove), "gather.remove-from-basket");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (remove), "s", wnid);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
      adw_preferences_group_add (self->basket_group, row);
      g_ptr_array_add (self->basket_rows, row);
    }
  g_autofree char *description =
    source_takes_basket (source)
      ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Gather gathers this synset into its own class.",
                                      "Gather gathers these %u synsets one after another, each into its own class.",
                                      n), n)
      : g_strdup (_("A folder of images is gathered into one class: the basket waits for another source."));
  adw_preferences_group_set_description (self->basket_group, description);
  gtk_widget_set_visible (GTK_WIDGET (self->basket_group), n > 0);
  update_actions (self);
}

static void
add_to_basket_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);

  if (self->chosen == NULL || basket_find (self, self->chosen) != G_MAXUINT || self->gatherer != NULL)
    return;
  gtk_string_list_append (self->basket, self->chosen);
  show_basket (self);
}

static void
remove_from_basket_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);
  guint at = basket_find (self, g_variant_get_string (parameter, NULL));

  if (at == G_MAXUINT || self->gatherer != NULL)
    return;
  gtk_string_list_remove (self->basket, at);
  show_basket (self);
}

static void
clear_basket_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);

  if (self->gatherer != NULL)
    return;
  gtk_string_list_splice (self->basket, 0, g_list_model_get_n_items (G_LIST_MODEL (self->basket)), NULL);
  show_basket (self);
}

static GtkWidget *
make_row_box (void)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *detail = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_widget_add_css_class (detail, "caption");
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), detail);
  return box;
}

/* Words on the first line; the wnid and where it sits in ImageNet below. */
static void
fill_row_box (KilnGatherPage *self, GtkWidget *box, const char *wnid)
{
  GtkWidget *name = gtk_widget_get_first_child (box);
  GtkWidget *detail = gtk_widget_get_next_sibling (name);
  guint index = kiln_synsets_lookup (self->synsets, wnid);
  g_autofree char *words = g_strjoinv (", ", (char **) kiln_synsets_get_words (self->synsets, index));
  const char *where = kiln_synsets_in_1k (self->synsets, index) ? " · ILSVRC-2012"
                      : kiln_synsets_in_21k (self->synsets, index) ? " · ImageNet-21k" : "";
  g_autofree char *text = g_strdup_printf ("%s%s", wnid, where);

  gtk_label_set_text (GTK_LABEL (name), words);
  gtk_label_set_text (GTK_LABEL (detail), text);
}

static void
setup_row_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  gtk_list_item_set_child (item, make_row_box ());
}

static void
bind_row_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  fill_row_box (data, gtk_list_item_get_child (item), gtk_string_object_get_string (gtk_list_item_get_item (item)));
}

static void
setup_tree_row_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkWidget *expander = gtk_tree_expander_new ();

  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), make_row_box ());
  gtk_list_item_set_child (item, expander);
}

static void
bind_tree_row_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data)
{
  GtkTreeExpander *expander = GTK_TREE_EXPANDER (gtk_list_item_get_child (item));
  GtkTreeListRow *row = gtk_list_item_get_item (item);
  g_autoptr(GtkStringObject) wnid = gtk_tree_list_row_get_item (row);

  gtk_tree_expander_set_list_row (expander, row);
  fill_row_box (data, gtk_tree_expander_get_child (expander), gtk_string_object_get_string (wnid));
}

/* ---- Source -------------------------------------------------------------- */

static void
source_changed_cb (KilnGatherPage *self)
{
  KilnGatherSource source = adw_combo_row_get_selected (self->source_row);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->location_row));
  static const char *const titles[] = {
    [KILN_GATHER_URLS] = N_("URL list file (fall11_urls.txt form, or one URL a line)"),
    [KILN_GATHER_API] = N_("URL template ({wnid} becomes the synset)"),
    [KILN_GATHER_ARCHIVE] = N_("ImageNet training tar"),
    [KILN_GATHER_FOLDER] = N_("Folder of images"),
  };

  if (source > KILN_GATHER_FOLDER)
    return;
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->location_row), _(titles[source]));
  if (source == KILN_GATHER_API && *text == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->location_row), KILN_GATHER_DEFAULT_API);
  else if (source != KILN_GATHER_API && g_strcmp0 (text, KILN_GATHER_DEFAULT_API) == 0)
    gtk_editable_set_text (GTK_EDITABLE (self->location_row), "");
  /* Only what applies to the source is shown: a folder has no synsets and
   * nothing to download. */
  gtk_widget_set_visible (GTK_WIDGET (self->subset_row), source != KILN_GATHER_FOLDER);
  gtk_widget_set_visible (GTK_WIDGET (self->parallel_row), source == KILN_GATHER_URLS || source == KILN_GATHER_API);
  show_basket (self);
}

static void
chooser_response_cb (GtkNativeDialog *dialog, int response, gpointer data)
{
  KilnGatherPage *self = data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        gtk_editable_set_text (GTK_EDITABLE (self->location_row), path);
    }
  g_clear_object (&self->chooser);
}

static void
choose_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);
  KilnGatherSource source = adw_combo_row_get_selected (self->source_row);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (source == KILN_GATHER_FOLDER ? _("Choose a Folder of Images")
                                               : _("Choose a File"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               source == KILN_GATHER_FOLDER ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                               : GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Choose"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- Outcomes ------------------------------------------------------------ */

/* What a thread read of the project's failures: the store is opened and
 * queried off the main thread (SQLite may wait up to its busy timeout
 * while a kiln-cli run holds the store). */
typedef struct {
  char        *path;
  KilnProject *project;    /* in: the page's, if open; out: opened here */
  GPtrArray   *failed;     /* KilnDownloadRecord, newest first */
  gint64       total;      /* rejected + failed */
} Outcomes;

static void
outcomes_free (Outcomes *o)
{
  g_free (o->path);
  g_clear_object (&o->project);
  g_clear_pointer (&o->failed, g_ptr_array_unref);
  g_free (o);
}

static void
read_outcomes_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Outcomes *o = data;
  GError *error = NULL;
  gint64 counts[KILN_DOWNLOAD_N_OUTCOMES];

  /* A folder that is not a project yet stays untouched until a gather. */
  if (o->project == NULL && kiln_project_exists (o->path) &&
      (o->project = kiln_project_open (o->path, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (o->project != NULL &&
      ((o->failed = kiln_project_list_failed_downloads (o->project, NULL, MAX_FAILURES_SHOWN, &error)) == NULL ||
       !kiln_project_count_downloads (o->project, NULL, counts, &error)))
    {
      g_task_return_error (task, error);
      return;
    }
  if (o->project != NULL)
    o->total = counts[KILN_DOWNLOAD_REJECTED] + counts[KILN_DOWNLOAD_FAILED];
  g_task_return_boolean (task, TRUE);
}

static void
show_failures (KilnGatherPage *self, const Outcomes *o)
{
  for (guint i = 0; i < self->failure_rows->len; i++)
    adw_preferences_group_remove (self->failures_group, self->failure_rows->pdata[i]);
  g_ptr_array_set_size (self->failure_rows, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->failures_group), FALSE);
  if (o->failed == NULL || o->failed->len == 0)
    return;

  g_autofree char *description =
    o->total > o->failed->len
      ? g_strdup_printf (_("The newest %u of %lld; “kiln-cli gather --project DIR --report --failed” lists them all."),
                         o->failed->len, (long long) o->total)
      : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u URL will not be fetched again.",
                                      "%u URLs will not be fetched again.", o->failed->len), o->failed->len);
  adw_preferences_group_set_description (self->failures_group, description);

  for (guint i = 0; i < o->failed->len; i++)
    {
      const KilnDownloadRecord *r = o->failed->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *status = r->http_status > 0 ? g_strdup_printf ("HTTP %d · ", r->http_status) : g_strdup ("");
      g_autofree char *subtitle = g_strdup_printf ("%s · %s%s", kiln_download_outcome_to_string (r->outcome),
                                                   status, r->detail ? r->detail : "");

      /* URLs and server messages are text, not markup. */
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), r->url);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_preferences_group_add (self->failures_group, row);
      g_ptr_array_add (self->failure_rows, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->failures_group), TRUE);
}

static void
read_outcomes_done (GObject *source, GAsyncResult *result, gpointer data)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (source);
  Outcomes *o = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  /* A newer read (another project, another run) may have started. */
  if (GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "generation")) != self->outcomes_generation ||
      self->status_label == NULL)
    return;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *text = g_strdup_printf (_("The project's download outcomes could not be read: %s"),
                                               error->message);
      set_status (self, text);
      return;
    }
  if (self->project == NULL && o->project != NULL)
    self->project = g_object_ref (o->project);
  show_failures (self, o);
}

/* Reads the project's newest failures on a thread, then lists them. */
static void
refresh_failures (KilnGatherPage *self)
{
  Outcomes *o = g_new0 (Outcomes, 1);
  g_autoptr(GTask) task = g_task_new (self, NULL, read_outcomes_done, NULL);

  o->path = self->project_dir ? g_file_get_path (self->project_dir) : NULL;
  o->project = self->project ? g_object_ref (self->project) : NULL;
  g_task_set_source_tag (task, refresh_failures);
  g_task_set_task_data (task, o, (GDestroyNotify) outcomes_free);
  g_object_set_data (G_OBJECT (task), "generation", GUINT_TO_POINTER (++self->outcomes_generation));
  if (o->path == NULL)
    {
      Outcomes none = { 0 };
      show_failures (self, &none);
      return;
    }
  g_task_run_in_thread (task, read_outcomes_thread);
}

/* ---- Running ------------------------------------------------------------- */

static void
on_progress (KilnGatherer *gatherer, const KilnGatherProgress *p, gpointer data)
{
  KilnGatherPage *self = data;
  g_autofree char *line = kiln_gather_progress_format (p);
  g_autofree char *text = self->step ? g_strdup_printf ("%s · %s", self->step, line) : g_steal_pointer (&line);
  guint64 total = p->n_done + p->n_queued;

  set_status (self, text);
  if (p->source_done && total > 0)
    gtk_progress_bar_set_fraction (self->progress_bar, (double) p->n_done / (double) total);
  else
    gtk_progress_bar_pulse (self->progress_bar);
}

static void
add_progress (KilnGatherProgress *sum, const KilnGatherProgress *p)
{
  sum->n_kept += p->n_kept;
  sum->n_rejected += p->n_rejected;
  sum->n_failed += p->n_failed;
  sum->n_skipped += p->n_skipped;
  sum->n_over_limit += p->n_over_limit;
  for (guint r = 0; r < KILN_GATHER_N_REASONS; r++)
    sum->by_reason[r] += p->by_reason[r];
}

static void
set_count_row (AdwActionRow *row, guint64 n, const char *detail)
{
  g_autofree char *count = g_strdup_printf ("%'llu", (unsigned long long) n);
  g_autofree char *subtitle = detail && *detail ? g_strdup_printf ("%s · %s", count, detail) : g_strdup (count);
  adw_action_row_set_subtitle (row, subtitle);
}

/* What the run (every synset of the basket) did, a row per outcome. */
static void
show_summary (KilnGatherPage *self, const KilnGatherProgress *p)
{
  g_autofree char *reasons = kiln_gather_progress_format_reasons (p);

  set_count_row (self->kept_row, p->n_kept, NULL);
  set_count_row (self->rejected_row, p->n_rejected, NULL);
  set_count_row (self->failed_row, p->n_failed, NULL);
  set_count_row (self->skipped_row, p->n_skipped, NULL);
  set_count_row (self->over_limit_row, p->n_over_limit, NULL);
  if (*reasons)
    {
      g_autofree char *by = g_strdup_printf (_("%s · by reason: %s"), adw_action_row_get_subtitle (self->rejected_row),
                                             reasons);
      adw_action_row_set_subtitle (self->rejected_row, by);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->summary_group), TRUE);
}

static gboolean start_next (KilnGatherPage *self, GError **error);

static void
gather_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(KilnGatherPage) self = data;
  KilnGatherer *gatherer = KILN_GATHERER (source);
  g_autoptr(GError) error = NULL;
  KilnGatherProgress p;
  gboolean ok = kiln_gatherer_run_finish (gatherer, result, &error);

  kiln_gatherer_get_progress (gatherer, &p);
  g_signal_handlers_disconnect_by_data (gatherer, self);
  if (gatherer == self->gatherer)
    g_clear_object (&self->gatherer);

  /* The window closed while the run stopped: no widgets left to update. */
  if (self->status_label == NULL)
    {
      g_clear_object (&self->cancellable);
      return;
    }

  add_progress (&self->totals, &p);
  /* The basket's next synset, unless this one failed or Stop was pressed. */
  if (ok && self->pending->len > 0 && !g_cancellable_is_cancelled (self->cancellable) &&
      start_next (self, &error))
    return;
  ok = ok && error == NULL;
  g_clear_object (&self->cancellable);
  g_ptr_array_set_size (self->pending, 0);
  p = self->totals;

  g_autofree char *reasons = kiln_gather_progress_format_reasons (&p);
  g_autofree char *text = NULL;
  if (ok)
    text = g_strdup_printf (_("Done: kept %llu new images, rejected %llu, failed %llu, already done %llu, "
                              "over the limit %llu.%s%s%s"),
                            (unsigned long long) p.n_kept, (unsigned long long) p.n_rejected,
                            (unsigned long long) p.n_failed, (unsigned long long) p.n_skipped,
                            (unsigned long long) p.n_over_limit,
                            *reasons ? _(" By reason: ") : "", reasons, *reasons ? "." : "");
  else if (g_error_matches (error, KILN_ERROR, KILN_ERROR_CANCELLED))
    text = g_strdup_printf (_("Stopped after keeping %llu images. Nothing half-written was left; gather again "
                              "to resume where it stopped."), (unsigned long long) p.n_kept);
  else
    text = g_strdup_printf (_("Gathering failed: %s"), error->message);
  set_status (self, text);
  show_summary (self, &p);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  refresh_failures (self);
  update_actions (self);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

/* Starts the run for the first pending synset (NULL: none named). */
static gboolean
start_next (KilnGatherPage *self, GError **error)
{
  KilnGatherSource source = adw_combo_row_get_selected (self->source_row);
  g_autofree char *location = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->location_row))));
  g_autofree char *wnid = g_ptr_array_steal_index (self->pending, 0);
  g_autoptr(KilnGatherRequest) request = kiln_gather_request_new (source, *location ? location : NULL, wnid);

  request->subset = wnid != NULL && source != KILN_GATHER_FOLDER && gtk_switch_get_active (self->subset_switch);
  request->limit = (guint) gtk_spin_button_get_value_as_int (self->limit_spin);
  request->max_parallel = (guint) gtk_spin_button_get_value_as_int (self->parallel_spin);
  if (!kiln_gather_request_check (request, error))
    return FALSE;

  self->gatherer = kiln_gatherer_new (self->project);
  if (self->cancellable == NULL)
    self->cancellable = g_cancellable_new ();
  g_signal_connect (self->gatherer, "progress", G_CALLBACK (on_progress), self);
  kiln_gatherer_run_async (self->gatherer, request, self->cancellable, gather_done_cb, g_object_ref (self));

  guint n_basket = g_list_model_get_n_items (G_LIST_MODEL (self->basket));
  g_clear_pointer (&self->step, g_free);
  if (wnid != NULL && n_basket > 1 && source_takes_basket (source))
    self->step = g_strdup_printf (_("Synset %u of %u, %s"), n_basket - self->pending->len, n_basket, wnid);
  set_status (self, self->step ? self->step : _("Starting…"));
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  update_actions (self);
  return TRUE;
}

static void
start_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);
  KilnGatherSource source = adw_combo_row_get_selected (self->source_row);
  g_autofree char *location = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->location_row))));
  const char *wnid = kiln_gather_page_get_wnid (self);
  guint n_basket = g_list_model_get_n_items (G_LIST_MODEL (self->basket));
  gboolean use_basket = n_basket > 0 && source_takes_basket (source);
  g_autoptr(GError) error = NULL;

  if (self->gatherer != NULL)
    return;
  if (self->project_dir == NULL)
    {
      set_status (self, _("Open a project first: images are gathered into its images folder."));
      return;
    }
  if (source == KILN_GATHER_API && wnid == NULL && !use_basket)
    {
      set_status (self, _("Choose a synset first: the API is asked for one synset's image URLs."));
      return;
    }
  if (*location == '\0' && source != KILN_GATHER_API)
    {
      set_status (self, source == KILN_GATHER_FOLDER ? _("Choose the folder of images first.")
                                                     : _("Choose the file to gather from first."));
      return;
    }
  if (self->project == NULL)
    {
      g_autofree char *path = g_file_get_path (self->project_dir);
      self->project = path ? kiln_project_open (path, &error) : NULL;
      if (self->project == NULL)
        {
          g_autofree char *text = g_strdup_printf (_("The project could not be opened: %s"),
                                                   error ? error->message : _("it is not a local folder"));
          set_status (self, text);
          return;
        }
    }

  g_ptr_array_set_size (self->pending, 0);
  if (use_basket)
    for (guint i = 0; i < n_basket; i++)
      g_ptr_array_add (self->pending, g_strdup (gtk_string_list_get_string (self->basket, i)));
  else
    g_ptr_array_add (self->pending, g_strdup (wnid));
  memset (&self->totals, 0, sizeof self->totals);
  gtk_widget_set_visible (GTK_WIDGET (self->summary_group), FALSE);
  if (!start_next (self, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Gathering failed: %s"), error->message);
      g_ptr_array_set_size (self->pending, 0);
      set_status (self, text);
    }
}

static void
cancel_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);

  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      set_status (self, _("Stopping…"));
    }
}

/* Where images go, said before anything is gathered: only into a project
 * the user opened or made, never one that happened to be open. */
static void
show_target (KilnGatherPage *self)
{
  AdwPreferencesRow *row = ADW_PREFERENCES_ROW (self->target_row);

  if (self->project_dir == NULL)
    {
      adw_preferences_row_set_title (row, _("No Project Open"));
      adw_action_row_set_subtitle (self->target_row, _("Images are gathered into a project: make a new one or "
                                                       "open one first."));
      return;
    }
  g_autofree char *name = g_file_get_basename (self->project_dir);
  g_autofree char *display_name = g_filename_display_name (name);
  g_autofree char *where = g_file_get_parse_name (self->project_dir);
  g_autofree char *images = g_build_filename (where, "images", NULL);
  adw_preferences_row_set_title (row, display_name);
  adw_action_row_set_subtitle (self->target_row, images);
}

void
kiln_gather_page_set_project (KilnGatherPage *self, GFile *folder)
{
  g_return_if_fail (KILN_IS_GATHER_PAGE (self));
  g_return_if_fail (folder == NULL || G_IS_FILE (folder));

  if (self->project_dir != NULL && folder != NULL && g_file_equal (self->project_dir, folder))
    return;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_set_object (&self->project_dir, folder);
  g_clear_object (&self->project);
  show_target (self);
  update_actions (self);

  /* A folder that already is a project shows its past failures. */
  refresh_failures (self);
}

/* ---- Object -------------------------------------------------------------- */

/* Leaving the window (it closed) stops the run. */
static void
kiln_gather_page_unroot (GtkWidget *widget)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (widget);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  GTK_WIDGET_CLASS (kiln_gather_page_parent_class)->unroot (widget);
}

static void
kiln_gather_page_dispose (GObject *object)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (object);

  /* A run in progress holds a reference to the page until it ends. */
  if (self->gatherer != NULL)
    g_signal_handlers_disconnect_by_data (self->gatherer, self);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_GATHER_PAGE);
  G_OBJECT_CLASS (kiln_gather_page_parent_class)->dispose (object);
}

static void
kiln_gather_page_finalize (GObject *object)
{
  KilnGatherPage *self = KILN_GATHER_PAGE (object);

  g_clear_object (&self->gatherer);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->project);
  g_clear_object (&self->project_dir);
  g_signal_handlers_disconnect_by_data (self->selection, self);
  g_clear_object (&self->selection);
  g_clear_object (&self->synsets);
  g_clear_pointer (&self->failure_rows, g_ptr_array_unref);
  if (self->tree_selection != NULL)
    g_signal_handlers_disconnect_by_data (self->tree_selection, self);
  g_clear_object (&self->tree_selection);
  g_clear_object (&self->tree);
  g_clear_object (&self->basket);
  g_clear_pointer (&self->basket_rows, g_ptr_array_unref);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  g_free (self->chosen);
  g_free (self->step);
  G_OBJECT_CLASS (kiln_gather_page_parent_class)->finalize (object);
}

static void
kiln_gather_page_class_init (KilnGatherPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_gather_page_dispose;
  object_class->finalize = kiln_gather_page_finalize;
  widget_class->unroot = kiln_gather_page_unroot;

  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-gather-page.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, tree_list);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, hypernym_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, basket_group);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, subset_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, parallel_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, summary_group);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, kept_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, rejected_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, failed_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, skipped_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, over_limit_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, results_label);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, synset_list);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, target_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, synset_group);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, wnid_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, membership_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, subtree_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, source_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, location_row);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, subset_switch);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, limit_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, parallel_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, KilnGatherPage, failures_group);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, source_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, sidebar_view_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, list_activate_cb);

  gtk_widget_class_install_action (widget_class, "gather.start", NULL, start_activated);
  gtk_widget_class_install_action (widget_class, "gather.cancel", NULL, cancel_activated);
  gtk_widget_class_install_action (widget_class, "gather.choose", NULL, choose_activated);
  gtk_widget_class_install_action (widget_class, "gather.go-up", NULL, go_up_activated);
  gtk_widget_class_install_action (widget_class, "gather.reveal", NULL, reveal_activated);
  gtk_widget_class_install_action (widget_class, "gather.show-synsets", NULL, show_synsets_activated);
  gtk_widget_class_install_action (widget_class, "gather.add-to-basket", NULL, add_to_basket_activated);
  gtk_widget_class_install_action (widget_class, "gather.remove-from-basket", "s", remove_from_basket_activated);
  gtk_widget_class_install_action (widget_class, "gather.clear-basket", NULL, clear_basket_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_ALT_MASK, "gather.go-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_b, GDK_CONTROL_MASK, "gather.add-to-basket", NULL);
}

/* The spin follows the preference when the page shows after it changed;
 * a value typed here holds until then. */
static void
mapped_cb (KilnGatherPage *self)
{
  g_autoptr(KilnGatherRequest) defaults = kiln_gather_request_new (KILN_GATHER_URLS, NULL, NULL);
  guint seen = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), "parallel-default"));

  if (defaults->max_parallel != seen)
    gtk_spin_button_set_value (self->parallel_spin, defaults->max_parallel);
  g_object_set_data (G_OBJECT (self), "parallel-default", GUINT_TO_POINTER (defaults->max_parallel));
}

static void
kiln_gather_page_init (KilnGatherPage *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  /* The bin's own child: binding it too would unparent it twice. */
  self->leaflet = ADW_LEAFLET (adw_bin_get_child (ADW_BIN (self)));
  self->failure_rows = g_ptr_array_new ();
  self->basket = gtk_string_list_new (NULL);
  self->basket_rows = g_ptr_array_new ();
  self->pending = g_ptr_array_new_with_free_func (g_free);

  GtkListItemFactory *tree_factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (tree_factory, "setup", G_CALLBACK (setup_tree_row_cb), self);
  g_signal_connect (tree_factory, "bind", G_CALLBACK (bind_tree_row_cb), self);
  gtk_list_view_set_factory (self->tree_list, tree_factory);
  g_object_unref (tree_factory);

  self->results = gtk_string_list_new (NULL);
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->results));  /* takes results */
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_swapped (self->selection, "notify::selected-item", G_CALLBACK (selection_changed_cb), self);
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), self);
  gtk_list_view_set_model (self->synset_list, GTK_SELECTION_MODEL (self->selection));
  gtk_list_view_set_factory (self->synset_list, factory);
  g_object_unref (factory);

  g_autoptr(GTask) load = g_task_new (self, NULL, load_synsets_done, NULL);
  g_task_set_source_tag (load, kiln_gather_page_init);
  g_task_run_in_thread (load, load_synsets_thread);

  /* Typing anywhere on the page searches. */
  gtk_search_entry_set_key_capture_widget (self->search_entry, GTK_WIDGET (self));
  source_changed_cb (self);
  show_target (self);
  g_signal_connect (self, "map", G_CALLBACK (mapped_cb), NULL);
  update_actions (self);
}
