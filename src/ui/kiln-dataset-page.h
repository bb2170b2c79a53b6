/* kiln-dataset-page.h: the window's Dataset page.
 *
 * What a project's images become for training: its classes with their
 * kept-image counts (rename, merge into another, drop and restore, each a
 * core class edit run on a worker), the split (shares, seed, stratified;
 * Apply stores a named split through kiln_dataset_split_project and shows
 * its counts per class and subset), the preprocessing (size, channels,
 * resize mode) with the exact network input of the chosen image rendered
 * beside the file, the mean image computed on a worker with progress and
 * Cancel, shown beside the list of the images it averages, and label
 * files exported through a file chooser.
 *
 * Actions (prefix "dataset."): rename-class (s: asks for the new name),
 * rename-class-to ((ss)), merge-class (s: asks for the target),
 * merge-class-into ((ss)), drop-class (s), restore-class (s),
 * apply-split, compute-mean, cancel-mean, export-labels (asks for a
 * folder), export-labels-to (s: a folder), preview (s: an image's path in
 * the project). Class rows carry "class:NAME" as their widget names.
 *
 * Signals: "classes-changed" after a class edit moved images, so the
 * window can re-read what other pages show.
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

#include "kiln-dataset.h"
#include "kiln-project.h"

G_BEGIN_DECLS

#define KILN_TYPE_DATASET_PAGE (kiln_dataset_page_get_type ())
G_DECLARE_FINAL_TYPE (KilnDatasetPage, kiln_dataset_page, KILN, DATASET_PAGE, AdwBin)

GtkWidget           *kiln_dataset_page_new          (void);
/* Shows @project (NULL: nothing); a mean in progress is cancelled. */
void                 kiln_dataset_page_set_project  (KilnDatasetPage *self,
                                                     KilnProject     *project);
KilnProject         *kiln_dataset_page_get_project  (KilnDatasetPage *self);
/* Reads the counts, the current split and the mean's images again. */
void                 kiln_dataset_page_reload       (KilnDatasetPage *self);
/* Whether a class edit or the mean is running. */
gboolean             kiln_dataset_page_is_busy      (KilnDatasetPage *self);
/* The preprocessing the controls describe. */
void                 kiln_dataset_page_get_spec     (KilnDatasetPage *self,
                                                     KilnImageSpec   *spec);
/* The last mean computed, or NULL. */
const KilnMeanImage *kiln_dataset_page_get_mean     (KilnDatasetPage *self);
/* The tensor the preview shows (C × H × W floats of @spec, as
 * kiln_network_input_load gives it) and its image's path, or NULL. */
const float         *kiln_dataset_page_get_preview  (KilnDatasetPage *self,
                                                     KilnImageSpec   *spec,
                                                     const char     **path);

G_END_DECLS
