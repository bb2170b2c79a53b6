/* kiln-trainer-checkpoint.h: the trainer worker's state, and the part of
 * the worker that writes checkpoints, restores from them (or from initial
 * weights) and exports the best; private to kiln-trainer*.c.
 *
 * The checkpoint format (its metadata keys) lives here, in one file for
 * writing and reading. Threads: the worker's only. */
#pragma once

#include "kiln-backend.h"
#include "kiln-batch-loader.h"
#include "kiln-net.h"
#include "kiln-trainer.h"

G_BEGIN_DECLS

typedef struct {
  KilnTrainer *self;
  /* The trainer's setup, read-only while the worker runs. */
  KilnRun *run;
  KilnNetSpec *spec;
  const KilnTrainerOptions *options;
  const char *initial_weights;   /* fine-tuning, or NULL */
  const char *resume_from;       /* a checkpoint of this run, or NULL */
  const float *mean;             /* the input mean image, C × H × W, or NULL */
  gsize mean_size;

  KilnBackend *backend;
  KilnNet *net;              /* the layers being trained */
  KilnNet *frozen;           /* the frozen bottom, when its outputs are cached */
  float *train_features, *val_features;
  KilnOptimizer *optimizer;
  KilnBatchLoader *train_loader;
  KilnBatchLoader *val_loader;
  guint batches_per_epoch;
  gint64 iteration;
  gint64 last_checkpoint;
  guint64 resume_position;
  gboolean completed;        /* every epoch ran */
  double best_val_accuracy;
  /* A stop interrupted the validation at the end of the current epoch: the
   * checkpoint says so, and a resume validates before training on. */
  gboolean validation_pending;
  /* An imported model's graph input and output names, carried from its
   * checkpoint into every one of this run's, so exports keep them. */
  char *input_name, *output_name;
} KilnTrainerWorker;

/* Writes the checkpoint of the current iteration (weights, optimizer state,
 * position in the data and dropout streams) and commits it to the run;
 * @path gets its file. */
gboolean kiln_trainer_checkpoint_save        (KilnTrainerWorker  *w,
                                              double              val_accuracy,
                                              char              **path,
                                              GError            **error);
/* Loads the initial weights and/or the checkpoint to resume from, as set. */
gboolean kiln_trainer_checkpoint_restore     (KilnTrainerWorker  *w,
                                              GError            **error);
/* A finished run leaves its best model as model.onnx, for any runtime. */
gboolean kiln_trainer_checkpoint_export_best (KilnTrainerWorker  *w,
                                              GError            **error);

/* Checkpoint metadata: the per-channel means of the mean image the
 * weights were trained with, "m0,m1,m2" — what a fine-tuning run keeps so
 * that its inputs are normalised as the pretrained filters expect. */
#define KILN_CHECKPOINT_MEAN_KEY "kiln.input_mean_channels"

G_END_DECLS
