/* kiln-gather-check.h: the one set of checks every gathered image passes,
 * whichever source it came from. Bytes are refused over the request's size
 * cap and under its floor; decoding goes through kiln-image (the header's
 * pixel count is checked before allocating, and JPEG, PNG and GIF files
 * are walked to their end marker, since GdkPixbuf accepts a truncated JPEG
 * silently); a decoded image close to a known placeholder (the inspector's
 * perceptual hash) is refused.
 *
 * Threads: plain functions; safe from any thread. */
#pragma once

#include "kiln-gather-item.h"
#include "kiln-image.h"

G_BEGIN_DECLS

/* FALSE, with @item rejected as too large, when @n_bytes (read so far, or
 * announced) is over the request's cap. Sources call it while reading, so
 * that an oversized file is never read whole. */
gboolean kiln_gather_check_size  (const KilnGatherRequest *request,
                                  KilnGatherItem          *item,
                                  guint64                  n_bytes);

/* Checks item->data. TRUE when the image may be kept, with @info filled
 * (format and stored size); FALSE with @item rejected and its reason. */
gboolean kiln_gather_check_image (const KilnGatherRequest *request,
                                  KilnGatherItem          *item,
                                  KilnImageInfo           *info);

G_END_DECLS
