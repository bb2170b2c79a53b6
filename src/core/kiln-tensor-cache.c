#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-tensor-cache.h"

#define HEADER_SIZE 64
static const char magic[8] = { 'K', 'I', 'L', 'N', 'T', 'C', '0', '1' };

struct _KilnTensorCache
{
  KilnImageSpec  spec;
  guint          n;
  gsize          record;
  GMappedFile   *mapped;
  guint8        *valid;
};

typedef struct {
  guint8  valid;
  gint64  size;
  gint64  mtime;   /* nanoseconds */
  guint   slot;
} Entry;

static void
put32 (guint8  *p,
       guint32  v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, 4);
}

static guint32
get32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static void
make_header (guint8               header[HEADER_SIZE],
             const KilnImageSpec *spec,
             guint                n,
             guint64              generation)
{
  memset (header, 0, HEADER_SIZE);
  memcpy (header, magic, 8);
  put32 (header + 8, 1);
  put32 (header + 12, spec->width);
  put32 (header + 16, spec->height);
  put32 (header + 20, spec->channels);
  put32 (header + 24, spec->mode);
  put32 (header + 28, n);
  put32 (header + 32, (guint32) generation);
  put32 (header + 36, (guint32) (generation >> 32));
}

void
kiln_tensor_cache_free (KilnTensorCache *cache)
{
  if (cache == NULL)
    return;
  g_clear_pointer (&cache->mapped, g_mapped_file_unref);
  g_free (cache->valid);
  g_free (cache);
}

guint
kiln_tensor_cache_get_n (KilnTensorCache *cache)
{
  return cache->n;
}

const KilnImageSpec *
kiln_tensor_cache_get_spec (KilnTensorCache *cache)
{
  return &cache->spec;
}

gboolean
kiln_tensor_cache_is_valid (KilnTensorCache *cache,
                            guint            index)
{
  g_return_val_if_fail (index < cache->n, FALSE);
  return cache->valid[index];
}

const guint8 *
kiln_tensor_cache_get (KilnTensorCache *cache,
                       guint            index)
{
  g_return_val_if_fail (index < cache->n, NULL);
  return (const guint8 *) g_mapped_file_get_contents (cache->mapped) + HEADER_SIZE
         + (gsize) index * cache->record;
}

/* Reads an existing cache made with @spec: its mapping and, by path, what
 * each slot holds. Anything missing, different or inconsistent gives
 * FALSE, and everything is decoded again. */
static gboolean
read_old (const char           *path,
          const KilnImageSpec  *spec,
          GMappedFile         **mapped,
          GHashTable          **entries)
{
  g_autofree char *index_path = g_strconcat (path, ".index", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GMappedFile) file = g_mapped_file_new (path, FALSE, NULL);
  g_autoptr(GHashTable) table = NULL;
  const guint8 *header;
  guint8 expected[HEADER_SIZE];
  guint64 generation;
  guint n, slot = 0;

  if (file == NULL || g_mapped_file_get_length (file) < HEADER_SIZE
      || !g_file_get_contents (index_path, &text, NULL, NULL))
    return FALSE;
  header = (const guint8 *) g_mapped_file_get_contents (file);
  n = get32 (header + 28);
  generation = get32 (header + 32) | ((guint64) get32 (header + 36) << 32);
  make_header (expected, spec, n, generation);
  if (memcmp (header, expected, HEADER_SIZE) != 0
      || g_mapped_file_get_length (file) != HEADER_SIZE + (gsize) n * kiln_image_spec_size (spec))
    return FALSE;

  lines = g_strsplit (text, "\n", -1);
  if (lines[0] == NULL || !g_str_has_prefix (lines[0], "# kiln-tensor-cache ")
      || g_ascii_strtoull (lines[0] + strlen ("# kiln-tensor-cache "), NULL, 10) != generation)
    return FALSE;
  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      Entry *entry = g_new0 (Entry, 1);
      char *end;
      char *p = lines[i];
      char *name;

      entry->valid = (guint8) g_ascii_strtoull (p, &end, 10);
      entry->size = g_ascii_strtoll (end, &end, 10);
      entry->mtime = g_ascii_strtoll (end, &end, 10);
      entry->slot = slot++;
      if (*end != ' ' || (name = kiln_labels_unescape (end + 1, strlen (end + 1))) == NULL)
        {
          g_free (entry);
          return FALSE;
        }
      g_hash_table_replace (table, name, entry);
    }
  if (slot != n)
    return FALSE;
  *mapped = g_steal_pointer (&file);
  *entries = g_steal_pointer (&table);
  return TRUE;
}

typedef struct {
  const char          *root;
  const KilnLabelSet  *set;
  const KilnImageSpec *spec;
  const guint         *todo;      /* image indices to decode */
  guint8              *valid;
  int                  fd;
  gsize                record;
  GCancellable        *cancellable;
  gint                 write_failed;
} Build;

static void
decode_one (guint    k,
            gpointer user_data)
{
  Build *build = user_data;
  guint index = build->todo[k];
  g_autofree guint8 *tensor = NULL;
  g_autofree char *file = NULL;

  if (g_cancellable_is_cancelled (build->cancellable))
    return;
  tensor = g_malloc (build->record);
  file = g_build_filename (build->root, build->set->paths->pdata[index], NULL);
  if (!kiln_image_load_u8 (file, build->spec, tensor, NULL, NULL))
    return;   /* stays zero, marked invalid */
  if (pwrite (build->fd, tensor, build->record,
              HEADER_SIZE + (off_t) index * build->record) != (ssize_t) build->record)
    g_atomic_int_set (&build->write_failed, errno ? errno : EIO);
  else
    build->valid[index] = 1;
}

KilnTensorCache *
kiln_tensor_cache_update (const char          *path,
                          const char          *root,
                          const KilnLabelSet  *set,
                          const KilnImageSpec *spec,
                          guint                n_threads,
                          KilnProgressFunc     progress,
                          gpointer             user_data,
                          GCancellable        *cancellable,
                          guint               *n_decoded,
                          GError             **error)
{
  g_autoptr(GMappedFile) old = NULL;
  g_autoptr(GHashTable) entries = NULL;
  g_autoptr(GArray) todo = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GString) index_text = g_string_new (NULL);
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  g_autofree char *index_path = g_strconcat (path, ".index", NULL);
  g_autofree gint64 *sizes = NULL;
  g_autofree gint64 *mtimes = NULL;
  g_autoptr(KilnTensorCache) cache = g_new0 (KilnTensorCache, 1);
  g_autoptr(GError) local_error = NULL;
  guint8 header[HEADER_SIZE];
  guint64 generation;
  Build build = { 0 };
  guint n = set->paths->len;
  int fd;

  g_return_val_if_fail (path != NULL && root != NULL && set != NULL && spec != NULL, NULL);

  cache->spec = *spec;
  cache->n = n;
  cache->record = kiln_image_spec_size (spec);
  cache->valid = g_new0 (guint8, MAX (n, 1));
  sizes = g_new0 (gint64, MAX (n, 1));
  mtimes = g_new0 (gint64, MAX (n, 1));
  if (!read_old (path, spec, &old, &entries))
    g_clear_pointer (&entries, g_hash_table_unref);

  fd = g_mkstemp (tmp);
  if (fd < 0 || ftruncate (fd, HEADER_SIZE + (off_t) n * cache->record) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create the cache %s: %s",
                   tmp, g_strerror (saved));
      if (fd >= 0)
        {
          close (fd);
          g_unlink (tmp);
        }
      return NULL;
    }

  /* Reuse what did not change; list the rest for decoding. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *file = g_build_filename (root, set->paths->pdata[i], NULL);
      struct stat st;
      Entry *entry = entries ? g_hash_table_lookup (entries, set->paths->pdata[i]) : NULL;

      if (stat (file, &st) == 0)
        {
          sizes[i] = st.st_size;
          mtimes[i] = (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec;
        }
      else
        sizes[i] = mtimes[i] = -1;
      if (entry != NULL && entry->size == sizes[i] && entry->mtime == mtimes[i] && sizes[i] >= 0)
        {
          const guint8 *tensor = (const guint8 *) g_mapped_file_get_contents (old) + HEADER_SIZE
                                 + (gsize) entry->slot * cache->record;

          cache->valid[i] = entry->valid;
          if (entry->valid
              && pwrite (fd, tensor, cache->record, HEADER_SIZE + (off_t) i * cache->record)
                 != (ssize_t) cache->record)
            build.write_failed = errno ? errno : EIO;
        }
      else
        g_array_append_val (todo, i);
    }

  build.root = root;
  build.set = set;
  build.spec = spec;
  build.todo = (const guint *) (gpointer) todo->data;
  build.valid = cache->valid;
  build.fd = fd;
  build.record = cache->record;
  build.cancellable = cancellable;
  kiln_parallel_for (todo->len, n_threads, decode_one, &build, progress, user_data);

  generation = ((guint64) g_random_int () << 32) | g_random_int ();
  make_header (header, spec, n, generation);
  if (build.write_failed == 0 && pwrite (fd, header, HEADER_SIZE, 0) != HEADER_SIZE)
    build.write_failed = errno ? errno : EIO;
  if (build.write_failed == 0 && fsync (fd) != 0)
    build.write_failed = errno;
  close (fd);

  if (g_cancellable_set_error_if_cancelled (cancellable, error) || build.write_failed != 0)
    {
      if (build.write_failed != 0)
        g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not write the cache %s: %s",
                     tmp, g_strerror (build.write_failed));
      g_unlink (tmp);
      return NULL;
    }

  g_string_append_printf (index_text, "# kiln-tensor-cache %" G_GUINT64_FORMAT "\n", generation);
  for (guint i = 0; i < n; i++)
    {
      g_string_append_printf (index_text, "%u %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " ",
                              cache->valid[i], sizes[i], mtimes[i]);
      kiln_labels_append_escaped (index_text, set->paths->pdata[i]);
      g_string_append_c (index_text, '\n');
    }
  /* Data first, then the index: a crash between the two leaves
   * generations that disagree, which the next update treats as no cache. */
  g_clear_pointer (&old, g_mapped_file_unref);
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not replace %s: %s", path,
                   g_strerror (saved));
      g_unlink (tmp);
      return NULL;
    }
  if (!g_file_set_contents_full (index_path, index_text->str, index_text->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return NULL;
    }

  cache->mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (cache->mapped == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  if (n_decoded != NULL)
    *n_decoded = todo->len;
  return g_steal_pointer (&cache);
}
