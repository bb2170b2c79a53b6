/* kiln-gather-store.c: file names, atomic writes and the downloads table
 * for every source (see the header). Kept in one place so that the URL,
 * API, archive and folder producers cannot differ in how a file is named,
 * written or recorded, or in what a killed run leaves behind. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-gather-store.h"

#define MAX_NAME_STEM 120

/* Bodies being received: cache/gather-tmp/.incoming/body-XXXXXX. A class
 * folder cannot start with a dot, so the name is free. */
#define INCOMING ".incoming"

struct _KilnGatherStore
{
  KilnProject *project;
  char        *tmp_dir;          /* cache/gather-tmp */
  char        *incoming_dir;     /* cache/gather-tmp/.incoming */
  GMutex       lock;
  GHashTable  *reserved_names;   /* paths chosen in this run, under lock */
};

/* File names ------------------------------------------------------------- */

static gboolean
has_image_extension (const char *name, gsize *stem_len)
{
  static const char * const exts[] = { ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp",
                                       ".webp", ".tif", ".tiff", ".ico" };
  gsize len = strlen (name);

  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      gsize el = strlen (exts[i]);
      if (len > el && g_ascii_strcasecmp (name + len - el, exts[i]) == 0)
        {
          *stem_len = len - el;
          return TRUE;
        }
    }
  return FALSE;
}

/* Percent-decodes a path segment, except that an encoded '/' stays "%2F"
 * (it must never become a separator) and NUL becomes '_'. */
static char *
decode_segment (const char *segment)
{
  GString *out = g_string_new (NULL);

  for (const char *p = segment; *p; p++)
    {
      int hi, lo;

      if (*p == '%' && (hi = g_ascii_xdigit_value (p[1])) >= 0 && (lo = g_ascii_xdigit_value (p[2])) >= 0)
        {
          char c = (char) (hi * 16 + lo);
          if (c == '/')
            g_string_append_len (out, p, 3);
          else
            g_string_append_c (out, c == '\0' ? '_' : c);
          p += 2;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

char *
kiln_gatherer_file_name_for_url (const char *url,
                                 const char *extension)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL);
  g_autofree char *segment = NULL;
  g_autofree char *decoded = NULL;
  g_autofree char *valid = NULL;
  GString *out;
  const char *path, *slash;
  gsize stem_len;

  /* Archive members are named by the fragment: file:///a.tar#n0….tar/x.JPEG */
  if (uri && g_uri_get_fragment (uri) && g_str_equal (g_uri_get_scheme (uri), "file"))
    path = g_uri_get_fragment (uri);
  else
    path = uri ? g_uri_get_path (uri) : url;
  slash = strrchr (path, '/');
  segment = g_strdup (slash ? slash + 1 : path);
  decoded = decode_segment (segment);
  valid = g_utf8_make_valid (decoded, -1);
  if (has_image_extension (valid, &stem_len))
    valid[stem_len] = '\0';

  out = g_string_new (NULL);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || strchr ("/\\:*?\"<>|", (int) c))
        c = '_';
      /* No leading dots (hidden files, "..") and no runs of dots. */
      if (c == '.' && (out->len == 0 || out->str[out->len - 1] == '.'))
        continue;
      if (g_unichar_isspace (c) && out->len == 0)
        continue;
      g_string_append_unichar (out, g_unichar_isspace (c) ? ' ' : c);
    }
  while (out->len > 0 && (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ' '))
    g_string_truncate (out, out->len - 1);
  if (out->len > MAX_NAME_STEM)
    {
      /* Cut at a character boundary. */
      const char *end = g_utf8_find_prev_char (out->str, out->str + MAX_NAME_STEM + 1);
      g_string_truncate (out, end - out->str);
    }
  if (out->len == 0)
    g_string_assign (out, "image");
  g_string_append_printf (out, ".%s", extension);
  return g_string_free (out, FALSE);
}

static const char *
extension_for_format (const char *format)
{
  if (g_strcmp0 (format, "jpeg") == 0)
    return "jpg";
  if (g_strcmp0 (format, "tiff") == 0)
    return "tif";
  return *format ? format : "img";
}

/* Picks a free name in @dir (and reserves it for this run). */
static char *
reserve_name (KilnGatherStore *store, const char *dir, const char *tmp_dir, const char *name)
{
  g_autofree char *stem = g_strdup (name);
  char *dot = strrchr (stem, '.');
  const char *ext = "";
  char *chosen = NULL;

  if (dot)
    {
      *dot = '\0';
      ext = dot + 1;
    }
  g_mutex_lock (&store->lock);
  for (guint n = 0; chosen == NULL; n++)
    {
      g_autofree char *candidate = n == 0 ? g_strdup (name) : g_strdup_printf ("%s-%u.%s", stem, n, ext);
      g_autofree char *path = g_build_filename (dir, candidate, NULL);
      g_autofree char *tmp_path = g_build_filename (tmp_dir, candidate, NULL);

      if (!g_hash_table_contains (store->reserved_names, path) && !g_file_test (path, G_FILE_TEST_EXISTS) &&
          !g_file_test (tmp_path, G_FILE_TEST_EXISTS))
        {
          g_hash_table_add (store->reserved_names, g_strdup (path));
          chosen = g_steal_pointer (&candidate);
        }
    }
  g_mutex_unlock (&store->lock);
  return chosen;
}

/* Writing ---------------------------------------------------------------- */

#define COPY_CHUNK (64 * 1024)

static gboolean
write_failed (int saved, const char *path, GError **error)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: write failed: %s (is the disk full?)", path, g_strerror (saved));
  return FALSE;
}

gboolean
kiln_gather_store_write (int            fd,
                         const char    *path,
                         const guint8  *data,
                         gsize          len,
                         GError       **error)
{
  gsize off = 0;

  while (off < len)
    {
      gssize n = write (fd, data + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return write_failed (errno, path, error);
      off += n;
    }
  return TRUE;
}

/* Flushes and closes @fd (the file at @path). */
static gboolean
sync_close (int fd, const char *path, GError **error)
{
  if (fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot flush: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (close (fd) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot close: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
io_failed (int saved, const char *path, const char *what, GError **error)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot %s: %s", path, what, g_strerror (saved));
  return FALSE;
}

/* Copies @src into @dst (which must not exist), fsynced, in small chunks:
 * a folder's large file never sits in memory. */
static gboolean
copy_file (const char *src, const char *dst, GError **error)
{
  guint8 buf[COPY_CHUNK];
  int in = g_open (src, O_RDONLY | O_CLOEXEC, 0);
  int out;

  if (in < 0)
    return io_failed (errno, src, "read", error);
  out = g_open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0)
    {
      int saved = errno;
      close (in);
      return io_failed (saved, dst, "create", error);
    }
  for (;;)
    {
      gssize n = read (in, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          io_failed (errno, src, "read", error);
          break;
        }
      if (n == 0)
        {
          close (in);
          return sync_close (out, dst, error);
        }
      if (!kiln_gather_store_write (out, dst, buf, n, error))
        break;
    }
  close (in);
  close (out);
  g_unlink (dst);
  return FALSE;
}

/* Flushes a file written earlier (a streamed body) before it is renamed. */
static gboolean
sync_file (const char *path, GError **error)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    return io_failed (errno, path, "open", error);
  return sync_close (fd, path, error);
}

static gboolean
make_dirs (const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) == 0)
    return TRUE;
  {
    int saved = errno;
    g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot create the folder: %s", dir, g_strerror (saved));
    return FALSE;
  }
}

/* Makes @dir, a folder under the project at @root, and checks that it is
 * there indeed: a symbolic link planted along the way (images/<class> →
 * elsewhere) must not carry an image out of the project. */
static gboolean
make_dirs_inside (const char *root, const char *dir, GError **error)
{
  g_autofree char *real_root = NULL, *real_dir = NULL, *expected = NULL;

  g_return_val_if_fail (g_str_has_prefix (dir, root), FALSE);
  if (!make_dirs (dir, error))
    return FALSE;
  real_root = realpath (root, NULL);
  real_dir = realpath (dir, NULL);
  expected = real_root ? g_build_filename (real_root, dir + strlen (root), NULL) : NULL;
  if (real_dir == NULL || expected == NULL || !g_str_equal (real_dir, expected))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO,
                   "%s leads to %s through a symbolic link; Kiln writes images only inside the project: "
                   "remove the link and gather again", dir, real_dir ? real_dir : "?");
      return FALSE;
    }
  return TRUE;
}

/* Recording -------------------------------------------------------------- */

static gboolean
record_download (KilnProject *project, const KilnGatherItem *item, GError **error)
{
  return kiln_project_record_download_attempts (project, item->url, *item->wnid ? item->wnid : NULL, item->outcome,
                                                item->http_status, item->detail, item->file, item->attempts, error);
}

int
kiln_gather_store_create_body (KilnGatherStore  *store,
                               char            **path,
                               GError          **error)
{
  g_autofree char *name = g_build_filename (store->incoming_dir, "body-XXXXXX", NULL);
  int fd = g_mkstemp_full (name, O_RDWR | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      io_failed (errno, name, "create a temporary file", error);
      return -1;
    }
  *path = g_steal_pointer (&name);
  return fd;
}

gboolean
kiln_gather_store_record (KilnGatherStore       *store,
                          const KilnGatherItem  *item,
                          GError               **error)
{
  if (record_download (store->project, item, error))
    return TRUE;
  g_prefix_error (error, "recording %s: ", item->url);
  return FALSE;
}

typedef struct {
  KilnImageRecord      *image;
  const KilnGatherItem *item;
} KeptRows;

static gboolean
add_kept_rows (KilnProject *project, gpointer data, GError **error)
{
  KeptRows *rows = data;

  return kiln_project_add_image (project, rows->image, error) && record_download (project, rows->item, error);
}

/* Puts the item's bytes at @tmp, flushed: a streamed body is renamed
 * there, a folder's file copied. From here item->body is @tmp, a temp
 * that goes with the item unless the keep completes. */
static gboolean
place_body (KilnGatherItem *item, const char *tmp, GError **error)
{
  if (item->body_is_temp)
    {
      if (!sync_file (item->body, error))
        return FALSE;
      if (g_rename (item->body, tmp) != 0)
        {
          int saved = errno;
          g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot move to %s: %s", item->body, tmp,
                       g_strerror (saved));
          return FALSE;
        }
    }
  else if (!copy_file (item->body, tmp, error))
    return FALSE;
  g_free (item->body);
  item->body = g_strdup (tmp);
  item->body_is_temp = TRUE;
  return TRUE;
}

gboolean
kiln_gather_store_keep (KilnGatherStore      *store,
                        KilnGatherItem       *item,
                        const KilnImageInfo  *info,
                        GCancellable         *cancellable,
                        GError              **error)
{
  g_autofree char *class_dir = NULL, *tmp_class_dir = NULL;
  g_autofree char *name = NULL, *chosen = NULL, *tmp = NULL, *final = NULL;
  g_autoptr(KilnImageRecord) image = NULL;
  g_autofree char *detail = NULL;
  KeptRows rows;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* The temp file is cache/gather-tmp/<class>/<name>, the final file
   * images/<class>/<name>: write and fsync the temp, commit the KEPT row,
   * rename. A kill before the commit leaves a temp without a row (removed
   * by the next run), after it a temp with a row (renamed by the next run):
   * never a kept image without its file or a file without its row. */
  class_dir = g_build_filename (kiln_project_get_path (store->project), "images", item->class_name, NULL);
  tmp_class_dir = g_build_filename (store->tmp_dir, item->class_name, NULL);
  if (!make_dirs_inside (kiln_project_get_path (store->project), class_dir, error) ||
      !make_dirs_inside (kiln_project_get_path (store->project), tmp_class_dir, error))
    return FALSE;
  name = kiln_gatherer_file_name_for_url (item->url, extension_for_format (info->format));
  chosen = reserve_name (store, class_dir, tmp_class_dir, name);
  final = g_build_filename (class_dir, chosen, NULL);
  tmp = g_build_filename (tmp_class_dir, chosen, NULL);
  if (!place_body (item, tmp, error) || g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  item->file = g_strdup_printf ("images/%s/%s", item->class_name, chosen);
  kiln_gather_item_set_result (item, KILN_DOWNLOAD_KEPT, KILN_GATHER_REASON_KEPT, "%s %d×%d, %" G_GUINT64_FORMAT
                               " bytes", info->format, info->width, info->height, item->n_bytes);
  image = kiln_image_record_new (item->file, item->class_name);
  image->size = item->n_bytes;
  image->width = info->width;
  image->height = info->height;
  image->sha256 = g_strdup (item->sha256);
  image->source_url = g_strdup (item->url);
  image->http_status = item->http_status;
  rows = (KeptRows) { image, item };
  if (!kiln_project_transaction (store->project, add_kept_rows, &rows, error))
    {
      g_prefix_error (error, "storing %s: ", item->url);
      return FALSE;
    }
  item->image_id = image->id;
  /* Committed: the temp now belongs to the row, whatever the rename does. */
  item->body_is_temp = FALSE;
  g_clear_pointer (&item->body, g_free);
  if (g_rename (tmp, final) != 0)
    {
      /* The row exists and the temp stays: the next run renames it. */
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot rename to %s: %s; run again to finish",
                   tmp, final, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Opening and closing ---------------------------------------------------- */

/* Finishes what a killed run left in cache/gather-tmp/<class>/<name>: a
 * temp whose KEPT row was committed is renamed into images/, any other is
 * removed (see kiln_gather_store_keep). */
static gboolean
recover_tmp_dir (KilnGatherStore *store, GError **error)
{
  g_autoptr(GDir) d = NULL;
  const char *class_name;

  if (!make_dirs_inside (kiln_project_get_path (store->project), store->tmp_dir, error))
    return FALSE;
  d = g_dir_open (store->tmp_dir, 0, error);
  if (d == NULL)
    return FALSE;
  while ((class_name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *sub = g_build_filename (store->tmp_dir, class_name, NULL);
      g_autoptr(GDir) files = g_dir_open (sub, 0, NULL);
      const char *name;

      if (files == NULL)
        {
          g_unlink (sub);
          continue;
        }
      if (g_str_equal (class_name, INCOMING))
        {
          /* Bodies a killed run was receiving. */
          while ((name = g_dir_read_name (files)) != NULL)
            {
              g_autofree char *body = g_build_filename (sub, name, NULL);
              g_unlink (body);
            }
          continue;
        }
      while ((name = g_dir_read_name (files)) != NULL)
        {
          g_autofree char *tmp = g_build_filename (sub, name, NULL);
          g_autofree char *rel = g_strdup_printf ("images/%s/%s", class_name, name);
          g_autoptr(GError) local_error = NULL;
          g_autoptr(KilnImageRecord) image = kiln_project_find_image (store->project, rel, &local_error);
          g_autofree char *final = NULL, *final_dir = NULL;

          if (local_error)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          if (image == NULL)
            {
              g_unlink (tmp);
              continue;
            }
          final = kiln_project_build_path (store->project, rel);
          final_dir = g_path_get_dirname (final);
          if (g_mkdir_with_parents (final_dir, 0755) != 0 || g_rename (tmp, final) != 0)
            {
              int saved = errno;
              g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot move to %s: %s",
                           tmp, final, g_strerror (saved));
              return FALSE;
            }
        }
    }
  return TRUE;
}

KilnGatherStore *
kiln_gather_store_open (KilnProject  *project,
                        GError      **error)
{
  KilnGatherStore *store = g_new0 (KilnGatherStore, 1);

  store->project = g_object_ref (project);
  store->tmp_dir = g_build_filename (kiln_project_get_path (project), "cache", "gather-tmp", NULL);
  store->incoming_dir = g_build_filename (store->tmp_dir, INCOMING, NULL);
  g_mutex_init (&store->lock);
  store->reserved_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!recover_tmp_dir (store, error) ||
      !make_dirs_inside (kiln_project_get_path (store->project), store->incoming_dir, error))
    {
      kiln_gather_store_close (store);
      return NULL;
    }
  return store;
}

void
kiln_gather_store_close (KilnGatherStore *store)
{
  g_autoptr(GDir) d = NULL;
  const char *name;

  if (store == NULL)
    return;
  /* Empty class folders of the temp area go; a folder that still holds
   * a committed temp stays for the next run. */
  d = g_dir_open (store->tmp_dir, 0, NULL);
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *sub = g_build_filename (store->tmp_dir, name, NULL);
      g_rmdir (sub);
    }
  g_clear_object (&store->project);
  g_free (store->tmp_dir);
  g_free (store->incoming_dir);
  g_mutex_clear (&store->lock);
  g_hash_table_unref (store->reserved_names);
  g_free (store);
}
