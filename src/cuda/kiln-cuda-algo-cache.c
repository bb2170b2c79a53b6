#include "config.h"

#include <string.h>

#include "kiln-cuda-algo-cache.h"

struct _KilnCudaAlgoCache {
  GHashTable *table;        /* KilnCudaAlgoKey → KilnCudaAlgoChoice, both owned */
};

void
kiln_cuda_algo_key_init (KilnCudaAlgoKey *key, KilnCudaConvDirection direction,
                         const KilnCudaConvGeometry *geom, gboolean tf32)
{
  memset (key, 0, sizeof *key);
  key->direction = direction;
  key->n = geom->input.n;
  key->c = geom->input.c;
  key->h = geom->input.h;
  key->w = geom->input.w;
  memcpy (key->filter, geom->filter, sizeof key->filter);
  key->group = geom->group;
  key->pad_h = geom->pad_h;
  key->pad_w = geom->pad_w;
  key->stride_h = geom->stride_h;
  key->stride_w = geom->stride_w;
  key->dilation_h = geom->dilation_h;
  key->dilation_w = geom->dilation_w;
  key->tf32 = tf32 ? 1 : 0;
}

/* FNV-1a over the key's bytes: it is all ints, no padding. */
static guint
key_hash (gconstpointer data)
{
  const guint8 *p = data;
  guint32 h = 2166136261u;
  for (gsize i = 0; i < sizeof (KilnCudaAlgoKey); i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (KilnCudaAlgoKey)) == 0;
}

KilnCudaAlgoCache *
kiln_cuda_algo_cache_new (void)
{
  KilnCudaAlgoCache *self = g_new0 (KilnCudaAlgoCache, 1);
  self->table = g_hash_table_new_full (key_hash, key_equal, g_free, g_free);
  return self;
}

void
kiln_cuda_algo_cache_free (KilnCudaAlgoCache *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->table);
  g_free (self);
}

const KilnCudaAlgoChoice *
kiln_cuda_algo_cache_lookup (KilnCudaAlgoCache *self, const KilnCudaAlgoKey *key)
{
  return g_hash_table_lookup (self->table, key);
}

void
kiln_cuda_algo_cache_insert (KilnCudaAlgoCache *self, const KilnCudaAlgoKey *key,
                             const KilnCudaAlgoChoice *choice)
{
  g_hash_table_insert (self->table, g_memdup2 (key, sizeof *key), g_memdup2 (choice, sizeof *choice));
}

guint
kiln_cuda_algo_cache_size (KilnCudaAlgoCache *self)
{
  return g_hash_table_size (self->table);
}
