#include "kiln-emitter.h"

struct _KilnEmitter
{
  gatomicrefcount ref_count;
  GWeakRef owner;
  GMainContext *context;
  KilnEmitterFunc func;
  const char *name;

  GMutex lock;
  guint interval_ms;
  GSource *source;          /* the pending one, or NULL */
  gboolean source_is_idle;  /* else a timeout waiting for the interval */
  gint64 last_call;         /* monotonic µs */
  gboolean final_posted;
  gboolean closed;          /* by kiln_emitter_close() or after the final call */
};

KilnEmitter *
kiln_emitter_new (gpointer owner, GMainContext *context, KilnEmitterFunc func, const char *name)
{
  KilnEmitter *self;

  g_return_val_if_fail (G_IS_OBJECT (owner), NULL);
  self = g_new0 (KilnEmitter, 1);
  g_atomic_ref_count_init (&self->ref_count);
  g_weak_ref_init (&self->owner, owner);
  self->context = context ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  self->func = func;
  self->name = name;
  g_mutex_init (&self->lock);
  self->interval_ms = 100;
  return self;
}

KilnEmitter *
kiln_emitter_ref (KilnEmitter *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
kiln_emitter_unref (KilnEmitter *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  /* A pending source holds a reference, so none is left here. */
  g_assert (self->source == NULL);
  g_weak_ref_clear (&self->owner);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_free (self);
}

void
kiln_emitter_set_interval (KilnEmitter *self, guint milliseconds)
{
  g_mutex_lock (&self->lock);
  self->interval_ms = milliseconds;
  g_mutex_unlock (&self->lock);
}

static gboolean
dispatch (gpointer data)
{
  KilnEmitter *self = data;
  gboolean final;

  g_mutex_lock (&self->lock);
  /* An urgent post may have replaced this source while it waited for the
   * lock: only the pending one calls back, and nothing after the final. */
  if (self->source != g_main_current_source () || self->closed)
    {
      g_mutex_unlock (&self->lock);
      return G_SOURCE_REMOVE;
    }
  g_clear_pointer (&self->source, g_source_unref);
  final = self->final_posted;
  self->closed = final;
  self->last_call = g_get_monotonic_time ();
  g_mutex_unlock (&self->lock);

  /* Posts from here on schedule the next call, so none is lost. */
  g_autoptr(GObject) owner = g_weak_ref_get (&self->owner);
  if (owner != NULL)
    self->func (owner, final);
  return G_SOURCE_REMOVE;
}

/* With the lock held: makes sure one source will call back. */
static void
schedule_locked (KilnEmitter *self, gboolean urgent)
{
  gint64 wait_us = 0;

  if (self->source != NULL)
    {
      if (!urgent || self->source_is_idle)
        return;
      /* An event must not wait for the interval. */
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  if (!urgent)
    wait_us = (gint64) self->interval_ms * 1000 - (g_get_monotonic_time () - self->last_call);
  self->source_is_idle = wait_us <= 0;
  self->source = self->source_is_idle ? g_idle_source_new () : g_timeout_source_new ((guint) ((wait_us + 999) / 1000));
  /* Below redraws and input: reports must not starve the UI they feed. */
  g_source_set_priority (self->source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (self->source, dispatch, kiln_emitter_ref (self), (GDestroyNotify) kiln_emitter_unref);
  g_source_set_static_name (self->source, self->name);
  g_source_attach (self->source, self->context);
}

void
kiln_emitter_post (KilnEmitter *self, gboolean urgent)
{
  g_mutex_lock (&self->lock);
  if (!self->closed && !self->final_posted)
    schedule_locked (self, urgent);
  g_mutex_unlock (&self->lock);
}

void
kiln_emitter_post_final (KilnEmitter *self)
{
  g_mutex_lock (&self->lock);
  if (!self->closed && !self->final_posted)
    {
      self->final_posted = TRUE;
      schedule_locked (self, TRUE);
    }
  g_mutex_unlock (&self->lock);
}

void
kiln_emitter_close (KilnEmitter *self)
{
  g_mutex_lock (&self->lock);
  self->closed = TRUE;
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  g_mutex_unlock (&self->lock);
}
