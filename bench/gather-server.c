/* gather-server: the local HTTP server of bench/gather.sh.
 *
 *   gather-server PORT N_IMAGES SEED [WIDTH] > urls.txt
 *
 * Prints N_IMAGES URLs (shuffled with SEED) and serves them on 127.0.0.1:
 * 75% real JPEGs (320 × 240 by default, about 60 kB, made here with
 * GdkPixbuf; WIDTH × 3/4 WIDTH for the memory measurement), 20% broken
 * (404, 500, HTML with status 200, a redirect to a placeholder image) and
 * 5% stalls (headers and 1 kB, then nothing). One thread, asynchronous
 * (libsoup 3), so the server is never the clients' bottleneck. Stops after
 * 15 minutes in any case. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GBytes *jpeg;

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path,
         GHashTable *query, gpointer data)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (g_str_has_prefix (path, "/img/") || g_str_has_prefix (path, "/static/"))
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "image/jpeg", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (jpeg, NULL), g_bytes_get_size (jpeg));
    }
  else if (g_str_has_prefix (path, "/b404/"))
    soup_server_message_set_status (msg, 404, NULL);
  else if (g_str_has_prefix (path, "/b500/"))
    soup_server_message_set_status (msg, 500, NULL);
  else if (g_str_has_prefix (path, "/bhtml/"))
    {
      static const char page[] = "<!DOCTYPE html><html><body>This photo is no longer available.</body></html>";
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, page, sizeof page - 1);
    }
  else if (g_str_has_prefix (path, "/bmoved/"))
    soup_server_message_set_redirect (msg, 302, "/static/photo_unavailable.jpg");
  else if (g_str_has_prefix (path, "/stall/"))
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_message_headers_set_content_type (headers, "image/jpeg", NULL);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                                g_bytes_get_data (jpeg, NULL), 1024);
    }
  else
    soup_server_message_set_status (msg, 404, NULL);
}

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GRand) rand = NULL;
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  GMainLoop *loop;
  char *buf = NULL;
  gsize size = 0;
  int port, n, width, height;

  if (argc != 4 && argc != 5)
    {
      fprintf (stderr, "usage: gather-server PORT N_IMAGES SEED [WIDTH]\n");
      return 2;
    }
  port = atoi (argv[1]);
  n = atoi (argv[2]);
  rand = g_rand_new_with_seed (atoi (argv[3]));
  width = argc == 5 ? CLAMP (atoi (argv[4]), 16, 8192) : 320;
  height = width * 3 / 4;

  /* Smooth noise: a JPEG of a realistic size. */
  pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width * 3; x++)
      gdk_pixbuf_get_pixels (pixbuf)[y * gdk_pixbuf_get_rowstride (pixbuf) + x] =
        (x / 3 + y) % 256 / 2 + g_rand_int_range (rand, 0, 128);
  gdk_pixbuf_save_to_buffer (pixbuf, &buf, &size, "jpeg", &error, "quality", "90", NULL);
  g_assert_no_error (error);
  jpeg = g_bytes_new_take (buf, size);

  for (int i = 0; i < n; i++)
    {
      /* 75% good, 20% broken (5% each kind), 5% stalls. */
      int r = i % 20;
      const char *kind = r < 15 ? "img" : r == 15 ? "b404" : r == 16 ? "b500" : r == 17 ? "bhtml"
                         : r == 18 ? "bmoved" : "stall";
      g_ptr_array_add (urls, g_strdup_printf ("http://127.0.0.1:%d/%s/%05d.jpg", port, kind, i));
    }
  for (guint i = urls->len - 1; i > 0; i--)
    {
      guint j = g_rand_int_range (rand, 0, i + 1);
      gpointer t = urls->pdata[i];
      urls->pdata[i] = urls->pdata[j];
      urls->pdata[j] = t;
    }

  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, NULL, handler, NULL, NULL);
  if (!soup_server_listen_local (server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      fprintf (stderr, "gather-server: cannot listen on 127.0.0.1:%d: %s\n", port, error->message);
      return 1;
    }
  for (guint i = 0; i < urls->len; i++)
    printf ("%s\n", (char *) urls->pdata[i]);
  fflush (stdout);
  fclose (stdout);
  fprintf (stderr, "gather-server: %d URLs, image %zu bytes, listening on %d\n", n, size, port);

  loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add_seconds (15 * 60, quit_cb, loop);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  return 0;
}
