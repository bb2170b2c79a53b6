/* kiln-image-webp.c: WebP through libwebp. GdkPixbuf reads WebP only when
 * the separate webp-pixbuf-loader is installed, so without it a valid
 * WebP looked like random bytes. */
#include "config.h"

#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include "kiln-error.h"
#include "kiln-image-private.h"

static guint32
le32 (const guint8 *p)
{
  return p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

/* The orientation in the EXIF chunk of an extended (VP8X) file. */
static int
webp_orientation (WebPDemuxer *demux)
{
  WebPChunkIterator chunk;
  int orientation = 1;

  if (demux != NULL && WebPDemuxGetChunk (demux, "EXIF", 1, &chunk))
    {
      const guint8 *tiff = chunk.chunk.bytes;
      gsize n = chunk.chunk.size;

      /* Some writers keep JPEG's "Exif\0\0" prefix. */
      if (n >= 6 && memcmp (tiff, "Exif\0\0", 6) == 0)
        {
          tiff += 6;
          n -= 6;
        }
      orientation = kiln_image_exif_orientation (tiff, n);
      WebPDemuxReleaseChunkIterator (&chunk);
    }
  return orientation;
}

/* The first frame of an animation, composited on its canvas as a viewer
 * shows it. */
static GdkPixbuf *
first_frame (const WebPData *webp,
             KilnImageInfo  *info)
{
  WebPAnimDecoderOptions options;
  WebPAnimDecoder *decoder;
  WebPAnimInfo anim;
  GdkPixbuf *pixbuf = NULL;
  guint8 *canvas;
  int timestamp;

  if (!WebPAnimDecoderOptionsInit (&options))
    return NULL;
  options.color_mode = MODE_RGBA;
  options.use_threads = 0;
  decoder = WebPAnimDecoderNew (webp, &options);
  if (decoder == NULL)
    return NULL;
  if (WebPAnimDecoderGetInfo (decoder, &anim) && WebPAnimDecoderGetNext (decoder, &canvas, &timestamp))
    {
      info->n_frames = MAX (1, (int) MIN (anim.frame_count, G_MAXINT));
      pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, anim.canvas_width, anim.canvas_height);
      for (guint32 y = 0; pixbuf != NULL && y < anim.canvas_height; y++)
        memcpy (gdk_pixbuf_get_pixels (pixbuf) + (gsize) y * gdk_pixbuf_get_rowstride (pixbuf),
                canvas + (gsize) y * anim.canvas_width * 4, (gsize) anim.canvas_width * 4);
    }
  WebPAnimDecoderDelete (decoder);
  return pixbuf;
}

GdkPixbuf *
kiln_image_decode_webp (const guint8  *data,
                        gsize          n,
                        const char    *name,
                        gint64         max_pixels,
                        KilnImageInfo *info,
                        GError       **error)
{
  WebPBitstreamFeatures features;
  WebPDecoderConfig config;
  WebPData webp = { data, n };
  WebPDemuxer *demux;
  GdkPixbuf *pixbuf;
  VP8StatusCode status;

  g_strlcpy (info->format, "webp", sizeof info->format);
  status = WebPGetFeatures (data, n, &features);
  if (status == VP8_STATUS_NOT_ENOUGH_DATA)
    return kiln_image_fail (info, KILN_IMAGE_TRUNCATED, error, KILN_ERROR_CORRUPT,
                            "%s is truncated: the WebP header ends early (file is %" G_GSIZE_FORMAT
                            " bytes); download it again", name, n);
  if (status == VP8_STATUS_UNSUPPORTED_FEATURE)
    return kiln_image_fail (info, KILN_IMAGE_UNSUPPORTED_FORMAT, error, KILN_ERROR_UNSUPPORTED,
                            "%s uses a WebP feature this libwebp cannot decode; convert it to "
                            "PNG or JPEG to use it", name);
  if (status != VP8_STATUS_OK)
    return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                            "%s could not be decoded as webp: its header is damaged", name);

  info->width = features.width;
  info->height = features.height;
  if ((gint64) features.width * features.height > max_pixels)
    return kiln_image_fail_too_large (info, name, max_pixels, error);
  /* The RIFF header gives the file's length; libwebp would decode the
   * rows it has of a cut file and leave the rest grey. */
  if (n < 12 || (guint64) le32 (data + 4) + 8 > n)
    return kiln_image_fail (info, KILN_IMAGE_TRUNCATED, error, KILN_ERROR_CORRUPT,
                            "%s is truncated: the WebP data ends early (file is %" G_GSIZE_FORMAT
                            " bytes of %" G_GUINT64_FORMAT "); download it again", name, n,
                            (guint64) le32 (data + 4) + 8);

  demux = WebPDemux (&webp);
  info->orientation = webp_orientation (demux);
  if (features.has_animation)
    {
      WebPDemuxDelete (demux);
      pixbuf = first_frame (&webp, info);
      if (pixbuf == NULL)
        return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                                "%s could not be decoded as an animated webp: its frames are "
                                "damaged", name);
      return kiln_image_finish (pixbuf, name, info, error);
    }
  WebPDemuxDelete (demux);

  pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, features.has_alpha, 8, features.width, features.height);
  if (pixbuf == NULL)
    return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                            "%s: not enough memory to decode %d × %d pixels", name,
                            features.width, features.height);
  if (!WebPInitDecoderConfig (&config))
    {
      g_object_unref (pixbuf);
      return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                              "%s: libwebp's version does not match its headers", name);
    }
  config.output.colorspace = features.has_alpha ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = gdk_pixbuf_get_pixels (pixbuf);
  config.output.u.RGBA.stride = gdk_pixbuf_get_rowstride (pixbuf);
  config.output.u.RGBA.size = gdk_pixbuf_get_byte_length (pixbuf);
  status = WebPDecode (data, n, &config);
  WebPFreeDecBuffer (&config.output);
  if (status != VP8_STATUS_OK)
    {
      g_object_unref (pixbuf);
      if (status == VP8_STATUS_NOT_ENOUGH_DATA)
        return kiln_image_fail (info, KILN_IMAGE_TRUNCATED, error, KILN_ERROR_CORRUPT,
                                "%s is truncated: the WebP data ends early (file is %"
                                G_GSIZE_FORMAT " bytes); download it again", name, n);
      return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                              "%s could not be decoded as webp (libwebp status %d): the "
                              "compressed data is damaged", name, (int) status);
    }
  return kiln_image_finish (pixbuf, name, info, error);
}
