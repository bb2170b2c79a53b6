/* kiln-image.c: decoding an image file into a GdkPixbuf (JPEG and WebP by
 * their own libraries, kiln-image-jpeg.c and kiln-image-webp.c) with the
 * checks GdkPixbuf lacks: the header's pixel count against a limit before
 * anything is allocated, truncation found from the file's structure (JPEG
 * markers, PNG chunks, GIF blocks), markup saved under an image name; and
 * decoding straight to the tensor a network reads (kiln_image_load_u8).
 * What is done to the decoded pixels (channels, resizing, crops, tensors)
 * is in kiln-image-pixels.c. */
#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-image-private.h"

static const char *const problem_names[] = {
  [KILN_IMAGE_OK] = "ok",
  [KILN_IMAGE_EMPTY] = "zero-byte",
  [KILN_IMAGE_NOT_IMAGE] = "not-an-image",
  [KILN_IMAGE_TRUNCATED] = "truncated",
  [KILN_IMAGE_TOO_LARGE] = "too-large",
  [KILN_IMAGE_UNDECODABLE] = "undecodable",
  [KILN_IMAGE_UNREADABLE] = "unreadable",
  [KILN_IMAGE_UNSUPPORTED_FORMAT] = "unsupported-format",
};

const char *
kiln_image_problem_to_string (KilnImageProblem problem)
{
  g_return_val_if_fail (problem < G_N_ELEMENTS (problem_names), NULL);
  return problem_names[problem];
}

/* Structure checks ------------------------------------------------------- */

typedef enum {
  STRUCTURE_COMPLETE,
  STRUCTURE_TRUNCATED,
  STRUCTURE_UNKNOWN,     /* not a format we walk, or not well-formed: the decoder decides */
} Structure;

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* Walks JPEG markers to the EOI. Entropy-coded data after SOS is skipped
 * by looking for 0xFF followed by a byte that is neither a stuffed 0x00
 * nor a restart marker. A file that runs out first is truncated; an EOI
 * inside an embedded EXIF thumbnail is skipped with its APP1 segment. */
static Structure
walk_jpeg (const guint8 *data,
           gsize         n)
{
  gsize pos = 2;

  while (pos < n)
    {
      guint8 marker;

      if (data[pos] != 0xFF)
        return STRUCTURE_UNKNOWN;
      while (pos < n && data[pos] == 0xFF)
        pos++;
      if (pos >= n)
        return STRUCTURE_TRUNCATED;
      marker = data[pos++];
      if (marker == 0xD9)
        return STRUCTURE_COMPLETE;
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
        continue;
      if (pos + 2 > n)
        return STRUCTURE_TRUNCATED;
      pos += ((gsize) data[pos] << 8) | data[pos + 1];
      if (pos > n)
        return STRUCTURE_TRUNCATED;
      if (marker != 0xDA)
        continue;
      /* Entropy-coded data up to the next real marker. */
      for (;;)
        {
          const guint8 *ff = memchr (data + pos, 0xFF, n - pos);

          if (ff == NULL || (gsize) (ff - data) + 1 >= n)
            return STRUCTURE_TRUNCATED;
          pos = ff - data;
          if (data[pos + 1] == 0x00 || (data[pos + 1] >= 0xD0 && data[pos + 1] <= 0xD7))
            {
              pos += 2;
              continue;
            }
          break;
        }
    }
  return STRUCTURE_TRUNCATED;
}

/* Walks PNG chunks to IEND; notes the bit depth and APNG frame count. */
static Structure
walk_png (const guint8  *data,
          gsize          n,
          KilnImageInfo *info)
{
  gsize pos = 8;

  while (pos + 8 <= n)
    {
      guint32 length = be32 (data + pos);
      const guint8 *type = data + pos + 4;

      if (length > 0x7FFFFFFF)
        return STRUCTURE_UNKNOWN;
      if ((guint64) pos + 12 + length > n)
        return STRUCTURE_TRUNCATED;
      if (memcmp (type, "IHDR", 4) == 0 && length >= 13)
        info->bit_depth = data[pos + 8 + 8];
      else if (memcmp (type, "acTL", 4) == 0 && length >= 8)
        info->n_frames = MAX (1, (int) MIN (be32 (data + pos + 8), G_MAXINT));
      else if (memcmp (type, "IEND", 4) == 0)
        return STRUCTURE_COMPLETE;
      pos += 12 + (gsize) length;
    }
  return STRUCTURE_TRUNCATED;
}

static gboolean
skip_gif_sub_blocks (const guint8 *data,
                     gsize         n,
                     gsize        *pos)
{
  while (*pos < n)
    {
      guint8 size = data[(*pos)++];

      if (size == 0)
        return TRUE;
      *pos += size;
    }
  return FALSE;
}

/* Walks GIF blocks to the trailer, counting frames. */
static Structure
walk_gif (const guint8  *data,
          gsize          n,
          KilnImageInfo *info)
{
  gsize pos = 13;
  int frames = 0;

  if (n < 13)
    return STRUCTURE_TRUNCATED;
  if (data[10] & 0x80)
    pos += 3u << ((data[10] & 7) + 1);
  while (pos < n)
    {
      guint8 block = data[pos++];

      if (block == 0x3B)
        {
          info->n_frames = MAX (frames, 1);
          return STRUCTURE_COMPLETE;
        }
      if (block == 0x21)
        {
          pos++; /* the extension's label */
          if (!skip_gif_sub_blocks (data, n, &pos))
            break;
        }
      else if (block == 0x2C)
        {
          guint8 packed;

          if (pos + 9 > n)
            break;
          packed = data[pos + 8];
          pos += 9;
          if (packed & 0x80)
            pos += 3u << ((packed & 7) + 1);
          pos++; /* LZW minimum code size */
          if (!skip_gif_sub_blocks (data, n, &pos))
            break;
          frames++;
        }
      else
        return STRUCTURE_UNKNOWN;
    }
  info->n_frames = MAX (frames, 1);
  return STRUCTURE_TRUNCATED;
}

static Structure
walk_structure (const guint8  *data,
                gsize          n,
                KilnImageInfo *info)
{
  static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };

  if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
    return walk_jpeg (data, n);
  if (n >= 8 && memcmp (data, png_signature, 8) == 0)
    return walk_png (data, n, info);
  if (n >= 6 && (memcmp (data, "GIF87a", 6) == 0 || memcmp (data, "GIF89a", 6) == 0))
    return walk_gif (data, n, info);
  return STRUCTURE_UNKNOWN;
}

/* Markup saved under an image name: servers answer dead links with HTML. */
static gboolean
looks_like_markup (const guint8 *data,
                   gsize         n)
{
  gsize pos = 0;

  if (n >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
    pos = 3;
  while (pos < n && g_ascii_isspace (data[pos]))
    pos++;
  if (pos >= n || data[pos] != '<')
    return FALSE;
  /* SVG is markup and an image; GdkPixbuf decides about it. */
  return g_strstr_len ((const char *) data + pos, MIN (n - pos, 4096), "<svg") == NULL;
}

/* Decoding --------------------------------------------------------------- */

typedef struct {
  gint64         max_pixels;
  KilnImageInfo *info;
  gboolean       too_large;
} SizeCheck;

/* Runs when the loader has read the header and before it allocates: the
 * same hook gdk_pixbuf_get_file_info() uses, and set_size (0, 0) is how
 * that function stops a loader. */
static void
on_size_prepared (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  gpointer         user_data)
{
  SizeCheck *check = user_data;

  check->info->width = width;
  check->info->height = height;
  if (width <= 0 || height <= 0 || (gint64) width * height > check->max_pixels)
    {
      check->too_large = (gint64) width * height > check->max_pixels;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
    }
}

GdkPixbuf *
kiln_image_fail (KilnImageInfo     *info,
                 KilnImageProblem   problem,
                 GError           **error,
                 int                code,
                 const char        *format,
                 ...)
{
  va_list args;

  info->problem = problem;
  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (KILN_ERROR, code, format, args);
  va_end (args);
  return NULL;
}

GdkPixbuf *
kiln_image_fail_too_large (KilnImageInfo *info,
                           const char    *name,
                           gint64         max_pixels,
                           GError       **error)
{
  return kiln_image_fail (info, KILN_IMAGE_TOO_LARGE, error, KILN_ERROR_INVALID_ARGUMENT,
                          "%s is %d × %d = %" G_GINT64_FORMAT " pixels, over the limit of %"
                          G_GINT64_FORMAT "; it was not decoded (raise the limit if you trust it)",
                          name, info->width, info->height, (gint64) info->width * info->height,
                          max_pixels);
}

static guint16
get16 (const guint8 *p,
       gboolean      big_endian)
{
  return big_endian ? (guint16) ((p[0] << 8) | p[1]) : (guint16) ((p[1] << 8) | p[0]);
}

static guint32
get32 (const guint8 *p,
       gboolean      big_endian)
{
  return big_endian ? be32 (p) : ((guint32) p[3] << 24) | ((guint32) p[2] << 16) | ((guint32) p[1] << 8) | p[0];
}

int
kiln_image_exif_orientation (const guint8 *tiff,
                             gsize         n)
{
  gboolean big_endian;
  guint32 ifd;
  guint16 count;

  if (n < 8)
    return 1;
  if (memcmp (tiff, "MM\0*", 4) == 0)
    big_endian = TRUE;
  else if (memcmp (tiff, "II*\0", 4) == 0)
    big_endian = FALSE;
  else
    return 1;
  ifd = get32 (tiff + 4, big_endian);
  if (ifd > n - 2)
    return 1;
  count = get16 (tiff + ifd, big_endian);
  for (guint i = 0; i < count; i++)
    {
      gsize entry = (gsize) ifd + 2 + (gsize) i * 12;

      if (entry + 12 > n)
        break;
      /* Tag 0x0112, type SHORT: the value sits in the entry itself. */
      if (get16 (tiff + entry, big_endian) == 0x0112 && get16 (tiff + entry + 2, big_endian) == 3)
        {
          guint16 value = get16 (tiff + entry + 8, big_endian);
          return value >= 1 && value <= 8 ? value : 1;
        }
    }
  return 1;
}

GdkPixbuf *
kiln_image_finish (GdkPixbuf     *pixbuf,
                   const char    *name,
                   KilnImageInfo *info,
                   GError       **error)
{
  g_autoptr(GdkPixbuf) decoded = pixbuf;
  GdkPixbuf *oriented;

  /* GdkPixbuf's loaders set the option themselves (then this does
   * nothing); Kiln's own decoders pass what they read. */
  if (info->orientation > 1)
    {
      char text[2] = { (char) ('0' + info->orientation), '\0' };
      gdk_pixbuf_set_option (decoded, "orientation", text);
    }
  oriented = gdk_pixbuf_apply_embedded_orientation (decoded);
  if (oriented == NULL)
    return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                            "%s: not enough memory to rotate the image", name);
  info->problem = KILN_IMAGE_OK;
  info->decoded_width = gdk_pixbuf_get_width (oriented);
  info->decoded_height = gdk_pixbuf_get_height (oriented);
  info->has_alpha = gdk_pixbuf_get_has_alpha (oriented);
  return oriented;
}

/* Image formats that Debian 12's GdkPixbuf has no loader for, by their
 * signature, with the loader name a plug-in would register: a file in one
 * of them is an image Kiln cannot read, not random bytes. */
static const char *
unsupported_format (const guint8 *data,
                    gsize         n,
                    const char  **loader)
{
  static const struct {
    const char *name, *loader, *magic;
    gsize       length;
  } signatures[] = {
    { "JPEG 2000", "jpeg2000", "\x00\x00\x00\x0CjP  \r\n\x87\n", 12 },
    { "JPEG 2000", "jpeg2000", "\xFF\x4F\xFF\x51", 4 },
    { "JPEG XL", "jxl", "\x00\x00\x00\x0CJXL \r\n\x87\n", 12 },
    { "JPEG XL", "jxl", "\xFF\x0A", 2 },
    { "Photoshop", "psd", "8BPS", 4 },
    { "OpenEXR", "exr", "\x76\x2F\x31\x01", 4 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (signatures); i++)
    if (n >= signatures[i].length && memcmp (data, signatures[i].magic, signatures[i].length) == 0)
      {
        *loader = signatures[i].loader;
        return signatures[i].name;
      }
  /* ISO-BMFF (AVIF, HEIF): an "ftyp" box listing brands. */
  if (n >= 16 && memcmp (data + 4, "ftyp", 4) == 0)
    {
      gsize end = MIN (n, be32 (data));
      const char *found = NULL;

      for (gsize pos = 8; pos + 4 <= end; pos += pos == 8 ? 8 : 4)
        {
          const char *brand = (const char *) data + pos;

          if (memcmp (brand, "avif", 4) == 0 || memcmp (brand, "avis", 4) == 0)
            {
              *loader = "avif";
              return "AVIF";
            }
          if (memcmp (brand, "heic", 4) == 0 || memcmp (brand, "heix", 4) == 0
              || memcmp (brand, "mif1", 4) == 0 || memcmp (brand, "msf1", 4) == 0)
            found = "HEIF";
        }
      if (found != NULL)
        {
          *loader = "heif";
          return found;
        }
    }
  return NULL;
}

GdkPixbuf *
kiln_image_load_bytes (GBytes                     *bytes,
                       const char                 *name,
                       const KilnImageLoadOptions *options,
                       KilnImageInfo              *info,
                       GError                    **error)
{
  KilnImageInfo local_info;
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) local_error = NULL;
  GdkPixbufFormat *format;
  GdkPixbuf *pixbuf;
  const guint8 *data;
  const char *orientation;
  SizeCheck check = { 0 };
  Structure structure;
  gsize n;
  gboolean written, closed;

  g_return_val_if_fail (bytes != NULL, NULL);

  if (info == NULL)
    info = &local_info;
  memset (info, 0, sizeof *info);
  info->orientation = 1;
  info->n_frames = 1;
  info->bit_depth = 8;
  if (name == NULL)
    name = "(image data)";

  data = g_bytes_get_data (bytes, &n);
  info->n_bytes = n;
  if (n == 0)
    return kiln_image_fail (info, KILN_IMAGE_EMPTY, error, KILN_ERROR_CORRUPT,
                 "%s is empty (0 bytes); the download or copy failed", name);
  if (looks_like_markup (data, n))
    return kiln_image_fail (info, KILN_IMAGE_NOT_IMAGE, error, KILN_ERROR_UNSUPPORTED,
                 "%s is HTML or XML text, not an image; the server sent a web page", name);

  check.max_pixels = options && options->max_pixels > 0 ? options->max_pixels
                                                         : KILN_IMAGE_DEFAULT_MAX_PIXELS;
  if (n >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return kiln_image_decode_webp (data, n, name, check.max_pixels, info, error);

  structure = walk_structure (data, n, info);
  if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
    return kiln_image_decode_jpeg (data, n, name, check.max_pixels, options ? options->min_side : 0,
                                   structure == STRUCTURE_TRUNCATED, info, error);
  check.info = info;
  loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &check);
  written = gdk_pixbuf_loader_write (loader, data, n, &local_error);
  /* Close even after a failed write, or the loader complains when freed. */
  closed = gdk_pixbuf_loader_close (loader, written ? &local_error : NULL);

  format = gdk_pixbuf_loader_get_format (loader);
  if (format != NULL)
    {
      g_autofree char *format_name = gdk_pixbuf_format_get_name (format);
      g_strlcpy (info->format, format_name, sizeof info->format);
    }

  if (check.too_large)
    return kiln_image_fail_too_large (info, name, check.max_pixels, error);
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (!written || !closed || pixbuf == NULL)
    {
      const char *loader_name = NULL;
      const char *unsupported = unsupported_format (data, n, &loader_name);

      /* Not taken for the format's own loader failing, when a plug-in for
       * it is installed. */
      if (unsupported != NULL && g_strcmp0 (info->format, loader_name) != 0)
        return kiln_image_fail (info, KILN_IMAGE_UNSUPPORTED_FORMAT, error, KILN_ERROR_UNSUPPORTED,
                                "%s is a %s image, a format Kiln cannot decode; convert it to "
                                "PNG or JPEG to use it", name, unsupported);
    }
  if (format == NULL
      || g_error_matches (local_error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE))
    return kiln_image_fail (info, KILN_IMAGE_NOT_IMAGE, error, KILN_ERROR_UNSUPPORTED,
                 "%s is not in an image format Kiln can read (%s)", name,
                 local_error ? local_error->message : "unrecognised data");
  if (structure == STRUCTURE_TRUNCATED)
    return kiln_image_fail (info, KILN_IMAGE_TRUNCATED, error, KILN_ERROR_CORRUPT,
                 "%s is truncated: the %s data ends early (file is %" G_GSIZE_FORMAT
                 " bytes); download it again", name, info->format, n);

  if (!written || !closed || pixbuf == NULL)
    return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                 "%s could not be decoded as %s: %s", name, info->format,
                 local_error ? local_error->message : "the decoder gave no image");

  orientation = gdk_pixbuf_get_option (pixbuf, "orientation");
  if (orientation != NULL)
    info->orientation = CLAMP (atoi (orientation), 1, 8);

  /* GIF animations count frames in walk_gif(); GdkPixbuf agrees on
   * whether there is more than one. */
  if (g_strcmp0 (info->format, "gif") == 0 && info->n_frames <= 1)
    {
      GdkPixbufAnimation *animation = gdk_pixbuf_loader_get_animation (loader);

      if (animation != NULL && !gdk_pixbuf_animation_is_static_image (animation))
        info->n_frames = 2;
    }

  return kiln_image_finish (g_object_ref (pixbuf), name, info, error);
}

GdkPixbuf *
kiln_image_load (const char                 *path,
                 const KilnImageLoadOptions *options,
                 KilnImageInfo              *info,
                 GError                    **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      KilnImageInfo local_info;

      if (info == NULL)
        info = &local_info;
      memset (info, 0, sizeof *info);
      return kiln_image_fail (info, KILN_IMAGE_UNREADABLE, error, KILN_ERROR_IO, "%s",
                   local_error->message);
    }
  bytes = g_mapped_file_get_bytes (mapped);
  return kiln_image_load_bytes (bytes, path, options, info, error);
}

gboolean
kiln_image_load_u8 (const char          *path,
                    const KilnImageSpec *spec,
                    guint8              *out,
                    KilnImageInfo       *info,
                    GError             **error)
{
  KilnImageLoadOptions options = { 0 };
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkPixbuf) resized = NULL;

  g_return_val_if_fail (path != NULL && spec != NULL && out != NULL, FALSE);
  g_return_val_if_fail (spec->width > 0 && spec->height > 0, FALSE);

  options.max_pixels = spec->max_pixels;
  /* The longer target side bounds what any mode needs from the shorter
   * source side, whatever the orientation. */
  options.min_side = MAX (spec->width, spec->height);
  pixbuf = kiln_image_load (path, &options, info, error);
  if (pixbuf == NULL)
    return FALSE;
  resized = kiln_image_resize (pixbuf, spec->width, spec->height, spec->mode);
  if (resized == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                   "%s: not enough memory to resize to %d × %d", path, spec->width, spec->height);
      return FALSE;
    }
  kiln_image_to_u8 (resized, spec->channels, out);
  return TRUE;
}
