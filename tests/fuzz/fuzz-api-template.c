/* libFuzzer target for the --api template expansion: the bytes split at
 * the first NUL into a template and a wnid. kiln_gather_api_url gives a URL
 * or a GError. Properties: a template that passes the request's check
 * (with n00000001) works for every real wnid; a URL is http(s) with a host
 * and holds the wnid only percent-encoded, so that a hostile wnid cannot
 * add a path, query, fragment or user to the URL. */
#include <stdint.h>
#include <string.h>

#include "kiln-gather-job.h"
#include "kiln-gatherer-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, '\0', size);
  g_autofree char *text = g_strndup ((const char *) data, nul ? (gsize) (nul - data) : size);
  g_autofree char *wnid_copy = nul ? g_strndup ((const char *) nul + 1, size - (gsize) (nul + 1 - data))
                                   : g_strdup ("n02084071");

  /* The request check tries the template with n00000001; every real wnid
   * (n and 8 digits) must then work too. */
  g_autofree char *checked = kiln_gather_api_url (text, "n00000001", NULL);
  g_autofree char *real_wnid = g_strdup_printf ("n%08u", g_str_hash (wnid_copy) % 100000000u);
  g_autofree char *real = kiln_gather_api_url (text, real_wnid, NULL);
  g_assert_true ((checked == NULL) == (real == NULL));

  g_autofree char *url = kiln_gather_api_url (text, wnid_copy, NULL);
  if (url == NULL)
    return 0;
  g_autoptr(GUri) uri = kiln_gather_parse_http_url (url);
  g_assert_nonnull (uri);
  g_autofree char *escaped = g_uri_escape_string (wnid_copy, NULL, FALSE);
  if (*escaped)
    g_assert_nonnull (strstr (url, escaped));

  /* The same template with a plain wnid, when it makes a URL at all: a
   * hostile wnid must leave the URL's structure as it was, so the number
   * of '/', '?', '#' and '@' stays the same. */
  g_autofree char *plain = kiln_gather_api_url (text, "n00000001", NULL);
  if (plain == NULL)
    return 0;
  for (const char *c = "/?#@"; *c; c++)
    {
      guint a = 0, b = 0;
      for (const char *p = url; *p; p++)
        a += *p == *c;
      for (const char *p = plain; *p; p++)
        b += *p == *c;
      g_assert_cmpuint (a, ==, b);
    }
  return 0;
}
