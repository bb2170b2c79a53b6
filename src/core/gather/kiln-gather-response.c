/* kiln-gather-response.c: judging a response's head (see the header). */
#include "config.h"

#include <string.h>

#include "kiln-gather-check.h"
#include "kiln-gather-response.h"

void
kiln_gather_response_clear (KilnGatherResponse *response)
{
  g_clear_pointer (&response->retry_what, g_free);
}

gint64
kiln_gather_response_retry_after (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one (headers, "Retry-After");
  g_autoptr(GDateTime) when = NULL;
  g_autoptr(GDateTime) now = NULL;
  char *end;
  guint64 seconds;

  if (value == NULL)
    return -1;
  seconds = g_ascii_strtoull (value, &end, 10);
  if (end != value && *end == '\0')
    return (gint64) MIN (seconds, G_MAXINT64 / 1000) * 1000;
  when = soup_date_time_new_from_http_string (value);
  if (when == NULL)
    return -1;
  now = g_date_time_new_now_utc ();
  return MAX (0, g_date_time_difference (when, now) / 1000);
}

/* The path, percent-decoded so that encodings compare equal. */
static char *
decoded_path (GUri *uri)
{
  const char *path = g_uri_get_path (uri);
  char *decoded = g_uri_unescape_string (path, NULL);

  return decoded ? decoded : g_strdup (path);
}

/* Where a redirect took the request: the file asked for, the same name in
 * another folder, or another file. */
static KilnGatherLanding
landing_of (GUri *asked, GUri *final)
{
  g_autofree char *want = decoded_path (asked);
  g_autofree char *got = decoded_path (final);
  const char *want_base = strrchr (want, '/');
  const char *got_base = strrchr (got, '/');

  if (g_strcmp0 (want_base ? want_base : want, got_base ? got_base : got) != 0)
    return KILN_GATHER_LANDED_OTHER_FILE;
  return g_str_equal (want, got) ? KILN_GATHER_LANDED_ASKED : KILN_GATHER_LANDED_OTHER_FOLDER;
}

static gboolean
acceptable_content_type (const char *type)
{
  return type == NULL || g_str_has_prefix (type, "image/") ||
         g_str_equal (type, "application/octet-stream") || g_str_equal (type, "binary/octet-stream");
}

KilnGatherResponseAction
kiln_gather_response_judge (const KilnGatherRequest *request,
                            KilnGatherItem          *item,
                            GUri                    *asked,
                            GUri                    *final,
                            guint                    status,
                            const char              *reason_phrase,
                            SoupMessageHeaders      *headers,
                            KilnGatherResponse      *response)
{
  const char *type;
  goffset length;

  response->expected = -1;
  response->retry_after_ms = -1;
  item->http_status = status;
  if (reason_phrase == NULL)
    reason_phrase = "";

  if (status == 429 || (status >= 500 && status <= 599))
    {
      response->retry_what = g_strdup_printf ("HTTP %u %s", status, reason_phrase);
      response->retry_after_ms = kiln_gather_response_retry_after (headers);
      return KILN_GATHER_RESPONSE_RETRY;
    }
  if (status < 200 || status > 299)
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_HTTP, "HTTP %u %s", status,
                                   reason_phrase);
      return KILN_GATHER_RESPONSE_REJECT;
    }

  length = soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
           ? soup_message_headers_get_content_length (headers) : -1;
  /* Hosts send dead images to a "photo unavailable" picture: a redirect
   * that lands on another file is not the image asked for (its body is
   * read only to learn it, when small), one to another folder is judged
   * by its size once read (kiln-gather-check). */
  item->landing = landing_of (asked, final);
  if (item->landing != KILN_GATHER_LANDED_ASKED)
    {
      g_free (item->final_url);
      item->final_url = g_uri_to_string (final);
    }
  if (item->landing == KILN_GATHER_LANDED_OTHER_FILE && (length < 0 || length > KILN_GATHER_PLACEHOLDER_MAX_BYTES))
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_PLACEHOLDER,
                                   "redirected to %s, another file", item->final_url);
      return KILN_GATHER_RESPONSE_REJECT;
    }

  type = soup_message_headers_get_content_type (headers, NULL);
  if (!acceptable_content_type (type))
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_CONTENT_TYPE, "served as %s",
                                   type);
      return KILN_GATHER_RESPONSE_REJECT;
    }
  if (length > 0 && !kiln_gather_check_size (request, item, length))
    return KILN_GATHER_RESPONSE_ENDED;
  response->expected = length;
  return KILN_GATHER_RESPONSE_READ;
}
