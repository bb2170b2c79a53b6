/* Fine-tuning surgery on a KilnNetSpec: freeze the lower layers, replace the
 * top layer, and split a net where the frozen part ends. */
#include "kiln-netspec.h"

#include "kiln-engine-error.h"

gboolean
kiln_net_spec_freeze_up_to (KilnNetSpec *self, const char *layer, GError **error)
{
  int last = layer ? kiln_net_spec_find_layer (self, layer) : -1;

  if (layer != NULL && last < 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                   "The network has no layer “%s” to freeze up to; kiln-cli calc lists its layers", layer);
      return FALSE;
    }
  guint n = kiln_net_spec_get_n_layers (self);
  if (last == (int) n - 1)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "Freezing up to “%s”, the last layer, would leave nothing to train; "
                   "freeze up to a layer below it", layer);
      return FALSE;
    }
  gboolean trainable_left = FALSE;
  for (guint i = last + 1; i < n; i++)
    trainable_left |= kiln_layer_type_has_weights (kiln_net_spec_get_layer (self, i)->type);
  if (!trainable_left)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "No layer with weights comes after “%s”: freezing up to it would leave nothing to "
                   "train; freeze up to a layer below the last one with weights", layer);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    kiln_net_spec_get_layer (self, i)->frozen = (int) i <= last;
  return TRUE;
}

int
kiln_net_spec_get_n_frozen (KilnNetSpec *self)
{
  guint n = kiln_net_spec_get_n_layers (self);
  guint i = 0;
  while (i < n && kiln_net_spec_get_layer (self, i)->frozen)
    i++;
  return i;
}

gboolean
kiln_net_spec_replace_top (KilnNetSpec *self, int num_classes, GError **error)
{
  guint n = kiln_net_spec_get_n_layers (self);

  if (num_classes < 2)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "A classifier needs at least 2 classes, not %d", num_classes);
      return FALSE;
    }
  /* The class scores come from the last layer with weights. */
  for (int i = (int) n - 1; i >= 0; i--)
    {
      KilnLayerSpec *layer = kiln_net_spec_get_layer (self, i);
      if (!kiln_layer_type_has_weights (layer->type))
        continue;
      if (layer->type != KILN_LAYER_INNER_PRODUCT && layer->type != KILN_LAYER_CONVOLUTION)
        break;
      layer->num_output = num_classes;
      layer->frozen = FALSE;
      return kiln_net_spec_infer_shapes (self, error);
    }
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
               "The network does not end in an inner product or convolution whose outputs could be "
               "the classes; its top layer cannot be replaced");
  return FALSE;
}

KilnNetSpec *
kiln_net_spec_split (KilnNetSpec *self, guint first, GError **error)
{
  guint n = kiln_net_spec_get_n_layers (self);

  if (first == 0 || first >= n)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "A net of %u layers cannot be split before layer %u", n, first);
      return NULL;
    }
  if (!kiln_net_spec_infer_shapes (self, error))
    return NULL;
  const KilnLayerSpec *boundary = kiln_net_spec_get_layer (self, first - 1);
  const KilnLayerShape *shape = kiln_net_spec_get_shape (self, first - 1);
  g_autofree char *name = g_strdup_printf ("%s-from-%s", kiln_net_spec_get_name (self),
                                           kiln_net_spec_get_layer (self, first)->name);
  g_autoptr(KilnNetSpec) tail = kiln_net_spec_new (name, shape->c, shape->h, shape->w);
  kiln_net_spec_set_exact_fit (tail, kiln_net_spec_get_exact_fit (self));

  for (guint i = first; i < n; i++)
    {
      g_auto(KilnLayerSpec) layer;
      kiln_layer_spec_copy (kiln_net_spec_get_layer (self, i), &layer);
      g_autoptr(GArray) inputs = kiln_net_spec_get_layer_inputs (self, i);
      g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
      for (guint k = 0; k < inputs->len; k++)
        {
          int from = g_array_index (inputs, int, k);
          if (from == (int) first - 1)
            g_strv_builder_add (names, KILN_NET_SPEC_INPUT_NAME);
          else if (from >= (int) first)
            g_strv_builder_add (names, kiln_net_spec_get_layer (self, from)->name);
          else
            {
              g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                           "%s reads %s, below %s: the net cannot be split there (a branch crosses it)",
                           layer.name, from < 0 ? KILN_NET_SPEC_INPUT_NAME : kiln_net_spec_get_layer (self, from)->name,
                           boundary->name);
              return NULL;
            }
        }
      g_strfreev (layer.inputs);
      layer.inputs = g_strv_builder_end (names);
      if (!kiln_net_spec_add_layer (tail, &layer, error))
        return NULL;
    }
  if (!kiln_net_spec_infer_shapes (tail, error))
    return NULL;
  return g_steal_pointer (&tail);
}
