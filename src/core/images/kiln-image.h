/* kiln-image.h: decoding images and turning them into what a network sees.
 *
 * Decoding goes through GdkPixbuf, except JPEG (libjpeg-turbo) and WebP
 * (libwebp: GdkPixbuf has no WebP loader unless webp-pixbuf-loader is
 * installed), with the checks GdkPixbuf lacks: the pixel count is read
 * from the header and refused over a limit before anything is allocated,
 * truncated JPEG/PNG/GIF/WebP files are detected from their structure
 * (GdkPixbuf accepts a truncated JPEG silently), EXIF orientation is
 * applied, animations give their first frame, and image formats Kiln has
 * no decoder for (AVIF, HEIF, JPEG XL…) are told from non-images. JPEGs
 * are decoded at 1/2, 1/4 or 1/8 scale when the target is that much
 * smaller (as Pillow's draft mode picks).
 *
 * Tensors are plain C arrays in CHW order (channel, row, column), RGB
 * channel order, 8-bit values 0…255 or float32. Alpha is composited on
 * white; padding ("fill") is black. Gray uses ITU-R 601 luma, rounded the
 * way Pillow's convert("L") does.
 *
 * Threads: plain functions over their arguments; safe from any thread
 * (GdkPixbuf loaders are thread-safe since 2.32). A GRand is not: give each
 * thread its own. */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

G_BEGIN_DECLS

/* 8,192 × 8,192: larger images are almost never photos worth training on,
 * and decoding one takes 200 MB. */
#define KILN_IMAGE_DEFAULT_MAX_PIXELS (G_GINT64_CONSTANT (8192) * 8192)

typedef enum {
  KILN_CHANNELS_GRAY = 1,
  KILN_CHANNELS_RGB = 3,
} KilnChannels;

typedef enum {
  KILN_RESIZE_CROP_CENTER,    /* scale the shorter side to fit, crop the middle */
  KILN_RESIZE_SQUASH,         /* scale both sides independently */
  KILN_RESIZE_FILL,           /* scale the longer side to fit, pad with black */
  KILN_RESIZE_DOWNSCALE_CROP, /* mlimages' downscale: like crop-center when the
                               * image is larger; never enlarges, a smaller
                               * image is centred and padded instead */
} KilnResizeMode;

const char *kiln_resize_mode_to_string   (KilnResizeMode  mode);
gboolean    kiln_resize_mode_from_string (const char     *text,
                                          KilnResizeMode *mode);

/* Why an image could not be used. */
typedef enum {
  KILN_IMAGE_OK,
  KILN_IMAGE_EMPTY,        /* zero bytes */
  KILN_IMAGE_NOT_IMAGE,    /* no image format recognised (HTML saved as .jpg…) */
  KILN_IMAGE_TRUNCATED,    /* the file ends before the image data does */
  KILN_IMAGE_TOO_LARGE,    /* the header's pixel count is over the limit */
  KILN_IMAGE_UNDECODABLE,  /* recognised, but the decoder failed */
  KILN_IMAGE_UNREADABLE,   /* the file could not be read */
  KILN_IMAGE_UNSUPPORTED_FORMAT, /* a known image format Kiln has no decoder for (AVIF…) */
} KilnImageProblem;

const char *kiln_image_problem_to_string (KilnImageProblem problem);

/* What decoding learned about a file; filled even when it fails, as far
 * as it got. */
typedef struct {
  KilnImageProblem problem;
  char             format[16];      /* GdkPixbuf's name: "jpeg", "png", "gif"… */
  gint64           n_bytes;
  int              width;           /* as stored, before orientation */
  int              height;
  int              decoded_width;   /* of the returned pixbuf: oriented, maybe reduced */
  int              decoded_height;
  int              orientation;     /* EXIF 1…8; 1 when none */
  int              n_frames;        /* > 1 for animated GIF/PNG */
  int              bit_depth;       /* PNG bits per sample; 8 otherwise */
  gboolean         has_alpha;
} KilnImageInfo;

typedef struct {
  gint64 max_pixels;   /* 0: KILN_IMAGE_DEFAULT_MAX_PIXELS */
  int    min_side;     /* > 0: JPEGs may be decoded reduced while the shorter
                        * side stays >= this; 0: full resolution */
} KilnImageLoadOptions;

/* Decodes @path (or @bytes, with @name used in messages only) to an
 * oriented 8-bit RGB or RGBA pixbuf. On failure returns NULL with
 * info->problem set and @error saying why (KILN_ERROR_CORRUPT for empty,
 * truncated and undecodable files, KILN_ERROR_UNSUPPORTED for non-images,
 * KILN_ERROR_INVALID_ARGUMENT for too many pixels, KILN_ERROR_IO for
 * unreadable ones). @options and @info may be NULL. */
GdkPixbuf *kiln_image_load        (const char                 *path,
                                   const KilnImageLoadOptions *options,
                                   KilnImageInfo              *info,
                                   GError                    **error);
GdkPixbuf *kiln_image_load_bytes  (GBytes                     *bytes,
                                   const char                 *name,
                                   const KilnImageLoadOptions *options,
                                   KilnImageInfo              *info,
                                   GError                    **error);

/* An RGB pixbuf without alpha (alpha composited on white); a new
 * reference to @pixbuf when it has none. */
GdkPixbuf *kiln_image_flatten     (GdkPixbuf      *pixbuf);

/* A new @width × @height RGB pixbuf (alpha flattened first). */
GdkPixbuf *kiln_image_resize      (GdkPixbuf      *pixbuf,
                                   int             width,
                                   int             height,
                                   KilnResizeMode  mode);

/* A @width × @height window at a random position of @pixbuf (which must
 * be at least that large), mirrored left-right half of the time when
 * @mirror. Deterministic for a seeded @rand. */
GdkPixbuf *kiln_image_random_crop (GdkPixbuf      *pixbuf,
                                   int             width,
                                   int             height,
                                   gboolean        mirror,
                                   GRand          *rand);

/* The same on a CHW uint8 tensor: crops @src (@channels × @src_height ×
 * @src_width) into @dst (@channels × @height × @width). */
void       kiln_image_random_crop_u8 (const guint8 *src,
                                      int           channels,
                                      int           src_height,
                                      int           src_width,
                                      guint8       *dst,
                                      int           height,
                                      int           width,
                                      gboolean      mirror,
                                      GRand        *rand);

/* Pixels of @pixbuf as a CHW tensor of @channels × height × width. */
void       kiln_image_to_u8       (GdkPixbuf      *pixbuf,
                                   KilnChannels    channels,
                                   guint8         *out);
/* out = (value − mean) × scale; @mean is a CHW tensor of the same shape,
 * or NULL for zero. */
void       kiln_image_to_f32      (GdkPixbuf      *pixbuf,
                                   KilnChannels    channels,
                                   const float    *mean,
                                   float           scale,
                                   float          *out);
void       kiln_image_u8_to_f32   (const guint8   *in,
                                   gsize           n,
                                   const float    *mean,
                                   float           scale,
                                   float          *out);

/* A viewable RGB pixbuf from a CHW tensor of 1 or 3 channels: what the
 * network sees. from_f32 undoes to_f32 (value = x / scale + mean),
 * rounding and clamping to 0…255. */
GdkPixbuf *kiln_image_from_u8     (const guint8   *chw,
                                   int             channels,
                                   int             height,
                                   int             width);
GdkPixbuf *kiln_image_from_f32    (const float    *chw,
                                   int             channels,
                                   int             height,
                                   int             width,
                                   const float    *mean,
                                   float           scale);

/* How training converts a file: size, channels, resize mode. */
typedef struct {
  int            width;
  int            height;
  KilnChannels   channels;
  KilnResizeMode mode;
  gint64         max_pixels;  /* 0: the default */
} KilnImageSpec;

/* Bytes of one tensor of @spec (channels × height × width). */
gsize      kiln_image_spec_size   (const KilnImageSpec *spec);

/* Decodes @path (reduced when the spec allows), resizes and writes the
 * CHW uint8 tensor into @out (kiln_image_spec_size() bytes). */
gboolean   kiln_image_load_u8     (const char          *path,
                                   const KilnImageSpec *spec,
                                   guint8              *out,
                                   KilnImageInfo       *info,
                                   GError             **error);

G_END_DECLS
