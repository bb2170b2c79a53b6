/* kiln-progress.h: the progress callback of long core operations.
 *
 * Called on the thread doing the work, at most a few times per second or
 * per item; front ends forward it to their own main loop. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*KilnProgressFunc) (guint64   done,
                                  guint64   total,
                                  gpointer  user_data);

G_END_DECLS
