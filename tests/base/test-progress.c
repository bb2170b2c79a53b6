/* KilnProgress: workers update it from threads; "changed" arrives on the
 * creator's main context only, coalesced, and "finished" once, last. */
#include <gio/gio.h>

#include "kiln-progress.h"

typedef struct {
  KilnProgress *progress;
  gint64 n;
} Worker;

typedef struct {
  GThread *main_thread;
  guint changed;
  guint finished;
  guint changed_after_finished;
  gboolean wrong_thread;
  gint64 last_done;
} Observed;

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  kiln_progress_set_total (w->progress, w->n);
  for (gint64 i = 0; i < w->n; i++)
    {
      kiln_progress_add_done (w->progress, 1);
      if (i % 10000 == 0)
        g_usleep (2000);
    }
  kiln_progress_finish (w->progress);
  return NULL;
}

static void
on_changed (KilnProgress *progress, Observed *o)
{
  KilnProgressSnapshot s;
  if (g_thread_self () != o->main_thread)
    o->wrong_thread = TRUE;
  if (o->finished)
    o->changed_after_finished++;
  o->changed++;
  kiln_progress_snapshot (progress, &s, NULL);
  g_assert_cmpint (s.done, >=, o->last_done);
  o->last_done = s.done;
}

static void
on_finished (KilnProgress *progress, Observed *o)
{
  if (g_thread_self () != o->main_thread)
    o->wrong_thread = TRUE;
  o->finished++;
}

static void
test_coalesced_on_main_context (void)
{
  g_autoptr(KilnProgress) progress = kiln_progress_new ("count");
  Observed o = { .main_thread = g_thread_self () };
  Worker w = { progress, 200000 };

  kiln_progress_set_min_interval (progress, 20);
  g_signal_connect (progress, "changed", G_CALLBACK (on_changed), &o);
  g_signal_connect (progress, "finished", G_CALLBACK (on_finished), &o);

  gint64 start = g_get_monotonic_time ();
  GThread *thread = g_thread_new ("worker", worker_run, &w);
  while (o.finished == 0)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  double elapsed_ms = (g_get_monotonic_time () - start) / 1000.0;

  g_assert_false (o.wrong_thread);
  g_assert_cmpuint (o.finished, ==, 1);
  g_assert_cmpuint (o.changed_after_finished, ==, 0);
  g_assert_cmpint (o.last_done, ==, w.n);
  /* 200,000 updates, but no more emissions than the interval allows. */
  g_assert_cmpuint (o.changed, >=, 1);
  g_assert_cmpfloat (o.changed, <=, elapsed_ms / 20.0 + 3);
  g_test_message ("%u emissions for %" G_GINT64_FORMAT " updates in %.0f ms", o.changed, w.n, elapsed_ms);

  /* Nothing is left pending once finished. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (o.finished, ==, 1);
}

static void
test_eta_and_format (void)
{
  g_autoptr(KilnProgress) progress = kiln_progress_new ("eta");
  KilnProgressSnapshot s;

  kiln_progress_set_total (progress, 70000);
  g_usleep (300000);
  kiln_progress_add_done (progress, 12345);
  kiln_progress_snapshot (progress, &s, NULL);
  g_assert_cmpint (s.done, ==, 12345);
  g_assert_cmpfloat (s.rate, >, 0);
  g_assert_cmpfloat (s.eta_seconds, >, 0);
  g_autofree char *text = kiln_progress_format (&s);
  g_assert_true (g_str_has_prefix (text, "12,345 / 70,000 (18%)"));
  g_assert_nonnull (strstr (text, "ETA "));

  KilnProgressSnapshot unknown = { .done = 7, .total = 0, .rate = 0, .eta_seconds = -1 };
  g_autofree char *plain = kiln_progress_format (&unknown);
  g_assert_cmpstr (plain, ==, "7");

  kiln_progress_finish (progress);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_signals_go_to_creator_context (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Observed o = { .main_thread = g_thread_self () };

  g_main_context_push_thread_default (context);
  g_autoptr(KilnProgress) progress = kiln_progress_new ("ctx");
  g_main_context_pop_thread_default (context);

  g_signal_connect (progress, "changed", G_CALLBACK (on_changed), &o);
  kiln_progress_add_done (progress, 1);
  /* The global default context must not see it. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (o.changed, ==, 0);
  kiln_progress_finish (progress);
  while (o.changed == 0)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpuint (o.changed, ==, 1);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/progress/coalesced-on-main-context", test_coalesced_on_main_context);
  g_test_add_func ("/progress/eta-and-format", test_eta_and_format);
  g_test_add_func ("/progress/creator-context", test_signals_go_to_creator_context);
  return g_test_run ();
}
