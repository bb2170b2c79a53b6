/* kiln-gather-job.h: one HTTP download. A job sends its GET, bounds each
 * attempt by the connect and total timeouts and all of them by the URL's
 * deadline, rejects what is no image before reading it (non-2xx status, a
 * redirect to another file, a content type that is not an image, a body
 * that starts as text), streams the body to a temporary file of the store
 * (so a download costs a read buffer, not its size in memory), checks that
 * every announced byte came, and decides about retries (timeouts, short
 * bodies, 429 and 5xx only; Retry-After honoured, backoff with jitter
 * otherwise). Each attempt ends in one verdict that the job hands to the
 * run (kiln_gather_run_job_over), which owns the slots, the limits, the
 * pool and the store: the job only knows HTTP.
 *
 * Threads: a job lives on the run's worker thread and its GMainContext. */
#pragma once

#include <libsoup/soup.h>

#include "kiln-gather-item.h"

G_BEGIN_DECLS

typedef struct _KilnGatherRun KilnGatherRun;

typedef enum {
  KILN_GATHER_JOB_BODY,       /* item->body holds the whole body: check and store it */
  KILN_GATHER_JOB_RETRY,      /* a temporary failure: start again after retry_delay_ms */
  KILN_GATHER_JOB_ENDED,      /* the item's outcome is set: record it */
  KILN_GATHER_JOB_ABANDONED,  /* the run stops: nothing to record */
} KilnGatherJobVerdict;

typedef enum {
  KILN_GATHER_TIMEOUT_NONE,
  KILN_GATHER_TIMEOUT_CONNECT,
  KILN_GATHER_TIMEOUT_TOTAL,
  KILN_GATHER_TIMEOUT_DEADLINE,   /* the URL's deadline, over all attempts */
} KilnGatherTimeout;

typedef struct {
  KilnGatherRun     *run;
  KilnGatherItem    *item;
  GUri              *uri;            /* the URL asked for */
  char              *host;           /* "host:port" */
  guint              attempt;        /* attempts made before the current one */
  guint64            retry_delay_ms; /* with KILN_GATHER_JOB_RETRY */
  gint64             deadline_us;    /* monotonic; set by the first attempt */

  /* The run's, while the job holds a connection slot or waits to retry. */
  gboolean           holds_host;
  GSource           *retry_timer;
  gboolean           kept;           /* set by the pool: its image was kept */

  /* The current attempt. */
  SoupMessage       *msg;
  GCancellable      *cancellable;
  GInputStream      *body;
  int                fd;             /* item->body being written, or -1 */
  goffset            expected;       /* the Content-Length, or -1 */
  GSource           *connect_timer;
  GSource           *total_timer;
  KilnGatherTimeout  timed_out;
  gsize              drained;
  char              *retry_what;     /* set while draining before a retry */
  gint64             retry_after_ms;
} KilnGatherJob;

/* @url parsed as libsoup will, or NULL when it is no http(s) URL with a
 * host name (libsoup warns critically about an empty host). */
GUri          *kiln_gather_parse_http_url (const char    *url);
/* "host:port" of an http(s) URI: the unit of the per-host limits. */
char          *kiln_gather_host_key   (GUri          *uri);

/* A job for @url, or NULL when kiln_gather_parse_http_url() refuses it. */
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
