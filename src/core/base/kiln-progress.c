#include "kiln-progress.h"

#include <math.h>

struct _KilnProgress
{
  GObject parent_instance;

  char *label;
  GMainContext *context;
  GCancellable *cancellable;
  guint min_interval_ms;

  GMutex lock;
  gint64 done;
  gint64 total;
  char *status;
  gint64 start_time;
  gint64 rate_time;     /* when the rate was last sampled */
  gint64 rate_done;
  double rate;
  gboolean finished;
  gboolean finish_emitted;
  GSource *pending;     /* the one idle/timeout source, or NULL */
  gint64 last_emit;
};

enum { CHANGED, FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KilnProgress, kiln_progress, G_TYPE_OBJECT)

KilnProgress *
kiln_progress_new (const char *label)
{
  KilnProgress *self = g_object_new (KILN_TYPE_PROGRESS, NULL);
  self->label = g_strdup (label);
  return self;
}

const char *
kiln_progress_get_label (KilnProgress *self)
{
  return self->label;
}

void
kiln_progress_set_min_interval (KilnProgress *self, guint milliseconds)
{
  g_mutex_lock (&self->lock);
  self->min_interval_ms = milliseconds;
  g_mutex_unlock (&self->lock);
}

GCancellable *
kiln_progress_get_cancellable (KilnProgress *self)
{
  return self->cancellable;
}

static gboolean
emit_pending (gpointer data)
{
  KilnProgress *self = KILN_PROGRESS (data);
  gboolean emit_finished;

  g_mutex_lock (&self->lock);
  /* finish() may have replaced this source while it waited for the lock:
   * only the pending one clears itself, and nothing follows "finished". */
  if (self->pending == g_main_current_source ())
    g_clear_pointer (&self->pending, g_source_unref);
  if (self->finish_emitted)
    {
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }
  self->last_emit = g_get_monotonic_time ();
  emit_finished = self->finished && self->pending == NULL;
  if (emit_finished)
    self->finish_emitted = TRUE;
  g_mutex_unlock (&self->lock);

  g_signal_emit (self, signals[CHANGED], 0);
  if (emit_finished)
    g_signal_emit (self, signals[FINISHED], 0);
  return G_SOURCE_REMOVE;
}

/* Called with the lock held: makes sure one source will emit soon. */
static void
schedule_locked (KilnProgress *self, gboolean now)
{
  gint64 wait_us = 0;

  if (self->pending != NULL)
    {
      if (!now)
        return;
      /* finish() must not wait for the interval */
      g_source_destroy (self->pending);
      g_clear_pointer (&self->pending, g_source_unref);
    }
  if (!now)
    {
      gint64 since = g_get_monotonic_time () - self->last_emit;
      wait_us = (gint64) self->min_interval_ms * 1000 - since;
    }
  self->pending = wait_us > 0 ? g_timeout_source_new ((guint) (wait_us / 1000) + 1) : g_idle_source_new ();
  g_source_set_priority (self->pending, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (self->pending, emit_pending, g_object_ref (self), g_object_unref);
  g_source_set_static_name (self->pending, "[kiln] progress");
  g_source_attach (self->pending, self->context);
}

static void
sample_rate_locked (KilnProgress *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 dt = now - self->rate_time;

  /* Sample at most 4× a second; smooth so one slow file does not swing the ETA. */
  if (dt < 250000)
    return;
  double instant = (self->done - self->rate_done) / (dt / 1e6);
  self->rate = self->rate_done == 0 && self->rate == 0 ? instant : 0.7 * self->rate + 0.3 * instant;
  self->rate_time = now;
  self->rate_done = self->done;
}

void
kiln_progress_set_total (KilnProgress *self, gint64 total)
{
  g_mutex_lock (&self->lock);
  self->total = total;
  schedule_locked (self, FALSE);
  g_mutex_unlock (&self->lock);
}

void
kiln_progress_add_done (KilnProgress *self, gint64 amount)
{
  g_mutex_lock (&self->lock);
  self->done += amount;
  sample_rate_locked (self);
  schedule_locked (self, FALSE);
  g_mutex_unlock (&self->lock);
}

void
kiln_progress_set_status (KilnProgress *self, const char *status)
{
  g_mutex_lock (&self->lock);
  g_free (self->status);
  self->status = g_strdup (status);
  schedule_locked (self, FALSE);
  g_mutex_unlock (&self->lock);
}

void
kiln_progress_finish (KilnProgress *self)
{
  g_mutex_lock (&self->lock);
  if (!self->finished)
    {
      self->finished = TRUE;
      schedule_locked (self, TRUE);
    }
  g_mutex_unlock (&self->lock);
}

void
kiln_progress_snapshot (KilnProgress *self, KilnProgressSnapshot *snapshot, char **status)
{
  g_mutex_lock (&self->lock);
  gint64 now = g_get_monotonic_time ();
  double elapsed = (now - self->start_time) / 1e6;
  double rate = self->rate;

  /* Before the first sample, the average is the best estimate. */
  if (rate <= 0 && elapsed > 0)
    rate = self->done / elapsed;
  snapshot->done = self->done;
  snapshot->total = self->total;
  snapshot->rate = rate;
  snapshot->elapsed_seconds = elapsed;
  snapshot->finished = self->finished;
  snapshot->eta_seconds = (self->total > 0 && rate > 0 && !self->finished)
                          ? MAX (0, self->total - self->done) / rate : -1;
  if (status)
    *status = g_strdup (self->status);
  g_mutex_unlock (&self->lock);
}

static char *
format_count (gint64 n)
{
  g_autoptr(GString) digits = g_string_new (NULL);
  g_autofree char *plain = g_strdup_printf ("%" G_GINT64_FORMAT, n < 0 ? -n : n);
  gsize len = strlen (plain);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (digits, ',');
      g_string_append_c (digits, plain[i]);
    }
  if (n < 0)
    g_string_prepend_c (digits, '-');
  return g_string_free (g_steal_pointer (&digits), FALSE);
}

char *
kiln_progress_format (const KilnProgressSnapshot *s)
{
  GString *text = g_string_new (NULL);
  g_autofree char *done = format_count (s->done);

  if (s->total > 0)
    {
      g_autofree char *total = format_count (s->total);
      g_string_append_printf (text, "%s / %s (%.0f%%)", done, total, 100.0 * s->done / s->total);
    }
  else
    g_string_append (text, done);
  if (s->rate > 0)
    g_string_append_printf (text, " · %.*f/s", s->rate < 10 ? 1 : 0, s->rate);
  if (s->eta_seconds >= 0 && isfinite (s->eta_seconds))
    {
      gint64 eta = (gint64) ceil (s->eta_seconds);
      if (eta >= 3600)
        g_string_append_printf (text, " · ETA %" G_GINT64_FORMAT ":%02d:%02d",
                                eta / 3600, (int) (eta / 60 % 60), (int) (eta % 60));
      else
        g_string_append_printf (text, " · ETA %d:%02d", (int) (eta / 60), (int) (eta % 60));
    }
  return g_string_free (text, FALSE);
}

static void
kiln_progress_finalize (GObject *object)
{
  KilnProgress *self = KILN_PROGRESS (object);

  /* A pending source holds a reference, so none can be left here. */
  g_assert (self->pending == NULL);
  g_clear_pointer (&self->label, g_free);
  g_clear_pointer (&self->status, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->cancellable);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (kiln_progress_parent_class)->finalize (object);
}

static void
kiln_progress_class_init (KilnProgressClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_progress_finalize;

  /* Emitted on the creator's main context, coalesced. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Emitted once, after the last "changed". */
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
kiln_progress_init (KilnProgress *self)
{
  g_mutex_init (&self->lock);
  self->context = g_main_context_ref_thread_default ();
  self->cancellable = g_cancellable_new ();
  self->min_interval_ms = 100;
  self->start_time = self->rate_time = g_get_monotonic_time ();
}
