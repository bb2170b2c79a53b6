/* kiln-image-jpeg.c: JPEG through libjpeg-turbo directly, without
 * GdkPixbuf's loader between: the picture is decoded at the smallest DCT
 * scale at or above what the caller needs (as Pillow's draft mode picks,
 * rounding as libjpeg does) straight into the pixbuf by libjpeg-turbo's
 * SIMD colour conversion. Decoding is most of the time of preparing a
 * training tensor (bench/RESULTS.md). */
#include "config.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "kiln-error.h"
#include "kiln-image-private.h"

typedef struct {
  struct jpeg_error_mgr manager;
  jmp_buf               jump;
  gboolean              ran_out;   /* libjpeg reached the end of the data */
} ErrorManager;

/* Everything a longjmp must find again, on the heap rather than in the
 * frame that called setjmp(). */
typedef struct {
  struct jpeg_decompress_struct cinfo;
  ErrorManager                  error;
  GdkPixbuf                    *pixbuf;
  guint8                       *cmyk_row;
} Decoder;

static void
on_error (j_common_ptr cinfo)
{
  longjmp (((ErrorManager *) cinfo->err)->jump, 1);
}

/* Warnings about damaged data are not fatal (GdkPixbuf's loader showed such
 * pictures too) and not printed; running out of data is a truncated file. */
static void
on_message (j_common_ptr cinfo,
            int          level)
{
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    ((ErrorManager *) cinfo->err)->ran_out = TRUE;
}

static int
jpeg_orientation (j_decompress_ptr cinfo)
{
  for (jpeg_saved_marker_ptr marker = cinfo->marker_list; marker != NULL; marker = marker->next)
    if (marker->marker == JPEG_APP0 + 1 && marker->data_length > 6
        && memcmp (marker->data, "Exif\0\0", 6) == 0)
      return kiln_image_exif_orientation (marker->data + 6, marker->data_length - 6);
  return 1;
}

/* CMYK as Photoshop writes it (inverted), as GdkPixbuf's loader reads it. */
static void
cmyk_to_rgb (const guint8 *cmyk,
             guint8       *rgb,
             guint         width)
{
  for (guint x = 0; x < width; x++, cmyk += 4, rgb += 3)
    {
      rgb[0] = (guint8) (cmyk[0] * cmyk[3] / 255);
      rgb[1] = (guint8) (cmyk[1] * cmyk[3] / 255);
      rgb[2] = (guint8) (cmyk[2] * cmyk[3] / 255);
    }
}

static GdkPixbuf *
fail_truncated (KilnImageInfo *info,
                const char    *name,
                gsize          n,
                GError       **error)
{
  return kiln_image_fail (info, KILN_IMAGE_TRUNCATED, error, KILN_ERROR_CORRUPT,
                          "%s is truncated: the jpeg data ends early (file is %" G_GSIZE_FORMAT
                          " bytes); download it again", name, n);
}

GdkPixbuf *
kiln_image_decode_jpeg (const guint8  *data,
                        gsize          n,
                        const char    *name,
                        gint64         max_pixels,
                        int            min_side,
                        gboolean       cut,
                        KilnImageInfo *info,
                        GError       **error)
{
  g_autofree Decoder *decoder = g_new0 (Decoder, 1);
  j_decompress_ptr cinfo = &decoder->cinfo;
  char message[JMSG_LENGTH_MAX];
  guint8 *pixels;
  int stride;

  g_strlcpy (info->format, "jpeg", sizeof info->format);
  cinfo->err = jpeg_std_error (&decoder->error.manager);
  decoder->error.manager.error_exit = on_error;
  decoder->error.manager.emit_message = on_message;
  if (setjmp (decoder->error.jump))
    {
      decoder->error.manager.format_message ((j_common_ptr) cinfo, message);
      jpeg_destroy_decompress (cinfo);
      g_clear_object (&decoder->pixbuf);
      g_clear_pointer (&decoder->cmyk_row, g_free);
      if (cut || decoder->error.ran_out)
        return fail_truncated (info, name, n, error);
      return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                              "%s could not be decoded as jpeg: %s", name, message);
    }

  jpeg_create_decompress (cinfo);
  jpeg_mem_src (cinfo, data, n);
  jpeg_save_markers (cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header (cinfo, TRUE);
  info->width = (int) MIN (cinfo->image_width, G_MAXINT);
  info->height = (int) MIN (cinfo->image_height, G_MAXINT);
  info->orientation = jpeg_orientation (cinfo);
  /* The header's size decides before anything is allocated for pixels. */
  if ((gint64) cinfo->image_width * cinfo->image_height > max_pixels)
    {
      jpeg_destroy_decompress (cinfo);
      return kiln_image_fail_too_large (info, name, max_pixels, error);
    }
  if (cut)
    {
      jpeg_destroy_decompress (cinfo);
      return fail_truncated (info, name, n, error);
    }

  /* The smallest of 1/8, 1/4, 1/2 and 1 whose shorter side (rounded up,
   * as libjpeg does) still reaches @min_side. libjpeg-turbo also scales by
   * 3/8, 5/8…, but only these have SIMD inverse DCTs: decoding 500 × 375
   * at 5/8 for 227 was 8% slower than at full size plus the larger resize
   * (bench/RESULTS.md). */
  if (min_side > 0)
    {
      guint shorter = MIN (cinfo->image_width, cinfo->image_height);
      guint d = 8;

      while (d > 1 && (shorter + d - 1) / d < (guint) min_side)
        d /= 2;
      cinfo->scale_num = 1;
      cinfo->scale_denom = d;
    }
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
    cinfo->out_color_space = JCS_CMYK;
  else
    cinfo->out_color_space = JCS_EXT_RGB;   /* gray too: libjpeg-turbo expands it */
  jpeg_start_decompress (cinfo);

  decoder->pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, cinfo->output_width,
                                    cinfo->output_height);
  if (decoder->pixbuf == NULL)
    {
      jpeg_destroy_decompress (cinfo);
      return kiln_image_fail (info, KILN_IMAGE_UNDECODABLE, error, KILN_ERROR_CORRUPT,
                              "%s: not enough memory to decode %u × %u pixels", name,
                              cinfo->output_width, cinfo->output_height);
    }
  pixels = gdk_pixbuf_get_pixels (decoder->pixbuf);
  stride = gdk_pixbuf_get_rowstride (decoder->pixbuf);
  if (cinfo->out_color_space == JCS_CMYK)
    {
      decoder->cmyk_row = g_malloc ((gsize) cinfo->output_width * 4);
      while (cinfo->output_scanline < cinfo->output_height)
        {
          guint8 *row = pixels + (gsize) cinfo->output_scanline * stride;

          jpeg_read_scanlines (cinfo, &decoder->cmyk_row, 1);
          cmyk_to_rgb (decoder->cmyk_row, row, cinfo->output_width);
        }
      g_clear_pointer (&decoder->cmyk_row, g_free);
    }
  else
    while (cinfo->output_scanline < cinfo->output_height)
      {
        JSAMPROW rows[8];
        guint k;

        /* Several rows a call: libjpeg-turbo converts colours a row group
         * at a time. */
        for (k = 0; k < G_N_ELEMENTS (rows) && cinfo->output_scanline + k < cinfo->output_height; k++)
          rows[k] = pixels + (gsize) (cinfo->output_scanline + k) * stride;
        jpeg_read_scanlines (cinfo, rows, k);
      }
  jpeg_finish_decompress (cinfo);
  jpeg_destroy_decompress (cinfo);
  if (decoder->error.ran_out)
    {
      g_clear_object (&decoder->pixbuf);
      return fail_truncated (info, name, n, error);
    }
  return kiln_image_finish (g_steal_pointer (&decoder->pixbuf), name, info, error);
}
