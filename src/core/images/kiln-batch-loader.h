/* kiln-batch-loader.h: mini-batches from a tensor cache, prepared ahead.
 *
 * Turns cached uint8 images into contiguous float32 N×C×H×W batches (crop,
 * mirror, mean subtraction, scale) on a thread pool, a few batches ahead of
 * the trainer, so the engine never waits for data. The stream is endless:
 * global batch g is batch g mod B of epoch g / B (B batches per epoch).
 * What a batch holds depends only on the seed, the epoch and the position —
 * never on thread timing — so a resumed run sees exactly the data an
 * uninterrupted one would have.
 *
 * Threads: one consumer thread calls next/seek; the pool is private. */
#pragma once

#include "kiln-tensor-cache.h"

G_BEGIN_DECLS

typedef struct {
  guint batch_size;
  int crop_height, crop_width;  /* 0: the cache's size */
  gboolean random_crop;         /* else the centre crop */
  gboolean mirror;              /* random horizontal flips */
  gboolean shuffle;             /* a new seeded order every epoch */
  gboolean drop_last;           /* leave out the last partial batch */
  const float *mean;            /* C×H×W at the cache's size, or NULL */
  float scale;                  /* applied after the mean: (x − mean) · scale; 0 = 1 */
  guint64 seed;
  guint n_threads;              /* 0: the number of processors */
  guint prefetch;               /* batches prepared ahead; 0: 2 × threads, at most 4 */
  /* Data-parallel training: with @shard_count > 1 every batch is shard
   * @shard_index's slice (batch_size / shard_count images) of global
   * batch g; needs drop_last and a batch size the count divides. */
  guint shard_index, shard_count;
} KilnBatchLoaderOptions;

typedef struct _KilnBatchLoader KilnBatchLoader;

/* @indices: which cache entries form the dataset, @labels: their classes
 * (both @n long, copied). */
KilnBatchLoader *kiln_batch_loader_new     (KilnTensorCache              *cache,
                                            const guint                  *indices,
                                            const int                    *labels,
                                            guint                         n,
                                            const KilnBatchLoaderOptions *options,
                                            GError                      **error);
/* The same over features computed once (the outputs of a net's frozen
 * layers): @features holds @n_entries samples of C×H×W floats and must
 * outlive the loader; batches copy them as they are (no crop, mirror or
 * mean), in the same seeded order. */
KilnBatchLoader *kiln_batch_loader_new_for_features (const float                  *features,
                                                     guint                         n_entries,
                                                     int                           channels,
                                                     int                           height,
                                                     int                           width,
                                                     const guint                  *indices,
                                                     const int                    *labels,
                                                     guint                         n,
                                                     const KilnBatchLoaderOptions *options,
                                                     GError                      **error);
void             kiln_batch_loader_free    (KilnBatchLoader *self);

guint            kiln_batch_loader_get_batches_per_epoch (KilnBatchLoader *self);
/* The next batch to be returned, as a global batch number. */
guint64          kiln_batch_loader_get_position (KilnBatchLoader *self);
/* Continue from global batch @position (for resume). */
void             kiln_batch_loader_seek    (KilnBatchLoader *self,
                                            guint64          position);

/* The next batch: float data N×C×H×W, @labels and @n (the last batch of an
 * epoch may be smaller), and which cache entries it holds (@sources).
 * Valid until the next call. Blocks until the batch is ready. */
const float     *kiln_batch_loader_next    (KilnBatchLoader *self,
                                            const int      **labels,
                                            const guint    **sources,
                                            guint           *n,
                                            GError         **error);

/* The conversion every batch applies, for one image: the @crop_h × @crop_w
 * window at (@oy, @ox) of a cached C×H×W image, mirrored when @flip, minus
 * @mean (C×H×W at the cached size, taken at the same place; may be NULL),
 * times @scale. Inference (KilnClassifier) uses it so that a model sees
 * exactly what it was trained on. */
void kiln_batch_loader_convert_sample (const guint8 *pixels,
                                       int           channels,
                                       int           height,
                                       int           width,
                                       int           crop_h,
                                       int           crop_w,
                                       int           oy,
                                       int           ox,
                                       gboolean      flip,
                                       const float  *mean,
                                       float         scale,
                                       float        *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnBatchLoader, kiln_batch_loader_free)

G_END_DECLS
