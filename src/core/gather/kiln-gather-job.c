/* kiln-gather-job.c: one HTTP download over libsoup 3 (see the header).
 * Everything here runs on the run's worker thread; the verdict of each
 * attempt goes to kiln_gather_run_job_over(), exactly once. */
#include "config.h"

#include <string.h>

#include "kiln-gather-check.h"
#include "kiln-gather-job.h"
#include "kiln-gatherer-private.h"

#define READ_CHUNK (64 * 1024)
/* A rejected response's body is read to its end up to this much, so that
 * the connection can be reused. */
#define DRAIN_MAX (64 * 1024)

static char *
host_key (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0))
    return NULL;
  return g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
}

KilnGatherJob *
kiln_gather_job_new (KilnGatherRun *run,
                     const char    *url,
                     const char    *wnid)
{
  g_autofree char *host = host_key (url);
  g_autoptr(SoupMessage) msg = host ? soup_message_new ("GET", url) : NULL;
  KilnGatherJob *job;

  /* Checked now, so that starting a job never ends it on the spot. */
  if (msg == NULL)
    return NULL;
  job = g_new0 (KilnGatherJob, 1);
  job->run = run;
  job->item = kiln_gather_item_new (run->req, url, wnid);
  job->host = g_steal_pointer (&host);
  job->msg = g_steal_pointer (&msg);
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

/* Drops everything of the current attempt: timers, message, body, data. */
static void
job_drop_attempt (KilnGatherJob *job)
{
  job_clear_timers (job);
  if (job->msg)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  g_clear_object (&job->body);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->item->data, g_byte_array_unref);
}

void
kiln_gather_job_free (KilnGatherJob *job)
{
  job_drop_attempt (job);
  kiln_gather_item_free (job->item);
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

/* Temporary failures come back after a delay, up to max_retries times. */
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
  guint received = job->item->data ? job->item->data->len : 0;

  if (kiln_gather_run_stopping (job->run))
    job_over (job, KILN_GATHER_JOB_ABANDONED);
  else if (job->timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autofree char *what = NULL;

      if (job->timed_out == KILN_GATHER_TIMEOUT_CONNECT)
        what = g_strdup_printf ("no connection within %.1f s", req->connect_timeout_ms / 1000.0);
      else if (job->timed_out == KILN_GATHER_TIMEOUT_TOTAL)
        what = g_strdup_printf ("no complete answer within %.1f s (%u bytes came)",
                                req->total_timeout_ms / 1000.0, received);
      else
        what = g_strdup (error->message);
      job_retry (job, KILN_GATHER_REASON_TIMEOUT, -1, what);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_NETWORK,
             "the connection closed after %u bytes, before the body ended", received);
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

static void
on_wrote_headers (SoupMessage *msg, gpointer data)
{
  KilnGatherJob *job = data;

  /* Connected: from here the total timeout alone applies. */
  clear_timer (&job->connect_timer);
}

static gint64
parse_retry_after (SoupMessage *msg)
{
  const char *value = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After");
  g_autoptr(GDateTime) when = NULL;
  g_autoptr(GDateTime) now = NULL;
  char *end;
  guint64 seconds;

  if (value == NULL)
    return -1;
  seconds = g_ascii_strtoull (value, &end, 10);
  if (end != value && *end == '\0')
    return (gint64) MIN (seconds, G_MAXINT64 / 1000) * 1000;
  when = soup_date_time_new_from_http_string (value);
  if (when == NULL)
    return -1;
  now = g_date_time_new_now_utc ();
  return MAX (0, g_date_time_difference (when, now) / 1000);
}

/* The last path segment, percent-decoded so that encodings compare equal. */
static char *
path_basename (GUri *uri)
{
  const char *path = uri ? g_uri_get_path (uri) : "";
  const char *slash = strrchr (path, '/');
  const char *base = slash ? slash + 1 : path;
  char *decoded = g_uri_unescape_string (base, NULL);

  return decoded ? decoded : g_strdup (base);
}

static gboolean
acceptable_content_type (const char *type)
{
  return type == NULL || g_str_has_prefix (type, "image/") ||
         g_str_equal (type, "application/octet-stream") || g_str_equal (type, "binary/octet-stream");
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

static void
job_reject_after_body (KilnGatherJob *job, KilnGatherReason reason, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* Rejects a response whose body nobody wants, after reading a small body to
 * its end: the connection then goes back to the pool instead of closing
 * (broken links cluster on the same hosts). The verdict is already made;
 * the timers still bound the read. */
static void
job_reject_after_body (KilnGatherJob *job, KilnGatherReason reason, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  kiln_gather_item_set_resultv (job->item, KILN_DOWNLOAD_REJECTED, reason, format, args);
  va_end (args);
  g_input_stream_skip_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable, on_drained, job);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  KilnGatherJob *job = data;
  GByteArray *received = job->item->data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (bytes == NULL)
    {
      job_network_error (job, error);
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      /* The whole body is here: the connection is free, the checks follow. */
      job_clear_timers (job);
      g_clear_object (&job->body);
      job_over (job, KILN_GATHER_JOB_BODY);
      return;
    }
  g_byte_array_append (received, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  kiln_gather_progress_add_bytes (job->run, g_bytes_get_size (bytes));
  if (!kiln_gather_check_size (job->run->req, job->item, received->len))
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
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  g_autoptr(GUri) original = NULL;
  g_autofree char *want = NULL, *got = NULL;
  SoupMessageHeaders *headers;
  const char *type;
  goffset length;
  guint status;

  if (body == NULL)
    {
      job_network_error (job, error);
      return;
    }
  job->body = g_steal_pointer (&body);
  status = soup_message_get_status (job->msg);
  job->item->http_status = status;
  headers = soup_message_get_response_headers (job->msg);

  if (status == 429 || (status >= 500 && status <= 599))
    {
      /* Retried (or failed) once the small error body is read. */
      job->retry_what = g_strdup_printf ("HTTP %u %s", status, soup_message_get_reason_phrase (job->msg));
      job->retry_after_ms = parse_retry_after (job->msg);
      g_input_stream_skip_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable, on_drained, job);
      return;
    }
  if (status < 200 || status > 299)
    {
      job_reject_after_body (job, KILN_GATHER_REASON_HTTP, "HTTP %u %s", status,
                             soup_message_get_reason_phrase (job->msg));
      return;
    }

  /* Hosts send dead images to a "photo unavailable" picture: a redirect
   * that lands on another file name is not the image asked for. */
  original = g_uri_parse (job->item->url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL);
  want = path_basename (original);
  got = path_basename (soup_message_get_uri (job->msg));
  if (g_strcmp0 (want, got) != 0)
    {
      g_autofree char *final = g_uri_to_string (soup_message_get_uri (job->msg));
      job_reject_after_body (job, KILN_GATHER_REASON_PLACEHOLDER, "redirected to %s, another file", final);
      return;
    }

  type = soup_message_headers_get_content_type (headers, NULL);
  if (!acceptable_content_type (type))
    {
      job_reject_after_body (job, KILN_GATHER_REASON_CONTENT_TYPE, "served as %s", type);
      return;
    }
  length = soup_message_headers_get_content_length (headers);
  if (length > 0 && !kiln_gather_check_size (job->run->req, job->item, length))
    {
      job_over (job, KILN_GATHER_JOB_ENDED);
      return;
    }
  job->item->data = g_byte_array_sized_new (length > 0 ? (guint) length : READ_CHUNK);
  read_more (job);
}

static GSource *
add_timer (KilnGatherJob *job, guint ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, job, NULL);
  g_source_attach (source, job->run->ctx);
  return source;
}

void
kiln_gather_job_start (KilnGatherJob *job)
{
  KilnGatherRun *run = job->run;

  if (job->msg == NULL)
    job->msg = soup_message_new ("GET", job->item->url);
  job->cancellable = g_cancellable_new ();
  g_signal_connect (job->msg, "wrote-headers", G_CALLBACK (on_wrote_headers), job);
  job->connect_timer = add_timer (job, run->req->connect_timeout_ms, connect_timeout_cb);
  job->total_timer = add_timer (job, run->req->total_timeout_ms, total_timeout_cb);
  soup_session_send_async (run->session, job->msg, G_PRIORITY_DEFAULT, job->cancellable, on_sent, job);
}
