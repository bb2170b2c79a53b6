/* KilnGatherer against a real libsoup SoupServer on 127.0.0.1 in this
 * process, serving real PNG/JPEG images (made with GdkPixbuf here) and every
 * fault a broken-link list has: 404, 410, 500 then success, 500 forever,
 * 429 with Retry-After, a connection closed mid-body, a stalled body, a slow
 * drip, a redirect chain, a redirect to a placeholder, HTML with 200, a wrong
 * content type, oversized bodies (declared and streamed), a truncated JPEG,
 * garbage, a tiny file, a name with "../" and one of 300 characters; and
 * those of issue 16: a body shorter than its Content-Length, an API
 * template without {wnid}, lines that are no URL, empty hosts, a redirect
 * to file://, a page served as image/jpeg, placeholders found without
 * registration. Each URL must end with the right recorded outcome and
 * attempts, no partial file may remain, the run must take about one
 * timeout (not their sum), and a run after an interruption must fetch only
 * what was missing. */
#include <archive.h>
#include <archive_entry.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <string.h>

#include "kiln-core.h"
#include "kiln-gatherer-private.h"
#include "test-util.h"

#define CONNECT_MS 500
#define TOTAL_MS 1000
#define RETRY_AFTER_S 1

typedef struct {
  SoupServer *server;
  char       *base;          /* http://127.0.0.1:PORT */
  GBytes     *png;
  GBytes     *jpeg;
  GBytes     *card;          /* a "photo unavailable" card, small */
  GBytes     *tiny;          /* 4 × 4 pixels */
  GBytes     *big;           /* a JPEG over 16 KiB: not a placeholder at the end of a redirect */
  GHashTable *hits;          /* path → count */
  GPtrArray  *stalled;       /* SoupServerMessage * kept open */
  GArray     *drips;         /* source ids of dripping responses */
  char       *dir;
} Fixture;

static GBytes *
make_image (const char *type, int w, int h, guint32 seed)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  gsize size = 0;

  /* Noise, so the files are a few kilobytes, above the minimum size. */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w * 3; x++)
      pixels[y * stride + x] = g_rand_int_range (rand, 0, 256);
  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, type, &error, NULL);
  g_assert_no_error (error);
  return g_bytes_new_take (buffer, size);
}

/* A "photo unavailable" card: gray, a dark band, a light frame. */
static GBytes *
make_card (void)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);
  g_autoptr(GError) error = NULL;
  char *buf;
  gsize size;

  for (int y = 0; y < 240; y++)
    for (int x = 0; x < 320; x++)
      {
        guint8 *p = gdk_pixbuf_get_pixels (pixbuf) + y * gdk_pixbuf_get_rowstride (pixbuf) + x * 3;
        guint8 v = (y > 100 && y < 140 && x > 60 && x < 260) ? 40 : (x < 10 || y < 10) ? 250 : 180 - y / 4;
        p[0] = p[1] = p[2] = v;
      }
  gdk_pixbuf_save_to_buffer (pixbuf, &buf, &size, "png", &error, NULL);
  g_assert_no_error (error);
  return g_bytes_new_take (buf, size);
}

static void
serve_bytes (SoupServerMessage *msg, const char *type, GBytes *bytes)
{
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY,
                                    g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static gboolean
unpause_cb (gpointer data)
{
  soup_server_message_unpause (data);
  return G_SOURCE_REMOVE;
}

static guint
count_hit (Fixture *f, const char *path)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, path)) + 1;
  g_hash_table_insert (f->hits, g_strdup (path), GUINT_TO_POINTER (n));
  return n;
}

typedef struct {
  SoupServerMessage *msg;
  GBytes *bytes;
  gsize off;
  guint id;
} Drip;

static gboolean
drip_cb (gpointer data)
{
  Drip *d = data;
  gsize n = MIN (64, g_bytes_get_size (d->bytes) - d->off);

  if (n == 0)
    {
      soup_message_body_complete (soup_server_message_get_response_body (d->msg));
      soup_server_message_unpause (d->msg);
      return G_SOURCE_REMOVE;
    }
  soup_message_body_append (soup_server_message_get_response_body (d->msg), SOUP_MEMORY_COPY,
                            (const char *) g_bytes_get_data (d->bytes, NULL) + d->off, n);
  d->off += n;
  soup_server_message_unpause (d->msg);
  return G_SOURCE_CONTINUE;
}

static void
drip_free (gpointer data)
{
  Drip *d = data;
  g_signal_handlers_disconnect_by_data (d->msg, d);
  g_object_unref (d->msg);
  g_bytes_unref (d->bytes);
  g_free (d);
}

/* The client went away: stop dripping (frees the Drip). */
static void
on_msg_finished (SoupServerMessage *msg, gpointer data)
{
  Drip *d = data;
  GSource *source = g_main_context_find_source_by_id (NULL, d->id);

  if (source)
    g_source_destroy (source);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path,
         GHashTable *query, gpointer data)
{
  Fixture *f = data;
  guint n = count_hit (f, path);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (g_str_has_prefix (path, "/img/") || g_str_has_prefix (path, "/other/") ||
      g_str_has_prefix (path, "/files/"))
    serve_bytes (msg, "image/png", f->png);
  else if (g_str_has_prefix (path, "/slow/"))
    {
      /* An image after 40 ms, so a run can be interrupted midway. */
      serve_bytes (msg, "image/png", f->png);
      soup_server_message_pause (msg);
      g_timeout_add_full (G_PRIORITY_DEFAULT, 40, unpause_cb, g_object_ref (msg), g_object_unref);
    }
  else if (g_str_has_prefix (path, "/photo/"))
    serve_bytes (msg, "image/jpeg", f->jpeg);
  else if (g_str_has_prefix (path, "/octet/"))
    serve_bytes (msg, "application/octet-stream", f->jpeg);
  else if (g_str_has_prefix (path, "/404/"))
    soup_server_message_set_status (msg, 404, NULL);
  else if (g_str_has_prefix (path, "/410/"))
    soup_server_message_set_status (msg, 410, NULL);
  else if (g_str_has_prefix (path, "/flaky/"))
    {
      if (n == 1)
        soup_server_message_set_status (msg, 500, NULL);
      else
        serve_bytes (msg, "image/png", f->png);
    }
  else if (g_str_has_prefix (path, "/down/"))
    soup_server_message_set_status (msg, 503, NULL);
  else if (g_str_has_prefix (path, "/busy/"))
    {
      if (n == 1)
        {
          soup_server_message_set_status (msg, 429, NULL);
          soup_message_headers_replace (headers, "Retry-After", G_STRINGIFY (RETRY_AFTER_S));
        }
      else
        serve_bytes (msg, "image/png", f->png);
    }
  else if (g_str_has_prefix (path, "/closed/"))
    {
      /* Promise the whole image, send a third, close the connection. */
      g_autoptr(GIOStream) conn = soup_server_message_steal_connection (msg);
      GOutputStream *out = g_io_stream_get_output_stream (conn);
      gsize size = g_bytes_get_size (f->png);
      g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                                               "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", size);
      g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
      g_output_stream_write_all (out, g_bytes_get_data (f->png, NULL), size / 3, NULL, NULL, NULL);
      g_io_stream_close (conn, NULL, NULL);
    }
  else if (g_str_has_prefix (path, "/short/"))
    {
      /* HTTP/1.0 promising 10,000 bytes more than the whole image it
       * sends, then closing: libsoup ends such a body without an error. */
      g_autoptr(GIOStream) conn = soup_server_message_steal_connection (msg);
      GOutputStream *out = g_io_stream_get_output_stream (conn);
      gsize size = g_bytes_get_size (f->png);
      g_autofree char *head = g_strdup_printf ("HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n"
                                               "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n",
                                               size + 10000);
      g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
      g_output_stream_write_all (out, g_bytes_get_data (f->png, NULL), size, NULL, NULL, NULL);
      g_io_stream_close (conn, NULL, NULL);
    }
  else if (g_str_has_prefix (path, "/tofile/"))
    soup_server_message_set_redirect (msg, 302, "file:///etc/passwd");
  else if (g_str_has_prefix (path, "/htmljpeg/"))
    {
      static const char page[] = "<!DOCTYPE html><html><body>Gone.</body></html>";
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_STATIC, page, sizeof page - 1);
    }
  else if (g_str_has_prefix (path, "/stall/") || g_str_has_prefix (path, "/drip/"))
    {
      /* Headers and the first bytes, then nothing (stall) or 64 bytes every
       * 100 ms (drip: many seconds for the image), both past the total
       * timeout. The server waits for more chunks by itself. */
      soup_server_message_set_status (msg, 200, NULL);
      soup_message_headers_set_content_type (headers, "image/png", NULL);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                                g_bytes_get_data (f->png, NULL), 256);
      if (g_str_has_prefix (path, "/drip/"))
        {
          Drip *d = g_new0 (Drip, 1);
          d->msg = g_object_ref (msg);
          d->bytes = g_bytes_ref (f->png);
          d->off = 256;
          d->id = g_timeout_add_full (G_PRIORITY_DEFAULT, 100, drip_cb, d, drip_free);
          g_signal_connect (msg, "finished", G_CALLBACK (on_msg_finished), d);
          g_array_append_val (f->drips, d->id);
        }
      g_ptr_array_add (f->stalled, g_object_ref (msg));
    }
  else if (g_str_has_prefix (path, "/hostile/to-file/"))
    soup_server_message_set_redirect (msg, 302, "file:///etc/passwd");
  else if (g_str_has_prefix (path, "/hostile/to-ftp/"))
    soup_server_message_set_redirect (msg, 302, "ftp://127.0.0.1/cat.png");
  else if (g_str_has_prefix (path, "/hostile/loop/"))
    {
      /* A 10,000-step redirect chain. */
      guint64 step = g_ascii_strtoull (path + strlen ("/hostile/loop/"), NULL, 10);
      g_autofree char *next = g_strdup_printf ("/hostile/loop/%" G_GUINT64_FORMAT "/cat.png", step + 1);
      if (step < 10000)
        soup_server_message_set_redirect (msg, 302, next);
      else
        serve_bytes (msg, "image/png", f->png);
    }
  else if (g_str_has_prefix (path, "/hostile/gzip-bomb/"))
    {
      /* 64 MiB of zeros in 64 KiB of gzip. */
      static GBytes *bomb;
      if (bomb == NULL)
        {
          g_autoptr(GZlibCompressor) zc = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
          g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();
          g_autoptr(GOutputStream) gz = g_converter_output_stream_new (mem, G_CONVERTER (zc));
          g_autofree guint8 *zeros = g_malloc0 (1 << 20);
          for (int i = 0; i < 64; i++)
            g_output_stream_write_all (gz, zeros, 1 << 20, NULL, NULL, NULL);
          g_output_stream_close (gz, NULL, NULL);
          bomb = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
        }
      soup_message_headers_replace (headers, "Content-Encoding", "gzip");
      serve_bytes (msg, "image/png", bomb);
    }
  else if (g_str_has_prefix (path, "/chain/a/"))
    soup_server_message_set_redirect (msg, 302, "/chain/b/cat.png");
  else if (g_str_has_prefix (path, "/chain/b/"))
    soup_server_message_set_redirect (msg, 301, "/big/cat.png");
  else if (g_str_has_prefix (path, "/big/"))
    serve_bytes (msg, "image/jpeg", f->big);
  else if (g_str_has_prefix (path, "/moved/"))
    soup_server_message_set_redirect (msg, 302, "/static/photo_unavailable.png");
  else if (g_str_has_prefix (path, "/static/"))
    serve_bytes (msg, "image/png", f->card);
  else if (g_str_has_prefix (path, "/html/"))
    {
      const char *page = "<!DOCTYPE html><html><body>This image is no longer available"
                         "................................................................"
                         "................................................................"
                         "</body></html>";
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, page, strlen (page));
    }
  else if (g_str_has_prefix (path, "/wrongtype/"))
    serve_bytes (msg, "application/json", f->png);
  else if (g_str_has_prefix (path, "/huge/"))
    {
      /* Declared too large: refused from the header alone. */
      g_autofree char *big = g_malloc0 (600 * 1024);
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "image/png", SOUP_MEMORY_COPY, big, 600 * 1024);
    }
  else if (g_str_has_prefix (path, "/hugestream/"))
    {
      /* No length, too large: refused while streaming. */
      g_autofree char *big = g_malloc0 (600 * 1024);
      soup_server_message_set_status (msg, 200, NULL);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      soup_message_headers_set_content_type (headers, "image/png", NULL);
      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY, big, 600 * 1024);
      soup_message_body_complete (soup_server_message_get_response_body (msg));
    }
  else if (g_str_has_prefix (path, "/truncated/"))
    {
      g_autoptr(GBytes) part = g_bytes_new_from_bytes (f->jpeg, 0, g_bytes_get_size (f->jpeg) * 2 / 3);
      serve_bytes (msg, "image/jpeg", part);
    }
  else if (g_str_has_prefix (path, "/garbage/"))
    {
      g_autofree char *junk = g_strnfill (4000, 'x');
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "image/png", SOUP_MEMORY_COPY, junk, 4000);
    }
  else if (g_str_has_prefix (path, "/tiny/"))
    serve_bytes (msg, "image/png", f->tiny);
  else
    soup_server_message_set_status (msg, 404, NULL);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;

  f->dir = g_dir_make_tmp ("kiln-gather-XXXXXX", &error);
  g_assert_no_error (error);
  f->png = make_image ("png", 64, 48, 1);
  f->jpeg = make_image ("jpeg", 80, 60, 2);
  f->card = make_card ();
  f->tiny = make_image ("png", 4, 4, 3);
  f->big = make_image ("jpeg", 240, 180, 21);
  f->hits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  f->stalled = g_ptr_array_new_with_free_func (g_object_unref);
  f->drips = g_array_new (FALSE, FALSE, sizeof (guint));
  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, handler, f, NULL);
  soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  f->base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < f->drips->len; i++)
    {
      GSource *source = g_main_context_find_source_by_id (NULL, g_array_index (f->drips, guint, i));
      if (source)
        g_source_destroy (source);
    }
  g_array_unref (f->drips);
  g_ptr_array_unref (f->stalled);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  /* Let the server's pending sources go before the next test. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->base);
  g_bytes_unref (f->png);
  g_bytes_unref (f->jpeg);
  g_bytes_unref (f->card);
  g_bytes_unref (f->tiny);
  g_bytes_unref (f->big);
  g_hash_table_unref (f->hits);
}

typedef struct {
  GMainLoop *loop;
  gboolean ok;
  GError *error;
  guint n_progress;
  gboolean wrong_thread;
  GThread *main_thread;
  KilnGatherProgress last;
  GCancellable *cancel_after;
  guint64 cancel_at_kept;
} RunState;

static void
on_progress (KilnGatherer *g, const KilnGatherProgress *p, gpointer data)
{
  RunState *rs = data;

  rs->n_progress++;
  rs->wrong_thread |= g_thread_self () != rs->main_thread;
  rs->last = *p;
  if (rs->cancel_after && p->n_kept >= rs->cancel_at_kept)
    g_cancellable_cancel (rs->cancel_after);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  RunState *rs = data;

  rs->ok = kiln_gatherer_run_finish (KILN_GATHERER (source), result, &rs->error);
  g_main_loop_quit (rs->loop);
}

static gboolean
run_gather (KilnProject *project, KilnGatherRequest *req, RunState *rs, GCancellable *cancellable)
{
  g_autoptr(KilnGatherer) g = kiln_gatherer_new (project);

  rs->loop = g_main_loop_new (NULL, FALSE);
  rs->main_thread = g_thread_self ();
  g_signal_connect (g, "progress", G_CALLBACK (on_progress), rs);
  kiln_gatherer_run_async (g, req, cancellable, on_done, rs);
  g_main_loop_run (rs->loop);
  g_main_loop_unref (rs->loop);
  kiln_gatherer_get_progress (g, &rs->last);
  return rs->ok;
}

static KilnGatherRequest *
test_request (KilnGatherSource source, const char *location, const char *wnid)
{
  KilnGatherRequest *req = kiln_gather_request_new (source, location, wnid);

  req->max_parallel = 16;
  req->max_per_host = 16;
  req->connect_timeout_ms = CONNECT_MS;
  req->total_timeout_ms = TOTAL_MS;
  req->max_retries = 1;
  req->backoff_ms = 100;
  req->max_retry_after_ms = 5000;
  req->max_bytes = 512 * 1024;
  req->min_bytes = 200;
  return req;
}

typedef struct {
  const char *path;
  KilnDownloadOutcome outcome;
  const char *reason;
  int status;
} Expect;

static const Expect expectations[] = {
  { "/img/cat.png", KILN_DOWNLOAD_KEPT, "kept", 200 },
  { "/other/cat.png", KILN_DOWNLOAD_KEPT, "kept", 200 },          /* same name: -1 */
  { "/photo/tabby.jpg", KILN_DOWNLOAD_KEPT, "kept", 200 },
  { "/octet/blob", KILN_DOWNLOAD_KEPT, "kept", 200 },
  { "/404/gone.png", KILN_DOWNLOAD_REJECTED, "http", 404 },
  { "/410/gone.png", KILN_DOWNLOAD_REJECTED, "http", 410 },
  { "/flaky/once.png", KILN_DOWNLOAD_KEPT, "kept", 200 },
  { "/down/always.png", KILN_DOWNLOAD_FAILED, "server", 503 },
  { "/busy/later.png", KILN_DOWNLOAD_KEPT, "kept", 200 },
  { "/closed/early.png", KILN_DOWNLOAD_FAILED, "truncated", 200 },     /* retried once */
  { "/stall/forever.png", KILN_DOWNLOAD_FAILED, "timeout", 200 },
  { "/drip/slow.png", KILN_DOWNLOAD_FAILED, "timeout", 200 },
  { "/chain/a/cat.png", KILN_DOWNLOAD_KEPT, "kept", 200 },       /* to a large cat.png elsewhere: a CDN */
  { "/moved/dog.jpg", KILN_DOWNLOAD_REJECTED, "placeholder", 200 },
  { "/html/page.png", KILN_DOWNLOAD_REJECTED, "content-type", 200 },
  { "/wrongtype/x.png", KILN_DOWNLOAD_REJECTED, "content-type", 200 },
  { "/huge/big.png", KILN_DOWNLOAD_REJECTED, "too-large", 200 },
  { "/hugestream/big.png", KILN_DOWNLOAD_REJECTED, "too-large", 200 },
  { "/truncated/half.jpg", KILN_DOWNLOAD_REJECTED, "truncated", 200 },
  { "/garbage/junk.png", KILN_DOWNLOAD_REJECTED, "not-an-image", 200 },
  { "/tiny/t.png", KILN_DOWNLOAD_REJECTED, "too-small", 200 },
  { "/files/..%5C..%5C..%5Cescape.png", KILN_DOWNLOAD_KEPT, "kept", 200 },  /* SoupServer refuses an encoded "/" */
  { "/files/LONG", KILN_DOWNLOAD_KEPT, "kept", 200 },
};

static char *
expect_url (Fixture *f, const Expect *e)
{
  if (g_str_equal (e->path, "/files/LONG"))
    {
      g_autofree char *a300 = g_strnfill (300, 'a');
      return g_strdup_printf ("%s/files/%s.png", f->base, a300);
    }
  return g_strconcat (f->base, e->path, NULL);
}

static char *
write_url_list (Fixture *f, gboolean fall11)
{
  g_autoptr(GString) text = g_string_new ("# test list\n\n");
  g_autofree char *path = g_build_filename (f->dir, fall11 ? "fall11_urls.txt" : "urls.txt", NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (expectations); i++)
    {
      g_autofree char *url = expect_url (f, &expectations[i]);
      if (fall11)
        g_string_append_printf (text, "n02121808_%u\t%s\r\n", i + 1, url);
      else
        g_string_append_printf (text, "%s\n", url);
    }
  /* Another synset's line, which a --wnid run must ignore. */
  if (fall11)
    g_string_append_printf (text, "n02084071_1\t%s/img/dog.png\n", f->base);
  g_file_set_contents (path, text->str, text->len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static char *
write_list (Fixture *f, const char *name, const char *text, gssize len)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static KilnDownloadRecord *
get_record (KilnProject *project, const char *base, const char *path)
{
  g_autofree char *url = g_strconcat (base, path, NULL);
  g_autoptr(GError) error = NULL;
  KilnDownloadRecord *rec = kiln_project_get_download (project, url, &error);

  g_assert_no_error (error);
  if (rec == NULL)
    g_error ("%s: not recorded", url);
  return rec;
}

static void
assert_record (KilnProject *project, const char *base, const char *path,
               KilnDownloadOutcome outcome, const char *reason)
{
  g_autoptr(KilnDownloadRecord) rec = get_record (project, base, path);

  if (rec->outcome != outcome || !g_str_has_prefix (rec->detail, reason))
    g_error ("%s: got %s “%s”, expected %s %s", path, kiln_download_outcome_to_string (rec->outcome),
             rec->detail, kiln_download_outcome_to_string (outcome), reason);
}

static guint
hits_of (Fixture *f, const char *path)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, path));
}

/* Every file under the project is the store or a recorded kept image. */
static void
assert_no_stray_files (const char *dir, const char *rel, GHashTable *kept_files)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *child_rel = *rel ? g_strconcat (rel, "/", name, NULL) : g_strdup (name);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        assert_no_stray_files (path, child_rel, kept_files);
      else if (!g_str_has_prefix (child_rel, "kiln.db"))
        {
          if (!g_hash_table_contains (kept_files, child_rel))
            g_error ("stray file %s", child_rel);
        }
    }
}

static void
check_outcomes (Fixture *f, KilnProject *project)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) kept_files = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) records = kiln_project_list_downloads (project, NULL, &error);
  guint n_kept = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, G_N_ELEMENTS (expectations));
  for (guint i = 0; i < G_N_ELEMENTS (expectations); i++)
    {
      const Expect *e = &expectations[i];
      g_autofree char *url = expect_url (f, e);
      g_autoptr(KilnDownloadRecord) rec = kiln_project_get_download (project, url, &error);

      g_assert_no_error (error);
      if (rec == NULL)
        g_error ("%s: not recorded", e->path);
      if (rec->outcome != e->outcome || !g_str_has_prefix (rec->detail, e->reason) ||
          rec->http_status != e->status)
        g_error ("%s: got %s/%d “%s”, expected %s/%d %s", e->path,
                 kiln_download_outcome_to_string (rec->outcome), rec->http_status, rec->detail,
                 kiln_download_outcome_to_string (e->outcome), e->status, e->reason);
      if (rec->outcome == KILN_DOWNLOAD_KEPT)
        {
          g_autofree char *abs = kiln_project_build_path (project, rec->file);
          g_autofree char *base = g_path_get_basename (rec->file);
          g_autoptr(KilnImageRecord) image = kiln_project_find_image (project, rec->file, &error);

          n_kept++;
          g_assert_no_error (error);
          g_assert_nonnull (image);
          g_assert_cmpstr (image->source_url, ==, url);
          g_assert_true (g_file_test (abs, G_FILE_TEST_IS_REGULAR));
          g_assert_true (g_str_has_prefix (rec->file, "images/n02121808/"));
          g_assert_null (strstr (base, ".."));
          g_assert_cmpuint (strlen (base), <=, 130);
          g_assert_false (g_hash_table_contains (kept_files, rec->file));
          g_hash_table_add (kept_files, g_strdup (rec->file));
        }
    }
  g_assert_cmpuint (n_kept, ==, 9);
  {
    g_autoptr(GPtrArray) images = kiln_project_list_images (project, NULL, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (images->len, ==, n_kept);
  }
  /* The two cat.png, the 300-character name. */
  {
    g_autofree char *first = g_build_filename (f->dir, "project", "images", "n02121808", "cat.png", NULL);
    g_autofree char *second = g_build_filename (f->dir, "project", "images", "n02121808", "cat-1.png", NULL);
    g_autofree char *a120 = g_strnfill (120, 'a');
    g_autofree char *long_name = g_strdup_printf ("%s.png", a120);
    g_autofree char *long_path = g_build_filename (f->dir, "project", "images", "n02121808", long_name, NULL);
    g_assert_true (g_file_test (first, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (second, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (long_path, G_FILE_TEST_EXISTS));
  }
  {
    g_autofree char *root = g_build_filename (f->dir, "project", NULL);
    assert_no_stray_files (root, "", kept_files);
    g_hash_table_steal_all (kept_files);
  }
}

/* `kiln-cli gather --report --failed` shows why each URL failed. */
static void
check_cli_report (const char *pdir)
{
  const char *args[] = { "gather", "--project", pdir, "--report", "--failed", "--json", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (kiln_test_run_cli (args, &out, &err), ==, 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  JsonArray *rows = json_node_get_array (json_parser_get_root (parser));
  /* 10 rejected and 4 failed; no kept image listed. */
  g_assert_cmpuint (json_array_get_length (rows), ==, 14);
  gboolean saw_404 = FALSE;
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *row = json_array_get_object_element (rows, i);
      g_assert_cmpstr (json_object_get_string_member (row, "outcome"), !=, "kept");
      /* Real attempts: one retry after the first 503. */
      if (g_str_has_suffix (json_object_get_string_member (row, "url"), "/down/always.png"))
        g_assert_cmpint (json_object_get_int_member (row, "attempts"), ==, 2);
      if (g_str_has_suffix (json_object_get_string_member (row, "url"), "/404/gone.png"))
        {
          g_assert_cmpint (json_object_get_int_member (row, "attempts"), ==, 1);
          saw_404 = TRUE;
          g_assert_cmpstr (json_object_get_string_member (row, "outcome"), ==, "rejected");
          g_assert_cmpint (json_object_get_int_member (row, "http_status"), ==, 404);
        }
    }
  g_assert_true (saw_404);
}

static void
test_faults (Fixture *f, gconstpointer data)
{
  gboolean fall11 = GPOINTER_TO_INT (data);
  g_autofree char *list = write_url_list (f, fall11);
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = test_request (KILN_GATHER_URLS, list, "n02121808");
  RunState rs = { 0 };
  gint64 t0;
  double elapsed;

  g_assert_no_error (error);
  t0 = g_get_monotonic_time ();
  g_assert_true (run_gather (project, req, &rs, NULL));
  elapsed = (g_get_monotonic_time () - t0) / 1e6;
  g_assert_no_error (rs.error);
  g_test_message ("gathered %u URLs in %.2f s", (guint) G_N_ELEMENTS (expectations), elapsed);

  check_outcomes (f, project);
  check_cli_report (pdir);
  /* One timeout, its backoff and its retry bound the run (about 2.1 s).
   * The waits one after another would take at least 5.3 s: two stalled
   * bodies 2 × (1 + 0.1 + 1) s, the 429's Retry-After 1 s, two backoffs. The
   * bound sits between, with room for a loaded machine. */
  g_assert_cmpfloat (elapsed, <, 4.5);
  g_assert_cmpuint (rs.last.n_kept, ==, 9);
  g_assert_cmpuint (rs.last.n_rejected, ==, 10);
  g_assert_cmpuint (rs.last.n_failed, ==, 4);
  g_assert_cmpuint (rs.last.by_reason[KILN_GATHER_REASON_TIMEOUT], ==, 2);
  g_assert_cmpuint (rs.last.by_reason[KILN_GATHER_REASON_PLACEHOLDER], ==, 1);
  g_assert_cmpuint (rs.last.n_in_flight, ==, 0);
  g_assert_true (rs.last.bytes > 0);
  g_assert_true (rs.n_progress > 0);
  g_assert_false (rs.wrong_thread);
  /* Retried: 500 once, 503 twice (one retry), 429 once, the closed body
   * once; the dog line of another synset never fetched. */
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, "/flaky/once.png")), ==, 2);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, "/down/always.png")), ==, 2);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, "/busy/later.png")), ==, 2);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, "/404/gone.png")), ==, 1);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, "/closed/early.png")), ==, 2);
  g_assert_false (g_hash_table_contains (f->hits, "/img/dog.png"));
  {
    g_autoptr(KilnDownloadRecord) flaky = get_record (project, f->base, "/flaky/once.png");
    g_assert_cmpint (flaky->attempts, ==, 2);
  }

  /* A second run has nothing left to fetch. */
  g_hash_table_remove_all (f->hits);
  {
    RunState again = { 0 };
    g_assert_true (run_gather (project, req, &again, NULL));
    g_assert_cmpuint (g_hash_table_size (f->hits), ==, 0);
    g_assert_cmpuint (again.last.n_skipped, ==, G_N_ELEMENTS (expectations));
    g_assert_cmpuint (again.last.n_done, ==, 0);
  }
  check_outcomes (f, project);
}

/* Interrupted after a few images, then resumed: every URL is fetched by
 * exactly one run, except those in flight at the interruption. */
static void
test_resume (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GHashTable) first_hits = NULL;
  g_autoptr(GPtrArray) records = NULL;
  RunState rs = { 0 };
  const guint n = 60;
  guint refetched = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s/slow/p%03u.png\n", f->base, i);
  g_file_set_contents (list, text->str, text->len, &error);
  g_assert_no_error (error);

  req = test_request (KILN_GATHER_URLS, list, "n02121808");
  req->max_parallel = 2;
  rs.cancel_after = cancellable;
  rs.cancel_at_kept = 10;
  g_assert_false (run_gather (project, req, &rs, cancellable));
  g_assert_error (rs.error, KILN_ERROR, KILN_ERROR_CANCELLED);
  g_clear_error (&rs.error);

  records = kiln_project_list_downloads (project, NULL, &error);
  g_assert_no_error (error);
  for (guint k = 0; k < records->len; k++)
    g_assert_true (kiln_download_outcome_is_done (((KilnDownloadRecord *) g_ptr_array_index (records, k))->outcome));
  g_assert_cmpuint (records->len, >=, 10);
  g_assert_cmpuint (records->len, <, n);
  first_hits = g_steal_pointer (&f->hits);
  f->hits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  {
    g_autofree char *tmp = g_build_filename (pdir, "cache", "gather-tmp", NULL);
    g_autoptr(GDir) d = g_dir_open (tmp, 0, NULL);
    g_assert_null (d ? g_dir_read_name (d) : NULL);
  }

  {
    RunState again = { 0 };
    g_assert_true (run_gather (project, req, &again, NULL));
    g_assert_no_error (again.error);
    g_assert_cmpuint (again.last.n_skipped, ==, records->len);
  }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("/slow/p%03u.png", i);
      g_autofree char *url = g_strconcat (f->base, path, NULL);
      gboolean done_first = FALSE;
      guint a = GPOINTER_TO_UINT (g_hash_table_lookup (first_hits, path));
      guint b = GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, path));

      for (guint k = 0; k < records->len; k++)
        done_first |= g_str_equal (((KilnDownloadRecord *) g_ptr_array_index (records, k))->url, url);
      if (done_first)
        g_assert_cmpuint (b, ==, 0);
      else
        g_assert_cmpuint (b, ==, 1);
      refetched += a == 1 && b == 1;
    }
  /* Only what was in flight at the interruption was asked for twice. */
  g_assert_cmpuint (refetched, <=, req->max_parallel);
  {
    gint64 counts[KILN_DOWNLOAD_N_OUTCOMES] = { 0 };
    g_assert_true (kiln_project_count_downloads (project, NULL, counts, &error));
    g_assert_cmpint (counts[KILN_DOWNLOAD_KEPT], ==, n);
  }
}

static void
test_limit (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = NULL;
  RunState rs = { 0 };

  g_assert_no_error (error);
  /* Two synsets; broken links between the good ones. */
  for (guint i = 0; i < 10; i++)
    g_string_append_printf (text, "n02121808_%u\t%s/%s/c%u.png\nn02123045_%u\t%s/img/t%u.png\n",
                            i, f->base, i % 2 ? "404" : "img", i, i, f->base, i);
  g_file_set_contents (list, text->str, text->len, &error);
  g_assert_no_error (error);
  req = test_request (KILN_GATHER_URLS, list, NULL);
  req->limit = 3;
  g_assert_true (run_gather (project, req, &rs, NULL));
  {
    gint64 a[KILN_DOWNLOAD_N_OUTCOMES] = { 0 }, b[KILN_DOWNLOAD_N_OUTCOMES] = { 0 };
    g_assert_true (kiln_project_count_downloads (project, "n02121808", a, &error));
    g_assert_true (kiln_project_count_downloads (project, "n02123045", b, &error));
    g_assert_cmpint (a[KILN_DOWNLOAD_KEPT], ==, 3);
    g_assert_cmpint (b[KILN_DOWNLOAD_KEPT], ==, 3);
  }
  /* No --wnid: each synset its own class folder. */
  {
    g_autofree char *d1 = g_build_filename (pdir, "images", "n02121808", NULL);
    g_autofree char *d2 = g_build_filename (pdir, "images", "n02123045", NULL);
    g_assert_true (g_file_test (d1, G_FILE_TEST_IS_DIR));
    g_assert_true (g_file_test (d2, G_FILE_TEST_IS_DIR));
  }
  /* The limit holds across runs. */
  g_hash_table_remove_all (f->hits);
  {
    RunState again = { 0 };
    g_assert_true (run_gather (project, req, &again, NULL));
    g_assert_cmpuint (again.last.n_kept, ==, 0);
  }
}

/* The API source: {wnid} lists with hyponyms (--subset). */
static void
api_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
             GHashTable *query, gpointer data)
{
  Fixture *f = data;
  const char *wnid = query ? g_hash_table_lookup (query, "wnid") : NULL;
  g_autofree char *body = NULL;

  count_hit (f, path);
  if (wnid == NULL)
    {
      soup_server_message_set_status (msg, 400, NULL);
      return;
    }
  /* Two images per synset, one broken; CRLF like ImageNet's old API. */
  body = g_strdup_printf ("%s/img/%s_a.png\r\n%s/404/%s_b.png\r\n", f->base, wnid, f->base, wnid);
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, body, strlen (body));
}

static void
test_api (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *tmpl = g_strdup_printf ("%s/api/geturls?wnid={wnid}", f->base);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = test_request (KILN_GATHER_API, tmpl, "n02121808");
  g_autoptr(KilnSynsets) synsets = kiln_synsets_get_default (&error);
  g_autoptr(GArray) below = NULL;
  RunState rs = { 0 };
  guint n_21k;

  g_assert_no_error (error);
  soup_server_add_handler (f->server, "/api", api_handler, f, NULL);
  req->subset = TRUE;
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_no_error (rs.error);
  below = kiln_synsets_get_descendants (synsets, kiln_synsets_lookup (synsets, "n02121808"),
                                       KILN_SYNSET_IN_21K);
  n_21k = below->len;
  g_assert_cmpuint (n_21k, >, 5);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, "/api/geturls")), ==, n_21k);
  g_assert_cmpuint (rs.last.n_kept, ==, n_21k);
  g_assert_cmpuint (rs.last.by_reason[KILN_GATHER_REASON_HTTP], ==, n_21k);
  {
    /* tabby, a hyponym, was asked for and its image kept in the root's class. */
    g_autofree char *url = g_strdup_printf ("%s/img/n02123045_a.png", f->base);
    g_autoptr(KilnDownloadRecord) rec = kiln_project_get_download (project, url, &error);
    g_assert_nonnull (rec);
    g_assert_cmpstr (rec->wnid, ==, "n02123045");
    g_assert_true (g_str_has_prefix (rec->file, "images/n02121808/"));
  }

  /* A template that answers nothing is an error that names it. */
  {
    g_autoptr(KilnGatherRequest) bad = test_request (KILN_GATHER_API, NULL, "n02121808");
    RunState rs2 = { 0 };
    g_free (bad->location);
    bad->location = g_strdup_printf ("%s/nothing?wnid={wnid}", f->base);
    g_assert_false (run_gather (project, bad, &rs2, NULL));
    g_assert_error (rs2.error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (rs2.error->message, "/nothing?wnid={wnid}"));
    g_clear_error (&rs2.error);
  }
}

static void
on_cli_exit (GObject *source, GAsyncResult *result, gpointer data)
{
  gboolean *exited = data;
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *exited = TRUE;
}

static guint
total_hits (Fixture *f)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, f->hits);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += GPOINTER_TO_UINT (value);
  return n;
}

/* Runs kiln-cli gather while this process serves; kills it with SIGKILL
 * once @kill_after requests were served (0: let it finish). */
static GSubprocess *
run_cli (Fixture *f, const char * const *args, guint kill_after)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  GSubprocess *proc;
  gboolean exited = FALSE;

  g_ptr_array_add (argv, (char *) g_getenv ("KILN_CLI"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_nonnull (argv->pdata[0]);
  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (proc, NULL, on_cli_exit, &exited);
  while (!exited)
    {
      g_main_context_iteration (NULL, TRUE);
      if (kill_after && total_hits (f) >= kill_after)
        {
          g_subprocess_send_signal (proc, SIGKILL);
          kill_after = 0;
        }
    }
  return proc;
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d && g_dir_read_name (d))
    n++;
  return n;
}

/* kiln-cli gather killed with SIGKILL mid-run, then run again: the second
 * run fetches only what was missing, and no partial or orphan file stays. */
static void
test_cli_kill (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autofree char *images = g_build_filename (pdir, "images", "n02121808", NULL);
  g_autofree char *tmp = g_build_filename (pdir, "cache", "gather-tmp", NULL);
  g_autofree char *images_tmp = g_build_filename (tmp, "n02121808", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) first_hits = NULL;
  g_autoptr(GPtrArray) records = NULL;
  const guint n = 40;
  const char *args[] = { "gather", "--project", pdir, "--wnid", "n02121808", "--urls", list,
                         "-j", "2", "--min-size", "100", "--json", NULL };
  guint refetched = 0, done_first = 0;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "n02121808_%u\t%s/slow/k%03u.png\n", i, f->base, i);
  g_file_set_contents (list, text->str, text->len, &error);
  g_assert_no_error (error);

  {
    g_autoptr(GSubprocess) proc = run_cli (f, args, 12);
    g_assert_true (g_subprocess_get_if_signaled (proc));
    g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGKILL);
  }
  {
    g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
    g_assert_no_error (error);
    records = kiln_project_list_downloads (project, NULL, &error);
    g_assert_no_error (error);
  }
  for (guint k = 0; k < records->len; k++)
    done_first += kiln_download_outcome_is_done (((KilnDownloadRecord *) g_ptr_array_index (records, k))->outcome);
  g_assert_cmpuint (done_first, >=, 8);
  g_assert_cmpuint (done_first, <, n);
  first_hits = g_steal_pointer (&f->hits);
  f->hits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  {
    g_autoptr(GSubprocess) proc = run_cli (f, args, 0);
    g_autoptr(GBytes) out = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *summary;

    g_assert_true (g_subprocess_get_if_exited (proc));
    g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
    g_subprocess_communicate (proc, NULL, NULL, &out, NULL, &error);
    g_assert_no_error (error);
    json_parser_load_from_data (parser, g_bytes_get_data (out, NULL), g_bytes_get_size (out), &error);
    g_assert_no_error (error);
    summary = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpint (json_object_get_int_member (summary, "skipped"), ==, done_first);
    g_assert_cmpint (json_object_get_int_member (summary, "kept"), ==, n - done_first);
  }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("/slow/k%03u.png", i);
      g_autofree char *url = g_strconcat (f->base, path, NULL);
      gboolean was_done = FALSE;
      guint a = GPOINTER_TO_UINT (g_hash_table_lookup (first_hits, path));
      guint b = GPOINTER_TO_UINT (g_hash_table_lookup (f->hits, path));

      for (guint k = 0; k < records->len; k++)
        {
          KilnDownloadRecord *rec = g_ptr_array_index (records, k);
          was_done |= g_str_equal (rec->url, url) && kiln_download_outcome_is_done (rec->outcome);
        }
      g_assert_cmpuint (b, ==, was_done ? 0 : 1);
      refetched += a == 1 && b == 1;
    }
  g_assert_cmpuint (refetched, <=, 2);
  g_assert_cmpuint (count_files (images), ==, n);
  g_assert_cmpuint (count_files (tmp), ==, 0);
  g_assert_false (g_file_test (images_tmp, G_FILE_TEST_EXISTS));
}

/* The store is sound and every kept image's file is there, with no file
 * in images/ or the temp area without its row (issue 18's invariants). */
static guint
check_gathered_class (const char *pdir, const char *class_name, const char *when)
{
  g_autofree char *db_path = g_build_filename (pdir, "kiln.db", NULL);
  g_autofree char *images = g_build_filename (pdir, "images", class_name, NULL);
  g_autofree char *tmp = g_build_filename (pdir, "cache", "gather-tmp", class_name, NULL);
  guint bad = 0, rows = 0;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
    {
      g_test_message ("VIOLATION %s: integrity_check: %s", when, sqlite3_column_text (stmt, 0));
      bad++;
    }
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT path FROM images", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *full = g_build_filename (pdir, (const char *) sqlite3_column_text (stmt, 0), NULL);
      g_autofree char *base = g_path_get_basename (full);
      g_autofree char *in_tmp = g_build_filename (tmp, base, NULL);
      rows++;
      /* A kill between the commit and the rename leaves the file in the
       * temp area, which the next run renames: that is still its file. */
      if (!g_file_test (full, G_FILE_TEST_IS_REGULAR) && !g_file_test (in_tmp, G_FILE_TEST_IS_REGULAR))
        {
          g_test_message ("VIOLATION %s: %s has a row but no file", when, full);
          bad++;
        }
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  if (count_files (images) > rows)
    {
      g_test_message ("VIOLATION %s: %u files in images/ but %u rows", when, count_files (images), rows);
      bad++;
    }
  return bad;
}

static guint
check_gathered (const char *pdir, const char *when)
{
  return check_gathered_class (pdir, "n02121808", when);
}

/* kiln-cli gather killed at a random number of served requests, KILN_FAULT_
 * ROUNDS times (default 2; bench/faults.sh runs 100), each on a new project
 * and then run again to its end: after each kill the invariants hold, and
 * the second run completes the set. */
static void
test_cli_kill_loop (Fixture *f, gconstpointer data)
{
  const char *rounds_text = g_getenv ("KILN_FAULT_ROUNDS");
  guint rounds = rounds_text ? (guint) g_ascii_strtoull (rounds_text, NULL, 10) : 2;
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (18);
  g_autoptr(GError) error = NULL;
  const guint n = 24;
  guint violations = 0, killed = 0;

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "n02121808_%u\t%s/slow/k%03u.png\n", i, f->base, i);
  g_assert_true (g_file_set_contents (list, text->str, text->len, &error));
  for (guint r = 0; r < rounds; r++)
    {
      g_autofree char *pdir = g_strdup_printf ("%s/loop-%u", f->dir, r);
      g_autofree char *images = g_build_filename (pdir, "images", "n02121808", NULL);
      const char *args[] = { "gather", "--project", pdir, "--wnid", "n02121808", "--urls", list,
                             "-j", "2", "--min-size", "100", "-q", NULL };
      guint at = (guint) g_rand_int_range (rand, 1, n);
      g_autofree char *when = g_strdup_printf ("round %u, killed after %u requests", r + 1, at);

      g_hash_table_remove_all (f->hits);
      {
        g_autoptr(GSubprocess) proc = run_cli (f, args, at);
        killed += g_subprocess_get_if_signaled (proc);
      }
      violations += check_gathered (pdir, when);
      {
        g_autoptr(GSubprocess) proc = run_cli (f, args, 0);
        g_assert_true (g_subprocess_get_if_exited (proc));
        if (g_subprocess_get_exit_status (proc) != 0)
          {
            g_test_message ("VIOLATION %s: the run after it failed", when);
            violations++;
          }
      }
      violations += check_gathered (pdir, "and run again");
      if (count_files (images) != n)
        {
          g_test_message ("VIOLATION %s: %u of %u images after the second run", when, count_files (images), n);
          violations++;
        }
      kiln_test_remove_tree (pdir);
    }
  g_test_message ("gather: %u rounds, %u killed mid-run, violations: %u", rounds, killed, violations);
  g_assert_cmpuint (violations, ==, 0);
}

/* A server below HTTP, for what libsoup's server will not send: a body
 * longer than its Content-Length, endless headers, a reset mid-body. */
static gboolean
on_raw_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
  Fixture *f = data;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  char request[4096] = { 0 };
  gsize png_size = g_bytes_get_size (f->png);
  const guint8 *png = g_bytes_get_data (f->png, NULL);

  g_input_stream_read (in, request, sizeof request - 1, NULL, NULL);
  if (strstr (request, "GET /any/"))
    {
      /* Any path at all, as libsoup's server would refuse some. */
      g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
                                               "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", png_size);
      g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
      g_output_stream_write_all (out, png, png_size, NULL, NULL, NULL);
    }
  else if (strstr (request, "GET /long/"))
    {
      g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                                               "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", png_size / 2);
      g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
      g_output_stream_write_all (out, png, png_size, NULL, NULL, NULL);
    }
  else if (strstr (request, "GET /endless/"))
    {
      const char *line = "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
      g_output_stream_write_all (out, "HTTP/1.1 200 OK\r\n", 17, NULL, NULL, NULL);
      for (int i = 0; i < 50000; i++)
        if (!g_output_stream_write_all (out, line, strlen (line), NULL, NULL, NULL))
          break;
    }
  else if (strstr (request, "GET /reset/"))
    {
      g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                                               "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", png_size);
      GSocket *socket = g_socket_connection_get_socket (connection);
      g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL);
      g_output_stream_write_all (out, png, png_size / 2, NULL, NULL, NULL);
      /* Linger 0: the close sends a reset, not an orderly end. */
      g_socket_set_option (socket, SOL_SOCKET, SO_LINGER, 0, NULL);
      struct linger hard = { 1, 0 };
      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

/* Hostile servers (issue 18): each URL's verdict is reported; none may put
 * a file outside images/<class>/ or keep a truncated body, names from
 * hostile paths stay plain names in the class folder, and memory stays
 * bounded (the test process's peak stays under 1 GiB with a 64 MiB gzip
 * bomb and 4 MiB of headers). */
static void
test_hostile (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autofree char *images = g_build_filename (pdir, "images", "hostile", NULL);
  g_autofree char *long_name = g_strnfill (1000, 'a');
  g_autoptr(GSocketService) raw = g_socket_service_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  RunState rs = { 0 };
  guint16 port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (raw), NULL, &error);

  g_assert_no_error (error);
  g_signal_connect (raw, "incoming", G_CALLBACK (on_raw_incoming), f);
  g_socket_service_start (raw);
  const char *paths[] = { "/hostile/to-file/cat.png", "/hostile/to-ftp/cat.png", "/hostile/loop/0/cat.png",
                          "/hostile/gzip-bomb/cat.png", "/drip/cat.png", "/img/.hidden.png" };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    g_string_append_printf (text, "%s%s\n", f->base, paths[i]);
  g_string_append_printf (text, "%s/img/%s.png\n", f->base, long_name);
  const char *raw_paths[] = { "/long/cat.png", "/endless/cat.png", "/reset/cat.png", "/any/..%2F..%2F..%2Fevil.png",
                              "/any/%2e%2e%2f%2e%2e%2fevil2.png", "/any/nul%00byte.png" };
  for (guint i = 0; i < G_N_ELEMENTS (raw_paths); i++)
    g_string_append_printf (text, "http://127.0.0.1:%u%s\n", port, raw_paths[i]);
  g_assert_true (g_file_set_contents (list, text->str, text->len, &error));

  req = test_request (KILN_GATHER_URLS, list, NULL);
  req->class_name = g_strdup ("hostile");
  req->max_retries = 0;
  req->total_timeout_ms = 3000;
  req->url_deadline_ms = 4000;
  run_gather (project, req, &rs, NULL);
  g_socket_service_stop (raw);
  g_assert_no_error (rs.error);

  g_autoptr(GPtrArray) records = kiln_project_list_downloads (project, NULL, &error);
  g_assert_no_error (error);
  guint kept = 0;
  for (guint i = 0; i < records->len; i++)
    {
      KilnDownloadRecord *r = g_ptr_array_index (records, i);
      g_test_message ("hostile: %.90s → %s%s%s", r->url, kiln_download_outcome_to_string (r->outcome),
                      r->detail ? ": " : "", r->detail ? r->detail : "");
      if (r->outcome != KILN_DOWNLOAD_KEPT)
        continue;
      kept++;
      g_test_message ("hostile: kept as %s", r->file);
      /* Only the whole PNGs served under /img/ and /any/ may be kept. */
      g_assert_true (strstr (r->url, "/img/") != NULL || strstr (r->url, "/any/") != NULL);
      g_assert_true (g_str_has_prefix (r->file, "images/hostile/"));
      g_assert_null (strchr (r->file + strlen ("images/hostile/"), '/'));
      g_assert_cmpint (r->file[strlen ("images/hostile/")], !=, '.');
    }
  /* The five /img/ and /any/ names are kept, each a plain name in the
   * class folder. */
  g_assert_cmpuint (kept, ==, 5);
  g_assert_cmpuint (count_files (images), ==, kept);
  g_autofree char *outside = g_build_filename (f->dir, "evil.png", NULL);
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (check_gathered_class (pdir, "hostile", "after hostile servers"), ==, 0);

  /* Peak memory of this process (the gatherer ran in it). */
  g_autofree char *status = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  const char *hwm = strstr (status, "VmHWM:");
  g_assert_nonnull (hwm);
  guint64 kib = g_ascii_strtoull (hwm + strlen ("VmHWM:"), NULL, 10);
  g_test_message ("hostile: peak memory %" G_GUINT64_FORMAT " MiB", kib / 1024);
  g_assert_cmpuint (kib, <, 1024 * 1024);
}

static void
on_async_result (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* A disk that fills while bodies download (the ENOSPC shim fails the
 * writes to the temp area from the 6th on): the run stops with an error
 * naming the temp file; nothing half-written is kept; with room again, the
 * next run gathers everything. */
static void
test_enospc_download (Fixture *f, gconstpointer data)
{
  const char *shim = g_getenv ("KILN_ENOSPC_PRELOAD");
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autofree char *images = g_build_filename (pdir, "images", "n02121808", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  const guint n = 16;
  const char *args[] = { "gather", "--project", pdir, "--wnid", "n02121808", "--urls", list,
                         "-j", "2", "--min-size", "100", "-q", NULL };

#ifdef __SANITIZE_ADDRESS__
  shim = NULL;   /* ASan refuses a library preloaded before its runtime */
#endif
  if (shim == NULL || !g_file_test (shim, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no usable ENOSPC shim (KILN_ENOSPC_PRELOAD; not under ASan)");
      return;
    }
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "n02121808_%u\t%s/slow/k%03u.png\n", i, f->base, i);
  g_assert_true (g_file_set_contents (list, text->str, text->len, &error));

  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) g_getenv ("KILN_CLI"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_setenv (launcher, "LD_PRELOAD", shim, TRUE);
  g_subprocess_launcher_setenv (launcher, "KILN_ENOSPC_MATCH", "gather-tmp", TRUE);
  g_subprocess_launcher_setenv (launcher, "KILN_ENOSPC_AFTER", "6", TRUE);
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, on_async_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (g_subprocess_communicate_utf8_finish (proc, result, NULL, &err, &error));
  g_assert_no_error (error);
  g_test_message ("gather on a full disk: %s", err);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), !=, 0);
  g_assert_nonnull (strstr (err, "No space left on device"));
  g_assert_nonnull (strstr (err, "gather-tmp"));
  g_assert_cmpuint (check_gathered (pdir, "after the disk filled"), ==, 0);

  g_autoptr(GSubprocess) again = run_cli (f, args, 0);
  g_assert_cmpint (g_subprocess_get_exit_status (again), ==, 0);
  g_assert_cmpuint (check_gathered (pdir, "with room again"), ==, 0);
  g_assert_cmpuint (count_files (images), ==, n);
}

/* A host that never completes the TCP handshake: a listening socket with
 * a backlog of 0 whose one queued connection is never accepted. The connect
 * timeout ends the attempt, long before the total timeout. */
static void
test_connect_timeout (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GSocket) filler = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(KilnGatherRequest) req = NULL;
  g_autoptr(KilnDownloadRecord) rec = NULL;
  RunState rs = { 0 };
  gint64 t0;
  guint16 port;

  g_assert_no_error (error);
  g_socket_set_listen_backlog (listener, 0);
  g_assert_true (g_socket_bind (listener, any, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  filler = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_true (g_socket_connect (filler, bound, NULL, &error));

  text = g_strdup_printf ("http://127.0.0.1:%u/never.png\n", port);
  g_file_set_contents (list, text, -1, &error);
  g_assert_no_error (error);
  req = test_request (KILN_GATHER_URLS, list, "n02121808");
  req->connect_timeout_ms = 300;
  req->total_timeout_ms = 10000;
  req->max_retries = 0;
  t0 = g_get_monotonic_time ();
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 3 * G_USEC_PER_SEC);
  {
    g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/never.png", port);
    rec = kiln_project_get_download (project, url, &error);
  }
  g_assert_nonnull (rec);
  g_assert_cmpint (rec->outcome, ==, KILN_DOWNLOAD_FAILED);
  g_assert_true (g_str_has_prefix (rec->detail, "timeout: no connection within 0.3 s"));
  g_assert_cmpint (rec->http_status, ==, 0);
}

static GBytes *placeholder_png, *placeholder_jpeg;

static void
placeholder_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
                     GHashTable *query, gpointer data)
{
  if (g_str_has_suffix (path, ".png"))
    serve_bytes (msg, "image/png", placeholder_png);
  else
    serve_bytes (msg, "image/jpeg", placeholder_jpeg);
}

/* A "photo unavailable" image served under the requested name, without a
 * redirect: recognised by its perceptual hash (the inspector's), as PNG and
 * as a re-encoded JPEG; real images pass. */
static void
test_placeholder_hash (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *list = g_build_filename (f->dir, "urls.txt", NULL);
  g_autofree char *text = g_strdup_printf ("%s/unavailable/a.png\n%s/unavailable/b.jpg\n%s/img/real.png\n%s/photo/real.jpg\n",
                                           f->base, f->base, f->base, f->base);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);
  g_autoptr(KilnGatherRequest) req = NULL;
  RunState rs = { 0 };
  char *buf;
  gsize size;
  guint64 hash;

  g_assert_no_error (error);
  /* A gray card with a dark band and a light frame, like the real ones. */
  for (int y = 0; y < 240; y++)
    for (int x = 0; x < 320; x++)
      {
        guint8 *p = gdk_pixbuf_get_pixels (pixbuf) + y * gdk_pixbuf_get_rowstride (pixbuf) + x * 3;
        guint8 v = (y > 100 && y < 140 && x > 60 && x < 260) ? 40 : (x < 10 || y < 10) ? 250 : 180 - y / 4;
        p[0] = p[1] = p[2] = v;
      }
  hash = kiln_inspector_phash (pixbuf);
  gdk_pixbuf_save_to_buffer (pixbuf, &buf, &size, "png", &error, NULL);
  g_assert_no_error (error);
  placeholder_png = g_bytes_new_take (buf, size);
  gdk_pixbuf_save_to_buffer (pixbuf, &buf, &size, "jpeg", &error, "quality", "75", NULL);
  g_assert_no_error (error);
  placeholder_jpeg = g_bytes_new_take (buf, size);
  soup_server_add_handler (f->server, "/unavailable", placeholder_handler, NULL, NULL);
  g_file_set_contents (list, text, -1, &error);
  g_assert_no_error (error);

  req = test_request (KILN_GATHER_URLS, list, "n02121808");
  req->placeholders = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_array_append_val (req->placeholders, hash);
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_cmpuint (rs.last.n_kept, ==, 2);
  g_assert_cmpuint (rs.last.by_reason[KILN_GATHER_REASON_PLACEHOLDER], ==, 2);
  {
    g_autofree char *url = g_strdup_printf ("%s/unavailable/b.jpg", f->base);
    g_autoptr(KilnDownloadRecord) rec = kiln_project_get_download (project, url, &error);
    g_assert_nonnull (rec);
    g_assert_cmpint (rec->outcome, ==, KILN_DOWNLOAD_REJECTED);
    g_assert_true (g_str_has_prefix (rec->detail, "placeholder: looks like the known placeholder"));
  }
  g_clear_pointer (&placeholder_png, g_bytes_unref);
  g_clear_pointer (&placeholder_jpeg, g_bytes_unref);
}

/* What a kill leaves in the temp area: a temp whose KEPT row was committed
 * is finished (renamed into images/), any other is removed. */
static void
test_recover (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *tmp_class = g_build_filename (pdir, "cache", "gather-tmp", "n02121808", NULL);
  g_autofree char *committed = g_build_filename (tmp_class, "done.png", NULL);
  g_autofree char *partial = g_build_filename (tmp_class, "half.png", NULL);
  g_autofree char *list = g_build_filename (f->dir, "empty.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnImageRecord) image = kiln_image_record_new ("images/n02121808/done.png", "n02121808");
  g_autoptr(KilnGatherRequest) req = test_request (KILN_GATHER_URLS, list, "n02121808");
  RunState rs = { 0 };

  g_assert_no_error (error);
  g_mkdir_with_parents (tmp_class, 0755);
  g_file_set_contents (committed, g_bytes_get_data (f->png, NULL), g_bytes_get_size (f->png), &error);
  g_assert_no_error (error);
  g_file_set_contents (partial, g_bytes_get_data (f->png, NULL), 100, &error);
  g_assert_no_error (error);
  g_assert_true (kiln_project_add_image (project, image, &error));
  g_assert_true (kiln_project_record_download (project, "http://example.invalid/done.png", "n02121808",
                                               KILN_DOWNLOAD_KEPT, 200, "kept", image->path, &error));
  g_file_set_contents (list, "", 0, &error);
  g_assert_no_error (error);

  g_assert_true (run_gather (project, req, &rs, NULL));
  {
    g_autofree char *final = kiln_project_build_path (project, "images/n02121808/done.png");
    g_autofree char *tmp_root = g_build_filename (pdir, "cache", "gather-tmp", NULL);
    g_assert_true (g_file_test (final, G_FILE_TEST_IS_REGULAR));
    g_assert_false (g_file_test (committed, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
    g_assert_cmpuint (count_files (tmp_root), ==, 0);
  }
}

/* Writes a tar with @n members (name, bytes) into memory. */
static GBytes *
make_tar (guint n, const char * const *names, GBytes * const *contents)
{
  struct archive *a = archive_write_new ();
  gsize cap = 4 * 1024 * 1024, used = 0;
  char *buf = g_malloc (cap);

  archive_write_set_format_pax_restricted (a);
  g_assert_cmpint (archive_write_open_memory (a, buf, cap, &used), ==, ARCHIVE_OK);
  for (guint i = 0; i < n; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, names[i]);
      archive_entry_set_size (e, g_bytes_get_size (contents[i]));
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_perm (e, 0644);
      g_assert_cmpint (archive_write_header (a, e), ==, ARCHIVE_OK);
      g_assert_cmpint (archive_write_data (a, g_bytes_get_data (contents[i], NULL),
                                           g_bytes_get_size (contents[i])), ==, (la_ssize_t) g_bytes_get_size (contents[i]));
      archive_entry_free (e);
    }
  archive_write_close (a);
  archive_write_free (a);
  return g_bytes_new_take (buf, used);
}

/* The official layout: a tar of per-synset tars of JPEGs. */
static void
test_archive (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *tar = g_build_filename (f->dir, "ILSVRC2012_img_train.tar", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autofree char *junk = g_strnfill (300, '#');
  g_autoptr(GBytes) garbage = g_bytes_new_static (junk, 300);
  g_autoptr(GBytes) other = make_image ("jpeg", 40, 30, 7);
  const char *cat_names[] = { "n02121808_1.JPEG", "n02121808_2.JPEG", "n02121808_3.JPEG" };
  GBytes *cat_data[] = { f->jpeg, other, garbage };
  const char *dog_names[] = { "n02084071_1.JPEG" };
  GBytes *dog_data[] = { f->jpeg };
  g_autoptr(GBytes) cats = make_tar (3, cat_names, cat_data);
  g_autoptr(GBytes) dogs = make_tar (1, dog_names, dog_data);
  const char *outer_names[] = { "n02084071.tar", "n02121808.tar" };
  GBytes *outer_data[] = { dogs, cats };
  g_autoptr(GBytes) outer = make_tar (2, outer_names, outer_data);
  g_autoptr(KilnGatherRequest) req = NULL;
  RunState rs = { 0 };

  g_assert_no_error (error);
  g_file_set_contents (tar, g_bytes_get_data (outer, NULL), g_bytes_get_size (outer), &error);
  g_assert_no_error (error);
  req = test_request (KILN_GATHER_ARCHIVE, tar, "n02121808");
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_no_error (rs.error);
  g_assert_cmpuint (rs.last.n_kept, ==, 2);
  g_assert_cmpuint (rs.last.n_rejected, ==, 1);
  g_assert_cmpuint (rs.last.by_reason[KILN_GATHER_REASON_NOT_AN_IMAGE], ==, 1);
  {
    g_autofree char *kept = g_build_filename (pdir, "images", "n02121808", "n02121808_1.jpg", NULL);
    g_autofree char *dog = g_build_filename (pdir, "images", "n02084071", NULL);
    g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
    g_assert_false (g_file_test (dog, G_FILE_TEST_EXISTS));
  }
  {
    RunState again = { 0 };
    g_assert_true (run_gather (project, req, &again, NULL));
    g_assert_cmpuint (again.last.n_skipped, ==, 3);
    g_assert_cmpuint (again.last.n_done, ==, 0);
  }
}

static void
test_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *src = g_build_filename (f->dir, "photos", NULL);
  g_autofree char *sub = g_build_filename (src, "more", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = NULL;
  RunState rs = { 0 };
  struct { const char *dir; const char *name; GBytes *bytes; } files[] = {
    { src, "a.png", f->png }, { src, "b.jpg", f->jpeg }, { sub, "c.png", f->png },
    { src, "notes.txt", NULL },
  };

  g_assert_no_error (error);
  g_mkdir_with_parents (sub, 0755);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (files[i].dir, files[i].name, NULL);
      if (files[i].bytes)
        g_file_set_contents (path, g_bytes_get_data (files[i].bytes, NULL), g_bytes_get_size (files[i].bytes), &error);
      else
        g_file_set_contents (path, "just text, nothing to see here", -1, &error);
      g_assert_no_error (error);
    }
  req = test_request (KILN_GATHER_FOLDER, src, NULL);
  req->class_name = g_strdup ("cats");
  req->min_bytes = 10;
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_no_error (rs.error);
  g_assert_cmpuint (rs.last.n_kept, ==, 3);
  g_assert_cmpuint (rs.last.n_rejected, ==, 1);
  {
    g_autofree char *kept = g_build_filename (pdir, "images", "cats", "c.png", NULL);
    g_autofree char *original = g_build_filename (sub, "c.png", NULL);
    g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (original, G_FILE_TEST_IS_REGULAR));
  }
}

/* Security (issue 18): a symbolic link planted at images/<class> (or at
 * cache/gather-tmp/<class>) pointing out of the project must not carry
 * gathered images out: the run refuses, naming the link, and writes
 * nothing outside. Every file the run makes is not world-writable. */
static void
test_symlink_out (Fixture *f, gconstpointer data)
{
  const char *which = data;
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *src = g_build_filename (f->dir, "photos", NULL);
  g_autofree char *outside = g_build_filename (f->dir, "outside", NULL);
  g_autofree char *link_parent = g_build_filename (pdir, which, NULL);
  g_autofree char *link = g_build_filename (link_parent, "cats", NULL);
  g_autofree char *image = g_build_filename (src, "a.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = NULL;
  RunState rs = { 0 };

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (src, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (link_parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (image, g_bytes_get_data (f->png, NULL), g_bytes_get_size (f->png), &error));
  g_assert_cmpint (symlink (outside, link), ==, 0);

  req = test_request (KILN_GATHER_FOLDER, src, NULL);
  req->class_name = g_strdup ("cats");
  run_gather (project, req, &rs, NULL);
  g_test_message ("%s/cats → outside: %s", which, rs.error ? rs.error->message : "(no error)");
  g_assert_nonnull (rs.error);
  g_assert_nonnull (strstr (rs.error->message, "cats"));
  g_assert_nonnull (strstr (rs.error->message, "symbolic link"));
  g_autoptr(GDir) dir = g_dir_open (outside, 0, &error);
  g_assert_no_error (error);
  g_assert_null (g_dir_read_name (dir));
  g_assert_cmpuint (rs.last.n_kept, ==, 0);
  kiln_test_assert_not_world_writable (pdir);
}

/* A JPEG whose APP1 segment carries an embedded thumbnail (as EXIF does),
 * cut 300 bytes into its scan data: the thumbnail's end marker lies within
 * the last kilobyte, so only walking the file's structure finds the cut. */
static GBytes *
make_cut_jpeg_with_thumbnail (void)
{
  g_autoptr(GBytes) main_image = make_image ("jpeg", 200, 150, 11);
  g_autoptr(GBytes) thumbnail = make_image ("jpeg", 16, 12, 12);
  const guint8 *data = g_bytes_get_data (main_image, NULL);
  gsize size = g_bytes_get_size (main_image), thumb_size = g_bytes_get_size (thumbnail);
  gsize segment = 2 + 6 + thumb_size, scan = 0;
  GByteArray *out = g_byte_array_new ();
  guint8 head[4] = { 0xFF, 0xE1, (guint8) (segment >> 8), (guint8) segment };

  for (gsize i = 2; i + 1 < size && scan == 0; i++)
    if (data[i] == 0xFF && data[i + 1] == 0xDA)
      scan = i;
  g_assert_cmpuint (scan, >, 0);
  g_assert_cmpuint (scan + 300, <, size);
  g_byte_array_append (out, data, 2);
  g_byte_array_append (out, head, 4);
  g_byte_array_append (out, (const guint8 *) "Exif\0\0", 6);
  g_byte_array_append (out, g_bytes_get_data (thumbnail, NULL), thumb_size);
  g_byte_array_append (out, data + 2, scan + 300 - 2);
  return g_byte_array_free_to_bytes (out);
}

/* Writes the files @names with @contents where a local @source reads
 * them (a folder, or a tar of them) and returns that location. */
static char *
write_local_source (Fixture *f, KilnGatherSource source, guint n,
                    const char * const *names, GBytes * const *contents)
{
  g_autoptr(GError) error = NULL;

  if (source == KILN_GATHER_ARCHIVE)
    {
      g_autofree char *tar = g_build_filename (f->dir, "n02121808.tar", NULL);
      g_autoptr(GBytes) bytes = make_tar (n, names, contents);

      g_file_set_contents (tar, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
      g_assert_no_error (error);
      return g_steal_pointer (&tar);
    }
  else
    {
      g_autofree char *folder = g_build_filename (f->dir, "photos", NULL);

      g_mkdir_with_parents (folder, 0755);
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *path = g_build_filename (folder, names[i], NULL);
          g_file_set_contents (path, g_bytes_get_data (contents[i], NULL), g_bytes_get_size (contents[i]), &error);
          g_assert_no_error (error);
        }
      return g_steal_pointer (&folder);
    }
}

/* The inspector's hash of @bytes, as the CLI's --placeholders file holds it. */
static guint64
placeholder_hash (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = kiln_image_load_bytes (bytes, "placeholder", NULL, NULL, &error);
  g_autoptr(GdkPixbuf) flat = NULL;

  g_assert_no_error (error);
  flat = kiln_image_flatten (pixbuf);
  return kiln_inspector_phash (flat);
}

typedef struct {
  const char *name;
  GBytes     *bytes;
  const char *reason;
} SameCase;

static SameCase *same_cases;   /* while test_same_checks runs */
static guint n_same_cases;

static void
same_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
              GHashTable *query, gpointer data)
{
  for (guint i = 0; i < n_same_cases; i++)
    if (g_str_has_suffix (path, same_cases[i].name))
      {
        serve_bytes (msg, g_str_has_suffix (same_cases[i].name, ".jpg") ? "image/jpeg" : "image/png",
                     same_cases[i].bytes);
        return;
      }
  soup_server_message_set_status (msg, 404, NULL);
}

/* One set of checks whichever source an image comes from: a truncated
 * JPEG (even with a thumbnail's end marker near the cut) or PNG, garbage,
 * a web page, a tiny image and a placeholder the project knows end the
 * same way from a URL list, a folder and an archive. */
static void
test_same_checks (Fixture *f, gconstpointer data)
{
  KilnGatherSource source = GPOINTER_TO_INT (data);
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *padding = g_strnfill (300, ' ');
  g_autofree char *page = g_strdup_printf ("<!DOCTYPE html>\n<html><body>Gone.%s</body></html>\n", padding);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(GBytes) cut_jpeg = make_cut_jpeg_with_thumbnail ();
  g_autoptr(GBytes) cut_png = g_bytes_new_from_bytes (f->png, 0, g_bytes_get_size (f->png) * 2 / 3);
  g_autoptr(GBytes) junk = g_bytes_new_take (g_strnfill (4000, 'x'), 4000);
  g_autoptr(GBytes) html = g_bytes_new_static (page, strlen (page));
  g_autoptr(GBytes) unavailable = make_image ("png", 120, 90, 99);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(KilnGatherRequest) req = NULL;
  g_autofree char *location = NULL;
  guint64 unavailable_hash = placeholder_hash (unavailable);
  RunState rs = { 0 };
  SameCase cases[] = {
    { "good.png", f->png, "kept" },
    { "good.jpg", f->jpeg, "kept" },
    { "thumb-cut.jpg", cut_jpeg, "truncated" },
    { "half.png", cut_png, "truncated" },
    { "junk.png", junk, "not-an-image" },
    { "page.png", html, "not-an-image" },
    { "tiny.png", f->tiny, "too-small" },
    { "unavailable.png", unavailable, "placeholder" },
  };
  const char *names[G_N_ELEMENTS (cases)];
  GBytes *contents[G_N_ELEMENTS (cases)];

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      names[i] = cases[i].name;
      contents[i] = cases[i].bytes;
    }
  if (source == KILN_GATHER_URLS)
    {
      g_autoptr(GString) urls = g_string_new (NULL);

      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        g_string_append_printf (urls, "%s/same/%s\n", f->base, cases[i].name);
      location = g_build_filename (f->dir, "urls.txt", NULL);
      g_file_set_contents (location, urls->str, urls->len, &error);
      g_assert_no_error (error);
      same_cases = cases;
      n_same_cases = G_N_ELEMENTS (cases);
      soup_server_add_handler (f->server, "/same", same_handler, NULL, NULL);
    }
  else
    location = write_local_source (f, source, G_N_ELEMENTS (cases), names, contents);

  req = test_request (source, location, "n02121808");
  /* Registered in the project, not given with the request. */
  g_assert_true (kiln_project_add_placeholder (project, unavailable_hash, "unavailable.png", &error));
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_no_error (rs.error);
  same_cases = NULL;
  n_same_cases = 0;

  records = kiln_project_list_downloads (project, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, G_N_ELEMENTS (cases));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      KilnDownloadRecord *found = NULL;

      /* Named …/good.png, ….tar#good.png or …/same/good.png. */
      for (guint k = 0; k < records->len; k++)
        {
          KilnDownloadRecord *rec = g_ptr_array_index (records, k);
          const char *base = strrchr (rec->url, source == KILN_GATHER_ARCHIVE ? '#' : '/');

          if (base && g_str_equal (base + 1, cases[i].name))
            found = rec;
        }
      if (found == NULL)
        g_error ("%s: not recorded", cases[i].name);
      if (!g_str_has_prefix (found->detail, cases[i].reason))
        g_error ("%s: “%s”, expected %s", cases[i].name, found->detail, cases[i].reason);
      g_assert_cmpint (found->outcome, ==, g_str_equal (cases[i].reason, "kept") ? KILN_DOWNLOAD_KEPT
                                                                              : KILN_DOWNLOAD_REJECTED);
    }
  g_assert_cmpuint (rs.last.n_kept, ==, 2);
}

/* --limit counts kept and in-flight images for local sources too: 20 good
 * images, 16 at once, a limit of 3 keeps exactly 3, and the rest are left
 * for a later run with a higher limit (not recorded). */
static void
test_local_limit (Fixture *f, gconstpointer data)
{
  KilnGatherSource source = GPOINTER_TO_INT (data);
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *class_dir = g_build_filename (pdir, "images", "n02121808", NULL);
  g_autofree char *location = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(KilnGatherRequest) req = NULL;
  gint64 counts[KILN_DOWNLOAD_N_OUTCOMES] = { 0 };
  RunState rs = { 0 };
  const guint n = 20;

  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (names, g_strdup_printf ("n02121808_%02u.JPEG", i));
      g_ptr_array_add (images, make_image ("jpeg", 80, 60, 100 + i));
    }
  location = write_local_source (f, source, n, (const char * const *) names->pdata, (GBytes * const *) images->pdata);

  req = test_request (source, location, "n02121808");
  req->max_parallel = 16;
  req->limit = 3;
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_no_error (rs.error);
  g_assert_cmpuint (rs.last.n_kept, ==, 3);
  g_assert_cmpuint (rs.last.n_over_limit, ==, n - 3);
  g_assert_true (kiln_project_count_downloads (project, NULL, counts, &error));
  g_assert_no_error (error);
  g_assert_cmpint (counts[KILN_DOWNLOAD_KEPT], ==, 3);
  g_assert_cmpuint (count_files (class_dir), ==, 3);

  /* The limit holds across runs. */
  {
    RunState again = { 0 };
    g_assert_true (run_gather (project, req, &again, NULL));
    g_assert_cmpuint (again.last.n_kept, ==, 0);
    g_assert_cmpuint (count_files (class_dir), ==, 3);
  }
}

/* Issue 16 -------------------------------------------------------------- */

/* What most fault tests start from: a project and a URL-list request
 * for @text (test_request's settings). */
typedef struct {
  char              *pdir;
  KilnProject       *project;
  KilnGatherRequest *req;
} ListRun;

static void
list_run_init (ListRun *lr, Fixture *f, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *list = write_list (f, "urls.txt", text, -1);

  lr->pdir = g_build_filename (f->dir, "project", NULL);
  lr->project = kiln_project_open (lr->pdir, &error);
  g_assert_no_error (error);
  lr->req = test_request (KILN_GATHER_URLS, list, "n02121808");
}

static void
list_run_clear (ListRun *lr)
{
  g_free (lr->pdir);
  g_clear_object (&lr->project);
  g_clear_pointer (&lr->req, kiln_gather_request_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ListRun, list_run_clear)

/* A body shorter than its Content-Length is truncated, whatever libsoup
 * says, and retried like a network error; the whole image it holds is
 * not kept. */
static void
test_short_body (Fixture *f, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf ("%s/short/whole.png\n", f->base);
  g_auto(ListRun) lr = { 0 };
  g_autofree char *class_dir = NULL;
  RunState rs = { 0 };

  list_run_init (&lr, f, text);
  class_dir = g_build_filename (lr.pdir, "images", "n02121808", NULL);
  g_assert_true (run_gather (lr.project, lr.req, &rs, NULL));
  assert_record (lr.project, f->base, "/short/whole.png", KILN_DOWNLOAD_FAILED, "truncated");
  g_assert_cmpuint (hits_of (f, "/short/whole.png"), ==, 2);
  g_assert_cmpuint (rs.last.n_kept, ==, 0);
  g_assert_cmpuint (count_files (class_dir), ==, 0);
}

/* A template without {wnid} would fetch one list for every synset: it is
 * refused before any call, naming the template. */
static void
test_api_template (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *tmpl = g_strdup_printf ("%s/api/geturls?wnid=n02121808", f->base);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = test_request (KILN_GATHER_API, tmpl, "n02121808");
  RunState rs = { 0 };

  g_assert_no_error (error);
  soup_server_add_handler (f->server, "/api", api_handler, f, NULL);
  req->subset = TRUE;
  g_assert_false (run_gather (project, req, &rs, NULL));
  g_assert_error (rs.error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (rs.error->message, "{wnid}"));
  g_assert_nonnull (strstr (rs.error->message, tmpl));
  g_clear_error (&rs.error);
  g_assert_cmpuint (hits_of (f, "/api/geturls"), ==, 0);
}

/* A line over the reader's window and binary garbage are skipped and
 * recorded as invalid with their line numbers; every good line is kept. */
static void
test_list_invalid_lines (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *long_line = g_strnfill (300 * 1024, 'a');
  g_autoptr(GByteArray) text = g_byte_array_new ();
  g_autofree char *list = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = NULL;
  g_autoptr(GPtrArray) records = NULL;
  RunState rs = { 0 };
  guint n_invalid = 0;
  gboolean saw_line_2 = FALSE;

  g_assert_no_error (error);
#define APPEND(s) g_byte_array_append (text, (const guint8 *) (s), strlen (s))
  {
    g_autofree char *a = g_strdup_printf ("%s/img/a.png\n", f->base);
    g_autofree char *b = g_strdup_printf ("\n%s/img/b.png\n", f->base);
    g_autofree char *c = g_strdup_printf ("\n%s/img/c.png\n", f->base);
    APPEND (a);
    APPEND (long_line);
    APPEND (b);
    g_byte_array_append (text, g_bytes_get_data (f->png, NULL), g_bytes_get_size (f->png));
    APPEND (c);
  }
#undef APPEND
  list = write_list (f, "urls.txt", (const char *) text->data, text->len);
  req = test_request (KILN_GATHER_URLS, list, "n02121808");
  g_assert_true (run_gather (project, req, &rs, NULL));
  g_assert_no_error (rs.error);
  g_assert_cmpuint (rs.last.n_kept, ==, 3);

  records = kiln_project_list_downloads (project, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < records->len; i++)
    {
      KilnDownloadRecord *rec = g_ptr_array_index (records, i);

      g_assert_true (g_utf8_validate (rec->url, -1, NULL));
      if (rec->outcome == KILN_DOWNLOAD_KEPT)
        continue;
      n_invalid++;
      if (!g_str_has_prefix (rec->detail, "invalid") || strstr (rec->detail, "line ") == NULL)
        g_error ("%s: “%s”, expected invalid with a line number", rec->url, rec->detail);
      saw_line_2 |= g_str_has_suffix (rec->url, "#line=2");
    }
  g_assert_true (saw_line_2);
  g_assert_cmpuint (n_invalid, >=, 2);
  g_assert_cmpuint (rs.last.n_rejected, ==, n_invalid);
}

/* URLs with an empty host never reach libsoup (which warns critically
 * about them): they are invalid. */
static void
test_empty_host (Fixture *f, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf ("http://\nhttps:///x.jpg\nhttp://:80/y.png\n%s/img/ok.png\n", f->base);
  g_auto(ListRun) lr = { 0 };
  RunState rs = { 0 };
  const char *bad[] = { "http://", "https:///x.jpg", "http://:80/y.png" };

  list_run_init (&lr, f, text);
  g_assert_true (run_gather (lr.project, lr.req, &rs, NULL));
  g_assert_cmpuint (rs.last.n_kept, ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_record (lr.project, "", bad[i], KILN_DOWNLOAD_REJECTED, "invalid");
}

/* A redirect libsoup refuses (to file://) has its own reason, and a web
 * page served as image/jpeg is no image, whatever its size. */
static void
test_refused_redirect (Fixture *f, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf ("%s/tofile/x.png\n%s/htmljpeg/y.jpg\n", f->base, f->base);
  g_auto(ListRun) lr = { 0 };
  RunState rs = { 0 };

  list_run_init (&lr, f, text);
  lr.req->min_bytes = 1024;
  g_assert_true (run_gather (lr.project, lr.req, &rs, NULL));
  assert_record (lr.project, f->base, "/tofile/x.png", KILN_DOWNLOAD_REJECTED, "redirect");
  assert_record (lr.project, f->base, "/htmljpeg/y.jpg", KILN_DOWNLOAD_REJECTED, "not-an-image");
}

/* 20 PNGs of 28 × 28 (a few hundred bytes each, like MNIST's) in a folder
 * named relative to the working directory: all imported with the default
 * settings. */
static void
test_folder_relative (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *src = g_build_filename (f->dir, "digits", NULL);
  g_autofree char *cwd = g_get_current_dir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = kiln_gather_request_new (KILN_GATHER_FOLDER, "digits", NULL);
  RunState rs = { 0 };
  gboolean ok;

  g_assert_no_error (error);
  g_mkdir_with_parents (src, 0755);
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 28, 28);
      g_autofree char *path = g_strdup_printf ("%s/d%02u.png", src, i);
      guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);

      for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28 * 3; x++)
          pixels[y * gdk_pixbuf_get_rowstride (pixbuf) + x] = (x + y * 5 + i * 9) & 0xff;
      g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
      g_assert_no_error (error);
    }
  req->class_name = g_strdup ("digits");
  g_assert_cmpint (g_chdir (f->dir), ==, 0);
  ok = run_gather (project, req, &rs, NULL);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_assert_true (ok);
  g_assert_no_error (rs.error);
  g_assert_cmpuint (rs.last.n_skipped, ==, 0);
  g_assert_cmpuint (rs.last.n_kept, ==, 20);
}

/* Wrong options and missing inputs are refused before anything is
 * created. */
static void
test_cli_checks (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "missing.txt", NULL);
  /* Nothing listens on port 1: a run that should not have started ends at once. */
  g_autofree char *list = write_list (f, "urls.txt", "http://127.0.0.1:1/a.png\n", -1);
  struct { const char *option; const char *value; const char *file; int status; } cases[] = {
    { "--timeout", "0", list, 2 },
    { "--max-size", "0", list, 2 },
    { "--connect-timeout", "0", list, 2 },
    { "--parallel", "0", list, 2 },
    { "--retries", "-1", list, 2 },
    { "--limit", "1", missing, 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *args[] = { "gather", "--project", pdir, "--urls", cases[i].file, "--wnid", "n02121808",
                             cases[i].option, cases[i].value, NULL };
      g_autofree char *out = NULL, *err = NULL;
      int status = kiln_test_run_cli (args, &out, &err);

      if (!WIFEXITED (status) || WEXITSTATUS (status) != cases[i].status)
        g_error ("%s %s: status %d, expected exit %d (%s)", cases[i].option, cases[i].value, status,
                 cases[i].status, err);
      g_assert_nonnull (strstr (err, cases[i].file == missing ? missing : cases[i].option));
      g_assert_false (g_file_test (pdir, G_FILE_TEST_EXISTS));
    }
}

typedef struct {
  char         *incoming;
  GCancellable *cancellable;
  guint64       seen;
} StreamWatch;

static gboolean
watch_incoming (gpointer data)
{
  StreamWatch *w = data;
  g_autoptr(GDir) d = g_dir_open (w->incoming, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (w->incoming, name, NULL);
      GStatBuf st;

      if (g_stat (path, &st) == 0)
        w->seen = MAX (w->seen, (guint64) st.st_size);
    }
  if (w->seen >= 256 + 3 * 64)
    {
      g_cancellable_cancel (w->cancellable);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* A body goes to a temporary file as it arrives (not into memory), and a
 * stopped run leaves none behind. */
static void
test_streamed_body (Fixture *f, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf ("%s/drip/slow.png\n", f->base);
  g_auto(ListRun) lr = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  StreamWatch w = { NULL, cancellable, 0 };
  RunState rs = { 0 };
  guint id;

  list_run_init (&lr, f, text);
  w.incoming = g_build_filename (lr.pdir, "cache", "gather-tmp", ".incoming", NULL);
  lr.req->total_timeout_ms = 10000;
  id = g_timeout_add (50, watch_incoming, &w);
  g_assert_false (run_gather (lr.project, lr.req, &rs, cancellable));
  g_clear_error (&rs.error);
  if (g_main_context_find_source_by_id (NULL, id))
    g_source_remove (id);
  g_assert_cmpuint (w.seen, >=, 256 + 3 * 64);
  g_assert_cmpuint (count_files (w.incoming), ==, 0);
  g_free (w.incoming);
}

static void
card_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
              GHashTable *query, gpointer data)
{
  Fixture *f = data;
  const char *base = strrchr (path, '/') + 1;

  count_hit (f, path);
  if (g_str_has_prefix (path, "/gone/"))
    {
      /* The same file name in another folder: the host's stand-in. */
      g_autofree char *to = g_strconcat ("/nophoto/", base, NULL);
      soup_server_message_set_redirect (msg, 302, to);
    }
  else if (g_str_has_prefix (path, "/cdn/"))
    {
      g_autofree char *to = g_strconcat ("/large/", base, NULL);
      soup_server_message_set_redirect (msg, 302, to);
    }
  else if (g_str_has_prefix (path, "/nophoto/") || g_str_has_prefix (path, "/card/"))
    serve_bytes (msg, "image/png", f->card);
  else if (g_str_has_prefix (path, "/large/"))
    serve_bytes (msg, "image/jpeg", f->big);
  else if (g_str_has_prefix (path, "/real/"))
    {
      /* A different photo at each URL. */
      g_autoptr(GBytes) photo = make_image ("jpeg", 80, 60, g_str_hash (path));
      serve_bytes (msg, "image/jpeg", photo);
    }
  else
    soup_server_message_set_status (msg, 404, NULL);
}

/* Placeholders found without registering them: a redirect to another
 * folder that ends on a small image is one, and its image is learned, so
 * that the same picture served directly is refused too; a redirect to a
 * large image of the same name (a CDN) is kept. */
static void
test_placeholder_redirect (Fixture *f, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf ("%s/gone/x.jpg\n%s/cdn/y.jpg\n", f->base, f->base);
  g_auto(ListRun) lr = { 0 };
  RunState rs = { 0 };

  list_run_init (&lr, f, text);
  g_assert_cmpuint (g_bytes_get_size (f->card), <, 16 * 1024);
  g_assert_cmpuint (g_bytes_get_size (f->big), >, 16 * 1024);
  soup_server_add_handler (f->server, "/gone", card_handler, f, NULL);
  soup_server_add_handler (f->server, "/cdn", card_handler, f, NULL);
  soup_server_add_handler (f->server, "/nophoto", card_handler, f, NULL);
  soup_server_add_handler (f->server, "/large", card_handler, f, NULL);
  soup_server_add_handler (f->server, "/card", card_handler, f, NULL);
  g_assert_true (run_gather (lr.project, lr.req, &rs, NULL));
  assert_record (lr.project, f->base, "/gone/x.jpg", KILN_DOWNLOAD_REJECTED, "placeholder");
  assert_record (lr.project, f->base, "/cdn/y.jpg", KILN_DOWNLOAD_KEPT, "kept");

  {
    g_autofree char *again = g_strdup_printf ("%s/card/z.png\n", f->base);
    g_autofree char *list2 = write_list (f, "urls2.txt", again, -1);
    g_autoptr(KilnGatherRequest) req2 = test_request (KILN_GATHER_URLS, list2, "n02121808");
    RunState rs2 = { 0 };

    g_assert_true (run_gather (lr.project, req2, &rs2, NULL));
    assert_record (lr.project, f->base, "/card/z.png", KILN_DOWNLOAD_REJECTED, "placeholder");
  }
}

/* One body served under many URLs of three hosts (here: three ports of
 * 127.0.0.1) is a placeholder: none of its copies stays among the kept
 * images, while each host's real image does. */
static void
test_placeholder_repeated (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *class_dir = g_build_filename (pdir, "images", "n02121808", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
  g_autoptr(KilnGatherRequest) req = NULL;
  g_autoptr(GPtrArray) bases = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *list = NULL;
  GSList *uris;
  RunState rs = { 0 };

  g_assert_no_error (error);
  soup_server_add_handler (f->server, "/card", card_handler, f, NULL);
  soup_server_add_handler (f->server, "/real", card_handler, f, NULL);
  for (guint i = 0; i < 2; i++)
    {
      soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
      g_assert_no_error (error);
    }
  uris = soup_server_get_uris (f->server);
  for (GSList *l = uris; l; l = l->next)
    g_ptr_array_add (bases, g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (l->data)));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_assert_cmpuint (bases->len, ==, 3);
  for (guint i = 0; i < 2 * bases->len; i++)
    {
      const char *base = g_ptr_array_index (bases, i % bases->len);
      g_string_append_printf (text, "%s/card/u%u.png\n%s/real/p%u.jpg\n", base, i, base, i);
    }
  list = write_list (f, "urls.txt", text->str, text->len);
  req = test_request (KILN_GATHER_URLS, list, "n02121808");
  req->max_parallel = 2;
  g_assert_true (run_gather (project, req, &rs, NULL));
  for (guint i = 0; i < 2 * bases->len; i++)
    {
      g_autofree char *card = g_strdup_printf ("/card/u%u.png", i);
      g_autofree char *photo = g_strdup_printf ("/real/p%u.jpg", i);

      assert_record (project, g_ptr_array_index (bases, i % bases->len), card, KILN_DOWNLOAD_REJECTED, "placeholder");
      assert_record (project, g_ptr_array_index (bases, i % bases->len), photo, KILN_DOWNLOAD_KEPT, "kept");
    }
  g_assert_cmpuint (count_files (class_dir), ==, 2 * bases->len);
}

/* URLs that failed for good are left alone, unless asked: --retry-failed
 * fetches them again (and not the rejected ones), and the record counts
 * every request. */
static void
test_retry_failed (Fixture *f, gconstpointer data)
{
  g_autofree char *pdir = g_build_filename (f->dir, "project", NULL);
  g_autofree char *text = g_strdup_printf ("%s/down/x.png\n%s/404/y.png\n", f->base, f->base);
  g_autofree char *list = write_list (f, "urls.txt", text, -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnGatherRequest) req = test_request (KILN_GATHER_URLS, list, "n02121808");
  const char *args[] = { "gather", "--project", pdir, "--wnid", "n02121808", "--urls", list, "--retries", "0",
                         "--retry-failed", "--quiet", NULL };

  req->max_retries = 0;
  for (guint run = 0; run < 3; run++)
    {
      g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
      RunState rs = { 0 };

      g_assert_no_error (error);
      req->retry_failed = run == 2;
      g_assert_true (run_gather (project, req, &rs, NULL));
      g_assert_cmpuint (rs.last.n_skipped, ==, run == 0 ? 0 : run == 1 ? 2 : 1);
    }
  g_assert_cmpuint (hits_of (f, "/down/x.png"), ==, 2);
  g_assert_cmpuint (hits_of (f, "/404/y.png"), ==, 1);
  {
    g_autoptr(GSubprocess) proc = run_cli (f, args, 0);
    g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  }
  g_assert_cmpuint (hits_of (f, "/down/x.png"), ==, 3);
  {
    g_autoptr(KilnProject) project = kiln_project_open (pdir, &error);
    g_autoptr(KilnDownloadRecord) rec = get_record (project, f->base, "/down/x.png");
    g_assert_cmpint (rec->outcome, ==, KILN_DOWNLOAD_FAILED);
    g_assert_cmpint (rec->attempts, ==, 3);
  }
}

/* Retries of a stalled URL stop at its deadline, whatever the retry count
 * would allow: here 1.5 s instead of six 1 s attempts. */
static void
test_url_deadline (Fixture *f, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf ("%s/stall/forever.png\n", f->base);
  g_auto(ListRun) lr = { 0 };
  g_autoptr(KilnDownloadRecord) rec = NULL;
  const char *help[] = { "gather", "--help", NULL };
  g_autofree char *out = NULL, *err = NULL;
  RunState rs = { 0 };
  gint64 t0;

  list_run_init (&lr, f, text);
  lr.req->max_retries = 5;
  lr.req->url_deadline_ms = 1500;
  t0 = g_get_monotonic_time ();
  g_assert_true (run_gather (lr.project, lr.req, &rs, NULL));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 2800 * 1000);
  rec = get_record (lr.project, f->base, "/stall/forever.png");
  g_assert_cmpint (rec->outcome, ==, KILN_DOWNLOAD_FAILED);
  g_assert_true (g_str_has_prefix (rec->detail, "timeout"));
  g_assert_nonnull (strstr (rec->detail, "deadline of 1.5 s"));
  g_assert_cmpuint (hits_of (f, "/stall/forever.png"), ==, 2);
  /* Documented where a user looks. */
  g_assert_cmpint (kiln_test_run_cli (help, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "--url-deadline"));
}

static void
test_file_names (void)
{
  struct { const char *url; const char *name; } cases[] = {
    { "http://h/a/cat.jpg", "cat.png" },
    { "http://h/a/Cat%20Photo.JPEG?size=large", "Cat Photo.png" },
    { "http://h/a/..%2F..%2Fetc%2Fpasswd", "%2F.%2Fetc%2Fpasswd.png" },
    { "http://h/a/../../etc/passwd", "passwd.png" },
    { "http://h/", "image.png" },
    { "http://h/a/...", "image.png" },
    { "http://h/a/x%0Ay%00z.gif", "x_y_z.png" },
    { "http://h/a/.hidden.png", "hidden.png" },
    { "http://h/a/b:c*d?.png", "b_c_d.png" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = kiln_gatherer_file_name_for_url (cases[i].url, "png");
      g_assert_cmpstr (name, ==, cases[i].name);
    }
  {
    g_autofree char *longpart = g_strnfill (300, 'b');
    g_autofree char *url = g_strdup_printf ("http://h/%s%%C3%%A9.jpg", longpart);
    g_autofree char *name = kiln_gatherer_file_name_for_url (url, "jpg");
    g_assert_cmpuint (strlen (name), ==, 120 + 4);
    g_assert_true (g_utf8_validate (name, -1, NULL));
  }
}

/* Found with fuzz-api-template: a wnid went into the template's URL as
 * given, so "../x?y#z" could add a path, a query and a fragment; it is
 * percent-encoded now. A template whose {wnid} is the port never makes a
 * URL and is refused. */
static void
test_api_url_escapes (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = kiln_gather_api_url ("http://host/list?wnid={wnid}", "a/../b?c#d@e", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (url, ==, "http://host/list?wnid=a%2F..%2Fb%3Fc%23d%40e");
  g_autofree char *real = kiln_gather_api_url ("http://host/{wnid}/urls", "n02084071", &error);
  g_assert_cmpstr (real, ==, "http://host/n02084071/urls");
  g_assert_null (kiln_gather_api_url ("https://h80:{wnid}/u", "n02084071", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "https://h80:{wnid}/u"));
  g_clear_error (&error);
  g_assert_null (kiln_gather_api_url ("http://host/list", "n02084071", &error));
  g_assert_nonnull (strstr (error->message, "has no {wnid}"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* The server is on 127.0.0.1: no proxy of the environment may sit between. */
  {
    const char *vars[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
    for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
      g_unsetenv (vars[i]);
    g_setenv ("no_proxy", "127.0.0.1,localhost", TRUE);
  }
  g_test_add_func ("/gatherer/file-names", test_file_names);
  g_test_add_func ("/gatherer/api-url-escapes", test_api_url_escapes);
  g_test_add ("/gatherer/faults/plain", Fixture, GINT_TO_POINTER (FALSE), fixture_setup, test_faults, fixture_teardown);
  g_test_add ("/gatherer/faults/fall11", Fixture, GINT_TO_POINTER (TRUE), fixture_setup, test_faults, fixture_teardown);
  g_test_add ("/gatherer/resume", Fixture, NULL, fixture_setup, test_resume, fixture_teardown);
  g_test_add ("/gatherer/limit", Fixture, NULL, fixture_setup, test_limit, fixture_teardown);
  g_test_add ("/gatherer/cli-kill", Fixture, NULL, fixture_setup, test_cli_kill, fixture_teardown);
  g_test_add ("/gatherer/cli-kill-loop", Fixture, NULL, fixture_setup, test_cli_kill_loop, fixture_teardown);
  g_test_add ("/gatherer/enospc-download", Fixture, NULL, fixture_setup, test_enospc_download, fixture_teardown);
  g_test_add ("/gatherer/hostile", Fixture, NULL, fixture_setup, test_hostile, fixture_teardown);
  g_test_add ("/gatherer/connect-timeout", Fixture, NULL, fixture_setup, test_connect_timeout, fixture_teardown);
  g_test_add ("/gatherer/placeholder-hash", Fixture, NULL, fixture_setup, test_placeholder_hash, fixture_teardown);
  g_test_add ("/gatherer/recover", Fixture, NULL, fixture_setup, test_recover, fixture_teardown);
  g_test_add ("/gatherer/archive", Fixture, NULL, fixture_setup, test_archive, fixture_teardown);
  g_test_add ("/gatherer/folder", Fixture, NULL, fixture_setup, test_folder, fixture_teardown);
  g_test_add ("/gatherer/symlink-out/images", Fixture, "images", fixture_setup, test_symlink_out, fixture_teardown);
  g_test_add ("/gatherer/symlink-out/tmp", Fixture, "cache/gather-tmp", fixture_setup, test_symlink_out,
              fixture_teardown);
  g_test_add ("/gatherer/same-checks/urls", Fixture, GINT_TO_POINTER (KILN_GATHER_URLS), fixture_setup, test_same_checks, fixture_teardown);
  g_test_add ("/gatherer/same-checks/folder", Fixture, GINT_TO_POINTER (KILN_GATHER_FOLDER), fixture_setup, test_same_checks, fixture_teardown);
  g_test_add ("/gatherer/same-checks/archive", Fixture, GINT_TO_POINTER (KILN_GATHER_ARCHIVE), fixture_setup, test_same_checks, fixture_teardown);
  g_test_add ("/gatherer/limit/folder", Fixture, GINT_TO_POINTER (KILN_GATHER_FOLDER), fixture_setup, test_local_limit, fixture_teardown);
  g_test_add ("/gatherer/limit/archive", Fixture, GINT_TO_POINTER (KILN_GATHER_ARCHIVE), fixture_setup, test_local_limit, fixture_teardown);
  g_test_add ("/gatherer/api-subset", Fixture, NULL, fixture_setup, test_api, fixture_teardown);
  g_test_add ("/gatherer/short-body", Fixture, NULL, fixture_setup, test_short_body, fixture_teardown);
  g_test_add ("/gatherer/api-template", Fixture, NULL, fixture_setup, test_api_template, fixture_teardown);
  g_test_add ("/gatherer/list-invalid-lines", Fixture, NULL, fixture_setup, test_list_invalid_lines, fixture_teardown);
  g_test_add ("/gatherer/empty-host", Fixture, NULL, fixture_setup, test_empty_host, fixture_teardown);
  g_test_add ("/gatherer/refused-redirect", Fixture, NULL, fixture_setup, test_refused_redirect, fixture_teardown);
  g_test_add ("/gatherer/folder-relative", Fixture, NULL, fixture_setup, test_folder_relative, fixture_teardown);
  g_test_add ("/gatherer/cli-checks", Fixture, NULL, fixture_setup, test_cli_checks, fixture_teardown);
  g_test_add ("/gatherer/streamed-body", Fixture, NULL, fixture_setup, test_streamed_body, fixture_teardown);
  g_test_add ("/gatherer/placeholder-redirect", Fixture, NULL, fixture_setup, test_placeholder_redirect, fixture_teardown);
  g_test_add ("/gatherer/placeholder-repeated", Fixture, NULL, fixture_setup, test_placeholder_repeated, fixture_teardown);
  g_test_add ("/gatherer/retry-failed", Fixture, NULL, fixture_setup, test_retry_failed, fixture_teardown);
  g_test_add ("/gatherer/url-deadline", Fixture, NULL, fixture_setup, test_url_deadline, fixture_teardown);
  return g_test_run ();
}
