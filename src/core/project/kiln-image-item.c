/* kiln-image-item.c: one image of a project as a GObject. */
#include "config.h"

#include "kiln-image-item.h"

struct _KilnImageItem
{
  GObject          parent_instance;

  KilnImageRecord *record;
  GPtrArray       *flags;   /* KilnFlag */
};

enum {
  PROP_0,
  PROP_ID,
  PROP_PATH,
  PROP_CLASS_NAME,
  PROP_STATUS,
  PROP_DISCARD_REASON,
  PROP_N_FLAGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (KilnImageItem, kiln_image_item, G_TYPE_OBJECT)

KilnImageItem *
kiln_image_item_new (const KilnImageRecord *record,
                     GPtrArray             *flags)
{
  KilnImageItem *self;

  g_return_val_if_fail (record != NULL, NULL);

  self = g_object_new (KILN_TYPE_IMAGE_ITEM, NULL);
  self->record = kiln_image_record_copy (record);
  self->flags = flags ? flags : g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);
  return self;
}

gint64
kiln_image_item_get_id (KilnImageItem *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), 0);
  return self->record->id;
}

const KilnImageRecord *
kiln_image_item_get_record (KilnImageItem *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), NULL);
  return self->record;
}

const char *
kiln_image_item_get_path (KilnImageItem *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), NULL);
  return self->record->path;
}

const char *
kiln_image_item_get_class_name (KilnImageItem *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), NULL);
  return self->record->class_name;
}

KilnImageStatus
kiln_image_item_get_status (KilnImageItem *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), KILN_IMAGE_KEPT);
  return self->record->status;
}

const char *
kiln_image_item_get_discard_reason (KilnImageItem *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), NULL);
  return self->record->discard_reason;
}

GPtrArray *
kiln_image_item_get_flags (KilnImageItem *self)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), NULL);
  return self->flags;
}

gboolean
kiln_image_item_has_flag (KilnImageItem *self,
                          const char    *reason)
{
  g_return_val_if_fail (KILN_IS_IMAGE_ITEM (self), FALSE);

  if (reason == NULL)
    return self->flags->len > 0;
  for (guint i = 0; i < self->flags->len; i++)
    if (g_strcmp0 (((KilnFlag *) self->flags->pdata[i])->reason, reason) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
same_flags (GPtrArray *a,
            GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      KilnFlag *x = a->pdata[i], *y = b->pdata[i];
      if (g_strcmp0 (x->reason, y->reason) != 0 || g_strcmp0 (x->detail, y->detail) != 0)
        return FALSE;
    }
  return TRUE;
}

static int
by_reason (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 ((*(KilnFlag *const *) a)->reason, (*(KilnFlag *const *) b)->reason);
}

void
kiln_image_item_add_flags (KilnImageItem *self,
                           GPtrArray     *flags)
{
  g_return_if_fail (KILN_IS_IMAGE_ITEM (self));
  g_return_if_fail (flags != NULL);

  GPtrArray *merged = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);
  for (guint i = 0; i < self->flags->len; i++)
    {
      KilnFlag *old = self->flags->pdata[i];
      gboolean replaced = FALSE;
      for (guint k = 0; k < flags->len && !replaced; k++)
        replaced = g_strcmp0 (((KilnFlag *) flags->pdata[k])->reason, old->reason) == 0;
      if (!replaced)
        g_ptr_array_add (merged, kiln_flag_new (old->image_id, old->reason, old->detail));
    }
  for (guint k = 0; k < flags->len; k++)
    {
      KilnFlag *flag = flags->pdata[k];
      g_ptr_array_add (merged, kiln_flag_new (self->record->id, flag->reason, flag->detail));
    }
  g_ptr_array_sort (merged, by_reason);
  gboolean changed = !same_flags (self->flags, merged);
  g_ptr_array_unref (self->flags);
  self->flags = merged;
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_FLAGS]);
}

void
kiln_image_item_update (KilnImageItem *self,
                        KilnImageItem *other)
{
  g_return_if_fail (KILN_IS_IMAGE_ITEM (self));
  g_return_if_fail (KILN_IS_IMAGE_ITEM (other));
  g_return_if_fail (self->record->id == other->record->id);

  KilnImageRecord *old = self->record;
  gboolean flags_changed = !same_flags (self->flags, other->flags);

  self->record = kiln_image_record_copy (other->record);
  if (flags_changed)
    {
      g_ptr_array_unref (self->flags);
      self->flags = g_ptr_array_ref (other->flags);
    }

  g_object_freeze_notify (G_OBJECT (self));
  if (g_strcmp0 (old->path, self->record->path) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATH]);
  if (g_strcmp0 (old->class_name, self->record->class_name) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLASS_NAME]);
  if (old->status != self->record->status)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
  if (g_strcmp0 (old->discard_reason, self->record->discard_reason) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISCARD_REASON]);
  if (flags_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_FLAGS]);
  g_object_thaw_notify (G_OBJECT (self));
  kiln_image_record_free (old);
}

static void
kiln_image_item_finalize (GObject *object)
{
  KilnImageItem *self = KILN_IMAGE_ITEM (object);

  g_clear_pointer (&self->record, kiln_image_record_free);
  g_clear_pointer (&self->flags, g_ptr_array_unref);
  G_OBJECT_CLASS (kiln_image_item_parent_class)->finalize (object);
}

static void
kiln_image_item_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  KilnImageItem *self = KILN_IMAGE_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->record->id);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->record->path);
      break;
    case PROP_CLASS_NAME:
      g_value_set_string (value, self->record->class_name);
      break;
    case PROP_STATUS:
      g_value_set_int (value, self->record->status);
      break;
    case PROP_DISCARD_REASON:
      g_value_set_string (value, self->record->discard_reason);
      break;
    case PROP_N_FLAGS:
      g_value_set_uint (value, self->flags->len);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_image_item_class_init (KilnImageItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kiln_image_item_finalize;
  object_class->get_property = kiln_image_item_get_property;

  properties[PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLASS_NAME] =
    g_param_spec_string ("class-name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_int ("status", NULL, NULL, KILN_IMAGE_KEPT, KILN_IMAGE_DISCARDED, KILN_IMAGE_KEPT,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DISCARD_REASON] =
    g_param_spec_string ("discard-reason", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_FLAGS] =
    g_param_spec_uint ("n-flags", NULL, NULL, 0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
kiln_image_item_init (KilnImageItem *self)
{
}
