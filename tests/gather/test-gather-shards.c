/* Sharded gathering and merging against a real SoupServer on 127.0.0.1:
 * a 3,000-line URL list of tiny JPEGs (every 50th a 404, pairs with the
 * same bytes and pairs that differ in one pixel) gathered whole into one
 * project and as shards 0/3, 1/3, 2/3 into three; the three merged must
 * keep the same images (URL, bytes, class) and record the same outcome
 * for every URL, report each cross-shard pair once, and a second merge
 * must change nothing. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <libsoup/soup.h>
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

#define N_URLS 3000
#define N_SHARDS 3

typedef struct {
  SoupServer *server;
  char       *base;
  GPtrArray  *bodies;   /* GBytes per URL number, NULL for a 404 */
  char       *dir;
} Fixture;

static GBytes *
encode (GdkPixbuf *pixbuf)
{
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  gsize size = 0;

  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "jpeg", &error, "quality", "90", NULL);
  g_assert_no_error (error);
  return g_bytes_new_take (buffer, size);
}

static GdkPixbuf *
noise (guint32 seed)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 24, 24);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < 24; y++)
    for (int x = 0; x < 24 * 3; x++)
      pixels[y * stride + x] = g_rand_int_range (rand, 0, 256);
  return pixbuf;
}

/* URL n: a 404 when n % 50 == 0; the bytes of n - 1 when n % 100 == 7;
 * the picture of n - 1 with one pixel changed when n % 100 == 13. */
static void
make_bodies (Fixture *f)
{
  g_autoptr(GdkPixbuf) previous = NULL;

  f->bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint n = 0; n < N_URLS; n++)
    {
      g_autoptr(GdkPixbuf) pixbuf = NULL;

      if (n % 100 == 7)
        {
          g_ptr_array_add (f->bodies, g_bytes_ref (f->bodies->pdata[n - 1]));
          continue;
        }
      if (n % 100 == 13)
        {
          pixbuf = gdk_pixbuf_copy (previous);
          gdk_pixbuf_get_pixels (pixbuf)[0] ^= 0x80;
        }
      else
        pixbuf = noise (n + 1);
      g_ptr_array_add (f->bodies, n % 50 == 0 ? NULL : encode (pixbuf));
      g_set_object (&previous, pixbuf);
    }
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Fixture *f = data;
  guint64 n;
  GBytes *body;

  if (!g_str_has_prefix (path, "/i/") || !g_str_has_suffix (path, ".jpg"))
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }
  g_autofree char *number = g_strndup (path + 3, strlen (path) - 7);
  if (!g_ascii_string_to_unsigned (number, 10, 0, N_URLS - 1, &n, NULL) || (body = f->bodies->pdata[n]) == NULL)
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_COPY, g_bytes_get_data (body, NULL),
                                    g_bytes_get_size (body));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("kiln-shards-XXXXXX", &error);
  g_assert_no_error (error);
  make_bodies (f);
  f->server = kiln_test_http_server_new (handler, f, &f->base);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->server, kiln_test_http_server_free);
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->base);
  g_ptr_array_unref (f->bodies);
}

typedef struct {
  GMainLoop *loop;
  gboolean   ok;
  GError    *error;
} RunState;

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  RunState *rs = data;

  rs->ok = kiln_gatherer_run_finish (KILN_GATHERER (source), result, &rs->error);
  g_main_loop_quit (rs->loop);
}

static KilnProject *
gather (Fixture *f, const char *list, const char *name, guint shard, guint n_shards)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (path, &error);
  g_autoptr(KilnGatherRequest) req = kiln_gather_request_new (KILN_GATHER_URLS, list, "n02121808");
  g_autoptr(KilnGatherer) gatherer = NULL;
  RunState rs = { 0 };

  g_assert_no_error (error);
  req->max_parallel = 16;
  req->max_per_host = 16;
  req->shard_index = shard;
  req->shard_count = n_shards;
  gatherer = kiln_gatherer_new (project);
  rs.loop = g_main_loop_new (NULL, FALSE);
  kiln_gatherer_run_async (gatherer, req, NULL, on_done, &rs);
  g_main_loop_run (rs.loop);
  g_main_loop_unref (rs.loop);
  g_assert_no_error (rs.error);
  g_assert_true (rs.ok);
  return g_steal_pointer (&project);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
on_communicated (GObject *source, GAsyncResult *result, gpointer data)
{
  g_object_set_data_full (source, "result", g_object_ref (result), g_object_unref);
  g_main_loop_quit (data);
}

/* "url sha256 class" of every kept image, sorted. */
static GPtrArray *
kept_set (KilnProject *project)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) images = kiln_project_list_images (project, NULL, KILN_IMAGE_KEPT, &error);
  GPtrArray *set = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < images->len; i++)
    {
      const KilnImageRecord *r = images->pdata[i];
      g_autofree char *abs_path = kiln_project_build_path (project, r->path);
      g_autofree char *data = NULL;
      gsize len;

      /* The file itself, not only the row, must hold the image. */
      g_assert_true (g_file_get_contents (abs_path, &data, &len, NULL));
      g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data, len);
      g_assert_cmpstr (sum, ==, r->sha256);
      g_ptr_array_add (set, g_strdup_printf ("%s %s %s", r->source_url, r->sha256, r->class_name));
    }
  g_ptr_array_sort (set, compare_strings);
  return set;
}

static GHashTable *
outcomes (KilnProject *project)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) downloads = kiln_project_list_downloads (project, NULL, &error);
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < downloads->len; i++)
    {
      const KilnDownloadRecord *d = downloads->pdata[i];
      g_hash_table_insert (table, g_strdup (d->url), GINT_TO_POINTER (d->outcome + 1));
    }
  return table;
}

static void
test_shards_merge (Fixture *f, gconstpointer data)
{
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autoptr(GString) text = g_string_new ("# a comment line counts as a line\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) whole = NULL;
  g_autoptr(KilnProject) merged = NULL;
  g_autoptr(GPtrArray) expected = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GHashTable) want_outcomes = NULL;
  g_autoptr(GHashTable) got_outcomes = NULL;
  g_autofree char *merged_dir = g_build_filename (f->dir, "merged", NULL);
  KilnMergeStats stats = { 0 }, again = { 0 };
  guint64 n_shard_images = 0;
  GHashTableIter iter;
  gpointer key, value;

  for (guint n = 0; n < N_URLS; n++)
    g_string_append_printf (text, "%s/i/%u.jpg\n", f->base, n);
  g_assert_true (g_file_set_contents (list, text->str, text->len, NULL));

  whole = gather (f, list, "whole", 0, 0);
  merged = kiln_project_open (merged_dir, &error);
  g_assert_no_error (error);
  for (guint s = 0; s < N_SHARDS; s++)
    {
      g_autofree char *name = g_strdup_printf ("shard%u", s);
      g_autoptr(KilnProject) shard = gather (f, list, name, s, N_SHARDS);
      g_autofree char *shard_dir = g_build_filename (f->dir, name, NULL);
      gint64 n = kiln_project_count_images (shard, KILN_IMAGE_KEPT, &error);

      g_assert_no_error (error);
      /* Each shard took its third, not the whole list. */
      g_assert_cmpint (n, >, (N_URLS - N_URLS / 50) / N_SHARDS - 5);
      g_assert_cmpint (n, <, (N_URLS - N_URLS / 50) / N_SHARDS + 5);
      n_shard_images += n;
      g_assert_true (kiln_project_merge (merged, shard_dir, 4, &stats, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (n_shard_images, ==, N_URLS - N_URLS / 50);

  expected = kept_set (whole);
  got = kept_set (merged);
  g_assert_cmpuint (expected->len, ==, N_URLS - N_URLS / 50);
  g_assert_cmpuint (got->len, ==, expected->len);
  for (guint i = 0; i < expected->len; i++)
    g_assert_cmpstr (got->pdata[i], ==, expected->pdata[i]);

  want_outcomes = outcomes (whole);
  got_outcomes = outcomes (merged);
  g_assert_cmpuint (g_hash_table_size (got_outcomes), ==, g_hash_table_size (want_outcomes));
  g_hash_table_iter_init (&iter, want_outcomes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpint (GPOINTER_TO_INT (g_hash_table_lookup (got_outcomes, key)), ==, GPOINTER_TO_INT (value));

  /* Pairs sit on neighbouring lines, so always in two shards: each is
   * found once, when its second half arrives. */
  g_assert_cmpuint (stats.n_images, ==, N_URLS - N_URLS / 50);
  g_assert_cmpuint (stats.n_duplicates, ==, N_URLS / 100);
  g_assert_cmpuint (stats.n_near, >=, N_URLS / 100);
  g_assert_cmpuint (stats.n_near, <=, N_URLS / 100 + 2);
  g_assert_cmpuint (stats.n_already, ==, 0);

  /* Again: nothing new, nothing copied twice. */
  for (guint s = 0; s < N_SHARDS; s++)
    {
      g_autofree char *shard_dir = g_strdup_printf ("%s/shard%u", f->dir, s);
      g_assert_true (kiln_project_merge (merged, shard_dir, 4, &again, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (again.n_images, ==, 0);
  g_assert_cmpuint (again.n_downloads, ==, 0);
  g_assert_cmpuint (again.n_already, ==, N_URLS - N_URLS / 50);
  g_clear_pointer (&got, g_ptr_array_unref);
  got = kept_set (merged);
  g_assert_cmpuint (got->len, ==, expected->len);

  /* A project cannot swallow itself. */
  g_assert_false (kiln_project_merge (merged, merged_dir, 4, &again, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

/* kiln-cli, while this thread serves: the server answers only while the
 * main loop runs, so the CLI runs as a GSubprocess waited for in it. */
static int
run_cli (const char *const *args, char **out)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) cli = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *err = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("KILN_CLI"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  cli = g_subprocess_newv ((const char *const *) argv->pdata,
                           G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (cli, NULL, NULL, on_communicated, loop);
  g_main_loop_run (loop);
  g_assert_true (g_subprocess_communicate_utf8_finish (cli, g_object_get_data (G_OBJECT (cli), "result"),
                                                       out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("kiln-cli %s: %s", args[0], err);
  return g_subprocess_get_exit_status (cli);
}

/* The same through kiln-cli: two shards of a 40-line list gathered with
 * --shard, merged with `kiln-cli merge`, and the refusals. */
static void
test_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *p0 = g_build_filename (f->dir, "p0", NULL);
  g_autofree char *p1 = g_build_filename (f->dir, "p1", NULL);
  g_autofree char *all = g_build_filename (f->dir, "all", NULL);
  g_autofree char *out = NULL;

  for (guint n = 1; n <= 40; n++)
    g_string_append_printf (text, "%s/i/%u.jpg\n", f->base, n);
  g_assert_true (g_file_set_contents (list, text->str, text->len, NULL));

  const char *shard0[] = { "gather", "-p", p0, "--urls", list, "--shard", "0/2", "-q", NULL };
  const char *shard1[] = { "gather", "-p", p1, "--urls", list, "--shard", "1/2", "-q", NULL };
  const char *merge[] = { "merge", all, p0, p1, "--json", NULL };
  const char *bad[] = { "gather", "-p", p0, "--urls", list, "--shard", "2/2", NULL };
  const char *folder[] = { "gather", "-p", all, "--folder", f->dir, "--shard", "0/2", NULL };

  g_assert_cmpint (run_cli (shard0, NULL), ==, 0);
  g_assert_cmpint (run_cli (shard1, NULL), ==, 0);
  g_assert_cmpint (run_cli (merge, &out), ==, 0);
  /* 40 URLs, 20 a shard; URL 50 would be the first 404. URL 7 repeats 6's
   * bytes (shards 0 and 1), 13 looks like 12. */
  g_assert_nonnull (strstr (out, "\"images\" : 40"));
  g_assert_nonnull (strstr (out, "\"duplicates\" : 1"));
  g_assert_nonnull (strstr (out, "\"near_duplicates\" : 1"));
  g_assert_cmpint (run_cli (bad, NULL), ==, 2);
  g_assert_cmpint (run_cli (folder, NULL), ==, 1);
}

static void
test_shard_refusals (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnGatherRequest) folder = kiln_gather_request_new (KILN_GATHER_FOLDER, ".", NULL);
  g_autoptr(KilnGatherRequest) urls = kiln_gather_request_new (KILN_GATHER_API, NULL, "n02121808");

  folder->shard_count = 2;
  g_assert_false (kiln_gather_request_check (folder, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "URL lists and the API only"));
  g_clear_error (&error);
  urls->shard_count = 3;
  urls->shard_index = 3;
  g_assert_false (kiln_gather_request_check (urls, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  urls->shard_index = 2;
  g_assert_true (kiln_gather_request_check (urls, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gather/shards/refusals", test_shard_refusals);
  g_test_add ("/gather/shards/cli", Fixture, NULL, fixture_setup, test_cli, fixture_teardown);
  g_test_add ("/gather/shards/merge", Fixture, NULL, fixture_setup, test_shards_merge, fixture_teardown);
  return g_test_run ();
}
