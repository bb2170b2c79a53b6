/* kiln-training-weights.c: resolving --weights to one readable checkpoint. */
#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-model-import.h"
#include "kiln-run.h"
#include "kiln-safetensors.h"
#include "kiln-training-weights.h"

static char *
best_of_run (const char *run_dir, const char *weights, char **description, GError **error)
{
  gint64 iteration = 0;
  g_autoptr(GError) local_error = NULL;
  char *path = kiln_run_find_checkpoint (run_dir, TRUE, &iteration, &local_error);

  if (path == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "The run %s has no checkpoint to start from yet%s%s", weights,
                   local_error ? ": " : "", local_error ? local_error->message : "");
      return NULL;
    }
  if (description)
    *description = g_strdup_printf ("the best checkpoint of run %s (iteration %" G_GINT64_FORMAT "): %s",
                                    weights, iteration, path);
  return path;
}

static gboolean
is_run_folder (const char *dir)
{
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  return g_file_test (config, G_FILE_TEST_IS_REGULAR);
}

char *
kiln_training_resolve_weights (const char  *project_dir,
                               const char  *weights,
                               char       **description,
                               GError     **error)
{
  g_return_val_if_fail (weights != NULL, NULL);

  if (description)
    *description = NULL;
  if (g_file_test (weights, G_FILE_TEST_IS_DIR))
    {
      if (!is_run_folder (weights))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "%s is a folder but not a training run (no config.json); give a run folder, "
                       "a run id or a .safetensors checkpoint", weights);
          return NULL;
        }
      return best_of_run (weights, weights, description, error);
    }
  if (!g_file_test (weights, G_FILE_TEST_EXISTS) && project_dir != NULL && strchr (weights, '/') == NULL)
    {
      g_autofree char *run_dir = g_build_filename (project_dir, "runs", weights, NULL);
      if (is_run_folder (run_dir))
        return best_of_run (run_dir, weights, description, error);
    }
  if (!g_file_test (weights, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is neither a file, a run folder nor a run of %s; give a run folder, a run id "
                   "or a .safetensors checkpoint", weights, project_dir ? project_dir : "this project");
      return NULL;
    }
  if (kiln_model_import_is_model (weights))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s is a model, not a Kiln checkpoint: it brings its own network, so train from it with "
                   "--weights and no --spec or --preset, or convert it once with “kiln-cli import-model %s "
                   "--classes N --out model.json --weights model.safetensors”%s", weights, weights,
                   g_str_has_suffix (weights, ".caffemodel") ? " (and --prototxt FILE)" : "");
      return NULL;
    }
  /* Read the header now: a bad file must fail before a run folder exists. */
  g_autoptr(GError) local_error = NULL;
  g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (weights, &local_error);
  if (file == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s is not a safetensors checkpoint Kiln can read (%s); give a run folder, a run id "
                   "or a .safetensors file", weights, local_error->message);
      return NULL;
    }
  if (description)
    *description = g_strdup_printf ("the checkpoint %s", weights);
  return g_strdup (weights);
}

KilnNetSpec *
kiln_training_weights_get_spec (const char *checkpoint, GError **error)
{
  g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (checkpoint, error);
  if (file == NULL)
    return NULL;
  const char *text = kiln_safetensors_get_metadata (file, "kiln.spec");
  if (text == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s does not say which network it holds; name the network as well (a preset or a net spec)",
                   checkpoint);
      return NULL;
    }
  g_autoptr(JsonNode) node = json_from_string (text, error);
  return node ? kiln_net_spec_new_from_json (node, error) : NULL;
}

char *
kiln_training_import_model (const char   *project_dir,
                            const char   *model,
                            int           classes,
                            KilnNetSpec **spec,
                            char        **description,
                            GError      **error)
{
  if (!g_str_has_suffix (model, ".onnx"))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   "%s: only an ONNX model can be trained from directly; convert a Caffe model once with "
                   "“kiln-cli import-model %s --prototxt deploy.prototxt --classes %d --out model.json "
                   "--weights model.safetensors”", model, model, classes);
      return NULL;
    }
  g_autofree char *folder = g_build_filename (project_dir, "cache", "imported", NULL);
  g_autofree char *base = g_path_get_basename (model);
  base[strlen (base) - strlen (".onnx")] = '\0';
  g_autofree char *name = g_strdup_printf ("%s-%dclasses.safetensors", base, classes);
  g_autofree char *weights = g_build_filename (folder, name, NULL);
  if (g_mkdir_with_parents (folder, 0755) != 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create %s", folder);
      return NULL;
    }
  g_autoptr(KilnModelImport) import = kiln_model_import (model, NULL, "onnx", classes, FALSE, 1, NULL, weights, error);
  if (import == NULL)
    return NULL;
  if (description)
    *description = g_strdup_printf ("the ONNX model %s (%s%s%s), imported as %s", model,
                                    import->replaced_layer ? "top layer " : "its own top layer",
                                    import->replaced_layer ? import->replaced_layer : "",
                                    import->replaced_layer ? " made anew for the project's classes" : "",
                                    weights);
  *spec = g_object_ref (import->spec);
  return g_steal_pointer (&weights);
}
