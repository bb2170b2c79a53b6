/* kiln-image-private.h: what kiln-image.c shares with the decoders it
 * calls directly instead of GdkPixbuf (kiln-image-jpeg.c,
 * kiln-image-webp.c). Private to src/core/images. */
#pragma once

#include "kiln-image.h"

G_BEGIN_DECLS

/* Sets info->problem and @error (KILN_ERROR, @code); returns NULL. */
GdkPixbuf *kiln_image_fail (KilnImageInfo *info,
                            KilnImageProblem problem,
                            GError       **error,
                            int            code,
                            const char    *format,
                            ...) G_GNUC_PRINTF (5, 6);

/* The same for info->width × info->height over @max_pixels. */
GdkPixbuf *kiln_image_fail_too_large (KilnImageInfo *info,
                                      const char    *name,
                                      gint64         max_pixels,
                                      GError       **error);

/* The EXIF orientation (1…8) in a TIFF structure: the payload of a JPEG
 * APP1 "Exif" segment after its 6-byte name, or of a WebP EXIF chunk.
 * 1 when there is none or the structure is damaged. */
int        kiln_image_exif_orientation (const guint8 *tiff,
                                        gsize         n);

/* Applies info->orientation to @pixbuf (taking it) and fills the decoded
 * size and alpha of @info. */
GdkPixbuf *kiln_image_finish (GdkPixbuf     *pixbuf,
                              const char    *name,
                              KilnImageInfo *info,
                              GError       **error);

/* Decodes the WebP file @data (already recognised by its RIFF header):
 * the header's size against @max_pixels first, the first frame of an
 * animation, EXIF orientation. */
GdkPixbuf *kiln_image_decode_webp (const guint8  *data,
                                   gsize          n,
                                   const char    *name,
                                   gint64         max_pixels,
                                   KilnImageInfo *info,
                                   GError       **error);

/* Decodes the JPEG file @data at the smallest of the scales 1/8, 1/4, 1/2
 * and 1 whose shorter side is at least @min_side (0: full size): the header's size against
 * @max_pixels first, EXIF orientation, CMYK as Photoshop writes it. @cut:
 * the marker walk found the file cut short. */
GdkPixbuf *kiln_image_decode_jpeg (const guint8  *data,
                                   gsize          n,
                                   const char    *name,
                                   gint64         max_pixels,
                                   int            min_side,
                                   gboolean       cut,
                                   KilnImageInfo *info,
                                   GError       **error);

G_END_DECLS
