/* The decode-once tensor cache (exact tensors, reuse of unchanged images,
 * rebuild on a new spec, a broken image marked invalid) and the batch
 * loader (every item once per epoch, reproducible from the seed, crops
 * that are windows of the cached tensor, exact float conversion). */
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

#define W 10
#define H 8

/* Random RGB images of W × H (so the spec below converts them exactly). */
static void
write_image (const char *dir,
             const char *name,
             guint       seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, W, H);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < H; y++)
    for (int x = 0; x < 3 * W; x++)
      pixels[y * stride + x] = (guint8) g_rand_int_range (rand, 0, 256);
  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);
}

static KilnLabelSet *
make_set (const char *dir,
          guint       n)
{
  KilnLabelSet *set = kiln_label_set_new ();

  g_ptr_array_add (set->classes, g_strdup ("a"));
  g_ptr_array_add (set->classes, g_strdup ("b"));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("img %02u.png", i);
      write_image (dir, name, i + 1);
      kiln_label_set_add (set, name, i % 2);
    }
  return set;
}

static void
assert_tensor_matches_file (KilnTensorCache     *cache,
                            guint                index,
                            const char          *dir,
                            const char          *name,
                            const KilnImageSpec *spec)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree guint8 *expected = g_malloc (kiln_image_spec_size (spec));
  g_autoptr(GError) error = NULL;

  kiln_image_load_u8 (path, spec, expected, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (kiln_tensor_cache_is_valid (cache, index));
  g_assert_cmpmem (kiln_tensor_cache_get (cache, index), kiln_image_spec_size (spec),
                   expected, kiln_image_spec_size (spec));
}

static void
test_cache (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-cache-XXXXXX", &error);
  g_autoptr(KilnLabelSet) set = make_set (dir, 12);
  g_autofree char *cache_path = g_build_filename (dir, "cache.bin", NULL);
  KilnImageSpec spec = { W, H, KILN_CHANNELS_RGB, KILN_RESIZE_SQUASH, 0 };
  guint decoded = 0;

  /* A broken file joins the set. */
  g_autofree char *broken = g_build_filename (dir, "broken.png", NULL);
  g_file_set_contents (broken, "not a png", -1, &error);
  kiln_label_set_add (set, "broken.png", 0);

  {
    g_autoptr(KilnTensorCache) cache = kiln_tensor_cache_update (cache_path, dir, set, &spec, 2,
                                                                 NULL, NULL, NULL, &decoded, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (decoded, ==, 13);
    g_assert_cmpuint (kiln_tensor_cache_get_n (cache), ==, 13);
    for (guint i = 0; i < 12; i++)
      assert_tensor_matches_file (cache, i, dir, set->paths->pdata[i], &spec);
    g_assert_false (kiln_tensor_cache_is_valid (cache, 12));
  }

  /* Nothing changed: nothing decoded, same tensors. */
  {
    g_autoptr(KilnTensorCache) cache = kiln_tensor_cache_update (cache_path, dir, set, &spec, 2,
                                                                 NULL, NULL, NULL, &decoded, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (decoded, ==, 0);
    for (guint i = 0; i < 12; i++)
      assert_tensor_matches_file (cache, i, dir, set->paths->pdata[i], &spec);
    g_assert_false (kiln_tensor_cache_is_valid (cache, 12));
  }

  /* One image changes and the order changes: only that one is decoded,
   * the others move to their new slots. */
  write_image (dir, "img 03.png", 999);
  {
    g_autoptr(KilnLabelSet) reversed = kiln_label_set_new ();

    for (guint i = 12; i-- > 0;)
      kiln_label_set_add (reversed, set->paths->pdata[i], 0);
    g_autoptr(KilnTensorCache) cache = kiln_tensor_cache_update (cache_path, dir, reversed, &spec,
                                                                 2, NULL, NULL, NULL, &decoded,
                                                                 &error);
    g_assert_no_error (error);
    g_assert_cmpuint (decoded, ==, 1);
    for (guint i = 0; i < 12; i++)
      assert_tensor_matches_file (cache, i, dir, reversed->paths->pdata[i], &spec);
  }

  /* Another spec: everything again. */
  {
    KilnImageSpec gray = { 5, 4, KILN_CHANNELS_GRAY, KILN_RESIZE_CROP_CENTER, 0 };
    g_autoptr(KilnTensorCache) cache = kiln_tensor_cache_update (cache_path, dir, set, &gray, 2,
                                                                 NULL, NULL, NULL, &decoded, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (decoded, ==, 13);
    assert_tensor_matches_file (cache, 3, dir, set->paths->pdata[3], &gray);
  }

  /* An index that does not belong to the data is not trusted. */
  g_autofree char *index_path = g_strconcat (cache_path, ".index", NULL);
  g_file_set_contents (index_path, "# kiln-tensor-cache 1\n", -1, &error);
  {
    KilnImageSpec gray = { 5, 4, KILN_CHANNELS_GRAY, KILN_RESIZE_CROP_CENTER, 0 };
    g_autoptr(KilnTensorCache) cache = kiln_tensor_cache_update (cache_path, dir, set, &gray, 1,
                                                                 NULL, NULL, NULL, &decoded, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (decoded, ==, 13);
  }
  kiln_test_remove_tree (dir);
}

typedef struct {
  char            *dir;
  KilnLabelSet    *set;
  KilnTensorCache *cache;
  guint            items[12];
  int              labels[12];
} LoaderFixture;

static void
loader_setup (LoaderFixture *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cache_path = NULL;
  KilnImageSpec spec = { W, H, KILN_CHANNELS_RGB, KILN_RESIZE_SQUASH, 0 };

  f->dir = g_dir_make_tmp ("kiln-loader-XXXXXX", &error);
  f->set = make_set (f->dir, 12);
  cache_path = g_build_filename (f->dir, "cache.bin", NULL);
  f->cache = kiln_tensor_cache_update (cache_path, f->dir, f->set, &spec, 2, NULL, NULL, NULL,
                                       NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 12; i++)
    {
      f->items[i] = i;
      f->labels[i] = 100 + (int) i;
    }
}

static void
loader_teardown (LoaderFixture *f,
                 gconstpointer  data)
{
  kiln_tensor_cache_free (f->cache);
  kiln_label_set_free (f->set);
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
}

/* Two epochs of batches of 5 (5, 5, 2): each item once per epoch. */
static void
test_epochs (LoaderFixture *f,
             gconstpointer  data)
{
  KilnBatchLoaderOptions options = { .batch_size = 5, .shuffle = TRUE, .seed = 7, .prefetch = 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBatchLoader) loader = kiln_batch_loader_new (f->cache, f->items, f->labels, 12,
                                                             &options, &error);
  gsize sample = 3 * W * H;
  guint orders[2][12];

  g_assert_no_error (error);
  g_assert_cmpuint (kiln_batch_loader_get_batches_per_epoch (loader), ==, 3);
  for (guint e = 0; e < 2; e++)
    {
      gboolean seen[12] = { FALSE };
      guint k = 0;

      for (guint b = 0; b < 3; b++)
        {
          const int *labels;
          guint n, epoch;
          const float *batch = kiln_batch_loader_next (loader, &labels, &n, &epoch);

          g_assert_cmpuint (epoch, ==, e);
          g_assert_cmpuint (n, ==, b < 2 ? 5 : 2);
          for (guint s = 0; s < n; s++)
            {
              guint item = (guint) (labels[s] - 100);
              const guint8 *tensor = kiln_tensor_cache_get (f->cache, item);

              g_assert_cmpuint (item, <, 12);
              g_assert_false (seen[item]);
              seen[item] = TRUE;
              orders[e][k++] = item;
              /* No crop, no mirror, no mean: the values themselves. */
              for (gsize i = 0; i < sample; i++)
                g_assert_cmpfloat (batch[s * sample + i], ==, (float) tensor[i]);
            }
        }
      g_assert_cmpuint (k, ==, 12);
    }
  /* A new order each epoch. */
  g_assert_true (memcmp (orders[0], orders[1], sizeof orders[0]) != 0);
}

static void
collect (KilnTensorCache *cache,
         const guint     *items,
         const int       *labels,
         guint64          seed,
         float           *out,
         int             *out_labels)
{
  float mean[3 * 6 * 5];
  KilnBatchLoaderOptions options = { .batch_size = 4, .crop_width = 6, .crop_height = 5,
                                     .mirror = TRUE, .shuffle = TRUE, .seed = seed,
                                     .mean = mean, .scale = 0.5f, .n_threads = 3 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBatchLoader) loader = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (mean); i++)
    mean[i] = (float) i;
  loader = kiln_batch_loader_new (cache, items, labels, 12, &options, &error);
  g_assert_no_error (error);
  for (guint b = 0; b < 6; b++)
    {
      const int *l;
      guint n;
      const float *batch = kiln_batch_loader_next (loader, &l, &n, NULL);

      memcpy (out + b * 4 * 90, batch, n * 90 * sizeof (float));
      memcpy (out_labels + b * 4, l, n * sizeof (int));
    }
}

/* Crops and mirrors: reproducible from the seed, and each sample is a
 * window of its cached tensor, converted exactly. */
static void
test_augmentation (LoaderFixture *f,
                   gconstpointer  data)
{
  g_autofree float *a = g_new (float, 24 * 90);
  g_autofree float *b = g_new (float, 24 * 90);
  g_autofree float *c = g_new (float, 24 * 90);
  int la[24], lb[24], lc[24];
  guint flipped = 0;

  collect (f->cache, f->items, f->labels, 42, a, la);
  collect (f->cache, f->items, f->labels, 42, b, lb);
  collect (f->cache, f->items, f->labels, 43, c, lc);
  g_assert_cmpmem (a, 24 * 90 * sizeof (float), b, 24 * 90 * sizeof (float));
  g_assert_cmpmem (la, sizeof la, lb, sizeof lb);
  g_assert_true (memcmp (a, c, 24 * 90 * sizeof (float)) != 0);

  for (guint s = 0; s < 24; s++)
    {
      const guint8 *src = kiln_tensor_cache_get (f->cache, (guint) (la[s] - 100));
      const float *out = a + s * 90;
      gboolean found = FALSE;

      /* Search every window position and both directions. */
      for (int y0 = 0; y0 <= H - 5 && !found; y0++)
        for (int x0 = 0; x0 <= W - 6 && !found; x0++)
          for (int flip = 0; flip < 2 && !found; flip++)
            {
              gboolean same = TRUE;

              for (int ch = 0; ch < 3 && same; ch++)
                for (int y = 0; y < 5 && same; y++)
                  for (int x = 0; x < 6 && same; x++)
                    {
                      int i = (ch * 5 + y) * 6 + x;
                      float v = src[(ch * H + y0 + y) * W + x0 + (flip ? 5 - x : x)];
                      same = out[i] == (v - (float) i) * 0.5f;
                    }
              if (same)
                {
                  found = TRUE;
                  flipped += flip;
                }
            }
      g_assert_true (found);
    }
  /* Mirroring happened, but not always. */
  g_assert_cmpuint (flipped, >, 0);
  g_assert_cmpuint (flipped, <, 24);
}

static void
test_refusals (LoaderFixture *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  KilnBatchLoaderOptions too_big = { .batch_size = 2, .crop_width = W + 1, .crop_height = H };
  KilnBatchLoaderOptions ok = { .batch_size = 2 };
  guint bad_item[1] = { 99 };
  int label[1] = { 0 };

  g_assert_null (kiln_batch_loader_new (f->cache, f->items, f->labels, 12, &too_big, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_null (kiln_batch_loader_new (f->cache, bad_item, label, 1, &ok, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/batch/cache", test_cache);
  g_test_add ("/batch/epochs", LoaderFixture, NULL, loader_setup, test_epochs, loader_teardown);
  g_test_add ("/batch/augmentation", LoaderFixture, NULL, loader_setup, test_augmentation,
              loader_teardown);
  g_test_add ("/batch/refusals", LoaderFixture, NULL, loader_setup, test_refusals, loader_teardown);
  return g_test_run ();
}
