/* kiln-gather-check.c: the gatherer's image checks, one set for every
 * source (see the header). Decoding and the truncation walk are
 * kiln-image's, the placeholder hashes the inspector's: the gatherer only
 * maps their findings to its reasons. */
#include "config.h"

#include <string.h>

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

gboolean
kiln_gather_check_start (KilnGatherItem *item,
                         const guint8   *data,
                         gsize           n)
{
  g_autofree char *type = g_content_type_guess (NULL, data, n, NULL);
  g_autofree char *mime = g_content_type_get_mime_type (type);

  /* SVG is text to the MIME database, and an image. */
  if (mime == NULL || g_str_has_prefix (mime, "image/") || !g_content_type_is_a (type, "text/plain"))
    return TRUE;
  kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_NOT_AN_IMAGE,
                               "the body is %s, not an image; the server sent a page or a message", mime);
  return FALSE;
}

/* Decoder messages ------------------------------------------------------- */

/* The notes of the item this thread is checking, if any. */
static GPrivate capture_key;

static void
capture_log (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        data)
{
  GString *notes = g_private_get (&capture_key);

  if (notes == NULL)
    {
      g_log_default_handler (domain, level, message, data);
      return;
    }
  g_string_append_printf (notes, "%s%s: %s", notes->len ? "; " : "", domain, message);
}

/* GdkPixbuf and its loaders warn on stderr about odd files; for one image
 * of thousands that is noise on the terminal, and the detail is where a
 * person looks for what happened to that image. Other threads' messages
 * pass through as usual. */
static void
capture_begin (GString *notes)
{
  static gsize installed = 0;

  if (g_once_init_enter (&installed))
    {
      static const char * const domains[] = { "GdkPixbuf", "librsvg" };

      for (guint i = 0; i < G_N_ELEMENTS (domains); i++)
        g_log_set_handler (domains[i], G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, capture_log, NULL);
      g_once_init_leave (&installed, 1);
    }
  g_private_set (&capture_key, notes);
}

static char *
capture_end (GString *notes)
{
  g_private_set (&capture_key, NULL);
  return notes->len ? g_strdup (notes->str) : NULL;
}

/* Checks ----------------------------------------------------------------- */

static KilnGatherReason
reason_for_problem (KilnImageProblem problem)
{
  switch (problem)
    {
    case KILN_IMAGE_EMPTY: return KILN_GATHER_REASON_TOO_SMALL;
    case KILN_IMAGE_TRUNCATED: return KILN_GATHER_REASON_TRUNCATED;
    case KILN_IMAGE_TOO_LARGE: return KILN_GATHER_REASON_TOO_LARGE;
    case KILN_IMAGE_NOT_IMAGE: return KILN_GATHER_REASON_NOT_AN_IMAGE;
    case KILN_IMAGE_UNREADABLE: return KILN_GATHER_REASON_NETWORK;
    case KILN_IMAGE_UNDECODABLE:
    case KILN_IMAGE_OK:
    default:
      return KILN_GATHER_REASON_UNDECODABLE;
    }
}

static gboolean
reject (KilnGatherItem *item, KilnGatherReason reason, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
reject (KilnGatherItem *item, KilnGatherReason reason, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  kiln_gather_item_set_resultv (item, KILN_DOWNLOAD_REJECTED, reason, format, args);
  va_end (args);
  return FALSE;
}

/* Where a redirect ended decides before the pixels do: another file is not
 * the image asked for, and a small image in another folder is the host's
 * stand-in. Both are learned, so that the same picture served directly is
 * refused too. */
static gboolean
check_landing (KilnGatherPlaceholders *placeholders, KilnGatherItem *item)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *note = NULL;
  gboolean other_file = item->landing == KILN_GATHER_LANDED_OTHER_FILE;

  if (item->landing == KILN_GATHER_LANDED_ASKED ||
      (!other_file && item->n_bytes > KILN_GATHER_PLACEHOLDER_MAX_BYTES))
    return TRUE;
  note = g_strdup_printf ("learned: %s redirected to %s", item->url, item->final_url);
  if (item->has_phash && item->n_bytes <= KILN_GATHER_PLACEHOLDER_MAX_BYTES &&
      !kiln_gather_placeholders_learn (placeholders, item->phash, note, &error))
    g_debug ("%s: %s", item->url, error->message);
  if (other_file)
    return reject (item, KILN_GATHER_REASON_PLACEHOLDER, "redirected to %s, another file", item->final_url);
  return reject (item, KILN_GATHER_REASON_PLACEHOLDER, "redirected to %s, a small image (%" G_GUINT64_FORMAT
                 " bytes) in another folder", item->final_url, item->n_bytes);
}

gboolean
kiln_gather_check_image (const KilnGatherRequest *request,
                         KilnGatherPlaceholders  *placeholders,
                         KilnGatherItem          *item,
                         KilnImageInfo           *info)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkPixbuf) flat = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) notes = g_string_new (NULL);
  g_autofree char *sha = NULL;
  KilnImageLoadOptions options = { request->max_pixels, 1 };
  gboolean want_hash;
  guint64 known;
  guint n_hosts;
  int distance;

  memset (info, 0, sizeof *info);
  /* Mapped, not read: the page cache holds the bytes, not the heap. */
  mapped = g_mapped_file_new (item->body, FALSE, &error);
  if (mapped == NULL)
    return reject (item, KILN_GATHER_REASON_NETWORK, "cannot read it: %s", error->message);
  bytes = g_mapped_file_get_bytes (mapped);
  item->n_bytes = g_bytes_get_size (bytes);
  sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_strlcpy (item->sha256, sha, sizeof item->sha256);
  if ((n_hosts = kiln_gather_placeholders_repeated (placeholders, item->sha256)) > 0)
    return reject (item, KILN_GATHER_REASON_PLACEHOLDER, "the same %" G_GUINT64_FORMAT " bytes came from %u hosts",
                   item->n_bytes, n_hosts);

  want_hash = kiln_gather_placeholders_any (placeholders) || item->n_bytes <= KILN_GATHER_PLACEHOLDER_MAX_BYTES;
  if (want_hash)
    options.min_side = PLACEHOLDER_MIN_SIDE;
  capture_begin (notes);
  pixbuf = kiln_image_load_bytes (bytes, item->url, &options, info, &error);
  item->notes = capture_end (notes);
  if (pixbuf && want_hash)
    {
      /* Flattened first, as the inspector hashes. */
      flat = kiln_image_flatten (pixbuf);
      item->phash = kiln_inspector_phash (flat);
      item->has_phash = TRUE;
    }
  if (!check_landing (placeholders, item))
    return FALSE;
  if (pixbuf == NULL)
    return reject (item, reason_for_problem (info->problem), "%s", error->message);

  if ((guint) MIN (info->width, info->height) < request->min_side)
    return reject (item, KILN_GATHER_REASON_TOO_SMALL, "%d×%d pixels, under the minimum side of %u",
                   info->width, info->height, request->min_side);
  if (item->n_bytes < request->min_bytes)
    return reject (item, KILN_GATHER_REASON_TOO_SMALL, "%" G_GUINT64_FORMAT " bytes, under the minimum of %"
                   G_GUINT64_FORMAT, item->n_bytes, request->min_bytes);
  if (item->has_phash && kiln_gather_placeholders_match (placeholders, item->phash, &known, &distance))
    return reject (item, KILN_GATHER_REASON_PLACEHOLDER, "looks like the known placeholder %016"
                   G_GINT64_MODIFIER "x (distance %d)", known, distance);
  return TRUE;
}
