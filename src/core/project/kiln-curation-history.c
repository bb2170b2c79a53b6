/* kiln-curation-history.c: undo and redo of curation, as core calls. */
#include "config.h"

#include "kiln-curation-history.h"

typedef enum {
  CHANGE_DISCARD,
  CHANGE_RESTORE,
  CHANGE_RELABEL,
} ChangeKind;

/* One image's change, enough to do it again or undo it. */
typedef struct {
  ChangeKind  kind;
  gint64      id;
  char       *reason;       /* discard and restore: the discard reason */
  char       *from_class;   /* relabel: before and after */
  char       *from_name;
  char       *to_class;
  char       *to_name;
} Change;

static void
change_free (Change *change)
{
  g_free (change->reason);
  g_free (change->from_class);
  g_free (change->from_name);
  g_free (change->to_class);
  g_free (change->to_name);
  g_free (change);
}

struct _KilnCurationHistory
{
  GObject      parent_instance;

  KilnProject *project;
  GPtrArray   *undo;   /* steps: GPtrArray of Change, in the order done */
  GPtrArray   *redo;
};

enum { PROP_0, PROP_CAN_UNDO, PROP_CAN_REDO, N_PROPS };
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (KilnCurationHistory, kiln_curation_history, G_TYPE_OBJECT)

static GPtrArray *
step_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) change_free);
}

static void
notify_stacks (KilnCurationHistory *self,
               gboolean             could_undo,
               gboolean             could_redo)
{
  if (could_undo != kiln_curation_history_can_undo (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
  if (could_redo != kiln_curation_history_can_redo (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
}

/* Does @change (@forward) or undoes it. */
static gboolean
apply (KilnCurationHistory  *self,
       Change               *change,
       gboolean              forward,
       GError              **error)
{
  switch (change->kind)
    {
    case CHANGE_DISCARD:
      return forward ? kiln_project_discard_image (self->project, change->id, change->reason, error)
                     : kiln_project_restore_image (self->project, change->id, error);
    case CHANGE_RESTORE:
      return forward ? kiln_project_restore_image (self->project, change->id, error)
                     : kiln_project_discard_image (self->project, change->id, change->reason, error);
    case CHANGE_RELABEL:
      return forward ? kiln_project_relabel_image (self->project, change->id, change->to_class, change->to_name, error)
                     : kiln_project_relabel_image (self->project, change->id, change->from_class, change->from_name,
                                                   error);
    default:
      g_assert_not_reached ();
    }
}

static void
note_changed (GArray *changed,
              gint64  id)
{
  if (changed != NULL)
    g_array_append_val (changed, id);
}

/* A new action: what it did becomes the undo step, and redo is gone. */
static void
push_done (KilnCurationHistory *self,
           GPtrArray           *step)
{
  gboolean could_undo = kiln_curation_history_can_undo (self);
  gboolean could_redo = kiln_curation_history_can_redo (self);

  if (step->len == 0)
    {
      g_ptr_array_unref (step);
      return;
    }
  g_ptr_array_add (self->undo, step);
  g_ptr_array_set_size (self->redo, 0);
  notify_stacks (self, could_undo, could_redo);
}

/* Fills a new change of @kind for image @id, or returns NULL when the
 * image is in no state for it (nothing to do, not an error). */
static Change *
prepare (KilnCurationHistory  *self,
         ChangeKind            kind,
         gint64                id,
         const char           *reason,
         const char           *class_name,
         GError              **error)
{
  g_autoptr(KilnImageRecord) image = kiln_project_get_image (self->project, id, error);
  Change *change;

  if (image == NULL)
    return NULL;
  if ((kind == CHANGE_RESTORE) != (image->status == KILN_IMAGE_DISCARDED)
      || (kind == CHANGE_RELABEL && g_strcmp0 (image->class_name, class_name) == 0))
    return NULL;
  change = g_new0 (Change, 1);
  change->kind = kind;
  change->id = id;
  change->reason = g_strdup (kind == CHANGE_RESTORE ? image->discard_reason : reason);
  if (kind == CHANGE_RELABEL)
    {
      change->from_class = g_strdup (image->class_name);
      change->from_name = g_path_get_basename (image->path);
      change->to_class = g_strdup (class_name);
    }
  return change;
}

static gboolean
act (KilnCurationHistory  *self,
     ChangeKind            kind,
     const gint64         *ids,
     guint                 n,
     const char           *reason,
     const char           *class_name,
     GArray               *changed,
     GError              **error)
{
  GPtrArray *step = step_new ();
  gboolean ok = TRUE;

  for (guint i = 0; i < n && ok; i++)
    {
      g_autoptr(GError) local_error = NULL;
      Change *change = prepare (self, kind, ids[i], reason, class_name, &local_error);

      if (change == NULL)
        {
          if (local_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              ok = FALSE;
            }
          continue;
        }
      if (!apply (self, change, TRUE, error))
        {
          change_free (change);
          ok = FALSE;
          break;
        }
      if (kind == CHANGE_RELABEL)
        {
          /* Redo asks for the name the move gave, "-N" and all. */
          g_autoptr(KilnImageRecord) moved = kiln_project_get_image (self->project, ids[i], NULL);
          change->to_name = moved ? g_path_get_basename (moved->path) : NULL;
        }
      g_ptr_array_add (step, change);
      note_changed (changed, ids[i]);
    }
  push_done (self, step);
  return ok;
}

gboolean
kiln_curation_history_discard (KilnCurationHistory  *self,
                               const gint64         *ids,
                               guint                 n,
                               const char           *reason,
                               GArray               *changed,
                               GError              **error)
{
  g_return_val_if_fail (KILN_IS_CURATION_HISTORY (self), FALSE);
  g_return_val_if_fail (reason != NULL, FALSE);
  return act (self, CHANGE_DISCARD, ids, n, reason, NULL, changed, error);
}

gboolean
kiln_curation_history_restore (KilnCurationHistory  *self,
                               const gint64         *ids,
                               guint                 n,
                               GArray               *changed,
                               GError              **error)
{
  g_return_val_if_fail (KILN_IS_CURATION_HISTORY (self), FALSE);
  return act (self, CHANGE_RESTORE, ids, n, NULL, NULL, changed, error);
}

gboolean
kiln_curation_history_relabel (KilnCurationHistory  *self,
                               const gint64         *ids,
                               guint                 n,
                               const char           *class_name,
                               GArray               *changed,
                               GError              **error)
{
  g_return_val_if_fail (KILN_IS_CURATION_HISTORY (self), FALSE);
  g_return_val_if_fail (class_name != NULL, FALSE);
  return act (self, CHANGE_RELABEL, ids, n, NULL, class_name, changed, error);
}

gboolean
kiln_curation_history_can_undo (KilnCurationHistory *self)
{
  g_return_val_if_fail (KILN_IS_CURATION_HISTORY (self), FALSE);
  return self->undo->len > 0;
}

gboolean
kiln_curation_history_can_redo (KilnCurationHistory *self)
{
  g_return_val_if_fail (KILN_IS_CURATION_HISTORY (self), FALSE);
  return self->redo->len > 0;
}

/* Undoes (@forward FALSE) the top step of @from, last change first, or
 * redoes it, first change first; what was done moves to @to in the
 * step's order. A failure leaves the rest of the step on @from. */
static gboolean
travel (KilnCurationHistory  *self,
        GPtrArray            *from,
        GPtrArray            *to,
        gboolean              forward,
        GArray               *changed,
        GError              **error)
{
  gboolean could_undo = kiln_curation_history_can_undo (self);
  gboolean could_redo = kiln_curation_history_can_redo (self);
  GPtrArray *step, *done;
  gboolean ok = TRUE;

  if (from->len == 0)
    return TRUE;
  step = from->pdata[from->len - 1];
  done = step_new ();
  while (step->len > 0)
    {
      guint at = forward ? 0 : step->len - 1;
      Change *change = step->pdata[at];

      if (!apply (self, change, forward, error))
        {
          ok = FALSE;
          break;
        }
      note_changed (changed, change->id);
      g_ptr_array_steal_index (step, at);
      if (forward)
        g_ptr_array_add (done, change);
      else
        g_ptr_array_insert (done, 0, change);
    }
  if (step->len == 0)
    g_ptr_array_set_size (from, from->len - 1);
  if (done->len > 0)
    g_ptr_array_add (to, done);
  else
    g_ptr_array_unref (done);
  notify_stacks (self, could_undo, could_redo);
  return ok;
}

gboolean
kiln_curation_history_undo (KilnCurationHistory  *self,
                            GArray               *changed,
                            GError              **error)
{
  g_return_val_if_fail (KILN_IS_CURATION_HISTORY (self), FALSE);
  return travel (self, self->undo, self->redo, FALSE, changed, error);
}

gboolean
kiln_curation_history_redo (KilnCurationHistory  *self,
                            GArray               *changed,
                            GError              **error)
{
  g_return_val_if_fail (KILN_IS_CURATION_HISTORY (self), FALSE);
  return travel (self, self->redo, self->undo, TRUE, changed, error);
}

KilnCurationHistory *
kiln_curation_history_new (KilnProject *project)
{
  KilnCurationHistory *self;

  g_return_val_if_fail (KILN_IS_PROJECT (project), NULL);
  self = g_object_new (KILN_TYPE_CURATION_HISTORY, NULL);
  self->project = g_object_ref (project);
  return self;
}

static void
kiln_curation_history_finalize (GObject *object)
{
  KilnCurationHistory *self = KILN_CURATION_HISTORY (object);

  g_clear_object (&self->project);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);
  G_OBJECT_CLASS (kiln_curation_history_parent_class)->finalize (object);
}

static void
kiln_curation_history_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  KilnCurationHistory *self = KILN_CURATION_HISTORY (object);

  switch (prop_id)
    {
    case PROP_CAN_UNDO:
      g_value_set_boolean (value, kiln_curation_history_can_undo (self));
      break;
    case PROP_CAN_REDO:
      g_value_set_boolean (value, kiln_curation_history_can_redo (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_curation_history_class_init (KilnCurationHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_curation_history_finalize;
  object_class->get_property = kiln_curation_history_get_property;

  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
kiln_curation_history_init (KilnCurationHistory *self)
{
  self->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  self->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
}
