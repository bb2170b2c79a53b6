#include "kiln-tensor-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln-error.h"

#define CACHE_MAGIC "KILNTC\0\1"
#define CACHE_VERSION 1
#define DATA_ALIGN 4096
#define ENTRY_VALID 1u

/* On-disk layout, little-endian (the only byte order Kiln runs on). */
typedef struct {
  char magic[8];
  guint32 version;
  guint32 n;
  guint32 channels, height, width;
  guint32 reserved;
  guint64 entries_offset;
  guint64 strings_offset;
  guint64 strings_size;
  guint64 data_offset;
} CacheHeader;

typedef struct {
  guint64 path_offset;
  guint32 path_length;
  guint32 flags;
  gint64 size;
  gint64 mtime_usec;
} CacheEntry;

G_STATIC_ASSERT (sizeof (CacheHeader) == 64);
G_STATIC_ASSERT (sizeof (CacheEntry) == 32);

struct _KilnTensorCache
{
  char *path;
  guint8 *map;
  gsize map_size;
  const CacheHeader *header;
  const CacheEntry *entries;
  const char *strings;
  gsize sample_bytes;
  char **paths;           /* NUL-terminated copies, for callers */
  guint n_decoded;
};

static gboolean
io_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not %s the image cache %s: %s%s",
               what, path, g_strerror (saved_errno),
               saved_errno == ENOSPC ? " (the disk is full)" : "");
  return FALSE;
}

static gboolean
corrupt (GError **error, const char *path, const char *why)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
               "The image cache %s is damaged (%s); delete it and it will be rebuilt", path, why);
  return FALSE;
}

void
kiln_tensor_cache_free (KilnTensorCache *self)
{
  if (self == NULL)
    return;
  if (self->map != NULL)
    munmap (self->map, self->map_size);
  g_strfreev (self->paths);
  g_free (self->path);
  g_free (self);
}

KilnTensorCache *
kiln_tensor_cache_open (const char *cache_path, GError **error)
{
  g_autoptr(KilnTensorCache) self = g_new0 (KilnTensorCache, 1);
  struct stat st;
  int fd;

  self->path = g_strdup (cache_path);
  fd = g_open (cache_path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      if (errno == ENOENT)
        g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND, "There is no image cache at %s yet", cache_path);
      else
        io_error (error, errno, "open", cache_path);
      return NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      io_error (error, errno, "read", cache_path);
      close (fd);
      return NULL;
    }
  if ((guint64) st.st_size < sizeof (CacheHeader))
    {
      close (fd);
      corrupt (error, cache_path, "shorter than its header");
      return NULL;
    }
  self->map_size = st.st_size;
  self->map = mmap (NULL, self->map_size, PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (self->map == MAP_FAILED)
    {
      self->map = NULL;
      io_error (error, errno, "map", cache_path);
      return NULL;
    }

  const CacheHeader *h = self->header = (const CacheHeader *) self->map;
  guint64 size = self->map_size;
  if (memcmp (h->magic, CACHE_MAGIC, 8) != 0 || h->version != CACHE_VERSION)
    {
      corrupt (error, cache_path, "not a Kiln cache of this version");
      return NULL;
    }
  if (h->channels == 0 || h->height == 0 || h->width == 0 ||
      h->channels > 4 || h->height > 65536 || h->width > 65536)
    {
      corrupt (error, cache_path, "impossible image shape");
      return NULL;
    }
  self->sample_bytes = (gsize) h->channels * h->height * h->width;
  guint64 entries_bytes = (guint64) h->n * sizeof (CacheEntry);
  if (h->entries_offset < sizeof (CacheHeader) || h->entries_offset > size ||
      entries_bytes > size - h->entries_offset ||
      h->strings_offset > size || h->strings_size > size - h->strings_offset ||
      h->data_offset > size ||
      (guint64) h->n > (size - h->data_offset) / MAX (self->sample_bytes, 1))
    {
      corrupt (error, cache_path, "sections past the end of the file");
      return NULL;
    }
  self->entries = (const CacheEntry *) (self->map + h->entries_offset);
  self->strings = (const char *) (self->map + h->strings_offset);
  self->paths = g_new0 (char *, h->n + 1);
  for (guint i = 0; i < h->n; i++)
    {
      const CacheEntry *e = &self->entries[i];
      if (e->path_offset > h->strings_size || e->path_length > h->strings_size - e->path_offset)
        {
          corrupt (error, cache_path, "a file name past the end of its table");
          return NULL;
        }
      self->paths[i] = g_strndup (self->strings + e->path_offset, e->path_length);
    }
  return g_steal_pointer (&self);
}

guint
kiln_tensor_cache_get_n (KilnTensorCache *self)
{
  return self->header->n;
}

void
kiln_tensor_cache_get_shape (KilnTensorCache *self, int *channels, int *height, int *width)
{
  if (channels)
    *channels = self->header->channels;
  if (height)
    *height = self->header->height;
  if (width)
    *width = self->header->width;
}

const char *
kiln_tensor_cache_get_path (KilnTensorCache *self, guint index)
{
  g_return_val_if_fail (index < self->header->n, NULL);
  return self->paths[index];
}

gboolean
kiln_tensor_cache_is_valid (KilnTensorCache *self, guint index)
{
  g_return_val_if_fail (index < self->header->n, FALSE);
  return (self->entries[index].flags & ENTRY_VALID) != 0;
}

const guint8 *
kiln_tensor_cache_get (KilnTensorCache *self, guint index)
{
  g_return_val_if_fail (index < self->header->n, NULL);
  return self->map + self->header->data_offset + (gsize) index * self->sample_bytes;
}

guint
kiln_tensor_cache_get_n_decoded (KilnTensorCache *self)
{
  return self->n_decoded;
}

/* ---- building ---- */

typedef struct {
  guint8 *data;              /* the writable mapping of the new file's samples */
  gsize sample_bytes;
  CacheEntry *entries;
  const char *const *paths;
  KilnCacheDecodeFunc decode;
  gpointer user_data;
  KilnProgress *progress;
  GCancellable *cancellable;
  gint n_failed;
} BuildJob;

static void
decode_one (gpointer index_ptr, gpointer user_data)
{
  BuildJob *job = user_data;
  guint i = GPOINTER_TO_UINT (index_ptr) - 1;
  g_autoptr(GError) error = NULL;
  guint8 *out = job->data + (gsize) i * job->sample_bytes;

  if (job->cancellable && g_cancellable_is_cancelled (job->cancellable))
    return;
  if (job->decode (job->paths[i], out, job->user_data, &error))
    job->entries[i].flags |= ENTRY_VALID;
  else
    {
      memset (out, 0, job->sample_bytes);
      g_atomic_int_inc (&job->n_failed);
      g_debug ("image cache: %s: %s", job->paths[i], error ? error->message : "decode failed");
    }
  if (job->progress)
    kiln_progress_add_done (job->progress, 1);
}

/* A killed build leaves CACHE.tmp-XXXXXX behind, already full size: remove
 * those that no live build is writing (a build holds a flock on its file, which conflicts even within one process). */
static void
remove_stale_temporaries (const char *cache_path)
{
  g_autofree char *dir = g_path_get_dirname (cache_path);
  g_autofree char *base = g_path_get_basename (cache_path);
  g_autofree char *prefix = g_strconcat (base, ".tmp-", NULL);
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;

  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL)
    {
      if (!g_str_has_prefix (name, prefix))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      int fd = g_open (path, O_RDWR | O_CLOEXEC, 0);
      if (fd < 0)
        continue;
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        g_unlink (path);
      close (fd);
    }
}

KilnTensorCache *
kiln_tensor_cache_build (const char *cache_path, const char *const *paths, guint n_paths,
                         int channels, int height, int width,
                         KilnCacheDecodeFunc decode, gpointer user_data,
                         KilnProgress *progress, GError **error)
{
  g_return_val_if_fail (decode != NULL, NULL);

  if (channels <= 0 || channels > 4 || height <= 0 || width <= 0 || height > 65536 || width > 65536)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "An image cache of %d×%d×%d cannot be built: use 1 or 3 channels and a positive size",
                   channels, height, width);
      return NULL;
    }

  /* Entries of an existing cache with the same shape can be reused. */
  g_autoptr(KilnTensorCache) old = kiln_tensor_cache_open (cache_path, NULL);
  g_autoptr(GHashTable) old_index = g_hash_table_new (g_str_hash, g_str_equal);
  if (old != NULL && (int) old->header->channels == channels &&
      (int) old->header->height == height && (int) old->header->width == width)
    for (guint i = 0; i < old->header->n; i++)
      if (old->entries[i].flags & ENTRY_VALID)
        g_hash_table_insert (old_index, old->paths[i], GUINT_TO_POINTER (i + 1));

  gsize sample_bytes = (gsize) channels * height * width;
  g_autofree CacheEntry *entries = g_new0 (CacheEntry, n_paths);
  g_autoptr(GString) strings = g_string_new (NULL);
  for (guint i = 0; i < n_paths; i++)
    {
      GStatBuf st;
      entries[i].path_offset = strings->len;
      entries[i].path_length = strlen (paths[i]);
      g_string_append_len (strings, paths[i], entries[i].path_length);
      if (g_stat (paths[i], &st) == 0)
        {
          entries[i].size = st.st_size;
          entries[i].mtime_usec = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
        }
      else
        entries[i].size = -1;
    }

  CacheHeader header = { .version = CACHE_VERSION, .n = n_paths,
                         .channels = channels, .height = height, .width = width };
  memcpy (header.magic, CACHE_MAGIC, 8);
  header.entries_offset = sizeof header;
  header.strings_offset = header.entries_offset + (guint64) n_paths * sizeof (CacheEntry);
  header.strings_size = strings->len;
  header.data_offset = (header.strings_offset + strings->len + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
  guint64 total = header.data_offset + (guint64) n_paths * sample_bytes;

  g_autofree char *dir = g_path_get_dirname (cache_path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      io_error (error, errno, "create the folder of", cache_path);
      return NULL;
    }
  remove_stale_temporaries (cache_path);
  g_autofree char *tmp_path = g_strdup_printf ("%s.tmp-XXXXXX", cache_path);
  /* A unique name: two builds of one cache never write the same file. */
  int fd = g_mkstemp_full (tmp_path, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      io_error (error, errno, "create", tmp_path);
      return NULL;
    }
  /* Held until close: tells remove_stale_temporaries() this build is alive. */
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    g_debug ("image cache: could not lock %s", tmp_path);
  /* posix_fallocate, not ftruncate: a full disk fails here, not as SIGBUS later. */
  int falloc = total > 0 ? posix_fallocate (fd, 0, total) : 0;
  if (falloc != 0)
    {
      /* Says how much room the cache needs. */
      g_autofree char *size = g_format_size (total);
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not allocate the image cache %s (%s): %s%s",
                   tmp_path, size, g_strerror (falloc), falloc == ENOSPC ? " (the disk is full)" : "");
      close (fd);
      g_unlink (tmp_path);
      return NULL;
    }
  guint8 *map = mmap (NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    {
      io_error (error, errno, "map", tmp_path);
      close (fd);
      g_unlink (tmp_path);
      return NULL;
    }

  BuildJob job = {
    .data = map + header.data_offset, .sample_bytes = sample_bytes, .entries = entries,
    .paths = paths, .decode = decode, .user_data = user_data, .progress = progress,
    .cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL,
  };
  guint n_decoded = 0;
  if (progress)
    kiln_progress_set_total (progress, n_paths);

  g_autoptr(GError) pool_error = NULL;
  GThreadPool *pool = g_thread_pool_new (decode_one, &job, MAX (1, g_get_num_processors ()), FALSE, &pool_error);
  for (guint i = 0; i < n_paths && pool != NULL; i++)
    {
      gpointer found = g_hash_table_lookup (old_index, paths[i]);
      if (found != NULL)
        {
          guint j = GPOINTER_TO_UINT (found) - 1;
          if (old->entries[j].size == entries[i].size && old->entries[j].mtime_usec == entries[i].mtime_usec &&
              entries[i].size >= 0)
            {
              memcpy (job.data + (gsize) i * sample_bytes, kiln_tensor_cache_get (old, j), sample_bytes);
              entries[i].flags |= ENTRY_VALID;
              if (progress)
                kiln_progress_add_done (progress, 1);
              continue;
            }
        }
      n_decoded++;
      g_thread_pool_push (pool, GUINT_TO_POINTER (i + 1), NULL);
    }
  if (pool != NULL)
    g_thread_pool_free (pool, FALSE, TRUE);

  gboolean ok = pool != NULL;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&pool_error));
  else if (job.cancellable && g_cancellable_is_cancelled (job.cancellable))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CANCELLED, "Building the image cache %s was cancelled", cache_path);
      ok = FALSE;
    }
  if (ok)
    {
      memcpy (map, &header, sizeof header);
      memcpy (map + header.entries_offset, entries, (gsize) n_paths * sizeof (CacheEntry));
      memcpy (map + header.strings_offset, strings->str, strings->len);
      if (msync (map, total, MS_SYNC) != 0 || fsync (fd) != 0)
        ok = io_error (error, errno, "write", tmp_path);
    }
  munmap (map, total);
  close (fd);
  g_clear_pointer (&old, kiln_tensor_cache_free);

  if (ok && g_rename (tmp_path, cache_path) != 0)
    ok = io_error (error, errno, "replace", cache_path);
  if (!ok)
    {
      g_unlink (tmp_path);
      return NULL;
    }

  KilnTensorCache *self = kiln_tensor_cache_open (cache_path, error);
  if (self != NULL)
    self->n_decoded = n_decoded;
  if (progress)
    kiln_progress_finish (progress);
  return self;
}
