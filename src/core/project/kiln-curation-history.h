/* kiln-curation-history.h: undo and redo of curation, as core calls.
 *
 * Each step is one user action over one or more images: a discard (undone
 * by restoring), a restore (undone by discarding again for the same
 * reason) or a relabel (undone by relabeling back to the old class and
 * file name). Nothing is ever deleted from disk, so every step can be
 * undone as long as the files are where the store says.
 *
 * A step that fails part-way keeps what it did: the images it changed
 * form the step (or, for undo and redo, move to the other stack) and the
 * error says which image stopped it. @changed, where given, receives the
 * ids of every image whose store row changed, for KilnImageList's
 * refresh.
 *
 * Properties: "can-undo", "can-redo" (notify).
 * Threads: one thread at a time; each call blocks on a rename and a short
 * transaction per image. */
#pragma once

#include "kiln-project.h"

G_BEGIN_DECLS

#define KILN_TYPE_CURATION_HISTORY (kiln_curation_history_get_type ())
G_DECLARE_FINAL_TYPE (KilnCurationHistory, kiln_curation_history, KILN, CURATION_HISTORY, GObject)

KilnCurationHistory *kiln_curation_history_new      (KilnProject          *project);

/* kiln_project_discard_image() of each kept image in @ids (discarded ones
 * are skipped). */
gboolean             kiln_curation_history_discard  (KilnCurationHistory  *self,
                                                     const gint64         *ids,
                                                     guint                 n,
                                                     const char           *reason,
                                                     GArray               *changed,
                                                     GError              **error);
/* kiln_project_restore_image() of each discarded image in @ids. */
gboolean             kiln_curation_history_restore  (KilnCurationHistory  *self,
                                                     const gint64         *ids,
                                                     guint                 n,
                                                     GArray               *changed,
                                                     GError              **error);
/* kiln_project_relabel_image() of each kept image in @ids not already of
 * @class_name. */
gboolean             kiln_curation_history_relabel  (KilnCurationHistory  *self,
                                                     const gint64         *ids,
                                                     guint                 n,
                                                     const char           *class_name,
                                                     GArray               *changed,
                                                     GError              **error);

gboolean             kiln_curation_history_can_undo (KilnCurationHistory  *self);
gboolean             kiln_curation_history_can_redo (KilnCurationHistory  *self);
gboolean             kiln_curation_history_undo     (KilnCurationHistory  *self,
                                                     GArray               *changed,
                                                     GError              **error);
gboolean             kiln_curation_history_redo     (KilnCurationHistory  *self,
                                                     GArray               *changed,
                                                     GError              **error);

G_END_DECLS
