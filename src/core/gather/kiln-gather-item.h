/* kiln-gather-item.h: one candidate image, whichever source found it (a
 * URL, a file, an archive member), and how it ended. Producers make items,
 * the check gives the verdict, the store records it: one type, so that
 * every source is judged and recorded the same way.
 *
 * An item's bytes live in a file, never in memory: a temporary file of the
 * store that the download or the archive member was streamed to (removed
 * with the item unless the store keeps it), or a folder's own file.
 *
 * Threads: an item belongs to one thread at a time (it is handed over, not
 * shared). */
#pragma once

#include "kiln-gatherer.h"

G_BEGIN_DECLS

/* Where a redirect took a download. */
typedef enum {
  KILN_GATHER_LANDED_ASKED,        /* the file asked for (maybe on another host) */
  KILN_GATHER_LANDED_OTHER_FOLDER, /* a file of the same name in another folder */
  KILN_GATHER_LANDED_OTHER_FILE,   /* another file name: not the image asked for */
} KilnGatherLanding;

typedef struct {
  char                *url;          /* file:// for files, file://….tar#member for archive members */
  char                *wnid;         /* "" when the source names none */
  char                *class_name;   /* the kept image goes to images/<class_name>/ */
  char                *host;         /* "host:port" the bytes came from; NULL for local sources */
  char                *body;         /* the file holding the bytes, once read */
  gboolean             body_is_temp; /* @body is the store's temporary file */
  guint64              n_bytes;
  char                 sha256[65];   /* of the bytes, set by the check */
  guint64              phash;        /* set by the check when @has_phash */
  gboolean             has_phash;
  KilnGatherLanding    landing;
  char                *final_url;    /* where a redirect ended, or NULL */
  int                  http_status;  /* 0 for local sources */
  guint                attempts;     /* requests made for it (1 for a local file, 0 for a list line) */
  char                *notes;        /* what the decoders said about it, or NULL */
  KilnDownloadOutcome  outcome;
  KilnGatherReason     reason;
  char                *detail;       /* "<reason>: what happened" */
  char                *file;         /* images/<class>/<name>, once kept */
  gint64               image_id;     /* its row in the project, once kept */
} KilnGatherItem;

/* The class folder is the request's class name, else its wnid, else the
 * item's own wnid, else "unsorted". */
KilnGatherItem *kiln_gather_item_new        (const KilnGatherRequest *request,
                                             const char              *url,
                                             const char              *wnid);
void            kiln_gather_item_free       (KilnGatherItem          *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnGatherItem, kiln_gather_item_free)

/* Forgets the bytes, removing the temporary file that held them. */
void            kiln_gather_item_drop_body  (KilnGatherItem          *item);

/* Sets the outcome; the decoders' notes, if any, end the detail. */
void            kiln_gather_item_set_result  (KilnGatherItem         *item,
                                              KilnDownloadOutcome     outcome,
                                              KilnGatherReason        reason,
                                              const char             *format,
                                              ...) G_GNUC_PRINTF (4, 5);
void            kiln_gather_item_set_resultv (KilnGatherItem         *item,
                                              KilnDownloadOutcome     outcome,
                                              KilnGatherReason        reason,
                                              const char             *format,
                                              va_list                 args) G_GNUC_PRINTF (4, 0);

G_END_DECLS
