/* kiln-trainer.h: one training run on a worker thread.
 *
 * A trainer owns the run's worker GThread, which drives the backend (CPU or
 * CUDA): it builds the net from the spec, loads initial weights (fine-tuning)
 * or the checkpoint to resume, then trains epoch after epoch, validating,
 * logging every iteration to metrics.csv/events.jsonl and checkpointing
 * through its KilnRun. A checkpoint holds the weights, the optimizer state
 * and the position in the data and dropout streams, so a resumed run
 * continues exactly where the checkpoint was taken.
 *
 * Threads: create and control the trainer from one thread (the UI's or the
 * CLI's main thread). Signals are emitted on the GMainContext that was
 * thread-default at creation, from one idle source (the core's emitter):
 * "metrics" carries every row logged since the last emission, in order
 * (a chart loses none), "progress" is coalesced (the newest numbers
 * replace older ones, at most every progress-interval), "validated", "epoch-finished" and
 * "checkpoint-saved" arrive once each, and "finished" comes last, once,
 * after the worker has written everything. Nothing on the owner's thread
 * waits for the worker except kiln_trainer_join(): a running trainer keeps
 * itself alive until "finished", so the owner may stop it and drop its
 * reference at once. */
#pragma once

#include "kiln-dist.h"
#include "kiln-netspec.h"
#include "kiln-run.h"
#include "kiln-tensor-cache.h"
#include "kiln-trainer-options.h"

G_BEGIN_DECLS

typedef enum {
  KILN_TRAINER_IDLE,
  KILN_TRAINER_RUNNING,
  KILN_TRAINER_PAUSED,
  KILN_TRAINER_STOPPED,     /* by kiln_trainer_stop(), after a checkpoint */
  KILN_TRAINER_FINISHED,    /* all epochs done */
  KILN_TRAINER_FAILED,
} KilnTrainerState;

typedef struct {
  KilnTrainerState state;
  gint64 iteration;            /* completed iterations */
  gint64 total_iterations;
  int epoch;                   /* current epoch, from 0 */
  int total_epochs;
  double loss;                 /* last batch */
  double accuracy;             /* last batch */
  double learning_rate;
  double images_per_second;    /* smoothed */
  double eta_seconds;          /* of the training steps left; -1 when unknown */
  double val_loss, val_accuracy, val_top5;   /* NaN until validated */
  double best_val_accuracy;
} KilnTrainerStatus;

/* "epoch 2/10 · iteration 120/600 · loss 0.4321 · accuracy 0.912 ·
 * lr 0.0097 · 1234 images/s · validation 0.905 · ETA 0:47 · paused": the
 * one-line status the CLI and the window show (parts without a value yet
 * are left out). */
char       *kiln_trainer_status_format     (const KilnTrainerStatus  *status);

#define KILN_TYPE_TRAINER (kiln_trainer_get_type ())
G_DECLARE_FINAL_TYPE (KilnTrainer, kiln_trainer, KILN, TRAINER, GObject)

/* @spec's last layer must produce one score per class. */
KilnTrainer *kiln_trainer_new              (KilnRun                  *run,
                                            KilnNetSpec              *spec,
                                            const KilnTrainerOptions *options);

/* The data: cache entries and their labels (copied). The caches must stay
 * alive until the trainer is finalized. @mean is C×H×W at the cache size. */
void         kiln_trainer_set_train_data   (KilnTrainer     *self,
                                            KilnTensorCache *cache,
                                            const guint     *indices,
                                            const int       *labels,
                                            guint            n);
void         kiln_trainer_set_val_data     (KilnTrainer     *self,
                                            KilnTensorCache *cache,
                                            const guint     *indices,
                                            const int       *labels,
                                            guint            n);
/* The trainer frees @cache when it is finalized (for callers that built
 * the caches only for this run). */
void         kiln_trainer_take_cache       (KilnTrainer     *self,
                                            KilnTensorCache *cache);
void         kiln_trainer_set_mean         (KilnTrainer     *self,
                                            const float     *mean,
                                            gsize            n_elements);
/* Fine-tuning: weights from a Kiln checkpoint; layers whose shapes differ
 * (a replaced top layer) keep their fresh initialisation. */
void         kiln_trainer_set_initial_weights (KilnTrainer *self,
                                               const char  *safetensors_path);
/* Resume from this checkpoint of the same run. */
void         kiln_trainer_set_resume       (KilnTrainer *self,
                                            const char  *checkpoint_path);

const KilnTrainerOptions *kiln_trainer_get_options (KilnTrainer *self);
/* The checkpoint set by kiln_trainer_set_resume(), or NULL. */
const char  *kiln_trainer_get_resume       (KilnTrainer *self);
/* Data-parallel training (kiln-dist.h): @dist must outlive the run. The
 * options' batch size is the global batch, split evenly over the ranks;
 * only rank 0's run writes (open the others with
 * kiln_training_prepare_follower()). */
void         kiln_trainer_set_dist         (KilnTrainer *self,
                                            KilnDist    *dist);

/* Checks the setup and starts the worker. */
gboolean     kiln_trainer_start            (KilnTrainer  *self,
                                            GError      **error);
void         kiln_trainer_pause            (KilnTrainer  *self);
void         kiln_trainer_resume           (KilnTrainer  *self);
/* Asks the worker to checkpoint and stop after the current iteration. */
void         kiln_trainer_stop             (KilnTrainer  *self);
/* Blocks until the worker has ended (for the CLI and tests). */
void         kiln_trainer_join             (KilnTrainer  *self);

void         kiln_trainer_get_status       (KilnTrainer       *self,
                                            KilnTrainerStatus *status);
KilnTrainerState kiln_trainer_get_state    (KilnTrainer  *self);
/* Why the run failed, or NULL. */
const GError *kiln_trainer_get_error       (KilnTrainer  *self);
KilnRun     *kiln_trainer_get_run          (KilnTrainer  *self);
void         kiln_trainer_set_progress_interval (KilnTrainer *self,
                                                 guint        milliseconds);

G_END_DECLS
