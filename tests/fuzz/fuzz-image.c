/* libFuzzer target for image bytes as a scrape delivers them: decoding
 * through kiln-image (JPEG via libjpeg-turbo, WebP, GdkPixbuf for the
 * rest) with its truncation and pixel-count checks, then the conversion a
 * network sees. A pixbuf or a GError, nothing else. */
#include <stdint.h>

#include "kiln-image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, size);
  KilnImageLoadOptions options = { 0 };
  /* Keep each run small: a hostile header must not cost gigabytes. */
  options.max_pixels = 4096 * 4096;
  g_autoptr(GdkPixbuf) pixbuf = kiln_image_load_bytes (bytes, "fuzz", &options, NULL, NULL);
  if (pixbuf == NULL)
    return 0;
  g_autoptr(GdkPixbuf) small = kiln_image_resize (pixbuf, 17, 13, KILN_RESIZE_CROP_CENTER);
  g_assert_cmpint (gdk_pixbuf_get_width (small), ==, 17);
  g_assert_cmpint (gdk_pixbuf_get_height (small), ==, 13);
  return 0;
}
