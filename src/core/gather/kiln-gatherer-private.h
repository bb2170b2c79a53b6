/* kiln-gatherer-private.h: what the gatherer's pieces share inside
 * src/core/gather, and nothing outside it includes: one run's state, the
 * run's entry points that producers and HTTP jobs call
 * (kiln-gather-run.c), the progress counters (kiln-gather-progress.c),
 * the four producers (kiln-gather-source-*.c) and the gatherer's side of
 * progress reporting (kiln-gatherer.c).
 *
 * Threads: a run has one worker thread (with its own GMainContext, where
 * HTTP jobs, the API producer and the scheduling live), a pool that checks
 * and stores items, and for archives and folders the worker thread reads
 * the source itself and hands items to the pool. Fields say who may touch
 * them. */
#pragma once

#include <libsoup/soup.h>

#include "kiln-gather-item.h"
#include "kiln-gather-job.h"
#include "kiln-gather-placeholders.h"
#include "kiln-gather-store.h"
#include "kiln-gatherer.h"
#include "kiln-url-list.h"

G_BEGIN_DECLS

struct _KilnGatherRun
{
  KilnGatherer      *self;
  KilnGatherRequest *req;
  KilnProject       *project;
  KilnGatherStore   *store;
  KilnGatherPlaceholders *placeholders;
  GTask             *task;
  GCancellable      *user_cancellable;
  gulong             cancel_id;
  GCancellable      *stop;            /* cancelled by the user or by a fatal error */
  GError            *fatal;           /* under lock */
  GMutex             lock;            /* fatal, synsets, local_in_flight, last_source_error */
  GCond              cond;            /* signalled when an item leaves the pool, and on stop */
  gint64             start_us;

  GMainContext      *ctx;             /* the worker thread's */
  GMainLoop         *loop;
  SoupSession       *session;
  GThreadPool       *pool;            /* checks and stores items */

  /* What to gather; fixed once the run starts. */
  GHashTable        *wanted;          /* wnid set, NULL = every synset */
  GHashTable        *done_urls;       /* finished by earlier runs */

  /* The per-synset limit, for every source (under lock). */
  GHashTable        *synsets;         /* wnid → kept and in flight */
  guint              n_synsets_full;

  /* Producers (worker thread). */
  KilnUrlList       *list;
  char              *list_uri;        /* the list file's URI: bad lines are recorded as URI#line=N */
  GQueue             api_wnids;       /* char * */
  gboolean           api_busy;
  guint              api_calls;
  guint              api_errors;
  char              *last_source_error;  /* under lock */
  GSource           *fill_idle;
  gboolean           source_done;

  /* HTTP scheduling (worker thread). */
  GQueue             pending;         /* KilnGatherJob * */
  GHashTable        *active;          /* KilnGatherJob * set: in flight or waiting */
  GHashTable        *host_in_flight;
  GHashTable        *seen_urls;
  guint              in_flight;
  guint              waiting;
  gboolean           finished;

  /* Archives and folders: items in the pool (under lock). */
  guint              local_in_flight;
};

/* The run (kiln-gather-run.c) ---------------------------------------------- */

/* URL producers keep at least this many URLs queued, when they have them. */
#define KILN_GATHER_PENDING_LOW 256

KilnGatherRun *kiln_gather_run_new            (KilnGatherer            *self,
                                               const KilnGatherRequest *request,
                                               GTask                   *task,
                                               GCancellable            *cancellable);
void           kiln_gather_run_free           (KilnGatherRun           *run);
/* The whole run, on the worker thread with run->ctx its thread-default
 * context: returns when every item is recorded or abandoned. */
gboolean       kiln_gather_run_execute        (KilnGatherRun           *run,
                                               GError                 **error);
/* Stops the run with @error (the first one wins; any thread). */
void           kiln_gather_run_set_fatal      (KilnGatherRun           *run,
                                               GError                  *error);
gboolean       kiln_gather_run_stopping       (KilnGatherRun           *run);
gboolean       kiln_gather_run_wants          (KilnGatherRun           *run,
                                               const char              *wnid);
/* A part of the source failed (one API call, one archive member): counted,
 * logged, and named in the run's error if nothing at all worked. */
void           kiln_gather_run_source_error   (KilnGatherRun           *run,
                                               char                    *message);
/* Records an item that was not kept (any thread). */
void           kiln_gather_run_record         (KilnGatherRun           *run,
                                               const KilnGatherItem    *item);
/* URL producers (worker thread): queue one URL; what earlier runs finished
 * is skipped, a repeat ignored, one that is no http(s) URL with a host
 * recorded as invalid, naming its @line of @origin (the list). */
void           kiln_gather_run_offer_url      (KilnGatherRun           *run,
                                               const char              *url,
                                               const char              *wnid,
                                               const char              *origin,
                                               guint64                  line);
/* A list line that holds no URL, recorded as invalid under @key (the
 * list's URI#line=N, or the line's own text) unless an earlier run did. */
void           kiln_gather_run_offer_invalid  (KilnGatherRun           *run,
                                               const char              *key,
                                               const char              *wnid,
                                               const char              *format,
                                               ...) G_GNUC_PRINTF (4, 5);
/* Offers the next entry of a URL list (@list_uri names it in the keys of
 * bad lines): a URL, or a line with a problem. */
void           kiln_gather_run_offer_entry    (KilnGatherRun           *run,
                                               const KilnUrlEntry      *entry,
                                               const char              *wnid,
                                               const char              *origin,
                                               const char              *list_uri);
/* Starts what may start; ends the loop when all is done. */
void           kiln_gather_run_pump           (KilnGatherRun           *run);
void           kiln_gather_run_check_finished (KilnGatherRun           *run);
/* An HTTP attempt's verdict (see kiln-gather-job.h). */
void           kiln_gather_run_job_over       (KilnGatherRun           *run,
                                               KilnGatherJob           *job,
                                               KilnGatherJobVerdict     verdict);
/* Every wanted synset has reached the limit: URL lists may stop reading. */
gboolean       kiln_gather_run_all_full       (KilnGatherRun           *run);

/* Local producers (worker thread, blocking): whether to read @url at all
 * (not done by an earlier run, its synset not full), then hand its item
 * over (item->body set; the run takes it); offering waits while the limit
 * or the pool has no room. FALSE from offering: the run stops. */
gboolean       kiln_gather_run_should_read    (KilnGatherRun           *run,
                                               const char              *url,
                                               const char              *wnid);
gboolean       kiln_gather_run_offer_item     (KilnGatherRun           *run,
                                               KilnGatherItem          *item);

/* Progress (kiln-gather-progress.c; any thread unless said) ---------------- */

void kiln_gather_progress_count_outcome (KilnGatherRun        *run,
                                         const KilnGatherItem *item);
void kiln_gather_progress_add_bytes     (KilnGatherRun        *run,
                                         gsize                 n_bytes);
void kiln_gather_progress_add_skipped   (KilnGatherRun        *run,
                                         guint                 n);
void kiln_gather_progress_add_over_limit (KilnGatherRun       *run,
                                         guint                 n);
void kiln_gather_progress_add_source_error (KilnGatherRun     *run);
/* A kept image turned out to be a placeholder: one kept less, one
 * rejected more. */
void kiln_gather_progress_unkeep        (KilnGatherRun        *run);
/* Worker thread: what is queued, in flight and waiting to retry. */
void kiln_gather_progress_update_queue  (KilnGatherRun        *run);
/* At the end: nothing queued or in flight, emitted at once. */
void kiln_gather_progress_finish        (KilnGatherRun        *run);

/* The gatherer's side (kiln-gatherer.c) ----------------------------------- */

/* Locks the gatherer's progress for an edit; unlocking schedules one
 * coalesced emission on the owner's context (at once when @now). */
KilnGatherProgress *kiln_gatherer_lock_progress   (KilnGatherer *self);
void                kiln_gatherer_unlock_progress (KilnGatherer *self,
                                                   gboolean      now);

/* Producers (kiln-gather-source-*.c) -------------------------------------- */

/* A URL-list file, fall11_urls.txt form (wnid_n<TAB>url) or plain. */
gboolean kiln_gather_source_urls_open   (KilnGatherRun  *run,
                                         GError        **error);
void     kiln_gather_source_urls_fill   (KilnGatherRun  *run);
/* The HTTP API: one URL list per wanted synset (run->api_wnids), one call
 * at a time. Finishing fails when no call gave a list. */
void     kiln_gather_source_api_fill    (KilnGatherRun  *run);
gboolean kiln_gather_source_api_finish  (KilnGatherRun  *run,
                                         GError        **error);
/* An ImageNet tar of per-synset tars, or one synset's tar. */
gboolean kiln_gather_source_archive_read (KilnGatherRun *run,
                                          GError       **error);
/* A folder of images, its subfolders included. */
gboolean kiln_gather_source_folder_read  (KilnGatherRun *run,
                                          GError       **error);

/* The URL the API template @template gives for @wnid (percent-encoded into
 * it), or NULL when it has no {wnid} or makes no http(s) URL with a host
 * (kiln-gatherer.c). */
char          *kiln_gather_api_url            (const char              *template,
                                               const char              *wnid,
                                               GError                 **error);

G_END_DECLS
