/* kiln-run-recipe.h: what a person chooses for a new run, and the one
 * place that turns those choices into a net spec, trainer options and a
 * training setup.
 *
 * kiln-cli train fills a recipe from its options and the window's New Run
 * wizard from its pages; both start the run with kiln_run_recipe_prepare()
 * (or its _async pair), so the same choices write the same config.json.
 * Every field has an "unset" value that means the default, as an option
 * left out of the command line does.
 *
 * The network is, in this order: the net spec file, else the preset, else
 * the net the starting weights carry (a Kiln checkpoint or an imported
 * model records it, so "start from run X" trains X's network), else LeNet.
 * What cannot work is refused before any run folder exists: unknown names,
 * a layer to freeze that the net lacks, frozen layers without weights,
 * unreadable weights, split options for a split that exists already (and,
 * in kiln_training_prepare(), a batch larger than the training images).
 *
 * Threads: plain data; the functions that read the project or weights
 * block, and front ends call the _async pairs. */
#pragma once

#include "kiln-netspec.h"
#include "kiln-run-list.h"
#include "kiln-trainer.h"
#include "kiln-training-setup.h"

G_BEGIN_DECLS

typedef struct {
  /* The network. */
  char *spec_file;
  char *preset;
  int input_channels, input_height, input_width;  /* 0: the net's own */
  char *weights;              /* a run id, a run folder, a .safetensors file or an ONNX model
                               * (which brings its own network); NULL: from scratch */
  char *freeze_up_to;         /* freeze up to and including this layer; NULL: none */
  gboolean feature_cache;     /* frozen layers' outputs computed once (TRUE) */
  gboolean recompute_mean;    /* fine-tuning: the input mean from this project, not the weights' (FALSE) */

  /* Training; 0 or < 0 as noted means the default of KilnTrainerOptions. */
  int epochs, batch_size;     /* 0 */
  char *optimizer;            /* "sgd" or "adam"; NULL */
  double learning_rate;       /* 0 */
  double momentum;            /* < 0 */
  double weight_decay;        /* < 0 */
  char *schedule;             /* "fixed", "step", "exponential", "cosine"; NULL */
  double gamma;               /* 0: the schedule's own (step 0.1, exponential 0.97) */
  int warmup;                 /* iterations; < 0 */
  gint64 seed;                /* < 0 */
  gboolean mirror;            /* TRUE */
  gboolean random_crop;       /* FALSE */
  int checkpoint_every;       /* < 0 */
  int keep;                   /* 0 */
  char *device;               /* "cpu", "cuda", "cuda:N", "auto"; NULL: the default */

  /* Data. */
  char *split;                /* NULL: the project's current split, else a new one */
  double val_fraction;        /* < 0; only shapes a split this run makes */
  int max_per_class;          /* 0: all; likewise */
  int cache_width, cache_height;  /* 0: the net's input */
  char *resize;               /* NULL: squash */
  char *run_id;               /* NULL: the time */
} KilnRunRecipe;

void         kiln_run_recipe_init          (KilnRunRecipe       *recipe);
void         kiln_run_recipe_clear         (KilnRunRecipe       *recipe);
void         kiln_run_recipe_copy          (const KilnRunRecipe *src,
                                            KilnRunRecipe       *dest);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (KilnRunRecipe, kiln_run_recipe_clear)

/* A run's folder keeps the recipe it was started from (recipe.json,
 * written when the run is made), so the run can be trained again with the
 * same choices: kiln-cli train --again RUN and the Train page's Train
 * Again. Its run_id is not kept. A run made before recipe.json existed is
 * KILN_ERROR_NOT_FOUND, saying so. */
gboolean     kiln_run_recipe_save_for_run  (const KilnRunRecipe *recipe,
                                            const char          *run_dir,
                                            GError             **error);
gboolean     kiln_run_recipe_load_from_run (KilnRunRecipe       *recipe,
                                            const char          *run_dir,
                                            GError             **error);

/* The demo's recipe (kiln_run_recipe_init() plus the choices below), which
 * kiln-cli demo and the window's New Run wizard on the demo project both
 * start from: the fashion-bn preset on the demo's split (KILN_DEMO_SPLIT),
 * and the optimizer, schedule, batch, augmentation and epochs that take it
 * past 93% test accuracy on Fashion-MNIST in under five minutes of
 * training on two cores (bench/fashion-93.sh, bench/RESULTS.md). */
#define KILN_DEMO_EPOCHS 7
void         kiln_run_recipe_init_demo     (KilnRunRecipe       *recipe);

/* Choices that contradict each other, found without reading anything: an
 * ONNX model as weights with a net spec or preset (it brings its own
 * network). KILN_ERROR_INVALID_ARGUMENT; kiln_run_recipe_build() checks
 * this too. */
gboolean     kiln_run_recipe_check         (const KilnRunRecipe *recipe,
                                            GError             **error);

/* The spec (input set, frozen layers marked, shapes inferred), options
 * and setup @recipe makes for @project_dir. @setup's strings point into
 * @recipe. Clear @options with kiln_trainer_options_clear() on success.
 * @weights_from (optional) says which checkpoint the weights resolve to. */
gboolean     kiln_run_recipe_build         (const KilnRunRecipe *recipe,
                                            const char          *project_dir,
                                            KilnNetSpec        **spec,
                                            KilnTrainerOptions  *options,
                                            KilnTrainingSetup   *setup,
                                            char               **weights_from,
                                            GError             **error);

/* kiln_run_recipe_build(), then kiln_training_prepare(). */
KilnTrainer *kiln_run_recipe_prepare       (const KilnRunRecipe *recipe,
                                            const char          *project_dir,
                                            KilnProgress        *progress,
                                            GError             **error);
/* On a GTask thread (the recipe is copied); the trainer signals on the
 * caller's thread-default context. */
void         kiln_run_recipe_prepare_async (const KilnRunRecipe *recipe,
                                            const char          *project_dir,
                                            KilnProgress        *progress,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
KilnTrainer *kiln_run_recipe_prepare_finish (GAsyncResult       *result,
                                             GError            **error);

/* The net alone, as kiln_run_recipe_build() makes it, with the top layer
 * given @n_classes outputs (what the run will train): for showing layers
 * and parameters while choosing. */
void         kiln_run_recipe_get_net_async  (const KilnRunRecipe *recipe,
                                             const char          *project_dir,
                                             guint                n_classes,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
KilnNetSpec *kiln_run_recipe_get_net_finish (GAsyncResult        *result,
                                             GError             **error);

/* What a new run of a project may choose from. */
typedef struct {
  GStrv      splits;      /* the project's splits, the current one first; may be empty */
  guint      n_classes;   /* classes with kept images */
  GPtrArray *runs;        /* KilnRunInfo of the runs with a checkpoint, newest first */
} KilnRunChoices;

void            kiln_run_choices_free        (KilnRunChoices *choices);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnRunChoices, kiln_run_choices_free)

KilnRunChoices *kiln_run_choices_load        (const char          *project_dir,
                                              GError             **error);
void            kiln_run_choices_load_async  (const char          *project_dir,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
KilnRunChoices *kiln_run_choices_load_finish (GAsyncResult        *result,
                                              GError             **error);

G_END_DECLS
