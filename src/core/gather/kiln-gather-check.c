/* kiln-gather-check.c: the gatherer's image checks, one set for every
 * source (see the header). Decoding and the truncation walk are
 * kiln-image's, the placeholder match the inspector's: the gatherer only
 * maps their findings to its reasons. */
#include "config.h"

#include "kiln-gather-check.h"
#include "kiln-inspector.h"

/* Placeholders are compared by a 32 × 32 hash: a JPEG decoded with its
 * shorter side at 64 pixels or more still gives the hash of the full image.
 * Without placeholders, 1/8 scale suffices: libjpeg still decodes every
 * coefficient (corrupt data still fail), and the inspector decodes kept
 * files at full size later anyway. */
#define PLACEHOLDER_MIN_SIDE 64

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

static KilnGatherReason
reason_for_problem (KilnImageProblem problem)
{
  switch (problem)
    {
    case KILN_IMAGE_EMPTY: return KILN_GATHER_REASON_TOO_SMALL;
    case KILN_IMAGE_TRUNCATED: return KILN_GATHER_REASON_TRUNCATED;
    case KILN_IMAGE_TOO_LARGE: return KILN_GATHER_REASON_TOO_LARGE;
    case KILN_IMAGE_NOT_IMAGE:
    case KILN_IMAGE_UNDECODABLE:
    case KILN_IMAGE_UNREADABLE:
    case KILN_IMAGE_OK:
    default:
      return KILN_GATHER_REASON_UNDECODABLE;
    }
}

gboolean
kiln_gather_check_image (const KilnGatherRequest *request,
                         KilnGatherItem          *item,
                         KilnImageInfo           *info)
{
  gboolean has_placeholders = request->placeholders && request->placeholders->len > 0;
  KilnImageLoadOptions options = { request->max_pixels, has_placeholders ? PLACEHOLDER_MIN_SIDE : 1 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkPixbuf) flat = NULL;
  g_autoptr(GError) error = NULL;
  guint64 known;
  int distance;

  if (item->data->len < request->min_bytes)
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_SMALL,
                                   "%u bytes, under the minimum of %" G_GUINT64_FORMAT,
                                   item->data->len, request->min_bytes);
      return FALSE;
    }

  bytes = g_bytes_new_static (item->data->data, item->data->len);
  pixbuf = kiln_image_load_bytes (bytes, item->url, &options, info, &error);
  if (pixbuf == NULL)
    {
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, reason_for_problem (info->problem),
                                   "%s", error->message);
      return FALSE;
    }

  if (has_placeholders)
    {
      /* Flattened first, as the inspector hashes. */
      flat = kiln_image_flatten (pixbuf);
      if (kiln_inspector_match_placeholder (request->placeholders, request->placeholder_distance,
                                            kiln_inspector_phash (flat), &known, &distance))
        {
          kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_PLACEHOLDER,
                                       "looks like the known placeholder %016" G_GINT64_MODIFIER
                                       "x (distance %d)", known, distance);
          return FALSE;
        }
    }
  return TRUE;
}
