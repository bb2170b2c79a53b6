/* kiln_parallel_for runs every index once, on worker threads; a process
 * that asked for background workers (the window) gets them at a lower
 * scheduling priority than its main thread, a command line process not. */
#include <glib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kiln-parallel.h"

typedef struct {
  gint    *hits;
  int      main_nice;
  gint     lowered;       /* workers whose nice was above the main thread's */
  gint     same;
} Seen;

static void
visit (guint index, gpointer data)
{
  Seen *seen = data;
  int nice = getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));

  g_atomic_int_inc (&seen->hits[index]);
  if (nice > seen->main_nice)
    g_atomic_int_inc (&seen->lowered);
  else
    g_atomic_int_inc (&seen->same);
}

static void
run (Seen *seen, guint n)
{
  seen->hits = g_new0 (gint, n);
  seen->main_nice = getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
  kiln_parallel_for (n, 4, visit, seen, NULL, NULL);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (seen->hits[i], ==, 1);
  g_free (seen->hits);
}

static void
test_every_index_once_at_normal_priority (void)
{
  Seen seen = { 0 };

  run (&seen, 1000);
  /* Nothing asked for background workers yet: priorities untouched. */
  g_assert_cmpint (seen.lowered, ==, 0);
}

static void
test_background_workers_yield (void)
{
  Seen seen = { 0 };

  kiln_parallel_set_worker_nice (5);
  run (&seen, 1000);
  if (seen.main_nice >= 19)
    {
      g_test_skip ("this process already runs at the lowest priority (nice 19)");
      return;
    }
  g_assert_cmpint (seen.lowered, ==, 1000);
  /* The main thread keeps its priority. */
  g_assert_cmpint (getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid)), ==, seen.main_nice);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/every-index-once", test_every_index_once_at_normal_priority);
  g_test_add_func ("/parallel/background-workers-yield", test_background_workers_yield);
  return g_test_run ();
}
