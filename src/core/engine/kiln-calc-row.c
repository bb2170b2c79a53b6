/* kiln-calc-row.c: one layer of the layer-size calculator (see
 * kiln-calc-row.h); KilnNetCalc computes and assigns the data. */
#include "config.h"

#include "kiln-calc-row-private.h"

G_DEFINE_BOXED_TYPE (KilnCalcFix, kiln_calc_fix, kiln_calc_fix_copy, kiln_calc_fix_free)

KilnCalcFix *
kiln_calc_fix_copy (const KilnCalcFix *fix)
{
  KilnCalcFix *copy = g_memdup2 (fix, sizeof *fix);

  copy->label = g_strdup (fix->label);
  return copy;
}

void
kiln_calc_fix_free (KilnCalcFix *fix)
{
  if (fix == NULL)
    return;
  g_free (fix->label);
  g_free (fix);
}

G_DEFINE_FINAL_TYPE (KilnCalcRow, kiln_calc_row, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_INDEX,
  PROP_NAME,
  PROP_LAYER_TYPE,
  PROP_OUTPUTS,
  PROP_KERNEL,
  PROP_STRIDE,
  PROP_PAD,
  PROP_FIT,
  PROP_OUTPUT,
  PROP_ARITHMETIC,
  PROP_MESSAGE,
  PROP_PARAMS,
  PROP_MACS,
  PROP_COMPARE,
  PROP_CHANGED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
row_data_clear (KilnCalcRowData *d)
{
  g_clear_pointer (&d->name, g_free);
  g_clear_pointer (&d->arithmetic, g_free);
  g_clear_pointer (&d->message, g_free);
  g_clear_pointer (&d->fixes, g_ptr_array_unref);
  g_clear_object (&d->compare);
}

KilnCalcRow *
kiln_calc_row_new (void)
{
  return g_object_new (KILN_TYPE_CALC_ROW, NULL);
}

static gboolean
fixes_equal (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (g_strcmp0 (((KilnCalcFix *) a->pdata[i])->label, ((KilnCalcFix *) b->pdata[i])->label) != 0)
      return FALSE;
  return TRUE;
}

void
kiln_calc_row_assign (KilnCalcRow *self,
                      KilnCalcRow *from)
{
  g_return_if_fail (KILN_IS_CALC_ROW (self) && KILN_IS_CALC_ROW (from));

  KilnCalcRowData old = self->d;
  const KilnCalcRowData *n = &from->d;
  gboolean output = old.fit != n->fit || old.c != n->c || old.h != n->h || old.w != n->w;
  gboolean changes[N_PROPS] = {
    [PROP_INDEX] = old.index != n->index,
    [PROP_NAME] = g_strcmp0 (old.name, n->name) != 0,
    [PROP_LAYER_TYPE] = old.type != n->type || old.rounding != n->rounding,
    [PROP_OUTPUTS] = old.outputs != n->outputs,
    [PROP_KERNEL] = old.kernel_h != n->kernel_h || old.kernel_w != n->kernel_w,
    [PROP_STRIDE] = old.stride_h != n->stride_h || old.stride_w != n->stride_w,
    [PROP_PAD] = old.pad_top != n->pad_top || old.pad_left != n->pad_left
                 || old.pad_bottom != n->pad_bottom || old.pad_right != n->pad_right,
    [PROP_FIT] = old.fit != n->fit || !fixes_equal (old.fixes, n->fixes),
    [PROP_OUTPUT] = output,
    [PROP_ARITHMETIC] = g_strcmp0 (old.arithmetic, n->arithmetic) != 0,
    [PROP_MESSAGE] = g_strcmp0 (old.message, n->message) != 0,
    [PROP_PARAMS] = old.params != n->params,
    [PROP_MACS] = old.macs != n->macs,
    [PROP_COMPARE] = old.compare != n->compare,
    [PROP_CHANGED] = old.changed != n->changed,
  };

  /* Take the new data; @from keeps empty fields. */
  self->d = from->d;
  memset (&from->d, 0, sizeof from->d);
  from->d.fixes = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_calc_fix_free);
  row_data_clear (&old);

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = 1; i < N_PROPS; i++)
    if (changes[i])
      g_object_notify_by_pspec (G_OBJECT (self), properties[i]);
  g_object_thaw_notify (G_OBJECT (self));
}

static void
kiln_calc_row_finalize (GObject *object)
{
  row_data_clear (&KILN_CALC_ROW (object)->d);
  G_OBJECT_CLASS (kiln_calc_row_parent_class)->finalize (object);
}

static void
kiln_calc_row_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  KilnCalcRow *self = KILN_CALC_ROW (object);

  switch (prop_id)
    {
    case PROP_INDEX:
      g_value_set_uint (value, self->d.index);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->d.name);
      break;
    case PROP_LAYER_TYPE:
      g_value_set_int (value, self->d.type);
      break;
    case PROP_OUTPUTS:
      g_value_set_int (value, self->d.outputs);
      break;
    case PROP_KERNEL:
      g_value_set_int (value, self->d.kernel_h);
      break;
    case PROP_STRIDE:
      g_value_set_int (value, self->d.stride_h);
      break;
    case PROP_PAD:
      g_value_set_int (value, self->d.pad_top);
      break;
    case PROP_FIT:
      g_value_set_int (value, self->d.fit);
      break;
    case PROP_OUTPUT:
      g_value_take_string (value, kiln_calc_row_format_output (self));
      break;
    case PROP_ARITHMETIC:
      g_value_set_string (value, self->d.arithmetic);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->d.message);
      break;
    case PROP_PARAMS:
      g_value_set_int64 (value, self->d.params);
      break;
    case PROP_MACS:
      g_value_set_int64 (value, self->d.macs);
      break;
    case PROP_COMPARE:
      g_value_set_object (value, self->d.compare);
      break;
    case PROP_CHANGED:
      g_value_set_boolean (value, self->d.changed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
kiln_calc_row_class_init (KilnCalcRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = kiln_calc_row_finalize;
  object_class->get_property = kiln_calc_row_get_property;

  properties[PROP_INDEX] = g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  /* The type and, for pooling, its rounding. */
  properties[PROP_LAYER_TYPE] = g_param_spec_int ("layer-type", NULL, NULL, 0, KILN_LAYER_N_TYPES, 0, flags);
  properties[PROP_OUTPUTS] = g_param_spec_int ("outputs", NULL, NULL, 0, G_MAXINT, 0, flags);
  /* Kernel, stride and pad notify when any side changes; the getters give each. */
  properties[PROP_KERNEL] = g_param_spec_int ("kernel", NULL, NULL, 0, G_MAXINT, 0, flags);
  properties[PROP_STRIDE] = g_param_spec_int ("stride", NULL, NULL, 0, G_MAXINT, 0, flags);
  properties[PROP_PAD] = g_param_spec_int ("pad", NULL, NULL, 0, G_MAXINT, 0, flags);
  /* The fit, or the fixes offered for it, changed. */
  properties[PROP_FIT] = g_param_spec_int ("fit", NULL, NULL, 0, KILN_CALC_FIT_UNREACHED, 0, flags);
  properties[PROP_OUTPUT] = g_param_spec_string ("output", NULL, NULL, NULL, flags);
  properties[PROP_ARITHMETIC] = g_param_spec_string ("arithmetic", NULL, NULL, NULL, flags);
  properties[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL, flags);
  properties[PROP_PARAMS] = g_param_spec_int64 ("params", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_MACS] = g_param_spec_int64 ("macs", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_COMPARE] = g_param_spec_object ("compare", NULL, NULL, KILN_TYPE_CALC_ROW, flags);
  properties[PROP_CHANGED] = g_param_spec_boolean ("changed", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
kiln_calc_row_init (KilnCalcRow *self)
{
  self->d.fixes = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_calc_fix_free);
}

guint
kiln_calc_row_get_index (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), 0);
  return self->d.index;
}

const char *
kiln_calc_row_get_name (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), NULL);
  return self->d.name;
}

KilnLayerType
kiln_calc_row_get_layer_type (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), KILN_LAYER_N_TYPES);
  return self->d.type;
}

int
kiln_calc_row_get_outputs (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), 0);
  return self->d.outputs;
}

gboolean
kiln_calc_row_has_window (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), FALSE);
  return self->d.has_window;
}

void
kiln_calc_row_get_kernel (KilnCalcRow *self,
                          int         *height,
                          int         *width)
{
  g_return_if_fail (KILN_IS_CALC_ROW (self));
  if (height)
    *height = self->d.kernel_h;
  if (width)
    *width = self->d.kernel_w;
}

void
kiln_calc_row_get_stride (KilnCalcRow *self,
                          int         *height,
                          int         *width)
{
  g_return_if_fail (KILN_IS_CALC_ROW (self));
  if (height)
    *height = self->d.stride_h;
  if (width)
    *width = self->d.stride_w;
}

void
kiln_calc_row_get_pads (KilnCalcRow *self,
                        int         *top,
                        int         *left,
                        int         *bottom,
                        int         *right)
{
  g_return_if_fail (KILN_IS_CALC_ROW (self));
  if (top)
    *top = self->d.pad_top;
  if (left)
    *left = self->d.pad_left;
  if (bottom)
    *bottom = self->d.pad_bottom;
  if (right)
    *right = self->d.pad_right;
}

KilnRounding
kiln_calc_row_get_rounding (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), KILN_ROUND_FLOOR);
  return self->d.rounding;
}

gboolean
kiln_calc_row_param_applies (KilnCalcRow  *self,
                             KilnCalcParam param)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), FALSE);

  KilnLayerType type = self->d.type;
  switch (param)
    {
    case KILN_CALC_PARAM_OUTPUTS:
      return type == KILN_LAYER_CONVOLUTION || type == KILN_LAYER_INNER_PRODUCT;
    case KILN_CALC_PARAM_KERNEL:
    case KILN_CALC_PARAM_STRIDE:
      return self->d.has_window;
    case KILN_CALC_PARAM_PAD:
      return self->d.has_window || type == KILN_LAYER_PAD;
    case KILN_CALC_PARAM_TYPE:
    case KILN_CALC_PARAM_ROUNDING:
      return type == KILN_LAYER_MAX_POOL || type == KILN_LAYER_AVG_POOL;
    default:
      return FALSE;
    }
}

KilnCalcFit
kiln_calc_row_get_fit (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), KILN_CALC_FIT_UNREACHED);
  return self->d.fit;
}

gboolean
kiln_calc_row_has_output (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), FALSE);
  return self->d.fit != KILN_CALC_FIT_FAILED && self->d.fit != KILN_CALC_FIT_UNREACHED;
}

void
kiln_calc_row_get_output (KilnCalcRow *self,
                          int         *depth,
                          int         *height,
                          int         *width)
{
  g_return_if_fail (KILN_IS_CALC_ROW (self));
  if (depth)
    *depth = self->d.c;
  if (height)
    *height = self->d.h;
  if (width)
    *width = self->d.w;
}

void
kiln_calc_row_get_input (KilnCalcRow *self,
                         int         *depth,
                         int         *height,
                         int         *width)
{
  g_return_if_fail (KILN_IS_CALC_ROW (self));
  if (depth)
    *depth = self->d.in_c;
  if (height)
    *height = self->d.in_h;
  if (width)
    *width = self->d.in_w;
}

gint64
kiln_calc_row_get_params (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), 0);
  return self->d.params;
}

gint64
kiln_calc_row_get_macs (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), 0);
  return self->d.macs;
}

gint64
kiln_calc_row_get_activation_bytes (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), 0);
  return (gint64) self->d.c * self->d.h * self->d.w * (gint64) sizeof (float);
}

gint64
kiln_calc_row_get_fan_in (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), 0);
  return self->d.fan_in;
}

const char *
kiln_calc_row_get_arithmetic (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), NULL);
  return self->d.arithmetic;
}

const char *
kiln_calc_row_get_message (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), NULL);
  return self->d.message;
}

GPtrArray *
kiln_calc_row_get_fixes (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), NULL);
  return self->d.fixes;
}

char *
kiln_calc_row_format_output (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), NULL);

  if (!kiln_calc_row_has_output (self))
    return g_strdup ("—");
  return g_strdup_printf ("%d × %d × %d", self->d.w, self->d.h, self->d.c);
}

KilnCalcRow *
kiln_calc_row_get_compare (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), NULL);
  return self->d.compare;
}

gboolean
kiln_calc_row_get_changed (KilnCalcRow *self)
{
  g_return_val_if_fail (KILN_IS_CALC_ROW (self), FALSE);
  return self->d.changed;
}
