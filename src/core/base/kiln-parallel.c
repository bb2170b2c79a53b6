#include "config.h"

#include "kiln-parallel.h"

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
