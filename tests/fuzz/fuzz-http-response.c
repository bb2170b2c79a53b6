/* libFuzzer target for the gatherer's handling of an HTTP response: the
 * bytes are a raw response (status line, headers, blank line, body). The
 * head is parsed by libsoup's own parser, as for a real response, and
 * judged by kiln_gather_response_judge (the code the download job runs);
 * a body to read goes through the job's per-chunk checks (text at the
 * start, the size cap) in chunks of 7 bytes. Properties: a verdict sets
 * the item's outcome exactly when it ends the item; a retry names the
 * status; a body read is never more than the cap; a redirect's landing is
 * recorded with its URL. */
#define _GNU_SOURCE   /* memmem */
#include <stdint.h>
#include <string.h>

#include "kiln-gather-check.h"
#include "kiln-gather-response.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char asked_url[] = "http://images.example.org/photos/n02084071/dog.jpg";
  const uint8_t *end = size >= 4 ? memmem (data, size, "\r\n\r\n", 4) : NULL;
  gsize head_len = end ? (gsize) (end - data) + 4 : size;
  g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autoptr(KilnGatherRequest) request = kiln_gather_request_new (KILN_GATHER_URLS, "urls.txt", "n02084071");
  g_autoptr(KilnGatherItem) item = NULL;
  g_autoptr(GUri) asked = g_uri_parse (asked_url, SOUP_HTTP_URI_FLAGS, NULL);
  g_autoptr(GUri) final = NULL;
  g_autofree char *reason = NULL;
  KilnGatherResponse response = { 0 };
  guint status;

  if (!soup_headers_parse_response ((const char *) data, (int) head_len, headers, NULL, &status, &reason))
    return 0;
  request->max_bytes = 64;
  item = kiln_gather_item_new (request, asked_url, "n02084071");

  /* A Location header stands for where redirects ended. */
  const char *location = soup_message_headers_get_one (headers, "Location");
  final = location ? g_uri_parse_relative (asked, location, SOUP_HTTP_URI_FLAGS, NULL) : NULL;
  if (final == NULL)
    final = g_uri_ref (asked);

  KilnGatherResponseAction action = kiln_gather_response_judge (request, item, asked, final, status, reason,
                                                                headers, &response);
  g_assert_cmpint (item->http_status, ==, (int) status);
  switch (action)
    {
    case KILN_GATHER_RESPONSE_RETRY:
      g_assert_true (status == 429 || (status >= 500 && status <= 599));
      g_assert_nonnull (response.retry_what);
      g_assert_cmpint (item->outcome, ==, 0);
      break;
    case KILN_GATHER_RESPONSE_REJECT:
    case KILN_GATHER_RESPONSE_ENDED:
      g_assert_cmpint (item->outcome, !=, 0);
      g_assert_nonnull (item->detail);
      break;
    case KILN_GATHER_RESPONSE_READ:
      {
        g_assert_true (status >= 200 && status <= 299);
        g_assert_cmpint (item->outcome, ==, 0);
        if (item->landing != KILN_GATHER_LANDED_ASKED)
          g_assert_nonnull (item->final_url);
        const guint8 *body = data + head_len;
        gsize n = size - head_len;
        for (gsize at = 0; at < n; at += 7)
          {
            gsize chunk = MIN (7, n - at);
            if (at == 0 && !kiln_gather_check_start (item, body, chunk))
              break;
            item->n_bytes += chunk;
            if (!kiln_gather_check_size (request, item, item->n_bytes))
              {
                g_assert_cmpint (item->outcome, !=, 0);
                break;
              }
            g_assert_cmpuint (item->n_bytes, <=, request->max_bytes);
          }
        break;
      }
    default:
      g_assert_not_reached ();
    }
  kiln_gather_response_clear (&response);
  return 0;
}
