#include "kiln-progress.h"

#include <math.h>

#include "kiln-emitter.h"

struct _KilnProgress
{
  GObject parent_instance;

  char *label;
  KilnEmitter *emitter;
  GCancellable *cancellable;

  GMutex lock;
  gint64 done;
  gint64 total;
  char *status;
  gint64 start_time;
  gint64 rate_time;     /* when the rate was last sampled */
  gint64 rate_done;
  double rate;
  gboolean finished;
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
  kiln_emitter_set_interval (self->emitter, milliseconds);
}

GCancellable *
kiln_progress_get_cancellable (KilnProgress *self)
{
  return self->cancellable;
}

/* On the creator's context, coalesced by the emitter. */
static void
emit_changed (gpointer owner, gboolean final)
{
  g_signal_emit (owner, signals[CHANGED], 0);
  if (final)
    g_signal_emit (owner, signals[FINISHED], 0);
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
  g_mutex_unlock (&self->lock);
  kiln_emitter_post (self->emitter, FALSE);
}

void
kiln_progress_add_done (KilnProgress *self, gint64 amount)
{
  g_mutex_lock (&self->lock);
  self->done += amount;
  sample_rate_locked (self);
  g_mutex_unlock (&self->lock);
  kiln_emitter_post (self->emitter, FALSE);
}

void
kiln_progress_set_status (KilnProgress *self, const char *status)
{
  g_mutex_lock (&self->lock);
  g_free (self->status);
  self->status = g_strdup (status);
  g_mutex_unlock (&self->lock);
  kiln_emitter_post (self->emitter, FALSE);
}

void
kiln_progress_finish (KilnProgress *self)
{
  g_mutex_lock (&self->lock);
  self->finished = TRUE;
  g_mutex_unlock (&self->lock);
  kiln_emitter_post_final (self->emitter);
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

void
kiln_progress_feed (guint64 done, guint64 total, gpointer user_data)
{
  KilnProgress *self = user_data;

  g_mutex_lock (&self->lock);
  self->total = total;
  self->done = done;
  sample_rate_locked (self);
  g_mutex_unlock (&self->lock);
  kiln_emitter_post (self->emitter, FALSE);
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
      g_autofree char *eta = kiln_progress_format_duration (s->eta_seconds);
      g_string_append_printf (text, " · ETA %s", eta);
    }
  return g_string_free (text, FALSE);
}

char *
kiln_progress_format_duration (double seconds)
{
  gint64 s = (gint64) ceil (MAX (0, seconds));

  if (s >= 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT ":%02d:%02d", s / 3600, (int) (s / 60 % 60), (int) (s % 60));
  return g_strdup_printf ("%d:%02d", (int) (s / 60), (int) (s % 60));
}

static void
kiln_progress_finalize (GObject *object)
{
  KilnProgress *self = KILN_PROGRESS (object);

  kiln_emitter_close (self->emitter);
  g_clear_pointer (&self->emitter, kiln_emitter_unref);
  g_clear_pointer (&self->label, g_free);
  g_clear_pointer (&self->status, g_free);
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
  self->emitter = kiln_emitter_new (self, NULL, emit_changed, "[kiln] progress");
  self->cancellable = g_cancellable_new ();
  self->start_time = self->rate_time = g_get_monotonic_time ();
}
