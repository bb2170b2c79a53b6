/* kiln-metric-list.c: metric rows as a list model (see kiln-metric-list.h). */
#include "config.h"

#include "kiln-metric-list.h"

struct _KilnMetricList
{
  GObject parent_instance;

  GArray *rows;            /* KilnRunMetrics, by position */
  KilnTrainer *trainer;    /* followed, or NULL */
};

static void kiln_metric_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (KilnMetricList, kiln_metric_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, kiln_metric_list_model_init))

/* Rows in a run's order: by iteration, a validation after the step it followed. */
static gint64
position_key (const KilnRunMetrics *row)
{
  return row->iteration * 2 + (row->phase == KILN_RUN_PHASE_VAL);
}

static GType
get_item_type (GListModel *model)
{
  return KILN_TYPE_METRIC_POINT;
}

static guint
get_n_items (GListModel *model)
{
  return KILN_METRIC_LIST (model)->rows->len;
}

static gpointer
get_item (GListModel *model, guint position)
{
  KilnMetricList *self = KILN_METRIC_LIST (model);

  if (position >= self->rows->len)
    return NULL;
  return kiln_metric_point_new (&g_array_index (self->rows, KilnRunMetrics, position));
}

static void
kiln_metric_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

KilnMetricList *
kiln_metric_list_new (void)
{
  return g_object_new (KILN_TYPE_METRIC_LIST, NULL);
}

const KilnRunMetrics *
kiln_metric_list_get_row (KilnMetricList *self, guint position)
{
  g_return_val_if_fail (KILN_IS_METRIC_LIST (self), NULL);
  g_return_val_if_fail (position < self->rows->len, NULL);
  return &g_array_index (self->rows, KilnRunMetrics, position);
}

void
kiln_metric_list_append (KilnMetricList *self, const KilnRunMetrics *rows, guint n)
{
  guint before = self->rows->len;

  g_return_if_fail (KILN_IS_METRIC_LIST (self));
  for (guint i = 0; i < n; i++)
    {
      gint64 last = self->rows->len ? position_key (&g_array_index (self->rows, KilnRunMetrics, self->rows->len - 1)) : -1;
      if (position_key (&rows[i]) > last)
        g_array_append_val (self->rows, rows[i]);
    }
  if (self->rows->len > before)
    g_list_model_items_changed (G_LIST_MODEL (self), before, 0, self->rows->len - before);
}

/* The file's rows that come before the first one held go in front, and
 * those after the last one at the end (the file grew since). */
static void
merge (KilnMetricList *self, GArray *file)
{
  if (self->rows->len > 0)
    {
      gint64 first = position_key (&g_array_index (self->rows, KilnRunMetrics, 0));
      g_autoptr(GArray) front = g_array_new (FALSE, FALSE, sizeof (KilnRunMetrics));
      for (guint i = 0; i < file->len; i++)
        {
          const KilnRunMetrics *row = &g_array_index (file, KilnRunMetrics, i);
          gint64 key = position_key (row);
          if (key < first && (front->len == 0 || key > position_key (&g_array_index (front, KilnRunMetrics, front->len - 1))))
            g_array_append_val (front, *row);
        }
      if (front->len > 0)
        {
          g_array_prepend_vals (self->rows, front->data, front->len);
          g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, front->len);
        }
    }
  kiln_metric_list_append (self, (KilnRunMetrics *) file->data, file->len);
}

static void
on_metrics (KilnTrainer *trainer, GArray *rows, KilnMetricList *self)
{
  kiln_metric_list_append (self, (KilnRunMetrics *) rows->data, rows->len);
}

static void
on_finished (KilnTrainer *trainer, int state, KilnMetricList *self)
{
  kiln_metric_list_follow (self, NULL);
}

void
kiln_metric_list_follow (KilnMetricList *self, KilnTrainer *trainer)
{
  g_return_if_fail (KILN_IS_METRIC_LIST (self));
  g_return_if_fail (trainer == NULL || KILN_IS_TRAINER (trainer));

  if (self->trainer == trainer)
    return;
  if (self->trainer != NULL)
    g_signal_handlers_disconnect_by_data (self->trainer, self);
  g_set_object (&self->trainer, trainer);
  if (trainer != NULL)
    {
      g_signal_connect (trainer, "metrics", G_CALLBACK (on_metrics), self);
      g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), self);
    }
}

static void
load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_autofree char *path = g_build_filename (data, "metrics.csv", NULL);
  GError *error = NULL;
  GArray *rows;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    rows = g_array_new (FALSE, FALSE, sizeof (KilnRunMetrics));
  else if ((rows = kiln_run_read_metrics (data, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, rows, (GDestroyNotify) g_array_unref);
}

void
kiln_metric_list_load_async (KilnMetricList *self, const char *run_dir, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_return_if_fail (KILN_IS_METRIC_LIST (self));
  g_task_set_source_tag (task, kiln_metric_list_load_async);
  g_task_set_task_data (task, g_strdup (run_dir), g_free);
  g_task_run_in_thread (task, load_thread);
}

gboolean
kiln_metric_list_load_finish (KilnMetricList *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_metric_list_load_async), FALSE);

  g_autoptr(GArray) rows = g_task_propagate_pointer (G_TASK (result), error);
  if (rows == NULL)
    return FALSE;
  merge (self, rows);
  return TRUE;
}

static void
kiln_metric_list_dispose (GObject *object)
{
  kiln_metric_list_follow (KILN_METRIC_LIST (object), NULL);
  G_OBJECT_CLASS (kiln_metric_list_parent_class)->dispose (object);
}

static void
kiln_metric_list_finalize (GObject *object)
{
  g_array_unref (KILN_METRIC_LIST (object)->rows);
  G_OBJECT_CLASS (kiln_metric_list_parent_class)->finalize (object);
}

static void
kiln_metric_list_class_init (KilnMetricListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kiln_metric_list_dispose;
  object_class->finalize = kiln_metric_list_finalize;
}

static void
kiln_metric_list_init (KilnMetricList *self)
{
  self->rows = g_array_new (FALSE, FALSE, sizeof (KilnRunMetrics));
}
