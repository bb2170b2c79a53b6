/* kiln-dist.h: data-parallel training over MPI (`mpirun -np N kiln-cli
 * train … --distributed`).
 *
 * Every rank holds the whole net. After each layer's backward its weight
 * gradients are copied to a host bucket and summed across the ranks with
 * a non-blocking MPI_Iallreduce, one per layer, while the layers below
 * still run backward (polled with MPI_Testall between layers, since Open
 * MPI advances collectives only inside MPI calls); before the update every
 * bucket is waited for, divided by N and put back. With each rank on its
 * B/N slice of the global batch and the loss a mean over the slice, the
 * update is the one batch B gives on one rank, up to summation order —
 * for nets without batch norm or dropout: batch-norm statistics are each
 * rank's own slice's, and dropout masks are drawn per rank.
 *
 * Errors come back (MPI_ERRORS_RETURN) as GErrors naming the rank, instead
 * of Open MPI's default of aborting the job, so rank 0 can keep a
 * checkpoint before it stops. A rank killed outright is noticed by mpirun
 * first, which sends the others SIGTERM: kiln_dist_interrupt() turns a
 * wait that then stays open into such an error.
 *
 * Built only where meson found MPI; elsewhere kiln_dist_new() says that
 * --distributed needs a build with MPI.
 *
 * Threads: MPI is initialised on the thread that calls kiln_dist_new() with
 * MPI_THREAD_SERIALIZED; calls may then come from one other thread at a
 * time (the trainer's worker). */
#pragma once

#include <glib.h>

#include "kiln-net.h"

G_BEGIN_DECLS

typedef struct _KilnDist KilnDist;

/* Whether this Kiln was built with MPI. */
gboolean  kiln_dist_available       (void);
/* Initialises MPI (once per process). */
KilnDist *kiln_dist_new             (GError      **error);
/* Finalises MPI. */
void      kiln_dist_free            (KilnDist     *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnDist, kiln_dist_free)

int       kiln_dist_get_rank        (KilnDist     *self);
int       kiln_dist_get_size        (KilnDist     *self);

/* Reduces @net's gradients layer by layer as its backward goes. */
void      kiln_dist_attach          (KilnDist     *self,
                                     KilnNet      *net);
/* After the backward: waits for every bucket and leaves the mean
 * gradients in the net. */
gboolean  kiln_dist_finish_grads    (KilnDist     *self,
                                     KilnNet      *net,
                                     GError      **error);
/* Sums @n doubles over the ranks, in place (blocking). */
gboolean  kiln_dist_sum             (KilnDist     *self,
                                     double       *values,
                                     int           n,
                                     GError      **error);
/* From any thread (a signal handler's idle): the run is stopping. The
 * step's collectives still complete when every rank stops too; one still
 * open 0.3 s later (a dead rank) fails instead of waiting for ever, and
 * kiln_dist_free() then ends the job with MPI_Abort. */
void      kiln_dist_interrupt       (KilnDist     *self);
/* Rank 0's *@text (NULL allowed) replaces every other rank's. */
gboolean  kiln_dist_broadcast_string (KilnDist    *self,
                                      char        **text,
                                      GError      **error);
/* Seconds spent in gradient all-reduce calls (starting, polling, waiting)
 * since the last call, and how many steps they covered. */
double    kiln_dist_take_reduce_seconds (KilnDist *self,
                                         guint    *n_steps);

G_END_DECLS
