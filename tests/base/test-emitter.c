/* KilnEmitter: posts from threads become few callbacks on the owner's
 * context, the last state always arrives, the final call comes last and
 * once, and an owner that goes with a source pending is not called back. */
#include <glib-object.h>

#include "kiln-emitter.h"

typedef struct {
  GMutex lock;
  gint64 value;          /* the owner's state, written by the worker */
  GThread *owner_thread; /* where callbacks must run */
  guint calls, finals, after_final;
  gboolean wrong_thread;
  gint64 seen;           /* the value the last callback read */
  gint64 seen_at_final;
  KilnEmitter *repost;   /* when set, the first callback posts again */
} State;

static void
on_emit (gpointer owner, gboolean final)
{
  State *s = g_object_get_data (owner, "state");

  if (g_thread_self () != s->owner_thread)
    s->wrong_thread = TRUE;
  if (s->finals > 0)
    s->after_final++;
  g_mutex_lock (&s->lock);
  s->seen = s->value;
  g_mutex_unlock (&s->lock);
  s->calls++;
  if (final)
    {
      s->finals++;
      s->seen_at_final = s->seen;
    }
  if (s->repost != NULL && s->calls == 1)
    kiln_emitter_post (s->repost, TRUE);
}

static GObject *
make_owner (State *s)
{
  GObject *owner = g_object_new (G_TYPE_OBJECT, NULL);
  g_mutex_init (&s->lock);
  s->owner_thread = g_thread_self ();
  g_object_set_data (owner, "state", s);
  return owner;
}

typedef struct {
  KilnEmitter *emitter;
  State *state;
  gint64 n;
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  for (gint64 i = 1; i <= w->n; i++)
    {
      g_mutex_lock (&w->state->lock);
      w->state->value = i;
      g_mutex_unlock (&w->state->lock);
      /* Every 1000th post is an event: it must not wait for the interval. */
      kiln_emitter_post (w->emitter, i % 1000 == 0);
      if (i % 20000 == 0)
        g_usleep (2000);
    }
  kiln_emitter_post_final (w->emitter);
  /* Late posts and a second final change nothing. */
  kiln_emitter_post (w->emitter, TRUE);
  kiln_emitter_post_final (w->emitter);
  return NULL;
}

static void
test_coalesces_to_the_last_state (void)
{
  State s = { 0 };
  g_autoptr(GObject) owner = make_owner (&s);
  g_autoptr(KilnEmitter) emitter = kiln_emitter_new (owner, NULL, on_emit, "[test] emitter");
  Worker w = { emitter, &s, 200000 };

  kiln_emitter_set_interval (emitter, 20);
  gint64 start = g_get_monotonic_time ();
  GThread *thread = g_thread_new ("worker", worker_run, &w);
  while (s.finals == 0)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  double elapsed_ms = (g_get_monotonic_time () - start) / 1000.0;
  while (g_main_context_iteration (NULL, FALSE))
    ;

  g_assert_false (s.wrong_thread);
  g_assert_cmpuint (s.finals, ==, 1);
  g_assert_cmpuint (s.after_final, ==, 0);
  g_assert_cmpint (s.seen_at_final, ==, w.n);
  /* 200,000 posts: plain ones at most one call per interval, plus one per
   * event (200) and the final. */
  g_assert_cmpuint (s.calls, >=, 1);
  g_assert_cmpfloat (s.calls, <=, elapsed_ms / 20.0 + 200 + 2);
  g_test_message ("%u calls for %" G_GINT64_FORMAT " posts in %.0f ms", s.calls, w.n, elapsed_ms);
}

typedef struct {
  GMainContext *context;
  State *state;
} OwnerThread;

static gpointer
owner_thread_run (gpointer data)
{
  OwnerThread *t = data;
  t->state->owner_thread = g_thread_self ();
  g_main_context_push_thread_default (t->context);
  while (t->state->finals == 0)
    g_main_context_iteration (t->context, TRUE);
  g_main_context_pop_thread_default (t->context);
  return NULL;
}

static void
test_calls_back_on_the_owner_context (void)
{
  State s = { 0 };
  g_autoptr(GObject) owner = make_owner (&s);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(KilnEmitter) emitter = kiln_emitter_new (owner, context, on_emit, "[test] emitter");
  OwnerThread t = { context, &s };

  /* Nothing reaches the default context, which this thread turns. */
  kiln_emitter_post (emitter, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (s.calls, ==, 0);

  GThread *thread = g_thread_new ("owner", owner_thread_run, &t);
  Worker w = { emitter, &s, 50000 };
  worker_run (&w);
  g_thread_join (thread);
  g_assert_false (s.wrong_thread);
  g_assert_cmpuint (s.finals, ==, 1);
  g_assert_cmpint (s.seen_at_final, ==, w.n);
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_urgent_posts_skip_the_interval (void)
{
  State s = { 0 };
  g_autoptr(GObject) owner = make_owner (&s);
  g_autoptr(KilnEmitter) emitter = kiln_emitter_new (owner, NULL, on_emit, "[test] emitter");
  gboolean gave_up = FALSE;

  /* Ten minutes: a plain post now waits far longer than this test may run. */
  kiln_emitter_set_interval (emitter, 600000);
  kiln_emitter_post (emitter, FALSE);
  while (s.calls == 0)
    g_main_context_iteration (NULL, TRUE);
  kiln_emitter_post (emitter, FALSE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (s.calls, ==, 1);

  /* An event replaces the waiting timeout. */
  guint guard = g_timeout_add_seconds (30, set_flag, &gave_up);
  kiln_emitter_post (emitter, TRUE);
  while (s.calls == 1 && !gave_up)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (gave_up);
  g_assert_cmpuint (s.calls, ==, 2);

  /* A post made inside a callback is not lost either. */
  s.repost = emitter;
  s.calls = 0;
  kiln_emitter_post (emitter, TRUE);
  while (s.calls < 2 && !gave_up)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (gave_up);
  g_assert_cmpuint (s.calls, ==, 2);
  g_source_remove (guard);
}

static void
test_final_is_last_and_once (void)
{
  State s = { 0 };
  g_autoptr(GObject) owner = make_owner (&s);
  g_autoptr(KilnEmitter) emitter = kiln_emitter_new (owner, NULL, on_emit, "[test] emitter");

  kiln_emitter_set_interval (emitter, 600000);
  kiln_emitter_post (emitter, FALSE);
  kiln_emitter_post (emitter, TRUE);
  /* The final one does not wait for the interval either. */
  kiln_emitter_post_final (emitter);
  kiln_emitter_post_final (emitter);
  kiln_emitter_post (emitter, TRUE);
  while (s.finals == 0)
    g_main_context_iteration (NULL, TRUE);
  kiln_emitter_post (emitter, TRUE);
  kiln_emitter_post_final (emitter);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* The posts before the final one were coalesced into it. */
  g_assert_cmpuint (s.calls, ==, 1);
  g_assert_cmpuint (s.finals, ==, 1);
  g_assert_cmpuint (s.after_final, ==, 0);
}

static void
test_owner_gone_with_a_source_pending (void)
{
  State s = { 0 };
  GObject *owner = make_owner (&s);
  KilnEmitter *emitter = kiln_emitter_new (owner, NULL, on_emit, "[test] emitter");

  /* Dropped without a word: the pending source does not keep it alive,
   * and finds nobody to call. */
  g_object_add_weak_pointer (owner, (gpointer *) &owner);
  kiln_emitter_post (emitter, TRUE);
  kiln_emitter_post_final (emitter);
  g_object_unref (owner);
  g_assert_null (owner);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (s.calls, ==, 0);
  kiln_emitter_unref (emitter);

  /* Closed by its owner (what dispose does), then everything released,
   * while a worker still posts. */
  owner = make_owner (&s);
  emitter = kiln_emitter_new (owner, NULL, on_emit, "[test] emitter");
  kiln_emitter_set_interval (emitter, 1);
  Worker w = { kiln_emitter_ref (emitter), &s, 100000 };
  GThread *thread = g_thread_new ("worker", worker_run, &w);
  kiln_emitter_post (emitter, TRUE);
  kiln_emitter_close (emitter);
  g_clear_pointer (&emitter, kiln_emitter_unref);
  g_clear_object (&owner);
  g_thread_join (thread);
  kiln_emitter_unref (w.emitter);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (s.calls, ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/emitter/coalesces-to-the-last-state", test_coalesces_to_the_last_state);
  g_test_add_func ("/emitter/owner-context", test_calls_back_on_the_owner_context);
  g_test_add_func ("/emitter/urgent-skips-the-interval", test_urgent_posts_skip_the_interval);
  g_test_add_func ("/emitter/final-last-and-once", test_final_is_last_and_once);
  g_test_add_func ("/emitter/owner-gone-with-source-pending", test_owner_gone_with_a_source_pending);
  return g_test_run ();
}
