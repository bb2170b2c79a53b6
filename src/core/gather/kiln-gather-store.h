/* kiln-gather-store.h: where gathered images and outcomes land, for every
 * source alike. An item's outcome goes to the project's downloads table;
 * a kept image is written under a name taken from its URL to
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

/* Records a rejected or failed item. */
gboolean         kiln_gather_store_record (KilnGatherStore       *store,
                                           const KilnGatherItem  *item,
                                           GError               **error);
/* Keeps a checked item: sets its result and file, writes and commits it.
 * Fails with G_IO_ERROR_CANCELLED, leaving nothing behind, when
 * @cancellable is cancelled before the commit. */
gboolean         kiln_gather_store_keep   (KilnGatherStore       *store,
                                           KilnGatherItem        *item,
                                           const KilnImageInfo   *info,
                                           GCancellable          *cancellable,
                                           GError               **error);

G_END_DECLS
