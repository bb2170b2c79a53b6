#include "config.h"

#include <string.h>

#include "kiln-batch-loader.h"
#include "kiln-error.h"

typedef struct {
  float   *data;
  int     *labels;
  guint    n;
  guint    epoch;
  guint64  batch;
  gboolean ready;
} Slot;

struct _KilnBatchLoader
{
  KilnTensorCache        *cache;
  KilnBatchLoaderOptions  options;
  guint                  *items;
  int                    *labels;
  guint                   n;
  float                  *mean;
  int                     channels;
  int                     src_width, src_height;
  int                     width, height;
  guint                   per_epoch;

  GThreadPool            *pool;
  GMutex                  mutex;
  GCond                   cond;
  Slot                   *slots;
  guint                   n_slots;
  guint64                 next_to_schedule;
  guint64                 next_to_return;
  GHashTable             *orders;       /* epoch → guint permutation */
};

static GRand *
rand_for (guint64 seed,
          guint   epoch,
          guint   position)
{
  guint32 words[4] = { (guint32) seed, (guint32) (seed >> 32), epoch, position };

  return g_rand_new_with_seed_array (words, 4);
}

/* The item order of @epoch; computed once, kept while batches need it.
 * Called with the mutex held. */
static const guint *
order_for (KilnBatchLoader *loader,
           guint            epoch)
{
  guint *order = g_hash_table_lookup (loader->orders, GUINT_TO_POINTER (epoch + 1));

  if (order != NULL)
    return order;
  order = g_new (guint, MAX (loader->n, 1));
  for (guint i = 0; i < loader->n; i++)
    order[i] = i;
  if (loader->options.shuffle && loader->n > 1)
    {
      g_autoptr(GRand) rand = rand_for (loader->options.seed, epoch, G_MAXUINT32);

      for (guint i = loader->n - 1; i > 0; i--)
        {
          guint j = (guint) g_rand_int_range (rand, 0, (gint32) i + 1);
          guint t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
    }
  g_hash_table_insert (loader->orders, GUINT_TO_POINTER (epoch + 1), order);
  return order;
}

static void
fill_batch (gpointer data,
            gpointer user_data)
{
  KilnBatchLoader *loader = user_data;
  guint64 batch = GPOINTER_TO_SIZE (data) - 1;
  Slot *slot = &loader->slots[batch % loader->n_slots];
  guint epoch = (guint) (batch / loader->per_epoch);
  guint first = (guint) (batch % loader->per_epoch) * loader->options.batch_size;
  guint count = MIN (loader->options.batch_size, loader->n - first);
  gsize plane = (gsize) loader->width * loader->height;
  gsize sample = plane * loader->channels;
  const guint *order;

  g_mutex_lock (&loader->mutex);
  order = order_for (loader, epoch);
  g_mutex_unlock (&loader->mutex);

  for (guint s = 0; s < count; s++)
    {
      guint position = first + s;
      guint item = order[position];
      const guint8 *src = kiln_tensor_cache_get (loader->cache, loader->items[item]);
      g_autoptr(GRand) rand = rand_for (loader->options.seed, epoch, position);
      int x0 = g_rand_int_range (rand, 0, loader->src_width - loader->width + 1);
      int y0 = g_rand_int_range (rand, 0, loader->src_height - loader->height + 1);
      gboolean flip = g_rand_boolean (rand) && loader->options.mirror;
      float *out = slot->data + s * sample;

      for (int c = 0; c < loader->channels; c++)
        for (int y = 0; y < loader->height; y++)
          {
            const guint8 *row = src + ((gsize) c * loader->src_height + y0 + y) * loader->src_width + x0;
            float *o = out + c * plane + (gsize) y * loader->width;
            const float *m = loader->mean ? loader->mean + c * plane + (gsize) y * loader->width : NULL;

            for (int x = 0; x < loader->width; x++)
              {
                float v = row[flip ? loader->width - 1 - x : x];
                o[x] = (m ? v - m[x] : v) * loader->options.scale;
              }
          }
      slot->labels[s] = loader->labels[item];
    }

  g_mutex_lock (&loader->mutex);
  slot->n = count;
  slot->epoch = epoch;
  slot->batch = batch;
  slot->ready = TRUE;
  g_cond_broadcast (&loader->cond);
  g_mutex_unlock (&loader->mutex);
}

/* Called with the mutex held. */
static void
schedule (KilnBatchLoader *loader)
{
  guint64 batch = loader->next_to_schedule++;

  loader->slots[batch % loader->n_slots].ready = FALSE;
  g_thread_pool_push (loader->pool, GSIZE_TO_POINTER (batch + 1), NULL);
}

KilnBatchLoader *
kiln_batch_loader_new (KilnTensorCache              *cache,
                       const guint                  *items,
                       const int                    *labels,
                       guint                         n,
                       const KilnBatchLoaderOptions *options,
                       GError                      **error)
{
  const KilnImageSpec *spec = kiln_tensor_cache_get_spec (cache);
  KilnBatchLoader *loader;
  gsize sample;

  g_return_val_if_fail (cache != NULL && options != NULL, NULL);
  g_return_val_if_fail (n == 0 || (items != NULL && labels != NULL), NULL);

  if (n == 0 || options->batch_size == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "A batch loader needs items and a batch size (got %u items, batches of %u)",
                   n, options->batch_size);
      return NULL;
    }
  if (options->crop_width > spec->width || options->crop_height > spec->height
      || options->crop_width < 0 || options->crop_height < 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "A %d × %d crop does not fit the cached %d × %d images; cache them larger",
                   options->crop_width, options->crop_height, spec->width, spec->height);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    if (items[i] >= kiln_tensor_cache_get_n (cache) || !kiln_tensor_cache_is_valid (cache, items[i]))
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                     "Cache entry %u is missing or could not be decoded; leave it out of the batches",
                     items[i]);
        return NULL;
      }

  loader = g_new0 (KilnBatchLoader, 1);
  loader->cache = cache;
  loader->options = *options;
  if (loader->options.scale == 0.0f)
    loader->options.scale = 1.0f;
  if (loader->options.prefetch == 0)
    loader->options.prefetch = 4;
  loader->items = g_memdup2 (items, sizeof (guint) * n);
  loader->labels = g_memdup2 (labels, sizeof (int) * n);
  loader->n = n;
  loader->channels = spec->channels;
  loader->src_width = spec->width;
  loader->src_height = spec->height;
  loader->width = options->crop_width ? options->crop_width : spec->width;
  loader->height = options->crop_height ? options->crop_height : spec->height;
  loader->per_epoch = (n + options->batch_size - 1) / options->batch_size;
  sample = (gsize) loader->channels * loader->width * loader->height;
  if (options->mean != NULL)
    loader->mean = g_memdup2 (options->mean, sizeof (float) * sample);
  loader->options.mean = NULL;

  g_mutex_init (&loader->mutex);
  g_cond_init (&loader->cond);
  loader->orders = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  loader->n_slots = loader->options.prefetch + 1;
  loader->slots = g_new0 (Slot, loader->n_slots);
  for (guint i = 0; i < loader->n_slots; i++)
    {
      /* 64-byte aligned and contiguous, ready to copy or pin. */
      loader->slots[i].data = g_aligned_alloc (sample * options->batch_size, sizeof (float), 64);
      loader->slots[i].labels = g_new0 (int, options->batch_size);
    }
  loader->pool = g_thread_pool_new (fill_batch, loader,
                                    (int) (options->n_threads ? options->n_threads
                                                              : g_get_num_processors ()),
                                    FALSE, NULL);
  g_mutex_lock (&loader->mutex);
  for (guint i = 0; i < loader->options.prefetch; i++)
    schedule (loader);
  g_mutex_unlock (&loader->mutex);
  return loader;
}

guint
kiln_batch_loader_get_batches_per_epoch (KilnBatchLoader *loader)
{
  return loader->per_epoch;
}

const float *
kiln_batch_loader_next (KilnBatchLoader  *loader,
                        const int       **labels,
                        guint            *n_samples,
                        guint            *epoch)
{
  Slot *slot;
  guint64 batch;

  g_mutex_lock (&loader->mutex);
  /* One more batch ahead: into the slot returned last time, which the
   * caller has finished with (on the first call, the spare slot). */
  schedule (loader);
  batch = loader->next_to_return++;
  slot = &loader->slots[batch % loader->n_slots];
  while (!(slot->ready && slot->batch == batch))
    g_cond_wait (&loader->cond, &loader->mutex);
  /* Orders of finished epochs are no longer needed. */
  if (slot->epoch > 0)
    g_hash_table_remove (loader->orders, GUINT_TO_POINTER (slot->epoch));
  g_mutex_unlock (&loader->mutex);

  if (labels != NULL)
    *labels = slot->labels;
  if (n_samples != NULL)
    *n_samples = slot->n;
  if (epoch != NULL)
    *epoch = slot->epoch;
  return slot->data;
}

void
kiln_batch_loader_free (KilnBatchLoader *loader)
{
  if (loader == NULL)
    return;
  /* Let the queued batches finish; nothing reads them. */
  g_thread_pool_free (loader->pool, FALSE, TRUE);
  for (guint i = 0; i < loader->n_slots; i++)
    {
      g_aligned_free (loader->slots[i].data);
      g_free (loader->slots[i].labels);
    }
  g_free (loader->slots);
  g_hash_table_unref (loader->orders);
  g_mutex_clear (&loader->mutex);
  g_cond_clear (&loader->cond);
  g_free (loader->items);
  g_free (loader->labels);
  g_free (loader->mean);
  g_free (loader);
}
