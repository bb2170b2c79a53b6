/* kiln-run-item.c: a run as a list item (see kiln-run-item.h). */
#include "config.h"

#include "kiln-run-item.h"

struct _KilnRunItem
{
  GObject parent_instance;
  KilnRunInfo *info;
};

enum { PROP_0, PROP_ID, PROP_INFO, N_PROPS };
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (KilnRunItem, kiln_run_item, G_TYPE_OBJECT)

KilnRunItem *
kiln_run_item_new (const KilnRunInfo *info)
{
  KilnRunItem *self = g_object_new (KILN_TYPE_RUN_ITEM, NULL);

  self->info = kiln_run_info_copy (info);
  return self;
}

const char *
kiln_run_item_get_id (KilnRunItem *self)
{
  g_return_val_if_fail (KILN_IS_RUN_ITEM (self), NULL);
  return self->info->id;
}

const char *
kiln_run_item_get_dir (KilnRunItem *self)
{
  g_return_val_if_fail (KILN_IS_RUN_ITEM (self), NULL);
  return self->info->dir;
}

const KilnRunInfo *
kiln_run_item_get_info (KilnRunItem *self)
{
  g_return_val_if_fail (KILN_IS_RUN_ITEM (self), NULL);
  return self->info;
}

void
kiln_run_item_update (KilnRunItem *self, const KilnRunInfo *info)
{
  g_return_if_fail (KILN_IS_RUN_ITEM (self));

  if (kiln_run_info_equal (self->info, info))
    return;
  kiln_run_info_free (self->info);
  self->info = kiln_run_info_copy (info);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INFO]);
}

static void
kiln_run_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  KilnRunItem *self = KILN_RUN_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->info->id);
      break;
    case PROP_INFO:
      g_value_set_pointer (value, self->info);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_run_item_finalize (GObject *object)
{
  kiln_run_info_free (KILN_RUN_ITEM (object)->info);
  G_OBJECT_CLASS (kiln_run_item_parent_class)->finalize (object);
}

static void
kiln_run_item_class_init (KilnRunItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = kiln_run_item_get_property;
  object_class->finalize = kiln_run_item_finalize;
  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* The KilnRunInfo; notified when a new reading differs. */
  properties[PROP_INFO] = g_param_spec_pointer ("info", NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
kiln_run_item_init (KilnRunItem *self)
{
}
