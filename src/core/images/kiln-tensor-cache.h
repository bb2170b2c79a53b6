/* kiln-tensor-cache.h: decode once, train many times.
 *
 * Every image of a dataset is decoded and resized once to the training size
 * and stored as uint8 C×H×W in one cache file, which is then memory-mapped:
 * an epoch reads pixels from the page cache instead of decoding JPEGs.
 * Rebuilding reuses every entry whose file is unchanged (same path, size and
 * modification time) and decodes only the rest, on a thread pool. The file
 * is written to a temporary name, synced and renamed, so a killed build never
 * leaves a cache that a later run would trust.
 *
 * Threads: building runs on the calling thread plus a private pool; a built
 * cache is read-only and may be read from any thread. */
#pragma once

#include <gio/gio.h>

#include "kiln-progress.h"

G_BEGIN_DECLS

/* Decodes @path into @chw (c·h·w bytes, planar). Called on pool threads. */
typedef gboolean (*KilnCacheDecodeFunc) (const char *path,
                                         guint8     *chw,
                                         gpointer    user_data,
                                         GError    **error);

typedef struct _KilnTensorCache KilnTensorCache;

/* @progress (optional) counts images; its cancellable stops the build. */
KilnTensorCache *kiln_tensor_cache_build    (const char          *cache_path,
                                             const char *const   *paths,
                                             guint                n_paths,
                                             int                  channels,
                                             int                  height,
                                             int                  width,
                                             KilnCacheDecodeFunc  decode,
                                             gpointer             user_data,
                                             KilnProgress        *progress,
                                             GError             **error);
KilnTensorCache *kiln_tensor_cache_open     (const char          *cache_path,
                                             GError             **error);
void             kiln_tensor_cache_free     (KilnTensorCache *self);

guint            kiln_tensor_cache_get_n    (KilnTensorCache *self);
void             kiln_tensor_cache_get_shape (KilnTensorCache *self,
                                              int             *channels,
                                              int             *height,
                                              int             *width);
const char      *kiln_tensor_cache_get_path (KilnTensorCache *self,
                                             guint            index);
/* FALSE when the image could not be decoded (its pixels are zero). */
gboolean         kiln_tensor_cache_is_valid (KilnTensorCache *self,
                                             guint            index);
const guint8    *kiln_tensor_cache_get      (KilnTensorCache *self,
                                             guint            index);
/* How many entries the last build decoded (the rest were reused). */
guint            kiln_tensor_cache_get_n_decoded (KilnTensorCache *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnTensorCache, kiln_tensor_cache_free)

G_END_DECLS
