#include "config.h"

#include "kiln-optimizer.h"

struct _KilnOptimizer {
  KilnOptimizerType kind;
  float lr, momentum, beta1, beta2, eps, decay;
  KilnLrSchedule schedule;
  int iterations_per_epoch;
  gint64 iteration;
};

KilnOptimizer *
kiln_optimizer_new_sgd (float lr, float momentum, float weight_decay)
{
  KilnOptimizer *self = g_new0 (KilnOptimizer, 1);
  self->kind = KILN_OPTIMIZER_SGD;
  self->lr = lr;
  self->momentum = momentum;
  self->decay = weight_decay;
  kiln_lr_schedule_init_fixed (&self->schedule);
  self->iterations_per_epoch = 1;
  return self;
}

KilnOptimizer *
kiln_optimizer_new_adam (float lr, float beta1, float beta2, float eps, float weight_decay)
{
  KilnOptimizer *self = kiln_optimizer_new_sgd (lr, 0, weight_decay);
  self->kind = KILN_OPTIMIZER_ADAM;
  self->beta1 = beta1;
  self->beta2 = beta2;
  self->eps = eps;
  return self;
}

void
kiln_optimizer_free (KilnOptimizer *self)
{
  g_free (self);
}

KilnOptimizerType
kiln_optimizer_get_kind (KilnOptimizer *self)
{
  return self->kind;
}

void
kiln_optimizer_set_schedule (KilnOptimizer *self, const KilnLrSchedule *schedule,
                             int iterations_per_epoch)
{
  self->schedule = *schedule;
  self->iterations_per_epoch = MAX (iterations_per_epoch, 1);
}

float
kiln_optimizer_get_base_lr (KilnOptimizer *self)
{
  return self->lr;
}

float
kiln_optimizer_get_lr (KilnOptimizer *self)
{
  return (float) (self->lr * kiln_lr_schedule_factor (&self->schedule, self->iteration,
                                                      self->iterations_per_epoch));
}

gint64
kiln_optimizer_get_iteration (KilnOptimizer *self)
{
  return self->iteration;
}

void
kiln_optimizer_set_iteration (KilnOptimizer *self, gint64 iteration)
{
  self->iteration = iteration;
}

guint
kiln_optimizer_n_slots (KilnOptimizer *self)
{
  return self->kind == KILN_OPTIMIZER_ADAM ? 2 : 1;
}

void
kiln_optimizer_update (KilnOptimizer *self, KilnTensor *weight, const KilnTensor *grad,
                       KilnTensor **slots)
{
  KilnBackend *backend = kiln_tensor_get_backend (weight);
  float lr = kiln_optimizer_get_lr (self);

  if (self->kind == KILN_OPTIMIZER_SGD)
    kiln_backend_sgd_update (backend, weight, grad, slots[0], lr, self->momentum, self->decay);
  else
    kiln_backend_adam_update (backend, weight, grad, slots[0], slots[1], lr, self->beta1,
                              self->beta2, self->eps, self->decay, self->iteration + 1);
}

void
kiln_optimizer_finish_step (KilnOptimizer *self)
{
  self->iteration++;
}
