/* kiln-trainer-private.h: trainer API for the training part only. */
#pragma once

#include "kiln-trainer.h"

G_BEGIN_DECLS

/* Before kiln_trainer_start(): signal on @context instead of the context
 * that was thread-default at creation (for a trainer prepared on a worker
 * thread for a caller on another). */
void kiln_trainer_set_context (KilnTrainer  *self,
                               GMainContext *context);

/* Before kiln_trainer_start(): train on @device (a name kiln_backend_new
 * takes, resolved by kiln_run_device_check) and log @reason as why. Without
 * it the worker resolves options.device, or the default, itself. */
void kiln_trainer_set_device  (KilnTrainer  *self,
                               const char   *device,
                               const char   *reason);

G_END_DECLS
