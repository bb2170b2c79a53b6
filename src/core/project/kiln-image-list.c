/* kiln-image-list.c: a project's images as a GListModel of KilnImageItem. */
#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-image-list.h"

struct _KilnImageList
{
  GObject      parent_instance;

  KilnProject *project;
  GPtrArray   *all;            /* KilnImageItem, every image, by id */
  GPtrArray   *view;           /* KilnImageItem, those shown, by id */
  GStrv        classes;
  char        *class_filter;
  int          status_filter;
  char        *flag_filter;
  GHashTable  *id_filter;      /* gint64 ids shown, or NULL: any */
  guint        reloads;        /* reads of the store in flight */
  GHashTable  *touched;        /* ids refreshed while a read was in flight */
};

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void kiln_image_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (KilnImageList, kiln_image_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, kiln_image_list_model_init))

/* GListModel -------------------------------------------------------------- */

static GType
kiln_image_list_get_item_type (GListModel *model)
{
  return KILN_TYPE_IMAGE_ITEM;
}

static guint
kiln_image_list_get_n_items (GListModel *model)
{
  return KILN_IMAGE_LIST (model)->view->len;
}

static gpointer
kiln_image_list_get_item (GListModel *model,
                          guint       position)
{
  KilnImageList *self = KILN_IMAGE_LIST (model);

  if (position >= self->view->len)
    return NULL;
  return g_object_ref (self->view->pdata[position]);
}

static void
kiln_image_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = kiln_image_list_get_item_type;
  iface->get_n_items = kiln_image_list_get_n_items;
  iface->get_item = kiln_image_list_get_item;
}

/* Helpers ----------------------------------------------------------------- */

/* Where @id is, or would go, in @items (sorted by id). */
static guint
bisect (GPtrArray *items,
        gint64     id,
        gboolean  *found)
{
  guint lo = 0, hi = items->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      gint64 at = kiln_image_item_get_id (items->pdata[mid]);

      if (at == id)
        {
          *found = TRUE;
          return mid;
        }
      if (at < id)
        lo = mid + 1;
      else
        hi = mid;
    }
  *found = FALSE;
  return lo;
}

static gboolean
passes (KilnImageItem *item,
        const char    *class_name,
        int            status,
        const char    *flag)
{
  if (status >= 0 && (int) kiln_image_item_get_status (item) != status)
    return FALSE;
  if (class_name != NULL && g_strcmp0 (kiln_image_item_get_class_name (item), class_name) != 0)
    return FALSE;
  if (flag != NULL)
    return kiln_image_item_has_flag (item, g_str_equal (flag, KILN_IMAGE_LIST_ANY_FLAG) ? NULL : flag);
  return TRUE;
}

static gboolean
shown (KilnImageList *self,
       KilnImageItem *item)
{
  gint64 id = kiln_image_item_get_id (item);

  if (self->id_filter != NULL && !g_hash_table_contains (self->id_filter, &id))
    return FALSE;
  return passes (item, self->class_filter, self->status_filter, self->flag_filter);
}

/* Makes @view the list's view, announcing the changed middle in one
 * items-changed (the unchanged head and tail keep the grid's focus). */
static void
replace_view (KilnImageList *self,
              GPtrArray     *view)
{
  GPtrArray *old = self->view;
  guint head = 0, tail = 0;

  while (head < old->len && head < view->len && old->pdata[head] == view->pdata[head])
    head++;
  while (tail < old->len - head && tail < view->len - head
         && old->pdata[old->len - 1 - tail] == view->pdata[view->len - 1 - tail])
    tail++;
  self->view = g_ptr_array_ref (view);
  if (old->len != view->len || head < old->len)
    g_list_model_items_changed (G_LIST_MODEL (self), head, old->len - head - tail, view->len - head - tail);
  g_ptr_array_unref (old);
}

static GPtrArray *
new_item_array (guint reserve)
{
  return g_ptr_array_new_full (reserve, g_object_unref);
}

/* Reading the store ------------------------------------------------------- */

typedef struct {
  GPtrArray *items;     /* KilnImageItem by id */
  GStrv      classes;
} Snapshot;

static void
snapshot_free (Snapshot *snapshot)
{
  g_clear_pointer (&snapshot->items, g_ptr_array_unref);
  g_clear_pointer (&snapshot->classes, g_strfreev);
  g_free (snapshot);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Snapshot, snapshot_free)

/* Every image with its flags; both lists come ordered by image id. */
static Snapshot *
read_store (KilnProject  *project,
            GError      **error)
{
  g_autoptr(Snapshot) snapshot = g_new0 (Snapshot, 1);
  g_autoptr(GPtrArray) records = kiln_project_list_images (project, NULL, -1, error);
  g_autoptr(GPtrArray) flags = records ? kiln_project_list_flags (project, 0, error) : NULL;

  if (flags == NULL || (snapshot->classes = kiln_project_list_classes (project, error)) == NULL)
    return NULL;
  /* The flags array frees nothing from here on: each flag moves to its item. */
  g_ptr_array_set_free_func (flags, NULL);
  snapshot->items = new_item_array (records->len);
  guint f = 0;
  for (guint i = 0; i < records->len; i++)
    {
      KilnImageRecord *record = records->pdata[i];
      GPtrArray *mine = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);

      while (f < flags->len && ((KilnFlag *) flags->pdata[f])->image_id < record->id)
        kiln_flag_free (flags->pdata[f++]);
      while (f < flags->len && ((KilnFlag *) flags->pdata[f])->image_id == record->id)
        g_ptr_array_add (mine, flags->pdata[f++]);
      g_ptr_array_add (snapshot->items, kiln_image_item_new (record, mine));
    }
  while (f < flags->len)
    kiln_flag_free (flags->pdata[f++]);
  return g_steal_pointer (&snapshot);
}

/* Folds a fresh read of the store into the list: known items are updated
 * in place (unless refreshed since the read began), new ones are added and
 * shown when they pass the filter, gone ones leave. */
static void
merge (KilnImageList *self,
       Snapshot      *snapshot)
{
  GPtrArray *fresh = snapshot->items;
  g_autoptr(GPtrArray) all = new_item_array (fresh->len);
  g_autoptr(GArray) is_new = g_array_sized_new (FALSE, FALSE, sizeof (gboolean), fresh->len);
  guint a = 0;

  for (guint i = 0; i < fresh->len; i++)
    {
      KilnImageItem *item = fresh->pdata[i];
      gint64 id = kiln_image_item_get_id (item);
      gboolean added = TRUE;

      while (a < self->all->len && kiln_image_item_get_id (self->all->pdata[a]) < id)
        a++;   /* gone from the store */
      if (a < self->all->len && kiln_image_item_get_id (self->all->pdata[a]) == id)
        {
          KilnImageItem *known = self->all->pdata[a++];
          if (!g_hash_table_contains (self->touched, &id))
            kiln_image_item_update (known, item);
          item = known;
          added = FALSE;
        }
      g_ptr_array_add (all, g_object_ref (item));
      g_array_append_val (is_new, added);
    }

  /* The view keeps what it shows unless it is gone, and gains new images
   * that pass the filter. */
  g_autoptr(GPtrArray) view = new_item_array (self->view->len);
  guint v = 0;
  for (guint i = 0; i < all->len; i++)
    {
      KilnImageItem *item = all->pdata[i];
      gint64 id = kiln_image_item_get_id (item);
      gboolean was_shown;

      while (v < self->view->len && kiln_image_item_get_id (self->view->pdata[v]) < id)
        v++;
      was_shown = v < self->view->len && self->view->pdata[v] == item;
      if (was_shown)
        v++;
      if (was_shown || (g_array_index (is_new, gboolean, i) && shown (self, item)))
        g_ptr_array_add (view, g_object_ref (item));
    }

  g_ptr_array_unref (self->all);
  self->all = g_steal_pointer (&all);
  g_strfreev (self->classes);
  self->classes = g_steal_pointer (&snapshot->classes);
  replace_view (self, view);
}

gboolean
kiln_image_list_reload (KilnImageList  *self,
                        GError        **error)
{
  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), FALSE);

  g_autoptr(Snapshot) snapshot = read_store (self->project, error);
  if (snapshot == NULL)
    return FALSE;
  merge (self, snapshot);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

static void
read_store_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  Snapshot *snapshot = read_store (data, &error);

  if (snapshot == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, snapshot, (GDestroyNotify) snapshot_free);
}

static void
read_store_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KilnImageList *self = KILN_IMAGE_LIST (source);
  g_autoptr(GTask) outer = user_data;
  GError *error = NULL;
  g_autoptr(Snapshot) snapshot = g_task_propagate_pointer (G_TASK (result), &error);

  if (--self->reloads == 0 && snapshot == NULL)
    g_hash_table_remove_all (self->touched);
  if (snapshot == NULL)
    {
      g_task_return_error (outer, error);
      return;
    }
  merge (self, snapshot);
  if (self->reloads == 0)
    g_hash_table_remove_all (self->touched);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  g_task_return_boolean (outer, TRUE);
}

void
kiln_image_list_reload_async (KilnImageList       *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (KILN_IS_IMAGE_LIST (self));

  GTask *outer = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) read = g_task_new (self, cancellable, read_store_done, outer);

  g_task_set_source_tag (outer, kiln_image_list_reload_async);
  g_task_set_source_tag (read, read_store_thread);
  g_task_set_task_data (read, g_object_ref (self->project), g_object_unref);
  self->reloads++;
  g_task_run_in_thread (read, read_store_thread);
}

gboolean
kiln_image_list_reload_finish (KilnImageList  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_image_list_reload_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
kiln_image_list_refresh (KilnImageList  *self,
                         const gint64   *ids,
                         guint           n,
                         GError        **error)
{
  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), FALSE);

  g_autoptr(GPtrArray) view = g_ptr_array_copy (self->view, (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
  g_ptr_array_set_free_func (view, g_object_unref);
  gboolean ok = TRUE;

  for (guint i = 0; i < n && ok; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(KilnImageRecord) record = kiln_project_get_image (self->project, ids[i], &local_error);
      gboolean in_all, in_view;
      guint at = bisect (self->all, ids[i], &in_all);
      guint shown_at = bisect (view, ids[i], &in_view);

      if (self->reloads > 0)
        {
          gint64 *key = g_new (gint64, 1);
          *key = ids[i];
          g_hash_table_add (self->touched, key);
        }
      if (record == NULL)
        {
          if (!g_error_matches (local_error, KILN_ERROR, KILN_ERROR_NOT_FOUND))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              ok = FALSE;
              break;
            }
          if (in_view)
            g_ptr_array_remove_index (view, shown_at);
          if (in_all)
            g_ptr_array_remove_index (self->all, at);
          continue;
        }
      GPtrArray *flags = kiln_project_list_flags (self->project, ids[i], error);
      if (flags == NULL)
        {
          ok = FALSE;
          break;
        }
      g_autoptr(KilnImageItem) fresh = kiln_image_item_new (record, flags);
      if (in_all)
        kiln_image_item_update (self->all->pdata[at], fresh);
      else
        {
          g_ptr_array_insert (self->all, at, g_object_ref (fresh));
          if (shown (self, fresh))
            g_ptr_array_insert (view, shown_at, g_object_ref (fresh));
        }
    }
  GStrv classes = kiln_project_list_classes (self->project, ok ? error : NULL);
  if (classes != NULL)
    {
      g_strfreev (self->classes);
      self->classes = classes;
    }
  else
    ok = FALSE;
  replace_view (self, view);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return ok;
}

/* Filter and queries ------------------------------------------------------ */

static void
apply_filter (KilnImageList *self)
{
  g_autoptr(GPtrArray) view = new_item_array (self->all->len);

  for (guint i = 0; i < self->all->len; i++)
    if (shown (self, self->all->pdata[i]))
      g_ptr_array_add (view, g_object_ref (self->all->pdata[i]));
  replace_view (self, view);
}

void
kiln_image_list_set_filter (KilnImageList *self,
                            const char    *class_name,
                            int            status,
                            const char    *flag)
{
  g_return_if_fail (KILN_IS_IMAGE_LIST (self));

  g_free (self->class_filter);
  self->class_filter = g_strdup (class_name);
  self->status_filter = status;
  g_free (self->flag_filter);
  self->flag_filter = g_strdup (flag);
  apply_filter (self);
}

void
kiln_image_list_set_id_filter (KilnImageList *self,
                               const gint64  *ids,
                               guint          n)
{
  g_return_if_fail (KILN_IS_IMAGE_LIST (self));

  g_clear_pointer (&self->id_filter, g_hash_table_unref);
  if (ids != NULL)
    {
      self->id_filter = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      for (guint i = 0; i < n; i++)
        g_hash_table_add (self->id_filter, g_memdup2 (&ids[i], sizeof (gint64)));
    }
  apply_filter (self);
}

gboolean
kiln_image_list_has_id_filter (KilnImageList *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), FALSE);
  return self->id_filter != NULL;
}

const char *
kiln_image_list_get_class_filter (KilnImageList *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), NULL);
  return self->class_filter;
}

int
kiln_image_list_get_status_filter (KilnImageList *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), -1);
  return self->status_filter;
}

const char *
kiln_image_list_get_flag_filter (KilnImageList *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), NULL);
  return self->flag_filter;
}

KilnImageItem *
kiln_image_list_lookup (KilnImageList *self,
                        gint64         id)
{
  gboolean found;
  guint at;

  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), NULL);
  at = bisect (self->all, id, &found);
  return found ? self->all->pdata[at] : NULL;
}

guint
kiln_image_list_find (KilnImageList *self,
                      gint64         id)
{
  gboolean found;
  guint at;

  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), G_MAXUINT);
  at = bisect (self->view, id, &found);
  return found ? at : G_MAXUINT;
}

const char * const *
kiln_image_list_get_classes (KilnImageList *self)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), NULL);
  return self->classes ? (const char * const *) self->classes : none;
}

guint
kiln_image_list_count (KilnImageList *self,
                       const char    *class_name,
                       int            status,
                       const char    *flag)
{
  guint n = 0;

  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), 0);
  for (guint i = 0; i < self->all->len; i++)
    n += passes (self->all->pdata[i], class_name, status, flag);
  return n;
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GStrv
kiln_image_list_list_flag_reasons (KilnImageList *self,
                                   int            status)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), NULL);
  for (guint i = 0; i < self->all->len; i++)
    {
      KilnImageItem *item = self->all->pdata[i];
      GPtrArray *flags = kiln_image_item_get_flags (item);

      if (status >= 0 && (int) kiln_image_item_get_status (item) != status)
        continue;
      for (guint f = 0; f < flags->len; f++)
        g_hash_table_add (seen, ((KilnFlag *) flags->pdata[f])->reason);
    }
  g_autofree const char **reasons = (const char **) g_hash_table_get_keys_as_array (seen, NULL);
  g_auto(GStrv) copy = g_strdupv ((char **) reasons);
  if (copy[0] != NULL)
    qsort (copy, g_strv_length (copy), sizeof (char *), compare_strings);
  return g_steal_pointer (&copy);
}

/* Object ------------------------------------------------------------------ */

KilnImageList *
kiln_image_list_new (KilnProject *project)
{
  KilnImageList *self;

  g_return_val_if_fail (KILN_IS_PROJECT (project), NULL);
  self = g_object_new (KILN_TYPE_IMAGE_LIST, NULL);
  self->project = g_object_ref (project);
  return self;
}

KilnProject *
kiln_image_list_get_project (KilnImageList *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_LIST (self), NULL);
  return self->project;
}

static void
kiln_image_list_finalize (GObject *object)
{
  KilnImageList *self = KILN_IMAGE_LIST (object);

  g_clear_object (&self->project);
  g_clear_pointer (&self->all, g_ptr_array_unref);
  g_clear_pointer (&self->view, g_ptr_array_unref);
  g_clear_pointer (&self->classes, g_strfreev);
  g_clear_pointer (&self->class_filter, g_free);
  g_clear_pointer (&self->flag_filter, g_free);
  g_clear_pointer (&self->id_filter, g_hash_table_unref);
  g_clear_pointer (&self->touched, g_hash_table_unref);
  G_OBJECT_CLASS (kiln_image_list_parent_class)->finalize (object);
}

static void
kiln_image_list_class_init (KilnImageListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_image_list_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
kiln_image_list_init (KilnImageList *self)
{
  self->all = new_item_array (0);
  self->view = new_item_array (0);
  self->status_filter = -1;
  self->touched = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}
