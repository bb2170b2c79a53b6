/* kiln-gather-job.c: one HTTP download over libsoup 3 (see the header).
 * Everything here runs on the run's worker thread; the verdict of each
 * attempt goes to kiln_gather_run_job_over(), exactly once. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-gather-check.h"
#include "kiln-gather-job.h"
#include "kiln-gather-response.h"
#include "kiln-gatherer-private.h"

#define READ_CHUNK (64 * 1024)
/* A rejected response's body is read to its end up to this much, so that
 * the connection can be reused. */
#define DRAIN_MAX (64 * 1024)

GUri *
kiln_gather_parse_http_url (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  const char *host = uri ? g_uri_get_host (uri) : NULL;

  if (host == NULL || *host == '\0' ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0))
    return NULL;
  return g_steal_pointer (&uri);
}

char *
kiln_gather_host_key (GUri *uri)
{
  return g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
}

KilnGatherJob *
kiln_gather_job_new (KilnGatherRun *run,
                     const char    *url,
                     const char    *wnid)
{
  g_autoptr(GUri) uri = kiln_gather_parse_http_url (url);
  KilnGatherJob *job;

  /* Checked now, so that starting a job never ends it on the spot. */
  if (uri == NULL)
    return NULL;
  job = g_new0 (KilnGatherJob, 1);
  job->run = run;
  job->item = kiln_gather_item_new (run->req, url, wnid);
  job->host = kiln_gather_host_key (uri);
  job->uri = g_steal_pointer (&uri);
  job->fd = -1;
  return job;
}

static void
clear_timer (GSource **timer)
{
  if (*timer)
    g_source_destroy (*timer);
  g_clear_pointer (timer, g_source_unref);
}

static void
job_clear_timers (KilnGatherJob *job)
{
  clear_timer (&job->connect_timer);
  clear_timer (&job->total_timer);
  clear_timer (&job->retry_timer);
}

static void
job_close_file (KilnGatherJob *job)
{
  if (job->fd >= 0)
    close (job->fd);
  job->fd = -1;
}

/* Drops everything of the current attempt: timers, message, body, file. */
static void
job_drop_attempt (KilnGatherJob *job)
{
  job_clear_timers (job);
  if (job->msg)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  g_clear_object (&job->body);
  g_clear_object (&job->cancellable);
  job_close_file (job);
  kiln_gather_item_drop_body (job->item);
  job->item->landing = KILN_GATHER_LANDED_ASKED;
  g_clear_pointer (&job->item->final_url, g_free);
  g_clear_pointer (&job->item->host, g_free);
}

void
kiln_gather_job_free (KilnGatherJob *job)
{
  job_drop_attempt (job);
  kiln_gather_item_free (job->item);
  g_uri_unref (job->uri);
  g_free (job->host);
  g_free (job->retry_what);
  g_free (job);
}

void
kiln_gather_job_cancel (KilnGatherJob *job)
{
  if (job->cancellable)
    g_cancellable_cancel (job->cancellable);
}

static void
job_over (KilnGatherJob *job, KilnGatherJobVerdict verdict)
{
  if (verdict != KILN_GATHER_JOB_BODY)
    job_clear_timers (job);
  kiln_gather_run_job_over (job->run, job, verdict);
}

static void
job_end (KilnGatherJob *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
         const char *format, ...) G_GNUC_PRINTF (4, 5);

/* Ends the job without a body to keep. */
static void
job_end (KilnGatherJob *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
         const char *format, ...)
{
  va_list args;

  va_start (args, format);
  kiln_gather_item_set_resultv (job->item, outcome, reason, format, args);
  va_end (args);
  job_over (job, KILN_GATHER_JOB_ENDED);
}

/* The run stops for a reason of its own (the disk is full): nothing to
 * record for this URL, which the next run fetches. */
static void
job_fatal (KilnGatherJob *job, GError *error)
{
  kiln_gather_run_set_fatal (job->run, error);
  job_over (job, KILN_GATHER_JOB_ABANDONED);
}

static double
deadline_s (KilnGatherJob *job)
{
  return job->run->req->url_deadline_ms / 1000.0;
}

/* Temporary failures come back after a delay, up to max_retries times and
 * within the URL's deadline. */
static void
job_retry (KilnGatherJob *job, KilnGatherReason reason, gint64 retry_after_ms, const char *what)
{
  const KilnGatherRequest *req = job->run->req;
  guint64 delay;

  if (kiln_gather_run_stopping (job->run))
    {
      job_over (job, KILN_GATHER_JOB_ABANDONED);
      return;
    }
  if (job->attempt >= req->max_retries)
    {
      job_end (job, KILN_DOWNLOAD_FAILED, reason, "%s (after %u attempts)", what, job->attempt + 1);
      return;
    }
  if (retry_after_ms >= 0)
    delay = retry_after_ms;
  else
    delay = (guint64) req->backoff_ms << MIN (job->attempt, 16);
  if (delay > req->max_retry_after_ms)
    {
      job_end (job, KILN_DOWNLOAD_FAILED, reason, "%s; the server asks to wait %" G_GUINT64_FORMAT
               " s, over the %u s cap", what, delay / 1000, req->max_retry_after_ms / 1000);
      return;
    }
  /* Up to a quarter more, so retries of many URLs do not arrive together. */
  if (retry_after_ms < 0)
    delay += g_random_int_range (0, (gint32) MIN (delay / 4 + 1, G_MAXINT32));
  if (g_get_monotonic_time () + (gint64) delay * 1000 >= job->deadline_us)
    {
      job_end (job, KILN_DOWNLOAD_FAILED, reason, "%s; no time left for attempt %u within the URL's "
               "deadline of %.1f s", what, job->attempt + 2, deadline_s (job));
      return;
    }

  job_drop_attempt (job);
  job->timed_out = KILN_GATHER_TIMEOUT_NONE;
  job->drained = 0;
  job->attempt++;
  job->retry_delay_ms = delay;
  job_over (job, KILN_GATHER_JOB_RETRY);
}

static void
job_network_error (KilnGatherJob *job, GError *error)
{
  const KilnGatherRequest *req = job->run->req;
  guint64 received = job->item->n_bytes;

  if (kiln_gather_run_stopping (job->run))
    job_over (job, KILN_GATHER_JOB_ABANDONED);
  else if (job->timed_out == KILN_GATHER_TIMEOUT_DEADLINE)
    job_end (job, KILN_DOWNLOAD_FAILED, KILN_GATHER_REASON_TIMEOUT,
             "no complete answer within the URL's deadline of %.1f s (%u attempts; %" G_GUINT64_FORMAT
             " bytes came in the last)", deadline_s (job), job->attempt + 1, received);
  else if (job->timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autofree char *what = NULL;

      if (job->timed_out == KILN_GATHER_TIMEOUT_CONNECT)
        what = g_strdup_printf ("no connection within %.1f s", req->connect_timeout_ms / 1000.0);
      else if (job->timed_out == KILN_GATHER_TIMEOUT_TOTAL)
        what = g_strdup_printf ("no complete answer within %.1f s (%" G_GUINT64_FORMAT " bytes came)",
                                req->total_timeout_ms / 1000.0, received);
      else
        what = g_strdup (error->message);
      job_retry (job, KILN_GATHER_REASON_TIMEOUT, -1, what);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    {
      g_autofree char *what = job->expected >= 0
        ? g_strdup_printf ("the connection closed after %" G_GUINT64_FORMAT " of the %" G_GOFFSET_FORMAT
                           " bytes announced", received, job->expected)
        : g_strdup_printf ("the connection closed after %" G_GUINT64_FORMAT " bytes, before the body ended",
                           received);
      job_retry (job, KILN_GATHER_REASON_TRUNCATED, -1, what);
    }
  else if (g_error_matches (error, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_REDIRECT_BAD_URI) ||
           g_error_matches (error, SOUP_SESSION_ERROR, SOUP_SESSION_ERROR_TOO_MANY_REDIRECTS))
    {
      if (job->msg)
        job->item->http_status = soup_message_get_status (job->msg);
      job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_REDIRECT, "%s", error->message);
    }
  else
    job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_NETWORK, "%s", error->message);
}

static gboolean
timeout_cb (KilnGatherJob *job, KilnGatherTimeout kind)
{
  job->timed_out = kind;
  g_cancellable_cancel (job->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
connect_timeout_cb (gpointer data)
{
  return timeout_cb (data, KILN_GATHER_TIMEOUT_CONNECT);
}

static gboolean
total_timeout_cb (gpointer data)
{
  return timeout_cb (data, KILN_GATHER_TIMEOUT_TOTAL);
}

static gboolean
deadline_cb (gpointer data)
{
  return timeout_cb (data, KILN_GATHER_TIMEOUT_DEADLINE);
}

static void
on_wrote_headers (SoupMessage *msg, gpointer data)
{
  KilnGatherJob *job = data;

  /* Connected: from here the total timeout alone applies. */
  clear_timer (&job->connect_timer);
}

static void read_more (KilnGatherJob *job);

static void
on_drained (GObject *source, GAsyncResult *result, gpointer data)
{
  KilnGatherJob *job = data;
  gssize n = g_input_stream_skip_finish (G_INPUT_STREAM (source), result, NULL);

  if (kiln_gather_run_stopping (job->run))
    {
      job_over (job, KILN_GATHER_JOB_ABANDONED);
      return;
    }
  if (n > 0 && (job->drained += n) < DRAIN_MAX)
    {
      g_input_stream_skip_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable, on_drained, job);
      return;
    }
  if (job->retry_what)
    {
      g_autofree char *what = g_steal_pointer (&job->retry_what);
      job_retry (job, KILN_GATHER_REASON_SERVER, job->retry_after_ms, what);
      return;
    }
  job_over (job, KILN_GATHER_JOB_ENDED);
}

/* Reads a small body nobody wants to its end before the verdict already
 * made is handed on: the connection then goes back to the pool instead of
 * closing (broken links cluster on the same hosts). The timers still bound
 * the read. */
static void
drain_then_end (KilnGatherJob *job)
{
  job_close_file (job);
  kiln_gather_item_drop_body (job->item);
  g_input_stream_skip_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable, on_drained, job);
}

/* The end of the body: every announced byte must have come (libsoup ends
 * an HTTP/1.0 body at the close, short or not). */
static void
body_complete (KilnGatherJob *job)
{
  KilnGatherItem *item = job->item;

  if (job->expected >= 0 && item->n_bytes != (guint64) job->expected)
    {
      g_autofree char *what = g_strdup_printf ("the body ended after %" G_GUINT64_FORMAT " of the %"
                                               G_GOFFSET_FORMAT " bytes announced", item->n_bytes, job->expected);
      job_retry (job, KILN_GATHER_REASON_TRUNCATED, -1, what);
      return;
    }
  job_close_file (job);
  /* The connection is free; the checks follow. */
  job_clear_timers (job);
  g_clear_object (&job->body);
  job_over (job, KILN_GATHER_JOB_BODY);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  KilnGatherJob *job = data;
  KilnGatherItem *item = job->item;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  const guint8 *chunk;
  gsize size;

  if (bytes == NULL)
    {
      job_network_error (job, error);
      return;
    }
  chunk = g_bytes_get_data (bytes, &size);
  if (size == 0)
    {
      body_complete (job);
      return;
    }
  if (item->n_bytes == 0 && !kiln_gather_check_start (item, chunk, size))
    {
      drain_then_end (job);
      return;
    }
  if (!kiln_gather_store_write (job->fd, item->body, chunk, size, &error))
    {
      job_fatal (job, g_steal_pointer (&error));
      return;
    }
  item->n_bytes += size;
  kiln_gather_progress_add_bytes (job->run, size);
  if (!kiln_gather_check_size (job->run->req, item, item->n_bytes))
    {
      job_over (job, KILN_GATHER_JOB_ENDED);
      return;
    }
  read_more (job);
}

static void
read_more (KilnGatherJob *job)
{
  g_input_stream_read_bytes_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable,
                                   on_read, job);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  KilnGatherJob *job = data;
  KilnGatherItem *item = job->item;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  GUri *final = soup_message_get_uri (job->msg);
  KilnGatherResponse response = { 0 };

  if (body == NULL)
    {
      job_network_error (job, error);
      return;
    }
  job->body = g_steal_pointer (&body);
  switch (kiln_gather_response_judge (job->run->req, item, job->uri, final, soup_message_get_status (job->msg),
                                      soup_message_get_reason_phrase (job->msg),
                                      soup_message_get_response_headers (job->msg), &response))
    {
    case KILN_GATHER_RESPONSE_RETRY:
      /* Retried (or failed) once the small error body is read. */
      job->retry_what = g_steal_pointer (&response.retry_what);
      job->retry_after_ms = response.retry_after_ms;
      g_input_stream_skip_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable, on_drained, job);
      return;
    case KILN_GATHER_RESPONSE_REJECT:
      drain_then_end (job);
      return;
    case KILN_GATHER_RESPONSE_ENDED:
      job_over (job, KILN_GATHER_JOB_ENDED);
      return;
    case KILN_GATHER_RESPONSE_READ:
    default:
      break;
    }

  job->expected = response.expected;
  item->host = kiln_gather_host_key (final);
  job->fd = kiln_gather_store_create_body (job->run->store, &item->body, &error);
  if (job->fd < 0)
    {
      job_fatal (job, g_steal_pointer (&error));
      return;
    }
  item->body_is_temp = TRUE;
  read_more (job);
}

static GSource *
add_timer (KilnGatherJob *job, gint64 ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new ((guint) CLAMP (ms, 1, G_MAXUINT));

  g_source_set_callback (source, func, job, NULL);
  g_source_attach (source, job->run->ctx);
  return source;
}

void
kiln_gather_job_start (KilnGatherJob *job)
{
  KilnGatherRun *run = job->run;
  const KilnGatherRequest *req = run->req;
  gint64 now = g_get_monotonic_time ();
  gint64 left_ms;

  if (job->deadline_us == 0)
    job->deadline_us = now + (gint64) req->url_deadline_ms * 1000;
  left_ms = (job->deadline_us - now) / 1000;
  job->item->attempts = job->attempt + 1;
  job->expected = -1;
  job->msg = soup_message_new_from_uri ("GET", job->uri);
  job->cancellable = g_cancellable_new ();
  g_signal_connect (job->msg, "wrote-headers", G_CALLBACK (on_wrote_headers), job);
  job->connect_timer = add_timer (job, MIN (req->connect_timeout_ms, left_ms), connect_timeout_cb);
  if (req->total_timeout_ms < left_ms)
    job->total_timer = add_timer (job, req->total_timeout_ms, total_timeout_cb);
  else
    job->total_timer = add_timer (job, left_ms, deadline_cb);
  soup_session_send_async (run->session, job->msg, G_PRIORITY_DEFAULT, job->cancellable, on_sent, job);
}
