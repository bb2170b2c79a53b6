/* libFuzzer target for URL lists (fall11_urls.txt form and plain): every
 * line of any bytes is an entry or a counted problem; the reader never
 * stops early or crashes. */
#include <gio/gio.h>
#include <stdint.h>

#include "kiln-url-list.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data (data, (gssize) size, NULL);
  g_autoptr(KilnUrlList) list = kiln_url_list_new_for_stream (stream, "fuzz");
  KilnUrlEntry entry;
  guint64 lines = 0, problems = 0;
  GError *error = NULL;

  while (kiln_url_list_next (list, &entry, NULL, &error))
    {
      lines++;
      /* An entry is a URL or a problem, never both, never neither. */
      g_assert_true ((entry.url == NULL) != (entry.problem == NULL));
      problems += entry.problem != NULL;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (problems, ==, kiln_url_list_get_n_invalid (list));
  return 0;
}
