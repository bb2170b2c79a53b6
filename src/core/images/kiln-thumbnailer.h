/* kiln-thumbnailer.h: small copies of a project's images, for grids and
 * previews.
 *
 * A thumbnail fits in size × size pixels (aspect kept, never enlarged).
 * Images are decoded off the caller's thread, on the thumbnailer's own
 * pool of a few threads, the request made last first: what a grid just
 * scrolled to comes before what it scrolled past. With caching on, each
 * thumbnail is written once to thumbnails/<size>/ in the project's caches under a name made
 * from the file's identity (device, inode, size, time), so it survives the
 * moves of discard, restore and relabel, and goes stale when the file
 * changes. Images already small enough are decoded as they are and not
 * cached.
 *
 * Threads: the object lives on one thread; callbacks run on the
 * thread-default main context of the caller of _load_async(). */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define KILN_TYPE_THUMBNAILER (kiln_thumbnailer_get_type ())
G_DECLARE_FINAL_TYPE (KilnThumbnailer, kiln_thumbnailer, KILN, THUMBNAILER, GObject)

KilnThumbnailer *kiln_thumbnailer_new         (const char       *project_dir,
                                               int               size,
                                               gboolean          cache);
int              kiln_thumbnailer_get_size    (KilnThumbnailer  *self);

/* The thumbnail of @path (relative to the project folder). Cancelling
 * @cancellable before a worker takes the request drops it at no cost;
 * dropping the thumbnailer cancels what it has not started (the callbacks
 * still run, with G_IO_ERROR_CANCELLED). */
void             kiln_thumbnailer_load_async  (KilnThumbnailer     *self,
                                               const char          *path,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
/* @width and @height (may be NULL) receive the image's own size, as
 * displayed. Errors are kiln_image_load()'s. */
GdkPixbuf       *kiln_thumbnailer_load_finish (GAsyncResult        *result,
                                               int                 *width,
                                               int                 *height,
                                               GError             **error);

/* Where the thumbnail of @path is or would be cached; NULL when the file
 * cannot be read. */
char            *kiln_thumbnailer_get_cache_file (KilnThumbnailer  *self,
                                                  const char       *path);

G_END_DECLS
