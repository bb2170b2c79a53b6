#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-parallel.h"
#include "kiln-inspector.h"

static const char *const reason_names[] = {
  [KILN_INSPECT_ZERO_BYTE] = "zero-byte",
  [KILN_INSPECT_NOT_AN_IMAGE] = "not-an-image",
  [KILN_INSPECT_UNSUPPORTED_FORMAT] = "unsupported-format",
  [KILN_INSPECT_TRUNCATED] = "truncated",
  [KILN_INSPECT_UNDECODABLE] = "undecodable",
  [KILN_INSPECT_TOO_LARGE] = "too-large",
  [KILN_INSPECT_UNREADABLE] = "unreadable",
  [KILN_INSPECT_TOO_SMALL] = "too-small",
  [KILN_INSPECT_EXTREME_ASPECT] = "extreme-aspect",
  [KILN_INSPECT_LOW_INFORMATION] = "low-information",
  [KILN_INSPECT_TOO_DARK] = "too-dark",
  [KILN_INSPECT_TOO_LIGHT] = "too-light",
  [KILN_INSPECT_BLURRY] = "blurry",
  [KILN_INSPECT_ANIMATED] = "animated",
  [KILN_INSPECT_DUPLICATE] = "duplicate",
  [KILN_INSPECT_NEAR_DUPLICATE] = "near-duplicate",
  [KILN_INSPECT_PLACEHOLDER] = "placeholder",
};

G_STATIC_ASSERT (G_N_ELEMENTS (reason_names) == KILN_INSPECT_N_REASONS);

const char *
kiln_inspect_reason_to_string (KilnInspectReason reason)
{
  g_return_val_if_fail (reason < KILN_INSPECT_N_REASONS, NULL);
  return reason_names[reason];
}

gboolean
kiln_inspect_reason_from_string (const char        *text,
                                 KilnInspectReason *reason)
{
  for (guint i = 0; i < KILN_INSPECT_N_REASONS; i++)
    if (g_strcmp0 (text, reason_names[i]) == 0)
      {
        *reason = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
kiln_inspect_reason_is_fatal (KilnInspectReason reason)
{
  switch (reason)
    {
    case KILN_INSPECT_ZERO_BYTE:
    case KILN_INSPECT_NOT_AN_IMAGE:
    case KILN_INSPECT_UNSUPPORTED_FORMAT:
    case KILN_INSPECT_TRUNCATED:
    case KILN_INSPECT_UNDECODABLE:
    case KILN_INSPECT_TOO_LARGE:
    case KILN_INSPECT_UNREADABLE:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Settings ---------------------------------------------------------------- */

KilnInspectorSettings *
kiln_inspector_settings_new (void)
{
  KilnInspectorSettings *settings = g_new0 (KilnInspectorSettings, 1);

  settings->min_side = 24;
  settings->max_aspect = 5.0;
  settings->min_stddev = 3.0;
  settings->min_entropy = 2.0;
  /* Calibrated with bench/inspect-peer.py --calibrate (RESULTS.md). */
  settings->dark_level = 90.0;
  settings->light_level = 180.0;
  settings->min_sharpness = 1.0;
  settings->near_distance = 4;
  settings->placeholder_distance = 6;
  settings->placeholders = g_array_new (FALSE, FALSE, sizeof (guint64));
  return settings;
}

void
kiln_inspector_settings_free (KilnInspectorSettings *settings)
{
  if (settings == NULL)
    return;
  g_array_unref (settings->placeholders);
  g_free (settings);
}

void
kiln_inspector_settings_add_placeholder (KilnInspectorSettings *settings,
                                         guint64                phash)
{
  g_array_append_val (settings->placeholders, phash);
}

gboolean
kiln_inspector_settings_load_placeholders (KilnInspectorSettings  *settings,
                                           const char             *path,
                                           GError                **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (guint64));

  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *hash = strchr (line, '#');
      guint64 value;

      if (hash != NULL)
        *hash = '\0';
      g_strstrip (line);
      if (*line == '\0')
        continue;
      if (strlen (line) != 16 || !g_ascii_string_to_unsigned (line, 16, 0, G_MAXUINT64, &value, NULL))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s:%u: “%s” is not a perceptual hash (16 hexadecimal digits)",
                       path, i + 1, line);
          return FALSE;
        }
      g_array_append_val (found, value);
    }
  g_array_append_vals (settings->placeholders, found->data, found->len);
  return TRUE;
}

gboolean
kiln_inspector_settings_add_project_placeholders (KilnInspectorSettings  *settings,
                                                  KilnProject            *project,
                                                  GError                **error)
{
  g_autoptr(GPtrArray) records = kiln_project_list_placeholders (project, error);

  if (records == NULL)
    return FALSE;
  for (guint i = 0; i < records->len; i++)
    kiln_inspector_settings_add_placeholder (settings, ((KilnPlaceholderRecord *) g_ptr_array_index (records, i))->phash);
  return TRUE;
}

gboolean
kiln_inspector_placeholder_hash (const char  *path,
                                 guint64     *phash,
                                 GError     **error)
{
  g_autoptr(GdkPixbuf) pixbuf = kiln_image_load (path, NULL, NULL, error);
  g_autoptr(GdkPixbuf) flat = NULL;

  if (pixbuf == NULL)
    return FALSE;
  /* Flattened, as kiln_inspector_analyse() hashes what it inspects. */
  flat = kiln_image_flatten (pixbuf);
  *phash = kiln_inspector_phash (flat);
  return TRUE;
}

/* Hashes ------------------------------------------------------------------ */

int
kiln_inspector_hamming (guint64 a,
                        guint64 b)
{
  return __builtin_popcountll (a ^ b);
}

gboolean
kiln_inspector_match_placeholder (const GArray *placeholders,
                                  int           max_distance,
                                  guint64       phash,
                                  guint64      *known,
                                  int          *distance)
{
  for (guint i = 0; placeholders != NULL && i < placeholders->len; i++)
    {
      guint64 candidate = g_array_index (placeholders, guint64, i);
      int d = kiln_inspector_hamming (phash, candidate);

      if (d <= max_distance)
        {
          if (known)
            *known = candidate;
          if (distance)
            *distance = d;
          return TRUE;
        }
    }
  return FALSE;
}

static inline guint64
rotl64 (guint64 x,
        int     r)
{
  return (x << r) | (x >> (64 - r));
}

static inline guint64
avalanche (guint64 x)
{
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  x ^= x >> 33;
  return x;
}

typedef struct {
  guint64 a, b;
  guint64 length;
} PixelHash;

/* A fast 128-bit non-cryptographic hash of pixel rows: two lanes with
 * different multipliers over 8-byte words. Equal pixels give equal
 * hashes; an accidental collision of different images is ~2^-128. */
static void
pixel_hash_update (PixelHash    *h,
                   const guint8 *data,
                   gsize         n)
{
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    {
      guint64 w;

      memcpy (&w, data + i, 8);
      h->a = rotl64 (h->a ^ (w * G_GUINT64_CONSTANT (0x87c37b91114253d5)), 31)
             * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
      h->b = rotl64 (h->b + (w ^ (w >> 29)) * G_GUINT64_CONSTANT (0x4cf5ad432745937f), 27)
             * 5 + 0x52dce729;
    }
  if (i < n)
    {
      guint64 w = 0;

      memcpy (&w, data + i, n - i);
      h->a = rotl64 (h->a ^ (w * G_GUINT64_CONSTANT (0x87c37b91114253d5)), 31)
             * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
      h->b = rotl64 (h->b + (w ^ (w >> 29)) * G_GUINT64_CONSTANT (0x4cf5ad432745937f), 27)
             * 5 + 0x52dce729;
    }
  h->length += n;
}

static void
pixel_hash_of (GdkPixbuf *pixbuf,
               char       out[33])
{
  PixelHash h = { G_GUINT64_CONSTANT (0x243f6a8885a308d3), G_GUINT64_CONSTANT (0x13198a2e03707344), 0 };
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  gsize row = (gsize) width * gdk_pixbuf_get_n_channels (pixbuf);
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  guint32 dims[2] = { width, height };

  pixel_hash_update (&h, (const guint8 *) dims, sizeof dims);
  for (int y = 0; y < height; y++)
    pixel_hash_update (&h, pixels + (gsize) y * stride, row);
  g_snprintf (out, 33, "%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
              avalanche (h.a ^ h.length), avalanche (h.b + h.a));
}

/* cos((2x + 1) u π / 64) for the 8 lowest frequencies u of 32 samples. */
static const double *
dct_table (void)
{
  static double table[8][32];
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      for (int u = 0; u < 8; u++)
        for (int x = 0; x < 32; x++)
          table[u][x] = cos ((2 * x + 1) * u * G_PI / 64.0);
      g_once_init_leave (&initialised, 1);
    }
  return &table[0][0];
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

guint64
kiln_inspector_phash (GdkPixbuf *pixbuf)
{
  g_autoptr(GdkPixbuf) small = NULL;
  const double *table = dct_table ();
  guint8 gray[32 * 32];
  double rows[32][8];
  double coefficients[64];
  double sorted[64];
  double median;
  guint64 hash = 0;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), 0);

  small = gdk_pixbuf_scale_simple (pixbuf, 32, 32, GDK_INTERP_BILINEAR);
  if (small == NULL)
    return 0;
  kiln_image_to_u8 (small, KILN_CHANNELS_GRAY, gray);

  /* A separable DCT-II that computes only the 8 × 8 lowest frequencies. */
  for (int y = 0; y < 32; y++)
    for (int u = 0; u < 8; u++)
      {
        double sum = 0;
        for (int x = 0; x < 32; x++)
          sum += gray[y * 32 + x] * table[u * 32 + x];
        rows[y][u] = sum;
      }
  for (int v = 0; v < 8; v++)
    for (int u = 0; u < 8; u++)
      {
        double sum = 0;
        for (int y = 0; y < 32; y++)
          sum += rows[y][u] * table[v * 32 + y];
        coefficients[v * 8 + u] = sum;
      }

  memcpy (sorted, coefficients, sizeof sorted);
  qsort (sorted, 64, sizeof (double), compare_doubles);
  median = (sorted[31] + sorted[32]) / 2.0;
  for (int i = 0; i < 64; i++)
    if (coefficients[i] > median)
      hash |= G_GUINT64_CONSTANT (1) << i;
  return hash;
}

/* Grouping ---------------------------------------------------------------- */

static guint
find_root (guint *parent,
           guint  i)
{
  while (parent[i] != i)
    {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
  return i;
}

static void
unite (guint *parent,
       guint  a,
       guint  b)
{
  a = find_root (parent, a);
  b = find_root (parent, b);
  if (a != b)
    parent[MAX (a, b)] = MIN (a, b);
}

static inline guint
band (guint64 hash,
      int     b)
{
  return (guint) (hash >> (16 * b)) & 0xFFFF;
}

typedef struct {
  guint64 hash;
  guint   index;
} HashIndex;

static int
compare_hash_index (gconstpointer a,
                    gconstpointer b)
{
  const HashIndex *x = a, *y = b;

  if (x->hash != y->hash)
    return x->hash < y->hash ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/* Multi-index hashing: split each hash into four 16-bit bands. Two hashes
 * within distance d agree within distance r = d / 4 on at least one band
 * (pigeonhole), so each hash looks only into the buckets of its band
 * values' r-neighbourhoods. A pair is compared in full only from the first
 * band where it qualifies, so no pair is compared twice. */
GArray *
kiln_inspector_group_hashes (const guint64 *hashes,
                             guint          n,
                             int            max_distance,
                             guint64       *n_compared)
{
  g_autofree guint *parent = g_new (guint, MAX (n, 1));
  g_autofree HashIndex *sorted = g_new (HashIndex, MAX (n, 1));
  g_autoptr(GArray) unique = g_array_new (FALSE, FALSE, sizeof (guint)); /* item index */
  g_autoptr(GArray) masks = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GHashTable) numbers = g_hash_table_new (NULL, NULL);
  GArray *groups = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  guint64 compared = 0;
  int radius;

  for (guint i = 0; i < n; i++)
    {
      parent[i] = i;
      sorted[i] = (HashIndex) { hashes[i], i };
    }

  /* Equal hashes join at once, so a thousand copies of one placeholder
   * cost a sort, not a million comparisons. */
  qsort (sorted, n, sizeof (HashIndex), compare_hash_index);
  for (guint i = 0; i < n; i++)
    {
      if (i > 0 && sorted[i].hash == sorted[i - 1].hash)
        unite (parent, sorted[i - 1].index, sorted[i].index);
      else
        g_array_append_val (unique, sorted[i].index);
    }

  radius = max_distance >= 0 ? MIN (max_distance, 63) / 4 : -1;
  for (guint mask = 0; radius >= 0 && mask <= 0xFFFF; mask++)
    if (__builtin_popcount (mask) <= radius)
      g_array_append_val (masks, mask);

  if (radius >= 0 && unique->len > 1)
    {
      guint m = unique->len;
      g_autofree guint *starts = g_new (guint, 0x10000 + 1);
      g_autofree guint *members = g_new (guint, m);

      for (int b = 0; b < 4; b++)
        {
          /* Counting sort of the unique hashes by this band. */
          memset (starts, 0, sizeof (guint) * (0x10000 + 1));
          for (guint k = 0; k < m; k++)
            starts[band (hashes[g_array_index (unique, guint, k)], b) + 1]++;
          for (guint v = 0; v < 0x10000; v++)
            starts[v + 1] += starts[v];
          {
            g_autofree guint *fill = g_memdup2 (starts, sizeof (guint) * 0x10000);
            for (guint k = 0; k < m; k++)
              members[fill[band (hashes[g_array_index (unique, guint, k)], b)]++] = k;
          }

          for (guint k = 0; k < m; k++)
            {
              guint64 hk = hashes[g_array_index (unique, guint, k)];
              guint key = band (hk, b);

              for (guint q = 0; q < masks->len; q++)
                {
                  guint bucket = key ^ g_array_index (masks, guint, q);

                  for (guint s = starts[bucket]; s < starts[bucket + 1]; s++)
                    {
                      guint j = members[s];
                      guint64 hj = hashes[g_array_index (unique, guint, j)];
                      gboolean earlier = FALSE;

                      if (j <= k)
                        continue;
                      for (int e = 0; e < b && !earlier; e++)
                        earlier = __builtin_popcount (band (hk, e) ^ band (hj, e)) <= radius;
                      if (earlier)
                        continue;
                      compared++;
                      if (kiln_inspector_hamming (hk, hj) <= max_distance)
                        unite (parent, g_array_index (unique, guint, k), g_array_index (unique, guint, j));
                    }
                }
            }
        }
    }

  /* Group numbers in order of first appearance. */
  for (guint i = 0; i < n; i++)
    {
      guint root = find_root (parent, i);
      gpointer number;

      if (!g_hash_table_lookup_extended (numbers, GUINT_TO_POINTER (root), NULL, &number))
        {
          number = GUINT_TO_POINTER (g_hash_table_size (numbers));
          g_hash_table_insert (numbers, GUINT_TO_POINTER (root), number);
        }
      guint value = GPOINTER_TO_UINT (number);

      g_array_append_val (groups, value);
    }
  if (n_compared != NULL)
    *n_compared = compared;
  return groups;
}

/* One image --------------------------------------------------------------- */

void
kiln_image_report_free (KilnImageReport *report)
{
  if (report == NULL)
    return;
  g_free (report->path);
  for (guint i = 0; i < KILN_INSPECT_N_REASONS; i++)
    g_free (report->details[i]);
  g_free (report);
}

static void
flag (KilnImageReport   *report,
      KilnInspectReason  reason,
      char              *detail)
{
  report->flags |= 1u << reason;
  g_free (report->details[reason]);
  report->details[reason] = detail;
}

static KilnInspectReason
reason_for_problem (KilnImageProblem problem)
{
  switch (problem)
    {
    case KILN_IMAGE_EMPTY: return KILN_INSPECT_ZERO_BYTE;
    case KILN_IMAGE_NOT_IMAGE: return KILN_INSPECT_NOT_AN_IMAGE;
    case KILN_IMAGE_UNSUPPORTED_FORMAT: return KILN_INSPECT_UNSUPPORTED_FORMAT;
    case KILN_IMAGE_TRUNCATED: return KILN_INSPECT_TRUNCATED;
    case KILN_IMAGE_TOO_LARGE: return KILN_INSPECT_TOO_LARGE;
    case KILN_IMAGE_UNREADABLE: return KILN_INSPECT_UNREADABLE;
    case KILN_IMAGE_UNDECODABLE:
    case KILN_IMAGE_OK:
    default:
      return KILN_INSPECT_UNDECODABLE;
    }
}

/* The copy the statistics read: gray, its shorter side this long. Never
 * enlarged (that would blur it), and fixed rather than a share of the
 * image, so sharpness compares images at one scale and an extreme banner
 * keeps its rows. */
#define STATISTICS_SIDE 96

static void
gray_statistics (GdkPixbuf       *pixbuf,
                 KilnImageReport *report)
{
  int w = gdk_pixbuf_get_width (pixbuf), h = gdk_pixbuf_get_height (pixbuf);
  double scale = MIN (1.0, (double) STATISTICS_SIDE / MIN (w, h));
  int sw = MAX (1, (int) (w * scale + 0.5)), sh = MAX (1, (int) (h * scale + 0.5));
  g_autoptr(GdkPixbuf) small = kiln_image_resize (pixbuf, sw, sh, KILN_RESIZE_SQUASH);
  g_autofree guint8 *gray = g_malloc ((gsize) sw * sh);
  g_autofree guint8 *rgb = g_malloc ((gsize) 3 * sw * sh);
  guint histogram[256] = { 0 }, brightness[256] = { 0 };
  double sum = 0, sum2 = 0, entropy = 0, lap = 0, lap2 = 0, gradient2 = 0;
  gsize n = (gsize) sw * sh, seen = 0, n_lap = 0;
  gboolean have_shadows = FALSE, have_highlights = FALSE;

  if (small == NULL)
    return;
  kiln_image_to_u8 (small, KILN_CHANNELS_GRAY, gray);
  kiln_image_to_u8 (small, KILN_CHANNELS_RGB, rgb);
  for (gsize i = 0; i < n; i++)
    {
      double r = rgb[i], g = rgb[n + i], b = rgb[2 * n + i];

      sum += gray[i];
      sum2 += (double) gray[i] * gray[i];
      histogram[gray[i]]++;
      /* Perceived brightness (the HSP model, as cleanvision): unlike luma
       * it does not call a saturated red or blue dark. */
      brightness[MIN (255, (int) sqrt (0.241 * r * r + 0.691 * g * g + 0.068 * b * b))]++;
    }
  for (int v = 0; v < 256; v++)
    {
      if (histogram[v] > 0)
        {
          double p = (double) histogram[v] / n;
          entropy -= p * log2 (p);
        }
      seen += brightness[v];
      if (!have_shadows && seen >= 0.05 * n)
        {
          report->shadows = v;
          have_shadows = TRUE;
        }
      if (!have_highlights && seen >= 0.95 * n)
        {
          report->highlights = v;
          have_highlights = TRUE;
        }
    }
  report->mean = sum / n;
  report->stddev = sqrt (MAX (0.0, sum2 / n - report->mean * report->mean));
  report->entropy = entropy;

  /* Sharpness: the variance of the 4-neighbour Laplacian over the mean
   * squared gradient. Both grow with contrast; their ratio falls as edges
   * widen (about 1 / width²), so a foggy or dim sharp picture is not taken
   * for a blurred one, nor a smooth gradient behind sharp shapes. */
  for (int y = 0; y + 1 < sh; y++)
    for (int x = 0; x + 1 < sw; x++)
      {
        const guint8 *p = gray + (gsize) y * sw + x;
        double gx = p[1] - p[0], gy = p[sw] - p[0];

        gradient2 += gx * gx + gy * gy;
        if (x > 0 && y > 0)
          {
            double l = p[-1] + p[1] + p[-sw] + p[sw] - 4.0 * p[0];

            lap += l;
            lap2 += l * l;
            n_lap++;
          }
      }
  gradient2 /= (double) (sw - 1) * (sh - 1);
  if (n_lap > 0 && gradient2 > 0)
    report->sharpness = (lap2 / n_lap - (lap / n_lap) * (lap / n_lap)) / gradient2;
}

KilnImageReport *
kiln_inspector_analyse (const KilnInspectorSettings *settings,
                        const char                  *path)
{
  KilnImageReport *report = g_new0 (KilnImageReport, 1);
  KilnImageLoadOptions options = { 0 };
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkPixbuf) flat = NULL;
  g_autofree char *sha256 = NULL;
  guint64 known;
  int shorter, longer, distance;
  gboolean uniform;

  g_return_val_if_fail (settings != NULL && path != NULL, report);

  report->path = g_strdup (path);
  mapped = g_mapped_file_new (path, FALSE, &error);
  if (mapped == NULL)
    {
      report->info.problem = KILN_IMAGE_UNREADABLE;
      flag (report, KILN_INSPECT_UNREADABLE, g_strdup (error->message));
      return report;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_strlcpy (report->sha256, sha256, sizeof report->sha256);

  /* Statistics and hashes need little resolution: let JPEGs decode at a
   * reduced scale, which is most of an inspection's time. */
  options.max_pixels = settings->max_pixels;
  options.min_side = 128;
  pixbuf = kiln_image_load_bytes (bytes, path, &options, &report->info, &error);
  report->width = report->info.width;
  report->height = report->info.height;
  if (report->info.orientation >= 5)
    {
      report->width = report->info.height;
      report->height = report->info.width;
    }
  if (pixbuf == NULL)
    {
      flag (report, reason_for_problem (report->info.problem), g_strdup (error->message));
      return report;
    }

  shorter = MIN (report->width, report->height);
  longer = MAX (report->width, report->height);
  if (shorter < settings->min_side)
    flag (report, KILN_INSPECT_TOO_SMALL,
          g_strdup_printf ("%d × %d is smaller than %d pixels on a side",
                           report->width, report->height, settings->min_side));
  if (shorter > 0 && (double) longer / shorter > settings->max_aspect)
    flag (report, KILN_INSPECT_EXTREME_ASPECT,
          g_strdup_printf ("%d × %d: aspect ratio %.1f is over %.1f",
                           report->width, report->height, (double) longer / shorter,
                           settings->max_aspect));
  if (report->info.n_frames > 1)
    flag (report, KILN_INSPECT_ANIMATED,
          g_strdup_printf ("%d frames; only the first is used", report->info.n_frames));

  flat = kiln_image_flatten (pixbuf);
  if (flat == NULL)
    return report;
  pixel_hash_of (flat, report->pixel_hash);
  report->phash = kiln_inspector_phash (flat);
  report->has_phash = TRUE;
  gray_statistics (flat, report);

  /* One reason of the three, the most specific: dark or light says more
   * than "uniform", and a uniform picture has no edges to be blurred. */
  uniform = report->stddev < settings->min_stddev || report->entropy < settings->min_entropy;
  if (report->highlights < settings->dark_level)
    flag (report, KILN_INSPECT_TOO_DARK,
          uniform ? g_strdup_printf ("nearly uniform and dark: mean brightness %.0f of 255", report->mean)
                  : g_strdup_printf ("dark throughout: 95%% of it is below brightness %.0f of 255 "
                                     "(mean %.0f)", report->highlights + 1, report->mean));
  else if (report->shadows > settings->light_level)
    flag (report, KILN_INSPECT_TOO_LIGHT,
          uniform ? g_strdup_printf ("nearly uniform and light: mean brightness %.0f of 255", report->mean)
                  : g_strdup_printf ("light throughout: 95%% of it is above brightness %.0f of 255 "
                                     "(mean %.0f)", report->shadows - 1, report->mean));
  else if (uniform)
    flag (report, KILN_INSPECT_LOW_INFORMATION,
          g_strdup_printf ("nearly uniform: gray standard deviation %.1f, entropy %.2f bits",
                           report->stddev, report->entropy));
  if (!uniform && report->sharpness < settings->min_sharpness)
    flag (report, KILN_INSPECT_BLURRY,
          g_strdup_printf ("edges are soft: sharpness %.2f is under %.2f", report->sharpness,
                           settings->min_sharpness));

  if (kiln_inspector_match_placeholder (settings->placeholders, settings->placeholder_distance,
                                        report->phash, &known, &distance))
    flag (report, KILN_INSPECT_PLACEHOLDER,
          g_strdup_printf ("matches the known placeholder %016" G_GINT64_MODIFIER
                           "x (distance %d)", known, distance));
  return report;
}

/* Duplicates -------------------------------------------------------------- */

/* The member to keep: most pixels, then the earliest. */
static gboolean
better_keeper (const KilnImageReport *candidate,
               const KilnImageReport *keeper)
{
  return (gint64) candidate->width * candidate->height > (gint64) keeper->width * keeper->height;
}

/* How duplicate flags name the image they copy; kiln_inspector_duplicate_of
 * reads them back. */
#define SAME_PIXELS_AS "same pixels as "
#define LOOKS_LIKE "looks like "

char *
kiln_inspector_duplicate_of (const char *reason, const char *detail)
{
  if (reason == NULL || detail == NULL)
    return NULL;
  if (g_str_equal (reason, "duplicate") && g_str_has_prefix (detail, SAME_PIXELS_AS))
    return g_strdup (detail + strlen (SAME_PIXELS_AS));
  if (g_str_equal (reason, "near-duplicate") && g_str_has_prefix (detail, LOOKS_LIKE))
    {
      const char *path = detail + strlen (LOOKS_LIKE);
      const char *end = g_strrstr (path, " (distance ");
      return end ? g_strndup (path, end - path) : NULL;
    }
  return NULL;
}

guint
kiln_inspector_flag_duplicates (const KilnInspectorSettings *settings,
                                GPtrArray                   *reports)
{
  g_autoptr(GHashTable) by_pixels = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) counted = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) hashes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) owners = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) groups = NULL;
  g_autoptr(GHashTable) keepers = NULL;
  g_autoptr(GHashTable) sizes = NULL;
  guint n_groups = 0;

  /* Exact: the first image with given pixels keeps them. */
  for (guint i = 0; i < reports->len; i++)
    {
      KilnImageReport *report = reports->pdata[i];
      KilnImageReport *first;

      if (report->pixel_hash[0] == '\0')
        continue;
      first = g_hash_table_lookup (by_pixels, report->pixel_hash);
      if (first == NULL)
        {
          g_hash_table_insert (by_pixels, report->pixel_hash, report);
          continue;
        }
      /* Count a group once, when its second member appears. */
      if (g_hash_table_add (counted, first))
        first->exact_group = ++n_groups;
      report->exact_group = first->exact_group;
      flag (report, KILN_INSPECT_DUPLICATE, g_strdup_printf (SAME_PIXELS_AS "%s", first->path));
    }

  /* Near: among the images left, grouped by perceptual hash. A flat frame
   * has no frequencies but rounding errors, so its hash is noise that may
   * match another's: it is blank, dark or light, not a copy. */
  for (guint i = 0; i < reports->len; i++)
    {
      KilnImageReport *report = reports->pdata[i];

      if (report->has_phash && !kiln_image_report_has (report, KILN_INSPECT_DUPLICATE)
          && report->stddev >= settings->min_stddev)
        {
          g_array_append_val (hashes, report->phash);
          g_array_append_val (owners, i);
        }
    }
  groups = kiln_inspector_group_hashes ((const guint64 *) (gpointer) hashes->data, hashes->len,
                                        settings->near_distance, NULL);
  keepers = g_hash_table_new (NULL, NULL);
  sizes = g_hash_table_new (NULL, NULL);
  for (guint k = 0; k < groups->len; k++)
    {
      guint group = g_array_index (groups, guint, k);
      KilnImageReport *report = reports->pdata[g_array_index (owners, guint, k)];
      KilnImageReport *keeper = g_hash_table_lookup (keepers, GUINT_TO_POINTER (group));
      guint size = GPOINTER_TO_UINT (g_hash_table_lookup (sizes, GUINT_TO_POINTER (group)));

      g_hash_table_insert (sizes, GUINT_TO_POINTER (group), GUINT_TO_POINTER (size + 1));
      if (keeper == NULL || better_keeper (report, keeper))
        g_hash_table_insert (keepers, GUINT_TO_POINTER (group), report);
    }
  for (guint k = 0; k < groups->len; k++)
    {
      guint group = g_array_index (groups, guint, k);
      KilnImageReport *report = reports->pdata[g_array_index (owners, guint, k)];
      KilnImageReport *keeper = g_hash_table_lookup (keepers, GUINT_TO_POINTER (group));

      if (GPOINTER_TO_UINT (g_hash_table_lookup (sizes, GUINT_TO_POINTER (group))) < 2)
        continue;
      /* Numbered after the exact groups, in order of first appearance. */
      if (keeper->near_group == 0)
        keeper->near_group = ++n_groups;
      report->near_group = keeper->near_group;
      if (keeper != report)
        flag (report, KILN_INSPECT_NEAR_DUPLICATE,
              g_strdup_printf (LOOKS_LIKE "%s (distance %d)", keeper->path,
                               kiln_inspector_hamming (report->phash, keeper->phash)));
    }
  return n_groups;
}

/* A project --------------------------------------------------------------- */

typedef struct {
  const KilnInspectorSettings *settings;
  KilnProject                 *project;
  GPtrArray                   *images;   /* KilnImageRecord */
  KilnImageReport            **reports;
  GCancellable                *cancellable;
  KilnInspectorFlagsFunc       flags_func;
  gpointer                     flags_data;
} RunData;

static void
analyse_one (guint    index,
             gpointer user_data)
{
  RunData *run = user_data;
  KilnImageRecord *record = run->images->pdata[index];
  g_autofree char *path = NULL;
  KilnImageReport *report;

  if (g_cancellable_is_cancelled (run->cancellable))
    return;
  path = kiln_project_build_path (run->project, record->path);
  report = kiln_inspector_analyse (run->settings, path);
  /* Report paths relative to the project, as the store names them. */
  g_free (report->path);
  report->path = g_strdup (record->path);
  report->image_id = record->id;
  run->reports[index] = report;
  if (run->flags_func != NULL)
    {
      g_autoptr(GPtrArray) flags = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);
      for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
        if (kiln_image_report_has (report, r))
          g_ptr_array_add (flags, kiln_flag_new (record->id, reason_names[r], report->details[r]));
      if (flags->len > 0)
        run->flags_func (record->id, flags, run->flags_data);
    }
}

static gboolean
store_reports (KilnProject  *project,
               gpointer      user_data,
               GError      **error)
{
  RunData *run = user_data;

  for (guint i = 0; i < run->images->len; i++)
    {
      KilnImageRecord *record = run->images->pdata[i];
      KilnImageReport *report = run->reports[i];
      g_autoptr(GPtrArray) old = NULL;

      record->size = report->info.n_bytes;
      record->width = report->width;
      record->height = report->height;
      g_clear_pointer (&record->sha256, g_free);
      g_clear_pointer (&record->pixel_hash, g_free);
      record->sha256 = report->sha256[0] ? g_strdup (report->sha256) : NULL;
      record->pixel_hash = report->pixel_hash[0] ? g_strdup (report->pixel_hash) : NULL;
      record->phash = report->phash;
      record->has_phash = report->has_phash;
      if (!kiln_project_update_image (project, record, error))
        return FALSE;

      /* Replace this inspector's flags; other flags stay. */
      old = kiln_project_list_flags (project, record->id, error);
      if (old == NULL)
        return FALSE;
      for (guint k = 0; k < old->len; k++)
        {
          KilnFlag *flag = old->pdata[k];
          KilnInspectReason reason;

          if (kiln_inspect_reason_from_string (flag->reason, &reason)
              && !kiln_project_clear_flags (project, record->id, flag->reason, error))
            return FALSE;
        }
      for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
        if (kiln_image_report_has (report, r)
            && !kiln_project_set_flag (project, record->id, reason_names[r],
                                       report->details[r], error))
          return FALSE;
    }
  return TRUE;
}

gboolean
kiln_inspector_run (KilnProject                 *project,
                    const KilnInspectorSettings *settings,
                    guint                        n_threads,
                    KilnProgressFunc             progress,
                    gpointer                     user_data,
                    GCancellable                *cancellable,
                    KilnInspectorSummary        *summary,
                    GError                     **error)
{
  g_autoptr(GPtrArray) reports = kiln_inspector_run_with_reports (project, settings, n_threads, progress,
                                                                  user_data, cancellable, summary, error);
  return reports != NULL;
}

GPtrArray *
kiln_inspector_run_with_reports (KilnProject                 *project,
                                 const KilnInspectorSettings *settings,
                                 guint                        n_threads,
                                 KilnProgressFunc             progress,
                                 gpointer                     user_data,
                                 GCancellable                *cancellable,
                                 KilnInspectorSummary        *summary,
                                 GError                     **error)
{
  return kiln_inspector_run_with_flags (project, settings, n_threads, progress, user_data, NULL, NULL,
                                        cancellable, summary, error);
}

GPtrArray *
kiln_inspector_run_with_flags (KilnProject                 *project,
                               const KilnInspectorSettings *settings,
                               guint                        n_threads,
                               KilnProgressFunc             progress,
                               gpointer                     user_data,
                               KilnInspectorFlagsFunc       flags_func,
                               gpointer                     flags_data,
                               GCancellable                *cancellable,
                               KilnInspectorSummary        *summary,
                               GError                     **error)
{
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) reports = NULL;
  RunData run = { 0 };

  g_return_val_if_fail (KILN_IS_PROJECT (project), NULL);
  g_return_val_if_fail (settings != NULL, NULL);

  images = kiln_project_list_images (project, NULL, KILN_IMAGE_KEPT, error);
  if (images == NULL)
    return NULL;
  reports = g_ptr_array_new_full (images->len, (GDestroyNotify) kiln_image_report_free);
  g_ptr_array_set_size (reports, images->len);

  run.settings = settings;
  run.project = project;
  run.images = images;
  run.reports = (KilnImageReport **) reports->pdata;
  run.cancellable = cancellable;
  run.flags_func = flags_func;
  run.flags_data = flags_data;
  kiln_parallel_for (images->len, n_threads, analyse_one, &run, progress, user_data);

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CANCELLED,
                   "Inspection cancelled; nothing was recorded");
      return NULL;
    }
  if (summary != NULL)
    memset (summary, 0, sizeof *summary);
  {
    guint groups = kiln_inspector_flag_duplicates (settings, reports);

    if (summary != NULL)
      summary->n_duplicate_groups = groups;
  }

  if (!kiln_project_transaction (project, store_reports, &run, error))
    return NULL;
  if (summary != NULL)
    {
      summary->n_images = images->len;
      for (guint i = 0; i < reports->len; i++)
        {
          KilnImageReport *report = reports->pdata[i];

          summary->n_flagged += report->flags != 0;
          for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
            summary->counts[r] += kiln_image_report_has (report, r);
        }
    }
  return g_steal_pointer (&reports);
}
