/* kiln-gather-source-archive.c: the archive producer (libarchive). Reads
 * an official ImageNet training tar, a tar of per-synset tars
 * (n02121808.tar, …), or one synset's tar, in one pass: an inner tar is
 * read through the outer one, and each member is streamed to a temporary
 * file of the store (never held in memory). Members are named
 * file:///….tar#n02121808.tar/n02121808_1.JPEG; their wnid comes from
 * the name, else from the request. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-gather-check.h"
#include "kiln-gatherer-private.h"

#define READ_CHUNK (64 * 1024)

/* Streams the current member to a temporary file of the store, as @url;
 * stops early, with *too_big set, past the size cap. NULL when the archive
 * or the disk fails. */
static KilnGatherItem *
read_member (KilnGatherRun *run, struct archive *a, const char *url, const char *wnid, gboolean *too_big,
             GError **error)
{
  g_autoptr(KilnGatherItem) item = kiln_gather_item_new (run->req, url, wnid);
  guint8 buf[READ_CHUNK];
  gboolean written = TRUE;
  la_ssize_t n;
  int fd;

  *too_big = FALSE;
  fd = kiln_gather_store_create_body (run->store, &item->body, error);
  if (fd < 0)
    return NULL;
  item->body_is_temp = TRUE;
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    {
      if (item->n_bytes + (guint64) n > run->req->max_bytes)
        {
          *too_big = TRUE;
          break;
        }
      if (!(written = kiln_gather_store_write (fd, item->body, buf, n, error)))
        break;
      item->n_bytes += n;
    }
  close (fd);
  if (!written)
    return NULL;
  if (n < 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: %s", url, archive_error_string (a));
      return NULL;
    }
  return g_steal_pointer (&item);
}

typedef struct {
  struct archive *outer;
  guint8          buf[READ_CHUNK];
} InnerSource;

static la_ssize_t
inner_read (struct archive *a, void *data, const void **buffer)
{
  InnerSource *src = data;

  *buffer = src->buf;
  return archive_read_data (src->outer, src->buf, sizeof src->buf);
}

static gboolean
wnid_of_name (const char *name, char out[10])
{
  const char *base = strrchr (name, '/');

  base = base ? base + 1 : name;
  if (base[0] != 'n' || strspn (base + 1, "0123456789") != 8)
    return FALSE;
  memcpy (out, base, 9);
  out[9] = '\0';
  return TRUE;
}

static gboolean read_members (KilnGatherRun *run, struct archive *a, const char *prefix,
                              const char *fallback_wnid, GError **error);

/* A per-synset tar inside the outer one. Its failure is a source error:
 * the other synsets go on. */
static void
read_inner_tar (KilnGatherRun *run, struct archive *outer, const char *prefix, const char *wnid)
{
  struct archive *inner = archive_read_new ();
  g_autofree InnerSource *src = g_new0 (InnerSource, 1);
  g_autoptr(GError) error = NULL;

  archive_read_support_format_tar (inner);
  src->outer = outer;
  if (archive_read_open (inner, src, NULL, inner_read, NULL) != ARCHIVE_OK)
    kiln_gather_run_source_error (run, g_strdup_printf ("%s: %s", prefix, archive_error_string (inner)));
  else if (!read_members (run, inner, prefix, wnid, &error))
    kiln_gather_run_source_error (run, g_strdup (error->message));
  archive_read_free (inner);
}

/* The images of one synset tar (or of the outer archive itself). */
static gboolean
read_members (KilnGatherRun *run, struct archive *a, const char *prefix, const char *fallback_wnid,
              GError **error)
{
  struct archive_entry *entry;
  int r;

  while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (entry);
      g_autofree char *url = NULL;
      KilnGatherItem *item;
      gboolean too_big;
      char wnid[10];

      if (kiln_gather_run_stopping (run))
        return TRUE;
      if (archive_entry_filetype (entry) != AE_IFREG || name == NULL)
        continue;
      if (!wnid_of_name (name, wnid))
        g_strlcpy (wnid, fallback_wnid ? fallback_wnid : "", sizeof wnid);
      if (!kiln_gather_run_wants (run, wnid))
        continue;
      url = g_strconcat (prefix, name, NULL);
      if (g_str_has_suffix (name, ".tar"))
        {
          g_autofree char *inner_prefix = g_strconcat (url, "/", NULL);
          read_inner_tar (run, a, inner_prefix, wnid);
          continue;
        }
      if (!kiln_gather_run_should_read (run, url, wnid))
        continue;
      item = read_member (run, a, url, wnid, &too_big, error);
      if (item == NULL)
        return FALSE;
      if (too_big)
        {
          /* The header's size, when it has one, says by how much. */
          kiln_gather_check_size (run->req, item, MAX ((guint64) MAX (archive_entry_size (entry), 0),
                                                       run->req->max_bytes + 1));
          kiln_gather_run_record (run, item);
          kiln_gather_item_free (item);
          continue;
        }
      if (!kiln_gather_run_offer_item (run, item))
        return TRUE;
    }
  if (r != ARCHIVE_EOF)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: %s", prefix, archive_error_string (a));
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_gather_source_archive_read (KilnGatherRun  *run,
                                 GError        **error)
{
  const char *path = run->req->location;
  struct archive *a = archive_read_new ();
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autofree char *prefix = NULL;
  gboolean ok;

  archive_read_support_format_tar (a);
  archive_read_support_filter_gzip (a);
  if (archive_read_open_filename (a, path, 256 * 1024) != ARCHIVE_OK)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot open the archive: %s; check that it is a tar",
                   path, archive_error_string (a));
      archive_read_free (a);
      return FALSE;
    }
  prefix = g_strconcat (uri ? uri : path, "#", NULL);
  ok = read_members (run, a, prefix, run->req->wnid, error);
  archive_read_free (a);
  return ok;
}
