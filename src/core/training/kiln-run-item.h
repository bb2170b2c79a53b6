/* kiln-run-item.h: one training run of a project, the item of
 * KilnRunsModel: what its folder said when last read.
 *
 * Threads: main thread (the model's). */
#pragma once

#include "kiln-run-list.h"

G_BEGIN_DECLS

#define KILN_TYPE_RUN_ITEM (kiln_run_item_get_type ())
G_DECLARE_FINAL_TYPE (KilnRunItem, kiln_run_item, KILN, RUN_ITEM, GObject)

KilnRunItem       *kiln_run_item_new      (const KilnRunInfo *info);
const char        *kiln_run_item_get_id   (KilnRunItem       *self);
const char        *kiln_run_item_get_dir  (KilnRunItem       *self);
const KilnRunInfo *kiln_run_item_get_info (KilnRunItem       *self);
/* A newer reading of the same run; notifies "info" when it differs. */
void               kiln_run_item_update   (KilnRunItem       *self,
                                           const KilnRunInfo *info);

G_END_DECLS
