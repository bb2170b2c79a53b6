/* kiln-url-list.h: a streaming reader of image URL lists.
 *
 * Two forms, mixed freely line by line:
 *   n02121808_1234<TAB>http://…   (ImageNet's fall11_urls.txt: image id, URL)
 *   http://…                      (one URL per line)
 * Blank lines and lines starting with '#' are skipped. The file is read
 * through a GDataInputStream, never loaded whole, so the 14-million-line
 * fall11_urls.txt streams in constant memory.
 *
 * Thread contract: one KilnUrlList is used by one thread at a time. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _KilnUrlList KilnUrlList;

typedef struct {
  const char *id;     /* "n02121808_1234", or NULL for a plain URL line */
  char        wnid[10];  /* "n02121808" from the id, or "" */
  const char *url;    /* NULL when @problem is set */
  const char *problem;  /* why the line holds no URL, or NULL */
  guint64     line;   /* 1-based line number */
} KilnUrlEntry;

KilnUrlList *kiln_url_list_open             (const char    *path,
                                             GError       **error);
KilnUrlList *kiln_url_list_new_for_stream   (GInputStream  *stream,
                                             const char    *origin);
void         kiln_url_list_free             (KilnUrlList   *self);
/* Fills @entry (valid until the next call) and returns TRUE; returns FALSE
 * at the end (@error unset) or on a read error (@error set). A line that
 * cannot hold a URL (longer than 256 KiB, not UTF-8 text, control
 * characters, an image id without a URL) comes back with entry->problem
 * set, so that the caller can report it by its number; the lines after it
 * are read as usual. */
gboolean     kiln_url_list_next             (KilnUrlList   *self,
                                             KilnUrlEntry  *entry,
                                             GCancellable  *cancellable,
                                             GError       **error);
/* How many lines came back with a problem so far. */
guint64      kiln_url_list_get_n_invalid    (KilnUrlList   *self);
const char  *kiln_url_list_get_origin       (KilnUrlList   *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnUrlList, kiln_url_list_free)

G_END_DECLS
