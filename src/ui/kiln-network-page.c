/* kiln-network-page.c: the layer-size calculator page (see
 * kiln-network-page.h). Every number on it comes from KilnNetCalc; the page
 * turns edits into actions and the calculator's rows into cells. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-net-diagram.h"
#include "kiln-network-page.h"
#include "kiln-preset-names.h"

struct _KilnNetworkPage
{
  AdwBin parent_instance;

  AdwComboRow *net_row;
  GtkStringList *net_names;    /* the presets, then an opened file */
  AdwActionRow *size_row;
  GtkSpinButton *size_spin;
  GtkSpinButton *channels_spin;
  AdwExpanderRow *compare_row;
  GtkSpinButton *compare_spin;
  GtkLabel *notice_label;
  GtkWidget *problem_box;
  GtkLabel *problem_label;
  GtkFlowBox *fixes_box;
  GtkLabel *downstream_label;
  GtkLabel *summary_label;
  GtkLabel *compare_label;
  GtkLabel *compare_error_label;
  KilnNetDiagram *diagram;
  GtkColumnView *layer_view;
  GtkColumnViewColumn *compare_column;

  KilnNetCalc *calc;
  gboolean syncing;            /* widgets are being set from the calculator */
  GCancellable *cancellable;   /* a file being read */
  GtkFileChooserNative *chooser;
};

enum { SIGNAL_LOADED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KilnNetworkPage, kiln_network_page, ADW_TYPE_BIN)

/* The columns of the layer table. */
typedef enum {
  COL_NAME,
  COL_TYPE,
  COL_K,
  COL_F,
  COL_S,
  COL_P,
  COL_OUTPUT,
  COL_COMPARE,
  COL_PARAMS,
  COL_MACS,
  N_COLUMNS
} Column;

/* Each cell's box is named after its column (for the inspector and tests:
 * a hidden column has no cells, so positions shift). */
static const struct {
  const char *id;
  const char *title;
  const char *tooltip;
} column_info[N_COLUMNS] = {
  [COL_NAME] = { "layer", N_("Layer"), NULL },
  [COL_TYPE] = { "type", N_("Type"), NULL },
  [COL_K] = { "k", "K", N_("Filters or outputs") },
  [COL_F] = { "f", "F", N_("Kernel size") },
  [COL_S] = { "s", "S", N_("Stride") },
  [COL_P] = { "p", "P", N_("Padding") },
  [COL_OUTPUT] = { "output", N_("Output W × H × D"), NULL },
  [COL_COMPARE] = { "compare", N_("At Second Size"), NULL },
  [COL_PARAMS] = { "params", N_("Parameters"), NULL },
  [COL_MACS] = { "macs", N_("Multiply-Adds"), NULL },
};

/* The pooling choices a type cell offers: type and rounding together. */
static const struct { KilnLayerType type; KilnRounding rounding; const char *label; } pool_choices[] = {
  { KILN_LAYER_MAX_POOL, KILN_ROUND_CEIL, N_("MaxPool · ceil") },
  { KILN_LAYER_MAX_POOL, KILN_ROUND_FLOOR, N_("MaxPool · floor") },
  { KILN_LAYER_AVG_POOL, KILN_ROUND_CEIL, N_("AvgPool · ceil") },
  { KILN_LAYER_AVG_POOL, KILN_ROUND_FLOOR, N_("AvgPool · floor") },
};

GtkWidget *
kiln_network_page_new (void)
{
  return g_object_new (KILN_TYPE_NETWORK_PAGE, NULL);
}

KilnNetCalc *
kiln_network_page_get_calc (KilnNetworkPage *self)
{
  g_return_val_if_fail (KILN_IS_NETWORK_PAGE (self), NULL);
  return self->calc;
}

static guint
n_presets (void)
{
  return g_strv_length ((char **) kiln_net_spec_list_presets ());
}

static void
show_notice (KilnNetworkPage *self,
             const char      *text)
{
  gtk_label_set_text (self->notice_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->notice_label), text != NULL);
}

/* "with floor pooling, …" reads as a sentence on its own line. */
static char *
sentence (const char *text)
{
  gunichar first = g_utf8_get_char (text);
  char buffer[8];
  int length = g_unichar_to_utf8 (g_unichar_totitle (first), buffer);

  return g_strdup_printf ("%.*s%s", length, buffer, g_utf8_next_char (text));
}

/* ---- Cells ---------------------------------------------------------------- */

static KilnCalcParam
column_param (Column column)
{
  switch (column)
    {
    case COL_K:
      return KILN_CALC_PARAM_OUTPUTS;
    case COL_F:
      return KILN_CALC_PARAM_KERNEL;
    case COL_S:
      return KILN_CALC_PARAM_STRIDE;
    case COL_P:
    default:
      return KILN_CALC_PARAM_PAD;
    }
}

/* A row's current value of a K/F/S/P column, and how it reads when its
 * sides differ ("1/2": top and left 1, bottom and right 2). */
static int
row_value (KilnCalcRow *row,
           Column       column,
           char       **text)
{
  int a, b, c, d;

  *text = NULL;
  switch (column)
    {
    case COL_K:
      return kiln_calc_row_get_outputs (row);
    case COL_F:
      kiln_calc_row_get_kernel (row, &a, &b);
      break;
    case COL_S:
      kiln_calc_row_get_stride (row, &a, &b);
      break;
    case COL_P:
    default:
      kiln_calc_row_get_pads (row, &a, &b, &c, &d);
      if (a == b && c == d && a != c)
        *text = g_strdup_printf ("%d/%d", a, c);
      else if (a != b || a != c || a != d)
        *text = g_strdup_printf ("%d,%d,%d,%d", a, b, c, d);
      return a;
    }
  if (a != b)
    *text = g_strdup_printf ("%d×%d", a, b);
  return a;
}

static gboolean
row_is_bad (KilnCalcRow *row)
{
  KilnCalcFit fit = row ? kiln_calc_row_get_fit (row) : KILN_CALC_FIT_WHOLE;
  return fit == KILN_CALC_FIT_MISMATCH || fit == KILN_CALC_FIT_FAILED;
}

static char *
row_tooltip (KilnCalcRow *row)
{
  const char *arithmetic = kiln_calc_row_get_arithmetic (row);
  const char *message = kiln_calc_row_get_message (row);

  if (arithmetic && message && !g_str_has_prefix (message, arithmetic))
    return g_strdup_printf ("%s\n%s", arithmetic, message);
  return g_strdup (message ? message : arithmetic);
}

static Column
cell_column (GtkListItem *item)
{
  return GPOINTER_TO_INT (g_object_get_data (G_OBJECT (item), "kiln-column"));
}

static void spin_changed_cb (GtkSpinButton *spin, GtkListItem *item);
static void pool_choice_cb (GtkDropDown *drop, GParamSpec *pspec, GtkListItem *item);

static void
refresh_cell (GtkListItem *item)
{
  KilnCalcRow *row = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *label = g_object_get_data (G_OBJECT (item), "kiln-label");
  GtkWidget *editor = g_object_get_data (G_OBJECT (item), "kiln-editor");
  Column column = cell_column (item);
  g_autofree char *text = NULL, *tooltip = NULL;
  gboolean edit = FALSE;

  if (row == NULL || box == NULL)
    return;

  if (row_is_bad (row))
    gtk_widget_add_css_class (box, "calc-mismatch");
  else
    gtk_widget_remove_css_class (box, "calc-mismatch");
  if (kiln_calc_row_get_changed (row))
    gtk_widget_add_css_class (box, "calc-changed");
  else
    gtk_widget_remove_css_class (box, "calc-changed");

  switch (column)
    {
    case COL_NAME:
      text = g_strdup (kiln_calc_row_get_name (row));
      tooltip = g_strdup (kiln_calc_row_get_message (row));
      break;

    case COL_TYPE:
      {
        KilnLayerType type = kiln_calc_row_get_layer_type (row);
        edit = type == KILN_LAYER_MAX_POOL || type == KILN_LAYER_AVG_POOL;
        text = g_strdup (kiln_layer_type_to_string (type));
        for (guint i = 0; edit && i < G_N_ELEMENTS (pool_choices); i++)
          if (pool_choices[i].type == type && pool_choices[i].rounding == kiln_calc_row_get_rounding (row))
            {
              g_signal_handlers_block_by_func (editor, pool_choice_cb, item);
              gtk_drop_down_set_selected (GTK_DROP_DOWN (editor), i);
              g_signal_handlers_unblock_by_func (editor, pool_choice_cb, item);
            }
        break;
      }

    case COL_K:
    case COL_F:
    case COL_S:
    case COL_P:
      {
        g_autofree char *sides = NULL;
        int value = row_value (row, column, &sides);

        edit = kiln_calc_row_param_applies (row, column_param (column));
        text = g_strdup ("—");
        if (edit)
          {
            g_autofree char *shown = sides ? g_strdup (sides) : g_strdup_printf ("%d", value);
            g_signal_handlers_block_by_func (editor, spin_changed_cb, item);
            gtk_spin_button_set_value (GTK_SPIN_BUTTON (editor), value);
            /* Set even when the value stayed: the other sides may have changed. */
            gtk_editable_set_text (GTK_EDITABLE (editor), shown);
            g_signal_handlers_unblock_by_func (editor, spin_changed_cb, item);
            tooltip = sides ? g_strdup_printf (_("%s; a new value sets every side"), sides) : NULL;
          }
        break;
      }

    case COL_OUTPUT:
      text = kiln_calc_row_format_output (row);
      tooltip = row_tooltip (row);
      if (kiln_calc_row_get_fit (row) == KILN_CALC_FIT_ROUNDED)
        gtk_widget_add_css_class (label, "calc-rounded");
      else
        gtk_widget_remove_css_class (label, "calc-rounded");
      break;

    case COL_COMPARE:
      {
        KilnCalcRow *other = kiln_calc_row_get_compare (row);
        text = other ? kiln_calc_row_format_output (other) : g_strdup ("");
        tooltip = other ? row_tooltip (other) : NULL;
        if (row_is_bad (other))
          gtk_widget_add_css_class (label, "calc-mismatch-text");
        else
          gtk_widget_remove_css_class (label, "calc-mismatch-text");
        break;
      }

    case COL_PARAMS:
      text = kiln_format_count (kiln_calc_row_get_params (row));
      break;

    case COL_MACS:
    case N_COLUMNS:
    default:
      text = kiln_format_count (kiln_calc_row_get_macs (row));
      break;
    }

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_widget_set_visible (label, !edit);
  if (editor)
    gtk_widget_set_visible (editor, edit);
  gtk_widget_set_tooltip_text (box, tooltip);
}

static void
row_notify_cb (KilnCalcRow *row,
               GParamSpec  *pspec,
               GtkListItem *item)
{
  refresh_cell (item);
}

static void
spin_changed_cb (GtkSpinButton *spin,
                 GtkListItem   *item)
{
  KilnCalcRow *row = gtk_list_item_get_item (item);
  g_autofree char *sides = NULL;
  int value = gtk_spin_button_get_value_as_int (spin);

  if (row == NULL || value == row_value (row, cell_column (item), &sides))
    return;
  gtk_widget_activate_action (GTK_WIDGET (spin), "network.set-param", "(uii)",
                              kiln_calc_row_get_index (row), (int) column_param (cell_column (item)), value);
  /* A refused value leaves the row as it was: show it again. */
  refresh_cell (item);
}

/* "1/2" for pads that differ, "11×5" for a kernel that is not square. */
static gboolean
spin_output_cb (GtkSpinButton *spin,
                GtkListItem   *item)
{
  KilnCalcRow *row = gtk_list_item_get_item (item);
  g_autofree char *sides = NULL;

  if (row == NULL || row_value (row, cell_column (item), &sides) != gtk_spin_button_get_value_as_int (spin)
      || sides == NULL)
    return FALSE;
  gtk_editable_set_text (GTK_EDITABLE (spin), sides);
  return TRUE;
}

static void
pool_choice_cb (GtkDropDown *drop,
                GParamSpec  *pspec,
                GtkListItem *item)
{
  KilnCalcRow *row = gtk_list_item_get_item (item);
  guint i = gtk_drop_down_get_selected (drop);

  if (row == NULL || i >= G_N_ELEMENTS (pool_choices))
    return;
  if (pool_choices[i].type != kiln_calc_row_get_layer_type (row))
    gtk_widget_activate_action (GTK_WIDGET (drop), "network.set-param", "(uii)", kiln_calc_row_get_index (row),
                                (int) KILN_CALC_PARAM_TYPE, (int) pool_choices[i].type);
  if (pool_choices[i].rounding != kiln_calc_row_get_rounding (row))
    gtk_widget_activate_action (GTK_WIDGET (drop), "network.set-param", "(uii)", kiln_calc_row_get_index (row),
                                (int) KILN_CALC_PARAM_ROUNDING, (int) pool_choices[i].rounding);
}

static void
setup_cell (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            gpointer                  data)
{
  Column column = GPOINTER_TO_INT (data);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *editor = NULL;
  gboolean numeric = column >= COL_K && column != COL_OUTPUT && column != COL_COMPARE;

  gtk_widget_add_css_class (box, "calc-cell");
  gtk_widget_set_name (box, column_info[column].id);
  gtk_label_set_xalign (GTK_LABEL (label), numeric ? 1.0 : 0.0);
  gtk_widget_set_hexpand (label, TRUE);
  if (numeric || column == COL_OUTPUT || column == COL_COMPARE)
    gtk_widget_add_css_class (label, "numeric");
  gtk_box_append (GTK_BOX (box), label);

  if (column == COL_TYPE)
    {
      g_autoptr(GtkStringList) choices = gtk_string_list_new (NULL);
      for (guint i = 0; i < G_N_ELEMENTS (pool_choices); i++)
        gtk_string_list_append (choices, _(pool_choices[i].label));
      editor = gtk_drop_down_new (G_LIST_MODEL (g_steal_pointer (&choices)), NULL);
      gtk_widget_add_css_class (editor, "flat");
      gtk_accessible_update_property (GTK_ACCESSIBLE (editor), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Pooling type and rounding"), -1);
      g_signal_connect (editor, "notify::selected", G_CALLBACK (pool_choice_cb), item);
    }
  else if (column >= COL_K && column <= COL_P)
    {
      int lower = column == COL_P ? 0 : 1;
      editor = gtk_spin_button_new_with_range (lower, column == COL_K ? 1 << 20 : 4096, 1);
      /* Not numeric: "1/2" must show for pads that differ. */
      gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (editor), FALSE);
      gtk_editable_set_width_chars (GTK_EDITABLE (editor), column == COL_K ? 5 : 3);
      gtk_widget_set_halign (editor, GTK_ALIGN_END);
      gtk_widget_set_hexpand (editor, TRUE);
      gtk_accessible_update_property (GTK_ACCESSIBLE (editor), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _(column_info[column].tooltip), -1);
      g_signal_connect (editor, "value-changed", G_CALLBACK (spin_changed_cb), item);
      g_signal_connect (editor, "output", G_CALLBACK (spin_output_cb), item);
    }
  if (editor)
    {
      gtk_widget_set_visible (editor, FALSE);
      gtk_box_append (GTK_BOX (box), editor);
    }
  g_object_set_data (G_OBJECT (item), "kiln-column", data);
  g_object_set_data (G_OBJECT (item), "kiln-label", label);
  g_object_set_data (G_OBJECT (item), "kiln-editor", editor);
  gtk_list_item_set_child (item, box);
}

static void
bind_cell (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  data)
{
  KilnCalcRow *row = gtk_list_item_get_item (item);

  g_signal_connect (row, "notify", G_CALLBACK (row_notify_cb), item);
  refresh_cell (item);
}

static void
unbind_cell (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             gpointer                  data)
{
  KilnCalcRow *row = gtk_list_item_get_item (item);

  if (row != NULL)
    g_signal_handlers_disconnect_by_func (row, row_notify_cb, item);
}

static void
add_columns (KilnNetworkPage *self)
{
  for (int column = 0; column < N_COLUMNS; column++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      const char *title = column >= COL_K && column <= COL_P ? column_info[column].title
                                                              : _(column_info[column].title);
      g_autoptr(GtkColumnViewColumn) view_column = NULL;

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), GINT_TO_POINTER (column));
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), GINT_TO_POINTER (column));
      g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cell), GINT_TO_POINTER (column));
      view_column = gtk_column_view_column_new (title, factory);
      gtk_column_view_column_set_resizable (view_column, TRUE);
      if (column == COL_COMPARE)
        {
          self->compare_column = view_column;
          gtk_column_view_column_set_visible (view_column, FALSE);
        }
      gtk_column_view_append_column (self->layer_view, view_column);
    }
}

/* ---- The calculator's state on the page ---------------------------------- */

static void
clear_fixes (KilnNetworkPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->fixes_box))) != NULL)
    gtk_flow_box_remove (self->fixes_box, child);
}

static void
show_problem (KilnNetworkPage *self)
{
  int problem = kiln_net_calc_get_first_problem (self->calc);
  const char *error = kiln_net_calc_get_error (self->calc);
  const char *downstream = kiln_net_calc_get_downstream (self->calc);

  clear_fixes (self);
  gtk_widget_set_visible (self->problem_box, problem >= 0 && error != NULL);
  if (problem < 0 || error == NULL)
    return;

  KilnCalcRow *row = kiln_net_calc_get_row (self->calc, problem);
  GPtrArray *fixes = kiln_calc_row_get_fixes (row);

  gtk_label_set_text (self->problem_label, error);
  for (guint i = 0; i < fixes->len; i++)
    {
      const KilnCalcFix *fix = fixes->pdata[i];
      GtkWidget *button = gtk_button_new_with_label (fix->label);
      GtkWidget *label = gtk_button_get_child (GTK_BUTTON (button));

      /* Long pad fixes wrap on a phone instead of widening the page. */
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);

      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "network.apply-fix");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "(uu)", (guint) problem, i);
      if (i == 0)
        gtk_widget_add_css_class (button, "suggested-action");
      gtk_widget_add_css_class (button, "pill");
      gtk_widget_add_css_class (button, "small-pill");
      gtk_flow_box_append (self->fixes_box, button);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->fixes_box), fixes->len > 0);

  g_autofree char *text = downstream ? sentence (downstream) : NULL;
  gtk_label_set_text (self->downstream_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->downstream_label), text != NULL);
}

static void
show_summary (KilnNetworkPage *self)
{
  g_autofree char *params = kiln_format_count (kiln_net_calc_get_total_params (self->calc));
  g_autofree char *macs = kiln_format_count (kiln_net_calc_get_total_macs (self->calc));
  g_autofree char *totals = g_strdup_printf (_("%s parameters · %s multiply-adds per image"), params, macs);
  g_autofree char *text = NULL;

  if (kiln_net_calc_is_whole (self->calc))
    text = g_strdup_printf (_("Every layer divides evenly. %s"), totals);
  else
    text = g_strdup (totals);
  gtk_label_set_text (self->summary_label, text);
}

static void
show_compare (KilnNetworkPage *self)
{
  int c, h, w;
  gboolean comparing = kiln_net_calc_get_compare (self->calc, &c, &h, &w);

  const char *error = comparing ? kiln_net_calc_get_compare_error (self->calc) : NULL;
  const char *downstream = comparing ? kiln_net_calc_get_compare_downstream (self->calc) : NULL;

  gtk_column_view_column_set_visible (self->compare_column, comparing);
  gtk_widget_set_visible (GTK_WIDGET (self->compare_label), comparing);
  gtk_widget_set_visible (GTK_WIDGET (self->compare_error_label), error != NULL);
  if (!comparing)
    return;

  g_autofree char *title = g_strdup_printf (_("At %d × %d"), h, w);
  g_autofree char *count = NULL;
  guint n = kiln_net_calc_get_n_changed (self->calc);

  gtk_column_view_column_set_title (self->compare_column, title);
  if (n == 0)
    count = g_strdup_printf (_("At %d × %d × %d no layer changes."), w, h, c);
  else
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "At %d × %d × %d, %u layer changes.",
                                          "At %d × %d × %d, %u layers change.", n), w, h, c, n);
  gtk_label_set_text (self->compare_label, count);

  /* Why the second size does not fit, and what that does further on. */
  g_autofree char *line = downstream ? sentence (downstream) : NULL;
  g_autofree char *why = error ? g_strjoin ("\n", error, line, NULL) : NULL;
  gtk_label_set_text (self->compare_error_label, why ? why : "");
}

/* The input widgets follow the spec (fixes and files change it too). */
static void
sync_inputs (KilnNetworkPage *self)
{
  KilnNetSpec *spec = kiln_net_calc_get_spec (self->calc);
  int c, h, w, cc, ch;

  kiln_net_spec_get_input (spec, &c, &h, &w);
  self->syncing = TRUE;
  gtk_spin_button_set_value (self->size_spin, h);
  gtk_spin_button_set_value (self->channels_spin, c);
  if (kiln_net_calc_get_compare (self->calc, &cc, &ch, NULL))
    gtk_spin_button_set_value (self->compare_spin, ch);
  adw_expander_row_set_enable_expansion (self->compare_row, kiln_net_calc_get_compare (self->calc, NULL, NULL, NULL));
  self->syncing = FALSE;

  g_autofree char *size = g_strdup_printf ("%d × %d × %d", w, h, c);
  adw_action_row_set_subtitle (self->size_row, size);
}

static void
calc_updated_cb (KilnNetworkPage *self)
{
  sync_inputs (self);
  show_problem (self);
  show_summary (self);
  show_compare (self);
}

/* ---- Choosing a net -------------------------------------------------------- */

static void
select_entry (KilnNetworkPage *self,
              guint            position)
{
  self->syncing = TRUE;
  adw_combo_row_set_selected (self->net_row, position);
  self->syncing = FALSE;
}

static void
forget_file_entry (KilnNetworkPage *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->net_names));

  if (n > n_presets ())
    gtk_string_list_splice (self->net_names, n_presets (), n - n_presets (), NULL);
}

static void
preset_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  const char *const *presets = kiln_net_spec_list_presets ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset (name, 0, &error);

  if (spec == NULL)
    {
      show_notice (self, error->message);
      return;
    }
  show_notice (self, NULL);
  forget_file_entry (self);
  for (guint i = 0; presets[i]; i++)
    if (g_str_equal (presets[i], name))
      select_entry (self, i);
  kiln_net_calc_set_spec (self->calc, spec);
}

static void
net_selected_cb (KilnNetworkPage *self)
{
  guint selected = adw_combo_row_get_selected (self->net_row);

  if (self->syncing || selected >= n_presets ())
    return;
  gtk_widget_activate_action (GTK_WIDGET (self), "network.preset", "s", kiln_net_spec_list_presets ()[selected]);
}

static void
open_file_thread (GTask        *task,
                  gpointer      source,
                  gpointer      data,
                  GCancellable *cancellable)
{
  const char *path = data;
  g_autofree char *lower = g_ascii_strdown (path, -1);
  KilnNetSpec *spec = NULL;
  GError *error = NULL;

  if (g_str_has_suffix (lower, ".onnx"))
    {
      g_autoptr(GHashTable) weights = NULL;
      if (!kiln_onnx_import_spec (path, &spec, &weights, &error))
        spec = NULL;
    }
  else
    spec = kiln_net_spec_new_from_file (path, &error);
  if (spec != NULL)
    g_task_return_pointer (task, spec, g_object_unref);
  else
    g_task_return_error (task, error);
}

static void
open_file_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = g_task_propagate_pointer (G_TASK (result), &error);
  const char *path = g_task_get_task_data (G_TASK (result));

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->calc == NULL)
    return;
  g_clear_object (&self->cancellable);
  if (spec == NULL)
    {
      show_notice (self, error->message);
      g_signal_emit (self, signals[SIGNAL_LOADED], 0, FALSE);
      return;
    }

  g_autofree char *name = g_path_get_basename (path);
  const char *const entry[] = { name, NULL };
  show_notice (self, NULL);
  forget_file_entry (self);
  gtk_string_list_splice (self->net_names, n_presets (), 0, entry);
  select_entry (self, n_presets ());
  kiln_net_calc_set_spec (self->calc, spec);
  g_signal_emit (self, signals[SIGNAL_LOADED], 0, TRUE);
}

void
kiln_network_page_open_file (KilnNetworkPage *self,
                             GFile           *file)
{
  g_return_if_fail (KILN_IS_NETWORK_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  g_autofree char *path = g_file_get_path (file);
  if (path == NULL)
    {
      show_notice (self, _("Only files on this computer can be opened"));
      g_signal_emit (self, signals[SIGNAL_LOADED], 0, FALSE);
      return;
    }
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_set_object (&self->cancellable, g_cancellable_new ());
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, open_file_done, NULL);
  g_task_set_source_tag (task, kiln_network_page_open_file);
  g_task_set_task_data (task, g_steal_pointer (&path), g_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, open_file_thread);
}

static void
chooser_response (GtkNativeDialog *dialog,
                  int              response,
                  gpointer         user_data)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        kiln_network_page_open_file (self, file);
    }
  g_clear_object (&self->chooser);
}

static void
open_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Open a Net Spec"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Net specs and ONNX models"));
  gtk_file_filter_add_pattern (filter, "*.json");
  gtk_file_filter_add_pattern (filter, "*.onnx");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- Editing --------------------------------------------------------------- */

static void
set_input_activated (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (widget);
  int c, h, w;

  g_variant_get (parameter, "(iii)", &c, &h, &w);
  show_notice (self, NULL);
  kiln_net_calc_set_input (self->calc, c, h, w);
}

static void
set_compare_activated (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (widget);
  int c, h, w;

  g_variant_get (parameter, "(iii)", &c, &h, &w);
  kiln_net_calc_set_compare (self->calc, c, h, w);
}

static void
set_param_activated (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (widget);
  g_autoptr(GError) error = NULL;
  guint index;
  int param, value;

  g_variant_get (parameter, "(uii)", &index, &param, &value);
  if (kiln_net_calc_set_param (self->calc, index, param, value, &error))
    show_notice (self, NULL);
  else
    show_notice (self, error->message);
}

static void
apply_fix_activated (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (widget);
  g_autoptr(GError) error = NULL;
  guint index, fix;

  g_variant_get (parameter, "(uu)", &index, &fix);
  KilnCalcRow *row = kiln_net_calc_get_row (self->calc, index);
  GPtrArray *fixes = row ? kiln_calc_row_get_fixes (row) : NULL;
  if (fixes == NULL || fix >= fixes->len)
    {
      show_notice (self, _("That fix no longer applies"));
      return;
    }
  /* Applying recomputes the rows and frees this one's fixes. */
  g_autoptr(KilnCalcFix) copy = kiln_calc_fix_copy (fixes->pdata[fix]);
  if (kiln_net_calc_apply_fix (self->calc, copy, &error))
    show_notice (self, NULL);
  else
    show_notice (self, error->message);
}

static void
input_spin_changed_cb (KilnNetworkPage *self)
{
  int n = gtk_spin_button_get_value_as_int (self->size_spin);

  if (self->syncing)
    return;
  gtk_widget_activate_action (GTK_WIDGET (self), "network.set-input", "(iii)",
                              gtk_spin_button_get_value_as_int (self->channels_spin), n, n);
}

static void
compare_changed_cb (KilnNetworkPage *self)
{
  int n = gtk_spin_button_get_value_as_int (self->compare_spin);
  int c;

  if (self->syncing)
    return;
  kiln_net_spec_get_input (kiln_net_calc_get_spec (self->calc), &c, NULL, NULL);
  if (adw_expander_row_get_enable_expansion (self->compare_row))
    gtk_widget_activate_action (GTK_WIDGET (self), "network.set-compare", "(iii)", c, n, n);
  else
    gtk_widget_activate_action (GTK_WIDGET (self), "network.set-compare", "(iii)", 0, 0, 0);
}

/* ---- Object ---------------------------------------------------------------- */

static void
kiln_network_page_dispose (GObject *object)
{
  KilnNetworkPage *self = KILN_NETWORK_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->calc != NULL)
    g_signal_handlers_disconnect_by_data (self->calc, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_NETWORK_PAGE);
  g_clear_object (&self->calc);
  G_OBJECT_CLASS (kiln_network_page_parent_class)->dispose (object);
}

static void
kiln_network_page_class_init (KilnNetworkPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_network_page_dispose;

  /* After kiln_network_page_open_file(): whether the file is now shown. */
  signals[SIGNAL_LOADED] = g_signal_new ("loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  g_type_ensure (KILN_TYPE_NET_DIAGRAM);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-network-page.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, net_row);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, net_names);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, size_row);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, size_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, channels_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, compare_row);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, compare_spin);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, notice_label);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, problem_box);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, problem_label);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, fixes_box);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, downstream_label);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, compare_label);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, compare_error_label);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, diagram);
  gtk_widget_class_bind_template_child (widget_class, KilnNetworkPage, layer_view);
  gtk_widget_class_bind_template_callback (widget_class, input_spin_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, compare_changed_cb);

  gtk_widget_class_install_action (widget_class, "network.preset", "s", preset_activated);
  gtk_widget_class_install_action (widget_class, "network.open", NULL, open_activated);
  gtk_widget_class_install_action (widget_class, "network.set-input", "(iii)", set_input_activated);
  gtk_widget_class_install_action (widget_class, "network.set-compare", "(iii)", set_compare_activated);
  gtk_widget_class_install_action (widget_class, "network.set-param", "(uii)", set_param_activated);
  gtk_widget_class_install_action (widget_class, "network.apply-fix", "(uu)", apply_fix_activated);
}

static GtkWidget *
find_switch (GtkWidget *widget)
{
  if (GTK_IS_SWITCH (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_switch (child);
      if (found)
        return found;
    }
  return NULL;
}

static void
kiln_network_page_init (KilnNetworkPage *self)
{
  const char *const *presets = kiln_net_spec_list_presets ();
  g_autoptr(KilnNetSpec) spec = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  add_columns (self);
  /* libadwaita 1.2 leaves the expander row's own switch unnamed. */
  GtkWidget *compare_switch = find_switch (GTK_WIDGET (self->compare_row));
  if (compare_switch != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (compare_switch), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _("Compare with another size"), -1);

  for (guint i = 0; presets[i]; i++)
    gtk_string_list_append (self->net_names, kiln_preset_get_label (presets[i]));

  /* AlexNet first: the net whose 227 the calculator explains. */
  spec = kiln_net_spec_new_preset (presets[0], 0, NULL);
  self->calc = kiln_net_calc_new (spec);
  g_signal_connect_swapped (self->calc, "updated", G_CALLBACK (calc_updated_cb), self);
  gtk_column_view_set_model (self->layer_view,
                             GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->calc)))));
  kiln_net_diagram_set_calc (self->diagram, self->calc);
  select_entry (self, 0);
  g_signal_connect_swapped (self->net_row, "notify::selected", G_CALLBACK (net_selected_cb), self);
  calc_updated_cb (self);
}
