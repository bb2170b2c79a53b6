/* kiln-dist-none.c: KilnDist where meson found no MPI. Only
 * kiln_dist_new() is reached (it refuses); the rest keep the symbols. */
#include "config.h"

#include "kiln-dist.h"
#include "kiln-error.h"

gboolean
kiln_dist_available (void)
{
  return FALSE;
}

KilnDist *
kiln_dist_new (GError **error)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
               "--distributed needs a Kiln built with MPI, and this one was built without it; install Open MPI "
               "(Debian: openmpi-bin libopenmpi-dev) and build again");
  return NULL;
}

void
kiln_dist_free (KilnDist *self)
{
  g_return_if_fail (self == NULL);
}

int
kiln_dist_get_rank (KilnDist *self)
{
  g_return_val_if_reached (0);
}

int
kiln_dist_get_size (KilnDist *self)
{
  g_return_val_if_reached (1);
}

void
kiln_dist_attach (KilnDist *self, KilnNet *net)
{
  g_return_if_reached ();
}

gboolean
kiln_dist_finish_grads (KilnDist *self, KilnNet *net, GError **error)
{
  g_return_val_if_reached (FALSE);
}

gboolean
kiln_dist_sum (KilnDist *self, double *values, int n, GError **error)
{
  g_return_val_if_reached (FALSE);
}

void
kiln_dist_interrupt (KilnDist *self)
{
  g_return_if_reached ();
}

gboolean
kiln_dist_broadcast_string (KilnDist *self, char **text, GError **error)
{
  g_return_val_if_reached (FALSE);
}

double
kiln_dist_take_reduce_seconds (KilnDist *self, guint *n_steps)
{
  g_return_val_if_reached (0);
}
