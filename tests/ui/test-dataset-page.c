/* The Dataset page in the real window under Xvfb, on a real project of
 * PNG files: renaming and merging classes through the page's actions moves
 * folders and rows (and the Curate page follows); dropping and restoring;
 * Apply stores the split the core makes from the same shares and seed and
 * shows its counts; the mean computed through the page has the pixels
 * kiln-cli mean writes for the same project; the preview's tensor is the
 * training conversion of the file; every control has an accessible name.
 * GTK warnings are fatal. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "kiln-core.h"
#include "kiln-dataset-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

typedef struct {
  KilnWindow      *window;
  KilnDatasetPage *page;
  char            *root;
  char            *project;
} Fixture;

/* A @w × @h PNG with a gradient that @seed shifts, so files and their
 * mean differ from pixel to pixel. */
static void
write_png (const char *path, int w, int h, guint seed)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  g_autofree char *parent = g_path_get_dirname (path);
  guchar *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guchar *p = pixels + y * stride + x * 3;
        p[0] = (guchar) (x * 5 + seed * 17);
        p[1] = (guchar) (y * 7 + seed * 3);
        p[2] = (guchar) ((x + y) * 3 + seed * 29);
      }
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  g_autoptr(GError) error = NULL;
  const char *classes[] = { "red", "blue", "green" };
  const guint sizes[] = { 10, 8, 6 };
  g_autofree char *tree = NULL;

  f->root = g_dir_make_tmp ("kiln-dataset-XXXXXX", &error);
  g_assert_no_error (error);
  tree = g_build_filename (f->root, "photos", NULL);
  f->project = g_build_filename (f->root, "project", NULL);
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    for (guint i = 0; i < sizes[c]; i++)
      {
        g_autofree char *name = g_strdup_printf ("%u.png", i);
        g_autofree char *path = g_build_filename (tree, classes[c], name, NULL);
        write_png (path, 40 + (int) i, 30, c * 20 + i);
      }
  {
    g_autoptr(KilnProject) made = kiln_project_new_from_folder (f->project, tree, KILN_IMPORT_COPY, NULL, &error);
    g_assert_no_error (error);
  }
  f->window = kiln_window_new (app);
  f->page = KILN_DATASET_PAGE (gtk_widget_get_template_child (GTK_WIDGET (f->window), KILN_TYPE_WINDOW,
                                                              "dataset_page"));
  gtk_window_present (GTK_WINDOW (f->window));
  kiln_test_open_project (f->window, f->project);
  g_assert_nonnull (kiln_dataset_page_get_project (f->page));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.show-page", "s", "dataset"));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  kiln_test_remove_tree (f->root);
  g_free (f->root);
  g_free (f->project);
}

static gpointer
child (Fixture *f, const char *name)
{
  return kiln_test_child (f->page, KILN_TYPE_DATASET_PAGE, name);
}

static gboolean
idle (gpointer data)
{
  return !kiln_dataset_page_is_busy (KILN_DATASET_PAGE (data));
}

static void
wait_idle (Fixture *f)
{
  kiln_test_spin_until (idle, f->page, 60);
  g_assert_true (idle (f->page));
}

static gboolean
exists (Fixture *f, const char *relative)
{
  g_autofree char *path = g_build_filename (f->project, relative, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static guint
kept (Fixture *f, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) counts = kiln_project_count_by_class (kiln_dataset_page_get_project (f->page),
                                                              KILN_IMAGE_KEPT, &error);
  g_assert_no_error (error);
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, name));
}

/* The class list's row for @name, or NULL. */
static AdwActionRow *
class_row (Fixture *f, const char *name)
{
  g_autofree char *wanted = g_strconcat ("class:", name, NULL);

  for (GtkWidget *row = gtk_widget_get_first_child (child (f, "class_list")); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (g_str_equal (gtk_widget_get_name (row), wanted))
      return ADW_ACTION_ROW (row);
  return NULL;
}

static void
test_rename_merge_drop (Fixture *f, gconstpointer data)
{
  KilnCuratePage *curate = kiln_test_curate_page (f->window);
  g_auto(GStrv) accels = gtk_application_get_accels_for_action (gtk_window_get_application (GTK_WINDOW (f->window)),
                                                                 "win.show-page::dataset");

  g_assert_cmpstr (accels[0], ==, "<Alt>3");
  /* The rows show kept counts, with named buttons. */
  AdwActionRow *red = class_row (f, "red");
  g_assert_nonnull (red);
  g_assert_cmpstr (adw_action_row_get_subtitle (red), ==, "10 images");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.rename-class-to", "(ss)", "red",
                                             "crimson"));
  wait_idle (f);
  g_assert_cmpuint (kept (f, "crimson"), ==, 10);
  g_assert_true (exists (f, "images/crimson/0.png"));
  g_assert_true (exists (f, "images/crimson/9.png"));
  g_assert_false (exists (f, "images/red"));
  g_assert_null (class_row (f, "red"));
  g_assert_nonnull (class_row (f, "crimson"));
  /* The Curate page read the store again: its items have the new paths. */
  kiln_test_wait_curate (curate);
  KilnImageList *images = kiln_curate_page_get_images (curate);
  gboolean seen = FALSE;
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (images)); i++)
    {
      g_autoptr(KilnImageItem) item = g_list_model_get_item (G_LIST_MODEL (images), i);
      const char *path = kiln_image_item_get_path (item);
      g_assert_false (g_str_has_prefix (path, "images/red/"));
      seen |= g_str_has_prefix (path, "images/crimson/");
    }
  g_assert_true (seen);

  /* Merge: blue's 8 files join crimson's 10, clashing names numbered. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.merge-class-into", "(ss)", "blue",
                                             "crimson"));
  wait_idle (f);
  g_assert_cmpuint (kept (f, "crimson"), ==, 18);
  g_assert_null (class_row (f, "blue"));
  g_assert_false (exists (f, "images/blue"));
  g_assert_true (exists (f, "images/crimson/0-1.png"));
  g_assert_true (exists (f, "images/crimson/7-1.png"));

  /* Drop discards into discarded/, Restore brings the files back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.drop-class", "s", "green"));
  wait_idle (f);
  g_assert_cmpuint (kept (f, "green"), ==, 0);
  g_assert_true (exists (f, "discarded/" KILN_CLASS_DROPPED_REASON "/green/0.png"));
  g_assert_false (exists (f, "images/green/0.png"));
  AdwActionRow *green = class_row (f, "green");
  g_assert_cmpstr (adw_action_row_get_subtitle (green), ==, "0 images · 6 dropped");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.restore-class", "s", "green"));
  wait_idle (f);
  g_assert_cmpuint (kept (f, "green"), ==, 6);
  g_assert_true (exists (f, "images/green/0.png"));
}

/* The row buttons' dialogs end in the same actions: a name typed for
 * Rename, a class picked for Merge. */
static void
test_dialogs (Fixture *f, gconstpointer data)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.rename-class", "s", "green"));
  AdwMessageDialog *dialog = kiln_test_wait_message_dialog ();
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_assert_cmpstr (gtk_editable_get_text (entry), ==, "green");
  /* The same name is no rename. */
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "rename"));
  gtk_editable_set_text (entry, "lime");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "rename"));
  adw_message_dialog_response (dialog, "rename");
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_idle (f);
  g_assert_cmpuint (kept (f, "lime"), ==, 6);
  g_assert_true (exists (f, "images/lime/5.png"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.merge-class", "s", "lime"));
  dialog = kiln_test_wait_message_dialog ();
  GtkDropDown *targets = GTK_DROP_DOWN (adw_message_dialog_get_extra_child (dialog));
  GListModel *names = gtk_drop_down_get_model (targets);
  /* Every other class, in the label order. */
  g_assert_cmpuint (g_list_model_get_n_items (names), ==, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (names), 0), ==, "blue");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (names), 1), ==, "red");
  gtk_drop_down_set_selected (targets, 1);
  adw_message_dialog_response (dialog, "merge");
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_idle (f);
  g_assert_cmpuint (kept (f, "red"), ==, 16);
  g_assert_null (class_row (f, "lime"));
}

/* Every control speaks its name: icon-only buttons, spin buttons, the
 * progress bar. */
static void
test_accessible_names (Fixture *f, gconstpointer data)
{
  const char *spins[][2] = {
    { "train_spin", "Train share in percent" }, { "val_spin", "Validation share in percent" },
    { "test_spin", "Test share in percent" }, { "seed_spin", "Random seed" },
    { "width_spin", "Input width in pixels" }, { "height_spin", "Input height in pixels" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (spins); i++)
    gtk_test_accessible_assert_property (child (f, spins[i][0]), GTK_ACCESSIBLE_PROPERTY_LABEL, spins[i][1]);
  gtk_test_accessible_assert_property (child (f, "mean_progress"), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Mean image progress");
  gtk_test_accessible_assert_property (child (f, "mean_picture"), GTK_ACCESSIBLE_PROPERTY_LABEL, "Mean image");

  /* Each class row's icon buttons. */
  guint n_buttons = 0;
  for (GtkWidget *row = gtk_widget_get_first_child (child (f, "class_list")); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      const char *name = gtk_widget_get_name (row) + strlen ("class:");
      g_autofree char *rename = g_strdup_printf ("Rename %s", name);
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();

      g_ptr_array_add (stack, row);
      while (stack->len > 0)
        {
          GtkWidget *w = g_ptr_array_steal_index (stack, stack->len - 1);
          for (GtkWidget *c = gtk_widget_get_first_child (w); c != NULL; c = gtk_widget_get_next_sibling (c))
            g_ptr_array_add (stack, c);
          if (GTK_IS_BUTTON (w) && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (w)),
                                              "dataset.rename-class") == 0)
            {
              gtk_test_accessible_assert_property (w, GTK_ACCESSIBLE_PROPERTY_LABEL, rename);
              n_buttons++;
            }
        }
    }
  g_assert_cmpuint (n_buttons, ==, 3);
}

/* The page fits a phone: its least width, with a split, groups, a mean
 * and a preview shown, is at most 360 px. */
static void
test_narrow (Fixture *f, gconstpointer data)
{
  int minimum = 0;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.apply-split", NULL));
  wait_idle (f);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.compute-mean", NULL));
  wait_idle (f);
  gtk_widget_measure (GTK_WIDGET (f->page), GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
  g_assert_cmpint (minimum, >, 0);
  g_assert_cmpint (minimum, <=, 360);
}

static void
test_split (Fixture *f, gconstpointer data)
{
  KilnProject *project = kiln_dataset_page_get_project (f->page);
  g_autoptr(GError) error = NULL;
  KilnSplitSpec spec;

  gtk_spin_button_set_value (child (f, "train_spin"), 50);
  gtk_spin_button_set_value (child (f, "val_spin"), 30);
  gtk_spin_button_set_value (child (f, "test_spin"), 20);
  gtk_spin_button_set_value (child (f, "seed_spin"), 7);
  gtk_editable_set_text (child (f, "split_name_row"), "mine");
  /* Two files with the same pixels (as the inspector would record them):
   * one group, kept in one subset and listed. */
  const char *twins[] = { "images/red/1.png", "images/blue/2.png" };
  for (guint i = 0; i < G_N_ELEMENTS (twins); i++)
    {
      g_autoptr(KilnImageRecord) record = kiln_project_find_image (project, twins[i], &error);
      g_assert_no_error (error);
      g_free (record->pixel_hash);
      record->pixel_hash = g_strdup ("same-pixels");
      g_assert_true (kiln_project_update_image (project, record, &error));
    }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.apply-split", NULL));
  /* On a worker: Apply is off until it is done. */
  g_assert_false (gtk_widget_is_sensitive (child (f, "apply_button")));
  wait_idle (f);
  g_assert_true (gtk_widget_is_sensitive (child (f, "apply_button")));

  g_autofree char *current = kiln_project_get_current_split (project, &error);
  g_assert_cmpstr (current, ==, "mine");
  /* The core, given the same shares and seed, makes the same split. */
  kiln_split_spec_init (&spec);
  spec.fractions[0] = 0.5;
  spec.fractions[1] = 0.3;
  spec.fractions[2] = 0.2;
  spec.seed = 7;
  g_assert_true (kiln_dataset_split_project (project, "check", &spec, NULL, &error));
  g_assert_no_error (error);
  g_autoptr(GHashTable) mine = kiln_project_get_split (project, "mine", NULL, &error);
  g_autoptr(GHashTable) check = kiln_project_get_split (project, "check", NULL, &error);
  g_assert_cmpuint (g_hash_table_size (mine), ==, 24);
  g_assert_cmpuint (g_hash_table_size (check), ==, 24);
  GHashTableIter iter;
  gpointer key, value;
  guint val = 0;
  g_hash_table_iter_init (&iter, mine);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_assert_cmpstr (value, ==, g_hash_table_lookup (check, key));
      val += g_str_equal (value, "val");
    }
  /* red 10 → 3, blue 8 → 2 (2.4), green 6 → 2 (1.8). */
  g_assert_cmpuint (val, ==, 7);
  g_autoptr(KilnImageRecord) twin_a = kiln_project_find_image (project, twins[0], &error);
  g_autoptr(KilnImageRecord) twin_b = kiln_project_find_image (project, twins[1], &error);
  g_assert_cmpstr (g_hash_table_lookup (mine, &twin_a->id), ==, g_hash_table_lookup (mine, &twin_b->id));
  GtkListBox *group_rows = child (f, "group_list");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (group_rows)));
  AdwActionRow *group = ADW_ACTION_ROW (gtk_list_box_get_row_at_index (group_rows, 0));
  g_assert_nonnull (group);
  g_assert_null (gtk_list_box_get_row_at_index (group_rows, 1));
  g_assert_cmpstr (adw_action_row_get_subtitle (group), ==, "images/blue/2.png, images/red/1.png");
  g_assert_true (g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (group)), "2 images → "));

  /* The table: one row a class, then the totals, as the store counts them
   * (the twins' group moved one image, so the shares are not exact). */
  guint red_counts[3] = { 0 }, totals[3] = { 0 };
  const char *subset_names[] = { "train", "val", "test" };
  for (guint k = 0; k < 3; k++)
    {
      g_autoptr(KilnLabelSet) set = kiln_project_get_label_set (project, "check", subset_names[k], NULL, &error);
      g_assert_no_error (error);
      totals[k] = set->paths->len;
      for (guint i = 0; i < set->paths->len; i++)
        red_counts[k] += g_str_has_prefix (set->paths->pdata[i], "images/red/");
    }
  g_assert_cmpuint (totals[0] + totals[1] + totals[2], ==, 24);
  g_autofree char *red_text = g_strdup_printf ("Train %u · Validation %u · Test %u", red_counts[0], red_counts[1],
                                               red_counts[2]);
  g_autofree char *total_text = g_strdup_printf ("Train %u · Validation %u · Test %u", totals[0], totals[1],
                                                 totals[2]);
  GtkListBox *rows = child (f, "split_list");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (rows)));
  /* Classes in the label order: blue, green, red. */
  AdwActionRow *red = ADW_ACTION_ROW (gtk_list_box_get_row_at_index (rows, 2));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (red)), ==, "red");
  g_assert_cmpstr (adw_action_row_get_subtitle (red), ==, red_text);
  AdwActionRow *total = ADW_ACTION_ROW (gtk_list_box_get_row_at_index (rows, 3));
  g_assert_cmpstr (adw_action_row_get_subtitle (total), ==, total_text);
  g_assert_null (gtk_list_box_get_row_at_index (rows, 4));
  g_assert_nonnull (strstr (gtk_label_get_text (child (f, "split_summary")), "“mine”"));

  /* Unstratified: the pool is split, not each class. */
  gtk_switch_set_active (child (f, "stratified_switch"), FALSE);
  gtk_editable_set_text (child (f, "split_name_row"), "pooled");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.apply-split", NULL));
  wait_idle (f);
  spec.unstratified = TRUE;
  g_assert_true (kiln_dataset_split_project (project, "check2", &spec, NULL, &error));
  g_autoptr(GHashTable) pooled = kiln_project_get_split (project, "pooled", NULL, &error);
  g_autoptr(GHashTable) check2 = kiln_project_get_split (project, "check2", NULL, &error);
  g_hash_table_iter_init (&iter, pooled);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (value, ==, g_hash_table_lookup (check2, key));
}

static gboolean
mean_done (gpointer data)
{
  Fixture *f = data;
  return !kiln_dataset_page_is_busy (f->page);
}

static void
set_spec (Fixture *f, int width, int height, guint channels_index, guint resize_index)
{
  gtk_spin_button_set_value (child (f, "width_spin"), width);
  gtk_spin_button_set_value (child (f, "height_spin"), height);
  adw_combo_row_set_selected (child (f, "channels_row"), channels_index);
  adw_combo_row_set_selected (child (f, "resize_row"), resize_index);
}

static void
compute_mean (Fixture *f)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.compute-mean", NULL));
  g_assert_true (kiln_dataset_page_is_busy (f->page));
  g_assert_true (gtk_widget_is_sensitive (child (f, "compute_button")) == FALSE);
  kiln_test_spin_until (mean_done, f, 60);
  g_assert_true (mean_done (f));
  g_assert_nonnull (kiln_dataset_page_get_mean (f->page));
}

static void
test_mean_equals_cli (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *cli_dir = g_build_filename (f->root, "cli-mean", NULL);
  KilnImageSpec spec;

  /* 33 × 29 RGB, squashed: an odd size and a mode other than the default. */
  set_spec (f, 33, 29, 0, 1);
  kiln_dataset_page_get_spec (f->page, &spec);
  g_assert_cmpint (spec.mode, ==, KILN_RESIZE_SQUASH);
  compute_mean (f);
  const KilnMeanImage *mean = kiln_dataset_page_get_mean (f->page);
  g_assert_cmpuint (mean->used->paths->len, ==, 24);
  /* The list beside it names the same images. */
  GtkListView *view = child (f, "image_view");
  GListModel *listed = G_LIST_MODEL (gtk_list_view_get_model (view));
  g_assert_cmpuint (g_list_model_get_n_items (listed), ==, 24);

  const char *args[] = { "mean", "--project", f->project, "--size", "33x29", "--resize", "squash",
                         "-o", cli_dir, NULL };
  int status = kiln_test_run_cli (args, &out, &err);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  /* The floats, bit for bit, and the PNGs, pixel for pixel. */
  g_autofree char *cli_f32 = g_build_filename (cli_dir, "mean.f32", NULL);
  gsize n = kiln_image_spec_size (&spec);
  g_autofree float *cli_mean = kiln_mean_image_load_f32 (cli_f32, n, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (cli_mean, n * sizeof (float), mean->mean, n * sizeof (float));

  g_autofree char *page_dir = kiln_dataset_mean_folder (kiln_dataset_page_get_project (f->page), &spec);
  g_autofree char *page_png = g_build_filename (page_dir, "mean.png", NULL);
  g_autofree char *cli_png = g_build_filename (cli_dir, "mean.png", NULL);
  g_autoptr(GdkPixbuf) a = gdk_pixbuf_new_from_file (page_png, &error);
  g_assert_no_error (error);
  g_autoptr(GdkPixbuf) b = gdk_pixbuf_new_from_file (cli_png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (a), ==, 33);
  g_assert_cmpint (gdk_pixbuf_get_height (a), ==, 29);
  g_assert_cmpint (gdk_pixbuf_get_rowstride (a), ==, gdk_pixbuf_get_rowstride (b));
  g_assert_cmpmem (gdk_pixbuf_read_pixels (a), gdk_pixbuf_get_byte_length (a),
                   gdk_pixbuf_read_pixels (b), gdk_pixbuf_get_byte_length (b));
  /* Shown on the page. */
  g_assert_nonnull (gtk_picture_get_paintable (child (f, "mean_picture")));
  g_assert_false (kiln_dataset_page_is_busy (f->page));
  g_assert_true (gtk_widget_is_sensitive (child (f, "compute_button")));
}

/* The preview's tensor is the training conversion of the file: decoded
 * and resized as the cache does, (value − mean) / 255. */
static void
test_preview_tensor (Fixture *f, gconstpointer data)
{
  const char *path = NULL;
  KilnImageSpec spec, shown;
  g_autoptr(GError) error = NULL;

  set_spec (f, 24, 20, 1, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.preview", "s", "images/blue/3.png"));
  kiln_dataset_page_get_spec (f->page, &spec);
  const float *tensor = kiln_dataset_page_get_preview (f->page, &shown, &path);
  g_assert_nonnull (tensor);
  g_assert_cmpstr (path, ==, "images/blue/3.png");
  g_assert_cmpint (shown.channels, ==, 1);
  g_assert_cmpint (shown.height, ==, 20);
  g_assert_cmpint (shown.width, ==, 24);
  g_assert_cmpint (shown.mode, ==, KILN_RESIZE_FILL);

  g_autofree char *file = g_build_filename (f->project, "images", "blue", "3.png", NULL);
  gsize n = kiln_image_spec_size (&spec);
  g_autofree guint8 *pixels = g_malloc (n);
  g_assert_true (kiln_image_load_u8 (file, &spec, pixels, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (tensor[i], ==, pixels[i] * (1.0f / 255.0f));
  g_assert_nonnull (gtk_picture_get_paintable (child (f, "after_picture")));
  g_assert_nonnull (gtk_picture_get_paintable (child (f, "before_picture")));
  /* Fit and pad: the 43 × 30 image leaves black bands. */
  g_assert_cmpfloat (tensor[0], ==, 0.0f);

  /* With the mean at this spec, the switch subtracts it. */
  g_assert_false (gtk_widget_get_sensitive (child (f, "centered_switch")));
  compute_mean (f);
  g_assert_true (gtk_widget_get_sensitive (child (f, "centered_switch")));
  gtk_switch_set_active (child (f, "centered_switch"), TRUE);
  tensor = kiln_dataset_page_get_preview (f->page, NULL, &path);
  g_assert_cmpstr (path, ==, "images/blue/3.png");
  const float *mean = kiln_dataset_page_get_mean (f->page)->mean;
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (tensor[i], ==, (pixels[i] - mean[i]) * (1.0f / 255.0f));
}

static void
test_export (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_build_filename (f->root, "labels", NULL);
  g_autofree char *labels = g_build_filename (folder, "labels.txt", NULL);
  g_autofree char *classes = g_build_filename (folder, "classes.txt", NULL);
  g_autofree char *train = g_build_filename (folder, "train.txt", NULL);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.apply-split", NULL));
  wait_idle (f);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->page), "dataset.export-labels-to", "s", folder));
  g_autoptr(KilnLabelSet) set = kiln_labels_read (labels, classes, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->paths->len, ==, 24);
  g_assert_cmpstr (set->classes->pdata[0], ==, "blue");
  g_autoptr(KilnLabelSet) train_set = kiln_labels_read (train, classes, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (train_set->paths->len, ==, 18);
}

int
main (int argc, char **argv)
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/dataset-page/rename-merge-drop", test_rename_merge_drop);
  ADD ("/dataset-page/dialogs", test_dialogs);
  ADD ("/dataset-page/accessible-names", test_accessible_names);
  ADD ("/dataset-page/narrow", test_narrow);
  ADD ("/dataset-page/split", test_split);
  ADD ("/dataset-page/mean-equals-cli", test_mean_equals_cli);
  ADD ("/dataset-page/preview-tensor", test_preview_tensor);
  ADD ("/dataset-page/export", test_export);
#undef ADD
  return g_test_run ();
}
