/* The window's Gather page under Xvfb, driven as a user would: typing
 * filters the WordNet synsets and shows where the chosen one sits in
 * ImageNet; gathering a URL list served by a local SoupServer fills the
 * project, says what happened to every URL and updates the Images page; a
 * second run fetches nothing twice; Stop, or closing the window, ends a
 * stalled run at once and leaves no half-written file. */
#include <adwaita.h>
#include <libsoup/soup.h>
#include <string.h>

#include "kiln-application.h"
#include "kiln-gather-page.h"
#include "kiln-window.h"
#include "test-ui-util.h"
#include "test-util.h"

typedef struct {
  SoupServer *server;
  char       *base;
  GBytes     *jpeg;
  GPtrArray  *stalled;   /* SoupServerMessage * held open */
  guint       n_requests;
} Server;

static Server server;

static GBytes *
make_jpeg (int w, int h)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  gsize size = 0;

  /* Noise keeps the file above the gatherer's minimum size. */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w * 3; x++)
      pixels[y * gdk_pixbuf_get_rowstride (pixbuf) + x] = g_rand_int_range (rand, 0, 256);
  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "jpeg", &error, NULL);
  g_assert_no_error (error);
  return g_bytes_new_take (buffer, size);
}

static void
handler (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  server.n_requests++;
  if (g_str_has_prefix (path, "/img/"))
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (server.jpeg, NULL), g_bytes_get_size (server.jpeg));
    }
  else if (g_str_has_prefix (path, "/stall/"))
    {
      /* Headers and a few bytes, then nothing. */
      soup_server_message_set_status (msg, 200, NULL);
      soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg), "image/jpeg", NULL);
      soup_message_headers_set_encoding (soup_server_message_get_response_headers (msg), SOUP_ENCODING_CHUNKED);
      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                                g_bytes_get_data (server.jpeg, NULL), 200);
      g_ptr_array_add (server.stalled, g_object_ref (msg));
    }
  else
    soup_server_message_set_status (msg, 404, NULL);
}

static void
start_server (void)
{
  g_autoptr(GError) error = NULL;

  server.jpeg = make_jpeg (96, 72);
  server.stalled = g_ptr_array_new_with_free_func (g_object_unref);
  server.server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server.server, NULL, handler, NULL, NULL);
  soup_server_listen_local (server.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  GSList *uris = soup_server_get_uris (server.server);
  server.base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static gpointer
child (gpointer widget, GType type, const char *name)
{
  gpointer found = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);
  g_assert_nonnull (found);
  return found;
}

static KilnGatherPage *
gather_page (KilnWindow *window)
{
  return KILN_GATHER_PAGE (child (window, KILN_TYPE_WINDOW, "gather_page"));
}

static const char *
status_text (KilnGatherPage *page)
{
  return gtk_label_get_text (child (page, KILN_TYPE_GATHER_PAGE, "status_label"));
}

static const char *
row_subtitle (KilnGatherPage *page, const char *row)
{
  return adw_action_row_get_subtitle (child (page, KILN_TYPE_GATHER_PAGE, row));
}

typedef struct {
  KilnGatherPage *page;
  const char     *text;
  const char     *wnid;
  gboolean        any_wnid;   /* only wait for the search to run */
} WnidWait;

/* Setting the text clears the entry first, which searches at once; the
 * new text is searched after the entry's delay. */
static gboolean
wnid_is (gpointer data)
{
  WnidWait *w = data;
  GtkLabel *results = child (w->page, KILN_TYPE_GATHER_PAGE, "results_label");
  gboolean searched = *w->text == '\0' || !g_str_has_prefix (gtk_label_get_text (results), "Type a word");
  return searched && (w->any_wnid || g_strcmp0 (kiln_gather_page_get_wnid (w->page), w->wnid) == 0);
}

/* Types @text into the search entry and waits for the top hit. */
static void
search (KilnGatherPage *page, const char *text, const char *expect_wnid)
{
  WnidWait wait = { page, text, expect_wnid, FALSE };

  GtkWidget *entry = child (page, KILN_TYPE_GATHER_PAGE, "search_entry");
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  WnidWait searched = { page, text, NULL, TRUE };
  kiln_test_spin_until (wnid_is, &searched, 10);
  /* Enter chooses the top hit. */
  g_signal_emit_by_name (entry, "activate");
  kiln_test_spin_until (wnid_is, &wait, 10);
  g_assert_cmpstr (kiln_gather_page_get_wnid (page), ==, expect_wnid);
}

static gboolean
not_running (gpointer page)
{
  return !kiln_gather_page_is_running (page);
}

/* A window showing a fresh, empty project. */
typedef struct {
  KilnWindow     *window;
  KilnGatherPage *page;
  char           *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  g_autoptr(GError) error = NULL;

  f->window = kiln_window_new (app);
  gtk_window_present (GTK_WINDOW (f->window));
  f->page = gather_page (f->window);
  f->dir = g_dir_make_tmp ("kiln-gather-page-XXXXXX", &error);
  g_assert_no_error (error);
  /* A new, empty project, as New Project makes it. */
  g_autoptr(KilnProject) store = kiln_project_open (f->dir, &error);
  g_assert_no_error (error);
  kiln_test_open_project (f->window, f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->window != NULL)
    gtk_window_destroy (GTK_WINDOW (f->window));
  g_ptr_array_set_size (server.stalled, 0);
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
write_url_list (const char *dir, const char *const *lines)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "urls.txt", NULL);

  for (guint i = 0; lines[i]; i++)
    g_string_append_printf (text, lines[i], server.base);
  g_file_set_contents (path, text->str, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* Files under @dir, the project's store and the test's URL list aside. */
static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        n += count_files (path);
      else
        n += !g_str_has_prefix (name, "kiln.db") && !g_str_equal (name, "urls.txt");
    }
  return n;
}

static gboolean
is_visible (gpointer widget)
{
  return gtk_widget_get_visible (widget);
}

/* The Curate page shows @n kept images. */
static gboolean
curate_shows (gpointer data)
{
  gpointer *args = data;
  KilnImageList *images = kiln_curate_page_get_images (kiln_test_curate_page (args[0]));
  return images != NULL && kiln_image_list_count (images, NULL, KILN_IMAGE_KEPT, NULL) == GPOINTER_TO_UINT (args[1]);
}

static void
test_browse_synsets (Fixture *f, gconstpointer data)
{
  KilnGatherPage *page = f->page;

  /* Where images will go is said before anything is gathered. */
  AdwActionRow *target = child (page, KILN_TYPE_GATHER_PAGE, "target_row");
  g_autofree char *name = g_path_get_basename (f->dir);
  g_autofree char *images = g_build_filename (f->dir, "images", NULL);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (target)), ==, name);
  g_assert_cmpstr (adw_action_row_get_subtitle (target), ==, images);

  search (page, "domestic cat", "n02121808");
  AdwPreferencesGroup *group = child (page, KILN_TYPE_GATHER_PAGE, "synset_group");
  g_assert_cmpstr (adw_preferences_group_get_title (group), ==, "domestic cat");
  g_assert_cmpstr (row_subtitle (page, "wnid_row"), ==, "n02121808");
  g_assert_nonnull (strstr (row_subtitle (page, "membership_row"), "ImageNet-21k"));
  g_assert_nonnull (strstr (row_subtitle (page, "subtree_row"), "synsets below it"));

  /* An ILSVRC-2012 class, found by its wnid. */
  search (page, "n02123045", "n02123045");
  g_assert_nonnull (strstr (row_subtitle (page, "membership_row"), "ILSVRC-2012"));

  /* Results wait for a choice; a wnid typed in full is chosen at once. */
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "search_entry"), "house cat");
  WnidWait unchosen = { page, "house cat", NULL, TRUE };
  kiln_test_spin_until (wnid_is, &unchosen, 10);
  g_assert_null (kiln_gather_page_get_wnid (page));
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "search_entry"), "n02084071");
  WnidWait typed = { page, "n02084071", "n02084071", FALSE };
  kiln_test_spin_until (wnid_is, &typed, 10);
  g_assert_cmpstr (kiln_gather_page_get_wnid (page), ==, "n02084071");

  /* A gloss with “&” is text, not markup (a markup error would abort here). */
  search (page, "ampersand", "n06841873");
  g_assert_nonnull (strstr (adw_preferences_group_get_title (group), "ampersand"));

  search (page, "qqxqzzv", NULL);
  GtkLabel *results = child (page, KILN_TYPE_GATHER_PAGE, "results_label");
  g_assert_nonnull (strstr (gtk_label_get_text (results), "No synset matches"));
  g_assert_cmpstr (row_subtitle (page, "wnid_row"), ==, "—");

  /* The API needs a synset: a clear message, no run. */
  AdwComboRow *source = child (page, KILN_TYPE_GATHER_PAGE, "source_row");
  adw_combo_row_set_selected (source, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL));
  g_assert_false (kiln_gather_page_is_running (page));
  g_assert_nonnull (strstr (status_text (page), "Choose a synset first"));
}

static const char *
chosen_name (KilnGatherPage *page)
{
  return adw_preferences_group_get_title (child (page, KILN_TYPE_GATHER_PAGE, "synset_group"));
}

/* The hyponym @wnid of the selected hierarchy row: expands that row and
 * selects the child, as a click on the expander and then the row does. */
static void
choose_child_in_tree (KilnGatherPage *page, const char *wnid)
{
  GtkListView *tree = child (page, KILN_TYPE_GATHER_PAGE, "tree_list");
  GtkSingleSelection *selection = GTK_SINGLE_SELECTION (gtk_list_view_get_model (tree));
  guint at = gtk_single_selection_get_selected (selection);
  GtkTreeListRow *parent = gtk_single_selection_get_selected_item (selection);

  g_assert_nonnull (parent);
  gtk_tree_list_row_set_expanded (parent, TRUE);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (selection));
  for (guint i = at + 1; i < n; i++)
    {
      g_autoptr(GtkTreeListRow) row = g_list_model_get_item (G_LIST_MODEL (selection), i);
      g_autoptr(GtkStringObject) item = gtk_tree_list_row_get_item (row);
      g_assert_cmpuint (gtk_tree_list_row_get_depth (row), >, gtk_tree_list_row_get_depth (parent));
      if (g_str_equal (gtk_string_object_get_string (item), wnid))
        {
          gtk_single_selection_set_selected (selection, i);
          return;
        }
    }
  g_assert_not_reached ();
}

/* The hierarchy: from the domestic cat up to its hypernym (Alt+Up) and
 * back down through the hypernym's hyponyms. */
static void
test_walk_hierarchy (Fixture *f, gconstpointer data)
{
  KilnGatherPage *page = f->page;
  GtkStack *sidebar = child (page, KILN_TYPE_GATHER_PAGE, "sidebar_stack");

  search (page, "n02121808", "n02121808");
  g_assert_cmpstr (row_subtitle (page, "hypernym_row"), ==, "cat · n02121620");

  /* Show in Hierarchy expands the path from "entity" and selects it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.reveal", NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (sidebar), ==, "browse");
  GtkListView *tree = child (page, KILN_TYPE_GATHER_PAGE, "tree_list");
  GtkSingleSelection *selection = GTK_SINGLE_SELECTION (gtk_list_view_get_model (tree));
  GtkTreeListRow *row = gtk_single_selection_get_selected_item (selection);
  g_assert_nonnull (row);
  g_autoptr(GtkStringObject) selected = gtk_tree_list_row_get_item (row);
  g_assert_cmpstr (gtk_string_object_get_string (selected), ==, "n02121808");
  g_assert_cmpuint (gtk_tree_list_row_get_depth (row), >, 5);

  /* Up (Alt+Up's action): the hypernym is chosen and selected in the tree. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.go-up", NULL));
  g_assert_cmpstr (kiln_gather_page_get_wnid (page), ==, "n02121620");
  g_assert_cmpstr (chosen_name (page), ==, "cat");
  row = gtk_single_selection_get_selected_item (selection);
  g_autoptr(GtkStringObject) up = gtk_tree_list_row_get_item (row);
  g_assert_cmpstr (gtk_string_object_get_string (up), ==, "n02121620");

  /* And down again, to the hyponym we came from. */
  choose_child_in_tree (page, "n02121808");
  g_assert_cmpstr (kiln_gather_page_get_wnid (page), ==, "n02121808");
  g_assert_cmpstr (chosen_name (page), ==, "domestic cat");

  /* The root has no hypernym: Up is off there. */
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "search_entry"), "n00001740");
  WnidWait root = { page, "n00001740", "n00001740", FALSE };
  kiln_test_spin_until (wnid_is, &root, 10);
  gtk_widget_activate_action (GTK_WIDGET (page), "gather.go-up", NULL);
  g_assert_cmpstr (kiln_gather_page_get_wnid (page), ==, "n00001740");
  g_assert_cmpstr (row_subtitle (page, "hypernym_row"), ==, "None: this is the root of the hierarchy");
}

/* Only the options that apply to the source are shown. */
static void
test_source_options (Fixture *f, gconstpointer data)
{
  KilnGatherPage *page = f->page;
  AdwComboRow *source = child (page, KILN_TYPE_GATHER_PAGE, "source_row");
  GtkWidget *subset = child (page, KILN_TYPE_GATHER_PAGE, "subset_row");
  GtkWidget *parallel = child (page, KILN_TYPE_GATHER_PAGE, "parallel_row");

  adw_combo_row_set_selected (source, 0);   /* URL list */
  g_assert_true (gtk_widget_get_visible (subset) && gtk_widget_get_visible (parallel));
  adw_combo_row_set_selected (source, 2);   /* archive: nothing to download */
  g_assert_true (gtk_widget_get_visible (subset));
  g_assert_false (gtk_widget_get_visible (parallel));
  adw_combo_row_set_selected (source, 3);   /* folder: no synsets either */
  g_assert_false (gtk_widget_get_visible (subset) || gtk_widget_get_visible (parallel));
}

static void
test_gather_url_list (Fixture *f, gconstpointer data)
{
  KilnWindow *window = f->window;
  KilnGatherPage *page = f->page;
  const char *dir = f->dir;
  const char *const lines[] = {
    "n02121808_1\t%s/img/tabby.jpg\n",
    "n02121808_2\t%s/img/kitten.jpg\n",
    "n02121808_3\t%s/gone/lost.jpg\n",
    "n02084071_1\t%s/img/dog.jpg\n",   /* another synset: not asked for */
    NULL,
  };
  g_autofree char *urls = write_url_list (dir, lines);

  search (page, "domestic cat", "n02121808");
  adw_combo_row_set_selected (child (page, KILN_TYPE_GATHER_PAGE, "source_row"), 0);
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "location_row"), urls);

  server.n_requests = 0;
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL));
  g_assert_true (kiln_gather_page_is_running (page));
  kiln_test_spin_until (not_running, page, 30);
  g_assert_false (kiln_gather_page_is_running (page));
  g_test_message ("status: %s", status_text (page));
  g_assert_true (g_str_has_prefix (status_text (page), "Done: kept 2 new images, rejected 1"));
  g_assert_nonnull (strstr (status_text (page), "http 1"));
  g_assert_cmpuint (server.n_requests, ==, 3);

  /* Why the 404 failed, on the page itself. */
  AdwPreferencesGroup *failures = child (page, KILN_TYPE_GATHER_PAGE, "failures_group");
  kiln_test_spin_until (is_visible, failures, 10);   /* read on a thread */
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (failures)));
  g_assert_cmpstr (adw_preferences_group_get_description (failures), ==, "1 URL will not be fetched again.");
  AdwActionRow *row = kiln_test_find_action_row (failures, "/gone/lost.jpg");
  g_assert_nonnull (row);
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (row), "rejected · HTTP 404"));

  g_autofree char *class_dir = g_build_filename (dir, "images", "n02121808", NULL);
  g_assert_cmpuint (count_files (class_dir), ==, 2);
  gpointer args[] = { window, GUINT_TO_POINTER (2) };
  kiln_test_spin_until (curate_shows, args, 10);
  g_assert_true (curate_shows (args));

  /* The summary says the same, a row per outcome. */
  g_assert_true (gtk_widget_get_visible (child (page, KILN_TYPE_GATHER_PAGE, "summary_group")));
  g_assert_cmpstr (row_subtitle (page, "kept_row"), ==, "2");
  g_assert_cmpstr (row_subtitle (page, "rejected_row"), ==, "1 · by reason: http 1");

  /* Every outcome was recorded: the second run fetches nothing. */
  server.n_requests = 0;
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL));
  kiln_test_spin_until (not_running, page, 30);
  g_test_message ("status: %s", status_text (page));
  g_assert_true (g_str_has_prefix (status_text (page), "Done: kept 0 new images"));
  g_assert_nonnull (strstr (status_text (page), "already done 3"));
  g_assert_cmpuint (server.n_requests, ==, 0);

  /* Opening the project again, in another window, shows the same outcomes. */
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *other = kiln_window_new (app);
  kiln_test_open_project (other, dir);
  KilnGatherPage *other_page = gather_page (other);
  GtkWidget *other_failures = child (other_page, KILN_TYPE_GATHER_PAGE, "failures_group");
  kiln_test_spin_until (is_visible, other_failures, 10);
  g_assert_nonnull (kiln_test_find_action_row (other_failures, "/gone/lost.jpg"));
  gtk_window_destroy (GTK_WINDOW (other));
}

/* A basket of two synsets: one Gather, each into its own class; the
 * synset left out of the basket is not fetched. */
static void
test_gather_a_basket (Fixture *f, gconstpointer data)
{
  KilnGatherPage *page = f->page;
  const char *const lines[] = {
    "n02121808_1\t%s/img/tabby.jpg\n",
    "n02084071_1\t%s/img/dog.jpg\n",
    "n02084071_2\t%s/img/puppy.jpg\n",
    "n01503061_1\t%s/img/bird.jpg\n",
    NULL,
  };
  g_autofree char *urls = write_url_list (f->dir, lines);
  GListModel *basket = kiln_gather_page_get_basket (page);

  search (page, "n02121808", "n02121808");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.add-to-basket", NULL));
  search (page, "n02084071", "n02084071");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.add-to-basket", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (basket), ==, 2);
  g_assert_true (gtk_widget_get_visible (child (page, KILN_TYPE_GATHER_PAGE, "basket_group")));
  /* A synset goes in once. */
  gtk_widget_activate_action (GTK_WIDGET (page), "gather.add-to-basket", NULL);
  g_assert_cmpuint (g_list_model_get_n_items (basket), ==, 2);
  /* In and out again. */
  search (page, "n01503061", "n01503061");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.add-to-basket", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.remove-from-basket", "s", "n01503061"));
  g_assert_cmpuint (g_list_model_get_n_items (basket), ==, 2);

  adw_combo_row_set_selected (child (page, KILN_TYPE_GATHER_PAGE, "source_row"), 0);
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "location_row"), urls);
  server.n_requests = 0;
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL));
  kiln_test_spin_until (not_running, page, 30);
  g_test_message ("status: %s", status_text (page));
  g_assert_true (g_str_has_prefix (status_text (page), "Done: kept 3 new images"));
  g_assert_cmpuint (server.n_requests, ==, 3);
  g_autofree char *cats = g_build_filename (f->dir, "images", "n02121808", NULL);
  g_autofree char *dogs = g_build_filename (f->dir, "images", "n02084071", NULL);
  g_autofree char *birds = g_build_filename (f->dir, "images", "n01503061", NULL);
  g_assert_cmpuint (count_files (cats), ==, 1);
  g_assert_cmpuint (count_files (dogs), ==, 2);
  g_assert_false (g_file_test (birds, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (row_subtitle (page, "kept_row"), ==, "3");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.clear-basket", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (basket), ==, 0);
}

static gboolean
page_is_running (gpointer page)
{
  return kiln_gather_page_is_running (page);
}

/* Gathering 300 images leaves the window drawing (the longest gap between
 * frames is reported; the asserted bound leaves room for a loaded machine). */
static void
test_gather_keeps_drawing (Fixture *f, gconstpointer data)
{
  KilnGatherPage *page = f->page;
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autofree char *urls = g_build_filename (f->dir, "urls.txt", NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 300; i++)
    g_string_append_printf (lines, "n02121808_%u\t%s/img/cat%u.jpg\n", i, server.base, i);
  g_file_set_contents (urls, lines->str, -1, &error);
  g_assert_no_error (error);
  gtk_widget_activate_action (GTK_WIDGET (f->window), "win.show-page", "s", "gather");
  adw_combo_row_set_selected (child (page, KILN_TYPE_GATHER_PAGE, "source_row"), 0);
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "location_row"), urls);

  KilnFrameWatch watch;
  kiln_test_frame_watch_start (&watch, GTK_WIDGET (page), page_is_running, page);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL));
  kiln_test_spin_until (not_running, page, 60);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  kiln_test_frame_watch_stop (&watch);
  g_test_message ("status: %s", status_text (page));
  g_test_message ("gathered 300 URLs in %.1f s: %u frames, the longest gap between frames %.0f ms",
                  seconds, watch.frames, watch.longest_gap / 1000.0);
  g_assert_true (g_str_has_prefix (status_text (page), "Done: kept "));
  g_assert_cmpuint (watch.frames, >, 0);
  g_assert_cmpint (watch.longest_gap, <, 1000 * 1000);
}

/* Without a project nothing can be gathered: the page says so, and asks
 * for a new or an opened one, instead of picking one itself. */
static void
test_no_project (void)
{
  g_autoptr(KilnApplication) app = kiln_test_make_app ();
  KilnWindow *window = kiln_window_new (app);
  KilnGatherPage *page = gather_page (window);
  AdwActionRow *target = child (page, KILN_TYPE_GATHER_PAGE, "target_row");

  gtk_window_present (GTK_WINDOW (window));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (target)), ==, "No Project Open");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (target), "make a new one or open one"));
  const char *before = g_intern_string (status_text (page));
  gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL);
  g_assert_false (kiln_gather_page_is_running (page));
  g_assert_cmpstr (status_text (page), ==, before);
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
stalls_reached (gpointer data)
{
  return server.stalled->len >= GPOINTER_TO_UINT (data);
}

static void
test_stop_a_stalled_run (Fixture *f, gconstpointer data)
{
  KilnGatherPage *page = f->page;
  const char *dir = f->dir;
  const char *const lines[] = {
    "%s/stall/one.jpg\n", "%s/stall/two.jpg\n", "%s/stall/three.jpg\n", NULL,
  };
  g_autofree char *urls = write_url_list (dir, lines);

  /* No synset: a URL list can be gathered as it is. */
  search (page, "", NULL);
  adw_combo_row_set_selected (child (page, KILN_TYPE_GATHER_PAGE, "source_row"), 0);
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "location_row"), urls);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL));
  kiln_test_spin_until (stalls_reached, GUINT_TO_POINTER (3), 10);
  g_assert_cmpuint (server.stalled->len, ==, 3);
  g_assert_true (kiln_gather_page_is_running (page));

  gint64 start = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.cancel", NULL));
  kiln_test_spin_until (not_running, page, 10);
  g_assert_false (kiln_gather_page_is_running (page));
  /* The total timeout is a minute: Stop does not wait for it. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_test_message ("status: %s", status_text (page));
  g_assert_true (g_str_has_prefix (status_text (page), "Stopped after keeping 0 images"));

  /* Nothing half-written anywhere in the project. */
  g_assert_cmpuint (count_files (dir), ==, 0);
}

/* Closing the window stops the run; the page outlives its widgets until
 * the run has ended, without touching them. */
static void
test_close_while_gathering (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnGatherPage) page = g_object_ref (f->page);
  const char *const lines[] = { "%s/stall/four.jpg\n", "%s/stall/five.jpg\n", NULL };
  g_autofree char *urls = write_url_list (f->dir, lines);

  adw_combo_row_set_selected (child (page, KILN_TYPE_GATHER_PAGE, "source_row"), 0);
  gtk_editable_set_text (child (page, KILN_TYPE_GATHER_PAGE, "location_row"), urls);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "gather.start", NULL));
  kiln_test_spin_until (stalls_reached, GUINT_TO_POINTER (2), 10);
  g_assert_cmpuint (server.stalled->len, ==, 2);

  gtk_window_destroy (GTK_WINDOW (f->window));
  f->window = NULL;
  kiln_test_spin_until (not_running, page, 10);
  g_assert_false (kiln_gather_page_is_running (page));
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

int
main (int argc, char **argv)
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();
  /* A GTK warning (markup that does not parse, say) fails the test. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  start_server ();

  g_test_add_func ("/gather-page/no-project", test_no_project);
  g_test_add ("/gather-page/browse-synsets", Fixture, NULL, fixture_setup, test_browse_synsets, fixture_teardown);
  g_test_add ("/gather-page/walk-hierarchy", Fixture, NULL, fixture_setup, test_walk_hierarchy, fixture_teardown);
  g_test_add ("/gather-page/source-options", Fixture, NULL, fixture_setup, test_source_options, fixture_teardown);
  g_test_add ("/gather-page/gather-a-basket", Fixture, NULL, fixture_setup, test_gather_a_basket, fixture_teardown);
  g_test_add ("/gather-page/gather-keeps-drawing", Fixture, NULL, fixture_setup, test_gather_keeps_drawing,
              fixture_teardown);
  g_test_add ("/gather-page/gather-a-url-list", Fixture, NULL, fixture_setup, test_gather_url_list,
              fixture_teardown);
  g_test_add ("/gather-page/stop-a-stalled-run", Fixture, NULL, fixture_setup, test_stop_a_stalled_run,
              fixture_teardown);
  g_test_add ("/gather-page/close-while-gathering", Fixture, NULL, fixture_setup, test_close_while_gathering,
              fixture_teardown);
  return g_test_run ();
}
