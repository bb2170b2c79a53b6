#include "kiln-batch-loader.h"

#include <string.h>

#include "kiln-error.h"

typedef enum { SLOT_EMPTY, SLOT_FILLING, SLOT_READY } SlotState;

typedef struct {
  SlotState state;
  guint64 batch;         /* global batch number it holds or is filling */
  float *data;
  int *labels;
  guint *sources;
  guint n;
} Slot;

struct _KilnBatchLoader
{
  KilnTensorCache *cache;
  const float *features;   /* instead of a cache: N × C×H×W floats, borrowed */
  guint *indices;
  int *labels;
  guint n;
  KilnBatchLoaderOptions options;
  float *mean;
  int channels, height, width;   /* cache */
  int crop_h, crop_w;
  gsize batch_floats;
  guint local_batch;       /* images a batch holds: the shard's slice */
  guint shard_first;       /* where the slice starts in a global batch */
  guint batches_per_epoch;

  GThreadPool *pool;
  GMutex lock;
  GCond ready;
  Slot *slots;
  guint n_slots;
  guint64 position;      /* next batch to hand out */
  gint in_flight;
  gint last_returned;    /* slot handed out last, -1 if none */

  /* epoch → permutation, computed once per epoch under the lock */
  guint64 order_epoch;
  guint *order;
};

/* splitmix64: small, fast, and good enough to seed per-sample choices. */
static guint64
mix64 (guint64 x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static void
make_order (KilnBatchLoader *self, guint64 epoch, guint *order)
{
  for (guint i = 0; i < self->n; i++)
    order[i] = i;
  if (!self->options.shuffle)
    return;
  guint64 state = mix64 (self->options.seed ^ mix64 (epoch + 1));
  for (guint i = self->n - 1; i > 0; i--)
    {
      state = mix64 (state);
      guint j = (guint) (state % (i + 1));
      guint t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
}

void
kiln_batch_loader_convert_sample (const guint8 *pixels, int channels, int height, int width,
                                  int crop_h, int crop_w, int oy, int ox, gboolean flip,
                                  const float *mean, float scale, float *out)
{
  for (int c = 0; c < channels; c++)
    for (int y = 0; y < crop_h; y++)
      {
        gsize src_row = ((gsize) c * height + (y + oy)) * width + ox;
        const guint8 *src = pixels + src_row;
        const float *m = mean ? mean + src_row : NULL;
        float *dst = out + ((gsize) c * crop_h + y) * crop_w;
        for (int x = 0; x < crop_w; x++)
          {
            int sx = flip ? crop_w - 1 - x : x;
            float v = src[sx] - (m ? m[sx] : 0.0f);
            dst[x] = v * scale;
          }
      }
}

static void
fill_sample (KilnBatchLoader *self, const guint8 *pixels, float *out, guint64 sample_seed)
{
  int oy = (self->height - self->crop_h) / 2, ox = (self->width - self->crop_w) / 2;
  gboolean flip = FALSE;
  float scale = self->options.scale != 0 ? self->options.scale : 1.0f;

  if (self->options.random_crop || self->options.mirror)
    {
      guint64 r = mix64 (sample_seed);
      if (self->options.random_crop)
        {
          oy = (int) (r % (guint64) (self->height - self->crop_h + 1));
          ox = (int) ((r >> 24) % (guint64) (self->width - self->crop_w + 1));
        }
      if (self->options.mirror)
        flip = (r >> 63) != 0;
    }
  kiln_batch_loader_convert_sample (pixels, self->channels, self->height, self->width,
                                    self->crop_h, self->crop_w, oy, ox, flip, self->mean, scale, out);
}

static void
fill_slot (gpointer slot_ptr, gpointer user_data)
{
  KilnBatchLoader *self = user_data;
  Slot *slot = slot_ptr;
  guint64 epoch = slot->batch / self->batches_per_epoch;
  guint b = (guint) (slot->batch % self->batches_per_epoch);
  guint first = b * self->options.batch_size + self->shard_first;
  guint n = MIN (self->local_batch, self->n - MIN (first, self->n));
  gsize sample_floats = (gsize) self->channels * self->crop_h * self->crop_w;
  g_autofree guint *order = NULL;

  g_mutex_lock (&self->lock);
  if (self->order_epoch != epoch)
    {
      make_order (self, epoch, self->order);
      self->order_epoch = epoch;
    }
  /* A private copy of this batch's slice: the epoch may change under us. */
  order = g_memdup2 (self->order + first, n * sizeof (guint));
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < n; i++)
    {
      guint item = order[i];
      guint entry = self->indices[item];
      guint64 sample_seed = self->options.seed ^ mix64 ((epoch << 32) ^ (first + i));
      if (self->features != NULL)
        memcpy (slot->data + i * sample_floats, self->features + (gsize) entry * sample_floats,
                sample_floats * sizeof (float));
      else
        fill_sample (self, kiln_tensor_cache_get (self->cache, entry), slot->data + i * sample_floats, sample_seed);
      slot->labels[i] = self->labels[item];
      slot->sources[i] = entry;
    }

  g_mutex_lock (&self->lock);
  slot->n = n;
  slot->state = SLOT_READY;
  self->in_flight--;
  g_cond_broadcast (&self->ready);
  g_mutex_unlock (&self->lock);
}

/* With the lock held: puts batch @batch into its slot's queue. */
static void
schedule_locked (KilnBatchLoader *self, guint64 batch)
{
  Slot *slot = &self->slots[batch % self->n_slots];
  slot->state = SLOT_FILLING;
  slot->batch = batch;
  self->in_flight++;
  g_thread_pool_push (self->pool, slot, NULL);
}

static void
wait_idle_locked (KilnBatchLoader *self)
{
  while (self->in_flight > 0)
    g_cond_wait (&self->ready, &self->lock);
}

static KilnBatchLoader *
loader_new (KilnTensorCache *cache, const float *features, guint n_entries, int channels, int height, int width,
            const guint *indices, const int *labels, guint n, const KilnBatchLoaderOptions *options, GError **error)
{
  g_autoptr(KilnBatchLoader) self = g_new0 (KilnBatchLoader, 1);

  self->options = *options;
  self->cache = cache;
  self->features = features;
  self->channels = channels;
  self->height = height;
  self->width = width;
  self->crop_h = options->crop_height > 0 ? options->crop_height : self->height;
  self->crop_w = options->crop_width > 0 ? options->crop_width : self->width;
  self->last_returned = -1;
  self->order_epoch = G_MAXUINT64;
  g_mutex_init (&self->lock);
  g_cond_init (&self->ready);

  if (n == 0 || options->batch_size == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "A batch loader needs images and a batch size (got %u images, batch size %u)",
                   n, options->batch_size);
      return NULL;
    }
  if (self->crop_h > self->height || self->crop_w > self->width)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "A %d×%d crop does not fit the cached %d×%d images; rebuild the cache at a larger size",
                   self->crop_h, self->crop_w, self->height, self->width);
      return NULL;
    }
  if (options->shard_count > 1 &&
      (!options->drop_last || options->shard_index >= options->shard_count ||
       options->batch_size % options->shard_count != 0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "A batch of %u does not split into %u equal shards; use a multiple of %u",
                   options->batch_size, options->shard_count, options->shard_count);
      return NULL;
    }
  if (options->drop_last && n < options->batch_size)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%u images do not fill one batch of %u; lower the batch size", n, options->batch_size);
      return NULL;
    }
  if (features != NULL && (self->crop_h != height || self->crop_w != width || options->mean ||
                           options->random_crop || options->mirror))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Cached features are used as they are: no crop, mirror or mean");
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    if (indices[i] >= n_entries)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                     "Image %u of the split points at cache entry %u, but the cache holds %u; rebuild it",
                     i, indices[i], n_entries);
        return NULL;
      }

  self->n = n;
  self->indices = g_memdup2 (indices, n * sizeof (guint));
  self->labels = g_memdup2 (labels, n * sizeof (int));
  self->order = g_new (guint, n);
  if (options->mean)
    self->mean = g_memdup2 (options->mean, (gsize) self->channels * self->height * self->width * sizeof (float));
  self->options.mean = NULL;
  self->batches_per_epoch = options->drop_last ? n / options->batch_size
                                               : (n + options->batch_size - 1) / options->batch_size;
  /* A shard holds its slice of each global batch, drawn at the slice's
   * global positions, so augmentation matches an unsharded run. */
  self->local_batch = options->shard_count > 1 ? options->batch_size / options->shard_count : options->batch_size;
  self->shard_first = options->shard_count > 1 ? options->shard_index * self->local_batch : 0;
  self->batch_floats = (gsize) self->local_batch * self->channels * self->crop_h * self->crop_w;

  guint threads = options->n_threads ? options->n_threads : MAX (1, g_get_num_processors ());
  /* A few batches ahead is enough; more only costs memory (an AlexNet batch
   * of 128 is 79 MB). */
  self->n_slots = MAX (2, options->prefetch ? options->prefetch : MIN (2 * threads, 4));
  self->slots = g_new0 (Slot, self->n_slots);
  for (guint i = 0; i < self->n_slots; i++)
    {
      /* 64-byte aligned rows suit SIMD reorders in the engine. */
      self->slots[i].data = g_aligned_alloc (self->batch_floats, sizeof (float), 64);
      self->slots[i].labels = g_new (int, self->local_batch);
      self->slots[i].sources = g_new (guint, self->local_batch);
    }
  self->pool = g_thread_pool_new (fill_slot, self, threads, FALSE, error);
  if (self->pool == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

KilnBatchLoader *
kiln_batch_loader_new (KilnTensorCache *cache, const guint *indices, const int *labels, guint n,
                       const KilnBatchLoaderOptions *options, GError **error)
{
  int c, h, w;
  kiln_tensor_cache_get_shape (cache, &c, &h, &w);
  return loader_new (cache, NULL, kiln_tensor_cache_get_n (cache), c, h, w, indices, labels, n, options, error);
}

KilnBatchLoader *
kiln_batch_loader_new_for_features (const float *features, guint n_entries, int channels, int height, int width,
                                    const guint *indices, const int *labels, guint n,
                                    const KilnBatchLoaderOptions *options, GError **error)
{
  return loader_new (NULL, features, n_entries, channels, height, width, indices, labels, n, options, error);
}

void
kiln_batch_loader_free (KilnBatchLoader *self)
{
  if (self == NULL)
    return;
  if (self->pool != NULL)
    g_thread_pool_free (self->pool, FALSE, TRUE);
  for (guint i = 0; self->slots && i < self->n_slots; i++)
    {
      g_aligned_free (self->slots[i].data);
      g_free (self->slots[i].labels);
      g_free (self->slots[i].sources);
    }
  g_free (self->slots);
  g_free (self->indices);
  g_free (self->labels);
  g_free (self->order);
  g_free (self->mean);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->ready);
  g_free (self);
}

guint
kiln_batch_loader_get_batches_per_epoch (KilnBatchLoader *self)
{
  return self->batches_per_epoch;
}

guint64
kiln_batch_loader_get_position (KilnBatchLoader *self)
{
  return self->position;
}

void
kiln_batch_loader_seek (KilnBatchLoader *self, guint64 position)
{
  g_mutex_lock (&self->lock);
  wait_idle_locked (self);
  for (guint i = 0; i < self->n_slots; i++)
    self->slots[i].state = SLOT_EMPTY;
  self->last_returned = -1;
  self->position = position;
  g_mutex_unlock (&self->lock);
}

const float *
kiln_batch_loader_next (KilnBatchLoader *self, const int **labels, const guint **sources,
                        guint *n, GError **error)
{
  guint64 want = self->position;
  Slot *slot = &self->slots[want % self->n_slots];

  g_mutex_lock (&self->lock);
  /* The slot handed out last is free again: refill it further ahead. */
  if (self->last_returned >= 0)
    {
      Slot *old = &self->slots[self->last_returned];
      old->state = SLOT_EMPTY;
      self->last_returned = -1;
    }
  for (guint64 b = want; b < want + self->n_slots; b++)
    {
      Slot *s = &self->slots[b % self->n_slots];
      if (s->state == SLOT_EMPTY)
        schedule_locked (self, b);
    }
  while (!(slot->state == SLOT_READY && slot->batch == want))
    {
      if (slot->state != SLOT_FILLING && slot->batch != want)
        {
          g_mutex_unlock (&self->lock);
          g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "batch loader lost batch %" G_GUINT64_FORMAT, want);
          return NULL;
        }
      g_cond_wait (&self->ready, &self->lock);
    }
  self->last_returned = want % self->n_slots;
  self->position = want + 1;
  g_mutex_unlock (&self->lock);

  if (labels)
    *labels = slot->labels;
  if (sources)
    *sources = slot->sources;
  if (n)
    *n = slot->n;
  return slot->data;
}
