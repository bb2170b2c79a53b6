#include "kiln-checkpoint.h"

#include "kiln-error.h"

typedef struct {
  char *name;
  gint64 shape[4];
  float *data;
} Entry;

static void
entry_clear (gpointer data)
{
  Entry *e = data;
  g_free (e->name);
  g_free (e->data);
}

static gboolean
add_entry (GArray *entries, char *name, const KilnShape *shape)
{
  Entry e = { .name = name, .shape = { shape->n, shape->c, shape->h, shape->w } };
  e.data = g_try_new (float, kiln_shape_n_elements (shape));
  if (e.data == NULL)
    {
      g_free (name);
      return FALSE;
    }
  g_array_append_val (entries, e);
  return TRUE;
}

/* Appends one net's parameters (and slots) to @entries. */
static gboolean
collect_net (GArray *entries, KilnNet *net, guint n_slots, const char *path, GError **error)
{
  KilnNetSpec *spec = kiln_net_get_spec (net);

  for (guint l = 0; l < kiln_net_spec_get_n_layers (spec); l++)
    {
      const char *layer = kiln_net_spec_get_layer (spec, l)->name;
      gboolean frozen = kiln_net_spec_get_layer (spec, l)->frozen;
      guint n_params = kiln_net_get_n_params (net, layer);
      for (guint i = 0; i < n_params; i++)
        {
          KilnShape shape;
          if (!kiln_net_get_param_shape (net, layer, i, &shape, error))
            return FALSE;
          gint64 n = kiln_shape_n_elements (&shape);
          if (!add_entry (entries, g_strdup_printf ("param/%s/%u", layer, i), &shape))
            goto out_of_memory;
          if (!kiln_net_get_param (net, layer, i, g_array_index (entries, Entry, entries->len - 1).data, n, error))
            return FALSE;
          /* Frozen layers are never updated: they have no optimizer state. */
          if (frozen)
            continue;
          for (guint s = 0; s < n_slots; s++)
            {
              if (!add_entry (entries, g_strdup_printf ("slot/%s/%u/%u", layer, i, s), &shape))
                goto out_of_memory;
              Entry *e = &g_array_index (entries, Entry, entries->len - 1);
              /* Non-learnable parameters (BatchNorm statistics) have no slots. */
              if (!kiln_net_get_param_slot (net, layer, i, s, e->data, n, NULL))
                g_array_set_size (entries, entries->len - 1);
            }
        }
    }
  return TRUE;

out_of_memory:
  g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "Not enough memory to write the checkpoint %s", path);
  return FALSE;
}

gboolean
kiln_checkpoint_save (KilnNet *const *nets, guint n_nets, const char *path, guint n_optimizer_slots,
                      GHashTable *metadata, GError **error)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_autofree KilnSafetensorsTensor *tensors = NULL;
  g_array_set_clear_func (entries, entry_clear);

  for (guint k = 0; k < n_nets; k++)
    if (!collect_net (entries, nets[k], MIN (n_optimizer_slots, 2), path, error))
      return FALSE;

  tensors = g_new0 (KilnSafetensorsTensor, MAX (entries->len, 1));
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      tensors[i] = (KilnSafetensorsTensor) {
        .name = e->name, .dtype = KILN_DTYPE_F32, .n_dims = 4, .shape = e->shape,
        .n_bytes = (gsize) e->shape[0] * e->shape[1] * e->shape[2] * e->shape[3] * sizeof (float),
        .data = e->data,
      };
    }
  return kiln_safetensors_save (path, tensors, entries->len, metadata, error);
}

static gboolean
shape_matches (const KilnSafetensorsTensor *t, const KilnShape *shape)
{
  gint64 want[4] = { shape->n, shape->c, shape->h, shape->w };
  if (t->dtype != KILN_DTYPE_F32 || t->n_dims != 4)
    return FALSE;
  for (guint d = 0; d < 4; d++)
    if (t->shape[d] != want[d])
      return FALSE;
  return TRUE;
}

int
kiln_checkpoint_load (KilnNet *net, KilnSafetensors *file, KilnCheckpointLoadFlags flags,
                      GPtrArray **skipped, GError **error)
{
  KilnNetSpec *spec = kiln_net_get_spec (net);
  g_autoptr(GPtrArray) left = g_ptr_array_new_with_free_func (g_free);
  gboolean matching = (flags & KILN_CHECKPOINT_LOAD_MATCHING) != 0;
  int loaded = 0;

  for (guint l = 0; l < kiln_net_spec_get_n_layers (spec); l++)
    {
      const char *layer = kiln_net_spec_get_layer (spec, l)->name;
      guint n_params = kiln_net_get_n_params (net, layer);
      for (guint i = 0; i < n_params; i++)
        {
          KilnShape shape;
          g_autofree char *name = g_strdup_printf ("param/%s/%u", layer, i);
          if (!kiln_net_get_param_shape (net, layer, i, &shape, error))
            return -1;
          const KilnSafetensorsTensor *t = kiln_safetensors_get_tensor (file, name);
          if (t == NULL || !shape_matches (t, &shape))
            {
              char want[64];
              kiln_shape_to_string (&shape, want, sizeof want);
              if (!matching)
                {
                  g_set_error (error, KILN_ERROR, t ? KILN_ERROR_SHAPE : KILN_ERROR_NOT_FOUND,
                               "%s: the checkpoint %s %s (the net needs %s float32); "
                               "was it saved from another network?",
                               layer, t ? "has another shape for" : "lacks", name, want);
                  return -1;
                }
              g_ptr_array_add (left, g_steal_pointer (&name));
              continue;
            }
          gint64 n = kiln_shape_n_elements (&shape);
          g_autofree float *host = g_try_new (float, n);
          if (host == NULL ||
              !kiln_safetensors_read_f32 (file, name, host, n, error) ||
              !kiln_net_set_param (net, layer, i, host, n, error))
            {
              if (host == NULL)
                g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "Not enough memory to load %s", name);
              return -1;
            }
          loaded++;

          if (!(flags & KILN_CHECKPOINT_LOAD_OPTIMIZER))
            continue;
          for (guint s = 0; s < 2; s++)
            {
              g_autofree char *slot_name = g_strdup_printf ("slot/%s/%u/%u", layer, i, s);
              const KilnSafetensorsTensor *st = kiln_safetensors_get_tensor (file, slot_name);
              if (st == NULL)
                continue;
              if (!shape_matches (st, &shape) ||
                  !kiln_safetensors_read_f32 (file, slot_name, host, n, error) ||
                  !kiln_net_set_param_slot (net, layer, i, s, host, n, error))
                {
                  if (error && *error == NULL)
                    g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                                 "%s: optimizer state %s has the wrong shape", layer, slot_name);
                  return -1;
                }
            }
        }
    }
  if (skipped)
    *skipped = g_steal_pointer (&left);
  return loaded;
}
