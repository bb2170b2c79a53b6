/* kiln-optimizer.h: SGD with momentum and weight decay, and Adam.
 *
 * The optimizer holds hyper-parameters, the learning-rate schedule and the
 * step count; the per-parameter state (velocity; Adam's m and v) lives with
 * each layer as backend tensors, so the update runs where the weights are,
 * element-wise and layout-blind.
 *
 * Threads: driven by the thread that trains. */
#pragma once

#include "kiln-backend.h"
#include "kiln-lr-schedule.h"

G_BEGIN_DECLS

typedef enum {
  KILN_OPTIMIZER_SGD,
  KILN_OPTIMIZER_ADAM,
} KilnOptimizerType;

typedef struct _KilnOptimizer KilnOptimizer;

/* The seed's MomentumSGD(lr=0.01, momentum=0.9) is (0.01, 0.9, 0). */
KilnOptimizer *kiln_optimizer_new_sgd   (float lr,
                                         float momentum,
                                         float weight_decay);
KilnOptimizer *kiln_optimizer_new_adam  (float lr,
                                         float beta1,
                                         float beta2,
                                         float eps,
                                         float weight_decay);
void           kiln_optimizer_free      (KilnOptimizer *self);

KilnOptimizerType kiln_optimizer_get_kind (KilnOptimizer *self);
void           kiln_optimizer_set_schedule (KilnOptimizer        *self,
                                            const KilnLrSchedule *schedule,
                                            int                   iterations_per_epoch);
float          kiln_optimizer_get_base_lr  (KilnOptimizer *self);
/* The rate the next update uses. */
float          kiln_optimizer_get_lr       (KilnOptimizer *self);
gint64         kiln_optimizer_get_iteration (KilnOptimizer *self);
/* Resuming from a checkpoint. */
void           kiln_optimizer_set_iteration (KilnOptimizer *self,
                                             gint64         iteration);

/* Tensors of state each parameter needs (SGD 1, Adam 2). */
guint          kiln_optimizer_n_slots   (KilnOptimizer *self);
/* Updates one parameter with the current rate. */
void           kiln_optimizer_update    (KilnOptimizer    *self,
                                         KilnTensor       *weight,
                                         const KilnTensor *grad,
                                         KilnTensor      **slots);
/* After every parameter of a step was updated. */
void           kiln_optimizer_finish_step (KilnOptimizer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnOptimizer, kiln_optimizer_free)

G_END_DECLS
