/* kiln-gather-page.h: the window's Gather page.
 *
 * Find WordNet noun synsets (filtered as the user types) or walk their
 * hierarchy (hypernyms up, hyponyms down), see where a synset sits in
 * ImageNet, put several in a basket, and gather their images into the open
 * project from
 * a URL list, an HTTP API, an ImageNet archive or a folder, with live
 * progress and Stop. The work is KilnGatherer's; the page only drives it.
 *
 * Signals: "finished" (no arguments) after each run, however it ended.
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define KILN_TYPE_GATHER_PAGE (kiln_gather_page_get_type ())
G_DECLARE_FINAL_TYPE (KilnGatherPage, kiln_gather_page, KILN, GATHER_PAGE, AdwBin)

GtkWidget  *kiln_gather_page_new           (void);
/* The project gathered into; changing it stops a run on the previous one. */
void        kiln_gather_page_set_project   (KilnGatherPage *self,
                                            GFile          *folder);
gboolean    kiln_gather_page_is_running    (KilnGatherPage *self);
/* Puts the keyboard focus in the synset search, its text selected. */
void        kiln_gather_page_focus_search  (KilnGatherPage *self);
/* The chosen synset's wnid (from the search or the hierarchy), or NULL. */
const char *kiln_gather_page_get_wnid      (KilnGatherPage *self);
/* The synsets Gather gathers one after another (GtkStringObject wnids),
 * each into its own class; empty: the chosen synset only. */
GListModel *kiln_gather_page_get_basket    (KilnGatherPage *self);

G_END_DECLS
