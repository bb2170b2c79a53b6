#include "config.h"

#include "kiln-trainer.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "kiln-emitter.h"
#include "kiln-engine-error.h"
#include "kiln-error.h"
#include "kiln-evaluation.h"
#include "kiln-progress.h"
#include "kiln-run-device.h"
#include "kiln-softmax.h"
#include "kiln-trainer-checkpoint.h"
#include "kiln-trainer-private.h"

typedef enum {
  EVENT_VALIDATED,
  EVENT_EPOCH,
  EVENT_CHECKPOINT,
} EventType;

typedef struct {
  EventType type;
  gint64 iteration;
  int epoch;
  double loss, accuracy, top5;
  char *path;
} Event;

typedef struct {
  KilnTensorCache *cache;
  guint *indices;
  int *labels;
  guint n;
} Split;

struct _KilnTrainer
{
  GObject parent_instance;

  /* Set before start; read-only afterwards. */
  KilnRun *run;
  KilnNetSpec *spec;
  KilnTrainerOptions options;
  Split train, val;
  float *mean;
  gsize mean_size;
  GPtrArray *owned_caches;
  char *initial_weights;
  char *resume_from;
  char *device, *device_reason;   /* from kiln_trainer_set_device(), or NULL */
  GMainContext *context;
  guint progress_interval_ms;

  GThread *thread;
  KilnEmitter *emitter;       /* from kiln_trainer_start() on */

  /* Shared with the worker, under the lock. */
  GMutex lock;
  GCond wake;
  gboolean pause_requested;
  gboolean stop_requested;
  KilnTrainerStatus status;
  GError *error;
  gboolean progress_dirty;
  GQueue events;
  GArray *new_metrics;        /* rows logged since the last emission */
};

enum { SIGNAL_METRICS, SIGNAL_PROGRESS, SIGNAL_VALIDATED, SIGNAL_EPOCH_FINISHED, SIGNAL_CHECKPOINT_SAVED, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KilnTrainer, kiln_trainer, G_TYPE_OBJECT)

/* ---- events to the main context ---- */

static void
event_free (Event *e)
{
  g_free (e->path);
  g_free (e);
}

/* On the owner's context, from the emitter: the newest progress, then the
 * events in order, then (final) "finished". */
static void
emit_pending (gpointer owner, gboolean final)
{
  KilnTrainer *self = KILN_TRAINER (owner);
  GQueue events = G_QUEUE_INIT;
  g_autoptr(GArray) metrics = NULL;
  gboolean progress;

  g_mutex_lock (&self->lock);
  progress = self->progress_dirty;
  self->progress_dirty = FALSE;
  events = self->events;
  g_queue_init (&self->events);
  if (self->new_metrics->len > 0)
    {
      metrics = g_steal_pointer (&self->new_metrics);
      self->new_metrics = g_array_new (FALSE, FALSE, sizeof (KilnRunMetrics));
    }
  g_mutex_unlock (&self->lock);

  if (metrics != NULL)
    g_signal_emit (self, signals[SIGNAL_METRICS], 0, metrics);
  if (progress)
    g_signal_emit (self, signals[SIGNAL_PROGRESS], 0);
  Event *e;
  while ((e = g_queue_pop_head (&events)))
    {
      switch (e->type)
        {
        case EVENT_VALIDATED:
          g_signal_emit (self, signals[SIGNAL_VALIDATED], 0, e->iteration, e->loss, e->accuracy, e->top5);
          break;
        case EVENT_EPOCH:
          g_signal_emit (self, signals[SIGNAL_EPOCH_FINISHED], 0, e->epoch);
          break;
        case EVENT_CHECKPOINT:
          g_signal_emit (self, signals[SIGNAL_CHECKPOINT_SAVED], 0, e->path);
          break;
        }
      event_free (e);
    }
  if (final)
    {
      /* The worker posted this last, its work done: drop its handle without
       * joining (the thread frees itself as it returns, so the owner's
       * thread never waits for it) and the reference it held. The emitter
       * holds another for this call. */
      g_clear_pointer (&self->thread, g_thread_unref);
      g_object_unref (self);
      g_signal_emit (self, signals[SIGNAL_FINISHED], 0, (int) kiln_trainer_get_state (self));
    }
}

/* Logs @row to metrics.csv and queues it for the next "metrics". */
static gboolean
log_metrics (KilnTrainer *self, const KilnRunMetrics *row, GError **error)
{
  if (!kiln_run_append_metrics (self->run, row, error))
    return FALSE;
  g_mutex_lock (&self->lock);
  g_array_append_val (self->new_metrics, *row);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static void
post_progress (KilnTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->progress_dirty = TRUE;
  g_mutex_unlock (&self->lock);
  kiln_emitter_post (self->emitter, FALSE);
}

static void
post_event (KilnTrainer *self, Event *e)
{
  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->events, e);
  self->progress_dirty = TRUE;
  g_mutex_unlock (&self->lock);
  kiln_emitter_post (self->emitter, TRUE);
}

/* ---- the worker ---- */


static void
worker_clear (KilnTrainerWorker *w)
{
  g_clear_pointer (&w->train_loader, kiln_batch_loader_free);
  g_clear_pointer (&w->val_loader, kiln_batch_loader_free);
  g_clear_pointer (&w->optimizer, kiln_optimizer_free);
  g_clear_pointer (&w->net, kiln_net_free);
  g_clear_pointer (&w->frozen, kiln_net_free);
  g_clear_pointer (&w->train_features, g_free);
  g_clear_pointer (&w->val_features, g_free);
  g_clear_pointer (&w->backend, kiln_backend_free);
  g_clear_pointer (&w->input_name, g_free);
  g_clear_pointer (&w->output_name, g_free);
}

static KilnBatchLoader *
make_loader (KilnTrainer *self, Split *split, gboolean training, GError **error)
{
  int in_c, in_h, in_w, cache_c;
  kiln_net_spec_get_input (self->spec, &in_c, &in_h, &in_w);
  kiln_tensor_cache_get_shape (split->cache, &cache_c, NULL, NULL);
  if (cache_c != in_c)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "The images are cached with %d channel%s but the network's input takes %d; "
                   "convert them to %s", cache_c, cache_c == 1 ? "" : "s", in_c, in_c == 1 ? "grayscale" : "RGB");
      return NULL;
    }
  KilnBatchLoaderOptions options = {
    .batch_size = self->options.batch_size, .crop_height = in_h, .crop_width = in_w,
    .random_crop = training && self->options.random_crop, .mirror = training && self->options.mirror,
    .shuffle = training, .drop_last = training, .mean = self->mean,
    .scale = self->options.scale != 0 ? self->options.scale : 1.0f / 255.0f,
    .seed = self->options.seed,
  };
  return kiln_batch_loader_new (split->cache, split->indices, split->labels, split->n, &options, error);
}

static KilnOptimizer *
make_optimizer (const KilnTrainerOptions *o)
{
  if (o->optimizer == KILN_OPTIMIZER_ADAM)
    return kiln_optimizer_new_adam (o->learning_rate, o->beta1, o->beta2, o->eps, o->weight_decay);
  return kiln_optimizer_new_sgd (o->learning_rate, o->momentum, o->weight_decay);
}

/* Checkpoints the current iteration and tells the owner. */
static gboolean
save_checkpoint (KilnTrainerWorker *w, double val_accuracy, GError **error)
{
  g_autofree char *path = NULL;

  if (!kiln_trainer_checkpoint_save (w, val_accuracy, &path, error))
    return FALSE;
  Event *e = g_new0 (Event, 1);
  e->type = EVENT_CHECKPOINT;
  e->iteration = w->iteration;
  e->path = g_steal_pointer (&path);
  post_event (w->self, e);
  return TRUE;
}

static gboolean
validate (KilnTrainerWorker *w, KilnEvaluation **out, GError **error)
{
  KilnTrainer *self = w->self;
  const KilnShape *shape = kiln_net_get_output_shape (w->net);
  guint k = shape->c * shape->h * shape->w;
  g_autoptr(KilnEvaluation) evaluation = kiln_evaluation_new (k, NULL);
  g_autofree float *logits = g_new (float, (gsize) shape->n * k);
  g_autofree guint64 *sources = g_new (guint64, shape->n);

  kiln_batch_loader_seek (w->val_loader, 0);
  for (guint b = 0; b < kiln_batch_loader_get_batches_per_epoch (w->val_loader); b++)
    {
      const int *labels;
      const guint *entries;
      guint n;
      const float *data = kiln_batch_loader_next (w->val_loader, &labels, &entries, &n, error);
      if (data == NULL)
        return FALSE;
      /* The net's batch size is fixed: a short last batch leaves stale rows
       * behind it, whose outputs are ignored. */
      kiln_net_set_input (w->net, data);
      if (!kiln_net_forward (w->net, FALSE, error))
        return FALSE;
      kiln_net_get_output (w->net, logits);
      kiln_softmax_rows (logits, n, k);
      for (guint i = 0; i < n; i++)
        sources[i] = entries[i];
      if (!kiln_evaluation_add_batch (evaluation, logits, labels, sources, n, error))
        return FALSE;
      g_mutex_lock (&self->lock);
      gboolean stop = self->stop_requested;
      g_mutex_unlock (&self->lock);
      /* A stop mid-way leaves no result: a partial score must not be
       * logged, nor pick the best checkpoint. */
      if (stop)
        return TRUE;
    }
  *out = g_steal_pointer (&evaluation);
  return TRUE;
}

/* Validates the net at the current iteration, logs the row and tells the
 * UI. *stopped: a stop came first, nothing was logged. */
static gboolean
validate_and_log (KilnTrainerWorker *w, int epoch, gint64 run_start, double *val_accuracy, gboolean *stopped, GError **error)
{
  KilnTrainer *self = w->self;
  g_autoptr(KilnEvaluation) evaluation = NULL;

  if (!validate (w, &evaluation, error))
    return FALSE;
  *stopped = evaluation == NULL;
  if (evaluation == NULL)
    return TRUE;
  *val_accuracy = kiln_evaluation_get_top1 (evaluation);
  KilnRunMetrics val = {
    .iteration = w->iteration, .epoch = epoch, .phase = KILN_RUN_PHASE_VAL,
    .loss = kiln_evaluation_get_mean_loss (evaluation), .accuracy = *val_accuracy,
    .top5 = kiln_evaluation_get_top5 (evaluation), .learning_rate = NAN,
    .images_per_second = NAN, .elapsed_seconds = (g_get_monotonic_time () - run_start) / 1e6,
  };
  if (!log_metrics (self, &val, error))
    return FALSE;
  if (isnan (w->best_val_accuracy) || *val_accuracy > w->best_val_accuracy)
    w->best_val_accuracy = *val_accuracy;
  g_mutex_lock (&self->lock);
  self->status.val_loss = val.loss;
  self->status.val_accuracy = val.accuracy;
  self->status.val_top5 = val.top5;
  self->status.best_val_accuracy = w->best_val_accuracy;
  g_mutex_unlock (&self->lock);
  Event *e = g_new0 (Event, 1);
  *e = (Event) { .type = EVENT_VALIDATED, .iteration = w->iteration, .epoch = epoch,
                 .loss = val.loss, .accuracy = val.accuracy, .top5 = val.top5 };
  post_event (self, e);
  return TRUE;
}

/* Turns a backend's out-of-memory error (in *@error) into a stop with a
 * checkpoint of the last completed step: kiln_net_update() allocates before
 * it changes a weight, and validation changes none, so the weights and the
 * optimizer state in memory are that step's. A validation that ran out is
 * marked pending, so a resume validates first. Other errors pass through.
 * Always FALSE, for "return stop_out_of_memory (…)". */
static gboolean
stop_out_of_memory (KilnTrainerWorker *w, gboolean in_validation, GError **error)
{
  if (!g_error_matches (*error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY))
    return FALSE;

  g_autoptr(GError) oom = g_steal_pointer (error);
  g_autoptr(GError) save_error = NULL;
  const char *device = kiln_backend_get_name (w->backend);
  const char *run_dir = kiln_run_get_dir (w->run);
  if (in_validation)
    w->validation_pending = TRUE;
  if (w->iteration > w->last_checkpoint && w->iteration > 0)
    save_checkpoint (w, NAN, &save_error);

  g_autoptr(JsonObject) fields = json_object_new ();
  json_object_set_string_member (fields, "device", device);
  json_object_set_string_member (fields, "message", oom->message);
  json_object_set_int_member (fields, "iteration", w->iteration);
  kiln_run_append_event (w->run, "out-of-memory", fields, NULL);

  if (save_error != NULL)
    g_set_error (error, KILN_ERROR, KILN_ERROR_OUT_OF_MEMORY,
                 "Out of memory on %s after iteration %" G_GINT64_FORMAT " (%s), and its checkpoint could not "
                 "be written: %s", device, w->iteration, oom->message, save_error->message);
  else if (w->iteration == 0)
    g_set_error (error, KILN_ERROR, KILN_ERROR_OUT_OF_MEMORY,
                 "Out of memory on %s before the first step (%s); start a run with a smaller batch "
                 "(kiln-cli train --dry-run shows what a batch needs) or free memory on the device",
                 device, oom->message);
  else
    g_set_error (error, KILN_ERROR, KILN_ERROR_OUT_OF_MEMORY,
                 "Out of memory on %s %s iteration %" G_GINT64_FORMAT " (%s). The run stopped with its checkpoint "
                 "at iteration %" G_GINT64_FORMAT "; resume it (kiln-cli train --resume %s) once memory is free, "
                 "or start a new run with a smaller batch", device, in_validation ? "validating after" : "after",
                 w->iteration, oom->message, w->iteration, run_dir);
  return FALSE;
}

/* Waits while paused; FALSE when a stop was asked for. */
static gboolean
wait_if_paused (KilnTrainer *self)
{
  gboolean paused = FALSE;
  g_mutex_lock (&self->lock);
  while (self->pause_requested && !self->stop_requested)
    {
      if (!paused)
        {
          self->status.state = KILN_TRAINER_PAUSED;
          self->progress_dirty = TRUE;
          kiln_emitter_post (self->emitter, TRUE);
          paused = TRUE;
        }
      g_cond_wait (&self->wake, &self->lock);
    }
  gboolean go_on = !self->stop_requested;
  if (paused && go_on)
    {
      self->status.state = KILN_TRAINER_RUNNING;
      self->progress_dirty = TRUE;
      kiln_emitter_post (self->emitter, TRUE);
    }
  g_mutex_unlock (&self->lock);
  return go_on;
}

/* Runs the frozen bottom over every image of @split once (no augmentation)
 * and returns its outputs, one row per image in split order. */
static float *
compute_features (KilnTrainerWorker *w, Split *split, GError **error)
{
  KilnTrainer *self = w->self;
  const KilnShape *out = kiln_net_get_output_shape (w->frozen);
  gsize row = (gsize) out->c * out->h * out->w;
  g_autoptr(KilnBatchLoader) loader = make_loader (self, split, FALSE, error);
  if (loader == NULL)
    return NULL;
  g_autofree float *features = g_try_new (float, row * split->n);
  g_autofree float *batch = g_new (float, row * out->n);
  if (features == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED,
                   "Caching the frozen layers' outputs for %u images needs %.0f MiB, which is not available; "
                   "train without the feature cache", split->n, row * split->n * 4.0 / (1 << 20));
      return NULL;
    }
  guint position = 0;
  for (guint b = 0; b < kiln_batch_loader_get_batches_per_epoch (loader); b++)
    {
      g_mutex_lock (&self->lock);
      gboolean stop = self->stop_requested;
      g_mutex_unlock (&self->lock);
      if (stop)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CANCELLED, "Stopped while caching the frozen layers' outputs");
          return NULL;
        }
      guint n;
      const float *data = kiln_batch_loader_next (loader, NULL, NULL, &n, error);
      if (data == NULL)
        return NULL;
      kiln_net_set_input (w->frozen, data);
      if (!kiln_net_forward (w->frozen, FALSE, error))
        return NULL;
      kiln_net_get_output (w->frozen, batch);
      memcpy (features + (gsize) position * row, batch, (gsize) n * row * sizeof (float));
      position += n;
    }
  return g_steal_pointer (&features);
}

/* Feature-cache mode: the frozen bottom runs once per image, then the rest
 * trains on its outputs. */
static gboolean
setup_feature_cache (KilnTrainerWorker *w, guint n_frozen, GError **error)
{
  KilnTrainer *self = w->self;
  const KilnTrainerOptions *o = &self->options;
  g_autoptr(GError) split_error = NULL;
  g_autoptr(KilnNetSpec) top = kiln_net_spec_split (self->spec, n_frozen, &split_error);

  if (top == NULL)
    {
      /* A branch crosses the boundary: train the whole net, frozen layers included. */
      g_autoptr(JsonObject) fields = json_object_new ();
      json_object_set_string_member (fields, "message", split_error->message);
      return kiln_run_append_event (self->run, "feature-cache-off", fields, error);
    }
  /* The bottom: the spec's first n_frozen layers. */
  int c, h, wd;
  kiln_net_spec_get_input (self->spec, &c, &h, &wd);
  g_autoptr(KilnNetSpec) bottom = kiln_net_spec_new (kiln_net_spec_get_name (self->spec), c, h, wd);
  kiln_net_spec_set_exact_fit (bottom, kiln_net_spec_get_exact_fit (self->spec));
  for (guint i = 0; i < n_frozen; i++)
    if (!kiln_net_spec_add_layer (bottom, kiln_net_spec_get_layer (self->spec, i), error))
      return FALSE;

  w->frozen = kiln_net_new (bottom, w->backend, o->batch_size, o->seed, error);
  if (w->frozen == NULL)
    return FALSE;
  g_clear_pointer (&w->net, kiln_net_free);
  w->net = kiln_net_new (top, w->backend, o->batch_size, o->seed, error);
  return w->net != NULL;
}

static gboolean
train (KilnTrainerWorker *w, GError **error)
{
  KilnTrainer *self = w->self;
  const KilnTrainerOptions *o = &self->options;

  g_autofree char *device = self->device ? g_strdup (self->device)
                          : o->device ? g_strdup (o->device) : kiln_run_device_get_default (NULL);
  w->backend = kiln_backend_new (device, error);
  if (w->backend == NULL)
    return FALSE;
  w->net = kiln_net_new (self->spec, w->backend, o->batch_size, o->seed, error);
  if (w->net == NULL)
    return FALSE;
  int n_frozen = kiln_net_spec_get_n_frozen (self->spec);
  if (o->cache_features && n_frozen > 0 && !setup_feature_cache (w, n_frozen, error))
    return FALSE;
  w->optimizer = make_optimizer (o);
  w->best_val_accuracy = NAN;
  w->last_checkpoint = -1;

  if (w->frozen != NULL)
    {
      /* The frozen weights must be in place before their outputs are cached;
       * restore() loads them (and the rest) from the initial weights or the
       * checkpoint, then the features are computed once. */
      if (!kiln_trainer_checkpoint_restore (w, error))
        return FALSE;
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(GError) feature_error = NULL;
      w->train_features = compute_features (w, &self->train, &feature_error);
      if (w->train_features != NULL && self->val.n > 0)
        w->val_features = compute_features (w, &self->val, &feature_error);
      if (feature_error != NULL)
        {
          /* A stop before training began: nothing to checkpoint. */
          if (g_error_matches (feature_error, KILN_ERROR, KILN_ERROR_CANCELLED))
            return kiln_run_sync (self->run, error);
          g_propagate_error (error, g_steal_pointer (&feature_error));
          return FALSE;
        }
      const KilnShape *f = kiln_net_get_output_shape (w->frozen);
      KilnBatchLoaderOptions train_options = {
        .batch_size = o->batch_size, .shuffle = TRUE, .drop_last = TRUE, .seed = o->seed,
      };
      KilnBatchLoaderOptions val_options = { .batch_size = o->batch_size, .seed = o->seed };
      g_autofree guint *train_rows = g_new (guint, self->train.n);
      for (guint i = 0; i < self->train.n; i++)
        train_rows[i] = i;
      w->train_loader = kiln_batch_loader_new_for_features (w->train_features, self->train.n, f->c, f->h, f->w,
                                                            train_rows, self->train.labels, self->train.n,
                                                            &train_options, error);
      if (w->train_loader == NULL)
        return FALSE;
      if (self->val.n > 0)
        {
          g_autofree guint *val_rows = g_new (guint, self->val.n);
          for (guint i = 0; i < self->val.n; i++)
            val_rows[i] = i;
          w->val_loader = kiln_batch_loader_new_for_features (w->val_features, self->val.n, f->c, f->h, f->w,
                                                              val_rows, self->val.labels, self->val.n,
                                                              &val_options, error);
          if (w->val_loader == NULL)
            return FALSE;
        }
      g_autoptr(JsonObject) fields = json_object_new ();
      json_object_set_int_member (fields, "frozen_layers", n_frozen);
      json_object_set_string_member (fields, "trained_from", kiln_net_spec_get_layer (self->spec, n_frozen)->name);
      json_object_set_int_member (fields, "images", self->train.n + self->val.n);
      json_object_set_double_member (fields, "seconds", (g_get_monotonic_time () - t0) / 1e6);
      if (!kiln_run_append_event (self->run, "features-cached", fields, error))
        return FALSE;
      w->batches_per_epoch = kiln_batch_loader_get_batches_per_epoch (w->train_loader);
      kiln_optimizer_set_schedule (w->optimizer, &o->schedule, w->batches_per_epoch);
      /* restore() could not seek a loader that did not exist yet. */
      if (w->resume_position > 0)
        kiln_batch_loader_seek (w->train_loader, w->resume_position);
    }
  else
    {
      w->train_loader = make_loader (self, &self->train, TRUE, error);
      if (w->train_loader == NULL)
        return FALSE;
      if (self->val.n > 0 && (w->val_loader = make_loader (self, &self->val, FALSE, error)) == NULL)
        return FALSE;
      w->batches_per_epoch = kiln_batch_loader_get_batches_per_epoch (w->train_loader);
      kiln_optimizer_set_schedule (w->optimizer, &o->schedule, w->batches_per_epoch);
      if (!kiln_trainer_checkpoint_restore (w, error))
        return FALSE;
    }

  gint64 total = (gint64) o->epochs * w->batches_per_epoch;
  g_mutex_lock (&self->lock);
  self->status.total_iterations = total;
  self->status.iteration = w->iteration;
  self->status.epoch = (int) MIN (w->iteration / w->batches_per_epoch, MAX (o->epochs - 1, 0));
  self->status.best_val_accuracy = w->best_val_accuracy;
  g_mutex_unlock (&self->lock);

  g_autoptr(JsonObject) start = json_object_new ();
  json_object_set_string_member (start, "backend", kiln_backend_get_description (w->backend));
  json_object_set_string_member (start, "device", kiln_backend_get_name (w->backend));
  json_object_set_string_member (start, "device_reason", self->device_reason ? self->device_reason
                                                         : kiln_backend_get_choice_reason (w->backend));
  json_object_set_int_member (start, "from_iteration", w->iteration);
  json_object_set_int_member (start, "total_iterations", total);
  if (!kiln_run_append_event (self->run, "start", start, error))
    return FALSE;

  double rate = 0;
  gint64 run_start = g_get_monotonic_time ();
  /* The run stopped while validating an epoch: finish that first, so the
   * log and the best checkpoint are what an uninterrupted run has. Without
   * validation data now (an empty val split) nothing is pending. */
  if (w->val_loader == NULL)
    w->validation_pending = FALSE;
  if (w->validation_pending && w->iteration > 0)
    {
      double val_accuracy = NAN;
      gboolean stopped = FALSE;
      /* A crash after this validation's row but before its checkpoint
       * would otherwise leave the row twice. */
      if (!kiln_run_drop_val_metrics (self->run, w->iteration, error))
        return FALSE;
      if (!validate_and_log (w, (int) ((w->iteration - 1) / w->batches_per_epoch), run_start, &val_accuracy,
                             &stopped, error))
        return stop_out_of_memory (w, TRUE, error);
      if (!stopped)
        {
          w->validation_pending = FALSE;
          if (!save_checkpoint (w, val_accuracy, error))
            return FALSE;
        }
    }
  while (w->iteration < total)
    {
      if (!wait_if_paused (self))
        break;

      gint64 t0 = g_get_monotonic_time ();
      const int *labels;
      guint n;
      const float *data = kiln_batch_loader_next (w->train_loader, &labels, NULL, &n, error);
      if (data == NULL)
        return FALSE;
      double loss;
      int correct;
      if (!kiln_net_train_step (w->net, w->optimizer, data, labels, &loss, &correct, error))
        return stop_out_of_memory (w, FALSE, error);
      w->iteration++;
      double seconds = (g_get_monotonic_time () - t0) / 1e6;
      double instant = seconds > 0 ? n / seconds : 0;
      rate = rate == 0 ? instant : 0.8 * rate + 0.2 * instant;
      int epoch = (int) ((w->iteration - 1) / w->batches_per_epoch);

      KilnRunMetrics row = {
        .iteration = w->iteration, .epoch = epoch, .phase = KILN_RUN_PHASE_TRAIN,
        .loss = loss, .accuracy = (double) correct / n, .top5 = NAN,
        .learning_rate = kiln_optimizer_get_lr (w->optimizer), .images_per_second = instant,
        .elapsed_seconds = (g_get_monotonic_time () - run_start) / 1e6,
      };
      if (!log_metrics (self, &row, error))
        return FALSE;

      g_mutex_lock (&self->lock);
      self->status.iteration = w->iteration;
      self->status.epoch = epoch;
      self->status.loss = loss;
      self->status.accuracy = row.accuracy;
      self->status.learning_rate = row.learning_rate;
      self->status.images_per_second = rate;
      /* Steps only: validation and checkpoints are not in the rate. */
      self->status.eta_seconds = rate > 0 ? (total - w->iteration) * (double) o->batch_size / rate : -1;
      g_mutex_unlock (&self->lock);
      post_progress (self);

      gboolean epoch_end = w->iteration % w->batches_per_epoch == 0;
      double val_accuracy = NAN;
      if (epoch_end && w->val_loader != NULL && o->validate_every > 0 &&
          ((epoch + 1) % o->validate_every == 0 || w->iteration == total))
        {
          gboolean stopped = FALSE;
          if (!validate_and_log (w, epoch, run_start, &val_accuracy, &stopped, error))
            return stop_out_of_memory (w, TRUE, error);
          if (stopped)
            {
              w->validation_pending = TRUE;
              goto checkpoint;
            }
        }
    checkpoint:
      if (epoch_end || (o->checkpoint_every > 0 && w->iteration % o->checkpoint_every == 0))
        if (!save_checkpoint (w, val_accuracy, error))
          return FALSE;
      if (epoch_end)
        {
          g_autoptr(JsonObject) fields = json_object_new ();
          json_object_set_int_member (fields, "epoch", epoch);
          json_object_set_int_member (fields, "iteration", w->iteration);
          if (!kiln_run_append_event (self->run, "epoch", fields, error))
            return FALSE;
          Event *e = g_new0 (Event, 1);
          e->type = EVENT_EPOCH;
          e->epoch = epoch;
          post_event (self, e);
        }
    }

  /* A stop keeps everything done so far: checkpoint where we are. */
  if (w->iteration > w->last_checkpoint && w->iteration > 0 && !save_checkpoint (w, NAN, error))
    return FALSE;
  /* Stopped in the last epoch's validation: not finished until a resume validates. */
  w->completed = w->iteration >= total && !w->validation_pending;
  if (w->completed &&
      (!kiln_trainer_checkpoint_export_best (w, error) || !kiln_run_append_event (self->run, "finished", NULL, error)))
    return FALSE;
  return kiln_run_sync (self->run, error);
}

static gpointer
worker_main (gpointer data)
{
  KilnTrainer *self = data;
  /* Ours: the final post below may be the last thing this thread does
   * with the trainer, which the owner's thread may then free. */
  g_autoptr(KilnEmitter) emitter = kiln_emitter_ref (self->emitter);
  KilnTrainerWorker w = {
    .self = self, .run = self->run, .spec = self->spec, .options = &self->options,
    .initial_weights = self->initial_weights, .resume_from = self->resume_from,
    .mean = self->mean, .mean_size = self->mean_size,
  };
  g_autoptr(GError) error = NULL;
  gboolean ok = train (&w, &error);

  if (!ok)
    {
      g_autoptr(JsonObject) fields = json_object_new ();
      json_object_set_string_member (fields, "message", error->message);
      /* Best effort: the disk may be what failed. */
      kiln_run_append_event (self->run, "failed", fields, NULL);
      kiln_run_sync (self->run, NULL);
    }
  worker_clear (&w);

  g_mutex_lock (&self->lock);
  if (!ok)
    {
      self->status.state = KILN_TRAINER_FAILED;
      self->error = g_steal_pointer (&error);
    }
  else
    self->status.state = w.completed ? KILN_TRAINER_FINISHED : KILN_TRAINER_STOPPED;
  g_cond_broadcast (&self->wake);
  g_mutex_unlock (&self->lock);

  /* Everything is on disk: "finished" may go out, and self may go. */
  kiln_emitter_post_final (emitter);
  return NULL;
}

/* ---- control, on the owner's thread ---- */

KilnTrainer *
kiln_trainer_new (KilnRun *run, KilnNetSpec *spec, const KilnTrainerOptions *options)
{
  KilnTrainer *self = g_object_new (KILN_TYPE_TRAINER, NULL);

  self->run = g_object_ref (run);
  self->spec = kiln_net_spec_copy (spec);
  self->options = *options;
  self->options.device = g_strdup (options->device);
  self->status.total_epochs = options->epochs;
  return self;
}

static void
set_split (Split *split, KilnTensorCache *cache, const guint *indices, const int *labels, guint n)
{
  g_free (split->indices);
  g_free (split->labels);
  split->cache = cache;
  split->indices = g_memdup2 (indices, (gsize) n * sizeof (guint));
  split->labels = g_memdup2 (labels, (gsize) n * sizeof (int));
  split->n = n;
}

void
kiln_trainer_set_train_data (KilnTrainer *self, KilnTensorCache *cache, const guint *indices,
                             const int *labels, guint n)
{
  g_return_if_fail (self->thread == NULL);
  set_split (&self->train, cache, indices, labels, n);
}

void
kiln_trainer_set_val_data (KilnTrainer *self, KilnTensorCache *cache, const guint *indices,
                           const int *labels, guint n)
{
  g_return_if_fail (self->thread == NULL);
  set_split (&self->val, cache, indices, labels, n);
}

void
kiln_trainer_take_cache (KilnTrainer *self, KilnTensorCache *cache)
{
  g_ptr_array_add (self->owned_caches, cache);
}

void
kiln_trainer_set_mean (KilnTrainer *self, const float *mean, gsize n_elements)
{
  g_return_if_fail (self->thread == NULL);
  g_free (self->mean);
  self->mean = mean ? g_memdup2 (mean, n_elements * sizeof (float)) : NULL;
  self->mean_size = mean ? n_elements : 0;
}

void
kiln_trainer_set_initial_weights (KilnTrainer *self, const char *path)
{
  g_return_if_fail (self->thread == NULL);
  g_free (self->initial_weights);
  self->initial_weights = g_strdup (path);
}

void
kiln_trainer_set_resume (KilnTrainer *self, const char *checkpoint_path)
{
  g_return_if_fail (self->thread == NULL);
  g_free (self->resume_from);
  self->resume_from = g_strdup (checkpoint_path);
}

void
kiln_trainer_set_progress_interval (KilnTrainer *self, guint milliseconds)
{
  self->progress_interval_ms = milliseconds;
  if (self->emitter != NULL)
    kiln_emitter_set_interval (self->emitter, milliseconds);
}

void
kiln_trainer_set_device (KilnTrainer *self, const char *device, const char *reason)
{
  g_return_if_fail (self->thread == NULL);
  g_free (self->device);
  g_free (self->device_reason);
  self->device = g_strdup (device);
  self->device_reason = g_strdup (reason);
}

void
kiln_trainer_set_context (KilnTrainer *self, GMainContext *context)
{
  g_return_if_fail (self->thread == NULL);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref (context);
}

gboolean
kiln_trainer_start (KilnTrainer *self, GError **error)
{
  g_return_val_if_fail (KILN_IS_TRAINER (self), FALSE);

  if (self->thread != NULL || self->status.state != KILN_TRAINER_IDLE)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "This training run has already been started");
      return FALSE;
    }
  if (self->train.cache == NULL || self->train.n == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "There are no training images; label some images and split the project first");
      return FALSE;
    }
  /* The layer-size calculator runs before anything is allocated. */
  if (!kiln_net_spec_infer_shapes (self->spec, error))
    return FALSE;
  int in_c, in_h, in_w, cache_h, cache_w;
  kiln_net_spec_get_input (self->spec, &in_c, &in_h, &in_w);
  kiln_tensor_cache_get_shape (self->train.cache, NULL, &cache_h, &cache_w);
  if (in_h > cache_h || in_w > cache_w)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "The network takes %d×%d inputs but the images are cached at %d×%d; "
                   "rebuild the cache at %d×%d or larger", in_h, in_w, cache_h, cache_w, in_h, in_w);
      return FALSE;
    }
  if (self->mean != NULL && self->mean_size != (gsize) in_c * cache_h * cache_w)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "The mean image has %" G_GSIZE_FORMAT " values; the cached images need %d×%d×%d",
                   self->mean_size, in_c, cache_h, cache_w);
      return FALSE;
    }
  guint n_layers = kiln_net_spec_get_n_layers (self->spec);
  const KilnLayerShape *out = kiln_net_spec_get_shape (self->spec, n_layers - 1);
  int n_classes = out->c * out->h * out->w;
  Split *splits[] = { &self->train, &self->val };
  for (guint s = 0; s < G_N_ELEMENTS (splits); s++)
    for (guint i = 0; i < splits[s]->n; i++)
      if (splits[s]->labels[i] < 0 || splits[s]->labels[i] >= n_classes)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "Image %s has class %d, but the network's last layer (%s) has %d outputs; "
                       "replace the top layer for this project's classes",
                       kiln_tensor_cache_get_path (splits[s]->cache, splits[s]->indices[i]),
                       splits[s]->labels[i], kiln_net_spec_get_layer (self->spec, n_layers - 1)->name, n_classes);
          return FALSE;
        }

  g_mutex_lock (&self->lock);
  self->status.state = KILN_TRAINER_RUNNING;
  g_mutex_unlock (&self->lock);
  self->emitter = kiln_emitter_new (self, self->context, emit_pending, "[kiln] trainer");
  kiln_emitter_set_interval (self->emitter, self->progress_interval_ms);
  /* The worker holds a reference until the final emission drops it. */
  g_object_ref (self);
  self->thread = g_thread_try_new ("kiln-trainer", worker_main, self, error);
  if (self->thread == NULL)
    {
      g_mutex_lock (&self->lock);
      self->status.state = KILN_TRAINER_IDLE;
      g_mutex_unlock (&self->lock);
      g_clear_pointer (&self->emitter, kiln_emitter_unref);
      g_object_unref (self);
      return FALSE;
    }
  return TRUE;
}

void
kiln_trainer_pause (KilnTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->pause_requested = TRUE;
  g_mutex_unlock (&self->lock);
}

void
kiln_trainer_resume (KilnTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->pause_requested = FALSE;
  g_cond_broadcast (&self->wake);
  g_mutex_unlock (&self->lock);
}

void
kiln_trainer_stop (KilnTrainer *self)
{
  g_mutex_lock (&self->lock);
  self->stop_requested = TRUE;
  g_cond_broadcast (&self->wake);
  g_mutex_unlock (&self->lock);
}

void
kiln_trainer_join (KilnTrainer *self)
{
  g_mutex_lock (&self->lock);
  while (self->status.state == KILN_TRAINER_RUNNING || self->status.state == KILN_TRAINER_PAUSED)
    g_cond_wait (&self->wake, &self->lock);
  g_mutex_unlock (&self->lock);
  /* Deliver what is pending, "finished" included, so callers see it. */
  while (self->thread != NULL)
    g_main_context_iteration (self->context, TRUE);
}

void
kiln_trainer_get_status (KilnTrainer *self, KilnTrainerStatus *status)
{
  g_mutex_lock (&self->lock);
  *status = self->status;
  g_mutex_unlock (&self->lock);
}

char *
kiln_trainer_status_format (const KilnTrainerStatus *s)
{
  GString *text = g_string_new (NULL);

  /* %lld, not G_GINT64_FORMAT: xgettext cuts a message at a macro. */
  g_string_append_printf (text, _("epoch %d/%d · iteration %lld/%lld"), s->epoch + 1, s->total_epochs,
                          (long long) s->iteration, (long long) s->total_iterations);
  if (s->iteration > 0)
    g_string_append_printf (text, _(" · loss %.4f · accuracy %.3f · lr %.3g · %.0f images/s"),
                            s->loss, s->accuracy, s->learning_rate, s->images_per_second);
  if (!isnan (s->val_accuracy))
    g_string_append_printf (text, _(" · validation %.3f"), s->val_accuracy);
  if (s->eta_seconds >= 0 && isfinite (s->eta_seconds))
    {
      g_autofree char *eta = kiln_progress_format_duration (s->eta_seconds);
      g_string_append_printf (text, _(" · ETA %s"), eta);
    }
  if (s->state == KILN_TRAINER_PAUSED)
    g_string_append (text, _(" · paused"));
  return g_string_free (text, FALSE);
}

KilnTrainerState
kiln_trainer_get_state (KilnTrainer *self)
{
  g_mutex_lock (&self->lock);
  KilnTrainerState state = self->status.state;
  g_mutex_unlock (&self->lock);
  return state;
}

const GError *
kiln_trainer_get_error (KilnTrainer *self)
{
  return self->error;
}

KilnRun *
kiln_trainer_get_run (KilnTrainer *self)
{
  return self->run;
}

static void
kiln_trainer_finalize (GObject *object)
{
  KilnTrainer *self = KILN_TRAINER (object);

  /* The worker holds a reference until its final emission, so it is done. */
  g_assert (self->thread == NULL);
  if (self->emitter != NULL)
    kiln_emitter_close (self->emitter);
  g_clear_pointer (&self->emitter, kiln_emitter_unref);
  g_clear_object (&self->run);
  g_clear_object (&self->spec);
  kiln_trainer_options_clear (&self->options);
  g_free (self->train.indices);
  g_free (self->train.labels);
  g_free (self->val.indices);
  g_free (self->val.labels);
  g_free (self->mean);
  g_ptr_array_unref (self->owned_caches);
  g_free (self->initial_weights);
  g_free (self->resume_from);
  g_free (self->device);
  g_free (self->device_reason);
  g_clear_error (&self->error);
  g_queue_clear_full (&self->events, (GDestroyNotify) event_free);
  g_array_unref (self->new_metrics);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->wake);
  G_OBJECT_CLASS (kiln_trainer_parent_class)->finalize (object);
}

static void
kiln_trainer_class_init (KilnTrainerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_trainer_finalize;

  /* Every row logged to metrics.csv since the last emission, in order
   * (a GArray of KilnRunMetrics, owned by the trainer). */
  signals[SIGNAL_METRICS] = g_signal_new ("metrics", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                          G_TYPE_ARRAY | G_SIGNAL_TYPE_STATIC_SCOPE);
  /* Coalesced: read kiln_trainer_get_status(). */
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_VALIDATED] = g_signal_new ("validated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                            0, NULL, NULL, NULL, G_TYPE_NONE, 4,
                                            G_TYPE_INT64, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[SIGNAL_EPOCH_FINISHED] = g_signal_new ("epoch-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  signals[SIGNAL_CHECKPOINT_SAVED] = g_signal_new ("checkpoint-saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* Last, once; the argument is the final KilnTrainerState. */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
kiln_trainer_init (KilnTrainer *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->wake);
  g_queue_init (&self->events);
  self->new_metrics = g_array_new (FALSE, FALSE, sizeof (KilnRunMetrics));
  self->context = g_main_context_ref_thread_default ();
  self->progress_interval_ms = 100;
  self->owned_caches = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_tensor_cache_free);
  self->status.val_loss = self->status.val_accuracy = self->status.val_top5 = NAN;
  self->status.best_val_accuracy = NAN;
  self->status.eta_seconds = -1;
}
