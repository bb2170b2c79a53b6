/* kiln-netspec.c: the KilnNetSpec object and its layers: layer types and
 * defaults, adding, finding and copying layers, the checks on each layer's
 * hyper-parameters and inputs. Shape inference, costs and the calculator's
 * messages are in kiln-netspec-shapes.c. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-engine-error.h"
#include "kiln-netspec-private.h"

G_DEFINE_FINAL_TYPE (KilnNetSpec, kiln_net_spec, G_TYPE_OBJECT)

static const char *const type_names[KILN_LAYER_N_TYPES] = {
  [KILN_LAYER_CONVOLUTION] = "Convolution",
  [KILN_LAYER_RELU] = "ReLU",
  [KILN_LAYER_LRN] = "LRN",
  [KILN_LAYER_MAX_POOL] = "MaxPool",
  [KILN_LAYER_AVG_POOL] = "AvgPool",
  [KILN_LAYER_GLOBAL_AVG_POOL] = "GlobalAvgPool",
  [KILN_LAYER_INNER_PRODUCT] = "InnerProduct",
  [KILN_LAYER_DROPOUT] = "Dropout",
  [KILN_LAYER_BATCH_NORM] = "BatchNorm",
  [KILN_LAYER_CONCAT] = "Concat",
  [KILN_LAYER_ADD] = "Add",
  [KILN_LAYER_FLATTEN] = "Flatten",
  [KILN_LAYER_SOFTMAX] = "Softmax",
  [KILN_LAYER_PAD] = "Pad",
};

static const char *const pad_mode_names[] = {
  [KILN_PAD_CONSTANT] = "constant",
  [KILN_PAD_EDGE] = "edge",
  [KILN_PAD_REFLECT] = "reflect",
};

const char *
kiln_layer_type_to_string (KilnLayerType type)
{
  if ((guint) type >= KILN_LAYER_N_TYPES)
    return "Unknown";
  return type_names[type];
}

gboolean
kiln_layer_type_from_string (const char    *name,
                             KilnLayerType *out_type)
{
  g_return_val_if_fail (out_type != NULL, FALSE);

  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < KILN_LAYER_N_TYPES; i++)
    if (g_ascii_strcasecmp (name, type_names[i]) == 0)
      {
        *out_type = i;
        return TRUE;
      }
  return FALSE;
}

const char *
kiln_pad_mode_to_string (KilnPadMode mode)
{
  if ((guint) mode >= G_N_ELEMENTS (pad_mode_names))
    return NULL;
  return pad_mode_names[mode];
}

gboolean
kiln_pad_mode_from_string (const char  *name,
                           KilnPadMode *out_mode)
{
  g_return_val_if_fail (out_mode != NULL, FALSE);

  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (pad_mode_names); i++)
    if (g_str_equal (name, pad_mode_names[i]))
      {
        *out_mode = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
kiln_layer_type_has_weights (KilnLayerType type)
{
  return type == KILN_LAYER_CONVOLUTION
      || type == KILN_LAYER_INNER_PRODUCT
      || type == KILN_LAYER_BATCH_NORM;
}

void
kiln_layer_spec_init (KilnLayerSpec *layer,
                      KilnLayerType  type,
                      const char    *name)
{
  g_return_if_fail (layer != NULL);

  memset (layer, 0, sizeof *layer);
  layer->type = type;
  layer->name = g_strdup (name);
  layer->bias = TRUE;
  layer->stride_h = layer->stride_w = 1;
  layer->dilation_h = layer->dilation_w = 1;
  layer->group = 1;
  layer->rounding = KILN_ROUND_FLOOR;
  layer->local_size = 5;
  layer->k = 1.0f;
  layer->alpha = 1e-4f;
  layer->beta = 0.75f;
  layer->ratio = 0.5f;
  layer->epsilon = 1e-5f;
  layer->momentum = 0.9f;
  layer->axis = 1;
}

void
kiln_layer_spec_clear (KilnLayerSpec *layer)
{
  if (layer == NULL)
    return;
  g_clear_pointer (&layer->name, g_free);
  g_clear_pointer (&layer->inputs, g_strfreev);
}

void
kiln_layer_spec_copy (const KilnLayerSpec *src,
                      KilnLayerSpec       *dest)
{
  g_return_if_fail (src != NULL && dest != NULL);

  if (src == dest)
    return;
  *dest = *src;
  dest->name = g_strdup (src->name);
  dest->inputs = g_strdupv (src->inputs);
}

static void
layer_free (gpointer data)
{
  KilnLayerSpec *layer = data;

  kiln_layer_spec_clear (layer);
  g_free (layer);
}

static void
kiln_net_spec_finalize (GObject *object)
{
  KilnNetSpec *self = KILN_NET_SPEC (object);

  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->layers, g_ptr_array_unref);
  g_clear_pointer (&self->shapes, g_array_unref);

  G_OBJECT_CLASS (kiln_net_spec_parent_class)->finalize (object);
}

static void
kiln_net_spec_class_init (KilnNetSpecClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = kiln_net_spec_finalize;
}

static void
kiln_net_spec_init (KilnNetSpec *self)
{
  self->layers = g_ptr_array_new_with_free_func (layer_free);
  self->shapes = g_array_new (FALSE, TRUE, sizeof (KilnLayerShape));
  self->exact_fit = TRUE;
}

KilnNetSpec *
kiln_net_spec_new (const char *name,
                   int         channels,
                   int         height,
                   int         width)
{
  KilnNetSpec *self = g_object_new (KILN_TYPE_NET_SPEC, NULL);

  self->name = g_strdup (name ? name : "");
  self->channels = channels;
  self->height = height;
  self->width = width;
  return self;
}

KilnNetSpec *
kiln_net_spec_copy (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), NULL);

  KilnNetSpec *copy = kiln_net_spec_new (self->name, self->channels, self->height, self->width);

  copy->exact_fit = self->exact_fit;
  for (guint i = 0; i < self->layers->len; i++)
    {
      KilnLayerSpec *layer = g_new0 (KilnLayerSpec, 1);
      kiln_layer_spec_copy (g_ptr_array_index (self->layers, i), layer);
      g_ptr_array_add (copy->layers, layer);
    }
  if (self->shapes_valid)
    {
      g_array_append_vals (copy->shapes, self->shapes->data, self->shapes->len);
      copy->shapes_valid = TRUE;
    }
  return copy;
}

const char *
kiln_net_spec_get_name (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), NULL);
  return self->name;
}

void
kiln_net_spec_get_input (KilnNetSpec *self,
                         int         *channels,
                         int         *height,
                         int         *width)
{
  g_return_if_fail (KILN_IS_NET_SPEC (self));

  if (channels)
    *channels = self->channels;
  if (height)
    *height = self->height;
  if (width)
    *width = self->width;
}

void
kiln_net_spec_set_input (KilnNetSpec *self,
                         int          channels,
                         int          height,
                         int          width)
{
  g_return_if_fail (KILN_IS_NET_SPEC (self));

  self->channels = channels;
  self->height = height;
  self->width = width;
  self->shapes_valid = FALSE;
}

void
kiln_net_spec_set_exact_fit (KilnNetSpec *self,
                             gboolean     exact_fit)
{
  g_return_if_fail (KILN_IS_NET_SPEC (self));

  self->exact_fit = !!exact_fit;
  self->shapes_valid = FALSE;
}

gboolean
kiln_net_spec_get_exact_fit (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), TRUE);
  return self->exact_fit;
}

int
kiln_net_spec_find_layer (KilnNetSpec *self,
                          const char  *name)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), -1);

  if (name == NULL)
    return -1;
  for (guint i = 0; i < self->layers->len; i++)
    {
      const KilnLayerSpec *layer = g_ptr_array_index (self->layers, i);
      if (g_strcmp0 (layer->name, name) == 0)
        return i;
    }
  return -1;
}

/* Window and Pad layer pads: 0 to MAX_WINDOW a side. */
static gboolean
check_pads (const KilnLayerSpec *layer,
            GError             **error)
{
  if (!in_range (layer->pad_top, 0, MAX_WINDOW) || !in_range (layer->pad_bottom, 0, MAX_WINDOW)
      || !in_range (layer->pad_left, 0, MAX_WINDOW) || !in_range (layer->pad_right, 0, MAX_WINDOW))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: pads (top %d, left %d, bottom %d, right %d) must be 0 to %d"),
                   layer->name, layer->pad_top, layer->pad_left, layer->pad_bottom,
                   layer->pad_right, MAX_WINDOW);
      return FALSE;
    }
  return TRUE;
}

/* Hyper-parameters that no input size could make work. */
gboolean
kiln_net_spec_validate_layer (const KilnLayerSpec *layer,
                              GError             **error)
{
  const char *name = layer->name;
  gboolean windowed = layer->type == KILN_LAYER_CONVOLUTION
                   || layer->type == KILN_LAYER_MAX_POOL
                   || layer->type == KILN_LAYER_AVG_POOL;

  if ((guint) layer->type >= KILN_LAYER_N_TYPES)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: unknown layer type %d"), name, (int) layer->type);
      return FALSE;
    }
  if (windowed)
    {
      if (!in_range (layer->kernel_h, 1, MAX_WINDOW) || !in_range (layer->kernel_w, 1, MAX_WINDOW))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: kernel %d×%d is not usable; each side must be 1 to %d"),
                       name, layer->kernel_h, layer->kernel_w, MAX_WINDOW);
          return FALSE;
        }
      if (!in_range (layer->stride_h, 1, MAX_WINDOW) || !in_range (layer->stride_w, 1, MAX_WINDOW))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: stride %d×%d is not usable; each side must be 1 to %d"),
                       name, layer->stride_h, layer->stride_w, MAX_WINDOW);
          return FALSE;
        }
      if (!check_pads (layer, error))
        return FALSE;
    }
  if (layer->type == KILN_LAYER_PAD)
    {
      if (!check_pads (layer, error))
        return FALSE;
      if (kiln_pad_mode_to_string (layer->pad_mode) == NULL)
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: unknown pad mode %d; use constant, edge or reflect"), name, (int) layer->pad_mode);
          return FALSE;
        }
      if (!isfinite (layer->pad_value))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: pad value %g is not finite; pad with a finite value"), name, layer->pad_value);
          return FALSE;
        }
    }
  if ((layer->type == KILN_LAYER_MAX_POOL || layer->type == KILN_LAYER_AVG_POOL)
      && (MAX (layer->pad_top, layer->pad_bottom) >= layer->kernel_h
          || MAX (layer->pad_left, layer->pad_right) >= layer->kernel_w))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: pads (top %d, left %d, bottom %d, right %d) must be smaller than the "
                     "%d×%d window, or a window would see only padding"),
                   name, layer->pad_top, layer->pad_left, layer->pad_bottom, layer->pad_right,
                   layer->kernel_h, layer->kernel_w);
      return FALSE;
    }
  if (layer->type == KILN_LAYER_CONVOLUTION)
    {
      if (!in_range (layer->dilation_h, 1, MAX_WINDOW) || !in_range (layer->dilation_w, 1, MAX_WINDOW))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: dilation %d×%d is not usable; each side must be 1 to %d"),
                       name, layer->dilation_h, layer->dilation_w, MAX_WINDOW);
          return FALSE;
        }
      if (!in_range (layer->group, 1, MAX_CHANNELS))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: group %d is not usable; it must be at least 1"), name, layer->group);
          return FALSE;
        }
    }
  if ((layer->type == KILN_LAYER_CONVOLUTION || layer->type == KILN_LAYER_INNER_PRODUCT)
      && !in_range (layer->num_output, 1, MAX_CHANNELS))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: %d outputs is not usable; it must be 1 to %d"),
                   name, layer->num_output, MAX_CHANNELS);
      return FALSE;
    }
  if (layer->type == KILN_LAYER_CONVOLUTION && layer->num_output % layer->group != 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: %d outputs do not split into %d groups"),
                   name, layer->num_output, layer->group);
      return FALSE;
    }
  if (layer->type == KILN_LAYER_LRN
      && (!in_range (layer->local_size, 1, MAX_WINDOW) || !(layer->beta >= 0.0f)
          || !(layer->alpha >= 0.0f) || !(layer->k > 0.0f)))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: LRN needs size ≥ 1, alpha ≥ 0, beta ≥ 0 and k > 0 (got %d, %g, %g, %g)"),
                   name, layer->local_size, layer->alpha, layer->beta, layer->k);
      return FALSE;
    }
  if (layer->type == KILN_LAYER_DROPOUT && !(layer->ratio >= 0.0f && layer->ratio < 1.0f))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: dropout ratio %g must be at least 0 and below 1"), name, layer->ratio);
      return FALSE;
    }
  if (layer->type == KILN_LAYER_BATCH_NORM
      && !(layer->epsilon > 0.0f && layer->momentum >= 0.0f && layer->momentum <= 1.0f))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: batch norm needs epsilon > 0 and momentum 0 to 1 (got %g, %g)"),
                   name, layer->epsilon, layer->momentum);
      return FALSE;
    }
  if ((layer->type == KILN_LAYER_CONCAT || layer->type == KILN_LAYER_FLATTEN) && layer->axis != 1)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   _("%s: %s along axis %d is not supported; only axis 1 (channels) is"),
                   name, kiln_layer_type_to_string (layer->type), layer->axis);
      return FALSE;
    }
  return TRUE;
}

/* Resolves the inputs of layer `index` to indices of earlier layers (-1 for
 * the net input); anything else would make a cycle or dangle. */
GArray *
kiln_net_spec_resolve_inputs (KilnNetSpec *self,
                              guint        index,
                              GError     **error)
{
  const KilnLayerSpec *layer = g_ptr_array_index (self->layers, index);
  g_autoptr(GArray) result = g_array_new (FALSE, FALSE, sizeof (int));

  if (layer->inputs == NULL || layer->inputs[0] == NULL)
    {
      int prev = (int) index - 1;
      g_array_append_val (result, prev);
      return g_steal_pointer (&result);
    }
  for (guint i = 0; layer->inputs[i]; i++)
    {
      const char *input = layer->inputs[i];
      int j = g_str_equal (input, KILN_NET_SPEC_INPUT_NAME) ? -1 : kiln_net_spec_find_layer (self, input);

      if (j == -1 && !g_str_equal (input, KILN_NET_SPEC_INPUT_NAME))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                       _("%s: input “%s” is not a layer of this net"), layer->name, input);
          return NULL;
        }
      if (j >= (int) index)
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       _("%s: input “%s” comes later in the net; layers may only read earlier ones"),
                       layer->name, input);
          return NULL;
        }
      g_array_append_val (result, j);
    }
  return g_steal_pointer (&result);
}

gboolean
kiln_net_spec_add_layer (KilnNetSpec         *self,
                         const KilnLayerSpec *layer,
                         GError             **error)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), FALSE);
  g_return_val_if_fail (layer != NULL, FALSE);

  if (layer->name == NULL || layer->name[0] == '\0')
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("Layer %u of “%s” has no name; every layer needs one"),
                   self->layers->len + 1, self->name);
      return FALSE;
    }
  if (g_str_equal (layer->name, KILN_NET_SPEC_INPUT_NAME)
      || kiln_net_spec_find_layer (self, layer->name) >= 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   _("%s: the name is already taken in “%s”; layer names must be unique"),
                   layer->name, self->name);
      return FALSE;
    }
  if (!kiln_net_spec_validate_layer (layer, error))
    return FALSE;

  KilnLayerSpec *copy = g_new0 (KilnLayerSpec, 1);
  kiln_layer_spec_copy (layer, copy);
  g_ptr_array_add (self->layers, copy);

  g_autoptr(GArray) inputs = kiln_net_spec_resolve_inputs (self, self->layers->len - 1, error);
  if (inputs == NULL)
    {
      g_ptr_array_remove_index (self->layers, self->layers->len - 1);
      return FALSE;
    }
  self->shapes_valid = FALSE;
  return TRUE;
}

guint
kiln_net_spec_get_n_layers (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), 0);
  return self->layers->len;
}

KilnLayerSpec *
kiln_net_spec_get_layer (KilnNetSpec *self,
                         guint        index)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), NULL);
  g_return_val_if_fail (index < self->layers->len, NULL);
  return g_ptr_array_index (self->layers, index);
}

GArray *
kiln_net_spec_get_layer_inputs (KilnNetSpec *self,
                                guint        index)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), NULL);
  g_return_val_if_fail (index < self->layers->len, NULL);
  return kiln_net_spec_resolve_inputs (self, index, NULL);
}
