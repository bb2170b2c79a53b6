/* kiln-gather-check.h: the one set of checks every gathered image passes,
 * whichever source it came from. Bytes are refused over the request's size
 * cap; the first bytes of a download that are text (a web page) are
 * refused as they arrive; decoding goes through kiln-image (the header's
 * pixel count is checked before allocating, and JPEG, PNG and GIF files
 * are walked to their end marker, since GdkPixbuf accepts a truncated JPEG
 * silently); the shorter side must have the request's pixels; and an image
 * that is a placeholder (kiln-gather-placeholders: a known hash, a
 * redirect to another file or to a small image elsewhere, a body many
 * hosts serve) is refused. What the decoders log while an item is checked
 * becomes part of its detail instead of reaching the terminal.
 *
 * Threads: plain functions; safe from any thread. */
#pragma once

#include "kiln-gather-item.h"
#include "kiln-gather-placeholders.h"
#include "kiln-image.h"

G_BEGIN_DECLS

/* FALSE, with @item rejected as too large, when @n_bytes (read so far, or
 * announced) is over the request's cap. Sources call it while reading, so
 * that an oversized file is never read whole. */
gboolean kiln_gather_check_size  (const KilnGatherRequest *request,
                                  KilnGatherItem          *item,
                                  guint64                  n_bytes);

/* FALSE, with @item rejected as not an image, when the first bytes of a
 * body (@data, @n) are text such as a web page. */
gboolean kiln_gather_check_start (KilnGatherItem          *item,
                                  const guint8            *data,
                                  gsize                    n);

/* Checks the bytes in item->body, setting item->n_bytes, sha256 and (when
 * placeholders may need it) phash. TRUE when the image may be kept, with
 * @info filled (format and stored size); FALSE with @item rejected and its
 * reason. A placeholder it meets by a redirect is learned. */
gboolean kiln_gather_check_image (const KilnGatherRequest *request,
                                  KilnGatherPlaceholders  *placeholders,
                                  KilnGatherItem          *item,
                                  KilnImageInfo           *info);

G_END_DECLS
