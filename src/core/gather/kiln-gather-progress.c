/* kiln-gather-progress.c: what a run counts (kept, rejected, failed, by
 * reason, bytes, queued, in flight) and the one-line texts the CLI and the
 * window show. Counts are edited under the gatherer's progress lock from
 * any thread; the gatherer coalesces the emissions. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-gatherer-private.h"

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
  [KILN_GATHER_REASON_NOT_AN_IMAGE] = "not-an-image",
  [KILN_GATHER_REASON_REDIRECT] = "redirect",
  [KILN_GATHER_REASON_INVALID] = "invalid",
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

/* Counting --------------------------------------------------------------- */

static KilnGatherProgress *
edit_begin (KilnGatherRun *run)
{
  return kiln_gatherer_lock_progress (run->self);
}

/* Recomputes the derived numbers and lets the gatherer emit. */
static void
edit_end (KilnGatherRun *run, KilnGatherProgress *p, gboolean now)
{
  p->n_done = p->n_kept + p->n_rejected + p->n_failed;
  p->elapsed_s = (g_get_monotonic_time () - run->start_us) / 1e6;
  if (p->elapsed_s > 0)
    {
      p->files_per_s = p->n_done / p->elapsed_s;
      p->bytes_per_s = p->bytes / p->elapsed_s;
    }
  p->eta_s = (p->source_done && p->files_per_s > 0) ? p->n_queued / p->files_per_s : -1;
  kiln_gatherer_unlock_progress (run->self, now);
}

void
kiln_gather_progress_count_outcome (KilnGatherRun        *run,
                                    const KilnGatherItem *item)
{
  KilnGatherProgress *p = edit_begin (run);

  switch (item->outcome)
    {
    case KILN_DOWNLOAD_KEPT: p->n_kept++; break;
    case KILN_DOWNLOAD_REJECTED: p->n_rejected++; break;
    default: p->n_failed++; break;
    }
  p->by_reason[item->reason]++;
  edit_end (run, p, FALSE);
}

void
kiln_gather_progress_add_bytes (KilnGatherRun *run,
                                gsize          n_bytes)
{
  KilnGatherProgress *p = edit_begin (run);

  p->bytes += n_bytes;
  edit_end (run, p, FALSE);
}

void
kiln_gather_progress_add_skipped (KilnGatherRun *run,
                                  guint          n)
{
  KilnGatherProgress *p = edit_begin (run);

  p->n_skipped += n;
  edit_end (run, p, FALSE);
}

void
kiln_gather_progress_add_over_limit (KilnGatherRun *run,
                                     guint          n)
{
  KilnGatherProgress *p = edit_begin (run);

  p->n_over_limit += n;
  edit_end (run, p, FALSE);
}

void
kiln_gather_progress_add_source_error (KilnGatherRun *run)
{
  KilnGatherProgress *p = edit_begin (run);

  p->n_source_errors++;
  edit_end (run, p, FALSE);
}

void
kiln_gather_progress_unkeep (KilnGatherRun *run)
{
  KilnGatherProgress *p = edit_begin (run);

  p->n_kept--;
  p->by_reason[KILN_GATHER_REASON_KEPT]--;
  p->n_rejected++;
  p->by_reason[KILN_GATHER_REASON_PLACEHOLDER]++;
  edit_end (run, p, FALSE);
}

void
kiln_gather_progress_update_queue (KilnGatherRun *run)
{
  KilnGatherProgress *p = edit_begin (run);

  p->n_queued = g_queue_get_length (&run->pending) + run->in_flight + run->waiting;
  p->source_done = run->source_done;
  p->n_in_flight = run->in_flight;
  p->n_retrying = run->waiting;
  edit_end (run, p, FALSE);
}

void
kiln_gather_progress_finish (KilnGatherRun *run)
{
  KilnGatherProgress *p = edit_begin (run);

  p->n_queued = 0;
  p->source_done = TRUE;
  p->n_in_flight = run->in_flight + run->local_in_flight;
  p->n_retrying = run->waiting;
  edit_end (run, p, TRUE);
}
