#define _GNU_SOURCE  /* memmem */

#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-gatherer.h"
#include "kiln-inspector.h"
#include "kiln-synsets.h"
#include "kiln-url-list.h"

#define READ_CHUNK (64 * 1024)
#define PENDING_LOW 256
#define PENDING_HIGH 2048
#define LINES_PER_FILL 20000
#define MAX_NAME_STEM 120
#define API_MAX_BYTES (64 * 1024 * 1024)
#define PROGRESS_INTERVAL_US (50 * 1000)

static const char * const reason_names[KILN_GATHER_N_REASONS] = {
  [KILN_GATHER_REASON_KEPT] = "kept",
  [KILN_GATHER_REASON_HTTP] = "http",
  [KILN_GATHER_REASON_PLACEHOLDER] = "placeholder",
  [KILN_GATHER_REASON_CONTENT_TYPE] = "content-type",
  [KILN_GATHER_REASON_TOO_LARGE] = "too-large",
  [KILN_GATHER_REASON_TOO_SMALL] = "too-small",
  [KILN_GATHER_REASON_UNDECODABLE] = "undecodable",
  [KILN_GATHER_REASON_TRUNCATED] = "truncated",
  [KILN_GATHER_REASON_TIMEOUT] = "timeout",
  [KILN_GATHER_REASON_NETWORK] = "network",
  [KILN_GATHER_REASON_SERVER] = "server",
};

const char *
kiln_gather_reason_to_string (KilnGatherReason reason)
{
  g_return_val_if_fail (reason < KILN_GATHER_N_REASONS, NULL);
  return reason_names[reason];
}

char *
kiln_gather_progress_format (const KilnGatherProgress *p)
{
  g_autofree char *bytes = g_format_size (p->bytes);
  g_autofree char *rate = g_format_size ((guint64) p->bytes_per_s);
  g_autofree char *eta = NULL;

  if (p->eta_s < 0)
    eta = g_strdup ("?");
  else
    eta = g_strdup_printf ("%d:%02d:%02d", (int) p->eta_s / 3600, ((int) p->eta_s / 60) % 60, (int) p->eta_s % 60);
  /* %llu, not G_GUINT64_FORMAT: xgettext cuts a message at a macro. */
  return g_strdup_printf (_("kept %llu, rejected %llu, failed %llu, retrying %llu, skipped %llu · %s, %s/s, "
                            "%.1f files/s · ETA %s"),
                          (unsigned long long) p->n_kept, (unsigned long long) p->n_rejected,
                          (unsigned long long) p->n_failed, (unsigned long long) p->n_retrying,
                          (unsigned long long) p->n_skipped, bytes, rate, p->files_per_s, eta);
}

char *
kiln_gather_progress_format_reasons (const KilnGatherProgress *p)
{
  GString *text = g_string_new (NULL);

  for (guint r = KILN_GATHER_REASON_KEPT + 1; r < KILN_GATHER_N_REASONS; r++)
    if (p->by_reason[r] > 0)
      g_string_append_printf (text, "%s%s %" G_GUINT64_FORMAT, text->len ? ", " : "", reason_names[r], p->by_reason[r]);
  return g_string_free (text, FALSE);
}

/* Requests --------------------------------------------------------------- */

KilnGatherRequest *
kiln_gather_request_new (KilnGatherSource  source,
                         const char       *location,
                         const char       *wnid)
{
  KilnGatherRequest *req = g_new0 (KilnGatherRequest, 1);

  req->source = source;
  req->location = g_strdup (location);
  req->wnid = g_strdup (wnid);
  req->max_parallel = 32;
  req->max_per_host = 6;
  req->connect_timeout_ms = 10000;
  req->total_timeout_ms = 60000;
  req->max_retries = 3;
  req->backoff_ms = 1000;
  req->max_retry_after_ms = 120000;
  req->max_bytes = 32 * 1024 * 1024;
  req->min_bytes = 1024;
  req->max_pixels = 100 * 1000 * 1000;
  req->placeholder_distance = 6;
  return req;
}

KilnGatherRequest *
kiln_gather_request_copy (const KilnGatherRequest *request)
{
  KilnGatherRequest *copy = g_memdup2 (request, sizeof *request);

  copy->location = g_strdup (request->location);
  copy->wnid = g_strdup (request->wnid);
  copy->class_name = g_strdup (request->class_name);
  copy->placeholders = request->placeholders ? g_array_copy (request->placeholders) : NULL;
  return copy;
}

void
kiln_gather_request_free (KilnGatherRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->location);
  g_free (request->wnid);
  g_free (request->class_name);
  g_clear_pointer (&request->placeholders, g_array_unref);
  g_free (request);
}

/* File names ------------------------------------------------------------- */

static gboolean
has_image_extension (const char *name, gsize *stem_len)
{
  static const char * const exts[] = { ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp",
                                       ".webp", ".tif", ".tiff", ".ico" };
  gsize len = strlen (name);

  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    {
      gsize el = strlen (exts[i]);
      if (len > el && g_ascii_strcasecmp (name + len - el, exts[i]) == 0)
        {
          *stem_len = len - el;
          return TRUE;
        }
    }
  return FALSE;
}

/* Percent-decodes a path segment, except that an encoded '/' stays "%2F"
 * (it must never become a separator) and NUL becomes '_'. */
static char *
decode_segment (const char *segment)
{
  GString *out = g_string_new (NULL);

  for (const char *p = segment; *p; p++)
    {
      int hi, lo;

      if (*p == '%' && (hi = g_ascii_xdigit_value (p[1])) >= 0 && (lo = g_ascii_xdigit_value (p[2])) >= 0)
        {
          char c = (char) (hi * 16 + lo);
          if (c == '/')
            g_string_append_len (out, p, 3);
          else
            g_string_append_c (out, c == '\0' ? '_' : c);
          p += 2;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

char *
kiln_gatherer_file_name_for_url (const char *url,
                                 const char *extension)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL);
  g_autofree char *segment = NULL;
  g_autofree char *decoded = NULL;
  g_autofree char *valid = NULL;
  GString *out;
  const char *path, *slash;
  gsize stem_len;

  /* Archive members are named by the fragment: file:///a.tar#n0….tar/x.JPEG */
  if (uri && g_uri_get_fragment (uri) && g_str_equal (g_uri_get_scheme (uri), "file"))
    path = g_uri_get_fragment (uri);
  else
    path = uri ? g_uri_get_path (uri) : url;
  slash = strrchr (path, '/');
  segment = g_strdup (slash ? slash + 1 : path);
  decoded = decode_segment (segment);
  valid = g_utf8_make_valid (decoded, -1);
  if (has_image_extension (valid, &stem_len))
    valid[stem_len] = '\0';

  out = g_string_new (NULL);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || strchr ("/\\:*?\"<>|", (int) c))
        c = '_';
      /* No leading dots (hidden files, "..") and no runs of dots. */
      if (c == '.' && (out->len == 0 || out->str[out->len - 1] == '.'))
        continue;
      if (g_unichar_isspace (c) && out->len == 0)
        continue;
      g_string_append_unichar (out, g_unichar_isspace (c) ? ' ' : c);
    }
  while (out->len > 0 && (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ' '))
    g_string_truncate (out, out->len - 1);
  if (out->len > MAX_NAME_STEM)
    {
      /* Cut at a character boundary. */
      const char *end = g_utf8_find_prev_char (out->str, out->str + MAX_NAME_STEM + 1);
      g_string_truncate (out, end - out->str);
    }
  if (out->len == 0)
    g_string_assign (out, "image");
  g_string_append_printf (out, ".%s", extension);
  return g_string_free (out, FALSE);
}

static const char *
extension_for_format (const char *format)
{
  if (g_strcmp0 (format, "jpeg") == 0)
    return "jpg";
  if (g_strcmp0 (format, "tiff") == 0)
    return "tif";
  return format ? format : "img";
}

/* The run --------------------------------------------------------------- */

typedef struct _Run Run;

typedef struct {
  guint kept;
  guint in_flight;
} SynsetState;

typedef enum {
  TIMEOUT_NONE,
  TIMEOUT_CONNECT,
  TIMEOUT_TOTAL,
} TimeoutKind;

typedef struct {
  Run              *run;
  char             *url;
  char             *wnid;       /* "" when the source names none */
  char             *class_name;
  char             *host;
  guint             attempt;
  GCancellable     *cancellable;
  SoupMessage      *msg;
  GInputStream     *body;
  GByteArray       *data;
  GSource          *connect_timer;
  GSource          *total_timer;
  GSource          *retry_timer;
  TimeoutKind       timed_out;
  gboolean          holds_host;
  gsize             drained;
  char             *retry_what;    /* set while draining before a retry */
  gint64            retry_after_ms;
  int               http_status;
  /* The result, filled by whoever finishes the job. */
  KilnDownloadOutcome outcome;
  KilnGatherReason  reason;
  char             *detail;
  char             *file;
  gboolean          abandoned;
} Job;

struct _Run
{
  KilnGatherer      *self;
  KilnGatherRequest *req;
  KilnProject       *project;
  GTask             *task;
  GCancellable      *user_cancellable;
  gulong             cancel_id;
  gint               cancelled;     /* atomic */
  GError            *fatal;         /* guarded by lock */
  GMutex             lock;          /* fatal, names, sync_in_flight */
  GCond              cond;

  GMainContext      *ctx;
  GMainLoop         *loop;
  SoupSession       *session;
  GThreadPool       *pool;

  /* Sources. */
  KilnUrlList       *list;
  GHashTable        *wanted;        /* wnid set, NULL = every synset */
  GQueue             api_wnids;     /* char * */
  gboolean           api_busy;
  GSource           *fill_idle;
  gboolean           source_done;

  /* Scheduling (worker thread only). */
  GQueue             pending;       /* Job * */
  GHashTable        *active;        /* Job * set: in flight or waiting */
  GHashTable        *host_in_flight;
  GHashTable        *synsets;       /* key → SynsetState */
  guint              n_synsets_full;
  GHashTable        *done_urls;
  GHashTable        *seen_urls;
  guint              in_flight;
  guint              waiting;
  guint              sync_in_flight;   /* archive/folder: jobs in the pool */
  gboolean           sync_mode;        /* archive/folder: no loop, no network */
  char              *last_source_error;
  guint              api_calls;
  guint              api_errors;
  gboolean           finished;

  char              *tmp_dir;
  GHashTable        *reserved_names;   /* under lock */
  gint64             start_us;
};

struct _KilnGatherer
{
  GObject             parent_instance;

  KilnProject        *project;
  GMainContext       *owner_ctx;
  gint                running;   /* atomic */

  GMutex              lock;
  KilnGatherProgress  progress;
  GSource            *emit_source;   /* the pending emission, or NULL */
  gint64              last_emit_us;
};

G_DEFINE_FINAL_TYPE (KilnGatherer, kiln_gatherer, G_TYPE_OBJECT)

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { SIGNAL_PROGRESS, N_SIGNALS };
static guint signals[N_SIGNALS];

static void pump (Run *run);
static void run_check_finished (Run *run);

/* Progress (any thread) -------------------------------------------------- */

static gboolean
emit_progress_cb (gpointer data)
{
  KilnGatherer *self = data;
  KilnGatherProgress copy;

  g_mutex_lock (&self->lock);
  copy = self->progress;
  g_clear_pointer (&self->emit_source, g_source_unref);
  self->last_emit_us = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, &copy);
  return G_SOURCE_REMOVE;
}

/* Called with self->lock held: one pending emission at a time, at most
 * one per PROGRESS_INTERVAL_US, on the owner's context. */
static void
schedule_progress_locked (KilnGatherer *self,
                          gboolean      now)
{
  GSource *source;
  gint64 since = g_get_monotonic_time () - self->last_emit_us;

  if (self->emit_source)
    return;
  if (now || since >= PROGRESS_INTERVAL_US)
    source = g_idle_source_new ();
  else
    source = g_timeout_source_new ((PROGRESS_INTERVAL_US - since) / 1000 + 1);
  g_source_set_callback (source, emit_progress_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, "[kiln] gather progress");
  g_source_attach (source, self->owner_ctx);
  self->emit_source = source;
}

typedef void (*ProgressEdit) (KilnGatherProgress *p, gpointer data);

/* Recomputes the derived numbers; @run's counters are read by the worker
 * only, so callers on other threads pass queued = -1 to keep the value. */
static void
progress_update (Run *run, gint64 queued, gboolean source_done,
                 ProgressEdit edit, gpointer data, gboolean now)
{
  KilnGatherer *self = run->self;
  KilnGatherProgress *p = &self->progress;

  g_mutex_lock (&self->lock);
  if (edit)
    edit (p, data);
  if (queued >= 0)
    {
      p->n_queued = queued;
      p->source_done = source_done;
    }
  p->n_done = p->n_kept + p->n_rejected + p->n_failed;
  p->elapsed_s = (g_get_monotonic_time () - run->start_us) / 1e6;
  if (p->elapsed_s > 0)
    {
      p->files_per_s = p->n_done / p->elapsed_s;
      p->bytes_per_s = p->bytes / p->elapsed_s;
    }
  p->eta_s = (p->source_done && p->files_per_s > 0) ? p->n_queued / p->files_per_s : -1;
  schedule_progress_locked (self, now);
  g_mutex_unlock (&self->lock);
}

static void
edit_count_result (KilnGatherProgress *p, gpointer data)
{
  Job *job = data;

  switch (job->outcome)
    {
    case KILN_DOWNLOAD_KEPT: p->n_kept++; break;
    case KILN_DOWNLOAD_REJECTED: p->n_rejected++; break;
    default: p->n_failed++; break;
    }
  p->by_reason[job->reason]++;
}

static void
edit_add_bytes (KilnGatherProgress *p, gpointer data)
{
  p->bytes += GPOINTER_TO_SIZE (data);
}

static void
edit_skipped (KilnGatherProgress *p, gpointer data)
{
  p->n_skipped += GPOINTER_TO_UINT (data);
}

static void
edit_over_limit (KilnGatherProgress *p, gpointer data)
{
  p->n_over_limit += GPOINTER_TO_UINT (data);
}

static void
edit_source_error (KilnGatherProgress *p, gpointer data)
{
  p->n_source_errors++;
}

static void
edit_flight (KilnGatherProgress *p, gpointer data)
{
  Run *run = data;

  p->n_in_flight = run->in_flight + run->sync_in_flight;
  p->n_retrying = run->waiting;
}

static void
worker_progress (Run *run, ProgressEdit edit, gpointer data)
{
  progress_update (run, g_queue_get_length (&run->pending) + run->in_flight + run->waiting,
                   run->source_done, edit, data, FALSE);
}

/* Jobs ------------------------------------------------------------------- */

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

static const char *
class_for (Run *run, const char *wnid)
{
  if (run->req->class_name)
    return run->req->class_name;
  if (run->req->wnid)
    return run->req->wnid;
  return *wnid ? wnid : "unsorted";
}

static Job *
job_new (Run *run, const char *url, const char *wnid)
{
  Job *job = g_new0 (Job, 1);

  job->run = run;
  job->url = g_strdup (url);
  job->wnid = g_strdup (wnid ? wnid : "");
  job->class_name = g_strdup (class_for (run, job->wnid));
  job->host = host_key (url);
  return job;
}

static void
job_clear_timers (Job *job)
{
  if (job->connect_timer)
    g_source_destroy (job->connect_timer);
  g_clear_pointer (&job->connect_timer, g_source_unref);
  if (job->total_timer)
    g_source_destroy (job->total_timer);
  g_clear_pointer (&job->total_timer, g_source_unref);
  if (job->retry_timer)
    g_source_destroy (job->retry_timer);
  g_clear_pointer (&job->retry_timer, g_source_unref);
}

/* Drops everything of the current attempt: timers, message, body, data. */
static void
job_drop_attempt (Job *job)
{
  job_clear_timers (job);
  if (job->msg)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  g_clear_object (&job->body);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->data, g_byte_array_unref);
}

static void
job_free (Job *job)
{
  job_drop_attempt (job);
  g_free (job->url);
  g_free (job->wnid);
  g_free (job->class_name);
  g_free (job->host);
  g_free (job->detail);
  g_free (job->file);
  g_free (job->retry_what);
  g_free (job);
}

static SynsetState *
synset_state (Run *run, const char *wnid)
{
  SynsetState *st = g_hash_table_lookup (run->synsets, wnid);

  if (st == NULL)
    {
      st = g_new0 (SynsetState, 1);
      g_hash_table_insert (run->synsets, g_strdup (wnid), st);
    }
  return st;
}

static void
run_set_fatal (Run *run, GError *error)
{
  g_mutex_lock (&run->lock);
  if (run->fatal == NULL)
    run->fatal = error;
  else
    g_error_free (error);
  g_mutex_unlock (&run->lock);
  g_atomic_int_set (&run->cancelled, TRUE);
}

static void
job_set_resultv (Job *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
                 const char *format, va_list args) G_GNUC_PRINTF (4, 0);

static void
job_set_resultv (Job *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
                 const char *format, va_list args)
{
  g_autofree char *text = g_strdup_vprintf (format, args);

  job->outcome = outcome;
  job->reason = reason;
  g_free (job->detail);
  job->detail = g_strdup_printf ("%s: %s", reason_names[reason], text);
}

static void
job_set_result (Job *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
                const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
job_set_result (Job *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
                const char *format, ...)
{
  va_list args;

  va_start (args, format);
  job_set_resultv (job, outcome, reason, format, args);
  va_end (args);
}

/* Stores a finished job's outcome (any thread; the project serialises). */
static void
job_record (Job *job)
{
  Run *run = job->run;
  g_autoptr(GError) error = NULL;

  if (!kiln_project_record_download (run->project, job->url, *job->wnid ? job->wnid : NULL,
                                     job->outcome, job->http_status, job->detail, job->file, &error))
    {
      g_prefix_error (&error, "recording %s: ", job->url);
      run_set_fatal (run, g_steal_pointer (&error));
      return;
    }
  progress_update (run, -1, FALSE, edit_count_result, job, FALSE);
}

/* Validation and storage (pool thread) ----------------------------------- */

typedef struct {
  guint max_pixels;
  gboolean too_big;
  gboolean keep_detail;   /* placeholders are compared: decode at >= 64 px */
  int width, height;
} SizeCheck;

static gboolean
is_jpeg (GdkPixbufFormat *format)
{
  g_autofree char *name = format ? gdk_pixbuf_format_get_name (format) : NULL;

  return g_strcmp0 (name, "jpeg") == 0;
}

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  SizeCheck *check = data;

  check->width = width;
  check->height = height;
  if (width <= 0 || height <= 0 || (guint64) width * height > check->max_pixels)
    {
      check->too_big = TRUE;
      /* Loaders that can scale then allocate almost nothing. */
      gdk_pixbuf_loader_set_size (loader, 1, 1);
    }
  else if (is_jpeg (gdk_pixbuf_loader_get_format (loader)))
    {
      /* libjpeg still decodes every coefficient (corrupt data still fail)
       * but runs the inverse DCT at 1/8 size: a third of the CPU. The
       * inspector decodes kept files at full size later anyway. */
      int scale = check->keep_detail ? CLAMP (MIN (width, height) / 64, 1, 8) : 8;

      if (scale > 1)
        gdk_pixbuf_loader_set_size (loader, MAX (1, width / scale), MAX (1, height / scale));
    }
}

static gboolean
tail_has (const guint8 *data, gsize len, const void *needle, gsize nlen, gsize window)
{
  gsize from = len > window ? len - window : 0;

  return memmem (data + from, len - from, needle, nlen) != NULL;
}

/* GdkPixbuf decodes a truncated JPEG without an error, so the end markers
 * are checked here. JPEG entropy-coded data never hold FF D9 (FF is stuffed),
 * so EOI near the end means the stream was complete. */
static gboolean
looks_truncated (const char *format, const guint8 *data, gsize len)
{
  if (g_strcmp0 (format, "jpeg") == 0)
    return !tail_has (data, len, "\xff\xd9", 2, 1024);
  if (g_strcmp0 (format, "png") == 0)
    return !tail_has (data, len, "IEND", 4, 256);
  if (g_strcmp0 (format, "gif") == 0)
    return !tail_has (data, len, "\x3b", 1, 64);
  return FALSE;
}

/* Writes and fsyncs @fd (the new file at @path), closing it; removes the
 * file on failure. */
static gboolean
write_file_synced (int fd, const char *path, const guint8 *data, gsize len, GError **error)
{
  gsize off = 0;

  while (off < len)
    {
      gssize n = write (fd, data + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          g_unlink (path);
          g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: write failed: %s (is the disk full?)",
                       path, g_strerror (saved));
          return FALSE;
        }
      off += n;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      int saved = errno;
      g_unlink (path);
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot flush: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Picks a free name in @dir (and reserves it for this run). */
static char *
reserve_name (Run *run, const char *dir, const char *tmp_dir, const char *name)
{
  g_autofree char *stem = g_strdup (name);
  char *dot = strrchr (stem, '.');
  const char *ext = "";
  char *chosen = NULL;

  if (dot)
    {
      *dot = '\0';
      ext = dot + 1;
    }
  g_mutex_lock (&run->lock);
  for (guint n = 0; chosen == NULL; n++)
    {
      g_autofree char *candidate = n == 0 ? g_strdup (name) : g_strdup_printf ("%s-%u.%s", stem, n, ext);
      g_autofree char *path = g_build_filename (dir, candidate, NULL);
      g_autofree char *tmp_path = g_build_filename (tmp_dir, candidate, NULL);

      if (!g_hash_table_contains (run->reserved_names, path) && !g_file_test (path, G_FILE_TEST_EXISTS) &&
          !g_file_test (tmp_path, G_FILE_TEST_EXISTS))
        {
          g_hash_table_add (run->reserved_names, g_strdup (path));
          chosen = g_steal_pointer (&candidate);
        }
    }
  g_mutex_unlock (&run->lock);
  return chosen;
}

typedef struct {
  KilnImageRecord *image;
  Job *job;
} StoreKept;

static gboolean
store_kept_cb (KilnProject *project, gpointer data, GError **error)
{
  StoreKept *sk = data;
  Job *job = sk->job;

  return kiln_project_add_image (project, sk->image, error) &&
         kiln_project_record_download (project, job->url, *job->wnid ? job->wnid : NULL,
                                       job->outcome, job->http_status, job->detail, job->file, error);
}

/* Decodes, checks and stores job->data. Sets the job's result; returns
 * FALSE only when the job was abandoned (cancelled or a fatal error). */
static gboolean
validate_and_store (Job *job)
{
  Run *run = job->run;
  const KilnGatherRequest *req = run->req;
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *format = NULL;
  g_autofree char *name = NULL, *chosen = NULL, *class_dir = NULL, *tmp = NULL, *final = NULL;
  g_autofree char *tmp_class_dir = NULL;
  g_autoptr(KilnImageRecord) image = NULL;
  const guint8 *data = job->data->data;
  gsize len = job->data->len;
  SizeCheck check = { req->max_pixels, FALSE, req->placeholders && req->placeholders->len > 0, 0, 0 };
  gboolean ok = TRUE;
  GdkPixbuf *pixbuf;
  guint64 known;
  int fd, distance;

  if (len < req->min_bytes)
    {
      job_set_result (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_SMALL,
                      "%" G_GSIZE_FORMAT " bytes, under the minimum of %" G_GUINT64_FORMAT, len, req->min_bytes);
      return TRUE;
    }

  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &check);
  for (gsize off = 0; off < len && ok && !check.too_big; off += 16384)
    ok = gdk_pixbuf_loader_write (loader, data + off, MIN (16384, len - off), &error);
  if (!gdk_pixbuf_loader_close (loader, ok ? &error : NULL))
    ok = FALSE;
  if (check.too_big)
    {
      job_set_result (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_LARGE,
                      "%d×%d pixels, over the cap of %u", check.width, check.height, req->max_pixels);
      return TRUE;
    }
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (!ok || pixbuf == NULL)
    {
      job_set_result (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_UNDECODABLE,
                      "%s", error ? error->message : "no image in the data");
      return TRUE;
    }
  if (gdk_pixbuf_loader_get_format (loader))
    format = gdk_pixbuf_format_get_name (gdk_pixbuf_loader_get_format (loader));
  if (looks_truncated (format, data, len))
    {
      job_set_result (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TRUNCATED,
                      "%s data end without their end marker after %" G_GSIZE_FORMAT " bytes", format, len);
      return TRUE;
    }

  if (check.keep_detail &&
      kiln_inspector_match_placeholder (req->placeholders, req->placeholder_distance,
                                        kiln_inspector_phash (pixbuf), &known, &distance))
    {
      job_set_result (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_PLACEHOLDER,
                      "looks like the known placeholder %016" G_GINT64_MODIFIER "x (distance %d)",
                      known, distance);
      return TRUE;
    }

  if (g_atomic_int_get (&run->cancelled))
    return FALSE;

  /* The temp file is cache/gather-tmp/<class>/<name>, the final file
   * images/<class>/<name>: write and fsync the temp, commit the KEPT row,
   * rename. A kill before the commit leaves a temp without a row (removed
   * by the next run), after it a temp with a row (renamed by the next run):
   * never a kept image without its file or a file without its row. */
  class_dir = g_build_filename (kiln_project_get_path (run->project), "images", job->class_name, NULL);
  tmp_class_dir = g_build_filename (run->tmp_dir, job->class_name, NULL);
  if (g_mkdir_with_parents (class_dir, 0755) != 0 || g_mkdir_with_parents (tmp_class_dir, 0755) != 0)
    {
      int saved = errno;
      run_set_fatal (run, g_error_new (KILN_ERROR, KILN_ERROR_IO, "%s: cannot create the folder: %s",
                                       class_dir, g_strerror (saved)));
      return FALSE;
    }
  name = kiln_gatherer_file_name_for_url (job->url, extension_for_format (format));
  chosen = reserve_name (run, class_dir, tmp_class_dir, name);
  final = g_build_filename (class_dir, chosen, NULL);
  tmp = g_build_filename (tmp_class_dir, chosen, NULL);
  fd = g_open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;
      run_set_fatal (run, g_error_new (KILN_ERROR, KILN_ERROR_IO, "%s: cannot create: %s",
                                       tmp, g_strerror (saved)));
      return FALSE;
    }
  if (!write_file_synced (fd, tmp, data, len, &error))
    {
      run_set_fatal (run, g_steal_pointer (&error));
      return FALSE;
    }
  if (g_atomic_int_get (&run->cancelled))
    {
      g_unlink (tmp);
      return FALSE;
    }

  job->file = g_strdup_printf ("images/%s/%s", job->class_name, chosen);
  job_set_result (job, KILN_DOWNLOAD_KEPT, KILN_GATHER_REASON_KEPT, "%s %d×%d, %" G_GSIZE_FORMAT " bytes",
                  format, check.width, check.height, len);
  image = kiln_image_record_new (job->file, job->class_name);
  image->size = len;
  image->width = check.width;
  image->height = check.height;
  image->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
  image->source_url = g_strdup (job->url);
  image->http_status = job->http_status;
  {
    StoreKept sk = { image, job };
    if (!kiln_project_transaction (run->project, store_kept_cb, &sk, &error))
      {
        g_unlink (tmp);
        g_prefix_error (&error, "storing %s: ", job->url);
        run_set_fatal (run, g_steal_pointer (&error));
        return FALSE;
      }
  }
  if (g_rename (tmp, final) != 0)
    {
      /* The row exists and the temp stays: the next run renames it. */
      int saved = errno;
      run_set_fatal (run, g_error_new (KILN_ERROR, KILN_ERROR_IO, "%s: cannot rename to %s: %s; "
                                       "run again to finish", tmp, final, g_strerror (saved)));
      return FALSE;
    }
  progress_update (run, -1, FALSE, edit_count_result, job, FALSE);
  return TRUE;
}

static gboolean job_done_in_worker (gpointer data);

static void
pool_func (gpointer data, gpointer user_data)
{
  Job *job = data;
  Run *run = job->run;

  if (!validate_and_store (job))
    job->abandoned = TRUE;
  else if (job->outcome != KILN_DOWNLOAD_KEPT)
    job_record (job);

  if (run->sync_mode)
    {
      /* Archive or folder: the reading thread waits on the count. */
      g_mutex_lock (&run->lock);
      run->sync_in_flight--;
      g_cond_signal (&run->cond);
      g_mutex_unlock (&run->lock);
      if (job->outcome == KILN_DOWNLOAD_KEPT && !job->abandoned)
        {
          g_mutex_lock (&run->lock);
          synset_state (run, job->wnid)->kept++;
          g_mutex_unlock (&run->lock);
        }
      job_free (job);
      return;
    }
  g_main_context_invoke (run->ctx, job_done_in_worker, job);
}

/* HTTP (worker thread) --------------------------------------------------- */

static void
release_slot (Job *job)
{
  Run *run = job->run;

  if (job->holds_host)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (run->host_in_flight, job->host));
      g_hash_table_insert (run->host_in_flight, g_strdup (job->host), GUINT_TO_POINTER (n - 1));
      job->holds_host = FALSE;
    }
}

/* The job is over for this run: count it, free it, start more. */
static void
job_finish (Job *job)
{
  Run *run = job->run;
  SynsetState *st = synset_state (run, job->wnid);

  job_clear_timers (job);
  release_slot (job);
  st->in_flight--;
  if (!job->abandoned && job->outcome == KILN_DOWNLOAD_KEPT)
    {
      st->kept++;
      if (run->req->limit && st->kept == run->req->limit)
        run->n_synsets_full++;
    }
  run->in_flight--;
  g_hash_table_remove (run->active, job);
  job_free (job);
  worker_progress (run, edit_flight, run);
  pump (run);
  run_check_finished (run);
}

static gboolean
job_done_in_worker (gpointer data)
{
  job_finish (data);
  return G_SOURCE_REMOVE;
}

static void
job_end (Job *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
         const char *format, ...) G_GNUC_PRINTF (4, 5);

/* Ends a job in the worker without a body to keep. */
static void
job_end (Job *job, KilnDownloadOutcome outcome, KilnGatherReason reason,
         const char *format, ...)
{
  va_list args;

  va_start (args, format);
  job_set_resultv (job, outcome, reason, format, args);
  va_end (args);
  if (!g_atomic_int_get (&job->run->cancelled))
    job_record (job);
  job_finish (job);
}

static void
job_abandon (Job *job)
{
  job->abandoned = TRUE;
  job_finish (job);
}

static gboolean
retry_cb (gpointer data)
{
  Job *job = data;
  Run *run = job->run;

  g_clear_pointer (&job->retry_timer, g_source_unref);
  run->waiting--;
  g_queue_push_head (&run->pending, job);
  pump (run);
  return G_SOURCE_REMOVE;
}

/* Temporary failures come back after a delay, up to max_retries times. */
static void
job_retry (Job *job, KilnGatherReason reason, gint64 retry_after_ms, const char *what)
{
  Run *run = job->run;
  const KilnGatherRequest *req = run->req;
  SynsetState *st = synset_state (run, job->wnid);
  guint64 delay;

  if (g_atomic_int_get (&run->cancelled))
    {
      job_abandon (job);
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

  release_slot (job);
  job_drop_attempt (job);
  job->timed_out = TIMEOUT_NONE;
  job->drained = 0;
  job->attempt++;
  st->in_flight--;
  run->in_flight--;
  run->waiting++;
  job->retry_timer = g_timeout_source_new (delay);
  g_source_set_callback (job->retry_timer, retry_cb, job, NULL);
  g_source_attach (job->retry_timer, run->ctx);
  worker_progress (run, edit_flight, run);
  pump (run);
}

static void
job_network_error (Job *job, GError *error)
{
  if (g_atomic_int_get (&job->run->cancelled))
    job_abandon (job);
  else if (job->timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autofree char *what = NULL;

      if (job->timed_out == TIMEOUT_CONNECT)
        what = g_strdup_printf ("no connection within %.1f s", job->run->req->connect_timeout_ms / 1000.0);
      else if (job->timed_out == TIMEOUT_TOTAL)
        what = g_strdup_printf ("no complete answer within %.1f s (%u bytes came)",
                                job->run->req->total_timeout_ms / 1000.0, job->data ? job->data->len : 0);
      else
        what = g_strdup (error->message);
      job_retry (job, KILN_GATHER_REASON_TIMEOUT, -1, what);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_NETWORK,
             "the connection closed after %u bytes, before the body ended",
             job->data ? job->data->len : 0);
  else
    job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_NETWORK, "%s", error->message);
}

static gboolean
timeout_cb (Job *job, TimeoutKind kind)
{
  job->timed_out = kind;
  g_cancellable_cancel (job->cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
connect_timeout_cb (gpointer data)
{
  return timeout_cb (data, TIMEOUT_CONNECT);
}

static gboolean
total_timeout_cb (gpointer data)
{
  return timeout_cb (data, TIMEOUT_TOTAL);
}

static void
on_wrote_headers (SoupMessage *msg, gpointer data)
{
  Job *job = data;

  /* Connected: from here the total timeout alone applies. */
  if (job->connect_timer)
    g_source_destroy (job->connect_timer);
  g_clear_pointer (&job->connect_timer, g_source_unref);
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

static void read_more (Job *job);

#define DRAIN_MAX (64 * 1024)

static void
on_drained (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  gssize n = g_input_stream_skip_finish (G_INPUT_STREAM (source), result, NULL);

  if (g_atomic_int_get (&job->run->cancelled))
    {
      job_abandon (job);
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
  job_record (job);
  job_finish (job);
}

static void
job_reject_after_body (Job *job, KilnGatherReason reason, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* Rejects a response whose body nobody wants, after reading a small body to
 * its end: the connection then goes back to the pool instead of closing
 * (broken links cluster on the same hosts). The verdict is already made;
 * the timers still bound the read. */
static void
job_reject_after_body (Job *job, KilnGatherReason reason, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  job_set_resultv (job, KILN_DOWNLOAD_REJECTED, reason, format, args);
  va_end (args);
  g_input_stream_skip_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable, on_drained, job);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  Run *run = job->run;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (bytes == NULL)
    {
      job_network_error (job, error);
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      /* The whole body is here: free the connection, decode in the pool. */
      job_clear_timers (job);
      release_slot (job);
      g_clear_object (&job->body);
      if (job->data->len < run->req->min_bytes)
        {
          job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_SMALL,
                   "%u bytes, under the minimum of %" G_GUINT64_FORMAT, job->data->len, run->req->min_bytes);
          return;
        }
      g_thread_pool_push (run->pool, job, NULL);
      pump (run);
      return;
    }
  g_byte_array_append (job->data, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  progress_update (run, -1, FALSE, edit_add_bytes, GSIZE_TO_POINTER (g_bytes_get_size (bytes)), FALSE);
  if (job->data->len > run->req->max_bytes)
    {
      job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_LARGE,
               "more than %" G_GUINT64_FORMAT " bytes", run->req->max_bytes);
      return;
    }
  read_more (job);
}

static void
read_more (Job *job)
{
  g_input_stream_read_bytes_async (job->body, READ_CHUNK, G_PRIORITY_DEFAULT, job->cancellable,
                                   on_read, job);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  Run *run = job->run;
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
  job->http_status = status;
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
  original = g_uri_parse (job->url, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL);
  want = path_basename (original);
  got = path_basename (soup_message_get_uri (job->msg));
  if (g_strcmp0 (want, got) != 0)
    {
      g_autofree char *final = g_uri_to_string (soup_message_get_uri (job->msg));
      job_reject_after_body (job, KILN_GATHER_REASON_PLACEHOLDER,
               "redirected to %s, another file", final);
      return;
    }

  type = soup_message_headers_get_content_type (headers, NULL);
  if (!acceptable_content_type (type))
    {
      job_reject_after_body (job, KILN_GATHER_REASON_CONTENT_TYPE, "served as %s", type);
      return;
    }
  length = soup_message_headers_get_content_length (headers);
  if (length > 0 && (guint64) length > run->req->max_bytes)
    {
      job_end (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_TOO_LARGE,
               "Content-Length %" G_GOFFSET_FORMAT " is over the cap of %" G_GUINT64_FORMAT " bytes",
               length, run->req->max_bytes);
      return;
    }
  job->data = g_byte_array_sized_new (length > 0 ? (guint) length : READ_CHUNK);
  read_more (job);
}

static GSource *
add_timer (Run *run, guint ms, GSourceFunc func, Job *job)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, job, NULL);
  g_source_attach (source, run->ctx);
  return source;
}

static void
job_start (Job *job)
{
  Run *run = job->run;
  g_autoptr(GError) error = NULL;

  run->in_flight++;
  synset_state (run, job->wnid)->in_flight++;
  g_hash_table_add (run->active, job);
  job->holds_host = TRUE;
  g_hash_table_insert (run->host_in_flight, g_strdup (job->host),
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (run->host_in_flight, job->host)) + 1));

  if (job->msg == NULL)
    job->msg = soup_message_new ("GET", job->url);
  job->cancellable = g_cancellable_new ();
  g_signal_connect (job->msg, "wrote-headers", G_CALLBACK (on_wrote_headers), job);
  job->connect_timer = add_timer (run, run->req->connect_timeout_ms, connect_timeout_cb, job);
  job->total_timer = add_timer (run, run->req->total_timeout_ms, total_timeout_cb, job);
  soup_session_send_async (run->session, job->msg, G_PRIORITY_DEFAULT, job->cancellable, on_sent, job);
}

/* Sources (worker thread) ----------------------------------------------- */

/* Offers one URL of the source: skips what earlier runs finished and what
 * this run already has, rejects what cannot be fetched at all. */
static void
offer_url (Run *run, const char *url, const char *wnid)
{
  Job *job;

  if (g_hash_table_contains (run->done_urls, url))
    {
      progress_update (run, -1, FALSE, edit_skipped, GUINT_TO_POINTER (1), FALSE);
      return;
    }
  if (g_hash_table_contains (run->seen_urls, url))
    return;
  g_hash_table_add (run->seen_urls, g_strdup (url));
  job = job_new (run, url, wnid);
  /* Checked now so that starting a job never ends it on the spot. */
  if (job->host != NULL)
    job->msg = soup_message_new ("GET", url);
  if (job->msg == NULL)
    {
      job_set_result (job, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_NETWORK, "not a valid http(s) URL");
      job_record (job);
      job_free (job);
      return;
    }
  g_queue_push_tail (&run->pending, job);
}

/* A part of the source failed (one API call, one archive member): counted,
 * logged, and named in the run's error if nothing at all worked. */
static void
source_error (Run *run, char *message)
{
  g_debug ("%s", message);
  g_mutex_lock (&run->lock);
  g_free (run->last_source_error);
  run->last_source_error = message;
  g_mutex_unlock (&run->lock);
  progress_update (run, -1, FALSE, edit_source_error, NULL, FALSE);
}

static gboolean
all_synsets_full (Run *run)
{
  return run->req->limit > 0 && run->wanted != NULL &&
         run->n_synsets_full >= g_hash_table_size (run->wanted);
}

static gboolean fill_idle_cb (gpointer data);

static void
fill_from_list (Run *run)
{
  KilnUrlEntry entry;
  g_autoptr(GError) error = NULL;
  guint lines = 0;

  while (g_queue_get_length (&run->pending) < PENDING_HIGH && lines < LINES_PER_FILL)
    {
      const char *wnid;

      if (all_synsets_full (run) ||
          !kiln_url_list_next (run->list, &entry, NULL, &error))
        {
          if (error)
            run_set_fatal (run, g_steal_pointer (&error));
          run->source_done = TRUE;
          return;
        }
      lines++;
      wnid = entry.wnid[0] ? entry.wnid : (run->req->wnid ? run->req->wnid : "");
      if (run->wanted && !g_hash_table_contains (run->wanted, wnid))
        continue;
      offer_url (run, entry.url, wnid);
    }
  /* Still short of work: read on from an idle, so responses interleave. */
  if (g_queue_get_length (&run->pending) < PENDING_LOW && run->fill_idle == NULL)
    {
      run->fill_idle = g_idle_source_new ();
      g_source_set_callback (run->fill_idle, fill_idle_cb, run, NULL);
      g_source_attach (run->fill_idle, run->ctx);
    }
}

static void fetch_next_api (Run *run);

static void
on_api_read (GObject *source, GAsyncResult *result, gpointer data)
{
  char *wnid = data;
  Run *run = g_object_get_data (source, "kiln-run");
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  guint status = msg ? soup_message_get_status (msg) : 0;

  run->api_busy = FALSE;
  if (g_atomic_int_get (&run->cancelled))
    ;
  else if (bytes == NULL || status < 200 || status > 299)
    {
      g_autofree char *url = msg ? g_uri_to_string (soup_message_get_uri (msg)) : g_strdup ("?");
      run->api_errors++;
      source_error (run, g_strdup_printf ("%s: the URL list for %s failed: %s", url, wnid,
                                          bytes == NULL ? error->message : soup_message_get_reason_phrase (msg)));
    }
  else
    {
      g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
      g_autoptr(KilnUrlList) list = kiln_url_list_new_for_stream (in, wnid);
      KilnUrlEntry entry;

      while (kiln_url_list_next (list, &entry, NULL, NULL))
        offer_url (run, entry.url, wnid);
    }
  g_free (wnid);
  if (g_queue_is_empty (&run->api_wnids))
    run->source_done = TRUE;
  pump (run);
  run_check_finished (run);
}

static void
fetch_next_api (Run *run)
{
  const char *tmpl = run->req->location ? run->req->location : KILN_GATHER_DEFAULT_API;
  g_autofree char *wnid = NULL;
  g_autofree char *url = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(SoupMessage) msg = NULL;

  while (!run->api_busy && (wnid = g_queue_pop_head (&run->api_wnids)) != NULL)
    {
      parts = g_strsplit (tmpl, "{wnid}", -1);
      url = g_strjoinv (wnid, parts);
      msg = soup_message_new ("GET", url);
      if (msg == NULL)
        {
          run_set_fatal (run, g_error_new (KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                                           "“%s” is not a valid URL template (use {wnid} for the synset)", tmpl));
          run->source_done = TRUE;
          return;
        }
      run->api_busy = TRUE;
      run->api_calls++;
      g_object_set_data (G_OBJECT (run->session), "kiln-run", run);
      soup_session_send_and_read_async (run->session, msg, G_PRIORITY_DEFAULT, NULL,
                                        on_api_read, g_steal_pointer (&wnid));
      return;
    }
}

static void
fill (Run *run)
{
  if (run->source_done || g_atomic_int_get (&run->cancelled))
    return;
  if (run->list)
    fill_from_list (run);
  else if (g_queue_get_length (&run->pending) < PENDING_LOW)
    fetch_next_api (run);
}

static gboolean
fill_idle_cb (gpointer data)
{
  Run *run = data;

  g_clear_pointer (&run->fill_idle, g_source_unref);
  pump (run);
  run_check_finished (run);
  return G_SOURCE_REMOVE;
}

/* Starts what may start: bounded overall, per host and per synset. */
static void
pump (Run *run)
{
  const KilnGatherRequest *req = run->req;
  guint dropped = 0;

  if (g_atomic_int_get (&run->cancelled))
    return;
  if (g_queue_get_length (&run->pending) < PENDING_LOW)
    fill (run);

  for (GList *l = run->pending.head; l != NULL && run->in_flight < req->max_parallel;)
    {
      Job *job = l->data;
      GList *next = l->next;
      SynsetState *st = synset_state (run, job->wnid);

      if (req->limit && st->kept >= req->limit)
        {
          g_queue_delete_link (&run->pending, l);
          job_free (job);
          dropped++;
        }
      else if ((req->limit && st->kept + st->in_flight >= req->limit) ||
               GPOINTER_TO_UINT (g_hash_table_lookup (run->host_in_flight, job->host)) >= req->max_per_host)
        ;
      else
        {
          g_queue_delete_link (&run->pending, l);
          job_start (job);
        }
      l = next;
    }
  if (dropped)
    progress_update (run, -1, FALSE, edit_over_limit, GUINT_TO_POINTER (dropped), FALSE);
  worker_progress (run, edit_flight, run);
}

static void
run_check_finished (Run *run)
{
  gboolean stopping = g_atomic_int_get (&run->cancelled);

  if (run->finished || run->in_flight > 0 || run->api_busy || run->fill_idle)
    return;
  if (!stopping && run->waiting > 0)
    return;
  if (!stopping && !(run->source_done && g_queue_is_empty (&run->pending)))
    return;
  run->finished = TRUE;
  g_main_loop_quit (run->loop);
}

static gboolean
cancel_in_worker (gpointer data)
{
  Run *run = data;
  GHashTableIter iter;
  gpointer key;
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, run->active);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      Job *job = key;
      if (job->retry_timer)
        g_ptr_array_add (waiting, job);
      else if (job->cancellable)
        g_cancellable_cancel (job->cancellable);
    }
  for (guint i = 0; i < waiting->len; i++)
    {
      Job *job = g_ptr_array_index (waiting, i);
      g_hash_table_remove (run->active, job);
      run->waiting--;
      job_free (job);
    }
  if (run->session)
    soup_session_abort (run->session);
  run_check_finished (run);
  return G_SOURCE_REMOVE;
}

static void
on_user_cancelled (GCancellable *cancellable, gpointer data)
{
  Run *run = data;

  g_atomic_int_set (&run->cancelled, TRUE);
  /* Archive/folder runs wait on the condition, not the loop. */
  g_mutex_lock (&run->lock);
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
  g_main_context_invoke (run->ctx, cancel_in_worker, run);
}

/* Archives and folders (worker thread, no network) ------------------------ */

/* Hands @data for @url to the pool, waiting while max_parallel are busy.
 * Returns FALSE when the run stops. */
static gboolean
offer_bytes (Run *run, const char *url, const char *wnid, GByteArray *data)
{
  Job *job;
  SynsetState *st;

  if (g_hash_table_contains (run->done_urls, url))
    {
      g_byte_array_unref (data);
      progress_update (run, -1, FALSE, edit_skipped, GUINT_TO_POINTER (1), FALSE);
      return TRUE;
    }
  g_mutex_lock (&run->lock);
  while (run->sync_in_flight >= run->req->max_parallel && !g_atomic_int_get (&run->cancelled))
    g_cond_wait (&run->cond, &run->lock);
  st = synset_state (run, wnid);
  if (run->req->limit && st->kept >= run->req->limit)
    {
      g_mutex_unlock (&run->lock);
      g_byte_array_unref (data);
      progress_update (run, -1, FALSE, edit_over_limit, GUINT_TO_POINTER (1), FALSE);
      return TRUE;
    }
  run->sync_in_flight++;
  g_mutex_unlock (&run->lock);
  if (g_atomic_int_get (&run->cancelled))
    {
      g_mutex_lock (&run->lock);
      run->sync_in_flight--;
      g_mutex_unlock (&run->lock);
      g_byte_array_unref (data);
      return FALSE;
    }
  job = job_new (run, url, wnid);
  job->data = data;
  progress_update (run, -1, FALSE, edit_add_bytes, GSIZE_TO_POINTER (data->len), FALSE);
  g_thread_pool_push (run->pool, job, NULL);
  return TRUE;
}

static void
wait_for_pool (Run *run)
{
  g_mutex_lock (&run->lock);
  while (run->sync_in_flight > 0)
    g_cond_wait (&run->cond, &run->lock);
  g_mutex_unlock (&run->lock);
}

static gboolean
is_wanted (Run *run, const char *wnid)
{
  return run->wanted == NULL || g_hash_table_contains (run->wanted, wnid);
}

/* Reads the current entry's data, refusing more than @max bytes. */
static GByteArray *
read_entry (struct archive *a, guint64 max, gboolean *too_big, GError **error)
{
  GByteArray *data = g_byte_array_new ();
  guint8 buf[READ_CHUNK];
  la_ssize_t n;

  *too_big = FALSE;
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    {
      if (data->len + (guint64) n > max)
        {
          *too_big = TRUE;
          break;
        }
      g_byte_array_append (data, buf, n);
    }
  if (n < 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s", archive_error_string (a));
      g_byte_array_unref (data);
      return NULL;
    }
  return data;
}

typedef struct {
  struct archive *outer;
  guint8          buf[READ_CHUNK];
} InnerSource;

static la_ssize_t
inner_read (struct archive *a, void *data, const void **buffer)
{
  InnerSource *src = data;

  *buffer = src->buf;
  return archive_read_data (src->outer, src->buf, sizeof src->buf);
}

static gboolean
wnid_of_name (const char *name, char out[10])
{
  const char *base = strrchr (name, '/');

  base = base ? base + 1 : name;
  if (base[0] != 'n' || strspn (base + 1, "0123456789") != 8)
    return FALSE;
  memcpy (out, base, 9);
  out[9] = '\0';
  return TRUE;
}

static void
record_simple (Run *run, const char *url, const char *wnid, KilnGatherReason reason, const char *what)
{
  Job *job = job_new (run, url, wnid);

  job_set_result (job, KILN_DOWNLOAD_REJECTED, reason, "%s", what);
  job_record (job);
  job_free (job);
}

/* Images of one synset tar (or of the outer archive itself). */
static gboolean
gather_members (Run *run, struct archive *a, const char *prefix, const char *fallback_wnid,
                GError **error)
{
  struct archive_entry *entry;
  int r;

  while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (entry);
      g_autofree char *url = NULL;
      g_autoptr(GError) local_error = NULL;
      GByteArray *data;
      gboolean too_big;
      char wnid[10];

      if (g_atomic_int_get (&run->cancelled))
        return TRUE;
      if (archive_entry_filetype (entry) != AE_IFREG || name == NULL)
        continue;
      if (!wnid_of_name (name, wnid))
        g_strlcpy (wnid, fallback_wnid ? fallback_wnid : "", sizeof wnid);
      if (g_str_has_suffix (name, ".tar"))
        {
          /* A per-synset tar: read it through the outer one, no temp file. */
          struct archive *inner;
          g_autofree InnerSource *src = g_new0 (InnerSource, 1);
          g_autofree char *inner_prefix = NULL;

          if (!is_wanted (run, wnid))
            continue;
          inner = archive_read_new ();
          archive_read_support_format_tar (inner);
          inner_prefix = g_strdup_printf ("%s%s/", prefix, name);
          src->outer = a;
          if (archive_read_open (inner, src, NULL, inner_read, NULL) != ARCHIVE_OK)
            {
              source_error (run, g_strdup_printf ("%s: %s", inner_prefix, archive_error_string (inner)));
            }
          else if (!gather_members (run, inner, inner_prefix, wnid, &local_error))
            {
              source_error (run, g_strdup (local_error->message));
            }
          archive_read_free (inner);
          continue;
        }
      if (!is_wanted (run, wnid))
        continue;
      url = g_strconcat (prefix, name, NULL);
      data = read_entry (a, run->req->max_bytes, &too_big, &local_error);
      if (data == NULL)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: %s", url, local_error->message);
          return FALSE;
        }
      if (too_big)
        {
          g_byte_array_unref (data);
          if (!g_hash_table_contains (run->done_urls, url))
            record_simple (run, url, wnid, KILN_GATHER_REASON_TOO_LARGE, "over the size cap");
          continue;
        }
      if (!offer_bytes (run, url, wnid, data))
        return TRUE;
    }
  if (r != ARCHIVE_EOF)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: %s", prefix, archive_error_string (a));
      return FALSE;
    }
  return TRUE;
}

static gboolean
gather_archive (Run *run, GError **error)
{
  struct archive *a = archive_read_new ();
  g_autofree char *uri = g_filename_to_uri (run->req->location, NULL, NULL);
  g_autofree char *prefix = NULL;
  gboolean ok;

  archive_read_support_format_tar (a);
  archive_read_support_filter_gzip (a);
  if (archive_read_open_filename (a, run->req->location, 256 * 1024) != ARCHIVE_OK)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot open the archive: %s",
                   run->req->location, archive_error_string (a));
      archive_read_free (a);
      return FALSE;
    }
  prefix = g_strconcat (uri ? uri : run->req->location, "#", NULL);
  ok = gather_members (run, a, prefix, run->req->wnid, error);
  archive_read_free (a);
  return ok;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static gboolean
gather_folder (Run *run, const char *dir, GError **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    {
      g_prefix_error (error, "%s: ", dir);
      return FALSE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  /* A stable order, so limits pick the same files each time. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len && !g_atomic_int_get (&run->cancelled); i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autofree char *url = NULL;
      g_autofree char *contents = NULL;
      const char *wnid = run->req->wnid ? run->req->wnid : "";
      gsize len;
      g_autoptr(GError) local_error = NULL;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (!gather_folder (run, path, error))
            return FALSE;
          continue;
        }
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      url = g_filename_to_uri (path, NULL, NULL);
      if (url == NULL || g_hash_table_contains (run->done_urls, url))
        {
          progress_update (run, -1, FALSE, edit_skipped, GUINT_TO_POINTER (1), FALSE);
          continue;
        }
      {
        GStatBuf st;
        if (g_stat (path, &st) == 0 && (guint64) st.st_size > run->req->max_bytes)
          {
            record_simple (run, url, wnid, KILN_GATHER_REASON_TOO_LARGE, "over the size cap");
            continue;
          }
      }
      if (!g_file_get_contents (path, &contents, &len, &local_error))
        {
          record_simple (run, url, wnid, KILN_GATHER_REASON_NETWORK, local_error->message);
          continue;
        }
      if (!offer_bytes (run, url, wnid, g_byte_array_new_take ((guint8 *) g_steal_pointer (&contents), len)))
        return TRUE;
    }
  return TRUE;
}

/* The worker thread ------------------------------------------------------ */

static void
run_free (Run *run)
{
  Job *job;

  while ((job = g_queue_pop_head (&run->pending)) != NULL)
    job_free (job);
  g_queue_clear_full (&run->api_wnids, g_free);
  g_clear_pointer (&run->list, kiln_url_list_free);
  g_clear_pointer (&run->wanted, g_hash_table_unref);
  g_clear_pointer (&run->active, g_hash_table_unref);
  g_clear_pointer (&run->host_in_flight, g_hash_table_unref);
  g_clear_pointer (&run->synsets, g_hash_table_unref);
  g_clear_pointer (&run->done_urls, g_hash_table_unref);
  g_clear_pointer (&run->seen_urls, g_hash_table_unref);
  g_clear_pointer (&run->reserved_names, g_hash_table_unref);
  g_clear_object (&run->session);
  g_clear_pointer (&run->loop, g_main_loop_unref);
  g_clear_pointer (&run->ctx, g_main_context_unref);
  g_clear_pointer (&run->req, kiln_gather_request_free);
  g_clear_object (&run->project);
  g_clear_object (&run->task);
  g_clear_object (&run->user_cancellable);
  g_clear_object (&run->self);
  g_clear_error (&run->fatal);
  g_free (run->tmp_dir);
  g_free (run->last_source_error);
  g_mutex_clear (&run->lock);
  g_cond_clear (&run->cond);
  g_free (run);
}

/* Earlier runs: what is done, and how many images each synset kept. */
static gboolean
load_previous (Run *run, GError **error)
{
  g_autoptr(GPtrArray) records = kiln_project_list_downloads (run->project, NULL, error);

  if (records == NULL)
    return FALSE;
  for (guint i = 0; i < records->len; i++)
    {
      KilnDownloadRecord *rec = g_ptr_array_index (records, i);

      if (!kiln_download_outcome_is_done (rec->outcome))
        continue;
      g_hash_table_add (run->done_urls, g_strdup (rec->url));
      if (rec->outcome == KILN_DOWNLOAD_KEPT)
        {
          SynsetState *st = synset_state (run, rec->wnid ? rec->wnid : "");
          st->kept++;
          if (run->req->limit && st->kept == run->req->limit && run->wanted &&
              g_hash_table_contains (run->wanted, rec->wnid ? rec->wnid : ""))
            run->n_synsets_full++;
        }
    }
  return TRUE;
}

/* Finishes what a killed run left in cache/gather-tmp/<class>/<name>: a
 * temp whose KEPT row was committed is renamed into images/, any other is
 * removed (see validate_and_store). */
static gboolean
recover_tmp_dir (Run *run, GError **error)
{
  g_autoptr(GDir) d = NULL;
  const char *class_name;

  run->tmp_dir = g_build_filename (kiln_project_get_path (run->project), "cache", "gather-tmp", NULL);
  if (g_mkdir_with_parents (run->tmp_dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot create: %s", run->tmp_dir, g_strerror (saved));
      return FALSE;
    }
  d = g_dir_open (run->tmp_dir, 0, error);
  if (d == NULL)
    return FALSE;
  while ((class_name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *sub = g_build_filename (run->tmp_dir, class_name, NULL);
      g_autoptr(GDir) files = g_dir_open (sub, 0, NULL);
      const char *name;

      if (files == NULL)
        {
          g_unlink (sub);
          continue;
        }
      while ((name = g_dir_read_name (files)) != NULL)
        {
          g_autofree char *tmp = g_build_filename (sub, name, NULL);
          g_autofree char *rel = g_strdup_printf ("images/%s/%s", class_name, name);
          g_autoptr(KilnImageRecord) image = kiln_project_find_image (run->project, rel, error);
          g_autofree char *final = NULL, *final_dir = NULL;

          if (image == NULL && error && *error)
            return FALSE;
          if (image == NULL)
            {
              g_unlink (tmp);
              continue;
            }
          final = kiln_project_build_path (run->project, rel);
          final_dir = g_path_get_dirname (final);
          if (g_mkdir_with_parents (final_dir, 0755) != 0 || g_rename (tmp, final) != 0)
            {
              int saved = errno;
              g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot move to %s: %s",
                           tmp, final, g_strerror (saved));
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Empty class folders of the temp area go at the end of a run. */
static void
remove_empty_tmp_dirs (Run *run)
{
  g_autoptr(GDir) d = run->tmp_dir ? g_dir_open (run->tmp_dir, 0, NULL) : NULL;
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *sub = g_build_filename (run->tmp_dir, name, NULL);
      g_rmdir (sub);
    }
}

static gboolean
build_wanted (Run *run, GError **error)
{
  const KilnGatherRequest *req = run->req;
  g_autoptr(KilnSynsets) synsets = NULL;
  g_autoptr(GArray) below = NULL;
  guint index;

  if (req->wnid == NULL)
    {
      if (req->source == KILN_GATHER_API)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "the API source needs a synset (--wnid)");
          return FALSE;
        }
      return TRUE;
    }
  run->wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (run->wanted, g_strdup (req->wnid));
  if (req->source == KILN_GATHER_API)
    g_queue_push_tail (&run->api_wnids, g_strdup (req->wnid));
  if (!req->subset)
    return TRUE;

  synsets = kiln_synsets_get_default (error);
  if (synsets == NULL)
    return FALSE;
  index = kiln_synsets_lookup (synsets, req->wnid);
  if (index == KILN_SYNSET_NONE)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is not a WordNet 3.0 noun synset; check the wnid (n + 8 digits)", req->wnid);
      return FALSE;
    }
  below = kiln_synsets_get_descendants (synsets, index, 0);
  for (guint i = 1; i < below->len; i++)
    {
      guint s = g_array_index (below, guint, i);
      const char *wnid = kiln_synsets_get_wnid (synsets, s);

      g_hash_table_add (run->wanted, g_strdup (wnid));
      /* The ImageNet API only knows 21k synsets; asking for others wastes calls. */
      if (req->source == KILN_GATHER_API && kiln_synsets_in_21k (synsets, s))
        g_queue_push_tail (&run->api_wnids, g_strdup (wnid));
    }
  return TRUE;
}

typedef struct {
  GTask  *task;
  GError *error;
} Finish;

/* On the owner's context: the last progress first, then the result, and no
 * emission after it. */
static gboolean
finish_in_owner (gpointer data)
{
  Finish *fin = data;
  KilnGatherer *self = g_task_get_source_object (fin->task);
  KilnGatherProgress copy;

  g_mutex_lock (&self->lock);
  if (self->emit_source)
    g_source_destroy (self->emit_source);
  g_clear_pointer (&self->emit_source, g_source_unref);
  copy = self->progress;
  g_mutex_unlock (&self->lock);
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, &copy);

  g_atomic_int_set (&self->running, FALSE);
  if (fin->error)
    g_task_return_error (fin->task, fin->error);
  else
    g_task_return_boolean (fin->task, TRUE);
  g_object_unref (fin->task);
  g_free (fin);
  return G_SOURCE_REMOVE;
}

static gpointer
worker_main (gpointer data)
{
  Run *run = data;
  const KilnGatherRequest *req = run->req;
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  g_main_context_push_thread_default (run->ctx);
  run->start_us = g_get_monotonic_time ();

  if (!build_wanted (run, &error) || !load_previous (run, &error) || !recover_tmp_dir (run, &error))
    ok = FALSE;
  else if (req->source == KILN_GATHER_ARCHIVE || req->source == KILN_GATHER_FOLDER)
    {
      run->sync_mode = TRUE;
      run->pool = g_thread_pool_new (pool_func, run, MAX (1, MIN (g_get_num_processors (), req->max_parallel)),
                                     FALSE, NULL);
      if (req->source == KILN_GATHER_ARCHIVE)
        ok = gather_archive (run, &error);
      else
        ok = gather_folder (run, req->location, &error);
      wait_for_pool (run);
      run->source_done = TRUE;
    }
  else
    {
      if (req->source == KILN_GATHER_URLS)
        {
          run->list = kiln_url_list_open (req->location, &error);
          ok = run->list != NULL;
        }
      if (ok)
        {
          /* Two more connections than downloads, for the API's URL lists. */
          run->session = soup_session_new_with_options ("max-conns", req->max_parallel + 2,
                                                        "max-conns-per-host", req->max_per_host,
                                                        "user-agent", "Kiln/" PACKAGE_VERSION " ",
                                                        NULL);
          run->pool = g_thread_pool_new (pool_func, run, MAX (1, MIN (2 * g_get_num_processors () + 2, req->max_parallel)), FALSE, NULL);
          pump (run);
          run_check_finished (run);
          if (!run->finished)
            g_main_loop_run (run->loop);
        }
    }

  if (run->pool)
    g_thread_pool_free (g_steal_pointer (&run->pool), FALSE, TRUE);
  remove_empty_tmp_dirs (run);
  if (run->session)
    soup_session_abort (run->session);
  /* Let the aborted requests' callbacks run before the context goes. */
  while (g_main_context_iteration (run->ctx, FALSE))
    ;
  g_main_context_pop_thread_default (run->ctx);
  if (run->cancel_id)
    g_cancellable_disconnect (run->user_cancellable, run->cancel_id);

  progress_update (run, 0, TRUE, edit_flight, run, TRUE);
  g_mutex_lock (&run->lock);
  if (ok && run->fatal)
    {
      ok = FALSE;
      error = g_steal_pointer (&run->fatal);
    }
  g_mutex_unlock (&run->lock);
  if (ok && run->list && kiln_url_list_get_n_skipped (run->list) > 0)
    g_message ("%s: skipped %" G_GUINT64_FORMAT " lines that were not valid UTF-8 or had no URL",
               req->location, kiln_url_list_get_n_skipped (run->list));

  if (ok && req->source == KILN_GATHER_API && run->api_calls > 0 && run->api_errors == run->api_calls)
    {
      ok = FALSE;
      g_set_error (&error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "the API gave no URL list for any of the %u synsets (%s); check the template “%s”",
                   run->api_calls, run->last_source_error,
                   req->location ? req->location : KILN_GATHER_DEFAULT_API);
    }

  if (ok && g_cancellable_is_cancelled (run->user_cancellable))
    {
      ok = FALSE;
      g_set_error (&error, KILN_ERROR, KILN_ERROR_CANCELLED, "gathering was cancelled; run it again to resume");
    }
  {
    Finish *fin = g_new0 (Finish, 1);
    fin->task = g_object_ref (run->task);
    fin->error = g_steal_pointer (&error);
    g_main_context_invoke_full (run->self->owner_ctx, G_PRIORITY_DEFAULT, finish_in_owner, fin, NULL);
  }
  run_free (run);
  return NULL;
}

/* The object ------------------------------------------------------------- */

static void
kiln_gatherer_dispose (GObject *object)
{
  KilnGatherer *self = KILN_GATHERER (object);

  g_clear_object (&self->project);
  G_OBJECT_CLASS (kiln_gatherer_parent_class)->dispose (object);
}

static void
kiln_gatherer_finalize (GObject *object)
{
  KilnGatherer *self = KILN_GATHERER (object);

  g_clear_pointer (&self->owner_ctx, g_main_context_unref);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (kiln_gatherer_parent_class)->finalize (object);
}

static void
kiln_gatherer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  KilnGatherer *self = KILN_GATHERER (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_gatherer_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  KilnGatherer *self = KILN_GATHERER (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      self->project = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_gatherer_class_init (KilnGathererClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kiln_gatherer_dispose;
  object_class->finalize = kiln_gatherer_finalize;
  object_class->get_property = kiln_gatherer_get_property;
  object_class->set_property = kiln_gatherer_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, KILN_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* progress (const KilnGatherProgress *): coalesced, on the owner's context. */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
kiln_gatherer_init (KilnGatherer *self)
{
  g_mutex_init (&self->lock);
  self->owner_ctx = g_main_context_ref_thread_default ();
}

KilnGatherer *
kiln_gatherer_new (KilnProject *project)
{
  g_return_val_if_fail (KILN_IS_PROJECT (project), NULL);
  return g_object_new (KILN_TYPE_GATHERER, "project", project, NULL);
}

KilnProject *
kiln_gatherer_get_project (KilnGatherer *self)
{
  g_return_val_if_fail (KILN_IS_GATHERER (self), NULL);
  return self->project;
}

void
kiln_gatherer_get_progress (KilnGatherer       *self,
                            KilnGatherProgress *progress)
{
  g_return_if_fail (KILN_IS_GATHERER (self));
  g_mutex_lock (&self->lock);
  *progress = self->progress;
  g_mutex_unlock (&self->lock);
}

static gboolean
check_request (const KilnGatherRequest *req, GError **error)
{
  if (req->source != KILN_GATHER_API && req->location == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "the source needs a file or folder");
      return FALSE;
    }
  if (req->wnid && strlen (req->wnid) != 9)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a wnid; use n + 8 digits, e.g. n02121808", req->wnid);
      return FALSE;
    }
  if (req->max_parallel == 0 || req->max_per_host == 0 || req->total_timeout_ms == 0 ||
      req->connect_timeout_ms == 0 || req->max_bytes == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "parallelism, timeouts and the size cap must be above zero");
      return FALSE;
    }
  if (req->class_name && (strchr (req->class_name, '/') || req->class_name[0] == '.' || !*req->class_name))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "“%s” cannot be a class folder name", req->class_name);
      return FALSE;
    }
  return TRUE;
}

void
kiln_gatherer_run_async (KilnGatherer            *self,
                         const KilnGatherRequest *request,
                         GCancellable            *cancellable,
                         GAsyncReadyCallback      callback,
                         gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  Run *run;

  g_return_if_fail (KILN_IS_GATHERER (self));
  g_return_if_fail (request != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, kiln_gatherer_run_async);
  /* A cancelled run reports KILN_ERROR_CANCELLED, with how to resume. */
  g_task_set_check_cancellable (task, FALSE);
  if (!g_atomic_int_compare_and_exchange (&self->running, FALSE, TRUE))
    {
      g_task_return_new_error (task, KILN_ERROR, KILN_ERROR_FAILED, "a gathering run is already going on");
      return;
    }
  if (!check_request (request, &error))
    {
      g_atomic_int_set (&self->running, FALSE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_mutex_lock (&self->lock);
  memset (&self->progress, 0, sizeof self->progress);
  self->progress.eta_s = -1;
  g_mutex_unlock (&self->lock);

  run = g_new0 (Run, 1);
  run->self = g_object_ref (self);
  run->req = kiln_gather_request_copy (request);
  run->project = g_object_ref (self->project);
  run->task = g_object_ref (task);
  run->user_cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  g_mutex_init (&run->lock);
  g_cond_init (&run->cond);
  run->ctx = g_main_context_new ();
  run->loop = g_main_loop_new (run->ctx, FALSE);
  g_queue_init (&run->pending);
  g_queue_init (&run->api_wnids);
  run->active = g_hash_table_new (NULL, NULL);
  run->host_in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->synsets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  run->done_urls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->seen_urls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->reserved_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->cancel_id = g_cancellable_connect (run->user_cancellable, G_CALLBACK (on_user_cancelled), run, NULL);

  g_thread_unref (g_thread_new ("kiln-gather", worker_main, run));
}

gboolean
kiln_gatherer_run_finish (KilnGatherer  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
