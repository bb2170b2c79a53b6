/* kiln-gather-check.c: the gatherer's image checks, one set for every
 * source (see the header). */
#define _GNU_SOURCE  /* memmem */

#include "config.h"

#include <string.h>

#include "kiln-gather-check.h"
#include "kiln-inspector.h"

gboolean
kiln_gather_check_size (const KilnGatherRequest *request,
                        KilnGatherItem          *item,
                        guint64                  n_bytes)
{
  if (n_bytes <= request->max_bytes)
    return TRUE;
  kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_LARGE,
                               "at least %" G_GUINT64_FORMAT " bytes, over the cap of %" G_GUINT64_FORMAT,
                               n_bytes, request->max_bytes);
  return FALSE;
}

typedef struct {
  guint max_pixels;
  gboolean too_big;
  gboolean keep_detail;   /* placeholders are compared: decode at >= 64 px */
  int width, height;
} SizeCheck;

static gboolean
is_jpeg (GdkPixbufFormat *format)
{
  g_autofree char *name = format ? gdk_pixbuf_format_get_name (format) : NULL;

  return g_strcmp0 (name, "jpeg") == 0;
}

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  SizeCheck *check = data;

  check->width = width;
  check->height = height;
  if (width <= 0 || height <= 0 || (guint64) width * height > check->max_pixels)
    {
      check->too_big = TRUE;
      /* Loaders that can scale then allocate almost nothing. */
      gdk_pixbuf_loader_set_size (loader, 1, 1);
    }
  else if (is_jpeg (gdk_pixbuf_loader_get_format (loader)))
    {
      /* libjpeg still decodes every coefficient (corrupt data still fail)
       * but runs the inverse DCT at 1/8 size: a third of the CPU. The
       * inspector decodes kept files at full size later anyway. */
      int scale = check->keep_detail ? CLAMP (MIN (width, height) / 64, 1, 8) : 8;

      if (scale > 1)
        gdk_pixbuf_loader_set_size (loader, MAX (1, width / scale), MAX (1, height / scale));
    }
}

static gboolean
tail_has (const guint8 *data, gsize len, const void *needle, gsize nlen, gsize window)
{
  gsize from = len > window ? len - window : 0;

  return memmem (data + from, len - from, needle, nlen) != NULL;
}

/* GdkPixbuf decodes a truncated JPEG without an error, so the end markers
 * are checked here. JPEG entropy-coded data never hold FF D9 (FF is stuffed),
 * so EOI near the end means the stream was complete. */
static gboolean
looks_truncated (const char *format, const guint8 *data, gsize len)
{
  if (g_strcmp0 (format, "jpeg") == 0)
    return !tail_has (data, len, "\xff\xd9", 2, 1024);
  if (g_strcmp0 (format, "png") == 0)
    return !tail_has (data, len, "IEND", 4, 256);
  if (g_strcmp0 (format, "gif") == 0)
    return !tail_has (data, len, "\x3b", 1, 64);
  return FALSE;
}

gboolean
kiln_gather_check_image (const KilnGatherRequest *request,
                         KilnGatherItem          *item,
                         KilnImageInfo           *info)
{
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *data = item->data->data;
  gsize len = item->data->len;
  SizeCheck check = { request->max_pixels, FALSE, request->placeholders && request->placeholders->len > 0, 0, 0 };
  gboolean ok = TRUE;
  GdkPixbuf *pixbuf;
  guint64 known;
  int distance;

  memset (info, 0, sizeof *info);
  if (len < request->min_bytes)
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_SMALL,
                                   "%" G_GSIZE_FORMAT " bytes, under the minimum of %" G_GUINT64_FORMAT,
                                   len, request->min_bytes);
      return FALSE;
    }

  loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &check);
  for (gsize off = 0; off < len && ok && !check.too_big; off += 16384)
    ok = gdk_pixbuf_loader_write (loader, data + off, MIN (16384, len - off), &error);
  if (!gdk_pixbuf_loader_close (loader, ok ? &error : NULL))
    ok = FALSE;
  if (check.too_big)
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_LARGE,
                                   "%d×%d pixels, over the cap of %u", check.width, check.height,
                                   request->max_pixels);
      return FALSE;
    }
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (!ok || pixbuf == NULL)
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_UNDECODABLE,
                                   "%s", error ? error->message : "no image in the data");
      return FALSE;
    }
  if (gdk_pixbuf_loader_get_format (loader))
    {
      g_autofree char *format = gdk_pixbuf_format_get_name (gdk_pixbuf_loader_get_format (loader));
      g_strlcpy (info->format, format, sizeof info->format);
    }
  info->width = check.width;
  info->height = check.height;
  if (looks_truncated (info->format, data, len))
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TRUNCATED,
                                   "%s data end without their end marker after %" G_GSIZE_FORMAT " bytes",
                                   info->format, len);
      return FALSE;
    }

  if (check.keep_detail &&
      kiln_inspector_match_placeholder (request->placeholders, request->placeholder_distance,
                                        kiln_inspector_phash (pixbuf), &known, &distance))
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_PLACEHOLDER,
                                   "looks like the known placeholder %016" G_GINT64_MODIFIER
                                   "x (distance %d)", known, distance);
      return FALSE;
    }
  return TRUE;
}
