#include "kiln-trainer-checkpoint.h"

#include <math.h>

#include "kiln-checkpoint.h"
#include "kiln-error.h"
#include "kiln-json-text.h"
#include "kiln-onnx-export.h"

#define CHECKPOINT_FORMAT "kiln-checkpoint-1"

gboolean
kiln_trainer_checkpoint_save (KilnTrainerWorker *w, double val_accuracy, char **path_out, GError **error)
{
  g_autofree char *path = kiln_run_checkpoint_path (w->run, w->iteration);
  g_autoptr(GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(JsonNode) spec_node = kiln_net_spec_to_json (w->spec);
  g_autofree char *spec_json = kiln_json_to_text (spec_node, FALSE);

  g_hash_table_insert (meta, "kiln.format", g_strdup (CHECKPOINT_FORMAT));
  g_hash_table_insert (meta, "kiln.iteration", g_strdup_printf ("%" G_GINT64_FORMAT, w->iteration));
  g_hash_table_insert (meta, "kiln.epoch", g_strdup_printf ("%" G_GINT64_FORMAT, w->iteration / w->batches_per_epoch));
  g_hash_table_insert (meta, "kiln.net_step", g_strdup_printf ("%" G_GINT64_FORMAT, kiln_net_get_step (w->net)));
  g_hash_table_insert (meta, "kiln.loader_position",
                       g_strdup_printf ("%" G_GUINT64_FORMAT, kiln_batch_loader_get_position (w->train_loader)));
  g_hash_table_insert (meta, "kiln.optimizer_iteration",
                       g_strdup_printf ("%" G_GINT64_FORMAT, kiln_optimizer_get_iteration (w->optimizer)));
  g_hash_table_insert (meta, "kiln.seed", g_strdup_printf ("%" G_GUINT64_FORMAT, w->options->seed));
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_hash_table_insert (meta, "kiln.best_val_accuracy",
                       g_strdup (g_ascii_dtostr (buf, sizeof buf, w->best_val_accuracy)));
  g_hash_table_insert (meta, "kiln.spec", g_steal_pointer (&spec_json));
  g_hash_table_insert (meta, "kiln.validation_pending", g_strdup (w->validation_pending ? "1" : "0"));
  if (w->input_name != NULL && w->output_name != NULL)
    {
      g_hash_table_insert (meta, KILN_CHECKPOINT_INPUT_NAME, g_strdup (w->input_name));
      g_hash_table_insert (meta, KILN_CHECKPOINT_OUTPUT_NAME, g_strdup (w->output_name));
    }
  if (w->mean != NULL)
    {
      int channels, height, width;
      kiln_net_spec_get_input (w->spec, &channels, &height, &width);
      gsize plane = channels > 0 ? w->mean_size / channels : 0;
      g_autoptr(GString) means = g_string_new (NULL);
      for (int c = 0; c < channels && plane > 0; c++)
        {
          double sum = 0;
          for (gsize k = 0; k < plane; k++)
            sum += w->mean[c * plane + k];
          g_string_append_printf (means, "%s%s", c ? "," : "", g_ascii_dtostr (buf, sizeof buf, sum / plane));
        }
      g_hash_table_insert (meta, KILN_CHECKPOINT_MEAN_KEY, g_string_free (g_steal_pointer (&means), FALSE));
    }

  KilnNet *nets[2];
  guint n_nets = 0;
  if (w->frozen != NULL)
    nets[n_nets++] = w->frozen;
  nets[n_nets++] = w->net;
  if (!kiln_checkpoint_save (nets, n_nets, path, kiln_optimizer_n_slots (w->optimizer), meta, error) ||
      !kiln_run_commit_checkpoint (w->run, w->iteration, val_accuracy, w->options->keep_checkpoints, error))
    return FALSE;
  w->last_checkpoint = w->iteration;

  g_autoptr(JsonObject) fields = json_object_new ();
  json_object_set_int_member (fields, "iteration", w->iteration);
  json_object_set_string_member (fields, "file", path);
  if (!kiln_run_append_event (w->run, "checkpoint", fields, error))
    return FALSE;

  *path_out = g_steal_pointer (&path);
  return TRUE;
}

static gboolean
parse_meta_int (KilnSafetensors *file, const char *key, gint64 *out, GError **error)
{
  const char *text = kiln_safetensors_get_metadata (file, key);
  if (text == NULL || !g_ascii_string_to_signed (text, 10, 0, G_MAXINT64, out, NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "The checkpoint has no valid “%s”; it cannot be resumed from", key);
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_trainer_checkpoint_restore (KilnTrainerWorker *w, GError **error)
{

  if (w->initial_weights != NULL)
    {
      g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (w->initial_weights, error);
      g_autoptr(GPtrArray) skipped = NULL;
      if (file == NULL)
        return FALSE;
      /* Frozen layers must come from the file: random frozen weights help nobody. */
      int frozen_loaded = w->frozen ? kiln_checkpoint_load (w->frozen, file, KILN_CHECKPOINT_LOAD_STRICT, NULL, error) : 0;
      if (frozen_loaded < 0)
        return FALSE;
      int loaded = kiln_checkpoint_load (w->net, file, KILN_CHECKPOINT_LOAD_MATCHING, &skipped, error);
      if (loaded < 0)
        return FALSE;
      loaded += frozen_loaded;
      g_free (w->input_name);
      g_free (w->output_name);
      w->input_name = g_strdup (kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_INPUT_NAME));
      w->output_name = g_strdup (kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_OUTPUT_NAME));
      if (loaded == 0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                       "No layer of %s fits this network; check that it is the model you meant to fine-tune",
                       w->initial_weights);
          return FALSE;
        }
      g_autoptr(JsonObject) fields = json_object_new ();
      json_object_set_string_member (fields, "file", w->initial_weights);
      json_object_set_int_member (fields, "loaded", loaded);
      JsonArray *fresh = json_array_new ();
      for (guint i = 0; i < skipped->len; i++)
        json_array_add_string_element (fresh, skipped->pdata[i]);
      json_object_set_array_member (fields, "freshly_initialised", fresh);
      if (!kiln_run_append_event (w->run, "initial-weights", fields, error))
        return FALSE;
    }

  if (w->resume_from != NULL)
    {
      g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (w->resume_from, error);
      gint64 iteration, step, position, opt_iteration;
      if (file == NULL)
        return FALSE;
      if (g_strcmp0 (kiln_safetensors_get_metadata (file, "kiln.format"), CHECKPOINT_FORMAT) != 0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s is not a Kiln training checkpoint; use it as initial weights instead", w->resume_from);
          return FALSE;
        }
      if (!parse_meta_int (file, "kiln.iteration", &iteration, error) ||
          !parse_meta_int (file, "kiln.net_step", &step, error) ||
          !parse_meta_int (file, "kiln.loader_position", &position, error) ||
          !parse_meta_int (file, "kiln.optimizer_iteration", &opt_iteration, error))
        return FALSE;
      if ((w->frozen && kiln_checkpoint_load (w->frozen, file, KILN_CHECKPOINT_LOAD_STRICT, NULL, error) < 0) ||
          kiln_checkpoint_load (w->net, file, KILN_CHECKPOINT_LOAD_STRICT | KILN_CHECKPOINT_LOAD_OPTIMIZER,
                                NULL, error) < 0)
        return FALSE;
      g_free (w->input_name);
      g_free (w->output_name);
      w->input_name = g_strdup (kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_INPUT_NAME));
      w->output_name = g_strdup (kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_OUTPUT_NAME));
      const char *best = kiln_safetensors_get_metadata (file, "kiln.best_val_accuracy");
      w->best_val_accuracy = best ? g_ascii_strtod (best, NULL) : NAN;
      w->validation_pending = g_strcmp0 (kiln_safetensors_get_metadata (file, "kiln.validation_pending"), "1") == 0;
      w->iteration = w->last_checkpoint = iteration;
      kiln_net_set_step (w->net, step);
      kiln_optimizer_set_iteration (w->optimizer, opt_iteration);
      w->resume_position = position;
      if (w->train_loader != NULL)
        kiln_batch_loader_seek (w->train_loader, position);

      g_autoptr(JsonObject) fields = json_object_new ();
      json_object_set_string_member (fields, "checkpoint", w->resume_from);
      json_object_set_int_member (fields, "iteration", iteration);
      if (!kiln_run_append_event (w->run, "resumed", fields, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
kiln_trainer_checkpoint_export_best (KilnTrainerWorker *w, GError **error)
{
  g_autofree char *best = kiln_run_get_best_checkpoint (w->run, NULL, NULL);
  if (best == NULL)
    best = kiln_run_get_latest_checkpoint (w->run, NULL);
  if (best == NULL)
    return TRUE;
  g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (best, error);
  if (file == NULL)
    return FALSE;
  /* The whole net, frozen part included, one image at a time. */
  g_autoptr(KilnNet) net = kiln_net_new (w->spec, w->backend, 1, w->options->seed, error);
  if (net == NULL || kiln_checkpoint_load (net, file, KILN_CHECKPOINT_LOAD_STRICT, NULL, error) < 0)
    return FALSE;
  g_autofree char *path = g_build_filename (kiln_run_get_dir (w->run), KILN_RUN_EXPORT_NAME, NULL);
  /* The input means travel with the model: a runtime needs them to feed
   * it what it was trained on. */
  const char *mean = kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_MEAN_KEY);
  const char *metadata[] = { KILN_CHECKPOINT_MEAN_KEY, mean, NULL };
  if (!kiln_onnx_export_full (net, path, kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_INPUT_NAME),
                              kiln_safetensors_get_metadata (file, KILN_CHECKPOINT_OUTPUT_NAME),
                              mean ? metadata : NULL, error))
    return FALSE;
  g_autoptr(JsonObject) fields = json_object_new ();
  json_object_set_string_member (fields, "file", path);
  json_object_set_string_member (fields, "from", best);
  return kiln_run_append_event (w->run, "exported", fields, error);
}
