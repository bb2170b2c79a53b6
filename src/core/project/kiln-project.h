/* kiln-project.h: a project folder and its SQLite store.
 *
 * A project is a folder (DESIGN.md "A project on disk"):
 *   kiln.db               SQLite in WAL mode, the truth about every image
 *   images/<class>/…      kept images
 *   discarded/<reason>/…  discarded images, moved here and never deleted
 *   cache/  runs/         decoded tensors, training runs
 *
 * Image paths in the store are relative to the project folder and use '/'.
 * Every change runs in a transaction; kiln_project_transaction() groups
 * several changes so that they land together or not at all.
 *
 * Threads: every function may be called from any thread. Calls are
 * serialised by a recursive lock that a transaction holds from its start
 * to its end, so a transaction callback sees no other thread's changes. */
#pragma once

#include <gio/gio.h>

#include "kiln-labels.h"

G_BEGIN_DECLS

#define KILN_PROJECT_SCHEMA_VERSION 3

typedef enum {
  KILN_IMAGE_KEPT,
  KILN_IMAGE_DISCARDED,
} KilnImageStatus;

/* One image row. Strings may be NULL where unknown; width/height/size and
 * http_status are 0 when unknown; has_phash says whether phash is set. */
typedef struct {
  gint64           id;              /* 0 until stored */
  char            *path;            /* relative to the project folder */
  char            *original_path;   /* where a discarded image came from */
  char            *class_name;
  KilnImageStatus  status;
  char            *discard_reason;
  gint64           size;            /* bytes of the file */
  int              width;
  int              height;
  char            *sha256;          /* hex digest of the file's bytes */
  char            *pixel_hash;      /* hex digest of the decoded pixels */
  guint64          phash;           /* 64-bit perceptual hash */
  gboolean         has_phash;
  char            *source_url;
  int              http_status;
} KilnImageRecord;

KilnImageRecord *kiln_image_record_new  (const char            *path,
                                         const char            *class_name);
KilnImageRecord *kiln_image_record_copy (const KilnImageRecord *record);
void             kiln_image_record_free (KilnImageRecord       *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnImageRecord, kiln_image_record_free)

typedef struct {
  gint64  image_id;
  char   *reason;   /* a short token such as "truncated" */
  char   *detail;   /* human-readable, may be NULL */
} KilnFlag;

KilnFlag *kiln_flag_new  (gint64      image_id,
                          const char *reason,
                          const char *detail);
void      kiln_flag_free (KilnFlag   *flag);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnFlag, kiln_flag_free)

/* What happened to one URL of the gatherer. KEPT, REJECTED and FAILED are
 * final ("done"); PENDING and RETRY are fetched again by the next run. */
typedef enum {
  KILN_DOWNLOAD_PENDING,   /* queued, not tried yet */
  KILN_DOWNLOAD_KEPT,      /* fetched, validated, stored as `file` */
  KILN_DOWNLOAD_REJECTED,  /* answered, but not acceptable (404, HTML, placeholder…) */
  KILN_DOWNLOAD_RETRY,     /* temporary failure (timeout, 429, 5xx): try again */
  KILN_DOWNLOAD_FAILED,    /* temporary failures until the retries ran out */
  KILN_DOWNLOAD_N_OUTCOMES
} KilnDownloadOutcome;

const char *kiln_download_outcome_to_string   (KilnDownloadOutcome  outcome);
gboolean    kiln_download_outcome_from_string (const char          *text,
                                               KilnDownloadOutcome *outcome);
gboolean    kiln_download_outcome_is_done     (KilnDownloadOutcome  outcome);

typedef struct {
  char                *url;
  char                *wnid;
  KilnDownloadOutcome  outcome;
  int                  http_status;  /* 0 when no response came */
  char                *detail;
  char                *file;         /* relative path of the kept image */
  int                  attempts;
  gint64               updated;      /* Unix time, seconds */
} KilnDownloadRecord;

void kiln_download_record_free (KilnDownloadRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnDownloadRecord, kiln_download_record_free)

#define KILN_TYPE_PROJECT (kiln_project_get_type ())
G_DECLARE_FINAL_TYPE (KilnProject, kiln_project, KILN, PROJECT, GObject)

/* Opens the project in @path, creating the folder layout and the store if
 * they are missing, and migrating an older store. Fails on a store made by
 * a newer Kiln. Finishes discards/restores that a crash interrupted. */
KilnProject *kiln_project_open               (const char   *path,
                                              GError      **error);
/* Whether @path already holds a project's store; opening creates one, so
 * look first where a folder must not become a project by accident. */
gboolean     kiln_project_exists             (const char   *path);
const char  *kiln_project_get_path           (KilnProject  *self);
int          kiln_project_get_schema_version (KilnProject  *self);
/* Absolute path of a relative project path (newly allocated). */
char        *kiln_project_build_path         (KilnProject  *self,
                                              const char   *relative);

/* Runs @func inside one transaction (nested calls become savepoints).
 * If @func returns FALSE, everything it changed is rolled back. */
typedef gboolean (*KilnProjectTransactionFunc) (KilnProject  *project,
                                                gpointer      user_data,
                                                GError      **error);
gboolean     kiln_project_transaction        (KilnProject                *self,
                                              KilnProjectTransactionFunc  func,
                                              gpointer                    user_data,
                                              GError                    **error);

/* Classes. Adding an existing name is not an error. */
gboolean     kiln_project_add_class          (KilnProject  *self,
                                              const char   *name,
                                              GError      **error);
/* Class names sorted case-insensitively (the label order). */
GStrv        kiln_project_list_classes       (KilnProject  *self,
                                              GError      **error);

/* Class edits. Each moves the class's files between folders under images/
 * (or into discarded/) and changes the store's rows in ONE transaction that
 * also journals every move (pending_moves); the renames follow the commit.
 * A crash before the commit changes nothing; one after it leaves moves in
 * the journal, which kiln_project_open() finishes, so the folders always
 * end up as the store says. Splits and flags stay with their images.
 *
 * rename: the class @old_name becomes @new_name, which must not exist yet
 * (merge into it instead); images/<old>/ becomes images/<new>/, and
 * discarded images of the class will be restored into the new folder.
 * merge: every image of @source gets the class @target (created if new),
 * kept files moving into images/<target>/ ("-N" added on a name clash),
 * and @source disappears. drop: every kept image of @name is discarded
 * with reason KILN_CLASS_DROPPED_REASON (nothing is deleted; the class
 * stays, empty); restore_class undoes that. @n_images (may be NULL)
 * receives how many images were moved. */
#define KILN_CLASS_DROPPED_REASON "class-dropped"

gboolean     kiln_project_rename_class       (KilnProject  *self,
                                              const char   *old_name,
                                              const char   *new_name,
                                              guint        *n_images,
                                              GError      **error);
gboolean     kiln_project_merge_class        (KilnProject  *self,
                                              const char   *source,
                                              const char   *target,
                                              guint        *n_images,
                                              GError      **error);
gboolean     kiln_project_drop_class         (KilnProject  *self,
                                              const char   *name,
                                              guint        *n_images,
                                              GError      **error);
gboolean     kiln_project_restore_class      (KilnProject  *self,
                                              const char   *name,
                                              guint        *n_images,
                                              GError      **error);

typedef enum {
  KILN_CLASS_EDIT_RENAME,   /* @name → @target */
  KILN_CLASS_EDIT_MERGE,    /* @name into @target */
  KILN_CLASS_EDIT_DROP,     /* @name; @target unused */
  KILN_CLASS_EDIT_RESTORE,  /* @name; @target unused */
} KilnClassEdit;

/* One of the four above on a GTask thread, for the window (many files may
 * move). The finish gives the number of images moved. */
void         kiln_project_edit_class_async   (KilnProject          *self,
                                              KilnClassEdit         edit,
                                              const char           *name,
                                              const char           *target,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean     kiln_project_edit_class_finish  (KilnProject          *self,
                                              GAsyncResult         *result,
                                              guint                *n_images,
                                              GError              **error);

/* Per class: kept images and images dropped with the class (status
 * KILN_IMAGE_KEPT counts kept, KILN_IMAGE_DISCARDED counts only those
 * discarded by kiln_project_drop_class). Class name → count
 * (GUINT_TO_POINTER); every class is a key, with 0 when it has none. */
GHashTable  *kiln_project_count_by_class     (KilnProject  *self,
                                              KilnImageStatus status,
                                              GError      **error);

/* Images. add stores a new row (its class is created if needed) and sets
 * @record->id; the path must be unique. update rewrites every field of the
 * row @record->id except status/discard/original path, which only
 * discard/restore change. */
gboolean     kiln_project_add_image          (KilnProject      *self,
                                              KilnImageRecord  *record,
                                              GError          **error);
gboolean     kiln_project_update_image       (KilnProject      *self,
                                              const KilnImageRecord *record,
                                              GError          **error);
KilnImageRecord *kiln_project_get_image      (KilnProject  *self,
                                              gint64        id,
                                              GError      **error);
/* NULL without an error when no image has @path. */
KilnImageRecord *kiln_project_find_image     (KilnProject  *self,
                                              const char   *path,
                                              GError      **error);
/* Images ordered by id; @class_name NULL for all classes, @status -1 for
 * both. Returns a GPtrArray of KilnImageRecord. */
GPtrArray   *kiln_project_list_images        (KilnProject  *self,
                                              const char   *class_name,
                                              int           status,
                                              GError      **error);
gint64       kiln_project_count_images       (KilnProject  *self,
                                              int           status,
                                              GError      **error);

/* Adds the images of @set (paths relative to the folder @prefix, such
 * as "images", names its classes) that the store does not know yet, in one
 * transaction. @n_added, if not NULL, receives how many were new. */
gboolean     kiln_project_add_label_set      (KilnProject         *self,
                                              const KilnLabelSet  *set,
                                              const char          *prefix,
                                              guint               *n_added,
                                              GError             **error);

/* Flags: one per (image, reason); setting it again replaces the detail. */
gboolean     kiln_project_set_flag           (KilnProject  *self,
                                              gint64        image_id,
                                              const char   *reason,
                                              const char   *detail,
                                              GError      **error);
/* Removes @reason, or every flag of the image when @reason is NULL. */
gboolean     kiln_project_clear_flags        (KilnProject  *self,
                                              gint64        image_id,
                                              const char   *reason,
                                              GError      **error);
/* Flags of one image (@image_id > 0) or of all images (0), ordered by
 * image then reason. GPtrArray of KilnFlag. */
GPtrArray   *kiln_project_list_flags         (KilnProject  *self,
                                              gint64        image_id,
                                              GError      **error);

/* Discarding moves the file to discarded/<reason>/<path under images/>
 * and records it; @reason is a token of [a-z0-9_-]. Restoring moves it
 * back. Both are journaled, so a crash between the store and the rename is
 * finished by the next kiln_project_open(). */
gboolean     kiln_project_discard_image      (KilnProject  *self,
                                              gint64        image_id,
                                              const char   *reason,
                                              GError      **error);
gboolean     kiln_project_restore_image      (KilnProject  *self,
                                              gint64        image_id,
                                              GError      **error);
/* Gives a kept image the class @class_name (created if new): its file moves
 * to images/<class_name>/ and the store follows, journaled like a discard.
 * The file keeps its name, or takes @name when not NULL (what undo uses to
 * put it back as it was); "-N" goes before the extension when that name is
 * taken. A discarded image is refused: restore it first. Flags and splits
 * stay with the image. */
gboolean     kiln_project_relabel_image      (KilnProject  *self,
                                              gint64        image_id,
                                              const char   *class_name,
                                              const char   *name,
                                              GError      **error);

/* Splits: a named assignment of images to subsets ("train", "val",
 * "test"). Setting a split replaces the previous one of that name.
 * @image_ids and @subsets have @n entries each. */
gboolean     kiln_project_set_split          (KilnProject         *self,
                                              const char          *name,
                                              guint64              seed,
                                              const gint64        *image_ids,
                                              const char * const  *subsets,
                                              gsize                n,
                                              GError             **error);
/* Image id (gint64 *) → subset name; keys and values owned by the table. */
GHashTable  *kiln_project_get_split          (KilnProject  *self,
                                              const char   *name,
                                              guint64      *seed,
                                              GError      **error);

/* Names of the project's splits, the one set last first (the project's
 * current split). An empty list when there is none. */
GStrv        kiln_project_list_splits        (KilnProject  *self,
                                              GError      **error);

/* Downloads (the gatherer's queue and outcomes), keyed by URL. */
/* Queues @url as PENDING unless the store already knows it. */
gboolean     kiln_project_queue_download     (KilnProject  *self,
                                              const char   *url,
                                              const char   *wnid,
                                              GError      **error);
/* Records an attempt's outcome; counts one more attempt unless @outcome
 * is PENDING. @wnid, @detail and @file may be NULL. */
gboolean     kiln_project_record_download    (KilnProject          *self,
                                              const char           *url,
                                              const char           *wnid,
                                              KilnDownloadOutcome   outcome,
                                              int                   http_status,
                                              const char           *detail,
                                              const char           *file,
                                              GError              **error);
/* The same, adding @attempts requests (a download that was retried made
 * several; a list line that is no URL, none). */
gboolean     kiln_project_record_download_attempts (KilnProject          *self,
                                                    const char           *url,
                                                    const char           *wnid,
                                                    KilnDownloadOutcome   outcome,
                                                    int                   http_status,
                                                    const char           *detail,
                                                    const char           *file,
                                                    guint                 attempts,
                                                    GError              **error);
/* NULL without an error when @url is unknown. */
KilnDownloadRecord *kiln_project_get_download (KilnProject  *self,
                                               const char   *url,
                                               GError      **error);
gboolean     kiln_project_download_is_done   (KilnProject  *self,
                                              const char   *url,
                                              GError      **error);
/* The set (url → url) of done URLs, of one synset or all (@wnid NULL). */
GHashTable  *kiln_project_get_done_urls      (KilnProject  *self,
                                              const char   *wnid,
                                              GError      **error);
/* Downloads of one synset (or all) in URL order; GPtrArray of
 * KilnDownloadRecord. */
GPtrArray   *kiln_project_list_downloads     (KilnProject  *self,
                                              const char   *wnid,
                                              GError      **error);
/* The rejected and failed downloads of one synset (or all), newest first,
 * at most @max_records (0 = all). */
GPtrArray   *kiln_project_list_failed_downloads (KilnProject  *self,
                                                 const char   *wnid,
                                                 guint         max_records,
                                                 GError      **error);
/* Fills @counts[KILN_DOWNLOAD_N_OUTCOMES] for one synset or all. */
gboolean     kiln_project_count_downloads    (KilnProject  *self,
                                              const char   *wnid,
                                              gint64       *counts,
                                              GError      **error);

/* Placeholders: perceptual hashes (kiln-inspector's) of the "photo
 * unavailable" images this project's sources answer dead links with, each
 * with a note on where it came from. Gathering and inspecting refuse
 * images close to them. */
typedef struct {
  guint64  phash;
  char    *note;    /* "file.png", "learned: …"; may be NULL */
  gint64   added;   /* seconds since the epoch */
} KilnPlaceholderRecord;

void kiln_placeholder_record_free (KilnPlaceholderRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnPlaceholderRecord, kiln_placeholder_record_free)

/* Adds @phash; one already known keeps its note. */
gboolean     kiln_project_add_placeholder    (KilnProject  *self,
                                              guint64       phash,
                                              const char   *note,
                                              GError      **error);
/* Removes @phash; *removed (may be NULL) says whether it was there. */
gboolean     kiln_project_remove_placeholder (KilnProject  *self,
                                              guint64       phash,
                                              gboolean     *removed,
                                              GError      **error);
/* In the order they were added; GPtrArray of KilnPlaceholderRecord. */
GPtrArray   *kiln_project_list_placeholders  (KilnProject  *self,
                                              GError      **error);

G_END_DECLS
