/* kiln-run-list.c: listing a project's runs from their folders. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-run-list.h"

void
kiln_run_info_free (KilnRunInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->id);
  g_free (info->dir);
  g_free (info->split);
  g_free (info->last_event);
  g_free (info->problem);
  g_free (info);
}

KilnRunInfo *
kiln_run_info_copy (const KilnRunInfo *info)
{
  KilnRunInfo *copy = g_memdup2 (info, sizeof *info);

  copy->id = g_strdup (info->id);
  copy->dir = g_strdup (info->dir);
  copy->split = g_strdup (info->split);
  copy->last_event = g_strdup (info->last_event);
  copy->problem = g_strdup (info->problem);
  return copy;
}

static gboolean
same_double (double a, double b)
{
  return a == b || (isnan (a) && isnan (b));
}

gboolean
kiln_run_info_equal (const KilnRunInfo *a, const KilnRunInfo *b)
{
  return g_strcmp0 (a->id, b->id) == 0 && g_strcmp0 (a->dir, b->dir) == 0 && a->started == b->started &&
         a->epochs == b->epochs && g_strcmp0 (a->split, b->split) == 0 &&
         a->summary.iteration == b->summary.iteration && a->summary.finished == b->summary.finished &&
         same_double (a->summary.best_val_accuracy, b->summary.best_val_accuracy) &&
         g_strcmp0 (a->last_event, b->last_event) == 0 && g_strcmp0 (a->problem, b->problem) == 0;
}

/* The "type" of the last complete line of the run's events.jsonl. */
static char *
read_last_event (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "events.jsonl", NULL);
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  char *end = strrchr (contents, '\n');
  if (end == NULL)
    return NULL;
  *end = '\0';
  char *line = strrchr (contents, '\n');
  g_autoptr(JsonNode) node = json_from_string (line ? line + 1 : contents, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (node), "type", NULL));
}

static int
newest_first (gconstpointer a, gconstpointer b)
{
  const KilnRunInfo *x = *(const KilnRunInfo *const *) a;
  const KilnRunInfo *y = *(const KilnRunInfo *const *) b;

  if (x->started != y->started)
    return x->started > y->started ? -1 : 1;
  return -g_strcmp0 (x->id, y->id);
}

/* Epochs and split from config.json; a run that cannot be read says why. */
static void
read_config (KilnRunInfo *info, const char *config_path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_file (parser, config_path, &error))
    {
      info->problem = g_strdup_printf ("%s: %s", config_path, error->message);
      return;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *config = json_node_get_object (root);
  JsonNode *options = json_object_get_member (config, "options");
  if (options != NULL && JSON_NODE_HOLDS_OBJECT (options))
    info->epochs = (int) json_object_get_int_member_with_default (json_node_get_object (options), "epochs", 0);
  JsonNode *split = json_object_get_member (config, "split");
  if (split != NULL && JSON_NODE_HOLDS_OBJECT (split))
    info->split = g_strdup (json_object_get_string_member_with_default (json_node_get_object (split), "name", NULL));
}

GPtrArray *
kiln_run_list (const char  *project_dir,
               GError     **error)
{
  g_autofree char *runs_dir = g_build_filename (project_dir, "runs", NULL);
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_run_info_free);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GDir) dir = g_dir_open (runs_dir, 0, &local_error);
  const char *name;

  if (dir == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&runs);
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not list the runs in %s: %s",
                   runs_dir, local_error->message);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *run_dir = g_build_filename (runs_dir, name, NULL);
      g_autofree char *config = g_build_filename (run_dir, "config.json", NULL);
      GStatBuf st;
      if (g_stat (config, &st) != 0)
        continue;
      KilnRunInfo *info = g_new0 (KilnRunInfo, 1);
      g_autoptr(GError) run_error = NULL;
      info->id = g_strdup (name);
      info->dir = g_steal_pointer (&run_dir);
      info->started = st.st_mtime;
      read_config (info, config);
      if (info->problem == NULL && !kiln_run_summarize (info->dir, &info->summary, &run_error))
        info->problem = g_strdup (run_error->message);
      info->last_event = read_last_event (info->dir);
      g_ptr_array_add (runs, info);
    }
  g_ptr_array_sort (runs, newest_first);
  return g_steal_pointer (&runs);
}

static void
list_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *runs = kiln_run_list (data, &error);

  if (runs == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, runs, (GDestroyNotify) g_ptr_array_unref);
}

void
kiln_run_list_async (const char          *project_dir,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, kiln_run_list_async);
  g_task_set_task_data (task, g_strdup (project_dir), g_free);
  g_task_run_in_thread (task, list_thread);
}

GPtrArray *
kiln_run_list_finish (GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_run_list_async), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
