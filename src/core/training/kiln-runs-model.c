/* kiln-runs-model.c: the runs of a project, watched (see kiln-runs-model.h). */
#include "config.h"

#include "kiln-runs-model.h"

/* Changes this close together are read once. */
#define SETTLE_MS 250

struct _KilnRunsModel
{
  GObject parent_instance;

  char *project_dir;
  GPtrArray *items;          /* KilnRunItem, newest first */
  GFileMonitor *project_monitor;
  GFileMonitor *runs_monitor;
  GHashTable *run_monitors;  /* run id → GFileMonitor */
  GCancellable *cancellable;
  guint settle_source;
  gboolean reading;
  gboolean dirty;            /* something changed while reading */
  gboolean loaded;
  GError *error;
};

enum { SIGNAL_REFRESHED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void kiln_runs_model_list_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (KilnRunsModel, kiln_runs_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, kiln_runs_model_list_init))

static GType
get_item_type (GListModel *model)
{
  return KILN_TYPE_RUN_ITEM;
}

static guint
get_n_items (GListModel *model)
{
  return KILN_RUNS_MODEL (model)->items->len;
}

static gpointer
get_item (GListModel *model, guint position)
{
  KilnRunsModel *self = KILN_RUNS_MODEL (model);

  return position < self->items->len ? g_object_ref (self->items->pdata[position]) : NULL;
}

static void
kiln_runs_model_list_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void read_runs (KilnRunsModel *self);

static gboolean
settled (gpointer data)
{
  KilnRunsModel *self = data;

  self->settle_source = 0;
  read_runs (self);
  return G_SOURCE_REMOVE;
}

void
kiln_runs_model_refresh (KilnRunsModel *self)
{
  g_return_if_fail (KILN_IS_RUNS_MODEL (self));

  if (self->reading)
    self->dirty = TRUE;
  else if (self->settle_source == 0)
    self->settle_source = g_timeout_add (SETTLE_MS, settled, self);
}

/* Run folders change with every step (metrics.csv); only what says where a
 * run stands counts. */
static gboolean
tells_state (GFile *file)
{
  g_autofree char *name = file ? g_file_get_basename (file) : NULL;

  return name != NULL && (g_str_equal (name, "events.jsonl") || g_str_equal (name, "config.json") ||
                          g_str_equal (name, "model.onnx"));
}

static void
run_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event, KilnRunsModel *self)
{
  if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED || event == G_FILE_MONITOR_EVENT_CHANGED)
    return;   /* CHANGES_DONE follows a change */
  /* Files written atomically arrive as a rename onto their name. */
  if (tells_state (file) || tells_state (other))
    kiln_runs_model_refresh (self);
}

static void
runs_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event, KilnRunsModel *self)
{
  if (event != G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
    kiln_runs_model_refresh (self);
}

static GFileMonitor *
watch (const char *path, GCallback callback, KilnRunsModel *self)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  /* Without a monitor (no inotify) the list is still read on refresh. */
  GFileMonitor *monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);

  if (monitor != NULL)
    g_signal_connect (monitor, "changed", callback, self);
  return monitor;
}

static void
drop_monitor (gpointer data)
{
  GFileMonitor *monitor = data;

  g_file_monitor_cancel (monitor);
  g_signal_handlers_disconnect_matched (monitor, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, run_changed, NULL);
  g_object_unref (monitor);
}

/* runs/ is watched once it exists; each run folder while it is listed. */
static void
update_monitors (KilnRunsModel *self)
{
  g_autofree char *runs_dir = g_build_filename (self->project_dir, "runs", NULL);

  if (self->runs_monitor == NULL && g_file_test (runs_dir, G_FILE_TEST_IS_DIR))
    self->runs_monitor = watch (runs_dir, G_CALLBACK (runs_changed), self);
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->items->len; i++)
    {
      KilnRunItem *item = self->items->pdata[i];
      const char *id = kiln_run_item_get_id (item);
      g_hash_table_add (listed, (gpointer) id);
      if (!g_hash_table_contains (self->run_monitors, id))
        {
          GFileMonitor *monitor = watch (kiln_run_item_get_dir (item), G_CALLBACK (run_changed), self);
          if (monitor != NULL)
            g_hash_table_insert (self->run_monitors, g_strdup (id), monitor);
        }
    }
  GHashTableIter iter;
  gpointer id;
  g_hash_table_iter_init (&iter, self->run_monitors);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    if (!g_hash_table_contains (listed, id))
      g_hash_table_iter_remove (&iter);
}

/* Replaces the items by @runs, keeping the item of every run still there,
 * and says what changed as one range between the unchanged ends. */
static void
apply (KilnRunsModel *self, GPtrArray *runs)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < runs->len; i++)
    {
      const KilnRunInfo *info = runs->pdata[i];
      KilnRunItem *item = kiln_runs_model_find (self, info->id, NULL);
      if (item != NULL)
        g_ptr_array_add (items, g_object_ref (item));
      else
        g_ptr_array_add (items, kiln_run_item_new (info));
    }
  guint old_n = self->items->len, new_n = items->len, head = 0, tail = 0;
  while (head < MIN (old_n, new_n) && self->items->pdata[head] == items->pdata[head])
    head++;
  while (tail < MIN (old_n, new_n) - head && self->items->pdata[old_n - 1 - tail] == items->pdata[new_n - 1 - tail])
    tail++;
  g_ptr_array_unref (self->items);
  self->items = g_steal_pointer (&items);
  if (old_n - head - tail > 0 || new_n - head - tail > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), head, old_n - head - tail, new_n - head - tail);
  /* Items kept may say something new. */
  for (guint i = 0; i < runs->len; i++)
    kiln_run_item_update (self->items->pdata[i], runs->pdata[i]);
}

static void
listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = kiln_run_list_finish (result, &error);
  KilnRunsModel *self = user_data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* disposed: self is gone */
  self->reading = FALSE;
  g_clear_error (&self->error);
  if (runs == NULL)
    self->error = g_steal_pointer (&error);
  else
    apply (self, runs);
  update_monitors (self);
  self->loaded = TRUE;
  if (self->dirty)
    {
      self->dirty = FALSE;
      kiln_runs_model_refresh (self);
    }
  g_signal_emit (self, signals[SIGNAL_REFRESHED], 0);
}

static void
read_runs (KilnRunsModel *self)
{
  self->reading = TRUE;
  kiln_run_list_async (self->project_dir, self->cancellable, listed, self);
}

static void
project_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event, KilnRunsModel *self)
{
  g_autofree char *name = g_file_get_basename (file);

  if (g_str_equal (name, "runs") && event != G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
    kiln_runs_model_refresh (self);
}

KilnRunsModel *
kiln_runs_model_new (const char *project_dir)
{
  KilnRunsModel *self = g_object_new (KILN_TYPE_RUNS_MODEL, NULL);

  g_return_val_if_fail (project_dir != NULL, NULL);
  self->project_dir = g_strdup (project_dir);
  self->project_monitor = watch (project_dir, G_CALLBACK (project_changed), self);
  read_runs (self);
  return self;
}

const char *
kiln_runs_model_get_project_dir (KilnRunsModel *self)
{
  g_return_val_if_fail (KILN_IS_RUNS_MODEL (self), NULL);
  return self->project_dir;
}

KilnRunItem *
kiln_runs_model_find (KilnRunsModel *self, const char *id, guint *position)
{
  g_return_val_if_fail (KILN_IS_RUNS_MODEL (self), NULL);

  for (guint i = 0; i < self->items->len; i++)
    if (g_strcmp0 (kiln_run_item_get_id (self->items->pdata[i]), id) == 0)
      {
        if (position)
          *position = i;
        return self->items->pdata[i];
      }
  return NULL;
}

gboolean
kiln_runs_model_is_loaded (KilnRunsModel *self)
{
  g_return_val_if_fail (KILN_IS_RUNS_MODEL (self), FALSE);
  return self->loaded;
}

const GError *
kiln_runs_model_get_error (KilnRunsModel *self)
{
  g_return_val_if_fail (KILN_IS_RUNS_MODEL (self), NULL);
  return self->error;
}

static void
kiln_runs_model_dispose (GObject *object)
{
  KilnRunsModel *self = KILN_RUNS_MODEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->settle_source, g_source_remove);
  if (self->project_monitor != NULL)
    {
      g_file_monitor_cancel (self->project_monitor);
      g_signal_handlers_disconnect_by_data (self->project_monitor, self);
    }
  if (self->runs_monitor != NULL)
    {
      g_file_monitor_cancel (self->runs_monitor);
      g_signal_handlers_disconnect_by_data (self->runs_monitor, self);
    }
  g_clear_object (&self->project_monitor);
  g_clear_object (&self->runs_monitor);
  g_hash_table_remove_all (self->run_monitors);
  G_OBJECT_CLASS (kiln_runs_model_parent_class)->dispose (object);
}

static void
kiln_runs_model_finalize (GObject *object)
{
  KilnRunsModel *self = KILN_RUNS_MODEL (object);

  g_free (self->project_dir);
  g_ptr_array_unref (self->items);
  g_hash_table_unref (self->run_monitors);
  g_object_unref (self->cancellable);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (kiln_runs_model_parent_class)->finalize (object);
}

static void
kiln_runs_model_class_init (KilnRunsModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kiln_runs_model_dispose;
  object_class->finalize = kiln_runs_model_finalize;
  /* After every reading of the folders, applied or failed. */
  signals[SIGNAL_REFRESHED] = g_signal_new ("refreshed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                            NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
kiln_runs_model_init (KilnRunsModel *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->run_monitors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, drop_monitor);
  self->cancellable = g_cancellable_new ();
}
