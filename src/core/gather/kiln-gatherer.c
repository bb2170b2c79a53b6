/* kiln-gatherer.c: the KilnGatherer object. It owns the request's
 * defaults and validation, starts one run at a time on its own worker
 * thread (kiln-gather-run.c drives the producers, the HTTP jobs, the
 * check and the store), and reports: progress is coalesced into at most
 * one emission per PROGRESS_INTERVAL_US on the owner's context, and the
 * result follows the last emission. */
#include "config.h"

#include <string.h>

#include "kiln-emitter.h"
#include "kiln-error.h"
#include "kiln-gatherer-private.h"

#define PROGRESS_INTERVAL_US (50 * 1000)

struct _KilnGatherer
{
  GObject             parent_instance;

  KilnProject        *project;
  GMainContext       *owner_ctx;
  gint                running;   /* atomic */

  GMutex              lock;
  KilnGatherProgress  progress;
  KilnEmitter        *emitter;       /* the current run's */
  GTask              *finish_task;   /* the run's result, for the final emission */
  GError             *finish_error;
};

G_DEFINE_FINAL_TYPE (KilnGatherer, kiln_gatherer, G_TYPE_OBJECT)

enum { PROP_0, PROP_PROJECT, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { SIGNAL_PROGRESS, N_SIGNALS };
static guint signals[N_SIGNALS];

/* Requests --------------------------------------------------------------- */

/* What new requests start with; the front end's settings may change it. */
static GMutex request_defaults_lock;
static struct {
  guint max_parallel, connect_timeout_ms, total_timeout_ms;
} request_defaults = { 32, 10000, 60000 };

void
kiln_gather_set_request_defaults (guint max_parallel, guint connect_timeout_ms, guint total_timeout_ms)
{
  g_mutex_lock (&request_defaults_lock);
  request_defaults.max_parallel = max_parallel > 0 ? max_parallel : 32;
  request_defaults.connect_timeout_ms = connect_timeout_ms > 0 ? connect_timeout_ms : 10000;
  request_defaults.total_timeout_ms = total_timeout_ms > 0 ? total_timeout_ms : 60000;
  g_mutex_unlock (&request_defaults_lock);
}

KilnGatherRequest *
kiln_gather_request_new (KilnGatherSource  source,
                         const char       *location,
                         const char       *wnid)
{
  KilnGatherRequest *req = g_new0 (KilnGatherRequest, 1);

  req->source = source;
  req->location = g_strdup (location);
  req->wnid = g_strdup (wnid);
  g_mutex_lock (&request_defaults_lock);
  req->max_parallel = request_defaults.max_parallel;
  req->connect_timeout_ms = request_defaults.connect_timeout_ms;
  req->total_timeout_ms = request_defaults.total_timeout_ms;
  g_mutex_unlock (&request_defaults_lock);
  req->max_per_host = MIN (6, req->max_parallel);
  req->max_retries = 3;
  req->backoff_ms = 1000;
  req->max_retry_after_ms = 120000;
  /* Three retries of a 60 s timeout would make one stalled URL cost four
   * minutes; one and a half timeouts leave a retry some time. */
  req->url_deadline_ms = 90000;
  req->max_bytes = 32 * 1024 * 1024;
  /* A 28 × 28 PNG is a few hundred bytes: sizes are judged in pixels. 16
   * still refuses the 1 × 1 spacers some hosts answer dead links with. */
  req->min_side = 16;
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

/* An API template gives a URL per synset: it needs {wnid}, or every
 * synset would fetch the same list, and must make an http(s) URL. The wnid
 * goes in percent-encoded, so that no wnid can add a path, a query or
 * another host to the URL. */
char *
kiln_gather_api_url (const char  *template,
                     const char  *wnid,
                     GError     **error)
{
  g_auto(GStrv) parts = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GUri) uri = NULL;

  if (strstr (template, "{wnid}") == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "the API template “%s” has no {wnid}, so every synset would get the same URL list; "
                   "put {wnid} where the synset goes, e.g. …geturls?wnid={wnid}", template);
      return NULL;
    }
  escaped = g_uri_escape_string (wnid, NULL, FALSE);
  parts = g_strsplit (template, "{wnid}", -1);
  url = g_strjoinv (escaped, parts);
  uri = kiln_gather_parse_http_url (url);
  if (uri == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "the API template “%s” does not make an http(s) URL with a host name for %s; "
                   "give one such as http://host/geturls?wnid={wnid}", template, wnid);
      return NULL;
    }
  return g_steal_pointer (&url);
}

static gboolean
check_api_template (const char *template, GError **error)
{
  g_autofree char *sample = kiln_gather_api_url (template, "n00000001", error);

  return sample != NULL;
}

/* A local source must exist before anything is created for it. */
static gboolean
check_location (const KilnGatherRequest *req, GError **error)
{
  gboolean folder = req->source == KILN_GATHER_FOLDER;
  const char *what = req->source == KILN_GATHER_URLS ? "URL list" : folder ? "folder" : "archive";

  if (g_file_test (req->location, folder ? G_FILE_TEST_IS_DIR : G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND, "%s: no such %s%s; check the path", req->location, what,
               g_file_test (req->location, G_FILE_TEST_EXISTS) ? (folder ? " (it is not a folder)" : " (it is not a file)")
                                                              : "");
  return FALSE;
}

gboolean
kiln_gather_request_check (const KilnGatherRequest  *req,
                           GError                  **error)
{
  g_return_val_if_fail (req != NULL, FALSE);

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
      req->connect_timeout_ms == 0 || req->url_deadline_ms == 0 || req->max_bytes == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "parallelism, timeouts, the URL deadline and the size cap must be above zero");
      return FALSE;
    }
  if (req->class_name && (strchr (req->class_name, '/') || req->class_name[0] == '.' || !*req->class_name))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "“%s” cannot be a class folder name", req->class_name);
      return FALSE;
    }
  if (req->source == KILN_GATHER_API)
    return check_api_template (req->location ? req->location : KILN_GATHER_DEFAULT_API, error);
  return check_location (req, error);
}

/* Progress (any thread) -------------------------------------------------- */

/* On the owner's context: the newest progress; after the run (final),
 * the result follows the last emission. */
static void
emit_progress (gpointer owner, gboolean final)
{
  KilnGatherer *self = owner;
  KilnGatherProgress copy;
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_mutex_lock (&self->lock);
  copy = self->progress;
  if (final)
    {
      task = g_steal_pointer (&self->finish_task);
      error = g_steal_pointer (&self->finish_error);
    }
  g_mutex_unlock (&self->lock);
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, &copy);
  if (!final)
    return;
  g_atomic_int_set (&self->running, FALSE);
  if (error)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

KilnGatherProgress *
kiln_gatherer_lock_progress (KilnGatherer *self)
{
  g_mutex_lock (&self->lock);
  return &self->progress;
}

void
kiln_gatherer_unlock_progress (KilnGatherer *self,
                               gboolean      now)
{
  g_mutex_unlock (&self->lock);
  kiln_emitter_post (self->emitter, now);
}

/* The worker thread ------------------------------------------------------ */

static gpointer
worker_main (gpointer data)
{
  KilnGatherRun *run = data;
  KilnGatherer *self = run->self;
  g_autoptr(KilnEmitter) emitter = kiln_emitter_ref (self->emitter);
  GError *error = NULL;

  g_main_context_push_thread_default (run->ctx);
  kiln_gather_run_execute (run, &error);
  g_main_context_pop_thread_default (run->ctx);

  g_mutex_lock (&self->lock);
  self->finish_task = g_object_ref (run->task);
  self->finish_error = error;
  g_mutex_unlock (&self->lock);
  kiln_gather_run_free (run);
  /* The task holds the gatherer, so this final call comes. */
  kiln_emitter_post_final (emitter);
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

  if (self->emitter != NULL)
    kiln_emitter_close (self->emitter);
  g_clear_pointer (&self->emitter, kiln_emitter_unref);
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

void
kiln_gatherer_run_async (KilnGatherer            *self,
                         const KilnGatherRequest *request,
                         GCancellable            *cancellable,
                         GAsyncReadyCallback      callback,
                         gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

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
  if (!kiln_gather_request_check (request, &error))
    {
      g_atomic_int_set (&self->running, FALSE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_mutex_lock (&self->lock);
  memset (&self->progress, 0, sizeof self->progress);
  self->progress.eta_s = -1;
  g_mutex_unlock (&self->lock);
  /* One emitter a run: its final call (the result) comes once. */
  g_clear_pointer (&self->emitter, kiln_emitter_unref);
  self->emitter = kiln_emitter_new (self, self->owner_ctx, emit_progress, "[kiln] gather progress");
  kiln_emitter_set_interval (self->emitter, PROGRESS_INTERVAL_US / 1000);

  g_thread_unref (g_thread_new ("kiln-gather", worker_main, kiln_gather_run_new (self, request, task, cancellable)));
}

gboolean
kiln_gatherer_run_finish (KilnGatherer  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
