/* kiln-progress.h: progress callbacks and a parallel loop that reports
 * through them.
 *
 * A KilnProgressFunc is called on the thread that started the work, at
 * most a few times per second; front ends forward it to their own main
 * loop. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*KilnProgressFunc) (guint64   done,
                                  guint64   total,
                                  gpointer  user_data);

typedef void (*KilnParallelFunc) (guint     index,
                                  gpointer  user_data);

/* Calls @func for every index below @n on @n_threads worker threads (0:
 * one per processor) and returns when all are done. Meanwhile the calling
 * thread reports @progress at most ten times a second, and once at the
 * end. @func must be safe to run concurrently. */
void kiln_parallel_for (guint             n,
                        guint             n_threads,
                        KilnParallelFunc  func,
                        gpointer          user_data,
                        KilnProgressFunc  progress,
                        gpointer          progress_data);

G_END_DECLS
