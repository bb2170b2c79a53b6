#include "kiln-training-setup.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>

#include "kiln-json-text.h"
#include "kiln-cache-policy.h"
#include "kiln-dataset.h"
#include "kiln-error.h"
#include "kiln-labels.h"
#include "kiln-run-device.h"
#include "kiln-trainer-private.h"
#include "kiln-project-dataset.h"
#include "kiln-safetensors.h"
#include "kiln-trainer-checkpoint.h"
#include "kiln-trainer-private.h"
#include "kiln-training-weights.h"

void
kiln_training_setup_init (KilnTrainingSetup *setup)
{
  *setup = (KilnTrainingSetup) {
    .resize = KILN_RESIZE_SQUASH,
    .val_fraction = 0.1,
    .split_seed = 1,
  };
}

static gboolean
decode_for_cache (const char *path, guint8 *chw, gpointer user_data, GError **error)
{
  return kiln_image_load_u8 (path, user_data, chw, NULL, error);
}

char *
kiln_training_cache_path (const char *project_dir, const KilnImageSpec *spec)
{
  g_autofree char *name = g_strdup_printf ("images-%dx%dx%d-%s.kilncache", spec->height, spec->width,
                                           (int) spec->channels, kiln_resize_mode_to_string (spec->mode));
  g_autofree char *caches = kiln_cache_dir (project_dir);
  return g_build_filename (caches, name, NULL);
}

KilnTensorCache *
kiln_training_build_cache (const char *cache_path, const char *images_root, KilnLabelSet *const *sets, guint n_sets,
             KilnImageSpec *spec, KilnProgress *progress, GError **error)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint s = 0; s < n_sets; s++)
    for (guint i = 0; i < sets[s]->paths->len; i++)
      g_ptr_array_add (paths, g_build_filename (images_root, sets[s]->paths->pdata[i], NULL));
  g_ptr_array_add (paths, NULL);
  return kiln_tensor_cache_build (cache_path, (const char *const *) paths->pdata, paths->len - 1,
                                  spec->channels, spec->height, spec->width,
                                  decode_for_cache, spec, progress, error);
}

/* Indices of valid cache entries [first, first + set size) and their
 * labels; @used (optional) receives the images that decoded. */
static void
collect (KilnTensorCache *cache, KilnLabelSet *set, guint first, GArray *indices, GArray *labels,
         JsonArray *skipped, KilnLabelSet *used)
{
  for (guint i = 0; i < set->paths->len; i++)
    {
      guint entry = first + i;
      if (!kiln_tensor_cache_is_valid (cache, entry))
        {
          json_array_add_string_element (skipped, set->paths->pdata[i]);
          continue;
        }
      g_array_append_val (indices, entry);
      g_array_append_val (labels, g_array_index (set->labels, int, i));
      if (used != NULL)
        kiln_label_set_add (used, set->paths->pdata[i], g_array_index (set->labels, int, i));
    }
}

static KilnMeanImage *
mean_from_cache (KilnTensorCache *cache, GArray *indices, const KilnImageSpec *spec, KilnLabelSet *used)
{
  gsize n = kiln_image_spec_size (spec);
  g_autofree double *sum = g_new0 (double, n);
  KilnMeanImage *mean = g_new0 (KilnMeanImage, 1);
  gsize plane = (gsize) spec->width * spec->height;

  for (guint i = 0; i < indices->len; i++)
    {
      const guint8 *pixels = kiln_tensor_cache_get (cache, g_array_index (indices, guint, i));
      for (gsize k = 0; k < n; k++)
        sum[k] += pixels[k];
    }
  mean->spec = *spec;
  mean->mean = g_new (float, n);
  for (gsize k = 0; k < n; k++)
    mean->mean[k] = indices->len ? sum[k] / indices->len : 0;
  /* Per-channel mean and std over every pixel of every image. */
  for (int c = 0; c < (int) spec->channels; c++)
    {
      double s = 0, s2 = 0;
      for (guint i = 0; i < indices->len; i++)
        {
          const guint8 *p = kiln_tensor_cache_get (cache, g_array_index (indices, guint, i)) + c * plane;
          for (gsize k = 0; k < plane; k++)
            s += p[k], s2 += (double) p[k] * p[k];
        }
      double count = (double) plane * MAX (indices->len, 1);
      mean->channel_mean[c] = s / count;
      mean->channel_std[c] = sqrt (MAX (0.0, s2 / count - mean->channel_mean[c] * mean->channel_mean[c]));
    }
  mean->used = used;
  mean->skipped = kiln_label_set_new ();
  return mean;
}

static int
spec_outputs (KilnNetSpec *spec, GError **error)
{
  if (!kiln_net_spec_infer_shapes (spec, error))
    return -1;
  guint n = kiln_net_spec_get_n_layers (spec);
  if (n == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "The network has no layers");
      return -1;
    }
  const KilnLayerShape *out = kiln_net_spec_get_shape (spec, n - 1);
  return out->c * out->h * out->w;
}

static JsonObject *
image_spec_to_json (const KilnImageSpec *spec)
{
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "width", spec->width);
  json_object_set_int_member (o, "height", spec->height);
  json_object_set_int_member (o, "channels", spec->channels);
  json_object_set_string_member (o, "resize", kiln_resize_mode_to_string (spec->mode));
  return o;
}

gboolean
kiln_training_config_get_image_spec (JsonObject *config, KilnImageSpec *spec, GError **error)
{
  JsonNode *node = json_object_get_member (config, "image");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  JsonObject *o = json_node_get_object (node);
  *spec = (KilnImageSpec) {
    .width = json_object_get_int_member_with_default (o, "width", 0),
    .height = json_object_get_int_member_with_default (o, "height", 0),
    .channels = json_object_get_int_member_with_default (o, "channels", 0),
  };
  if (spec->width <= 0 || spec->height <= 0 || spec->width > 8192 || spec->height > 8192 ||
      (spec->channels != KILN_CHANNELS_GRAY && spec->channels != KILN_CHANNELS_RGB) ||
      !kiln_resize_mode_from_string (json_object_get_string_member_with_default (o, "resize", ""), &spec->mode))
    goto bad;
  return TRUE;
bad:
  g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
               "The run's config.json has no valid \"image\" section (width, height, channels 1 or 3, resize)");
  return FALSE;
}

gboolean
kiln_training_config_get_net (JsonObject *config, KilnNetSpec **spec, KilnTrainerOptions *options, GError **error)
{
  JsonNode *spec_node = json_object_get_member (config, "spec");
  JsonNode *options_node = json_object_get_member (config, "options");

  if (spec_node == NULL || options_node == NULL || !JSON_NODE_HOLDS_OBJECT (options_node))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "The run's config.json lacks its \"spec\" or \"options\"");
      return FALSE;
    }
  g_autoptr(KilnNetSpec) net = kiln_net_spec_new_from_json (spec_node, error);
  if (net == NULL)
    return FALSE;
  kiln_trainer_options_init (options);
  if (!kiln_trainer_options_from_json (options, json_node_get_object (options_node), error))
    {
      kiln_trainer_options_clear (options);
      return FALSE;
    }
  *spec = g_steal_pointer (&net);
  return TRUE;
}

JsonObject *
kiln_training_read_config (const char *run_dir, GError **error)
{
  g_autofree char *path = g_build_filename (run_dir, "config.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_file (parser, path, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "format", ""),
                 KILN_RUN_CONFIG_FORMAT) != 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s is not a Kiln run configuration (format %s)", path, KILN_RUN_CONFIG_FORMAT);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

KilnLabelSet *
kiln_training_read_subset (const char *run_dir, const char *subset, char **images_root, GError **error)
{
  g_autoptr(JsonObject) config = kiln_training_read_config (run_dir, error);
  if (config == NULL)
    return NULL;
  g_autofree char *name = g_strconcat (subset, ".txt", NULL);
  g_autofree char *path = g_build_filename (run_dir, name, NULL);
  g_autofree char *classes = g_build_filename (run_dir, "labels.txt", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s has no %s: it was trained before Kiln recorded the held-out subsets; train again",
                   run_dir, name);
      return NULL;
    }
  KilnLabelSet *set = kiln_labels_read (path, classes, error);
  if (set != NULL && images_root != NULL)
    *images_root = g_strdup (json_object_get_string_member_with_default (config, "images_root", "."));
  return set;
}

GArray *
kiln_training_read_subset_ids (const char *run_dir, const char *subset, GError **error)
{
  g_autofree char *path = g_build_filename (run_dir, KILN_RUN_SPLIT_IDS_FILE, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s: %s; the run was trained before Kiln recorded its images' ids: train again",
                   path, local->message);
      return NULL;
    }
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_auto(GStrv) fields = g_strsplit (lines[i], "\t", 3);
      char *end = NULL;
      gint64 id = fields[0] ? g_ascii_strtoll (fields[0], &end, 10) : 0;
      if (g_strv_length (fields) != 3 || end == fields[0] || *end != '\0')
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s, line %u: expected “id<TAB>subset<TAB>path”",
                       path, i + 1);
          return NULL;
        }
      if (g_str_equal (fields[1], subset))
        g_array_append_val (ids, id);
    }
  return g_steal_pointer (&ids);
}

/* Deletes a run folder a failed start made: only what prepare writes
 * there (files, and the empty checkpoints/ folder). */
static void
kiln_training_remove_run_folder (const char *run_dir)
{
  const char *sub[] = { "checkpoints", NULL };
  g_autoptr(GDir) dir = g_dir_open (run_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (run_dir, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        g_unlink (path);
    }
  for (guint i = 0; sub[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (run_dir, sub[i], NULL);
      g_rmdir (path);
    }
  g_rmdir (run_dir);
}

/* Fills @mean with the per-channel means stored in the checkpoint
 * @weights, when it has as many as the image has channels. */
static gboolean
use_pretrained_mean (const char *weights, KilnMeanImage *mean, const KilnImageSpec *image)
{
  g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (weights, NULL);
  const char *text = file ? kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_MEAN_KEY) : NULL;
  if (text == NULL)
    return FALSE;
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  int channels = (int) image->channels;
  if ((int) g_strv_length (parts) != channels)
    return FALSE;
  gsize plane = (gsize) image->width * image->height;
  for (int c = 0; c < channels; c++)
    {
      float value = (float) g_ascii_strtod (parts[c], NULL);
      for (gsize k = 0; k < plane; k++)
        mean->mean[c * plane + k] = value;
      mean->channel_mean[c] = value;
    }
  return TRUE;
}

/* One line per image of the run's split: store id, subset, path. */
static gboolean
write_split_ids (const char *path, KilnLabelSet *const *sets, GArray *const *ids, const char *const *names,
                 guint n_sets, GError **error)
{
  g_autoptr(GString) text = g_string_new ("# image id\tsubset\tpath (relative to the project)\n");
  for (guint s = 0; s < n_sets; s++)
    for (guint i = 0; i < ids[s]->len; i++)
      g_string_append_printf (text, "%" G_GINT64_FORMAT "\t%s\t%s\n", g_array_index (ids[s], gint64, i),
                              names[s], (const char *) sets[s]->paths->pdata[i]);
  return g_file_set_contents (path, text->str, text->len, error);
}

KilnTrainer *
kiln_training_prepare (const char *project_dir, KilnNetSpec *spec, const KilnTrainerOptions *options,
                       const KilnTrainingSetup *setup, KilnProgress *progress, GError **error)
{
  GCancellable *cancellable = progress ? kiln_progress_get_cancellable (progress) : NULL;
  g_autoptr(KilnProject) project = kiln_project_open_dataset (project_dir, cancellable, error);
  if (project == NULL)
    return NULL;
  /* Paths in the store, and so in the run's label files, are relative to
   * the project folder ("images/cat/1.jpg"). */
  const char *images_root = kiln_project_get_path (project);

  /* The split: the one named, else the project's current one, else a new
   * one made as the setup says and kept in the store for the next run. */
  KilnSplitSpec split = { 0 };
  kiln_split_spec_init (&split);
  split.fractions[1] = setup->val_fraction;
  split.fractions[0] = MAX (0.0, 1.0 - split.fractions[1] - split.fractions[2]);
  split.max_per_class = setup->max_per_class;
  split.seed = setup->split_seed;
  gboolean split_created = FALSE;
  g_autofree char *split_name = kiln_dataset_ensure_split (project, setup->split, &split, &split_created, error);
  if (split_name == NULL)
    return NULL;
  guint64 split_seed = 0;
  g_autoptr(GHashTable) assignment = kiln_project_get_split (project, split_name, &split_seed, error);
  if (assignment == NULL)
    return NULL;

  g_autoptr(GArray) train_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) val_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) test_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) kept_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(KilnLabelSet) train_set = kiln_project_get_label_set (project, split_name, "train", train_ids, error);
  g_autoptr(KilnLabelSet) val_set = train_set ? kiln_project_get_label_set (project, split_name, "val", val_ids, error) : NULL;
  g_autoptr(KilnLabelSet) test_set = val_set ? kiln_project_get_label_set (project, split_name, "test", test_ids, error) : NULL;
  g_autoptr(KilnLabelSet) kept = test_set ? kiln_project_get_label_set (project, NULL, NULL, kept_ids, error) : NULL;
  if (kept == NULL)
    return NULL;
  /* Kept images the split has never seen (gathered or copied in after it
   * was made) are not trained on; the run says how many. */
  guint outside = 0;
  for (guint i = 0; i < kept_ids->len; i++)
    outside += !g_hash_table_contains (assignment, &g_array_index (kept_ids, gint64, i));

  if (train_set->classes->len < 2)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s has %u class%s with kept images; a classifier needs at least two (put one folder "
                   "of images per class under images/)", project_dir,
                   train_set->classes->len, train_set->classes->len == 1 ? "" : "es");
      return NULL;
    }
  if (train_set->paths->len == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "The split “%s” of %s has no training images; make a new one with kiln-cli split",
                   split_name, project_dir);
      return NULL;
    }
  /* Everything that can be refused is refused before a run folder exists. */
  g_autofree char *weights = NULL;
  g_autofree char *weights_from = NULL;
  if (setup->initial_weights != NULL
      && (weights = kiln_training_resolve_weights (project_dir, setup->initial_weights, &weights_from, error)) == NULL)
    return NULL;
  int n_frozen = kiln_net_spec_get_n_frozen (spec);
  if (n_frozen > 0 && weights == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Freezing layers up to %s without pretrained weights would train on frozen random "
                   "filters; give the weights to start from (--weights), or freeze nothing",
                   kiln_net_spec_get_layer (spec, n_frozen - 1)->name);
      return NULL;
    }
  if ((guint) options->batch_size > train_set->paths->len)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "A batch of %d is larger than the %u training images of the split “%s”; use a batch "
                   "of %u or fewer", options->batch_size, train_set->paths->len, split_name,
                   train_set->paths->len);
      return NULL;
    }
  int outputs = spec_outputs (spec, error);
  if (outputs < 0)
    return NULL;
  /* Fine-tuning a model made for other classes: a fresh top layer. */
  g_autoptr(KilnNetSpec) adapted = kiln_net_spec_copy (spec);
  gboolean replaced_top = (guint) outputs != train_set->classes->len;
  if (replaced_top && !kiln_net_spec_replace_top (adapted, train_set->classes->len, error))
    return NULL;
  spec = adapted;

  /* The device, and whether the run fits it, before anything is decoded. */
  g_autofree char *device_reason = NULL;
  g_autofree char *device = kiln_run_device_check (options->device, spec, options, NULL, &device_reason, error);
  if (device == NULL)
    return NULL;

  /* Cache. */
  int in_c, in_h, in_w;
  kiln_net_spec_get_input (spec, &in_c, &in_h, &in_w);
  KilnImageSpec image = {
    .width = setup->cache_width > 0 ? setup->cache_width : in_w,
    .height = setup->cache_height > 0 ? setup->cache_height : in_h,
    .channels = in_c == 1 ? KILN_CHANNELS_GRAY : KILN_CHANNELS_RGB,
    .mode = setup->resize,
  };
  if (in_c != 1 && in_c != 3)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "The network takes %d input channels; Kiln feeds images as 1 (gray) or 3 (RGB)", in_c);
      return NULL;
    }
  g_autofree char *cache_path = kiln_training_cache_path (project_dir, &image);
  KilnLabelSet *parts[] = { train_set, val_set };
  g_autoptr(KilnTensorCache) cache = kiln_training_build_cache (cache_path, images_root, parts, 2, &image, progress, error);
  if (cache == NULL)
    return NULL;

  g_autoptr(GArray) train_idx = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) train_labels = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GArray) val_idx = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) val_labels = g_array_new (FALSE, FALSE, sizeof (int));
  JsonArray *skipped = json_array_new ();
  KilnLabelSet *decoded = kiln_label_set_new ();
  for (guint c = 0; c < train_set->classes->len; c++)
    g_ptr_array_add (decoded->classes, g_strdup (train_set->classes->pdata[c]));
  collect (cache, train_set, 0, train_idx, train_labels, skipped, decoded);
  collect (cache, val_set, train_set->paths->len, val_idx, val_labels, skipped, NULL);
  /* The mean's image list is exactly what training decodes. */
  g_autoptr(KilnMeanImage) mean = mean_from_cache (cache, train_idx, &image, decoded);
  /* Pretrained filters expect the inputs they were trained on: keep the
   * checkpoint's per-channel means unless asked to recompute them. */
  gboolean mean_pretrained = weights != NULL && !setup->recompute_mean
                             && use_pretrained_mean (weights, mean, &image);
  if (train_idx->len == 0)
    {
      json_array_unref (skipped);
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "None of the training images in %s could be decoded; run kiln-cli inspect", project_dir);
      return NULL;
    }

  /* The run folder. */
  g_autoptr(JsonObject) config = json_object_new ();
  g_autoptr(JsonNode) spec_node = kiln_net_spec_to_json (spec);
  g_autofree char *seed_text = g_strdup_printf ("%" G_GUINT64_FORMAT, split_seed);
  JsonObject *split_json = json_object_new ();
  JsonArray *classes = json_array_new ();
  json_object_set_string_member (config, "format", KILN_RUN_CONFIG_FORMAT);
  json_object_set_string_member (config, "project", project_dir);
  json_object_set_string_member (config, "images_root", images_root);
  json_object_set_string_member (config, "cache", cache_path);
  json_object_set_object_member (config, "options", kiln_trainer_options_to_json (options));
  json_object_set_member (config, "spec", json_node_copy (spec_node));
  json_object_set_object_member (config, "image", image_spec_to_json (&image));
  for (guint i = 0; i < train_set->classes->len; i++)
    json_array_add_string_element (classes, train_set->classes->pdata[i]);
  json_object_set_array_member (config, "classes", classes);
  json_object_set_string_member (split_json, "name", split_name);
  json_object_set_boolean_member (split_json, "created_for_this_run", split_created);
  json_object_set_string_member (split_json, "seed", seed_text);
  json_object_set_int_member (split_json, "train", train_idx->len);
  json_object_set_int_member (split_json, "val", val_idx->len);
  json_object_set_int_member (split_json, "test", test_set->paths->len);
  json_object_set_int_member (split_json, "kept_outside_split", outside);
  json_object_set_string_member (split_json, "ids", KILN_RUN_SPLIT_IDS_FILE);
  json_object_set_object_member (config, "split", split_json);
  if (weights != NULL)
    {
      json_object_set_string_member (config, "initial_weights", weights);
      json_object_set_string_member (config, "initial_weights_from",
                                     setup->initial_weights_from ? setup->initial_weights_from : weights_from);
    }
  else
    json_object_set_null_member (config, "initial_weights");
  json_object_set_string_member (config, "mean", mean_pretrained ? "pretrained" : "computed");

  g_autofree char *runs_dir = g_build_filename (project_dir, "runs", NULL);
  g_autoptr(KilnRun) run = kiln_run_create (runs_dir, setup->run_id, config, error);
  if (run == NULL)
    {
      json_array_unref (skipped);
      return NULL;
    }
  /* A block, so that a failure jumps out of the scope of what it made. */
  {
    const char *run_dir = kiln_run_get_dir (run);
    g_autofree char *labels_txt = g_build_filename (run_dir, "labels.txt", NULL);
    g_autofree char *train_txt = g_build_filename (run_dir, "train.txt", NULL);
    g_autofree char *val_txt = g_build_filename (run_dir, "val.txt", NULL);
    g_autofree char *test_txt = g_build_filename (run_dir, "test.txt", NULL);
    g_autofree char *ids_tsv = g_build_filename (run_dir, KILN_RUN_SPLIT_IDS_FILE, NULL);
    KilnLabelSet *subsets[] = { train_set, val_set, test_set };
    GArray *subset_ids[] = { train_ids, val_ids, test_ids };
    const char *subset_names[] = { "train", "val", "test" };
    if (!kiln_labels_write (train_set, train_txt, labels_txt, error) ||
        !kiln_labels_write (val_set, val_txt, NULL, error) ||
        !kiln_labels_write (test_set, test_txt, NULL, error) ||
        !write_split_ids (ids_tsv, subsets, subset_ids, subset_names, G_N_ELEMENTS (subsets), error))
      {
        json_array_unref (skipped);
        goto failed;
      }
    g_autoptr(JsonObject) fields = json_object_new ();
    json_object_set_array_member (fields, "images", skipped);
    if (json_array_get_length (skipped) > 0 && !kiln_run_append_event (run, "undecodable-images", fields, error))
      goto failed;
    if (outside > 0)
      {
        g_autoptr(JsonObject) note = json_object_new ();
        json_object_set_string_member (note, "split", split_name);
        json_object_set_int_member (note, "images", outside);
        if (!kiln_run_append_event (run, "images-outside-split", note, error))
          goto failed;
      }
    if (replaced_top)
      {
        g_autoptr(JsonObject) top = json_object_new ();
        json_object_set_int_member (top, "from_outputs", outputs);
        json_object_set_int_member (top, "to_classes", train_set->classes->len);
        if (!kiln_run_append_event (run, "top-layer-replaced", top, error))
          goto failed;
      }

    if (!kiln_mean_image_save (mean, run_dir, error))
      goto failed;
  }

  KilnTrainer *trainer = kiln_trainer_new (run, spec, options);
  kiln_trainer_set_device (trainer, device, device_reason);
  kiln_trainer_set_train_data (trainer, cache, (guint *) train_idx->data, (int *) train_labels->data, train_idx->len);
  kiln_trainer_set_val_data (trainer, cache, (guint *) val_idx->data, (int *) val_labels->data, val_idx->len);
  kiln_trainer_set_mean (trainer, mean->mean, kiln_image_spec_size (&image));
  if (weights != NULL)
    kiln_trainer_set_initial_weights (trainer, weights);
  kiln_trainer_take_cache (trainer, g_steal_pointer (&cache));
  return trainer;

failed:
  /* A start that failed after making its folder leaves nothing behind
   * that the runs list would show as a dead run. */
  kiln_training_remove_run_folder (kiln_run_get_dir (run));
  return NULL;
}

KilnTrainer *
kiln_training_prepare_resume (const char *run_dir, KilnProgress *progress, GError **error)
{
  return kiln_training_prepare_resume_on (run_dir, NULL, progress, error);
}

KilnTrainer *
kiln_training_prepare_resume_on (const char *run_dir, const char *device_name, KilnProgress *progress,
                                 GError **error)
{
  g_autoptr(JsonObject) config = kiln_training_read_config (run_dir, error);
  KilnImageSpec image;

  if (config == NULL || !kiln_training_config_get_image_spec (config, &image, error))
    return NULL;
  const char *images_root = json_object_get_string_member_with_default (config, "images_root", NULL);
  const char *cache_path = json_object_get_string_member_with_default (config, "cache", NULL);
  if (images_root == NULL || cache_path == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s/config.json lacks images_root or cache; the run cannot be resumed", run_dir);
      return NULL;
    }
  g_autoptr(KilnNetSpec) spec = NULL;
  KilnTrainerOptions options;
  if (!kiln_training_config_get_net (config, &spec, &options, error))
    return NULL;
  /* A checkpoint resumes on any device; the run keeps the one it chose. */
  g_autofree char *device_reason = NULL;
  g_autofree char *device = kiln_run_device_check (device_name ? device_name : options.device, spec, &options,
                                                   NULL, &device_reason, error);
  if (device == NULL)
    {
      kiln_trainer_options_clear (&options);
      return NULL;
    }

  g_autofree char *labels_txt = g_build_filename (run_dir, "labels.txt", NULL);
  g_autofree char *train_txt = g_build_filename (run_dir, "train.txt", NULL);
  g_autofree char *val_txt = g_build_filename (run_dir, "val.txt", NULL);
  g_autoptr(KilnLabelSet) train_set = kiln_labels_read (train_txt, labels_txt, error);
  g_autoptr(KilnLabelSet) val_set = train_set ? kiln_labels_read (val_txt, labels_txt, error) : NULL;
  if (val_set == NULL)
    {
      kiln_trainer_options_clear (&options);
      return NULL;
    }
  KilnLabelSet *parts[] = { train_set, val_set };
  g_autoptr(KilnTensorCache) cache = kiln_training_build_cache (cache_path, images_root, parts, 2, &image, progress, error);
  if (cache == NULL)
    {
      kiln_trainer_options_clear (&options);
      return NULL;
    }
  g_autoptr(GArray) train_idx = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) train_labels = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GArray) val_idx = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) val_labels = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(JsonArray) skipped = json_array_new ();
  collect (cache, train_set, 0, train_idx, train_labels, skipped, NULL);
  collect (cache, val_set, train_set->paths->len, val_idx, val_labels, skipped, NULL);

  g_autofree char *mean_path = g_build_filename (run_dir, "mean.f32", NULL);
  gsize n_mean = kiln_image_spec_size (&image);
  g_autofree float *mean = kiln_mean_image_load_f32 (mean_path, n_mean, error);
  if (mean == NULL)
    {
      kiln_trainer_options_clear (&options);
      return NULL;
    }

  /* Find the checkpoint first, then reopen the logs trimmed to it. */
  g_autoptr(KilnRun) probe = kiln_run_open (run_dir, -1, error);
  if (probe == NULL)
    {
      kiln_trainer_options_clear (&options);
      return NULL;
    }
  gint64 iteration = 0;
  g_autofree char *checkpoint = kiln_run_get_latest_checkpoint (probe, &iteration);
  g_clear_object (&probe);
  g_autoptr(KilnRun) run = kiln_run_open (run_dir, checkpoint ? iteration : 0, error);
  if (run == NULL)
    {
      kiln_trainer_options_clear (&options);
      return NULL;
    }

  KilnTrainer *trainer = kiln_trainer_new (run, spec, &options);
  kiln_trainer_options_clear (&options);
  kiln_trainer_set_device (trainer, device, device_reason);
  kiln_trainer_set_train_data (trainer, cache, (guint *) train_idx->data, (int *) train_labels->data, train_idx->len);
  kiln_trainer_set_val_data (trainer, cache, (guint *) val_idx->data, (int *) val_labels->data, val_idx->len);
  kiln_trainer_set_mean (trainer, mean, n_mean);
  if (checkpoint != NULL)
    kiln_trainer_set_resume (trainer, checkpoint);
  else
    {
      const char *weights = json_object_get_string_member_with_default (config, "initial_weights", NULL);
      if (weights)
        kiln_trainer_set_initial_weights (trainer, weights);
    }
  kiln_trainer_take_cache (trainer, g_steal_pointer (&cache));
  return trainer;
}

gboolean
kiln_training_extend_epochs (const char  *run_dir,
                             int          epochs,
                             gboolean    *extended,
                             GError     **error)
{
  g_autoptr(JsonObject) config = kiln_training_read_config (run_dir, error);
  if (extended)
    *extended = FALSE;
  if (config == NULL)
    return FALSE;
  JsonNode *node = json_object_get_member (config, "options");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s/config.json lacks its \"options\"", run_dir);
      return FALSE;
    }
  JsonObject *options = json_node_get_object (node);
  gint64 before = json_object_get_int_member_with_default (options, "epochs", 0);
  if (epochs == before)
    return TRUE;
  if (epochs < before)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s was set to train %" G_GINT64_FORMAT " epochs; a resume can add epochs, not take "
                   "them away (stop it early with Ctrl-C instead)", run_dir, before);
      return FALSE;
    }
  /* The run's record changes first, then its log says so: a resume that
   * reads the config always sees the epochs it will train. */
  json_object_set_int_member (options, "epochs", epochs);
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), config);
  g_autofree char *text = kiln_json_to_text (root, TRUE);
  g_autofree char *path = g_build_filename (run_dir, "config.json", NULL);
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, error))
    return FALSE;
  g_autoptr(KilnRun) run = kiln_run_open (run_dir, -1, error);
  g_autoptr(JsonObject) fields = json_object_new ();
  json_object_set_int_member (fields, "from", before);
  json_object_set_int_member (fields, "to", epochs);
  if (run == NULL || !kiln_run_append_event (run, "epochs-extended", fields, error))
    return FALSE;
  if (extended)
    *extended = TRUE;
  return TRUE;
}

/* ---- _async/_finish: the functions above on a GTask thread ---- */

typedef struct {
  char *project_dir;             /* a new run, or */
  char *run_dir;                 /* a resumed one */
  char *device;                  /* the resumed run's device for this session, or NULL */
  KilnNetSpec *spec;
  KilnTrainerOptions options;
  KilnTrainingSetup setup;       /* its strings point at the three below */
  char *split;
  char *initial_weights;
  char *initial_weights_from;
  char *run_id;
  KilnProgress *progress;
} PrepareJob;

static void
prepare_job_free (PrepareJob *job)
{
  g_free (job->project_dir);
  g_free (job->run_dir);
  g_free (job->device);
  g_clear_object (&job->spec);
  kiln_trainer_options_clear (&job->options);
  g_free (job->split);
  g_free (job->initial_weights);
  g_free (job->initial_weights_from);
  g_free (job->run_id);
  g_clear_object (&job->progress);
  g_free (job);
}

static void
cancel_progress (GCancellable *cancellable, KilnProgress *progress)
{
  g_cancellable_cancel (kiln_progress_get_cancellable (progress));
}

static void
prepare_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PrepareJob *job = data;
  g_autoptr(KilnProgress) own_progress = NULL;
  KilnProgress *progress = job->progress;
  GError *error = NULL;
  gulong handler = 0;

  /* The blocking functions stop when the progress's cancellable is cancelled. */
  if (cancellable != NULL)
    {
      if (progress == NULL)
        progress = own_progress = kiln_progress_new ("training setup");
      if (cancellable != kiln_progress_get_cancellable (progress))
        handler = g_cancellable_connect (cancellable, G_CALLBACK (cancel_progress), progress, NULL);
    }
  KilnTrainer *trainer = job->run_dir != NULL
    ? kiln_training_prepare_resume_on (job->run_dir, job->device, progress, &error)
    : kiln_training_prepare (job->project_dir, job->spec, &job->options, &job->setup, progress, &error);
  g_cancellable_disconnect (cancellable, handler);
  if (trainer == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* It was made on this pool thread; it signals where the caller is. */
  kiln_trainer_set_context (trainer, g_task_get_context (task));
  g_task_return_pointer (task, trainer, g_object_unref);
}

static void
run_prepare (PrepareJob *job, KilnProgress *progress, GCancellable *cancellable, gpointer source_tag,
             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  job->progress = progress ? g_object_ref (progress) : NULL;
  g_task_set_task_data (task, job, (GDestroyNotify) prepare_job_free);
  g_task_run_in_thread (task, prepare_thread);
}

void
kiln_training_prepare_async (const char *project_dir, KilnNetSpec *spec, const KilnTrainerOptions *options,
                             const KilnTrainingSetup *setup, KilnProgress *progress, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  PrepareJob *job = g_new0 (PrepareJob, 1);

  job->project_dir = g_strdup (project_dir);
  job->spec = kiln_net_spec_copy (spec);
  job->options = *options;
  job->options.device = g_strdup (options->device);
  job->setup = *setup;
  job->setup.split = job->split = g_strdup (setup->split);
  job->setup.initial_weights = job->initial_weights = g_strdup (setup->initial_weights);
  job->setup.initial_weights_from = job->initial_weights_from = g_strdup (setup->initial_weights_from);
  job->setup.run_id = job->run_id = g_strdup (setup->run_id);
  run_prepare (job, progress, cancellable, kiln_training_prepare_async, callback, user_data);
}

KilnTrainer *
kiln_training_prepare_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_training_prepare_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
kiln_training_prepare_resume_async (const char *run_dir, KilnProgress *progress, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  kiln_training_prepare_resume_on_async (run_dir, NULL, progress, cancellable, callback, user_data);
}

void
kiln_training_prepare_resume_on_async (const char *run_dir, const char *device, KilnProgress *progress,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  PrepareJob *job = g_new0 (PrepareJob, 1);

  job->run_dir = g_strdup (run_dir);
  job->device = g_strdup (device);
  run_prepare (job, progress, cancellable, kiln_training_prepare_resume_async, callback, user_data);
}

KilnTrainer *
kiln_training_prepare_resume_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_training_prepare_resume_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
