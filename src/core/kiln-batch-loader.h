/* kiln-batch-loader.h: mini-batches from a tensor cache, prepared ahead.
 *
 * Each epoch visits every item once, in an order shuffled from the seed
 * and the epoch number. Each sample is cropped (at random when the crop is
 * smaller than the cached size, else whole), mirrored half of the time
 * when asked, and converted to float32 ((value − mean) × scale) into one
 * contiguous N × C × H × W batch. Randomness comes from (seed, epoch,
 * position), so a batch is the same whatever thread prepared it and the
 * same after a restart.
 *
 * Worker threads prepare up to `prefetch` batches ahead of the consumer.
 *
 * Threads: one consumer thread calls kiln_batch_loader_next(); the loader
 * uses its own worker threads. */
#pragma once

#include <glib.h>

#include "kiln-tensor-cache.h"

G_BEGIN_DECLS

typedef struct {
  guint        batch_size;
  int          crop_width;    /* 0: the cached width */
  int          crop_height;   /* 0: the cached height */
  gboolean     mirror;        /* flip left-right half of the time */
  gboolean     shuffle;       /* FALSE: items in the given order */
  guint64      seed;
  const float *mean;          /* C × crop H × crop W, or NULL; copied */
  float        scale;         /* 0: 1 */
  guint        prefetch;      /* batches prepared ahead; 0: 4 */
  guint        n_threads;     /* 0: one per processor */
} KilnBatchLoaderOptions;

typedef struct _KilnBatchLoader KilnBatchLoader;

/* Batches over the @n cache @items (indices into @cache) with their
 * @labels; both arrays are copied. Invalid cache entries are refused. */
KilnBatchLoader *kiln_batch_loader_new  (KilnTensorCache              *cache,
                                         const guint                  *items,
                                         const int                    *labels,
                                         guint                         n,
                                         const KilnBatchLoaderOptions *options,
                                         GError                      **error);
void             kiln_batch_loader_free (KilnBatchLoader              *loader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnBatchLoader, kiln_batch_loader_free)

guint            kiln_batch_loader_get_batches_per_epoch (KilnBatchLoader *loader);

/* Waits for the next batch and returns its data (@n_samples × C × H × W
 * floats) and @labels, valid until the next call. The last batch of an
 * epoch may be smaller. @epoch receives the batch's epoch (from 0). */
const float     *kiln_batch_loader_next (KilnBatchLoader  *loader,
                                         const int       **labels,
                                         guint            *n_samples,
                                         guint            *epoch);

G_END_DECLS
