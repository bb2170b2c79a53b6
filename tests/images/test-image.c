/* kiln-image on the corpus that tests/make-bad-images.py wrote into
 * tests/images: every bad file fails with the right problem and nothing
 * crashes; good files load with the right size, orientation and channels;
 * resize modes, seeded random crops and tensor round trips are exact. */
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "kiln-core.h"
#include "kiln-image.h"

static char *
corpus (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "images", name, NULL);
}

static GdkPixbuf *
load (const char     *name,
      KilnImageInfo  *info,
      GError        **error)
{
  g_autofree char *path = corpus (name);
  return kiln_image_load (path, NULL, info, error);
}

/* The RGB value at (x, y), alpha composited on white as tensors see it. */
static void
pixel (GdkPixbuf *pixbuf,
       int        x,
       int        y,
       guint8     rgb[3])
{
  int w = gdk_pixbuf_get_width (pixbuf), h = gdk_pixbuf_get_height (pixbuf);
  g_autofree guint8 *chw = g_malloc ((gsize) 3 * w * h);

  kiln_image_to_u8 (pixbuf, KILN_CHANNELS_RGB, chw);
  for (int c = 0; c < 3; c++)
    rgb[c] = chw[(gsize) c * w * h + (gsize) y * w + x];
}

#define assert_near(a, b, tol) g_assert_cmpint (ABS ((int) (a) - (int) (b)), <=, (tol))

static void
assert_rgb_near (GdkPixbuf *pixbuf,
                 int        x,
                 int        y,
                 int        r,
                 int        g,
                 int        b,
                 int        tolerance)
{
  guint8 rgb[3];

  pixel (pixbuf, x, y, rgb);
  assert_near (rgb[0], r, tolerance);
  assert_near (rgb[1], g, tolerance);
  assert_near (rgb[2], b, tolerance);
}

static void
test_good_files (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  g_autoptr(GdkPixbuf) jpeg = load ("good.jpg", &info, &error);

  g_assert_no_error (error);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_OK);
  g_assert_cmpstr (info.format, ==, "jpeg");
  g_assert_cmpint (info.width, ==, 96);
  g_assert_cmpint (info.height, ==, 64);
  g_assert_cmpint (gdk_pixbuf_get_width (jpeg), ==, 96);
  g_assert_cmpint (gdk_pixbuf_get_height (jpeg), ==, 64);
  g_assert_cmpint (info.orientation, ==, 1);
  g_assert_cmpint (info.n_frames, ==, 1);
  g_assert_false (info.has_alpha);

  g_autoptr(GdkPixbuf) png = load ("good.png", &info, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info.format, ==, "png");
  g_assert_cmpint (info.decoded_width, ==, 80);
  g_assert_cmpint (info.decoded_height, ==, 60);

  /* Formats GdkPixbuf has loaders for in Debian 12. */
  const char *others[][2] = { { "good.bmp", "bmp" }, { "good.tiff", "tiff" } };
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autoptr(GdkPixbuf) other = load (others[i][0], &info, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (info.format, ==, others[i][1]);
      g_assert_cmpint (gdk_pixbuf_get_width (other), ==, 50);
      g_assert_cmpint (gdk_pixbuf_get_height (other), ==, 40);
    }

  g_autoptr(GdkPixbuf) tiny = load ("tiny.png", &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.width, ==, 1);
  assert_rgb_near (tiny, 0, 0, 200, 30, 30, 0);
}

static void
test_bad_files (void)
{
  struct {
    const char       *name;
    KilnImageProblem  problem;
    int               code;
  } cases[] = {
    { "truncated.jpg", KILN_IMAGE_TRUNCATED, KILN_ERROR_CORRUPT },
    { "truncated.png", KILN_IMAGE_TRUNCATED, KILN_ERROR_CORRUPT },
    { "zero.jpg", KILN_IMAGE_EMPTY, KILN_ERROR_CORRUPT },
    { "html.jpg", KILN_IMAGE_NOT_IMAGE, KILN_ERROR_UNSUPPORTED },
    { "no-such-file.jpg", KILN_IMAGE_UNREADABLE, KILN_ERROR_IO },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      KilnImageInfo info;
      g_autoptr(GdkPixbuf) pixbuf = load (cases[i].name, &info, &error);

      g_test_message ("%s", cases[i].name);
      g_assert_null (pixbuf);
      g_assert_error (error, KILN_ERROR, cases[i].code);
      g_assert_cmpint (info.problem, ==, cases[i].problem);
      /* Messages name the file. */
      g_assert_nonnull (strstr (error->message, cases[i].name));
    }
}

/* Text that GdkPixbuf does not know, and a JPEG whose data is garbage
 * after a valid header. */
static void
test_not_image_and_undecodable (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  g_autoptr(GBytes) text = g_bytes_new_static ("just some text, no markup\n", 26);
  g_autoptr(GdkPixbuf) none = kiln_image_load_bytes (text, "notes.png", NULL, &info, &error);

  g_assert_null (none);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_NOT_IMAGE);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  g_autofree char *path = corpus ("good.png");
  g_autofree char *contents = NULL;
  gsize length;
  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  /* Scramble the compressed pixel data but keep the chunk structure: the
   * walk finds IEND, the decoder fails. */
  for (gsize i = 60; i < length - 20; i++)
    contents[i] ^= 0x5A;
  g_autoptr(GBytes) scrambled = g_bytes_new (contents, length);
  g_autoptr(GdkPixbuf) bad = kiln_image_load_bytes (scrambled, "scrambled.png", NULL, &info, &error);
  g_assert_null (bad);
  g_assert_true (info.problem == KILN_IMAGE_UNDECODABLE || info.problem == KILN_IMAGE_TRUNCATED);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
}

/* Every prefix of a valid file, and seeded random byte damage: nothing
 * crashes (ASan runs this too), and a JPEG, PNG or GIF cut short is never
 * taken for a whole image. */
static void
test_cut_and_damaged (void)
{
  const char *names[] = { "good.jpg", "good.png", "animated.gif", "rotated.jpg", "16bit.png",
                          "good.webp", "animated.webp", "progressive.jpg" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (2024);

  for (guint f = 0; f < G_N_ELEMENTS (names); f++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = corpus (names[f]);
      g_autofree char *contents = NULL;
      gsize length;

      g_file_get_contents (path, &contents, &length, &error);
      g_assert_no_error (error);
      for (gsize cut = 0; cut < length; cut += 1 + cut / 64)
        {
          g_autoptr(GBytes) bytes = g_bytes_new (contents, cut);
          g_autoptr(GError) cut_error = NULL;
          KilnImageInfo info;
          g_autoptr(GdkPixbuf) pixbuf = kiln_image_load_bytes (bytes, names[f], NULL, &info, &cut_error);

          if (pixbuf != NULL)
            g_error ("%s cut to %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes loaded as whole",
                     names[f], cut, length);
          g_assert_cmpint (info.problem, !=, KILN_IMAGE_OK);
        }
      for (guint k = 0; k < 200; k++)
        {
          g_autofree char *damaged = g_memdup2 (contents, length);
          g_autoptr(GBytes) bytes = NULL;
          g_autoptr(GError) damage_error = NULL;
          g_autoptr(GdkPixbuf) pixbuf = NULL;
          KilnImageInfo info;

          for (guint d = 0; d < 1 + k % 8; d++)
            damaged[g_rand_int_range (rand, 0, (gint32) length)] = (char) g_rand_int_range (rand, 0, 256);
          bytes = g_bytes_new_take (g_steal_pointer (&damaged), length);
          pixbuf = kiln_image_load_bytes (bytes, names[f], NULL, &info, &damage_error);
          g_assert_true ((pixbuf != NULL) == (info.problem == KILN_IMAGE_OK));
          g_assert_true ((pixbuf == NULL) == (damage_error != NULL));
        }
    }
}

/* WebP through libwebp: lossy, lossless with alpha, the first frame of an
 * animation, EXIF orientation, and a cut file; a format Kiln has no
 * decoder for is "unsupported", never "not an image". */
static void
test_webp_and_unsupported (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  g_autoptr(GdkPixbuf) lossy = load ("good.webp", &info, &error);

  g_assert_no_error (error);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_OK);
  g_assert_cmpstr (info.format, ==, "webp");
  g_assert_cmpint (gdk_pixbuf_get_width (lossy), ==, 96);
  g_assert_cmpint (gdk_pixbuf_get_height (lossy), ==, 64);
  g_assert_false (info.has_alpha);
  /* The same picture as good.jpg, compressed by another codec. */
  g_autoptr(GdkPixbuf) jpeg = load ("good.jpg", NULL, &error);
  g_autofree guint8 *a = g_malloc (3 * 96 * 64);
  g_autofree guint8 *b = g_malloc (3 * 96 * 64);
  double total = 0;
  g_assert_no_error (error);
  kiln_image_to_u8 (lossy, KILN_CHANNELS_RGB, a);
  kiln_image_to_u8 (jpeg, KILN_CHANNELS_RGB, b);
  for (gsize i = 0; i < 3 * 96 * 64; i++)
    total += ABS ((int) a[i] - (int) b[i]);
  g_assert_cmpfloat (total / (3 * 96 * 64), <, 8.0);

  g_autoptr(GdkPixbuf) alpha = load ("alpha.webp", &info, &error);
  g_assert_no_error (error);
  g_assert_true (info.has_alpha);
  assert_rgb_near (alpha, 5, 5, 255, 0, 0, 0);
  assert_rgb_near (alpha, 30, 5, 255, 255, 255, 0);

  g_autoptr(GdkPixbuf) animated = load ("animated.webp", &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.n_frames, ==, 3);
  g_assert_cmpint (gdk_pixbuf_get_width (animated), ==, 32);
  assert_rgb_near (animated, 16, 16, 255, 0, 0, 0);

  g_autoptr(GdkPixbuf) rotated = load ("rotated.webp", &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.orientation, ==, 6);
  g_assert_cmpint (info.width, ==, 60);
  g_assert_cmpint (gdk_pixbuf_get_width (rotated), ==, 40);
  g_assert_cmpint (gdk_pixbuf_get_height (rotated), ==, 60);
  assert_rgb_near (rotated, 35, 4, 255, 0, 0, 60);
  assert_rgb_near (rotated, 4, 55, 0, 0, 255, 60);

  g_autoptr(GdkPixbuf) cut = load ("truncated.webp", &info, &error);
  g_assert_null (cut);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_TRUNCATED);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "truncated.webp"));
  g_clear_error (&error);

  g_autoptr(GdkPixbuf) avif = load ("unsupported.avif", &info, &error);
  g_assert_null (avif);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_UNSUPPORTED_FORMAT);
  g_assert_cmpstr (kiln_image_problem_to_string (info.problem), ==, "unsupported-format");
  g_assert_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "unsupported.avif"));
  g_assert_nonnull (strstr (error->message, "AVIF"));
}

static glong
max_rss_kib (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

static void
test_huge_header_not_allocated (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  glong before = max_rss_kib ();
  g_autoptr(GdkPixbuf) pixbuf = load ("huge.png", &info, &error);

  g_assert_null (pixbuf);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_TOO_LARGE);
  g_assert_cmpint (info.width, ==, 30000);
  g_assert_cmpint (info.height, ==, 30000);
  /* Decoding would take 2.7 GB; the header check costs nothing. */
  g_assert_cmpint (max_rss_kib () - before, <, 100 * 1024);
  g_assert_nonnull (strstr (error->message, "30000"));

  /* With a limit that allows it the same file is refused by a smaller
   * custom limit too: the limit is the caller's. */
  g_autofree char *path = corpus ("good.jpg");
  KilnImageLoadOptions options = { .max_pixels = 96 * 64 - 1 };
  g_autoptr(GdkPixbuf) small = kiln_image_load (path, &options, &info, &error);
  g_clear_error (&error);
  g_assert_null (small);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_TOO_LARGE);
  options.max_pixels = 96 * 64;
  g_autoptr(GdkPixbuf) fits = kiln_image_load (path, &options, &info, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fits);
}

/* Mean absolute difference of two pixbufs of one size, as tensors. */
static double
mean_difference (GdkPixbuf *a,
                 GdkPixbuf *b)
{
  int w = gdk_pixbuf_get_width (a), h = gdk_pixbuf_get_height (a);
  g_autofree guint8 *x = g_malloc ((gsize) 3 * w * h);
  g_autofree guint8 *y = g_malloc ((gsize) 3 * w * h);
  double total = 0;

  g_assert_cmpint (gdk_pixbuf_get_width (b), ==, w);
  g_assert_cmpint (gdk_pixbuf_get_height (b), ==, h);
  kiln_image_to_u8 (a, KILN_CHANNELS_RGB, x);
  kiln_image_to_u8 (b, KILN_CHANNELS_RGB, y);
  for (gsize i = 0; i < (gsize) 3 * w * h; i++)
    total += ABS ((int) x[i] - (int) y[i]);
  return total / (3.0 * w * h);
}

/* Kiln decodes JPEG with libjpeg-turbo itself: the pixels agree with
 * GdkPixbuf's loader (the same library underneath) for baseline,
 * progressive, gray, CMYK and EXIF-rotated files, and a header that claims
 * 30000 × 30000 is refused before anything is allocated. */
static void
test_jpeg_like_gdk (void)
{
  const char *names[] = { "good.jpg", "progressive.jpg", "gray.jpg", "cmyk.jpg", "rotated.jpg",
                          "near-b.jpg" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = corpus (names[i]);
      g_autoptr(GdkPixbuf) ours = load (names[i], NULL, &error);
      g_autoptr(GdkPixbuf) read = gdk_pixbuf_new_from_file (path, &error);
      g_autoptr(GdkPixbuf) theirs = NULL;
      double difference;

      g_assert_no_error (error);
      theirs = gdk_pixbuf_apply_embedded_orientation (read);
      difference = mean_difference (ours, theirs);
      g_test_message ("%s: mean difference from GdkPixbuf %.3f", names[i], difference);
      g_assert_cmpfloat (difference, <, 0.5);
    }

  /* good.jpg with its frame header (SOF0) saying 30000 × 30000. */
  g_autoptr(GError) error = NULL;
  g_autofree char *path = corpus ("good.jpg");
  g_autofree guint8 *contents = NULL;
  gsize length, sof = 0;
  KilnImageInfo info;

  g_file_get_contents (path, (char **) &contents, &length, &error);
  g_assert_no_error (error);
  for (gsize i = 2; i + 9 < length && sof == 0; i++)
    if (contents[i] == 0xFF && contents[i + 1] == 0xC0)
      sof = i;
  g_assert_cmpuint (sof, >, 0);
  contents[sof + 5] = contents[sof + 7] = 30000 >> 8;
  contents[sof + 6] = contents[sof + 8] = 30000 & 0xFF;
  glong before = max_rss_kib ();
  g_autoptr(GBytes) bytes = g_bytes_new (contents, length);
  g_autoptr(GdkPixbuf) huge = kiln_image_load_bytes (bytes, "huge.jpg", NULL, &info, &error);
  g_assert_null (huge);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_TOO_LARGE);
  g_assert_cmpint (info.width, ==, 30000);
  g_assert_cmpint (max_rss_kib () - before, <, 100 * 1024);
}

static void
test_exif_orientation (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  g_autoptr(GdkPixbuf) pixbuf = load ("rotated.jpg", &info, &error);

  g_assert_no_error (error);
  g_assert_cmpint (info.orientation, ==, 6);
  g_assert_cmpint (info.width, ==, 60);
  g_assert_cmpint (info.height, ==, 40);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 40);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, 60);
  /* The stored top-left red block is displayed at the top-right. */
  assert_rgb_near (pixbuf, 35, 4, 255, 0, 0, 40);
  assert_rgb_near (pixbuf, 4, 4, 0, 0, 255, 40);
  assert_rgb_near (pixbuf, 35, 55, 0, 0, 255, 40);
}

static void
test_cmyk_and_16bit (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  g_autoptr(GdkPixbuf) cmyk = load ("cmyk.jpg", &info, &error);
  g_autoptr(GdkPixbuf) reference = load ("cmyk-reference.png", NULL, &error);
  guint8 *a, *b;
  double total = 0;
  gsize n = 3 * 64 * 48;

  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (cmyk), ==, 64);
  /* Colours match the RGB source (not inverted, not swapped). */
  a = g_malloc (n);
  b = g_malloc (n);
  kiln_image_to_u8 (cmyk, KILN_CHANNELS_RGB, a);
  kiln_image_to_u8 (reference, KILN_CHANNELS_RGB, b);
  for (gsize i = 0; i < n; i++)
    total += ABS ((int) a[i] - (int) b[i]);
  g_free (a);
  g_free (b);
  g_assert_cmpfloat (total / n, <, 12.0);

  g_autoptr(GdkPixbuf) deep = load ("16bit.png", &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.bit_depth, ==, 16);
  g_assert_cmpint (gdk_pixbuf_get_bits_per_sample (deep), ==, 8);
  assert_rgb_near (deep, 39, 0, 255, 0, 128, 1);
  assert_rgb_near (deep, 0, 29, 0, 255, 128, 1);
  assert_rgb_near (deep, 0, 0, 0, 0, 128, 1);
}

static void
test_palette_alpha (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  g_autoptr(GdkPixbuf) pixbuf = load ("palette-alpha.png", &info, &error);

  g_assert_no_error (error);
  g_assert_true (info.has_alpha);
  /* Opaque red stays red; transparent becomes the white background. */
  assert_rgb_near (pixbuf, 5, 5, 255, 0, 0, 0);
  assert_rgb_near (pixbuf, 30, 5, 255, 255, 255, 0);

  g_autoptr(GdkPixbuf) flat = kiln_image_flatten (pixbuf);
  g_assert_false (gdk_pixbuf_get_has_alpha (flat));
  assert_rgb_near (flat, 30, 5, 255, 255, 255, 0);

  /* Gray: ITU-R 601 luma of red, rounded as Pillow does (76). */
  guint8 gray[40 * 30];
  kiln_image_to_u8 (pixbuf, KILN_CHANNELS_GRAY, gray);
  g_assert_cmpint (gray[5 * 40 + 5], ==, 76);
  g_assert_cmpint (gray[5 * 40 + 30], ==, 255);
}

static void
test_gif_frames (void)
{
  g_autoptr(GError) error = NULL;
  KilnImageInfo info;
  g_autoptr(GdkPixbuf) animated = load ("animated.gif", &info, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (info.format, ==, "gif");
  g_assert_cmpint (info.n_frames, ==, 3);
  /* The first frame is red. */
  assert_rgb_near (animated, 16, 16, 255, 0, 0, 0);

  g_autoptr(GdkPixbuf) still = load ("still.gif", &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.n_frames, ==, 1);
}

static void
test_reduced_jpeg_decode (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = corpus ("near-a.jpg");
  KilnImageInfo info;
  KilnImageLoadOptions options = { .min_side = 40 };
  g_autoptr(GdkPixbuf) half = kiln_image_load (path, &options, &info, &error);

  /* 128 × 96: half scale keeps the shorter side (48) >= 40, a quarter
   * would not. */
  g_assert_no_error (error);
  g_assert_cmpint (info.width, ==, 128);
  g_assert_cmpint (gdk_pixbuf_get_width (half), ==, 64);
  g_assert_cmpint (gdk_pixbuf_get_height (half), ==, 48);

  options.min_side = 12;
  g_autoptr(GdkPixbuf) eighth = kiln_image_load (path, &options, &info, &error);
  g_assert_cmpint (gdk_pixbuf_get_width (eighth), ==, 16);

  /* The scale is the smallest whose size, rounded up as libjpeg rounds,
   * reaches the target: 75 / 2 gives 38. */
  g_autofree char *odd = corpus ("progressive.jpg");
  KilnImageLoadOptions odd_options = { .min_side = 38 };
  g_autoptr(GdkPixbuf) odd_half = kiln_image_load (odd, &odd_options, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (info.width, ==, 99);
  g_assert_cmpint (gdk_pixbuf_get_width (odd_half), ==, 50);
  g_assert_cmpint (gdk_pixbuf_get_height (odd_half), ==, 38);

  /* PNGs are never reduced. */
  g_autofree char *png = corpus ("good.png");
  g_autoptr(GdkPixbuf) full = kiln_image_load (png, &options, &info, &error);
  g_assert_cmpint (gdk_pixbuf_get_width (full), ==, 80);
}

/* A 100 × 50 picture: left half red, right half green. */
static GdkPixbuf *
halves (int width,
        int height)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autoptr(GdkPixbuf) right = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width / 2, height);

  gdk_pixbuf_fill (pixbuf, 0xff0000ff);
  gdk_pixbuf_fill (right, 0x00ff00ff);
  gdk_pixbuf_copy_area (right, 0, 0, width / 2, height, pixbuf, width / 2, 0);
  return pixbuf;
}

static void
test_resize_modes (void)
{
  g_autoptr(GdkPixbuf) src = halves (100, 50);

  /* crop-center: 50 × 50 from the middle, half red, half green. */
  g_autoptr(GdkPixbuf) crop = kiln_image_resize (src, 50, 50, KILN_RESIZE_CROP_CENTER);
  g_assert_cmpint (gdk_pixbuf_get_width (crop), ==, 50);
  assert_rgb_near (crop, 10, 25, 255, 0, 0, 0);
  assert_rgb_near (crop, 40, 25, 0, 255, 0, 0);

  /* squash: the whole width in 20 columns. */
  g_autoptr(GdkPixbuf) squash = kiln_image_resize (src, 20, 40, KILN_RESIZE_SQUASH);
  g_assert_cmpint (gdk_pixbuf_get_height (squash), ==, 40);
  assert_rgb_near (squash, 2, 20, 255, 0, 0, 0);
  assert_rgb_near (squash, 17, 20, 0, 255, 0, 0);

  /* fill: 50 × 25 of picture centred in 50 × 50, black above and below. */
  g_autoptr(GdkPixbuf) fill = kiln_image_resize (src, 50, 50, KILN_RESIZE_FILL);
  assert_rgb_near (fill, 25, 5, 0, 0, 0, 0);
  assert_rgb_near (fill, 25, 45, 0, 0, 0, 0);
  assert_rgb_near (fill, 5, 25, 255, 0, 0, 0);
  assert_rgb_near (fill, 45, 25, 0, 255, 0, 0);

  /* downscale-crop of a larger image equals crop-center… */
  g_autoptr(GdkPixbuf) down = kiln_image_resize (src, 50, 50, KILN_RESIZE_DOWNSCALE_CROP);
  g_assert_cmpmem (gdk_pixbuf_read_pixels (down), gdk_pixbuf_get_byte_length (down),
                   gdk_pixbuf_read_pixels (crop), gdk_pixbuf_get_byte_length (crop));

  /* …and never enlarges a smaller one: 100 × 50 centred in 120 × 120
   * at scale 1, padded black. */
  g_autoptr(GdkPixbuf) padded = kiln_image_resize (src, 120, 120, KILN_RESIZE_DOWNSCALE_CROP);
  assert_rgb_near (padded, 60, 10, 0, 0, 0, 0);
  assert_rgb_near (padded, 5, 60, 0, 0, 0, 0);
  assert_rgb_near (padded, 10, 35, 255, 0, 0, 0);
  assert_rgb_near (padded, 59, 84, 255, 0, 0, 0);
  assert_rgb_near (padded, 60, 35, 0, 255, 0, 0);
  assert_rgb_near (padded, 60, 85, 0, 0, 0, 0);

  /* crop-center enlarges it instead. */
  g_autoptr(GdkPixbuf) up = kiln_image_resize (src, 120, 120, KILN_RESIZE_CROP_CENTER);
  assert_rgb_near (up, 100, 5, 0, 255, 0, 0);
  assert_rgb_near (up, 5, 115, 255, 0, 0, 0);

  KilnResizeMode mode;
  for (guint m = 0; m <= KILN_RESIZE_DOWNSCALE_CROP; m++)
    {
      g_assert_true (kiln_resize_mode_from_string (kiln_resize_mode_to_string (m), &mode));
      g_assert_cmpint (mode, ==, m);
    }
  g_assert_false (kiln_resize_mode_from_string ("stretch", &mode));
}

/* Kiln's resampler against GdkPixbuf's bilinear scaler on a photo, up and
 * down, squashed and cropped: the same geometry (no half-pixel shift) and
 * nearly the same values (the filters differ slightly when reducing). */
static void
test_resampler_matches_gdk (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) photo = load ("near-a.jpg", NULL, &error);
  const int sizes[][2] = { { 227, 227 }, { 50, 37 }, { 128, 96 }, { 300, 80 }, { 17, 200 } };

  g_assert_no_error (error);
  for (guint t = 0; t < G_N_ELEMENTS (sizes); t++)
    {
      int w = sizes[t][0], h = sizes[t][1];
      g_autoptr(GdkPixbuf) ours = kiln_image_resize (photo, w, h, KILN_RESIZE_SQUASH);
      g_autoptr(GdkPixbuf) theirs = gdk_pixbuf_scale_simple (photo, w, h, GDK_INTERP_BILINEAR);
      g_autofree guint8 *a = g_malloc ((gsize) 3 * w * h);
      g_autofree guint8 *b = g_malloc ((gsize) 3 * w * h);
      double total = 0;

      kiln_image_to_u8 (ours, KILN_CHANNELS_RGB, a);
      kiln_image_to_u8 (theirs, KILN_CHANNELS_RGB, b);
      for (gsize i = 0; i < (gsize) 3 * w * h; i++)
        total += ABS ((int) a[i] - (int) b[i]);
      g_test_message ("%d × %d: mean difference %.2f", w, h, total / (3.0 * w * h));
      g_assert_cmpfloat (total / (3.0 * w * h), <, 3.0);
    }
}

static void
test_random_crop (void)
{
  guint8 src[2 * 8 * 10];
  guint8 a[2 * 4 * 5], b[2 * 4 * 5];
  gboolean seen_flip = FALSE, seen_plain = FALSE;

  for (guint i = 0; i < sizeof src; i++)
    src[i] = (guint8) i;

  /* The same seed gives the same crops. */
  {
    g_autoptr(GRand) r1 = g_rand_new_with_seed (7);
    g_autoptr(GRand) r2 = g_rand_new_with_seed (7);

    for (int k = 0; k < 10; k++)
      {
        kiln_image_random_crop_u8 (src, 2, 8, 10, a, 4, 5, TRUE, r1);
        kiln_image_random_crop_u8 (src, 2, 8, 10, b, 4, 5, TRUE, r2);
        g_assert_cmpmem (a, sizeof a, b, sizeof b);
      }
  }

  /* Every crop is a window of the source, mirrored or not. */
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  for (int k = 0; k < 50; k++)
    {
      int x0, y0;
      gboolean flipped;

      kiln_image_random_crop_u8 (src, 2, 8, 10, a, 4, 5, TRUE, rand);
      /* Recover the window from the first pixel of channel 0. */
      flipped = a[0] > a[1];
      x0 = (flipped ? a[4] : a[0]) % 10;
      y0 = (flipped ? a[4] : a[0]) / 10;
      g_assert_cmpint (x0 + 5, <=, 10);
      g_assert_cmpint (y0 + 4, <=, 8);
      for (int c = 0; c < 2; c++)
        for (int y = 0; y < 4; y++)
          for (int x = 0; x < 5; x++)
            {
              int sx = flipped ? x0 + 4 - x : x0 + x;
              g_assert_cmpint (a[(c * 4 + y) * 5 + x], ==, src[(c * 8 + y0 + y) * 10 + sx]);
            }
      seen_flip |= flipped;
      seen_plain |= !flipped;
    }
  g_assert_true (seen_flip && seen_plain);

  /* The pixbuf form: a 50 × 50 window of the halves picture. */
  g_autoptr(GdkPixbuf) halves_pixbuf = halves (100, 50);
  g_autoptr(GRand) r3 = g_rand_new_with_seed (3);
  g_autoptr(GdkPixbuf) crop = kiln_image_random_crop (halves_pixbuf, 50, 50, FALSE, r3);
  g_assert_cmpint (gdk_pixbuf_get_width (crop), ==, 50);
  g_assert_cmpint (gdk_pixbuf_get_height (crop), ==, 50);
}

static void
test_tensor_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = load ("good.png", NULL, &error);
  int w = 80, h = 60;
  gsize n = (gsize) 3 * w * h;
  g_autofree guint8 *u8 = g_malloc (n);
  g_autofree guint8 *again = g_malloc (n);
  g_autofree float *f32 = g_malloc (n * sizeof (float));
  g_autofree float *mean = g_malloc (n * sizeof (float));

  g_assert_no_error (error);
  kiln_image_to_u8 (pixbuf, KILN_CHANNELS_RGB, u8);
  /* CHW: plane 0 is red. */
  guint8 rgb[3];
  pixel (pixbuf, 7, 5, rgb);
  g_assert_cmpint (u8[5 * w + 7], ==, gdk_pixbuf_read_pixels (pixbuf)[5 * gdk_pixbuf_get_rowstride (pixbuf) + 7 * 3]);
  g_assert_cmpint (u8[w * h + 5 * w + 7], ==, rgb[1]);

  g_autoptr(GdkPixbuf) back = kiln_image_from_u8 (u8, 3, h, w);
  kiln_image_to_u8 (back, KILN_CHANNELS_RGB, again);
  g_assert_cmpmem (u8, n, again, n);

  for (gsize i = 0; i < n; i++)
    mean[i] = 100.5f + (float) (i % 7);
  kiln_image_to_f32 (pixbuf, KILN_CHANNELS_RGB, mean, 1.0f / 255.0f, f32);
  g_assert_cmpfloat_with_epsilon (f32[3], ((float) u8[3] - mean[3]) / 255.0f, 1e-6);
  g_autoptr(GdkPixbuf) from_float = kiln_image_from_f32 (f32, 3, h, w, mean, 1.0f / 255.0f);
  kiln_image_to_u8 (from_float, KILN_CHANNELS_RGB, again);
  g_assert_cmpmem (u8, n, again, n);

  /* Out-of-range floats clamp. */
  float extremes[3] = { -1000.0f, 1000.0f, NAN };
  g_autoptr(GdkPixbuf) clamped = kiln_image_from_f32 (extremes, 3, 1, 1, NULL, 1.0f);
  assert_rgb_near (clamped, 0, 0, 0, 255, 0, 0);

  /* Gray tensors come back as gray pictures. */
  guint8 gray[4] = { 0, 85, 170, 255 };
  g_autoptr(GdkPixbuf) gray_pixbuf = kiln_image_from_u8 (gray, 1, 2, 2);
  assert_rgb_near (gray_pixbuf, 1, 0, 85, 85, 85, 0);
}

static void
test_load_u8_spec (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = corpus ("rotated.jpg");
  KilnImageSpec spec = { 20, 30, KILN_CHANNELS_RGB, KILN_RESIZE_SQUASH, 0 };
  g_autofree guint8 *tensor = g_malloc (kiln_image_spec_size (&spec));
  g_autofree guint8 *manual = g_malloc (kiln_image_spec_size (&spec));
  KilnImageInfo info;

  g_assert_cmpuint (kiln_image_spec_size (&spec), ==, 3 * 20 * 30);
  kiln_image_load_u8 (path, &spec, tensor, &info, &error);
  g_assert_no_error (error);

  /* The same as decoding (reduced as far as the 30-pixel side allows),
   * resizing and converting by hand. */
  KilnImageLoadOptions options = { .min_side = 30 };
  g_autoptr(GdkPixbuf) pixbuf = kiln_image_load (path, &options, NULL, &error);
  g_autoptr(GdkPixbuf) resized = kiln_image_resize (pixbuf, 20, 30, KILN_RESIZE_SQUASH);
  kiln_image_to_u8 (resized, KILN_CHANNELS_RGB, manual);
  g_assert_cmpmem (tensor, kiln_image_spec_size (&spec), manual, kiln_image_spec_size (&spec));
  /* Still red at the top-right after rotation and squash. */
  g_assert_cmpint (tensor[2 * 20 + 17], >, 200);

  g_autofree char *bad = corpus ("truncated.jpg");
  g_assert_false (kiln_image_load_u8 (bad, &spec, tensor, &info, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_cmpint (info.problem, ==, KILN_IMAGE_TRUNCATED);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image/good-files", test_good_files);
  g_test_add_func ("/image/bad-files", test_bad_files);
  g_test_add_func ("/image/not-image-and-undecodable", test_not_image_and_undecodable);
  g_test_add_func ("/image/cut-and-damaged", test_cut_and_damaged);
  g_test_add_func ("/image/webp-and-unsupported", test_webp_and_unsupported);
  g_test_add_func ("/image/huge-header-not-allocated", test_huge_header_not_allocated);
  g_test_add_func ("/image/exif-orientation", test_exif_orientation);
  g_test_add_func ("/image/jpeg-like-gdk", test_jpeg_like_gdk);
  g_test_add_func ("/image/cmyk-and-16bit", test_cmyk_and_16bit);
  g_test_add_func ("/image/palette-alpha", test_palette_alpha);
  g_test_add_func ("/image/gif-frames", test_gif_frames);
  g_test_add_func ("/image/reduced-jpeg-decode", test_reduced_jpeg_decode);
  g_test_add_func ("/image/resize-modes", test_resize_modes);
  g_test_add_func ("/image/resampler-matches-gdk", test_resampler_matches_gdk);
  g_test_add_func ("/image/random-crop", test_random_crop);
  g_test_add_func ("/image/tensor-round-trip", test_tensor_round_trip);
  g_test_add_func ("/image/load-u8-spec", test_load_u8_spec);
  return g_test_run ();
}
