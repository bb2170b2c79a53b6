/* kiln-dist.c: KilnDist over MPI (built where meson found MPI). */
#include "config.h"

#include <mpi.h>
#include <string.h>

#include "kiln-dist.h"
#include "kiln-error.h"

typedef struct {
  int          layer;
  float       *data;
  gint64       n;
  MPI_Request  request;
} Bucket;

struct _KilnDist
{
  int         rank, size;
  gboolean    finalize;     /* we initialised MPI */
  GArray     *buckets;      /* Bucket, in the order the backward made them */
  GHashTable *buffers;      /* layer → float * (reused every step) */
  double      reduce_s;
  guint       reduce_steps;
  gint        interrupted;  /* atomic: a signal asked the run to stop */
  gboolean    failed;       /* a collective failed or was given up */
};

/* After a stop was asked for, a collective that has not completed within
 * this long is given up: the other ranks are likely gone (mpirun sends the
 * survivors SIGTERM, then SIGKILL a second later by default). */
#define INTERRUPT_GRACE_US (300 * 1000)

gboolean
kiln_dist_available (void)
{
  return TRUE;
}

static gboolean
check (KilnDist *self, int rc, const char *what, GError **error)
{
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;

  if (rc == MPI_SUCCESS)
    return TRUE;
  self->failed = TRUE;
  if (MPI_Error_string (rc, text, &len) != MPI_SUCCESS)
    g_strlcpy (text, "unknown MPI error", sizeof text);
  g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
               "rank %d of %d: %s failed (%s): another rank has probably stopped or lost its connection; "
               "resume the run with --resume, with the same or another number of ranks",
               self ? self->rank : -1, self ? self->size : -1, what, text);
  return FALSE;
}

/* MPI_Wait that gives up once a stop was asked for and the request stays
 * open past the grace period. It yields between tests, as Open MPI's own
 * wait does when ranks outnumber cores. */
static gboolean
wait_request (KilnDist *self, MPI_Request *request, const char *what, GError **error)
{
  gint64 since = 0;
  int done = 0;

  while (TRUE)
    {
      if (!check (self, MPI_Test (request, &done, MPI_STATUS_IGNORE), what, error))
        return FALSE;
      if (done)
        return TRUE;
      if (g_atomic_int_get (&self->interrupted))
        {
          gint64 now = g_get_monotonic_time ();
          if (since == 0)
            since = now;
          else if (now - since > INTERRUPT_GRACE_US)
            {
              self->failed = TRUE;
              g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                           "rank %d of %d: %s was still waiting for the other ranks %.1f s after the run was "
                           "asked to stop: another rank has probably died; resume the run with --resume, "
                           "with the same or another number of ranks", self->rank, self->size, what,
                           INTERRUPT_GRACE_US / 1e6);
              return FALSE;
            }
        }
      g_thread_yield ();
    }
}

void
kiln_dist_interrupt (KilnDist *self)
{
  g_atomic_int_set (&self->interrupted, 1);
}

KilnDist *
kiln_dist_new (GError **error)
{
  g_autofree KilnDist *self = g_new0 (KilnDist, 1);
  int initialized = 0, provided = 0;

  MPI_Initialized (&initialized);
  if (!initialized)
    {
      if (MPI_Init_thread (NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                       "MPI did not start; run Kiln under mpirun (or srun) with --distributed");
          return NULL;
        }
      self->finalize = TRUE;
    }
  else
    MPI_Query_thread (&provided);
  /* The trainer's worker thread makes the calls, not the one that started MPI. */
  if (provided < MPI_THREAD_SERIALIZED)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                   "this MPI gives thread level %d, and Kiln needs MPI_THREAD_SERIALIZED (%d): its trainer "
                   "calls MPI from a worker thread", provided, MPI_THREAD_SERIALIZED);
      if (self->finalize)
        MPI_Finalize ();
      return NULL;
    }
  MPI_Comm_set_errhandler (MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank (MPI_COMM_WORLD, &self->rank);
  MPI_Comm_size (MPI_COMM_WORLD, &self->size);
  self->buckets = g_array_new (FALSE, FALSE, sizeof (Bucket));
  self->buffers = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return g_steal_pointer (&self);
}

void
kiln_dist_free (KilnDist *self)
{
  if (self == NULL)
    return;
  /* Collectives left open (a rank died) would keep MPI_Finalize waiting
   * for ever: end the whole job instead, as MPI's own errors would. */
  if (self->failed)
    MPI_Abort (MPI_COMM_WORLD, 1);
  g_array_unref (self->buckets);
  g_hash_table_unref (self->buffers);
  if (self->finalize)
    MPI_Finalize ();
  g_free (self);
}

int
kiln_dist_get_rank (KilnDist *self)
{
  return self->rank;
}

int
kiln_dist_get_size (KilnDist *self)
{
  return self->size;
}

/* After one layer's backward: its gradients to a bucket, the sum started;
 * then the older buckets get a chance to progress. */
static gboolean
on_grads_ready (KilnNet *net, int layer, gpointer data, GError **error)
{
  KilnDist *self = data;
  gint64 n = kiln_net_get_layer_grads_size (net, layer);
  float *buffer = g_hash_table_lookup (self->buffers, GINT_TO_POINTER (layer));
  gint64 t0;
  Bucket bucket = { layer, NULL, n, MPI_REQUEST_NULL };
  int flag = 0;

  if (n > G_MAXINT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                   "layer %d has %" G_GINT64_FORMAT " gradients, more than one MPI call takes", layer, n);
      return FALSE;
    }
  if (buffer == NULL)
    {
      buffer = g_new (float, n);
      g_hash_table_insert (self->buffers, GINT_TO_POINTER (layer), buffer);
    }
  kiln_net_download_layer_grads (net, layer, buffer);
  bucket.data = buffer;
  t0 = g_get_monotonic_time ();
  if (!check (self, MPI_Iallreduce (MPI_IN_PLACE, buffer, (int) n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                                    &bucket.request), "the gradient all-reduce", error))
    return FALSE;
  g_array_append_val (self->buckets, bucket);
  for (guint i = 0; i < self->buckets->len; i++)
    {
      Bucket *b = &g_array_index (self->buckets, Bucket, i);
      if (b->request != MPI_REQUEST_NULL &&
          !check (self, MPI_Test (&b->request, &flag, MPI_STATUS_IGNORE), "the gradient all-reduce", error))
        return FALSE;
    }
  self->reduce_s += (g_get_monotonic_time () - t0) / 1e6;
  return TRUE;
}

void
kiln_dist_attach (KilnDist *self, KilnNet *net)
{
  kiln_net_set_grads_ready_func (net, on_grads_ready, self);
}

gboolean
kiln_dist_finish_grads (KilnDist *self, KilnNet *net, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  float scale = 1.0f / self->size;
  gboolean ok = TRUE;

  for (guint i = 0; i < self->buckets->len && ok; i++)
    {
      Bucket *b = &g_array_index (self->buckets, Bucket, i);

      ok = wait_request (self, &b->request, "the gradient all-reduce", error);
    }
  self->reduce_s += (g_get_monotonic_time () - t0) / 1e6;
  self->reduce_steps++;
  for (guint i = 0; i < self->buckets->len && ok; i++)
    {
      Bucket *b = &g_array_index (self->buckets, Bucket, i);

      for (gint64 k = 0; k < b->n; k++)
        b->data[k] *= scale;
      kiln_net_upload_layer_grads (net, b->layer, b->data);
    }
  g_array_set_size (self->buckets, 0);
  return ok;
}

gboolean
kiln_dist_sum (KilnDist *self, double *values, int n, GError **error)
{
  MPI_Request request = MPI_REQUEST_NULL;

  return check (self, MPI_Iallreduce (MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &request),
                "summing the step's loss", error) &&
         wait_request (self, &request, "summing the step's loss", error);
}

gboolean
kiln_dist_broadcast_string (KilnDist *self, char **text, GError **error)
{
  /* Length first (-1: NULL), then the bytes. */
  int len = self->rank == 0 ? (*text ? (int) strlen (*text) : -1) : 0;

  if (!check (self, MPI_Bcast (&len, 1, MPI_INT, 0, MPI_COMM_WORLD), "sharing the run folder", error))
    return FALSE;
  if (self->rank != 0)
    {
      g_free (*text);
      *text = len < 0 ? NULL : g_malloc0 (len + 1);
    }
  return len <= 0 || check (self, MPI_Bcast (*text, len, MPI_CHAR, 0, MPI_COMM_WORLD), "sharing the run folder",
                            error);
}

double
kiln_dist_take_reduce_seconds (KilnDist *self, guint *n_steps)
{
  double s = self->reduce_s;

  if (n_steps)
    *n_steps = self->reduce_steps;
  self->reduce_s = 0;
  self->reduce_steps = 0;
  return s;
}
