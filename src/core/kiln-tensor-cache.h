/* kiln-tensor-cache.h: images decoded once, kept as uint8 tensors on disk.
 *
 * A cache is two files: NAME (a 64-byte header, then one CHW uint8
 * tensor of the spec's size per image, memory-mapped for reading) and
 * NAME.index (one line per image: "status size mtime path", the path
 * escaped as in label files). Updating it against a label set decodes
 * only images that are new or whose size or modification time changed;
 * the others are copied from the previous cache. Both files are written to
 * temporary names and renamed, so a killed update leaves the old cache.
 *
 * Threads: build and update from one thread (decoding runs on a pool);
 * once built, kiln_tensor_cache_get() may be called from any thread. */
#pragma once

#include <gio/gio.h>

#include "kiln-image.h"
#include "kiln-labels.h"
#include "kiln-progress.h"

G_BEGIN_DECLS

typedef struct _KilnTensorCache KilnTensorCache;

/* Brings the cache at @path up to date with @set's images (paths relative
 * to @root) converted as @spec says, and opens it. A cache made with
 * another spec is rebuilt. @n_decoded, if not NULL, receives how many
 * images were decoded (the rest were reused). */
KilnTensorCache *kiln_tensor_cache_update   (const char          *path,
                                             const char          *root,
                                             const KilnLabelSet  *set,
                                             const KilnImageSpec *spec,
                                             guint                n_threads,
                                             KilnProgressFunc     progress,
                                             gpointer             user_data,
                                             GCancellable        *cancellable,
                                             guint               *n_decoded,
                                             GError             **error);
void             kiln_tensor_cache_free     (KilnTensorCache     *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnTensorCache, kiln_tensor_cache_free)

guint            kiln_tensor_cache_get_n    (KilnTensorCache     *cache);
const KilnImageSpec *kiln_tensor_cache_get_spec (KilnTensorCache *cache);
/* Whether image @index decoded; a failed one has a zero tensor. */
gboolean         kiln_tensor_cache_is_valid (KilnTensorCache     *cache,
                                             guint                index);
/* The tensor of image @index (in @set's order), inside the mapping. */
const guint8    *kiln_tensor_cache_get      (KilnTensorCache     *cache,
                                             guint                index);

G_END_DECLS
