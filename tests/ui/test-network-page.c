/* The window's Network page under Xvfb, driven through its actions and
 * widgets as a user would: AlexNet at 227 shows 55, 27, 27, 13, 13, 13, 6
 * and 9,216 into fc6; at 224 conv1 turns red, 227 is offered and fc6's
 * 6,400 under floor pooling is said; the offered fix makes every row whole;
 * compare 224 against 227 marks the rows that change; cells edit the spec;
 * files open, and a bad one is reported on the page. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-application.h"
#include "kiln-net-diagram.h"
#include "kiln-network-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

/* The table's columns, as the page orders and names them. */
enum { COL_NAME, COL_TYPE, COL_K, COL_F, COL_S, COL_P, COL_OUTPUT, COL_COMPARE, COL_PARAMS, COL_MACS };
static const char *const column_ids[] = {
  "layer", "type", "k", "f", "s", "p", "output", "compare", "params", "macs",
};

typedef struct {
  KilnApplication *app;
  KilnWindow *window;
  KilnNetworkPage *page;
} Fixture;

static gpointer
child (gpointer widget, GType type, const char *name)
{
  gpointer found = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);
  g_assert_nonnull (found);
  return found;
}

static gpointer
page_child (Fixture *f, const char *name)
{
  return child (f->page, KILN_TYPE_NETWORK_PAGE, name);
}

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

/* Lets the column view create and lay out its rows. */
static void
settle (void)
{
  for (int i = 0; i < 20; i++)
    while (g_main_context_iteration (NULL, FALSE))
      ;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->app = kiln_test_make_app ();
  f->window = kiln_window_new (f->app);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 900);
  gtk_window_present (GTK_WINDOW (f->window));
  kiln_test_spin_until (is_mapped, f->window, 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.show-page", "s", "network"));
  f->page = KILN_NETWORK_PAGE (adw_view_stack_get_child_by_name (child (f->window, KILN_TYPE_WINDOW, "view_stack"),
                                                                 "network"));
  kiln_test_spin_until (is_mapped, f->page, 10);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (f->page)));
  settle ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->window)
    gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->app);
}

static GtkWidget *
find_list_view (GtkWidget *widget)
{
  if (GTK_IS_LIST_VIEW (widget))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_list_view (c);
      if (found)
        return found;
    }
  return NULL;
}

/* The box the page put in a table cell: rows are the list view's children
 * in order; each cell's box is named after its column. NULL for a column
 * that is hidden. */
static GtkWidget *
find_cell (Fixture *f, guint row, guint column)
{
  GtkWidget *list = find_list_view (page_child (f, "layer_view"));
  GtkWidget *r = NULL;
  guint i = 0;

  g_assert_nonnull (list);
  settle ();
  for (GtkWidget *w = gtk_widget_get_first_child (list); w; w = gtk_widget_get_next_sibling (w))
    if (gtk_widget_get_first_child (w) != NULL && i++ == row)
      {
        r = w;
        break;
      }
  g_assert_nonnull (r);
  for (GtkWidget *c = gtk_widget_get_first_child (r); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *box = gtk_widget_get_first_child (c);
      if (box && gtk_widget_get_mapped (c) && g_str_equal (gtk_widget_get_name (box), column_ids[column]))
        {
          g_assert_true (gtk_widget_has_css_class (box, "calc-cell"));
          return box;
        }
    }
  return NULL;
}

static GtkWidget *
cell (Fixture *f, guint row, guint column)
{
  GtkWidget *box = find_cell (f, row, column);
  g_assert_nonnull (box);
  return box;
}

static const char *
cell_label (Fixture *f, guint row, guint column)
{
  return gtk_label_get_text (GTK_LABEL (gtk_widget_get_first_child (cell (f, row, column))));
}

static GtkWidget *
cell_editor (Fixture *f, guint row, guint column)
{
  GtkWidget *editor = gtk_widget_get_next_sibling (gtk_widget_get_first_child (cell (f, row, column)));
  g_assert_nonnull (editor);
  g_assert_true (gtk_widget_get_visible (editor));
  return editor;
}

static guint
row_of (Fixture *f, const char *name)
{
  int index = kiln_net_spec_find_layer (kiln_net_calc_get_spec (kiln_network_page_get_calc (f->page)), name);
  g_assert_cmpint (index, >=, 0);
  g_assert_cmpstr (cell_label (f, index, COL_NAME), ==, name);
  return index;
}

static gboolean
row_is_red (Fixture *f, guint row)
{
  gboolean all = TRUE, any = FALSE;

  for (guint column = COL_NAME; column <= COL_OUTPUT; column++)
    {
      gboolean red = gtk_widget_has_css_class (cell (f, row, column), "calc-mismatch");
      all = all && red;
      any = any || red;
    }
  /* A row is red across, or not at all. */
  g_assert_true (all == any);
  return all;
}

static guint
n_rows (Fixture *f)
{
  return g_list_model_get_n_items (G_LIST_MODEL (kiln_network_page_get_calc (f->page)));
}

static void
activate (Fixture *f, const char *action, const char *format, ...)
{
  va_list args;
  GVariant *parameter;

  va_start (args, format);
  parameter = format ? g_variant_new_va (format, NULL, &args) : NULL;
  va_end (args);
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (f->page), action, parameter));
  settle ();
}

static void
assert_side (Fixture *f, const char *name, const char *output)
{
  g_assert_cmpstr (cell_label (f, row_of (f, name), COL_OUTPUT), ==, output);
}

static void
assert_alexnet_227 (Fixture *f)
{
  assert_side (f, "conv1", "55 × 55 × 96");
  assert_side (f, "pool1", "27 × 27 × 96");
  assert_side (f, "conv2", "27 × 27 × 256");
  assert_side (f, "pool2", "13 × 13 × 256");
  assert_side (f, "conv3", "13 × 13 × 384");
  assert_side (f, "conv4", "13 × 13 × 384");
  assert_side (f, "conv5", "13 × 13 × 256");
  assert_side (f, "pool5", "6 × 6 × 256");
  /* 9,216 = 6 × 6 × 256 into fc6: its tooltip, and the diagram draws it. */
  g_assert_cmpstr (gtk_widget_get_tooltip_text (cell (f, row_of (f, "fc6"), COL_OUTPUT)), ==,
                   "6 × 6 × 256 = 9,216 inputs");
  g_assert_cmpstr (cell_label (f, row_of (f, "fc6"), COL_PARAMS), ==, "37,752,832");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (cell (f, row_of (f, "conv1"), COL_OUTPUT)), ==,
                   "(227 − 11)/4 + 1 = 55");
  for (guint i = 0; i < n_rows (f); i++)
    g_assert_false (row_is_red (f, i));
  g_assert_false (gtk_widget_get_visible (page_child (f, "problem_box")));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (page_child (f, "summary_label")),
                                   "Every layer divides evenly. 62,378,344 parameters"));
}

static void
test_alexnet_227 (Fixture *f, gconstpointer data)
{
  activate (f, "network.preset", "s", "alexnet");
  g_assert_cmpuint (n_rows (f), ==, 22);
  assert_alexnet_227 (f);
  /* The editable cells show the spec: conv1 is K 96, F 11, S 4, P 0. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (cell_editor (f, 0, COL_K))), ==, "96");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (cell_editor (f, 0, COL_F))), ==, "11");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (cell_editor (f, 0, COL_S))), ==, "4");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (cell_editor (f, 0, COL_P))), ==, "0");
  g_assert_cmpstr (cell_label (f, row_of (f, "relu1"), COL_F), ==, "—");
  g_assert_cmpuint (kiln_net_diagram_get_n_volumes (page_child (f, "diagram")), ==, 12);
}

static GtkWidget *
first_fix (Fixture *f)
{
  GtkWidget *flow_child = gtk_widget_get_first_child (page_child (f, "fixes_box"));
  g_assert_nonnull (flow_child);
  return gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (flow_child));
}

static void
test_alexnet_224 (Fixture *f, gconstpointer data)
{
  const char *downstream;
  GtkWidget *fix;

  activate (f, "network.preset", "s", "alexnet");
  /* The input spin is what a user types into. */
  gtk_spin_button_set_value (page_child (f, "size_spin"), 224);
  settle ();
  g_assert_cmpint (kiln_net_spec_get_layer (kiln_net_calc_get_spec (kiln_network_page_get_calc (f->page)), 0)->kernel_h,
                   ==, 11);

  /* conv1 is red, and only conv1. */
  g_assert_true (row_is_red (f, row_of (f, "conv1")));
  for (guint i = 1; i < n_rows (f); i++)
    g_assert_false (row_is_red (f, i));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (cell (f, 0, COL_OUTPUT)), ==,
                   "(224 − 11)/4 + 1 = 54.25 → 54\n(224 − 11)/4 + 1 = 54.25 is not a whole number");
  /* pool1 rounds its 26.5 up (ceil): marked, but not red. */
  g_assert_true (gtk_widget_has_css_class (gtk_widget_get_first_child (cell (f, row_of (f, "pool1"), COL_OUTPUT)),
                                           "calc-rounded"));

  g_assert_true (gtk_widget_get_visible (page_child (f, "problem_box")));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (page_child (f, "problem_label")),
                                   "conv1: (224 − 11)/4 + 1 = 54.25 is not a whole number; use input 227×227"));
  downstream = gtk_label_get_text (page_child (f, "downstream_label"));
  g_test_message ("downstream: %s", downstream);
  g_assert_true (g_str_has_prefix (downstream, "With floor pooling, fc6 then receives 6,400 inputs (5 × 5 × 256), "
                                               "not 9,216 (6 × 6 × 256 at 227 × 227)"));

  /* 227 is suggested first; the pad and stride follow. */
  fix = first_fix (f);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (fix)), ==, "Input 227 × 227");
  g_assert_true (gtk_widget_has_css_class (fix, "suggested-action"));
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (fix)), ==, "network.apply-fix");

  /* Clicking it makes every row whole again. */
  g_signal_emit_by_name (fix, "clicked");
  settle ();
  g_assert_cmpint (gtk_spin_button_get_value_as_int (page_child (f, "size_spin")), ==, 227);
  assert_alexnet_227 (f);
}

static void
test_pad_fix (Fixture *f, gconstpointer data)
{
  GtkWidget *pad = NULL;

  activate (f, "network.preset", "s", "alexnet");
  activate (f, "network.set-input", "(iii)", 3, 224, 224);
  for (GtkWidget *c = gtk_widget_get_first_child (page_child (f, "fixes_box")); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *button = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (c));
      if (g_str_has_prefix (gtk_button_get_label (GTK_BUTTON (button)), "Pad"))
        pad = button;
    }
  g_assert_nonnull (pad);
  g_signal_emit_by_name (pad, "clicked");
  settle ();
  /* 224 stays; conv1's pads differ top/bottom, and every row is whole. */
  g_assert_cmpint (gtk_spin_button_get_value_as_int (page_child (f, "size_spin")), ==, 224);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (cell_editor (f, 0, COL_P))), ==, "1/2");
  for (guint i = 0; i < n_rows (f); i++)
    g_assert_false (row_is_red (f, i));
  g_assert_false (gtk_widget_get_visible (page_child (f, "problem_box")));
  assert_side (f, "pool5", "6 × 6 × 256");
}

static void
test_compare (Fixture *f, gconstpointer data)
{
  static const char *const changed[] = { "conv1", "relu1", "norm1", "pool1" };
  const char *text;

  activate (f, "network.preset", "s", "alexnet");
  /* Through the widgets: the expander's switch and the second size. */
  gtk_spin_button_set_value (page_child (f, "compare_spin"), 224);
  adw_expander_row_set_enable_expansion (page_child (f, "compare_row"), TRUE);
  settle ();

  g_assert_nonnull (find_cell (f, 0, COL_COMPARE));
  for (guint i = 0; i < G_N_ELEMENTS (changed); i++)
    for (guint column = COL_NAME; column <= COL_MACS; column++)
      g_assert_true (gtk_widget_has_css_class (cell (f, row_of (f, changed[i]), column), "calc-changed"));
  g_assert_cmpstr (cell_label (f, 0, COL_COMPARE), ==, "54 × 54 × 96");
  g_assert_true (gtk_widget_has_css_class (gtk_widget_get_first_child (cell (f, 0, COL_COMPARE)),
                                           "calc-mismatch-text"));
  for (guint i = G_N_ELEMENTS (changed); i < n_rows (f); i++)
    g_assert_false (gtk_widget_has_css_class (cell (f, i, COL_NAME), "calc-changed"));
  /* The first size still fits: no red row. */
  g_assert_false (row_is_red (f, 0));

  g_assert_cmpstr (gtk_label_get_text (page_child (f, "compare_label")), ==, "At 224 × 224 × 3, 4 layers change.");
  text = gtk_label_get_text (page_child (f, "compare_error_label"));
  g_test_message ("compare: %s", text);
  g_assert_true (gtk_widget_get_visible (page_child (f, "compare_error_label")));
  g_assert_true (g_str_has_prefix (text, "conv1: (224 − 11)/4 + 1 = 54.25 is not a whole number"));
  g_assert_nonnull (strstr (text, "\nWith floor pooling, fc6 then receives 6,400 inputs"));

  /* 259 against 227: fc6 and everything up to it change. */
  gtk_spin_button_set_value (page_child (f, "compare_spin"), 259);
  settle ();
  g_assert_true (gtk_widget_has_css_class (cell (f, row_of (f, "fc6"), COL_NAME), "calc-changed"));
  g_assert_false (gtk_widget_has_css_class (cell (f, row_of (f, "fc7"), COL_NAME), "calc-changed"));
  g_assert_false (gtk_widget_get_visible (page_child (f, "compare_error_label")));

  adw_expander_row_set_enable_expansion (page_child (f, "compare_row"), FALSE);
  settle ();
  g_assert_null (find_cell (f, 0, COL_COMPARE));
  g_assert_false (gtk_widget_has_css_class (cell (f, 0, COL_NAME), "calc-changed"));
}

static void
test_edit_cells (Fixture *f, gconstpointer data)
{
  guint pool1;

  activate (f, "network.preset", "s", "alexnet");
  /* F 7 on conv1: (227 − 7)/4 + 1 = 56. */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (cell_editor (f, 0, COL_F)), 7);
  settle ();
  assert_side (f, "conv1", "56 × 56 × 96");
  /* K 64: D follows, and the parameters. */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (cell_editor (f, 0, COL_K)), 64);
  settle ();
  assert_side (f, "conv1", "56 × 56 × 64");
  g_assert_cmpstr (cell_label (f, 0, COL_PARAMS), ==, "9,472");

  /* A pad as wide as pooling's window is refused, said on the page, and
   * the cell shows the value that holds. */
  pool1 = row_of (f, "pool1");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (cell_editor (f, pool1, COL_P)), 3);
  settle ();
  g_assert_true (gtk_widget_get_visible (page_child (f, "notice_label")));
  g_assert_nonnull (strstr (gtk_label_get_text (page_child (f, "notice_label")), "pool1: pads"));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (cell_editor (f, pool1, COL_P))), ==, "0");

  /* Pooling type and rounding through the type cell. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (cell_editor (f, pool1, COL_TYPE)), 3);
  settle ();
  g_assert_cmpint (kiln_net_spec_get_layer (kiln_net_calc_get_spec (kiln_network_page_get_calc (f->page)), pool1)->type,
                   ==, KILN_LAYER_AVG_POOL);
  g_assert_false (gtk_widget_get_visible (page_child (f, "notice_label")));

  /* S through the action, as a shortcut or script would. */
  activate (f, "network.set-param", "(uii)", 0, 2 /* KILN_CALC_PARAM_STRIDE */, 2);
  assert_side (f, "conv1", "111 × 111 × 64");
}

static void
loaded_cb (KilnNetworkPage *page, gboolean ok, gpointer data)
{
  *(int *) data = ok ? 1 : 0;
}

static gboolean
is_loaded (gpointer data)
{
  return *(int *) data >= 0;
}

static void
test_open_file (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-network-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "my-lenet.json", NULL);
  g_autofree char *broken = g_build_filename (dir, "broken.json", NULL);
  g_autoptr(KilnNetSpec) lenet = kiln_net_spec_new_preset ("lenet", 0, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) broken_file = g_file_new_for_path (broken);
  g_autoptr(GError) error = NULL;
  AdwComboRow *net_row = page_child (f, "net_row");
  int loaded = -1;

  g_signal_connect (f->page, "loaded", G_CALLBACK (loaded_cb), &loaded);
  g_assert_true (kiln_net_spec_save (lenet, path, &error));
  kiln_network_page_open_file (f->page, file);
  kiln_test_spin_until (is_loaded, &loaded, 10);
  g_assert_cmpint (loaded, ==, 1);
  settle ();
  g_assert_cmpuint (n_rows (f), ==, 7);
  assert_side (f, "conv1", "24 × 24 × 20");
  /* The file comes after the presets. */
  g_assert_cmpuint (adw_combo_row_get_selected (net_row), ==, g_strv_length ((char **) kiln_net_spec_list_presets ()));
  g_assert_cmpstr (gtk_string_object_get_string (adw_combo_row_get_selected_item (net_row)), ==, "my-lenet.json");
  g_assert_cmpint (gtk_spin_button_get_value_as_int (page_child (f, "size_spin")), ==, 28);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (page_child (f, "channels_spin")), ==, 1);

  /* A file that is not a spec: said on the page, the net shown stays. */
  g_assert_true (g_file_set_contents (broken, "{ not json", -1, NULL));
  loaded = -1;
  kiln_network_page_open_file (f->page, broken_file);
  kiln_test_spin_until (is_loaded, &loaded, 10);
  g_assert_cmpint (loaded, ==, 0);
  g_assert_true (gtk_widget_get_visible (page_child (f, "notice_label")));
  g_test_message ("notice: %s", gtk_label_get_text (page_child (f, "notice_label")));
  g_assert_nonnull (strstr (gtk_label_get_text (page_child (f, "notice_label")), "broken.json"));
  g_assert_cmpuint (n_rows (f), ==, 7);

  /* An ONNX model opens as its spec (weights are not needed here). */
  g_autofree char *onnx = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", "convnet-opset13.onnx", NULL);
  g_autoptr(GFile) onnx_file = g_file_new_for_path (onnx);
  loaded = -1;
  kiln_network_page_open_file (f->page, onnx_file);
  kiln_test_spin_until (is_loaded, &loaded, 10);
  g_assert_cmpint (loaded, ==, 1);
  settle ();
  g_assert_cmpstr (gtk_string_object_get_string (adw_combo_row_get_selected_item (net_row)), ==,
                   "convnet-opset13.onnx");
  /* The presets and the one file, now this model. */
  g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (net_row)), ==,
                    g_strv_length ((char **) kiln_net_spec_list_presets ()) + 1);
  g_assert_cmpuint (n_rows (f), >, 0);
  g_assert_false (gtk_widget_get_visible (page_child (f, "notice_label")));

  /* Picking a preset again drops the file's entry. */
  const char *const *presets = kiln_net_spec_list_presets ();
  guint resnet = 0;
  while (presets[resnet] != NULL && !g_str_equal (presets[resnet], "resnet18"))
    resnet++;
  g_assert_nonnull (presets[resnet]);
  adw_combo_row_set_selected (net_row, resnet);
  settle ();
  g_assert_cmpstr (kiln_net_spec_get_name (kiln_net_calc_get_spec (kiln_network_page_get_calc (f->page))), ==,
                   "resnet18");
  g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (net_row)), ==, g_strv_length ((char **) presets));

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_remove (broken), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_shortcut (Fixture *f, gconstpointer data)
{
  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (f->app), "win.show-page::network");

  g_assert_cmpstr (accels[0], ==, "<Alt>5");
  gtk_test_accessible_assert_role (GTK_ACCESSIBLE (page_child (f, "diagram")), GTK_ACCESSIBLE_ROLE_IMG);
}

int
main (int argc, char **argv)
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  /* A GTK warning (a CSS error, markup that does not parse) fails the test. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);

  g_test_add ("/network-page/alexnet-227", Fixture, NULL, fixture_setup, test_alexnet_227, fixture_teardown);
  g_test_add ("/network-page/alexnet-224", Fixture, NULL, fixture_setup, test_alexnet_224, fixture_teardown);
  g_test_add ("/network-page/pad-fix", Fixture, NULL, fixture_setup, test_pad_fix, fixture_teardown);
  g_test_add ("/network-page/compare", Fixture, NULL, fixture_setup, test_compare, fixture_teardown);
  g_test_add ("/network-page/edit-cells", Fixture, NULL, fixture_setup, test_edit_cells, fixture_teardown);
  g_test_add ("/network-page/open-file", Fixture, NULL, fixture_setup, test_open_file, fixture_teardown);
  g_test_add ("/network-page/shortcut", Fixture, NULL, fixture_setup, test_shortcut, fixture_teardown);
  return g_test_run ();
}
