/* kiln-run-wizard.h: the Train page's New Run assistant.
 *
 * Four steps with Back and Next: the model (random weights, an earlier
 * run's best checkpoint or a checkpoint file, and the network), how deep
 * to freeze (a scale over the weighted layers, with the parameters left
 * frozen and trained), training (optimizer, learning rate, schedule,
 * batch size, epochs, the project's split, mirror and random crops) and a
 * summary with Start. The choices fill a KilnRunRecipe, the same struct
 * kiln-cli train fills, and Start prepares the run with
 * kiln_run_recipe_prepare_async(): what it refuses is said on the summary
 * step, and the prepared trainer is handed over by "prepared" (not
 * started: the page starts it and listens to it).
 *
 * Actions (group "wizard"): back, next, start, cancel, set-weights (s: ""
 * for random weights, a run id or a checkpoint file), choose-weights (a
 * file chooser for a checkpoint), set-preset (s: a preset id, "" for the network the weights
 * carry), set-freeze (s: a layer, "" for none), set-optimizer (s),
 * set-learning-rate (d), set-schedule (s), set-batch-size (i),
 * set-epochs (i), set-split (s: "" for the current one), set-mirror (b),
 * set-random-crop (b).
 *
 * Threads: main thread only; the project and weights are read on workers. */
#pragma once

#include <adwaita.h>

#include "kiln-core.h"

G_BEGIN_DECLS

#define KILN_TYPE_RUN_WIZARD (kiln_run_wizard_get_type ())
G_DECLARE_FINAL_TYPE (KilnRunWizard, kiln_run_wizard, KILN, RUN_WIZARD, AdwBin)

GtkWidget           *kiln_run_wizard_new         (void);
/* Starts over with the defaults for @project_dir, at the first step. */
void                 kiln_run_wizard_set_project (KilnRunWizard *self,
                                                  const char    *project_dir);
const KilnRunRecipe *kiln_run_wizard_get_recipe  (KilnRunWizard *self);
/* Whether the project's splits and runs have been read (the choices are
 * offered) and the network of the current choice is known. */
gboolean             kiln_run_wizard_is_ready    (KilnRunWizard *self);
/* The network as the run will train it (NULL while it is being read). */
KilnNetSpec         *kiln_run_wizard_get_net     (KilnRunWizard *self);
/* "model", "freeze", "training" or "summary". */
const char          *kiln_run_wizard_get_step    (KilnRunWizard *self);

/* As kiln_run_wizard_set_project(), starting from @recipe's choices (a
 * run's, for Train Again) instead of the defaults; its run id is not
 * kept. */
void                 kiln_run_wizard_set_project_with_recipe (KilnRunWizard       *self,
                                                              const char          *project_dir,
                                                              const KilnRunRecipe *recipe);

G_END_DECLS
