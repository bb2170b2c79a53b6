/* kiln-run-list.h: a project's training runs, as the window and
 * `kiln-cli runs` list them.
 *
 * Threads: kiln_run_list() reads every run's log: call it off the main
 * thread, or use the _async pair. */
#pragma once

#include <gio/gio.h>

#include "kiln-run.h"

G_BEGIN_DECLS

typedef struct {
  char           *id;
  char           *dir;
  gint64          started;      /* Unix time its config was written */
  int             epochs;       /* as set (0 when the config says nothing) */
  char           *split;        /* the split it trained on, NULL before Kiln recorded it */
  KilnRunSummary  summary;
  char           *last_event;   /* the type of the newest line of events.jsonl ("failed", …), or NULL */
  char           *problem;      /* why it could not be read, or NULL */
} KilnRunInfo;

KilnRunInfo *kiln_run_info_copy (const KilnRunInfo *info);
/* Whether two readings of a run say the same. */
gboolean     kiln_run_info_equal (const KilnRunInfo *a,
                                  const KilnRunInfo *b);

void       kiln_run_info_free   (KilnRunInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnRunInfo, kiln_run_info_free)

/* The runs under @project_dir/runs, newest first (then by id); a folder
 * without config.json is no run. A project without runs gives an empty
 * array. GPtrArray of KilnRunInfo. */
GPtrArray *kiln_run_list        (const char          *project_dir,
                                 GError             **error);
void       kiln_run_list_async  (const char          *project_dir,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data);
GPtrArray *kiln_run_list_finish (GAsyncResult        *result,
                                 GError             **error);

G_END_DECLS
