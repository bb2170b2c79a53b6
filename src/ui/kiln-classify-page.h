/* kiln-classify-page.h: the window's Classify page.
 *
 * Drop image files on the page (or open them) and each shows its five most
 * likely classes with probability bars, from the best checkpoint of the
 * run chosen at the top (the project's runs that have one, newest first).
 * The model is loaded, and every image decoded and classified, on workers
 * (KilnClassifier's _async pairs); choosing another run classifies the
 * images again. A file that cannot be classified says why in its row.
 *
 * Actions (group "classify"): open (a file chooser), clear, select-run
 * (s: run id).
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

#include "kiln-core.h"

G_BEGIN_DECLS

#define KILN_TYPE_CLASSIFY_PAGE (kiln_classify_page_get_type ())
G_DECLARE_FINAL_TYPE (KilnClassifyPage, kiln_classify_page, KILN, CLASSIFY_PAGE, AdwBin)

GtkWidget    *kiln_classify_page_new             (void);
void          kiln_classify_page_set_project     (KilnClassifyPage *self,
                                                  const char       *project_dir);
/* Adds @files (GFile) and classifies them with the chosen run. */
void          kiln_classify_page_add_files       (KilnClassifyPage *self,
                                                  GSList           *files);
/* The run whose model classifies, or NULL. */
const char   *kiln_classify_page_get_run         (KilnClassifyPage *self);
guint         kiln_classify_page_get_n_images    (KilnClassifyPage *self);
/* Image @index's top five (KilnPrediction), or NULL while it is being
 * classified or when it failed (@error then says why). */
GArray       *kiln_classify_page_get_predictions (KilnClassifyPage *self,
                                                  guint             index,
                                                  const GError    **error);

G_END_DECLS
