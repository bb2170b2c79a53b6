/* The decode-once cache and the prefetching batch loader: reuse of unchanged
 * entries, damaged caches, exact pixels, epochs as permutations, and batches
 * that depend on the seed and position only — not on threads. */
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-batch-loader.h"
#include "kiln-error.h"
#include "kiln-tensor-cache.h"

#define C 3
#define H 8
#define W 10
#define N_IMAGES 50

/* The "images" are raw C×H×W files; a file of the wrong size is undecodable. */
static gboolean
decode_raw (const char *path, guint8 *chw, gpointer user_data, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;
  if (!g_file_get_contents (path, &data, &length, error))
    return FALSE;
  if (length != C * H * W)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: wrong size", path);
      return FALSE;
    }
  memcpy (chw, data, length);
  return TRUE;
}

static void
write_image (const char *path, guint seed)
{
  guint8 pixels[C * H * W];
  for (guint i = 0; i < sizeof pixels; i++)
    pixels[i] = (guint8) (seed * 31 + i * 7);
  g_assert_true (g_file_set_contents (path, (char *) pixels, sizeof pixels, NULL));
}

typedef struct {
  char *dir;
  char *cache_path;
  GPtrArray *paths;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("kiln-cache-XXXXXX", NULL);
  f->cache_path = g_build_filename (f->dir, "cache", "train.kilncache", NULL);
  f->paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < N_IMAGES; i++)
    {
      char *path = g_strdup_printf ("%s/img-%02u.raw", f->dir, i);
      write_image (path, i);
      g_ptr_array_add (f->paths, path);
    }
  g_ptr_array_add (f->paths, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->paths);
  g_free (f->cache_path);
  g_free (f->dir);
}

static KilnTensorCache *
build (Fixture *f, guint n)
{
  g_autoptr(GError) error = NULL;
  KilnTensorCache *cache = kiln_tensor_cache_build (f->cache_path, (const char *const *) f->paths->pdata, n,
                                                    C, H, W, decode_raw, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cache);
  return cache;
}

static void
test_cache_rebuilds_only_changed (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnTensorCache) first = build (f, N_IMAGES);
  g_assert_cmpuint (kiln_tensor_cache_get_n_decoded (first), ==, N_IMAGES);
  g_assert_cmpuint (kiln_tensor_cache_get_n (first), ==, N_IMAGES);
  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_autofree char *raw = NULL;
      g_assert_true (g_file_get_contents (f->paths->pdata[i], &raw, NULL, NULL));
      g_assert_true (kiln_tensor_cache_is_valid (first, i));
      g_assert_cmpmem (kiln_tensor_cache_get (first, i), C * H * W, raw, C * H * W);
    }
  g_clear_pointer (&first, kiln_tensor_cache_free);

  /* Change three images (new contents, a later mtime set explicitly, as a
   * coarse-timestamp file system might not move it) and break one. */
  const guint changed[] = { 3, 17, 42 };
  for (guint k = 0; k < G_N_ELEMENTS (changed); k++)
    {
      const char *path = f->paths->pdata[changed[k]];
      g_autoptr(GFile) file = g_file_new_for_path (path);
      write_image (path, 1000 + changed[k]);
      g_assert_true (g_file_set_attribute_uint64 (file, G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                                  (guint64) g_get_real_time () / G_USEC_PER_SEC + 10,
                                                  G_FILE_QUERY_INFO_NONE, NULL, NULL));
    }
  g_assert_true (g_file_set_contents (f->paths->pdata[7], "not an image", -1, NULL));

  g_autoptr(KilnTensorCache) second = build (f, N_IMAGES);
  g_assert_cmpuint (kiln_tensor_cache_get_n_decoded (second), ==, 4);
  g_autofree char *raw = NULL;
  g_assert_true (g_file_get_contents (f->paths->pdata[17], &raw, NULL, NULL));
  g_assert_cmpmem (kiln_tensor_cache_get (second, 17), C * H * W, raw, C * H * W);
  g_assert_false (kiln_tensor_cache_is_valid (second, 7));
  g_assert_true (kiln_tensor_cache_is_valid (second, 8));
  g_assert_cmpstr (kiln_tensor_cache_get_path (second, 5), ==, f->paths->pdata[5]);

  /* No temporary file is left beside the cache. */
  g_autofree char *cache_dir = g_path_get_dirname (f->cache_path);
  g_autoptr(GDir) dir = g_dir_open (cache_dir, 0, NULL);
  const char *name;
  guint n_files = 0;
  while ((name = g_dir_read_name (dir)))
    n_files++;
  g_assert_cmpuint (n_files, ==, 1);
}

static void
test_stale_temporary_removed (Fixture *f, gconstpointer data)
{
  /* What a build killed half-way leaves behind. */
  g_autofree char *cache_dir = g_path_get_dirname (f->cache_path);
  g_assert_cmpint (g_mkdir_with_parents (cache_dir, 0755), ==, 0);
  g_autofree char *stale = g_strdup_printf ("%s.tmp-AbC123", f->cache_path);
  g_assert_true (g_file_set_contents (stale, "half a cache", -1, NULL));

  g_autoptr(KilnTensorCache) cache = build (f, N_IMAGES);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
}

static void
test_damaged_cache_is_an_error (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnTensorCache) cache = build (f, N_IMAGES);
  g_clear_pointer (&cache, kiln_tensor_cache_free);

  /* Cut the file short: the header promises samples that are not there. */
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (f->cache_path, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (f->cache_path, contents, length / 2, NULL));
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnTensorCache) damaged = kiln_tensor_cache_open (f->cache_path, &error);
  g_assert_null (damaged);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, f->cache_path));

  /* A damaged cache is simply rebuilt. */
  g_autoptr(KilnTensorCache) rebuilt = build (f, N_IMAGES);
  g_assert_cmpuint (kiln_tensor_cache_get_n_decoded (rebuilt), ==, N_IMAGES);

  g_assert_true (g_file_set_contents (f->cache_path, "KILNTC", 6, NULL));
  g_clear_error (&error);
  g_assert_null (kiln_tensor_cache_open (f->cache_path, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
}

static void
test_plain_batches_are_exact (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnTensorCache) cache = build (f, N_IMAGES);
  guint indices[N_IMAGES];
  int labels[N_IMAGES];
  for (guint i = 0; i < N_IMAGES; i++)
    indices[i] = i, labels[i] = i % 4;
  KilnBatchLoaderOptions options = { .batch_size = 16, .seed = 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBatchLoader) loader = kiln_batch_loader_new (cache, indices, labels, N_IMAGES, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_batch_loader_get_batches_per_epoch (loader), ==, 4);

  guint seen = 0;
  for (guint b = 0; b < 4; b++)
    {
      const int *batch_labels;
      const guint *sources;
      guint n;
      const float *batch = kiln_batch_loader_next (loader, &batch_labels, &sources, &n, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (n, ==, b < 3 ? 16 : 2);
      for (guint i = 0; i < n; i++)
        {
          guint entry = seen + i;
          g_assert_cmpuint (sources[i], ==, entry);
          g_assert_cmpint (batch_labels[i], ==, entry % 4);
          const guint8 *pixels = kiln_tensor_cache_get (cache, entry);
          for (guint k = 0; k < C * H * W; k++)
            g_assert_cmpfloat (batch[i * C * H * W + k], ==, pixels[k]);
        }
      seen += n;
    }
  g_assert_cmpuint (seen, ==, N_IMAGES);
}

static void
test_mean_scale_and_crop (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnTensorCache) cache = build (f, 4);
  guint indices[] = { 0, 1, 2, 3 };
  int labels[] = { 0, 1, 0, 1 };
  g_autofree float *mean = g_new (float, C * H * W);
  for (guint k = 0; k < C * H * W; k++)
    mean[k] = k * 0.25f;
  KilnBatchLoaderOptions options = { .batch_size = 4, .crop_height = 6, .crop_width = 6,
                                     .mean = mean, .scale = 0.5f };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBatchLoader) loader = kiln_batch_loader_new (cache, indices, labels, 4, &options, &error);
  g_assert_no_error (error);
  guint n;
  const float *batch = kiln_batch_loader_next (loader, NULL, NULL, &n, &error);
  g_assert_no_error (error);

  /* Centre crop: offset (1, 2) in an 8×10 image; mean taken at the same place. */
  const guint8 *pixels = kiln_tensor_cache_get (cache, 2);
  for (int c = 0; c < C; c++)
    for (int y = 0; y < 6; y++)
      for (int x = 0; x < 6; x++)
        {
          int k = (c * H + y + 1) * W + x + 2;
          float expected = (pixels[k] - mean[k]) * 0.5f;
          g_assert_cmpfloat (batch[2 * C * 36 + (c * 6 + y) * 6 + x], ==, expected);
        }

  /* A crop larger than the cache is refused with the sizes. */
  KilnBatchLoaderOptions too_big = { .batch_size = 2, .crop_height = 9, .crop_width = 9 };
  g_autoptr(GError) crop_error = NULL;
  g_assert_null (kiln_batch_loader_new (cache, indices, labels, 4, &too_big, &crop_error));
  g_assert_error (crop_error, KILN_ERROR, KILN_ERROR_SHAPE);
}

static GBytes *
run_batches (KilnTensorCache *cache, const guint *indices, const int *labels, guint threads,
             guint64 start, guint count)
{
  KilnBatchLoaderOptions options = { .batch_size = 8, .crop_height = 6, .crop_width = 7, .random_crop = TRUE,
                                     .mirror = TRUE, .shuffle = TRUE, .drop_last = TRUE, .seed = 1234,
                                     .n_threads = threads, .prefetch = threads * 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBatchLoader) loader = kiln_batch_loader_new (cache, indices, labels, N_IMAGES, &options, &error);
  g_assert_no_error (error);
  GByteArray *all = g_byte_array_new ();
  kiln_batch_loader_seek (loader, start);
  for (guint b = 0; b < count; b++)
    {
      const guint *sources;
      guint n;
      const float *batch = kiln_batch_loader_next (loader, NULL, &sources, &n, &error);
      g_assert_no_error (error);
      g_byte_array_append (all, (const guint8 *) batch, n * C * 6 * 7 * sizeof (float));
      g_byte_array_append (all, (const guint8 *) sources, n * sizeof (guint));
    }
  return g_byte_array_free_to_bytes (all);
}

static void
test_deterministic_across_threads_and_seek (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnTensorCache) cache = build (f, N_IMAGES);
  guint indices[N_IMAGES];
  int labels[N_IMAGES] = { 0 };
  for (guint i = 0; i < N_IMAGES; i++)
    indices[i] = i;

  /* 6 batches per epoch (drop_last): 18 batches span three epochs. */
  g_autoptr(GBytes) one_thread = run_batches (cache, indices, labels, 1, 0, 18);
  g_autoptr(GBytes) four_threads = run_batches (cache, indices, labels, 4, 0, 18);
  g_assert_true (g_bytes_equal (one_thread, four_threads));

  /* Seeking to batch 7 (as a resume does) gives the same batches 7.. */
  g_autoptr(GBytes) resumed = run_batches (cache, indices, labels, 2, 7, 11);
  gsize batch_bytes = 8 * C * 6 * 7 * sizeof (float) + 8 * sizeof (guint);
  g_autoptr(GBytes) tail = g_bytes_new_from_bytes (one_thread, 7 * batch_bytes, 11 * batch_bytes);
  g_assert_true (g_bytes_equal (resumed, tail));
}

static void
test_epochs_are_permutations (Fixture *f, gconstpointer data)
{
  g_autoptr(KilnTensorCache) cache = build (f, N_IMAGES);
  guint indices[N_IMAGES];
  int labels[N_IMAGES] = { 0 };
  for (guint i = 0; i < N_IMAGES; i++)
    indices[i] = i;
  KilnBatchLoaderOptions options = { .batch_size = 7, .shuffle = TRUE, .seed = 99, .n_threads = 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBatchLoader) loader = kiln_batch_loader_new (cache, indices, labels, N_IMAGES, &options, &error);
  guint first_order[N_IMAGES];

  for (guint epoch = 0; epoch < 3; epoch++)
    {
      guint count[N_IMAGES] = { 0 };
      guint pos = 0;
      gboolean differs = FALSE;
      for (guint b = 0; b < kiln_batch_loader_get_batches_per_epoch (loader); b++)
        {
          const guint *sources;
          guint n;
          g_assert_nonnull (kiln_batch_loader_next (loader, NULL, &sources, &n, &error));
          for (guint i = 0; i < n; i++, pos++)
            {
              count[sources[i]]++;
              if (epoch == 0)
                first_order[pos] = sources[i];
              else if (first_order[pos] != sources[i])
                differs = TRUE;
            }
        }
      g_assert_cmpuint (pos, ==, N_IMAGES);
      for (guint i = 0; i < N_IMAGES; i++)
        g_assert_cmpuint (count[i], ==, 1);
      if (epoch > 0)
        g_assert_true (differs);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/cache/rebuilds-only-changed", Fixture, NULL, fixture_setup, test_cache_rebuilds_only_changed, fixture_teardown);
  g_test_add ("/cache/stale-temporary-removed", Fixture, NULL, fixture_setup, test_stale_temporary_removed, fixture_teardown);
  g_test_add ("/cache/damaged", Fixture, NULL, fixture_setup, test_damaged_cache_is_an_error, fixture_teardown);
  g_test_add ("/loader/plain-batches-exact", Fixture, NULL, fixture_setup, test_plain_batches_are_exact, fixture_teardown);
  g_test_add ("/loader/mean-scale-crop", Fixture, NULL, fixture_setup, test_mean_scale_and_crop, fixture_teardown);
  g_test_add ("/loader/deterministic", Fixture, NULL, fixture_setup, test_deterministic_across_threads_and_seek, fixture_teardown);
  g_test_add ("/loader/epochs-are-permutations", Fixture, NULL, fixture_setup, test_epochs_are_permutations, fixture_teardown);
  return g_test_run ();
}
