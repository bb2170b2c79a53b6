/* kiln-run-recipe.c: choices → spec, options and setup (see kiln-run-recipe.h). */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-backend.h"
#include "kiln-demo.h"
#include "kiln-error.h"
#include "kiln-json-text.h"
#include "kiln-model-import.h"
#include "kiln-project-dataset.h"
#include "kiln-run-recipe.h"
#include "kiln-training-weights.h"

void
kiln_run_recipe_init (KilnRunRecipe *r)
{
  *r = (KilnRunRecipe) {
    .feature_cache = TRUE, .momentum = -1, .weight_decay = -1, .warmup = -1, .seed = -1,
    .mirror = TRUE, .checkpoint_every = -1, .val_fraction = -1,
  };
}

void
kiln_run_recipe_init_demo (KilnRunRecipe *r)
{
  kiln_run_recipe_init (r);
  r->preset = g_strdup ("fashion-bn");
  r->split = g_strdup (KILN_DEMO_SPLIT);
  /* SGD with the default momentum 0.9 and weight decay 5e-4; batch norm
   * lets the rate start high, and a cosine decay after a short warm-up
   * ends the few epochs at a small one. Flips, no random crops: this
   * reaches 93% in 7 epochs on AVX2 and AVX-512 (bench/RESULTS.md). */
  r->epochs = KILN_DEMO_EPOCHS;
  r->batch_size = 64;
  r->learning_rate = 0.05;
  r->schedule = g_strdup ("cosine");
  r->warmup = 400;
  r->mirror = TRUE;
}

void
kiln_run_recipe_clear (KilnRunRecipe *r)
{
  g_clear_pointer (&r->spec_file, g_free);
  g_clear_pointer (&r->preset, g_free);
  g_clear_pointer (&r->weights, g_free);
  g_clear_pointer (&r->freeze_up_to, g_free);
  g_clear_pointer (&r->optimizer, g_free);
  g_clear_pointer (&r->schedule, g_free);
  g_clear_pointer (&r->device, g_free);
  g_clear_pointer (&r->split, g_free);
  g_clear_pointer (&r->resize, g_free);
  g_clear_pointer (&r->run_id, g_free);
}

void
kiln_run_recipe_copy (const KilnRunRecipe *src, KilnRunRecipe *dest)
{
  *dest = *src;
  dest->spec_file = g_strdup (src->spec_file);
  dest->preset = g_strdup (src->preset);
  dest->weights = g_strdup (src->weights);
  dest->freeze_up_to = g_strdup (src->freeze_up_to);
  dest->optimizer = g_strdup (src->optimizer);
  dest->schedule = g_strdup (src->schedule);
  dest->device = g_strdup (src->device);
  dest->split = g_strdup (src->split);
  dest->resize = g_strdup (src->resize);
  dest->run_id = g_strdup (src->run_id);
}

/* ---- recipe.json ---- */

#define RECIPE_FILE "recipe.json"
#define RECIPE_FORMAT "kiln-recipe-1"

typedef enum { FIELD_STRING, FIELD_INT, FIELD_DOUBLE, FIELD_BOOL, FIELD_INT64 } FieldKind;

static const struct {
  const char *name;
  FieldKind kind;
  gsize offset;
} fields[] = {
  { "spec_file", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, spec_file) },
  { "preset", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, preset) },
  { "input_channels", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, input_channels) },
  { "input_height", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, input_height) },
  { "input_width", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, input_width) },
  { "weights", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, weights) },
  { "freeze_up_to", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, freeze_up_to) },
  { "feature_cache", FIELD_BOOL, G_STRUCT_OFFSET (KilnRunRecipe, feature_cache) },
  { "recompute_mean", FIELD_BOOL, G_STRUCT_OFFSET (KilnRunRecipe, recompute_mean) },
  { "epochs", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, epochs) },
  { "batch_size", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, batch_size) },
  { "optimizer", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, optimizer) },
  { "learning_rate", FIELD_DOUBLE, G_STRUCT_OFFSET (KilnRunRecipe, learning_rate) },
  { "momentum", FIELD_DOUBLE, G_STRUCT_OFFSET (KilnRunRecipe, momentum) },
  { "weight_decay", FIELD_DOUBLE, G_STRUCT_OFFSET (KilnRunRecipe, weight_decay) },
  { "schedule", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, schedule) },
  { "gamma", FIELD_DOUBLE, G_STRUCT_OFFSET (KilnRunRecipe, gamma) },
  { "warmup", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, warmup) },
  { "seed", FIELD_INT64, G_STRUCT_OFFSET (KilnRunRecipe, seed) },
  { "mirror", FIELD_BOOL, G_STRUCT_OFFSET (KilnRunRecipe, mirror) },
  { "random_crop", FIELD_BOOL, G_STRUCT_OFFSET (KilnRunRecipe, random_crop) },
  { "checkpoint_every", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, checkpoint_every) },
  { "keep", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, keep) },
  { "device", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, device) },
  { "split", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, split) },
  { "val_fraction", FIELD_DOUBLE, G_STRUCT_OFFSET (KilnRunRecipe, val_fraction) },
  { "max_per_class", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, max_per_class) },
  { "cache_width", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, cache_width) },
  { "cache_height", FIELD_INT, G_STRUCT_OFFSET (KilnRunRecipe, cache_height) },
  { "resize", FIELD_STRING, G_STRUCT_OFFSET (KilnRunRecipe, resize) },
};

gboolean
kiln_run_recipe_save_for_run (const KilnRunRecipe *recipe, const char *run_dir, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, RECIPE_FORMAT);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      gconstpointer at = G_STRUCT_MEMBER_P (recipe, fields[i].offset);
      if (fields[i].kind == FIELD_STRING && *(char *const *) at == NULL)
        continue;
      json_builder_set_member_name (b, fields[i].name);
      switch (fields[i].kind)
        {
        case FIELD_STRING: json_builder_add_string_value (b, *(char *const *) at); break;
        case FIELD_INT: json_builder_add_int_value (b, *(const int *) at); break;
        case FIELD_INT64: json_builder_add_int_value (b, *(const gint64 *) at); break;
        case FIELD_DOUBLE: json_builder_add_double_value (b, *(const double *) at); break;
        case FIELD_BOOL: json_builder_add_boolean_value (b, *(const gboolean *) at); break;
        }
    }
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = kiln_json_to_text (root, TRUE);
  g_autofree char *path = g_build_filename (run_dir, RECIPE_FILE, NULL);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0644, error);
}

gboolean
kiln_run_recipe_load_from_run (KilnRunRecipe *recipe, const char *run_dir, GError **error)
{
  g_autofree char *path = g_build_filename (run_dir, RECIPE_FILE, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   _("%s has no recipe.json: it was made before runs kept their recipe; start a new run with "
                     "the same choices by hand"), run_dir);
      return FALSE;
    }
  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, _("%s cannot be read: %s"), path, local->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (o == NULL || g_strcmp0 (json_object_get_string_member_with_default (o, "format", NULL), RECIPE_FORMAT) != 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, _("%s is not a Kiln recipe (%s)"), path, RECIPE_FORMAT);
      return FALSE;
    }
  kiln_run_recipe_clear (recipe);
  kiln_run_recipe_init (recipe);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      JsonNode *member = json_object_get_member (o, fields[i].name);
      gpointer at = G_STRUCT_MEMBER_P (recipe, fields[i].offset);
      if (member == NULL || !JSON_NODE_HOLDS_VALUE (member))
        continue;
      GType type = json_node_get_value_type (member);
      gboolean number = type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
      switch (fields[i].kind)
        {
        case FIELD_STRING:
          if (type == G_TYPE_STRING)
            {
              g_free (*(char **) at);
              *(char **) at = g_strdup (json_node_get_string (member));
            }
          break;
        case FIELD_INT:
          if (number)
            *(int *) at = (int) CLAMP (json_node_get_int (member), G_MININT, G_MAXINT);
          break;
        case FIELD_INT64:
          if (number)
            *(gint64 *) at = json_node_get_int (member);
          break;
        case FIELD_DOUBLE:
          if (number)
            *(double *) at = json_node_get_double (member);
          break;
        case FIELD_BOOL:
          if (type == G_TYPE_BOOLEAN)
            *(gboolean *) at = json_node_get_boolean (member);
          break;
        }
    }
  return TRUE;
}

/* The net the recipe names, for @n_classes classes when it is a preset;
 * @weights is the resolved checkpoint or NULL. */
static KilnNetSpec *
make_spec (const KilnRunRecipe *r, guint n_classes, const char *weights, KilnNetSpec *imported, GError **error)
{
  g_autoptr(KilnNetSpec) spec = NULL;

  if (imported != NULL)
    spec = g_object_ref (imported);
  else if (r->spec_file != NULL)
    spec = kiln_net_spec_new_from_file (r->spec_file, error);
  else if (r->preset != NULL || weights == NULL)
    spec = kiln_net_spec_new_preset (r->preset ? r->preset : "lenet", n_classes, error);
  else
    spec = kiln_training_weights_get_spec (weights, error);
  if (spec == NULL)
    return NULL;
  if (r->input_channels > 0 || r->input_height > 0 || r->input_width > 0)
    {
      int c, h, w;
      kiln_net_spec_get_input (spec, &c, &h, &w);
      kiln_net_spec_set_input (spec, r->input_channels > 0 ? r->input_channels : c,
                               r->input_height > 0 ? r->input_height : h, r->input_width > 0 ? r->input_width : w);
    }
  if (r->freeze_up_to != NULL && !kiln_net_spec_freeze_up_to (spec, r->freeze_up_to, error))
    return NULL;
  if (!kiln_net_spec_infer_shapes (spec, error))
    return NULL;
  return g_steal_pointer (&spec);
}

gboolean
kiln_run_recipe_check (const KilnRunRecipe *r, GError **error)
{
  if (r->weights != NULL && kiln_model_import_is_model (r->weights) && (r->spec_file != NULL || r->preset != NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s brings its own network; leave out --spec and --preset", r->weights);
      return FALSE;
    }
  KilnDeviceKind kind;
  int index;
  g_autoptr(GError) local = NULL;
  if (r->device != NULL && !kiln_device_parse (r->device, &kind, &index, &local))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

/* The checkpoint the recipe's weights name (NULL with no weights, and
 * @error unset), what it is in words, and for an ONNX model the network it
 * brings, imported once into the project's cache for @n_classes. */
static char *
resolve_weights (const KilnRunRecipe *r, const char *project_dir, guint n_classes, char **from,
                 KilnNetSpec **imported, GError **error)
{
  if (r->weights == NULL)
    return NULL;
  if (!kiln_run_recipe_check (r, error))
    return NULL;
  if (kiln_model_import_is_model (r->weights))
    return kiln_training_import_model (project_dir, r->weights, n_classes, imported, from, error);
  return kiln_training_resolve_weights (project_dir, r->weights, from, error);
}

static gboolean
make_options (const KilnRunRecipe *r, KilnTrainerOptions *o, GError **error)
{
  kiln_trainer_options_init (o);
  if (r->epochs > 0) o->epochs = r->epochs;
  if (r->batch_size > 0) o->batch_size = r->batch_size;
  if (r->learning_rate > 0) o->learning_rate = r->learning_rate;
  if (r->momentum >= 0) o->momentum = r->momentum;
  if (r->weight_decay >= 0) o->weight_decay = r->weight_decay;
  if (r->seed >= 0) o->seed = (guint64) r->seed;
  if (r->checkpoint_every >= 0) o->checkpoint_every = r->checkpoint_every;
  if (r->keep > 0) o->keep_checkpoints = r->keep;
  o->mirror = r->mirror;
  o->random_crop = r->random_crop;
  o->cache_features = r->feature_cache;
  if (r->device != NULL)
    {
      g_free (o->device);
      o->device = g_strdup (r->device);
    }
  if (r->optimizer != NULL)
    {
      if (g_str_equal (r->optimizer, "adam"))
        o->optimizer = KILN_OPTIMIZER_ADAM;
      else if (!g_str_equal (r->optimizer, "sgd"))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "Unknown optimizer “%s”; use sgd or adam", r->optimizer);
          goto failed;
        }
    }
  if (r->schedule == NULL)
    {
      if (r->gamma > 0)
        o->schedule.gamma = r->gamma;
    }
  else if (g_str_equal (r->schedule, "fixed"))
    kiln_lr_schedule_init_fixed (&o->schedule);
  else if (g_str_equal (r->schedule, "step"))
    /* Three steps over the run. */
    kiln_lr_schedule_init_step (&o->schedule, r->gamma > 0 ? r->gamma : 0.1, MAX (1, o->epochs / 3));
  else if (g_str_equal (r->schedule, "exponential"))
    kiln_lr_schedule_init_exponential (&o->schedule, r->gamma > 0 ? r->gamma : 0.97);
  else if (g_str_equal (r->schedule, "cosine"))
    kiln_lr_schedule_init_cosine (&o->schedule, o->epochs, 0.01);
  else
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Unknown schedule “%s”; use fixed, step, exponential or cosine", r->schedule);
      goto failed;
    }
  if (r->warmup >= 0)
    o->schedule.warmup_iterations = r->warmup;
  return TRUE;

failed:
  kiln_trainer_options_clear (o);
  return FALSE;
}

gboolean
kiln_run_recipe_build (const KilnRunRecipe *r, const char *project_dir, KilnNetSpec **spec_out,
                       KilnTrainerOptions *options, KilnTrainingSetup *setup, char **weights_from, GError **error)
{
  g_autoptr(KilnProject) store = kiln_project_open_dataset (project_dir, NULL, error);
  if (store == NULL)
    return FALSE;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *current = kiln_project_get_current_split (store, &local_error);
  g_autoptr(KilnLabelSet) classes = local_error ? NULL : kiln_project_get_label_set (store, NULL, NULL, NULL, &local_error);
  if (classes == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* Split options shape only a split this run makes. */
  if ((r->val_fraction >= 0 || r->max_per_class > 0) && (r->split != NULL || current != NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s already has the split “%s”; the validation share and the images per class only shape "
                   "the first one. Make another with “kiln-cli split --project %s --name NAME --shares T,V,T "
                   "--max N” and train on it", project_dir, r->split ? r->split : current, project_dir);
      return FALSE;
    }
  KilnResizeMode resize = KILN_RESIZE_SQUASH;
  if (r->resize != NULL && !kiln_resize_mode_from_string (r->resize, &resize))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Unknown resize mode “%s”; use squash, crop-center, fill or downscale-crop", r->resize);
      return FALSE;
    }
  g_autofree char *from = NULL;
  g_autoptr(KilnNetSpec) imported = NULL;
  g_autofree char *weights = resolve_weights (r, project_dir, classes->classes->len, &from, &imported, error);
  if (r->weights != NULL && weights == NULL)
    return FALSE;
  g_autoptr(KilnNetSpec) spec = make_spec (r, classes->classes->len, weights, imported, error);
  if (spec == NULL || !make_options (r, options, error))
    return FALSE;

  kiln_training_setup_init (setup);
  if (r->val_fraction >= 0)
    setup->val_fraction = r->val_fraction;
  if (r->seed >= 0)
    setup->split_seed = (guint64) r->seed;
  setup->max_per_class = MAX (0, r->max_per_class);
  setup->split = r->split;
  setup->run_id = r->run_id;
  setup->recompute_mean = r->recompute_mean;
  /* An imported model trains from the checkpoint made of it: its path and
   * description outlive the recipe (setup strings are copied when a run is
   * prepared, and an import is once a project and model). */
  setup->initial_weights = imported != NULL ? g_intern_string (weights) : r->weights;
  setup->initial_weights_from = imported != NULL ? g_intern_string (from) : NULL;
  setup->cache_width = r->cache_width;
  setup->cache_height = r->cache_height;
  setup->resize = resize;
  *spec_out = g_steal_pointer (&spec);
  if (weights_from != NULL)
    *weights_from = g_steal_pointer (&from);
  return TRUE;
}

/* A new run keeps its recipe; a resumed one has it already. Failing to
 * write it costs only Train Again, so it is a warning. */
static void
keep_recipe (const KilnRunRecipe *recipe, KilnTrainer *trainer)
{
  g_autoptr(GError) error = NULL;
  KilnRun *run = kiln_trainer_get_run (trainer);

  if (run != NULL && !kiln_run_recipe_save_for_run (recipe, kiln_run_get_dir (run), &error))
    g_warning ("could not keep the run's recipe: %s", error->message);
}

KilnTrainer *
kiln_run_recipe_prepare (const KilnRunRecipe *recipe, const char *project_dir, KilnProgress *progress,
                         GError **error)
{
  g_autoptr(KilnNetSpec) spec = NULL;
  KilnTrainerOptions options;
  KilnTrainingSetup setup;

  if (!kiln_run_recipe_build (recipe, project_dir, &spec, &options, &setup, NULL, error))
    return NULL;
  KilnTrainer *trainer = kiln_training_prepare (project_dir, spec, &options, &setup, progress, error);
  kiln_trainer_options_clear (&options);
  if (trainer != NULL)
    keep_recipe (recipe, trainer);
  return trainer;
}

/* ---- _async/_finish ---- */

typedef struct {
  KilnRunRecipe recipe;
  char *project_dir;
  guint n_classes;
  KilnProgress *progress;
  /* What the build made on the worker; the setup's strings point into recipe. */
  KilnNetSpec *spec;
  KilnTrainerOptions options;
  KilnTrainingSetup setup;
  gboolean built;
} RecipeJob;

static void
recipe_job_free (RecipeJob *job)
{
  if (job->built)
    kiln_trainer_options_clear (&job->options);
  g_clear_object (&job->spec);
  kiln_run_recipe_clear (&job->recipe);
  g_free (job->project_dir);
  g_clear_object (&job->progress);
  g_free (job);
}

static GTask *
recipe_task (const KilnRunRecipe *recipe, const char *project_dir, KilnProgress *progress,
             GCancellable *cancellable, gpointer tag, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  RecipeJob *job = g_new0 (RecipeJob, 1);

  kiln_run_recipe_copy (recipe, &job->recipe);
  job->project_dir = g_strdup (project_dir);
  job->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_source_tag (task, tag);
  g_task_set_task_data (task, job, (GDestroyNotify) recipe_job_free);
  return task;
}

static void
prepared_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  KilnTrainer *trainer = kiln_training_prepare_finish (result, &error);

  if (trainer == NULL)
    g_task_return_error (task, error);
  else
    {
      keep_recipe (&((RecipeJob *) g_task_get_task_data (task))->recipe, trainer);
      g_task_return_pointer (task, trainer, g_object_unref);
    }
}

static void
build_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  RecipeJob *job = data;
  GError *error = NULL;

  job->built = kiln_run_recipe_build (&job->recipe, job->project_dir, &job->spec, &job->options, &job->setup,
                                      NULL, &error);
  if (!job->built)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* On the caller's context: the setup's own pair prepares the run and gives
 * the trainer this context. */
static void
built_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) outer = user_data;
  RecipeJob *job = g_task_get_task_data (outer);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (outer, error);
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (outer);
  kiln_training_prepare_async (job->project_dir, job->spec, &job->options, &job->setup, job->progress, cancellable,
                               prepared_cb, g_steal_pointer (&outer));
}

void
kiln_run_recipe_prepare_async (const KilnRunRecipe *recipe, const char *project_dir, KilnProgress *progress,
                               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *outer = recipe_task (recipe, project_dir, progress, cancellable, kiln_run_recipe_prepare_async,
                              callback, user_data);
  g_autoptr(GTask) build = g_task_new (NULL, cancellable, built_cb, outer);

  g_task_set_task_data (build, g_task_get_task_data (outer), NULL);
  g_task_run_in_thread (build, build_thread);
}

KilnTrainer *
kiln_run_recipe_prepare_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_run_recipe_prepare_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
net_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  RecipeJob *job = data;
  GError *error = NULL;
  g_autofree char *weights = NULL;

  g_autoptr(KilnNetSpec) imported = NULL;

  weights = resolve_weights (&job->recipe, job->project_dir, MAX (job->n_classes, 1), NULL, &imported, &error);
  if (job->recipe.weights != NULL && weights == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_autoptr(KilnNetSpec) spec = make_spec (&job->recipe, job->n_classes, weights, imported, &error);
  if (spec != NULL && job->n_classes > 0)
    {
      const KilnLayerShape *out = kiln_net_spec_get_shape (spec, kiln_net_spec_get_n_layers (spec) - 1);
      if ((guint) (out->c * out->h * out->w) != job->n_classes
          && (!kiln_net_spec_replace_top (spec, job->n_classes, &error) || !kiln_net_spec_infer_shapes (spec, &error)))
        g_clear_object (&spec);
    }
  if (spec == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&spec), g_object_unref);
}

void
kiln_run_recipe_get_net_async (const KilnRunRecipe *recipe, const char *project_dir, guint n_classes,
                               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = recipe_task (recipe, project_dir, NULL, cancellable, kiln_run_recipe_get_net_async,
                                       callback, user_data);

  ((RecipeJob *) g_task_get_task_data (task))->n_classes = n_classes;
  g_task_run_in_thread (task, net_thread);
}

KilnNetSpec *
kiln_run_recipe_get_net_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_run_recipe_get_net_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- choices ---- */

void
kiln_run_choices_free (KilnRunChoices *choices)
{
  if (choices == NULL)
    return;
  g_strfreev (choices->splits);
  g_clear_pointer (&choices->runs, g_ptr_array_unref);
  g_free (choices);
}

KilnRunChoices *
kiln_run_choices_load (const char *project_dir, GError **error)
{
  g_autoptr(KilnProject) store = kiln_project_open_dataset (project_dir, NULL, error);
  if (store == NULL)
    return NULL;
  g_autoptr(KilnRunChoices) choices = g_new0 (KilnRunChoices, 1);
  g_autoptr(KilnLabelSet) kept = kiln_project_get_label_set (store, NULL, NULL, NULL, error);
  if (kept == NULL || (choices->splits = kiln_project_list_splits (store, error)) == NULL)
    return NULL;
  choices->n_classes = kept->classes->len;
  g_autoptr(GPtrArray) runs = kiln_run_list (project_dir, error);
  if (runs == NULL)
    return NULL;
  choices->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_run_info_free);
  for (guint i = 0; i < runs->len; i++)
    {
      KilnRunInfo *info = runs->pdata[i];
      g_autofree char *checkpoint = info->problem ? NULL : kiln_run_find_checkpoint (info->dir, TRUE, NULL, NULL);
      if (checkpoint != NULL)
        g_ptr_array_add (choices->runs, g_ptr_array_steal_index (runs, i--));
    }
  return g_steal_pointer (&choices);
}

static void
choices_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  KilnRunChoices *choices = kiln_run_choices_load (data, &error);

  if (choices == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, choices, (GDestroyNotify) kiln_run_choices_free);
}

void
kiln_run_choices_load_async (const char *project_dir, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, kiln_run_choices_load_async);
  g_task_set_task_data (task, g_strdup (project_dir), g_free);
  g_task_run_in_thread (task, choices_thread);
}

KilnRunChoices *
kiln_run_choices_load_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_run_choices_load_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
