/* kiln-progress.h: progress of one long operation (done, total, rate, ETA).
 *
 * Threads: workers call the setters from any thread; they only take a lock
 * and post to the core's emitter (kiln-emitter.h). "changed" is emitted on
 * the GMainContext that was thread-default when the object was created,
 * from one idle source, at most every @min_interval (coalesced), so a fast
 * worker cannot flood the UI. "finished" is emitted there once, right after
 * the last "changed". A progress dropped with an emission pending is not
 * emitted on. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The plain callback of synchronous core operations (labelling, IDX
 * import): called on the thread doing the work, at most a few times per
 * second or per item; front ends forward it to their own main loop or feed
 * a KilnProgress with it. */
typedef void (*KilnProgressFunc) (guint64   done,
                                  guint64   total,
                                  gpointer  user_data);

#define KILN_TYPE_PROGRESS (kiln_progress_get_type ())
G_DECLARE_FINAL_TYPE (KilnProgress, kiln_progress, KILN, PROGRESS, GObject)

typedef struct {
  gint64 done;
  gint64 total;           /* 0 when unknown */
  double rate;            /* units per second, smoothed */
  double eta_seconds;     /* -1 when unknown */
  double elapsed_seconds;
  gboolean finished;
} KilnProgressSnapshot;

KilnProgress *kiln_progress_new            (const char *label);
const char   *kiln_progress_get_label      (KilnProgress *self);
/* Minimum time between two "changed" emissions (default 100 ms). */
void          kiln_progress_set_min_interval (KilnProgress *self,
                                              guint         milliseconds);
GCancellable *kiln_progress_get_cancellable (KilnProgress *self);

/* Thread-safe. */
void          kiln_progress_set_total      (KilnProgress *self,
                                            gint64        total);
void          kiln_progress_add_done       (KilnProgress *self,
                                            gint64        amount);
void          kiln_progress_set_status     (KilnProgress *self,
                                            const char   *status);
void          kiln_progress_finish         (KilnProgress *self);
/* A consistent copy, thread-safe. @status may be NULL. */
void          kiln_progress_snapshot       (KilnProgress         *self,
                                            KilnProgressSnapshot *snapshot,
                                            char                **status);

/* A KilnProgressFunc for @user_data, a KilnProgress: sets it to the
 * absolute counts a synchronous core call reports (it adds the difference),
 * so an _async wrapper can pass its KilnProgress straight through. */
void          kiln_progress_feed           (guint64       done,
                                            guint64       total,
                                            gpointer      user_data);

/* "12,345 / 70,000 · 1,234/s · ETA 0:47" */
char         *kiln_progress_format         (const KilnProgressSnapshot *snapshot);
/* "0:47", "1:02:03": a duration such as an ETA, rounded up to seconds. */
char         *kiln_progress_format_duration (double seconds);

G_END_DECLS
