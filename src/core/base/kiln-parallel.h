/* kiln-parallel.h: a parallel loop that reports progress.
 *
 * Threads: @func runs on worker threads; @progress is called on the thread
 * that called kiln_parallel_for(). */
#pragma once

#include "kiln-progress.h"

G_BEGIN_DECLS

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

/* A desktop process asks that its worker threads yield to its main thread:
 * from then on each worker lowers its own scheduling priority by @nice
 * more than it inherited (setpriority on the thread) the first time it
 * runs Kiln work, so a
 * window keeps drawing while an inspection uses every core. 0 (the
 * default, and the command line's) leaves priorities alone. */
void kiln_parallel_set_worker_nice (int nice);
/* Called by worker threads before Kiln work; cheap after the first call. */
void kiln_parallel_enter_worker    (void);

G_END_DECLS
