/* kiln-inspector.h: finding images that would spoil a training run.
 *
 * Each image gets flags with reasons: it cannot be used (empty, not an
 * image, an image format Kiln cannot decode, truncated, undecodable, too
 * many pixels), it is doubtful (too small, extreme aspect ratio, low
 * information, too dark or light, blurry, animated), it repeats another
 * (exact duplicate by decoded pixels, near duplicate by a 64-bit DCT
 * perceptual hash within a Hamming distance), or it is a known "photo
 * unavailable" placeholder. Of too dark, too light and low information an
 * image gets one, the most specific: a nearly uniform black frame is too
 * dark. Near duplicates are grouped by multi-index hashing on four 16-bit
 * bands of the hash, never by comparing every pair.
 *
 * Running over a project records sizes, hashes and flags in its store;
 * nothing is moved or deleted (discarding is the project's, and undoable).
 *
 * Threads: kiln_inspector_analyse() and the hash functions are safe from
 * any thread; kiln_inspector_run() blocks its caller, decodes on a pool of
 * worker threads and calls @progress on the calling thread. Settings are
 * read-only while a run uses them. */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "kiln-image.h"
#include "kiln-progress.h"
#include "kiln-project.h"

G_BEGIN_DECLS

typedef enum {
  KILN_INSPECT_ZERO_BYTE,
  KILN_INSPECT_NOT_AN_IMAGE,
  KILN_INSPECT_UNSUPPORTED_FORMAT,
  KILN_INSPECT_TRUNCATED,
  KILN_INSPECT_UNDECODABLE,
  KILN_INSPECT_TOO_LARGE,
  KILN_INSPECT_UNREADABLE,
  KILN_INSPECT_TOO_SMALL,
  KILN_INSPECT_EXTREME_ASPECT,
  KILN_INSPECT_LOW_INFORMATION,
  KILN_INSPECT_TOO_DARK,
  KILN_INSPECT_TOO_LIGHT,
  KILN_INSPECT_BLURRY,
  KILN_INSPECT_ANIMATED,
  KILN_INSPECT_DUPLICATE,
  KILN_INSPECT_NEAR_DUPLICATE,
  KILN_INSPECT_PLACEHOLDER,
  KILN_INSPECT_N_REASONS
} KilnInspectReason;

/* The token stored in the project and used as discarded/<reason>/. */
const char *kiln_inspect_reason_to_string   (KilnInspectReason  reason);
gboolean    kiln_inspect_reason_from_string (const char        *text,
                                             KilnInspectReason *reason);
/* Whether an image with this flag cannot be trained on at all (as opposed
 * to doubtful ones a person may want to keep). */
gboolean    kiln_inspect_reason_is_fatal    (KilnInspectReason  reason);

typedef struct {
  int      min_side;              /* too small below this many pixels (24) */
  double   max_aspect;            /* longer / shorter side above this (5.0) */
  double   min_stddev;            /* low information: gray std. dev. below (3.0)… */
  double   min_entropy;           /* …or gray histogram entropy below, bits (2.0) */
  double   dark_level;            /* too dark: highlights (95th percentile of brightness) below (90) */
  double   light_level;           /* too light: shadows (5th percentile of brightness) above (180) */
  double   min_sharpness;         /* blurry: sharpness below (1.0) */
  int      near_distance;         /* near duplicates: Hamming distance <= (4) */
  int      placeholder_distance;  /* placeholders: Hamming distance <= (6) */
  gint64   max_pixels;            /* 0: KILN_IMAGE_DEFAULT_MAX_PIXELS */
  GArray  *placeholders;          /* guint64 perceptual hashes */
} KilnInspectorSettings;

KilnInspectorSettings *kiln_inspector_settings_new  (void);
void                   kiln_inspector_settings_free (KilnInspectorSettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnInspectorSettings, kiln_inspector_settings_free)

void     kiln_inspector_settings_add_placeholder    (KilnInspectorSettings  *settings,
                                                     guint64                 phash);
/* Reads hashes from a text file: 16 hex digits per line, '#' comments. */
gboolean kiln_inspector_settings_load_placeholders  (KilnInspectorSettings  *settings,
                                                     const char             *path,
                                                     GError                **error);
/* Adds the hashes of @project's placeholders table. */
gboolean kiln_inspector_settings_add_project_placeholders (KilnInspectorSettings  *settings,
                                                           KilnProject            *project,
                                                           GError                **error);
/* The image a duplicate flag points at: for a "duplicate" or
 * "near-duplicate" flag's @detail (as the inspector writes it), the path
 * of the image it copies; NULL for any other flag. */
char    *kiln_inspector_duplicate_of                (const char             *reason,
                                                     const char             *detail);
/* The hash a placeholder image at @path is known by (decoded, flattened,
 * kiln_inspector_phash). */
gboolean kiln_inspector_placeholder_hash            (const char             *path,
                                                     guint64                *phash,
                                                     GError                **error);

/* What inspecting one file found. */
typedef struct {
  char          *path;
  gint64         image_id;        /* the project's row, 0 outside a project */
  KilnImageInfo  info;
  int            width;           /* as displayed (EXIF orientation applied) */
  int            height;
  char           sha256[65];      /* of the file's bytes; empty if unreadable */
  char           pixel_hash[33];  /* 128-bit hash of the decoded pixels (JPEGs at the
                                   * reduced inspection scale); empty if none */
  guint64        phash;
  gboolean       has_phash;
  /* Statistics of a gray copy whose shorter side is 96 pixels (the whole
   * image when smaller). */
  double         mean;
  double         stddev;
  double         entropy;         /* of the gray histogram, bits */
  double         shadows;         /* 5th percentile of perceived brightness */
  double         highlights;      /* 95th percentile of perceived brightness */
  double         sharpness;       /* variance of the Laplacian over the mean squared
                                   * gradient: about 1 / (edge width)², whatever the
                                   * contrast; under 1 the edges are soft */
  guint32        flags;           /* 1 << KilnInspectReason */
  char          *details[KILN_INSPECT_N_REASONS];
  guint          exact_group;     /* 1…: the images with these pixels, the kept one
                                   * included; 0 when the pixels are unique */
  guint          near_group;      /* 1…: the images that look like this one; 0: none */
} KilnImageReport;

void kiln_image_report_free (KilnImageReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnImageReport, kiln_image_report_free)

static inline gboolean
kiln_image_report_has (const KilnImageReport *report,
                       KilnInspectReason      reason)
{
  return (report->flags & (1u << reason)) != 0;
}

/* Decodes and checks one file (everything but duplicates). Never fails:
 * problems become flags. */
KilnImageReport *kiln_inspector_analyse (const KilnInspectorSettings *settings,
                                         const char                  *path);

/* Flags exact and near duplicates among @reports (KilnImageReport *). In
 * each group the largest image (then the first) is kept unflagged and the
 * others name it in their detail; every member gets the group's number
 * (exact_group, near_group). Flat pictures (gray std. dev. under
 * min_stddev) are in no near group. Returns the number of groups found. */
guint    kiln_inspector_flag_duplicates (const KilnInspectorSettings *settings,
                                         GPtrArray                   *reports);

/* The 64-bit DCT perceptual hash: the 8 × 8 lowest frequencies of a 32 × 32
 * gray copy, one bit per coefficient above their median. */
guint64  kiln_inspector_phash           (GdkPixbuf *pixbuf);
int      kiln_inspector_hamming         (guint64    a,
                                         guint64    b);
/* Whether @phash is within @max_distance of one of @placeholders (guint64
 * hashes, may be NULL): the first such is returned in @known, with its
 * @distance (both may be NULL). The inspector and the gatherer judge
 * placeholders by this. */
gboolean kiln_inspector_match_placeholder (const GArray *placeholders,
                                           int           max_distance,
                                           guint64       phash,
                                           guint64      *known,
                                           int          *distance);

/* Groups @n hashes whose Hamming distance is <= @max_distance (linked
 * transitively). Returns an array of n group numbers (guint), equal for
 * members of one group. @n_compared, if not NULL, receives how many pairs
 * were compared in full: about n × candidates, not n²/2. */
GArray  *kiln_inspector_group_hashes    (const guint64 *hashes,
                                         guint          n,
                                         int            max_distance,
                                         guint64       *n_compared);

typedef struct {
  guint n_images;
  guint n_flagged;
  guint n_duplicate_groups;
  guint counts[KILN_INSPECT_N_REASONS];
} KilnInspectorSummary;

/* Inspects every kept image of @project on @n_threads workers (0: one per
 * processor), flags duplicates across them, then in one transaction
 * records each image's size, dimensions and hashes and replaces the
 * inspector's flags (flags with other reasons stay). */
gboolean kiln_inspector_run             (KilnProject                 *project,
                                         const KilnInspectorSettings *settings,
                                         guint                        n_threads,
                                         KilnProgressFunc             progress,
                                         gpointer                     user_data,
                                         GCancellable                *cancellable,
                                         KilnInspectorSummary        *summary,
                                         GError                     **error);

/* The same, handing back every image's report (KilnImageReport *, paths
 * relative to the project, in the store's order); NULL on error. */
GPtrArray *kiln_inspector_run_with_reports (KilnProject                 *project,
                                            const KilnInspectorSettings *settings,
                                            guint                        n_threads,
                                            KilnProgressFunc             progress,
                                            gpointer                     user_data,
                                            GCancellable                *cancellable,
                                            KilnInspectorSummary        *summary,
                                            GError                     **error);

/* Called for each image as soon as it is judged (before duplicates, which
 * need every image), with the flags it gets (KilnFlag, transfer none),
 * only when it gets some. On the inspecting thread for
 * kiln_inspector_run_with_flags(); on the caller's context for
 * kiln_inspector_run_async_full(). */
typedef void (*KilnInspectorFlagsFunc) (gint64     image_id,
                                        GPtrArray *flags,
                                        gpointer   user_data);

/* kiln_inspector_run_with_reports() calling @flags_func as images are
 * judged. */
GPtrArray *kiln_inspector_run_with_flags    (KilnProject                 *project,
                                             const KilnInspectorSettings *settings,
                                             guint                        n_threads,
                                             KilnProgressFunc             progress,
                                             gpointer                     user_data,
                                             KilnInspectorFlagsFunc       flags_func,
                                             gpointer                     flags_data,
                                             GCancellable                *cancellable,
                                             KilnInspectorSummary        *summary,
                                             GError                     **error);

/* kiln_inspector_run() on a worker thread. Takes @settings (NULL: the
 * defaults). @progress (optional) counts the images, cancels the run
 * through its cancellable, and is finished when the run ends; @callback
 * runs on the caller's thread-default context. */
void     kiln_inspector_run_async       (KilnProject                 *project,
                                         KilnInspectorSettings       *settings,
                                         guint                        n_threads,
                                         KilnProgress                *progress,
                                         GAsyncReadyCallback          callback,
                                         gpointer                     user_data);
/* The same, with @flags_func called on the caller's thread-default
 * context as images are judged, so a window can show flags as they arrive
 * (the store is written once, at the end). */
void     kiln_inspector_run_async_full  (KilnProject                 *project,
                                         KilnInspectorSettings       *settings,
                                         guint                        n_threads,
                                         KilnProgress                *progress,
                                         KilnInspectorFlagsFunc       flags_func,
                                         gpointer                     flags_data,
                                         GAsyncReadyCallback          callback,
                                         gpointer                     user_data);
gboolean kiln_inspector_run_finish      (GAsyncResult                *result,
                                         KilnInspectorSummary        *summary,
                                         GError                     **error);

G_END_DECLS
