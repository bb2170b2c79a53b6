/* kiln-gather-item.h: one candidate image, whichever source found it (a
 * URL, a file, an archive member), and how it ended. Producers make items,
 * the check gives the verdict, the store records it: one type, so that
 * every source is judged and recorded the same way.
 *
 * Threads: an item belongs to one thread at a time (it is handed over, not
 * shared). */
#pragma once

#include "kiln-gatherer.h"

G_BEGIN_DECLS

typedef struct {
  char                *url;          /* file:// for files, file://….tar#member for archive members */
  char                *wnid;         /* "" when the source names none */
  char                *class_name;   /* the kept image goes to images/<class_name>/ */
  GByteArray          *data;         /* the whole file, once read */
  int                  http_status;  /* 0 for local sources */
  KilnDownloadOutcome  outcome;
  KilnGatherReason     reason;
  char                *detail;       /* "<reason>: what happened" */
  char                *file;         /* images/<class>/<name>, once kept */
} KilnGatherItem;

/* The class folder is the request's class name, else its wnid, else the
 * item's own wnid, else "unsorted". */
KilnGatherItem *kiln_gather_item_new        (const KilnGatherRequest *request,
                                             const char              *url,
                                             const char              *wnid);
void            kiln_gather_item_free       (KilnGatherItem          *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnGatherItem, kiln_gather_item_free)

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
