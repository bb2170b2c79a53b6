/* kiln-lr-schedule.h: learning-rate schedules.
 *
 * A schedule maps (iteration, iterations per epoch) to a multiplier of the
 * base learning rate: fixed; step (× gamma every step_epochs); exponential
 * (× gamma per finished epoch — the seed's lr × 0.97 each epoch); cosine
 * (from 1 down to min_factor over total_epochs, fractional epochs); any of
 * them with a linear warm-up over the first warmup_iterations.
 *
 * Threads: plain data and pure functions. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  KILN_LR_FIXED,
  KILN_LR_STEP,
  KILN_LR_EXPONENTIAL,
  KILN_LR_COSINE,
} KilnLrPolicy;

typedef struct {
  KilnLrPolicy policy;
  double gamma;            /* step, exponential */
  int step_epochs;         /* step */
  int total_epochs;        /* cosine */
  double min_factor;       /* cosine: the last epoch's multiplier */
  int warmup_iterations;   /* 0 = none; else lr rises linearly to the schedule's value */
} KilnLrSchedule;

void      kiln_lr_schedule_init_fixed       (KilnLrSchedule *self);
void      kiln_lr_schedule_init_step        (KilnLrSchedule *self,
                                             double          gamma,
                                             int             step_epochs);
void      kiln_lr_schedule_init_exponential (KilnLrSchedule *self,
                                             double          gamma);
void      kiln_lr_schedule_init_cosine      (KilnLrSchedule *self,
                                             int             total_epochs,
                                             double          min_factor);
/* Checks the fields; the error says which and what is allowed. */
gboolean  kiln_lr_schedule_validate         (const KilnLrSchedule *self,
                                             GError              **error);
/* The multiplier at @iteration (counting from 0). */
double    kiln_lr_schedule_factor           (const KilnLrSchedule *self,
                                             gint64                iteration,
                                             int                   iterations_per_epoch);

G_END_DECLS
