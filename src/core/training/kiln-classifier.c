#include "kiln-classifier.h"

#include "kiln-backend.h"
#include "kiln-run-device.h"
#include "kiln-net.h"
#include "kiln-batch-loader.h"
#include "kiln-checkpoint.h"
#include "kiln-dataset.h"
#include "kiln-error.h"
#include "kiln-run.h"
#include "kiln-softmax.h"
#include "kiln-trainer.h"
#include "kiln-training-setup.h"

struct _KilnClassifier
{
  GObject parent_instance;

  KilnBackend *backend;
  KilnNet *net;
  KilnImageSpec image;
  int in_c, in_h, in_w;
  float *mean;
  float scale;
  GPtrArray *classes;
  char *checkpoint;
  int batch_size;
  guint n_outputs;
  GMutex lock;             /* one forward pass at a time */
};

G_DEFINE_FINAL_TYPE (KilnClassifier, kiln_classifier, G_TYPE_OBJECT)

KilnClassifier *
kiln_classifier_new_from_run (const char *run_dir, const char *checkpoint, const char *backend,
                              int batch_size, GError **error)
{
  g_autoptr(KilnClassifier) self = g_object_new (KILN_TYPE_CLASSIFIER, NULL);
  g_autoptr(JsonObject) config = kiln_training_read_config (run_dir, error);

  if (config == NULL || !kiln_training_config_get_image_spec (config, &self->image, error))
    return NULL;
  JsonNode *classes_node = json_object_get_member (config, "classes");
  if (classes_node == NULL || !JSON_NODE_HOLDS_ARRAY (classes_node))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s/config.json lacks the run's classes", run_dir);
      return NULL;
    }
  g_autoptr(KilnNetSpec) spec = NULL;
  KilnTrainerOptions options;
  if (!kiln_training_config_get_net (config, &spec, &options, error))
    return NULL;
  self->scale = options.scale != 0 ? options.scale : 1.0f / 255.0f;
  kiln_trainer_options_clear (&options);

  JsonArray *classes = json_node_get_array (classes_node);
  for (guint i = 0; i < json_array_get_length (classes); i++)
    g_ptr_array_add (self->classes, g_strdup (json_array_get_string_element (classes, i)));

  kiln_net_spec_get_input (spec, &self->in_c, &self->in_h, &self->in_w);
  if (self->in_c != (int) self->image.channels || self->in_h > self->image.height || self->in_w > self->image.width)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "%s: the network takes %d×%d×%d but images are converted to %d×%d×%d",
                   run_dir, self->in_c, self->in_h, self->in_w,
                   (int) self->image.channels, self->image.height, self->image.width);
      return NULL;
    }

  g_autofree char *mean_path = g_build_filename (run_dir, "mean.f32", NULL);
  self->mean = kiln_mean_image_load_f32 (mean_path, kiln_image_spec_size (&self->image), error);
  if (self->mean == NULL)
    return NULL;

  self->checkpoint = checkpoint ? g_strdup (checkpoint) : kiln_run_find_checkpoint (run_dir, TRUE, NULL, error);
  if (self->checkpoint == NULL)
    return NULL;
  g_autoptr(KilnSafetensors) weights = kiln_safetensors_new_from_file (self->checkpoint, error);
  if (weights == NULL)
    return NULL;

  self->batch_size = MAX (1, batch_size);
  g_autofree char *device = backend ? g_strdup (backend) : kiln_run_device_get_default (NULL);
  self->backend = kiln_backend_new (device, error);
  if (self->backend == NULL)
    return NULL;
  self->net = kiln_net_new (spec, self->backend, self->batch_size, 1, error);
  if (self->net == NULL)
    return NULL;
  if (kiln_checkpoint_load (self->net, weights, KILN_CHECKPOINT_LOAD_STRICT, NULL, error) < 0)
    return NULL;
  const KilnShape *out = kiln_net_get_output_shape (self->net);
  self->n_outputs = out->c * out->h * out->w;
  if (self->n_outputs != self->classes->len)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "%s: the network has %u outputs but the run names %u classes", run_dir,
                   self->n_outputs, self->classes->len);
      return NULL;
    }
  return g_steal_pointer (&self);
}

guint
kiln_classifier_get_n_classes (KilnClassifier *self)
{
  return self->classes->len;
}

const char *
kiln_classifier_get_class_name (KilnClassifier *self, guint index)
{
  g_return_val_if_fail (index < self->classes->len, NULL);
  return self->classes->pdata[index];
}

const char *
kiln_classifier_get_checkpoint (KilnClassifier *self)
{
  return self->checkpoint;
}

/* Decodes @path into the net input at @slot of @input. */
static gboolean
prepare (KilnClassifier *self, const char *path, float *input, guint8 *scratch, GError **error)
{
  if (!kiln_image_load_u8 (path, &self->image, scratch, NULL, error))
    return FALSE;
  int oy = (self->image.height - self->in_h) / 2, ox = (self->image.width - self->in_w) / 2;
  kiln_batch_loader_convert_sample (scratch, self->in_c, self->image.height, self->image.width,
                                    self->in_h, self->in_w, oy, ox, FALSE, self->mean, self->scale, input);
  return TRUE;
}

/* Forward of a filled input batch; @probabilities gets batch × classes. */
static gboolean
forward (KilnClassifier *self, const float *input, float *probabilities, GError **error)
{
  kiln_net_set_input (self->net, input);
  if (!kiln_net_forward (self->net, FALSE, error))
    return FALSE;
  kiln_net_get_output (self->net, probabilities);
  kiln_softmax_rows (probabilities, self->batch_size, self->n_outputs);
  return TRUE;
}

static int
by_probability (gconstpointer a, gconstpointer b)
{
  const KilnPrediction *x = a, *y = b;
  return (x->probability < y->probability) - (x->probability > y->probability);
}

static GArray *
classify_file_locked (KilnClassifier *self, const char *path, guint top_k, GError **error)
{
  gsize sample = (gsize) self->in_c * self->in_h * self->in_w;
  g_autofree float *input = g_new0 (float, sample * self->batch_size);
  g_autofree float *probabilities = g_new (float, (gsize) self->n_outputs * self->batch_size);
  g_autofree guint8 *scratch = g_new (guint8, kiln_image_spec_size (&self->image));

  if (!prepare (self, path, input, scratch, error) || !forward (self, input, probabilities, error))
    return NULL;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (KilnPrediction), self->n_outputs);
  for (guint c = 0; c < self->n_outputs; c++)
    {
      KilnPrediction p = { c, self->classes->pdata[c], probabilities[c] };
      g_array_append_val (out, p);
    }
  g_array_sort (out, by_probability);
  if (top_k > 0 && out->len > top_k)
    g_array_set_size (out, top_k);
  return out;
}

GArray *
kiln_classifier_classify_file (KilnClassifier *self, const char *path, guint top_k, GError **error)
{
  g_mutex_lock (&self->lock);
  GArray *out = classify_file_locked (self, path, top_k, error);
  g_mutex_unlock (&self->lock);
  return out;
}

static KilnEvaluation *
evaluate_locked (KilnClassifier *self, const KilnLabelSet *set, const gint64 *ids, const char *root,
                 KilnProgress *progress, guint *n_skipped, GError **error)
{
  gsize sample = (gsize) self->in_c * self->in_h * self->in_w;
  g_autofree float *input = g_new0 (float, sample * self->batch_size);
  g_autofree float *probabilities = g_new (float, (gsize) self->n_outputs * self->batch_size);
  g_autofree guint8 *scratch = g_new (guint8, kiln_image_spec_size (&self->image));
  g_autofree int *labels = g_new (int, self->batch_size);
  g_autofree guint64 *sources = g_new (guint64, self->batch_size);
  g_autoptr(KilnEvaluation) evaluation =
    kiln_evaluation_new (self->n_outputs, (const char *const *) self->classes->pdata);
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;
  guint skipped = 0, filled = 0;

  if (progress)
    kiln_progress_set_total (progress, set->paths->len);
  for (guint i = 0; i <= set->paths->len; i++)
    {
      gboolean flush = filled == (guint) self->batch_size || (i == set->paths->len && filled > 0);
      if (flush)
        {
          if (!forward (self, input, probabilities, error) ||
              !kiln_evaluation_add_batch (evaluation, probabilities, labels, sources, filled, error))
            return NULL;
          filled = 0;
        }
      if (i == set->paths->len)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      g_autofree char *path = g_build_filename (root, set->paths->pdata[i], NULL);
      g_autoptr(GError) local = NULL;
      if (!prepare (self, path, input + filled * sample, scratch, &local))
        skipped++;
      else
        {
          labels[filled] = g_array_index (set->labels, int, i);
          sources[filled] = ids ? (guint64) ids[i] : i;
          filled++;
        }
      if (progress)
        kiln_progress_add_done (progress, 1);
    }
  if (progress)
    kiln_progress_finish (progress);
  if (n_skipped)
    *n_skipped = skipped;
  return g_steal_pointer (&evaluation);
}

KilnEvaluation *
kiln_classifier_evaluate (KilnClassifier *self, const KilnLabelSet *set, const char *root,
                          KilnProgress *progress, guint *n_skipped, GError **error)
{
  g_mutex_lock (&self->lock);
  KilnEvaluation *evaluation = evaluate_locked (self, set, NULL, root, progress, n_skipped, error);
  g_mutex_unlock (&self->lock);
  return evaluation;
}

/* ---- _async/_finish ---- */

typedef struct {
  char *run_dir;
  char *path;             /* the checkpoint to load, or the image to classify */
  char *backend;
  char *subset;
  int number;             /* batch size, or top k */
  KilnProgress *progress;
} Job;

static void
job_free (Job *job)
{
  g_free (job->run_dir);
  g_free (job->path);
  g_free (job->backend);
  g_free (job->subset);
  g_clear_object (&job->progress);
  g_free (job);
}

static GTask *
job_task (gpointer source, Job *job, GCancellable *cancellable, gpointer tag, GAsyncReadyCallback callback,
          gpointer user_data)
{
  GTask *task = g_task_new (source, cancellable, callback, user_data);

  g_task_set_source_tag (task, tag);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  return task;
}

static void
new_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  KilnClassifier *classifier = kiln_classifier_new_from_run (job->run_dir, job->path, job->backend,
                                                            job->number, &error);
  if (classifier == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, classifier, g_object_unref);
}

void
kiln_classifier_new_from_run_async (const char *run_dir, const char *checkpoint, const char *backend, int batch_size,
                                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = g_new0 (Job, 1);
  job->run_dir = g_strdup (run_dir);
  job->path = g_strdup (checkpoint);
  job->backend = g_strdup (backend);
  job->number = batch_size;
  g_autoptr(GTask) task = job_task (NULL, job, cancellable, kiln_classifier_new_from_run_async, callback, user_data);
  g_task_run_in_thread (task, new_thread);
}

KilnClassifier *
kiln_classifier_new_from_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_classifier_new_from_run_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
classify_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  GArray *predictions = kiln_classifier_classify_file (source, job->path, job->number, &error);

  if (predictions == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, predictions, (GDestroyNotify) g_array_unref);
}

void
kiln_classifier_classify_file_async (KilnClassifier *self, const char *path, guint top_k, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (KILN_IS_CLASSIFIER (self));

  Job *job = g_new0 (Job, 1);
  job->path = g_strdup (path);
  job->number = top_k;
  g_autoptr(GTask) task = job_task (self, job, cancellable, kiln_classifier_classify_file_async, callback, user_data);
  g_task_run_in_thread (task, classify_thread);
}

GArray *
kiln_classifier_classify_file_finish (KilnClassifier *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_classifier_classify_file_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
evaluate_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  g_autofree char *root = NULL;
  g_autoptr(KilnLabelSet) set = kiln_training_read_subset (job->run_dir, job->subset, &root, &error);
  g_autoptr(GArray) ids = set ? kiln_training_read_subset_ids (job->run_dir, job->subset, &error) : NULL;
  g_autoptr(KilnClassifier) classifier = NULL;
  KilnEvaluation *evaluation = NULL;

  /* Sources are store ids, so a cell of the matrix names its images. */
  if (ids != NULL && ids->len != set->paths->len)
    g_set_error (&error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s/%s lists %u %s images, %s.txt %u",
                 job->run_dir, KILN_RUN_SPLIT_IDS_FILE, ids->len, job->subset, job->subset, set->paths->len);
  else if (ids != NULL)
    classifier = kiln_classifier_new_from_run (job->run_dir, NULL, job->backend, 32, &error);
  if (classifier != NULL)
    {
      g_mutex_lock (&classifier->lock);
      evaluation = evaluate_locked (classifier, set, (const gint64 *) ids->data, root, job->progress, NULL, &error);
      g_mutex_unlock (&classifier->lock);
    }
  if (evaluation == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, evaluation, (GDestroyNotify) kiln_evaluation_free);
}

void
kiln_classifier_evaluate_run_async (const char *run_dir, const char *subset, const char *backend,
                                    KilnProgress *progress, GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  Job *job = g_new0 (Job, 1);
  job->run_dir = g_strdup (run_dir);
  job->subset = g_strdup (subset);
  job->backend = g_strdup (backend);
  job->progress = progress ? g_object_ref (progress) : NULL;
  g_autoptr(GTask) task = job_task (NULL, job, cancellable, kiln_classifier_evaluate_run_async, callback, user_data);
  g_task_run_in_thread (task, evaluate_thread);
}

KilnEvaluation *
kiln_classifier_evaluate_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_classifier_evaluate_run_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
kiln_classifier_finalize (GObject *object)
{
  KilnClassifier *self = KILN_CLASSIFIER (object);

  g_clear_pointer (&self->net, kiln_net_free);
  g_clear_pointer (&self->backend, kiln_backend_free);
  g_clear_pointer (&self->mean, g_free);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  g_clear_pointer (&self->checkpoint, g_free);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (kiln_classifier_parent_class)->finalize (object);
}

static void
kiln_classifier_class_init (KilnClassifierClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = kiln_classifier_finalize;
}

static void
kiln_classifier_init (KilnClassifier *self)
{
  self->classes = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&self->lock);
}
