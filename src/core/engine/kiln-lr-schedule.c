#include "config.h"

#include <math.h>

#include "kiln-engine-error.h"
#include "kiln-lr-schedule.h"

void
kiln_lr_schedule_init_fixed (KilnLrSchedule *self)
{
  *self = (KilnLrSchedule) { .policy = KILN_LR_FIXED, .gamma = 1.0 };
}

void
kiln_lr_schedule_init_step (KilnLrSchedule *self, double gamma, int step_epochs)
{
  *self = (KilnLrSchedule) { .policy = KILN_LR_STEP, .gamma = gamma, .step_epochs = step_epochs };
}

void
kiln_lr_schedule_init_exponential (KilnLrSchedule *self, double gamma)
{
  *self = (KilnLrSchedule) { .policy = KILN_LR_EXPONENTIAL, .gamma = gamma };
}

void
kiln_lr_schedule_init_cosine (KilnLrSchedule *self, int total_epochs, double min_factor)
{
  *self = (KilnLrSchedule) { .policy = KILN_LR_COSINE, .total_epochs = total_epochs,
                             .min_factor = min_factor, .gamma = 1.0 };
}

gboolean
kiln_lr_schedule_validate (const KilnLrSchedule *self, GError **error)
{
  const char *problem = NULL;

  if ((self->policy == KILN_LR_STEP || self->policy == KILN_LR_EXPONENTIAL) &&
      !(self->gamma > 0 && self->gamma <= 1))
    problem = "gamma must be in (0, 1]";
  else if (self->policy == KILN_LR_STEP && self->step_epochs < 1)
    problem = "the step must be at least 1 epoch";
  else if (self->policy == KILN_LR_COSINE && self->total_epochs < 1)
    problem = "the cosine schedule needs at least 1 epoch";
  else if (self->policy == KILN_LR_COSINE && !(self->min_factor >= 0 && self->min_factor <= 1))
    problem = "the cosine floor must be in [0, 1]";
  else if (self->warmup_iterations < 0)
    problem = "warm-up iterations cannot be negative";
  else if (self->policy > KILN_LR_COSINE)
    problem = "unknown policy";

  if (problem != NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "Learning-rate schedule: %s", problem);
      return FALSE;
    }
  return TRUE;
}

double
kiln_lr_schedule_factor (const KilnLrSchedule *self, gint64 iteration, int iterations_per_epoch)
{
  int per_epoch = MAX (iterations_per_epoch, 1);
  gint64 epoch = iteration / per_epoch;
  double factor = 1.0;

  switch (self->policy)
    {
    case KILN_LR_FIXED:
      break;
    case KILN_LR_STEP:
      factor = pow (self->gamma, (double) (epoch / MAX (self->step_epochs, 1)));
      break;
    case KILN_LR_EXPONENTIAL:
      factor = pow (self->gamma, (double) epoch);
      break;
    case KILN_LR_COSINE:
      {
        double t = MIN (1.0, (double) iteration / ((double) per_epoch * MAX (self->total_epochs, 1)));
        factor = self->min_factor + (1 - self->min_factor) * 0.5 * (1 + cos (G_PI * t));
        break;
      }
    default:
      break;
    }

  if (self->warmup_iterations > 0 && iteration < self->warmup_iterations)
    factor *= (double) (iteration + 1) / (self->warmup_iterations + 1);
  return factor;
}
