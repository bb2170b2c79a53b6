/* kiln-gatherer.h: gathers images into a project, surviving broken links.
 *
 * Sources: URL-list files (fall11_urls.txt form or one URL per line), an
 * HTTP API whose URL template has a {wnid} placeholder (the old ImageNet text
 * API by default), an official ImageNet tar of per-synset tars, or a local
 * folder. Downloads run in parallel (bounded overall and per host) with
 * connect and total timeouts, retries with backoff for timeouts, short
 * bodies, 429 and 5xx only (Retry-After honoured), a deadline for all the
 * attempts at one URL together, a size cap and a per-synset limit. Bodies
 * stream to a temporary file as they arrive, never into memory. A response
 * is kept only if its status is 2xx, every byte its Content-Length promised
 * came, its final URL still names the requested file, its content type is
 * an image, it decodes fully (truncation checked), its shorter side has
 * enough pixels and it is no placeholder: not close to a known one (the
 * request's, the project's), not a redirect to another folder ending on a
 * small image, and not one small body that many hosts serve. Kept files
 * land in images/<class>/ under a sanitised name (temp file, fsync,
 * rename); every URL's outcome goes to the project's downloads table, so a
 * stopped or killed run resumes without fetching anything twice.
 *
 * Thread contract: create and use a KilnGatherer on one thread (the "owner",
 * usually the main thread). The downloads run in a worker thread with its
 * own GMainContext; decoding and writing run on a thread pool. The
 * "progress" signal is emitted on the GMainContext that was the owner's
 * thread-default when the gatherer was created, coalesced (at most about 20
 * per second), and the async callback runs there too. */
#pragma once

#include <gio/gio.h>

#include "kiln-project.h"

G_BEGIN_DECLS

typedef enum {
  KILN_GATHER_URLS,     /* location: a URL-list file */
  KILN_GATHER_API,      /* location: a URL template with {wnid}, or NULL for the default */
  KILN_GATHER_ARCHIVE,  /* location: a tar of per-synset tars (or one synset's tar) */
  KILN_GATHER_FOLDER,   /* location: a folder of images */
} KilnGatherSource;

#define KILN_GATHER_DEFAULT_API "http://www.image-net.org/api/text/imagenet.synset.geturls?wnid={wnid}"

/* Why a URL ended as it did (the detail recorded in the store starts with
 * the reason's name). */
typedef enum {
  KILN_GATHER_REASON_KEPT,
  KILN_GATHER_REASON_HTTP,          /* a non-2xx status that is not retried */
  KILN_GATHER_REASON_PLACEHOLDER,   /* redirected to a different file name */
  KILN_GATHER_REASON_CONTENT_TYPE,  /* not an image content type */
  KILN_GATHER_REASON_TOO_LARGE,     /* over the size cap */
  KILN_GATHER_REASON_TOO_SMALL,     /* empty, or under the minimum side (or size) */
  KILN_GATHER_REASON_UNDECODABLE,   /* an image format, but corrupt */
  KILN_GATHER_REASON_TRUNCATED,     /* fewer bytes than announced, or the data stop early */
  KILN_GATHER_REASON_TIMEOUT,       /* connect or total timeout, or the URL's deadline */
  KILN_GATHER_REASON_NETWORK,       /* refused, reset, unreadable file */
  KILN_GATHER_REASON_SERVER,        /* 429 or 5xx until the retries ran out */
  KILN_GATHER_REASON_NOT_AN_IMAGE,  /* no image format: a web page, text, garbage */
  KILN_GATHER_REASON_REDIRECT,      /* a redirect libsoup will not follow (file://, no host, a loop) */
  KILN_GATHER_REASON_INVALID,       /* a list line that is no http(s) URL, too long, or binary */
  KILN_GATHER_N_REASONS
} KilnGatherReason;

const char *kiln_gather_reason_to_string (KilnGatherReason reason);

typedef struct {
  KilnGatherSource  source;
  char             *location;
  char             *wnid;             /* the synset asked for; may be NULL for URL lists and folders */
  char             *class_name;       /* images/<class>/; defaults to @wnid, else "unsorted" */
  gboolean          subset;           /* also the hyponyms of @wnid (kiln-synsets) */
  guint             limit;            /* kept images per synset, 0 = no limit */
  guint             max_parallel;     /* downloads at once, overall */
  guint             max_per_host;
  guint             connect_timeout_ms;
  guint             total_timeout_ms; /* one attempt's whole response, body included */
  guint             max_retries;
  guint             backoff_ms;       /* first retry delay, doubled each time */
  guint             max_retry_after_ms;
  guint             url_deadline_ms;  /* all attempts at one URL and the waits between
                                       * them together (90 s): what a stalled host costs */
  gboolean          retry_failed;     /* fetch again the URLs that failed for good
                                       * (timeouts, 5xx, short bodies), not the rejected */
  guint64           max_bytes;        /* per file */
  guint64           min_bytes;        /* per file; 0 = none: sizes are judged in pixels */
  guint             min_side;         /* shorter side in pixels (16) */
  guint             max_pixels;       /* width × height cap, checked before decoding */
  GArray           *placeholders;     /* guint64 perceptual hashes of known "photo
                                       * unavailable" images (kiln-inspector), or NULL;
                                       * the project's own are added by the run */
  int               placeholder_distance;  /* Hamming distance that still matches (6) */
} KilnGatherRequest;

KilnGatherRequest *kiln_gather_request_new  (KilnGatherSource         source,
                                             const char              *location,
                                             const char              *wnid);
/* What kiln_gather_request_new() gives a request from now on: downloads
 * at once and the connect and total timeouts; 0 keeps Kiln's own (32,
 * 10 s, 60 s). Process-wide, for front ends to set from their settings. */
void               kiln_gather_set_request_defaults (guint max_parallel,
                                                     guint connect_timeout_ms,
                                                     guint total_timeout_ms);
KilnGatherRequest *kiln_gather_request_copy (const KilnGatherRequest *request);
void               kiln_gather_request_free (KilnGatherRequest       *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnGatherRequest, kiln_gather_request_free)
/* Whether @request can run: its limits are above zero, its wnid and class
 * are well formed, an API template has {wnid} and gives an http(s) URL,
 * and a local source exists (a relative path is taken from the working
 * directory). Runs check it too; front ends call it before they create a
 * project, so that a mistyped path leaves nothing behind. */
gboolean           kiln_gather_request_check (const KilnGatherRequest *request,
                                              GError                 **error);

typedef struct {
  guint64 n_done;           /* finished in this run: kept + rejected + failed */
  guint64 n_kept;
  guint64 n_rejected;
  guint64 n_failed;
  guint64 n_retrying;       /* waiting for a retry */
  guint64 n_in_flight;
  guint64 n_skipped;        /* already done by an earlier run */
  guint64 n_over_limit;     /* not fetched: the synset reached its limit */
  guint64 n_queued;         /* known so far and not yet finished */
  gboolean source_done;     /* every URL of the source is known */
  guint64 by_reason[KILN_GATHER_N_REASONS];
  guint64 bytes;            /* bytes received in this run */
  double  elapsed_s;
  double  files_per_s;
  double  bytes_per_s;
  double  eta_s;            /* -1 when unknown */
  guint   n_source_errors;  /* API calls or archive members that failed */
} KilnGatherProgress;

/* "kept 12, rejected 3, failed 1, retrying 0, skipped 0 · 1.2 MB, 300 kB/s,
 * 4.0 files/s · ETA 0:00:05": the one-line status the CLI and the window show. */
char *kiln_gather_progress_format (const KilnGatherProgress *progress);
/* "http 2, placeholder 1": how many URLs ended for each reason other than
 * kept, or "" when none failed. */
char *kiln_gather_progress_format_reasons (const KilnGatherProgress *progress);

#define KILN_TYPE_GATHERER (kiln_gatherer_get_type ())
G_DECLARE_FINAL_TYPE (KilnGatherer, kiln_gatherer, KILN, GATHERER, GObject)

KilnGatherer *kiln_gatherer_new          (KilnProject              *project);
KilnProject  *kiln_gatherer_get_project  (KilnGatherer             *self);
/* One run at a time. Cancelling stops at once: requests in flight are
 * abandoned (their URLs stay unrecorded and are fetched by the next run)
 * and no partial file remains. */
void          kiln_gatherer_run_async    (KilnGatherer             *self,
                                          const KilnGatherRequest  *request,
                                          GCancellable             *cancellable,
                                          GAsyncReadyCallback       callback,
                                          gpointer                  user_data);
gboolean      kiln_gatherer_run_finish   (KilnGatherer             *self,
                                          GAsyncResult             *result,
                                          GError                  **error);
/* The latest progress (a copy), also valid after the run. */
void          kiln_gatherer_get_progress (KilnGatherer             *self,
                                          KilnGatherProgress       *progress);

/* Exposed for tests: the file name Kiln stores a URL under (before
 * collisions are resolved), ending in @extension. */
char         *kiln_gatherer_file_name_for_url (const char *url,
                                               const char *extension);

G_END_DECLS
