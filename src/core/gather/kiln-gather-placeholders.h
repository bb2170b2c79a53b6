/* kiln-gather-placeholders.h: what one run knows about "photo unavailable"
 * images. It knows the request's hashes and the project's (its
 * placeholders table), and learns two kinds without being told:
 *
 *  - the image a redirect ended on when it is not the file asked for, or a
 *    small one (KILN_GATHER_PLACEHOLDER_MAX_BYTES) in another folder;
 *  - one small body that KILN_GATHER_PLACEHOLDER_HOSTS different hosts
 *    (host:port, as the per-host limits count them) serve: its copies that
 *    were kept before the last host showed it are then handed back for
 *    discarding.
 *
 * What it learns goes to the project's placeholders table, so that later
 * runs, every source and the inspector refuse it too, even re-encoded.
 * Repeated bodies are counted within a run.
 *
 * Threads: every function is safe from any thread (one lock). */
#pragma once

#include "kiln-gather-item.h"

G_BEGIN_DECLS

/* Placeholders are small: "photo unavailable" cards are flat. */
#define KILN_GATHER_PLACEHOLDER_MAX_BYTES (16 * 1024)
#define KILN_GATHER_PLACEHOLDER_HOSTS 3

typedef struct _KilnGatherPlaceholders KilnGatherPlaceholders;

/* A kept image that turned out to be a repeated placeholder. */
typedef struct {
  char   *url;
  char   *wnid;
  int     http_status;
  gint64  image_id;
} KilnGatherKeptCopy;

void kiln_gather_kept_copy_free (KilnGatherKeptCopy *copy);

KilnGatherPlaceholders *kiln_gather_placeholders_new   (KilnProject              *project,
                                                        const KilnGatherRequest  *request,
                                                        GError                  **error);
void                    kiln_gather_placeholders_free  (KilnGatherPlaceholders   *self);

/* Whether any hash is known (decoding must then keep enough pixels). */
gboolean kiln_gather_placeholders_any        (KilnGatherPlaceholders *self);
/* Whether @phash is close to a known hash (the inspector's match). */
gboolean kiln_gather_placeholders_match      (KilnGatherPlaceholders *self,
                                              guint64                 phash,
                                              guint64                *known,
                                              int                    *distance);
/* Knows @phash from now on and stores it in the project with @note. */
gboolean kiln_gather_placeholders_learn      (KilnGatherPlaceholders *self,
                                              guint64                 phash,
                                              const char             *note,
                                              GError                **error);
/* How many hosts served the body with this SHA-256, when that made it a
 * placeholder; 0 otherwise. */
guint    kiln_gather_placeholders_repeated   (KilnGatherPlaceholders *self,
                                              const char             *sha256);
/* Notes a kept @item (small, from a host). When its body is, or now
 * becomes, a repeated placeholder, returns the kept copies to discard
 * (KilnGatherKeptCopy, @item's own included) and their host count in
 * @n_hosts; NULL otherwise. */
GPtrArray *kiln_gather_placeholders_note_kept (KilnGatherPlaceholders *self,
                                              const KilnGatherItem   *item,
                                              guint                  *n_hosts);

G_END_DECLS
