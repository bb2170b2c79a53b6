#include "config.h"

#include "kiln-parallel.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int worker_nice;

void
kiln_parallel_set_worker_nice (int nice)
{
  g_atomic_int_set (&worker_nice, CLAMP (nice, 0, 19));
}

void
kiln_parallel_enter_worker (void)
{
  /* GLib's pool threads are shared by every pool, so once niced a thread
   * stays so: in a process that asked for it, all its work is background. */
  static __thread gboolean lowered;
  int nice = g_atomic_int_get (&worker_nice);

  if (lowered || nice == 0)
    return;
  lowered = TRUE;
  /* On Linux a thread id names the thread alone. Relative to what the
   * thread inherited (a process started with nice keeps its order); a
   * failure only costs responsiveness. */
  id_t thread = (id_t) syscall (SYS_gettid);
  errno = 0;
  int current = getpriority (PRIO_PROCESS, thread);
  if (errno == 0)
    setpriority (PRIO_PROCESS, thread, MIN (19, current + nice));
}

typedef struct {
  KilnParallelFunc func;
  gpointer         user_data;
  GMutex           mutex;
  GCond            cond;
  guint            done;
} Parallel;

static void
run_one (gpointer item,
         gpointer data)
{
  Parallel *parallel = data;

  kiln_parallel_enter_worker ();
  parallel->func (GPOINTER_TO_UINT (item) - 1, parallel->user_data);
  g_mutex_lock (&parallel->mutex);
  parallel->done++;
  g_cond_signal (&parallel->cond);
  g_mutex_unlock (&parallel->mutex);
}

void
kiln_parallel_for (guint             n,
                   guint             n_threads,
                   KilnParallelFunc  func,
                   gpointer          user_data,
                   KilnProgressFunc  progress,
                   gpointer          progress_data)
{
  Parallel parallel = { func, user_data };
  GThreadPool *pool;

  g_return_if_fail (func != NULL);

  g_mutex_init (&parallel.mutex);
  g_cond_init (&parallel.cond);
  pool = g_thread_pool_new (run_one, &parallel,
                            (int) MIN (n_threads ? n_threads : g_get_num_processors (), MAX (n, 1)),
                            FALSE, NULL);
  for (guint i = 0; i < n; i++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (i + 1), NULL);

  g_mutex_lock (&parallel.mutex);
  while (parallel.done < n)
    {
      guint done;

      g_cond_wait_until (&parallel.cond, &parallel.mutex,
                         g_get_monotonic_time () + G_TIME_SPAN_SECOND / 10);
      done = parallel.done;
      g_mutex_unlock (&parallel.mutex);
      if (progress != NULL && done < n)
        progress (done, n, progress_data);
      g_mutex_lock (&parallel.mutex);
    }
  g_mutex_unlock (&parallel.mutex);
  g_thread_pool_free (pool, FALSE, TRUE);
  g_mutex_clear (&parallel.mutex);
  g_cond_clear (&parallel.cond);
  if (progress != NULL)
    progress (n, n, progress_data);
}
