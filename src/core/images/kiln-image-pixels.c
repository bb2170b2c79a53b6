/* kiln-image-pixels.c: what is done to a decoded image: alpha and gray
 * (flatten), resizing by mode with Kiln's own fixed-point resampler, random
 * crops, and conversion to and from uint8 and float CHW tensors. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-image.h"

static const char *const mode_names[] = {
  [KILN_RESIZE_CROP_CENTER] = "crop-center",
  [KILN_RESIZE_SQUASH] = "squash",
  [KILN_RESIZE_FILL] = "fill",
  [KILN_RESIZE_DOWNSCALE_CROP] = "downscale-crop",
};

const char *
kiln_resize_mode_to_string (KilnResizeMode mode)
{
  g_return_val_if_fail (mode < G_N_ELEMENTS (mode_names), NULL);
  return mode_names[mode];
}

gboolean
kiln_resize_mode_from_string (const char     *text,
                              KilnResizeMode *mode)
{
  for (guint i = 0; i < G_N_ELEMENTS (mode_names); i++)
    if (g_strcmp0 (text, mode_names[i]) == 0)
      {
        *mode = i;
        return TRUE;
      }
  return FALSE;
}

/* Pixels ------------------------------------------------------------------ */

/* Composites one channel on white, rounding to nearest. */
static inline guint8
over_white (guint8 value,
            guint8 alpha)
{
  return (guint8) ((value * alpha + 255 * (255 - alpha) + 127) / 255);
}

/* Pillow's convert("L"): ITU-R 601 luma in 16-bit fixed point. */
static inline guint8
luma (guint8 r,
      guint8 g,
      guint8 b)
{
  return (guint8) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

GdkPixbuf *
kiln_image_flatten (GdkPixbuf *pixbuf)
{
  GdkPixbuf *out;
  int width, height, src_stride, dst_stride;
  const guint8 *src;
  guint8 *dst;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);

  if (!gdk_pixbuf_get_has_alpha (pixbuf))
    return g_object_ref (pixbuf);

  width = gdk_pixbuf_get_width (pixbuf);
  height = gdk_pixbuf_get_height (pixbuf);
  out = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (out == NULL)
    return NULL;
  src = gdk_pixbuf_read_pixels (pixbuf);
  src_stride = gdk_pixbuf_get_rowstride (pixbuf);
  dst = gdk_pixbuf_get_pixels (out);
  dst_stride = gdk_pixbuf_get_rowstride (out);
  for (int y = 0; y < height; y++)
    {
      const guint8 *s = src + (gsize) y * src_stride;
      guint8 *d = dst + (gsize) y * dst_stride;

      for (int x = 0; x < width; x++, s += 4, d += 3)
        {
          d[0] = over_white (s[0], s[3]);
          d[1] = over_white (s[1], s[3]);
          d[2] = over_white (s[2], s[3]);
        }
    }
  return out;
}

static GdkPixbuf *
new_black (int width,
           int height)
{
  GdkPixbuf *out = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);

  if (out != NULL)
    gdk_pixbuf_fill (out, 0x000000ff);
  return out;
}

/* Separable resampling with a triangle filter widened by the reduction
 * (bilinear when enlarging, area-weighted when shrinking, as Pillow's
 * BILINEAR), in 14-bit fixed point. It is written here rather than using
 * gdk_pixbuf_scale() because it is several times faster for the sizes
 * networks want, which is most of the time of preparing an image. */

#define WEIGHT_BITS 14

#define WEIGHT_ONE (1 << WEIGHT_BITS)

typedef struct {
  int     bits;      /* weights sum to 1 << bits */
  int     n_taps;    /* stride of weights */
  int     max_count; /* every output's count, or 0 when they differ */
  int    *first;     /* first source index of each output */
  int    *count;     /* number of taps of each output */
  gint32 *weights;
} Taps;

static void
taps_clear (Taps *taps)
{
  g_free (taps->first);
  g_free (taps->count);
  g_free (taps->weights);
}

/* Outputs @from…@to - 1 of an axis where output pixel x covers source
 * coordinate (x + 0.5 - @offset) / @scale, with weights of @bits bits. */
static void
taps_init (Taps   *taps,
           int     bits,
           int     src_len,
           int     from,
           int     to,
           double  scale,
           double  offset)
{
  const gint32 one = 1 << bits;
  double support = scale < 1.0 ? 1.0 / scale : 1.0;
  int n_out = to - from;
  g_autofree double *ws = NULL;

  taps->bits = bits;
  taps->n_taps = (int) ceil (2 * support) + 2;
  taps->first = g_new (int, n_out);
  taps->count = g_new (int, n_out);
  taps->weights = g_new0 (gint32, (gsize) n_out * taps->n_taps);
  ws = g_new (double, taps->n_taps);

  for (int k = 0; k < n_out; k++)
    {
      double center = (from + k + 0.5 - offset) / scale;
      int lo = MAX (0, (int) floor (center - support));
      int hi = MIN (src_len, (int) ceil (center + support));
      gint32 *w = taps->weights + (gsize) k * taps->n_taps;
      double total = 0;
      int sum = 0, biggest = 0, n;

      n = MIN (hi - lo, taps->n_taps);
      for (int i = 0; i < n; i++)
        {
          double d = fabs ((lo + i + 0.5 - center) / support);
          ws[i] = d < 1.0 ? 1.0 - d : 0.0;
          total += ws[i];
        }
      if (n <= 0 || total <= 0)
        {
          /* Nothing in reach (an edge): take the nearest pixel. */
          lo = CLAMP ((int) floor (center), 0, src_len - 1);
          n = 1;
          ws[0] = total = 1.0;
        }
      for (int i = 0; i < n; i++)
        {
          w[i] = (gint32) lrint (ws[i] / total * one);
          sum += w[i];
          if (w[i] > w[biggest])
            biggest = i;
        }
      /* Exactly one in total, so flat areas keep their exact value. */
      w[biggest] += one - sum;
      taps->first[k] = lo;
      taps->count[k] = n;
    }

  /* Give every output the same number of taps (zero weights where it
   * needs fewer), so passes can run loops of a constant length. */
  taps->max_count = 0;
  for (int k = 0; k < n_out; k++)
    taps->max_count = MAX (taps->max_count, taps->count[k]);
  if (taps->max_count > src_len)
    {
      /* A source shorter than the filter: counts stay uneven. */
      taps->max_count = 0;
      return;
    }
  for (int k = 0; k < n_out; k++)
    {
      gint32 *w = taps->weights + (gsize) k * taps->n_taps;
      int first = MIN (taps->first[k], src_len - taps->max_count);
      int shift = taps->first[k] - first;

      if (shift > 0)
        {
          memmove (w + shift, w, sizeof (gint32) * taps->count[k]);
          memset (w, 0, sizeof (gint32) * shift);
        }
      taps->first[k] = first;
      taps->count[k] = taps->max_count;
    }
}

static inline guint8
clamp_weighted (gint32 acc)
{
  acc = (acc + WEIGHT_ONE / 2) >> WEIGHT_BITS;
  return (guint8) CLAMP (acc, 0, 255);
}

/* x86-64 builds target baseline SSE2; the vectorised loops below also get
 * an AVX2 clone, picked when the library loads (twice the lanes: 8% off
 * decode + resize, bench/RESULTS.md). */
#if defined (__GNUC__) && !defined (__clang__) && defined (__x86_64__)
#define KILN_VECTOR_CLONES __attribute__ ((target_clones ("avx2", "default")))
#else
#define KILN_VECTOR_CLONES
#endif

/* The resampler is the one hot loop of decoding Kiln controls; -O3's
 * fuller vectorisation made decode + resize ~8% faster (bench/images.py). */
#if defined (__GNUC__) && !defined (__clang__)

#pragma GCC push_options

#pragma GCC optimize ("O3")

#endif

/* acc[x] += weight × row[x]. The fixed 16-wide blocks and restrict let
 * the compiler vectorise this at -O2 (its "very cheap" cost model wants a
 * known trip count and no aliasing checks). */
static void KILN_VECTOR_CLONES
accumulate_row (gint32       *restrict acc,
                const guint8 *restrict row,
                gint32                 weight,
                gsize                  width)
{
  gsize x = 0;

  for (; x + 16 <= width; x += 16)
    for (int j = 0; j < 16; j++)
      acc[x + j] += weight * row[x + j];
  for (; x < width; x++)
    acc[x] += weight * row[x];
}

/* The same in 16 bits for 8-bit weights (255 × 256 fits): twice the
 * lanes, and SSE2 multiplies 16-bit lanes natively. */
static void KILN_VECTOR_CLONES
accumulate_row16 (guint16      *restrict acc,
                  const guint8 *restrict row,
                  guint16                weight,
                  gsize                  width)
{
  gsize x = 0;

  for (; x + 16 <= width; x += 16)
    for (int j = 0; j < 16; j++)
      acc[x + j] += weight * row[x + j];
  for (; x < width; x++)
    acc[x] += weight * row[x];
}

static void KILN_VECTOR_CLONES
round_row16 (guint8        *restrict out,
             const guint16 *restrict acc,
             gsize                   width)
{
  gsize x = 0;

  for (; x + 16 <= width; x += 16)
    for (int j = 0; j < 16; j++)
      out[x + j] = (guint8) ((acc[x + j] + 128) >> 8);
  for (; x < width; x++)
    out[x] = (guint8) ((acc[x] + 128) >> 8);
}

/* out[x] = acc[x] rounded back to 8 bits, vectorised like accumulate_row. */
static void KILN_VECTOR_CLONES
round_row (guint8       *restrict out,
           const gint32 *restrict acc,
           gsize                  width)
{
  gsize x = 0;

  for (; x + 16 <= width; x += 16)
    for (int j = 0; j < 16; j++)
      out[x + j] = clamp_weighted (acc[x + j]);
  for (; x < width; x++)
    out[x] = clamp_weighted (acc[x]);
}

/* One output row of RGB from @column (source columns from @col_lo). With
 * @taps > 0 every output has that many taps and the loop unrolls. */
static G_ALWAYS_INLINE inline void
horizontal_row (guint8       *d,
                const guint8 *column,
                const Taps   *tx,
                int           col_lo,
                int           n_x,
                int           taps)
{
  for (int j = 0; j < n_x; j++)
    {
      const gint32 *w = tx->weights + (gsize) j * tx->n_taps;
      const guint8 *p = column + (gsize) (tx->first[j] - col_lo) * 3;
      int n = taps > 0 ? taps : tx->count[j];
      gint32 a = 0, b = 0, c = 0;

      for (int i = 0; i < n; i++)
        {
          a += w[i] * p[3 * i];
          b += w[i] * p[3 * i + 1];
          c += w[i] * p[3 * i + 2];
        }
      d[3 * j] = clamp_weighted (a);
      d[3 * j + 1] = clamp_weighted (b);
      d[3 * j + 2] = clamp_weighted (c);
    }
}

/* Writes the rectangle @x0…@x1 × @y0…@y1 of @dst (RGB) from @src (RGB,
 * no alpha) scaled by @scale_* and shifted by @offset_*. The vertical
 * pass runs first, over contiguous bytes of the source columns needed
 * (the compiler vectorises it), so the horizontal pass, which cannot be
 * vectorised as easily, only sees output rows. */
static void
resample (GdkPixbuf *src,
          GdkPixbuf *dst,
          int        x0,
          int        y0,
          int        x1,
          int        y1,
          double     offset_x,
          double     offset_y,
          double     scale_x,
          double     scale_y)
{
  int sw = gdk_pixbuf_get_width (src), sh = gdk_pixbuf_get_height (src);
  int src_stride = gdk_pixbuf_get_rowstride (src);
  int dst_stride = gdk_pixbuf_get_rowstride (dst);
  const guint8 *in = gdk_pixbuf_read_pixels (src);
  guint8 *out = gdk_pixbuf_get_pixels (dst);
  int n_x = x1 - x0, n_y = y1 - y0;
  int col_lo = sw, col_hi = 0;
  gsize width;
  g_autofree guint8 *column = NULL;
  g_autofree gint32 *acc = NULL;
  Taps tx, ty;

  taps_init (&tx, WEIGHT_BITS, sw, x0, x1, scale_x, offset_x);
  /* Up to 8 vertical taps (reductions to about a third) use 8-bit weights
   * and 16-bit sums; more taps need the finer weights. */
  taps_init (&ty, scale_y >= 0.34 ? 8 : WEIGHT_BITS, sh, y0, y1, scale_y, offset_y);
  for (int k = 0; k < n_x; k++)
    {
      col_lo = MIN (col_lo, tx.first[k]);
      col_hi = MAX (col_hi, tx.first[k] + tx.count[k]);
    }
  width = (gsize) (col_hi - col_lo) * 3;
  column = g_malloc (MAX (width, 1));
  acc = g_new (gint32, MAX (width, 1));

  for (int k = 0; k < n_y; k++)
    {
      const gint32 *wy = ty.weights + (gsize) k * ty.n_taps;
      guint8 *d = out + (gsize) (y0 + k) * dst_stride + (gsize) x0 * 3;

      /* Vertical: one row of the needed source columns. */
      if (ty.bits == 8)
        {
          guint16 *acc16 = (guint16 *) acc;

          memset (acc16, 0, width * sizeof (guint16));
          for (int i = 0; i < ty.count[k]; i++)
            accumulate_row16 (acc16, in + (gsize) (ty.first[k] + i) * src_stride + (gsize) col_lo * 3,
                              (guint16) wy[i], width);
          round_row16 (column, acc16, width);
        }
      else
        {
          memset (acc, 0, width * sizeof (gint32));
          for (int i = 0; i < ty.count[k]; i++)
            accumulate_row (acc, in + (gsize) (ty.first[k] + i) * src_stride + (gsize) col_lo * 3,
                            wy[i], width);
          round_row (column, acc, width);
        }

      /* Horizontal: the output row from it, with the tap loop unrolled
       * for the usual counts. */
      switch (tx.max_count)
        {
        case 2: horizontal_row (d, column, &tx, col_lo, n_x, 2); break;
        case 3: horizontal_row (d, column, &tx, col_lo, n_x, 3); break;
        case 4: horizontal_row (d, column, &tx, col_lo, n_x, 4); break;
        case 5: horizontal_row (d, column, &tx, col_lo, n_x, 5); break;
        case 6: horizontal_row (d, column, &tx, col_lo, n_x, 6); break;
        default: horizontal_row (d, column, &tx, col_lo, n_x, 0); break;
        }
    }
  taps_clear (&tx);
  taps_clear (&ty);
}

#if defined (__GNUC__) && !defined (__clang__)

#pragma GCC pop_options

#endif

/* Scales @src by @scale and places it so that its centre lands on the
 * centre of @dst, clipping what falls outside. */
static void
scale_centred (GdkPixbuf *src,
               GdkPixbuf *dst,
               double     scale_x,
               double     scale_y)
{
  int sw = gdk_pixbuf_get_width (src), sh = gdk_pixbuf_get_height (src);
  int dw = gdk_pixbuf_get_width (dst), dh = gdk_pixbuf_get_height (dst);
  double offset_x = (dw - sw * scale_x) / 2.0;
  double offset_y = (dh - sh * scale_y) / 2.0;
  int x0 = MAX (0, (int) floor (offset_x + 0.5));
  int y0 = MAX (0, (int) floor (offset_y + 0.5));
  int x1 = MIN (dw, (int) floor (offset_x + sw * scale_x + 0.5));
  int y1 = MIN (dh, (int) floor (offset_y + sh * scale_y + 0.5));

  if (x1 <= x0 || y1 <= y0)
    return;
  /* Whole-pixel offsets when the scale is 1, so a plain crop or pad
   * copies pixels exactly. */
  if (scale_x == 1.0 && scale_y == 1.0)
    {
      gdk_pixbuf_copy_area (src, x0 - (int) floor (offset_x + 0.5), y0 - (int) floor (offset_y + 0.5),
                            x1 - x0, y1 - y0, dst, x0, y0);
      return;
    }
  resample (src, dst, x0, y0, x1, y1, offset_x, offset_y, scale_x, scale_y);
}

GdkPixbuf *
kiln_image_resize (GdkPixbuf      *pixbuf,
                   int             width,
                   int             height,
                   KilnResizeMode  mode)
{
  g_autoptr(GdkPixbuf) flat = NULL;
  GdkPixbuf *out;
  double sx, sy, s;
  int w, h;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  flat = kiln_image_flatten (pixbuf);
  if (flat == NULL)
    return NULL;
  w = gdk_pixbuf_get_width (flat);
  h = gdk_pixbuf_get_height (flat);
  if (w == width && h == height)
    return gdk_pixbuf_copy (flat);

  sx = (double) width / w;
  sy = (double) height / h;
  /* Only fill and a small downscale-crop leave margins to paint black;
   * the other modes cover every output pixel. */
  if (mode == KILN_RESIZE_FILL || (mode == KILN_RESIZE_DOWNSCALE_CROP && MAX (sx, sy) > 1.0))
    out = new_black (width, height);
  else
    out = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (out == NULL)
    return NULL;
  switch (mode)
    {
    case KILN_RESIZE_SQUASH:
      resample (flat, out, 0, 0, width, height, 0, 0, sx, sy);
      break;
    case KILN_RESIZE_FILL:
      s = MIN (sx, sy);
      scale_centred (flat, out, s, s);
      break;
    case KILN_RESIZE_DOWNSCALE_CROP:
      s = MAX (sx, sy);
      scale_centred (flat, out, s <= 1.0 ? s : 1.0, s <= 1.0 ? s : 1.0);
      break;
    case KILN_RESIZE_CROP_CENTER:
    default:
      s = MAX (sx, sy);
      scale_centred (flat, out, s, s);
      break;
    }
  return out;
}

GdkPixbuf *
kiln_image_random_crop (GdkPixbuf *pixbuf,
                        int        width,
                        int        height,
                        gboolean   mirror,
                        GRand     *rand)
{
  g_autoptr(GdkPixbuf) flat = NULL;
  g_autofree guint8 *src = NULL;
  g_autofree guint8 *dst = NULL;
  int w, h;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);
  g_return_val_if_fail (rand != NULL, NULL);

  flat = kiln_image_flatten (pixbuf);
  w = gdk_pixbuf_get_width (flat);
  h = gdk_pixbuf_get_height (flat);
  g_return_val_if_fail (width > 0 && height > 0 && width <= w && height <= h, NULL);

  src = g_malloc ((gsize) 3 * w * h);
  dst = g_malloc ((gsize) 3 * width * height);
  kiln_image_to_u8 (flat, KILN_CHANNELS_RGB, src);
  kiln_image_random_crop_u8 (src, 3, h, w, dst, height, width, mirror, rand);
  return kiln_image_from_u8 (dst, 3, height, width);
}

void
kiln_image_random_crop_u8 (const guint8 *src,
                           int           channels,
                           int           src_height,
                           int           src_width,
                           guint8       *dst,
                           int           height,
                           int           width,
                           gboolean      mirror,
                           GRand        *rand)
{
  int x0, y0;
  gboolean flip;

  g_return_if_fail (width <= src_width && height <= src_height);

  /* Always draw all three numbers so the sequence does not depend on
   * @mirror. */
  x0 = g_rand_int_range (rand, 0, src_width - width + 1);
  y0 = g_rand_int_range (rand, 0, src_height - height + 1);
  flip = g_rand_boolean (rand) && mirror;

  for (int c = 0; c < channels; c++)
    for (int y = 0; y < height; y++)
      {
        const guint8 *s = src + ((gsize) c * src_height + y0 + y) * src_width + x0;
        guint8 *d = dst + ((gsize) c * height + y) * width;

        if (!flip)
          memcpy (d, s, width);
        else
          for (int x = 0; x < width; x++)
            d[x] = s[width - 1 - x];
      }
}

/* The common case of kiln_image_to_u8(): RGB rows to three planes, in a
 * loop simple enough for the compiler to vectorise. */
static void KILN_VECTOR_CLONES
rgb_to_planes (const guint8 *restrict pixels,
               int                    stride,
               int                    width,
               int                    height,
               guint8       *restrict out)
{
  gsize plane = (gsize) width * height;

  for (int y = 0; y < height; y++)
    {
      const guint8 *restrict s = pixels + (gsize) y * stride;
      guint8 *restrict r = out + (gsize) y * width;
      guint8 *restrict g = r + plane;
      guint8 *restrict b = g + plane;

      for (int x = 0; x < width; x++)
        {
          r[x] = s[3 * x];
          g[x] = s[3 * x + 1];
          b[x] = s[3 * x + 2];
        }
    }
}

void
kiln_image_to_u8 (GdkPixbuf    *pixbuf,
                  KilnChannels  channels,
                  guint8       *out)
{
  int width, height, stride, n_channels;
  gboolean alpha;
  const guint8 *pixels;
  gsize plane;

  g_return_if_fail (GDK_IS_PIXBUF (pixbuf));
  g_return_if_fail (gdk_pixbuf_get_bits_per_sample (pixbuf) == 8);

  width = gdk_pixbuf_get_width (pixbuf);
  height = gdk_pixbuf_get_height (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  alpha = gdk_pixbuf_get_has_alpha (pixbuf);
  pixels = gdk_pixbuf_read_pixels (pixbuf);
  plane = (gsize) width * height;

  if (!alpha && channels == KILN_CHANNELS_RGB)
    {
      rgb_to_planes (pixels, stride, width, height, out);
      return;
    }
  for (int y = 0; y < height; y++)
    {
      const guint8 *s = pixels + (gsize) y * stride;
      gsize row = (gsize) y * width;

      for (int x = 0; x < width; x++, s += n_channels)
        {
          guint8 r = s[0], g = s[1], b = s[2];

          if (alpha)
            {
              r = over_white (r, s[3]);
              g = over_white (g, s[3]);
              b = over_white (b, s[3]);
            }
          if (channels == KILN_CHANNELS_GRAY)
            out[row + x] = luma (r, g, b);
          else
            {
              out[row + x] = r;
              out[plane + row + x] = g;
              out[2 * plane + row + x] = b;
            }
        }
    }
}

void
kiln_image_u8_to_f32 (const guint8 *in,
                      gsize         n,
                      const float  *mean,
                      float         scale,
                      float        *out)
{
  if (mean != NULL)
    for (gsize i = 0; i < n; i++)
      out[i] = ((float) in[i] - mean[i]) * scale;
  else
    for (gsize i = 0; i < n; i++)
      out[i] = (float) in[i] * scale;
}

void
kiln_image_to_f32 (GdkPixbuf    *pixbuf,
                   KilnChannels  channels,
                   const float  *mean,
                   float         scale,
                   float        *out)
{
  gsize n;
  g_autofree guint8 *bytes = NULL;

  g_return_if_fail (GDK_IS_PIXBUF (pixbuf));

  n = (gsize) channels * gdk_pixbuf_get_width (pixbuf) * gdk_pixbuf_get_height (pixbuf);
  bytes = g_malloc (n);
  kiln_image_to_u8 (pixbuf, channels, bytes);
  kiln_image_u8_to_f32 (bytes, n, mean, scale, out);
}

static GdkPixbuf *
from_planes (int      channels,
             int      height,
             int      width,
             guint8 (*value) (gconstpointer data, gsize i),
             gconstpointer data)
{
  GdkPixbuf *out;
  guint8 *pixels;
  int stride;
  gsize plane = (gsize) width * height;

  g_return_val_if_fail (channels == 1 || channels == 3, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  out = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (out == NULL)
    return NULL;
  pixels = gdk_pixbuf_get_pixels (out);
  stride = gdk_pixbuf_get_rowstride (out);
  for (int y = 0; y < height; y++)
    {
      guint8 *d = pixels + (gsize) y * stride;

      for (int x = 0; x < width; x++, d += 3)
        {
          gsize i = (gsize) y * width + x;

          if (channels == 1)
            d[0] = d[1] = d[2] = value (data, i);
          else
            {
              d[0] = value (data, i);
              d[1] = value (data, plane + i);
              d[2] = value (data, 2 * plane + i);
            }
        }
    }
  return out;
}

static guint8
u8_value (gconstpointer data,
          gsize         i)
{
  return ((const guint8 *) data)[i];
}

GdkPixbuf *
kiln_image_from_u8 (const guint8 *chw,
                    int           channels,
                    int           height,
                    int           width)
{
  g_return_val_if_fail (chw != NULL, NULL);
  return from_planes (channels, height, width, u8_value, chw);
}

typedef struct {
  const float *chw;
  const float *mean;
  float        scale;
} FloatSource;

static guint8
f32_value (gconstpointer data,
           gsize         i)
{
  const FloatSource *source = data;
  float v = source->chw[i] / source->scale + (source->mean ? source->mean[i] : 0.0f);

  if (!(v > 0.0f))   /* also NaN */
    return 0;
  if (v >= 255.0f)
    return 255;
  return (guint8) lrintf (v);
}

GdkPixbuf *
kiln_image_from_f32 (const float *chw,
                     int          channels,
                     int          height,
                     int          width,
                     const float *mean,
                     float        scale)
{
  FloatSource source = { chw, mean, scale };

  g_return_val_if_fail (chw != NULL, NULL);
  g_return_val_if_fail (scale != 0.0f, NULL);
  return from_planes (channels, height, width, f32_value, &source);
}

gsize
kiln_image_spec_size (const KilnImageSpec *spec)
{
  return (gsize) spec->channels * spec->width * spec->height;
}
