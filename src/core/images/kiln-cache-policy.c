/* kiln-cache-policy.c: cache location and size limit (see kiln-cache-policy.h). */
#include "kiln-cache-policy.h"

#include <errno.h>
#include <glib/gstdio.h>

static GMutex lock;
static char *location;
static guint64 size_limit;

void
kiln_cache_policy_set (const char *dir, guint64 limit)
{
  g_mutex_lock (&lock);
  g_free (location);
  location = dir != NULL && *dir != '\0' ? g_strdup (dir) : NULL;
  size_limit = limit;
  g_mutex_unlock (&lock);
}

char *
kiln_cache_policy_dup_location (void)
{
  g_mutex_lock (&lock);
  char *dir = g_strdup (location);
  g_mutex_unlock (&lock);
  return dir;
}

guint64
kiln_cache_policy_get_size_limit (void)
{
  g_mutex_lock (&lock);
  guint64 limit = size_limit;
  g_mutex_unlock (&lock);
  return limit;
}

char *
kiln_cache_dir (const char *project_dir)
{
  g_autofree char *dir = kiln_cache_policy_dup_location ();

  if (dir == NULL)
    return g_build_filename (project_dir, "cache", NULL);
  g_autofree char *absolute = g_canonicalize_filename (project_dir, NULL);
  g_autofree char *base = g_path_get_basename (absolute);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, absolute, -1);
  g_autofree char *name = g_strdup_printf ("%s-%.12s", base, hash);
  return g_build_filename (dir, name, NULL);
}

typedef struct {
  char *path;
  guint64 size;
  gint64 mtime;
  gboolean tensors;   /* a tensor cache: slow to rebuild, so deleted last */
} CacheFile;

static void
cache_file_clear (gpointer data)
{
  g_free (((CacheFile *) data)->path);
}

static void
collect (const char *dir, GArray *files, guint64 *total)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;
      if (g_lstat (path, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        collect (path, files, total);
      else if (S_ISREG (st.st_mode))
        {
          CacheFile f = { g_steal_pointer (&path), st.st_size, st.st_mtime, g_str_has_suffix (name, ".kilncache") };
          g_array_append_val (files, f);
          *total += st.st_size;
        }
    }
}

static int
by_cost (gconstpointer a, gconstpointer b)
{
  const CacheFile *x = a, *y = b;
  if (x->tensors != y->tensors)
    return x->tensors - y->tensors;
  return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

gboolean
kiln_cache_trim (const char *project_dir, guint64 *freed, GError **error)
{
  guint64 limit = kiln_cache_policy_get_size_limit (), total = 0, removed = 0;
  g_autofree char *dir = kiln_cache_dir (project_dir);
  g_autoptr(GArray) files = g_array_new (FALSE, FALSE, sizeof (CacheFile));

  g_array_set_clear_func (files, cache_file_clear);
  if (limit > 0)
    collect (dir, files, &total);
  g_array_sort (files, by_cost);
  for (guint i = 0; i < files->len && total - removed > limit; i++)
    {
      CacheFile *f = &g_array_index (files, CacheFile, i);
      /* A file in use stays readable to whoever has it open or mapped. */
      if (g_unlink (f->path) == 0)
        removed += f->size;
      else if (errno != ENOENT)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Could not delete %s to trim the cache: %s",
                       f->path, g_strerror (saved));
          if (freed)
            *freed = removed;
          return FALSE;
        }
    }
  if (freed)
    *freed = removed;
  return TRUE;
}
