/* kiln-trainer-options.h: how a training run trains, and its JSON form
 * (the "options" of a run's config.json).
 *
 * Threads: plain data and functions. */
#pragma once

#include <json-glib/json-glib.h>

#include "kiln-lr-schedule.h"
#include "kiln-optimizer.h"

G_BEGIN_DECLS

typedef struct {
  int batch_size;
  int epochs;
  KilnOptimizerType optimizer;
  double learning_rate;
  double momentum;          /* SGD */
  double weight_decay;
  double beta1, beta2, eps; /* Adam */
  KilnLrSchedule schedule;
  guint64 seed;
  gboolean random_crop;     /* else the centre crop */
  gboolean mirror;
  float scale;              /* pixels · scale after the mean; 0 = 1/255 */
  int checkpoint_every;     /* iterations; 0 = at epoch ends only */
  guint keep_checkpoints;   /* the newest K (plus the best) */
  int validate_every;       /* epochs; 0 = never */
  /* "cpu", "cuda", "cuda:N" or "auto"; NULL: the default when the run
   * starts (kiln_device_setting_get_default: KILN_DEVICE, Preferences,
   * auto). Written to config.json only when chosen. */
  char *device;
  /* With frozen bottom layers (KilnLayerSpec.frozen), compute their outputs
   * once per image and train the rest on those: fine-tuning the top of a
   * big net then costs minutes, not days. Augmentation is off in that mode
   * (it would change what the frozen layers see). */
  gboolean cache_features;
} KilnTrainerOptions;

/* Defaults: batch 32, 10 epochs, SGD lr 0.01 momentum 0.9 (the seed's
 * MomentumSGD), weight decay 5e-4, exponential ×0.97 per epoch, seed 1,
 * mirror on, checkpoints every epoch, keep 3, validate every epoch, "auto",
 * frozen features cached. */
void        kiln_trainer_options_init      (KilnTrainerOptions       *options);
void        kiln_trainer_options_clear     (KilnTrainerOptions       *options);
JsonObject *kiln_trainer_options_to_json   (const KilnTrainerOptions *options);
gboolean    kiln_trainer_options_from_json (KilnTrainerOptions       *options,
                                            JsonObject               *object,
                                            GError                  **error);

G_END_DECLS
