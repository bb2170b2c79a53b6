/* kiln-gather-store.h: where gathered images and outcomes land, for every
 * source alike. Bodies being received are streamed to temporary files
 * here. An item's outcome goes to the project's downloads table; a kept
 * image is placed under a name taken from its URL in
 * cache/gather-tmp/<class>/ (fsynced), its image and download rows are
 * committed in one transaction, and only then is it renamed into
 * images/<class>/. A killed run leaves at worst a temp file, which the next
 * open finishes (row committed) or removes (no row).
 *
 * Threads: keep and record may run on several threads at once (the project
 * serialises its writes; names are reserved under the store's lock). Open
 * and close on one thread, with no keep running. */
#pragma once

#include <gio/gio.h>

#include "kiln-gather-item.h"
#include "kiln-image.h"

G_BEGIN_DECLS

typedef struct _KilnGatherStore KilnGatherStore;

/* Finishes what a killed run left in the temp area. */
KilnGatherStore *kiln_gather_store_open   (KilnProject           *project,
                                           GError               **error);
/* Removes the temp area's empty folders. */
void             kiln_gather_store_close  (KilnGatherStore       *store);

/* A new temporary file for a body being received (in cache/gather-tmp/,
 * so that renaming it into place is atomic); returns its descriptor and
 * @path, or -1. A killed run's leftovers go at the next open. */
int              kiln_gather_store_create_body (KilnGatherStore  *store,
                                                char            **path,
                                                GError          **error);
/* Writes all of @data to @fd (the file at @path, named in errors). */
gboolean         kiln_gather_store_write  (int                    fd,
                                           const char            *path,
                                           const guint8          *data,
                                           gsize                  len,
                                           GError               **error);

/* Records a rejected or failed item. */
gboolean         kiln_gather_store_record (KilnGatherStore       *store,
                                           const KilnGatherItem  *item,
                                           GError               **error);
/* Keeps a checked item: sets its result, file and image id, moves (a
 * streamed body) or copies (a folder's file) its bytes into place and
 * commits it. Fails with G_IO_ERROR_CANCELLED, leaving nothing behind once
 * the item is freed, when @cancellable is cancelled before the commit. */
gboolean         kiln_gather_store_keep   (KilnGatherStore       *store,
                                           KilnGatherItem        *item,
                                           const KilnImageInfo   *info,
                                           GCancellable          *cancellable,
                                           GError               **error);

G_END_DECLS
