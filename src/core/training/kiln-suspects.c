/* kiln-suspects.c: label errors from out-of-fold predictions (see
 * kiln-suspects.h). */
#include "kiln-suspects.h"

#include <glib/gstdio.h>
#include <math.h>

#include "kiln-classifier.h"
#include "kiln-dataset.h"
#include "kiln-error.h"
#include "kiln-json-text.h"
#include "kiln-labels.h"
#include "kiln-run.h"
#include "kiln-tensor-cache.h"
#include "kiln-trainer.h"
#include "kiln-training-setup.h"

void
kiln_suspects_options_init (KilnSuspectsOptions *options)
{
  *options = (KilnSuspectsOptions) { .folds = 3, .epochs = 0, .top = 0, .seed = 1 };
}

void
kiln_suspect_free (KilnSuspect *suspect)
{
  if (suspect == NULL)
    return;
  g_free (suspect->path);
  g_free (suspect->given_class);
  g_free (suspect->predicted_class);
  g_free (suspect);
}

/* A fold's run folder holds files and checkpoints/ with files: nothing deeper. */
static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* ---- one fold ---------------------------------------------------------------- */

typedef struct {
  KilnProgress *progress;
  guint fold, folds;
  gint64 per_fold;      /* iterations one fold trains, once known */
  gint64 reported;      /* iterations counted into the progress */
  gboolean finished;
} FoldWatch;

static void
on_progress (KilnTrainer *trainer, FoldWatch *watch)
{
  KilnTrainerStatus s;

  if (watch->progress == NULL)
    return;
  kiln_trainer_get_status (trainer, &s);
  /* The first fold says how long a fold is; the others are as long, give
   * or take a batch. */
  if (watch->per_fold == 0 && s.total_iterations > 0)
    {
      watch->per_fold = s.total_iterations;
      kiln_progress_set_total (watch->progress, watch->per_fold * watch->folds);
    }
  gint64 now = MIN (watch->fold * watch->per_fold + s.iteration, watch->per_fold * watch->folds);
  if (now > watch->reported)
    {
      kiln_progress_add_done (watch->progress, now - watch->reported);
      watch->reported = now;
    }
}

static void
on_finished (KilnTrainer *trainer, int state, FoldWatch *watch)
{
  watch->finished = TRUE;
}

/* From any thread: the trainer's stop takes its lock. */
static void
on_cancelled (GCancellable *cancellable, KilnTrainer *trainer)
{
  kiln_trainer_stop (trainer);
}

typedef struct {
  JsonObject *config;          /* the fold runs' config.json */
  KilnNetSpec *spec;
  KilnTrainerOptions options;
  KilnTensorCache *cache;
  float *mean;
  gsize n_mean;
  const char *mean_bytes;      /* mean.f32 as the run has it */
  gsize mean_length;
  const char *weights;         /* the run's starting weights, or NULL */
} Recipe;

/* Trains on @idx/@labels in a run folder under @work_dir, on a main context
 * of its own (the trainer signals there, and this thread iterates it);
 * returns that folder. */
static char *
train_fold (const char *work_dir, const Recipe *recipe, GArray *idx, GArray *labels, FoldWatch *watch,
            GCancellable *cancellable, GError **error)
{
  g_autofree char *id = g_strdup_printf ("fold-%u", watch->fold + 1);
  g_autoptr(KilnRun) run = kiln_run_create (work_dir, id, recipe->config, error);
  if (run == NULL)
    return NULL;
  g_autofree char *dir = g_strdup (kiln_run_get_dir (run));
  g_autofree char *mean_path = g_build_filename (dir, "mean.f32", NULL);
  if (!g_file_set_contents (mean_path, recipe->mean_bytes, recipe->mean_length, error))
    return NULL;

  KilnTrainerOptions options = recipe->options;
  /* A fold is smaller than the run's training set. */
  options.batch_size = MIN (options.batch_size, (int) idx->len);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  g_autoptr(KilnTrainer) trainer = kiln_trainer_new (run, recipe->spec, &options);
  kiln_trainer_set_train_data (trainer, recipe->cache, (guint *) idx->data, (int *) labels->data, idx->len);
  kiln_trainer_set_mean (trainer, recipe->mean, recipe->n_mean);
  if (recipe->weights != NULL)
    kiln_trainer_set_initial_weights (trainer, recipe->weights);
  g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), watch);
  g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), watch);
  watch->finished = FALSE;
  gboolean ok = kiln_trainer_start (trainer, error);
  if (ok)
    {
      gulong handler = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), trainer, NULL);
      while (!watch->finished)
        g_main_context_iteration (context, TRUE);
      g_cancellable_disconnect (cancellable, handler);
      on_progress (trainer, watch);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        ok = FALSE;
      else if (kiln_trainer_get_state (trainer) != KILN_TRAINER_FINISHED)
        {
          const GError *failure = kiln_trainer_get_error (trainer);
          g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "Fold %u did not finish training: %s", watch->fold + 1,
                       failure ? failure->message : "it stopped");
          ok = FALSE;
        }
    }
  g_signal_handlers_disconnect_by_data (trainer, watch);
  g_clear_object (&trainer);
  g_main_context_pop_thread_default (context);
  return ok ? g_steal_pointer (&dir) : NULL;
}

/* ---- all folds --------------------------------------------------------------- */

static int
by_suspicion (gconstpointer a, gconstpointer b)
{
  const KilnSuspect *x = *(KilnSuspect **) a, *y = *(KilnSuspect **) b;
  int by_loss = (x->loss < y->loss) - (x->loss > y->loss);
  return by_loss ? by_loss : (x->image_id > y->image_id) - (x->image_id < y->image_id);
}

/* Deals the usable training entries into folds, class by class in a seeded
 * shuffle, so every fold has about the same share of each class. */
static GArray *
deal_folds (KilnLabelSet *train, KilnTensorCache *cache, guint folds, guint64 seed)
{
  GArray *fold_of = g_array_sized_new (FALSE, FALSE, sizeof (int), train->paths->len);
  guint32 seed_words[2] = { (guint32) seed, (guint32) (seed >> 32) };
  g_autoptr(GRand) rand = g_rand_new_with_seed_array (seed_words, 2);
  guint next = 0;

  g_array_set_size (fold_of, train->paths->len);
  for (guint i = 0; i < train->paths->len; i++)
    g_array_index (fold_of, int, i) = -1;
  for (guint c = 0; c < train->classes->len; c++)
    {
      g_autoptr(GArray) members = g_array_new (FALSE, FALSE, sizeof (guint));
      for (guint i = 0; i < train->paths->len; i++)
        if (g_array_index (train->labels, int, i) == (int) c && kiln_tensor_cache_is_valid (cache, i))
          g_array_append_val (members, i);
      for (guint i = members->len; i > 1; i--)
        {
          guint j = g_rand_int_range (rand, 0, i);
          guint t = g_array_index (members, guint, i - 1);
          g_array_index (members, guint, i - 1) = g_array_index (members, guint, j);
          g_array_index (members, guint, j) = t;
        }
      for (guint i = 0; i < members->len; i++)
        g_array_index (fold_of, int, g_array_index (members, guint, i)) = next++ % folds;
    }
  return fold_of;
}

/* Classifies fold @fold's images with the model trained without them. */
static gboolean
judge_fold (const char *fold_dir, const char *backend, KilnLabelSet *train, GArray *train_ids, GArray *fold_of,
            int fold, const char *root, GPtrArray *out, GError **error)
{
  g_autoptr(KilnLabelSet) held = kiln_label_set_new ();
  g_autoptr(GArray) where = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint c = 0; c < train->classes->len; c++)
    g_ptr_array_add (held->classes, g_strdup (train->classes->pdata[c]));
  for (guint i = 0; i < train->paths->len; i++)
    if (g_array_index (fold_of, int, i) == fold)
      {
        kiln_label_set_add (held, train->paths->pdata[i], g_array_index (train->labels, int, i));
        g_array_append_val (where, i);
      }
  g_autoptr(KilnClassifier) classifier = kiln_classifier_new_from_run (fold_dir, NULL, backend, 32, error);
  if (classifier == NULL)
    return FALSE;
  g_autoptr(KilnEvaluation) evaluation = kiln_classifier_evaluate (classifier, held, root, NULL, NULL, error);
  if (evaluation == NULL)
    return FALSE;
  for (guint k = 0; k < kiln_evaluation_get_n (evaluation); k++)
    {
      const KilnEvaluationItem *item = kiln_evaluation_get_item (evaluation, k);
      guint i = g_array_index (where, guint, item->source);
      KilnSuspect *s = g_new0 (KilnSuspect, 1);
      s->image_id = g_array_index (train_ids, gint64, i);
      s->path = g_strdup (train->paths->pdata[i]);
      s->given_class = g_strdup (train->classes->pdata[item->true_class]);
      s->predicted_class = g_strdup (train->classes->pdata[item->predicted_class]);
      /* As the evaluation clamps it: a zero probability is not infinitely wrong. */
      s->loss = -log (MAX (item->true_probability, 1e-12f));
      s->given_probability = item->true_probability;
      s->predicted_probability = item->confidence;
      s->fold = fold + 1;
      g_ptr_array_add (out, s);
    }
  return TRUE;
}

GPtrArray *
kiln_suspects_find (const char *run_dir, const KilnSuspectsOptions *options, KilnProgress *progress, GError **error)
{
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;
  guint folds = options->folds;

  if (folds < 2)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Suspects need at least 2 folds (each image is judged by a model trained on the others)");
      return NULL;
    }
  if (options->epochs < 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "A fold cannot train for %d epochs",
                   options->epochs);
      return NULL;
    }
  g_autoptr(JsonObject) config = kiln_training_read_config (run_dir, error);
  KilnImageSpec image;
  if (config == NULL || !kiln_training_config_get_image_spec (config, &image, error))
    return NULL;
  const char *cache_path = json_object_get_string_member_with_default (config, "cache", NULL);
  if (cache_path == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s/config.json names no image cache", run_dir);
      return NULL;
    }
  g_autofree char *root = NULL;
  g_autoptr(KilnLabelSet) train = kiln_training_read_subset (run_dir, "train", &root, error);
  g_autoptr(KilnLabelSet) val = train ? kiln_training_read_subset (run_dir, "val", NULL, error) : NULL;
  g_autoptr(GArray) train_ids = val ? kiln_training_read_subset_ids (run_dir, "train", error) : NULL;
  if (train_ids == NULL)
    return NULL;
  if (train_ids->len != train->paths->len)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s/%s lists %u training images, train.txt %u", run_dir,
                   KILN_RUN_SPLIT_IDS_FILE, train_ids->len, train->paths->len);
      return NULL;
    }
  if (train->paths->len < folds * 2)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "The run has %u training images: too few for %u folds", train->paths->len, folds);
      return NULL;
    }

  Recipe recipe = { 0 };
  g_autoptr(KilnNetSpec) spec = NULL;
  if (!kiln_training_config_get_net (config, &spec, &recipe.options, error))
    return NULL;
  if (options->epochs > 0)
    recipe.options.epochs = options->epochs;
  /* The fold models are thrown away: no checkpoints but the last. */
  recipe.options.checkpoint_every = 0;
  recipe.options.validate_every = 0;
  recipe.spec = spec;
  g_autofree char *mean_path = g_build_filename (run_dir, "mean.f32", NULL);
  g_autofree char *mean_bytes = NULL;
  recipe.n_mean = kiln_image_spec_size (&image);
  g_autofree float *mean = kiln_mean_image_load_f32 (mean_path, recipe.n_mean, error);
  GPtrArray *result = NULL;
  char *work_dir = NULL;
  g_autoptr(KilnTensorCache) cache = NULL;
  g_autoptr(JsonObject) fold_config = NULL;
  g_autoptr(GArray) fold_of = NULL;
  g_autoptr(GPtrArray) suspects = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_suspect_free);
  if (mean == NULL || !g_file_get_contents (mean_path, &mean_bytes, &recipe.mean_length, error))
    goto out;
  recipe.mean = mean;
  recipe.mean_bytes = mean_bytes;
  recipe.weights = json_object_get_string_member_with_default (config, "initial_weights", NULL);

  /* The run's cache, with its validation images too, as training keeps it. */
  KilnLabelSet *parts[] = { train, val };
  cache = kiln_training_build_cache (cache_path, root, parts, 2, &image, NULL, error);
  if (cache == NULL)
    goto out;
  recipe.cache = cache;
  fold_config = json_object_ref (config);
  json_object_set_object_member (fold_config, "options", kiln_trainer_options_to_json (&recipe.options));
  recipe.config = fold_config;

  work_dir = g_dir_make_tmp ("kiln-suspects-XXXXXX", error);
  if (work_dir == NULL)
    goto out;
  fold_of = deal_folds (train, cache, folds, options->seed);
  FoldWatch watch = { .progress = progress, .folds = folds };
  if (progress != NULL)
    kiln_progress_set_status (progress, "training folds");
  for (guint f = 0; f < folds; f++)
    {
      g_autoptr(GArray) idx = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (int));
      for (guint i = 0; i < train->paths->len; i++)
        {
          int at = g_array_index (fold_of, int, i);
          if (at >= 0 && at != (int) f)
            {
              g_array_append_val (idx, i);
              g_array_append_val (labels, g_array_index (train->labels, int, i));
            }
        }
      watch.fold = f;
      g_autofree char *fold_dir = train_fold (work_dir, &recipe, idx, labels, &watch, cancellable, error);
      gboolean ok = fold_dir != NULL
                    && judge_fold (fold_dir, recipe.options.device, train, train_ids, fold_of, f, root, suspects,
                                   error);
      if (fold_dir != NULL)
        remove_tree (fold_dir);
      if (!ok)
        goto out;
    }
  g_ptr_array_sort (suspects, by_suspicion);
  if (options->top > 0 && suspects->len > options->top)
    g_ptr_array_set_size (suspects, options->top);
  if (progress != NULL)
    kiln_progress_finish (progress);
  result = g_steal_pointer (&suspects);

out:
  if (work_dir != NULL)
    remove_tree (work_dir);
  g_free (work_dir);
  kiln_trainer_options_clear (&recipe.options);
  return result;
}

/* ---- suspects.tsv -------------------------------------------------------------- */

#define TSV_HEADER "# rank\timage id\tpath\tgiven class\tpredicted class\tloss\tgiven probability\t" \
                   "predicted probability\tfold"

gboolean
kiln_suspects_save (GPtrArray *suspects, const char *path, GError **error)
{
  g_autoptr(GString) text = g_string_new (TSV_HEADER "\n");
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < suspects->len; i++)
    {
      KilnSuspect *s = suspects->pdata[i];
      g_string_append_printf (text, "%u\t%" G_GINT64_FORMAT "\t%s\t%s\t%s\t%s\t%s\t%s\t%u\n", i + 1, s->image_id,
                              s->path, s->given_class, s->predicted_class,
                              g_ascii_formatd (a, sizeof a, "%.6g", s->loss),
                              g_ascii_formatd (b, sizeof b, "%.6g", s->given_probability),
                              g_ascii_formatd (c, sizeof c, "%.6g", s->predicted_probability), s->fold);
    }
  /* Temporary file, fsync, rename: a reader never sees half a list. */
  return g_file_set_contents_full (path, text->str, text->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, error);
}

GPtrArray *
kiln_suspects_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, KILN_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? KILN_ERROR_NOT_FOUND : KILN_ERROR_IO,
                   "%s", local->message);
      return NULL;
    }
  g_autoptr(GPtrArray) suspects = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_suspect_free);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_auto(GStrv) f = g_strsplit (lines[i], "\t", -1);
      if (g_strv_length (f) != 9)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s, line %u: expected 9 fields, found %u", path,
                       i + 1, g_strv_length (f));
          return NULL;
        }
      KilnSuspect *s = g_new0 (KilnSuspect, 1);
      s->image_id = g_ascii_strtoll (f[1], NULL, 10);
      s->path = g_strdup (f[2]);
      s->given_class = g_strdup (f[3]);
      s->predicted_class = g_strdup (f[4]);
      s->loss = g_ascii_strtod (f[5], NULL);
      s->given_probability = g_ascii_strtod (f[6], NULL);
      s->predicted_probability = g_ascii_strtod (f[7], NULL);
      s->fold = (guint) g_ascii_strtoull (f[8], NULL, 10);
      g_ptr_array_add (suspects, s);
    }
  return g_steal_pointer (&suspects);
}

/* ---- _async/_finish ------------------------------------------------------------- */

typedef struct {
  char *run_dir;
  KilnSuspectsOptions options;
  KilnProgress *progress;
  GCancellable *cancellable;
  gulong cancel_handler;
} Job;

static void
job_free (Job *job)
{
  if (job->cancellable != NULL)
    g_cancellable_disconnect (job->cancellable, job->cancel_handler);
  g_clear_object (&job->cancellable);
  g_free (job->run_dir);
  g_clear_object (&job->progress);
  g_free (job);
}

static void
find_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  g_autoptr(GPtrArray) suspects = kiln_suspects_find (job->run_dir, &job->options, job->progress, &error);
  g_autofree char *path = g_build_filename (job->run_dir, KILN_SUSPECTS_FILE, NULL);

  if (suspects == NULL || !kiln_suspects_save (suspects, path, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&suspects), (GDestroyNotify) g_ptr_array_unref);
}

static void
forward_cancel (GCancellable *cancellable, KilnProgress *progress)
{
  g_cancellable_cancel (kiln_progress_get_cancellable (progress));
}

void
kiln_suspects_find_async (const char *run_dir, const KilnSuspectsOptions *options, KilnProgress *progress,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = g_new0 (Job, 1);
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  job->run_dir = g_strdup (run_dir);
  job->options = *options;
  /* The work watches one cancellable: the progress's. */
  job->progress = progress ? g_object_ref (progress) : kiln_progress_new ("suspects");
  if (cancellable != NULL)
    {
      job->cancellable = g_object_ref (cancellable);
      job->cancel_handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel), job->progress, NULL);
    }
  g_task_set_source_tag (task, kiln_suspects_find_async);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, find_thread);
}

GPtrArray *
kiln_suspects_find_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_suspects_find_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
