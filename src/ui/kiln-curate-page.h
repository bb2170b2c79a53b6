/* kiln-curate-page.h: the window's Curate page.
 *
 * A grid of the project's images (a KilnImageList under a
 * GtkMultiSelection), with thumbnails decoded off the main thread by a
 * KilnThumbnailer for the cells on screen only; a sidebar of classes and
 * review filters (flagged by reason, discarded) with counts, which folds
 * away on a narrow window; a preview with the file's facts and flags.
 *
 * Review is keyboard first: arrows move (Shift and Ctrl extend the
 * selection), Delete discards, Ctrl+Z and Ctrl+Shift+Z undo and redo
 * (KilnCurationHistory), 1 to 9 move the selection to that class, as does
 * dragging images onto a class. Inspect runs the inspector on a worker
 * with progress and Cancel, and its flags appear in the grid. Nothing is
 * deleted from disk.
 *
 * Actions (prefix "curate."): discard, restore, undo, redo, relabel (s: a
 * class), relabel-nth (u: 1-based, the sidebar's order), new-class (asks
 * for a name, then relabels into it), filter (s: the
 * name of a sidebar row: "all", "class:NAME", "flagged", "flag:REASON",
 * "discarded"; "ids" is kiln_curate_page_show_images()'s), inspect, cancel-inspect. Sidebar rows carry those names as
 * their widget names.
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

#include "kiln-image-list.h"
#include "kiln-project.h"

G_BEGIN_DECLS

#define KILN_TYPE_CURATE_PAGE (kiln_curate_page_get_type ())
G_DECLARE_FINAL_TYPE (KilnCuratePage, kiln_curate_page, KILN, CURATE_PAGE, AdwBin)

GtkWidget         *kiln_curate_page_new           (void);
/* Shows @project's images (read on a worker), or nothing for NULL; what
 * the previous project could undo is forgotten. */
void               kiln_curate_page_set_project   (KilnCuratePage *self,
                                                   KilnProject    *project);
KilnProject       *kiln_curate_page_get_project   (KilnCuratePage *self);
/* Reads the store again (images a gather added), keeping the grid. */
void               kiln_curate_page_reload        (KilnCuratePage *self);
KilnImageList     *kiln_curate_page_get_images    (KilnCuratePage *self);
GtkSelectionModel *kiln_curate_page_get_selection (KilnCuratePage *self);
/* Shows only the images @ids (kept or discarded) under @title, until
 * another filter is chosen ("curate.filter" "all" is the way back). */
void               kiln_curate_page_show_images   (KilnCuratePage *self,
                                                   const char     *title,
                                                   const gint64   *ids,
                                                   guint           n);
/* Whether the images are being read or inspected. */
gboolean           kiln_curate_page_is_busy       (KilnCuratePage *self);

G_END_DECLS
