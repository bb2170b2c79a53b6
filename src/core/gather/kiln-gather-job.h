/* kiln-gather-job.h: one HTTP download. A job sends its GET, bounds it by
 * the connect and total timeouts and the size cap, rejects what is no
 * image before reading it (non-2xx status, a redirect to another file, a
 * content type that is not an image), reads the body, and decides about
 * retries (timeouts, 429 and 5xx only; Retry-After honoured, backoff with
 * jitter otherwise). Each attempt ends in one verdict that the job hands
 * to the run (kiln_gather_run_job_over), which owns the slots, the limits,
 * the pool and the store: the job only knows HTTP.
 *
 * Threads: a job lives on the run's worker thread and its GMainContext. */
#pragma once

#include <libsoup/soup.h>

#include "kiln-gather-item.h"

G_BEGIN_DECLS

typedef struct _KilnGatherRun KilnGatherRun;

typedef enum {
  KILN_GATHER_JOB_BODY,       /* item->data holds the whole body: check and store it */
  KILN_GATHER_JOB_RETRY,      /* a temporary failure: start again after retry_delay_ms */
  KILN_GATHER_JOB_ENDED,      /* the item's outcome is set: record it */
  KILN_GATHER_JOB_ABANDONED,  /* the run stops: nothing to record */
} KilnGatherJobVerdict;

typedef enum {
  KILN_GATHER_TIMEOUT_NONE,
  KILN_GATHER_TIMEOUT_CONNECT,
  KILN_GATHER_TIMEOUT_TOTAL,
} KilnGatherTimeout;

typedef struct {
  KilnGatherRun     *run;
  KilnGatherItem    *item;
  char              *host;           /* "host:port", NULL when not http(s) */
  guint              attempt;
  guint64            retry_delay_ms; /* with KILN_GATHER_JOB_RETRY */

  /* The run's, while the job holds a connection slot or waits to retry. */
  gboolean           holds_host;
  GSource           *retry_timer;
  gboolean           kept;           /* set by the pool: its image was kept */

  /* The current attempt. */
  SoupMessage       *msg;
  GCancellable      *cancellable;
  GInputStream      *body;
  GSource           *connect_timer;
  GSource           *total_timer;
  KilnGatherTimeout  timed_out;
  gsize              drained;
  char              *retry_what;     /* set while draining before a retry */
  gint64             retry_after_ms;
} KilnGatherJob;

/* A job for @url, or NULL when @url is no http(s) URL that can be fetched. */
KilnGatherJob *kiln_gather_job_new    (KilnGatherRun *run,
                                       const char    *url,
                                       const char    *wnid);
void           kiln_gather_job_free   (KilnGatherJob *job);
/* Starts an attempt; it ends in one call of kiln_gather_run_job_over(). */
void           kiln_gather_job_start  (KilnGatherJob *job);
/* Ends the current attempt at once (its verdict follows); a job waiting
 * for its retry has no attempt and is left alone. */
void           kiln_gather_job_cancel (KilnGatherJob *job);

G_END_DECLS
