/* libFuzzer target for the URL → file-name sanitiser
 * (kiln_gatherer_file_name_for_url): the bytes are a URL, the first byte
 * also picks the extension. Properties asserted: the name is never empty,
 * is valid UTF-8, has no '/', '\\' or control character, is not "." or
 * "..", never starts with a dot (no hidden file), ends in the extension
 * with a non-empty stem of at most 120 bytes, and joined to a folder stays
 * directly inside it. */
#include <stdint.h>
#include <string.h>

#include "kiln-gatherer.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const extensions[] = { "jpg", "png", "gif", "bmp", "webp", "tif" };
  const char *extension = extensions[size ? data[0] % G_N_ELEMENTS (extensions) : 0];
  g_autofree char *url = g_strndup ((const char *) data, size);
  g_autofree char *name = kiln_gatherer_file_name_for_url (url, extension);
  g_autofree char *suffix = g_strconcat (".", extension, NULL);

  g_assert_nonnull (name);
  g_assert_cmpuint (strlen (name), >, strlen (suffix));
  g_assert_true (g_utf8_validate (name, -1, NULL));
  g_assert_null (strchr (name, '/'));
  g_assert_null (strchr (name, '\\'));
  g_assert_cmpint (name[0], !=, '.');
  g_assert_cmpstr (name, !=, ".");
  g_assert_cmpstr (name, !=, "..");
  g_assert_true (g_str_has_suffix (name, suffix));
  g_assert_cmpuint (strlen (name) - strlen (suffix), <=, 120);
  for (const char *p = name; *p; p++)
    g_assert_true ((guchar) *p >= 0x20 && *p != 0x7f);

  /* Joined to a folder, the path's folder is that folder. */
  g_autofree char *path = g_build_filename ("/project/images/cat", name, NULL);
  g_autofree char *canonical = g_canonicalize_filename (path, NULL);
  g_autofree char *parent = g_path_get_dirname (canonical);
  g_assert_cmpstr (parent, ==, "/project/images/cat");
  return 0;
}
