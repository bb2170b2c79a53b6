#include "config.h"

#include <math.h>

#include "kiln-engine-error.h"
#include "kiln-layer.h"
#include "kiln-net.h"

struct _KilnNet {
  KilnNetSpec *spec;
  KilnBackend *backend;         /* borrowed; outlives the net */
  int batch;
  guint64 seed;
  gint64 step;                  /* training forwards so far */

  KilnTensor *input;
  guint n_layers;               /* spec layers */
  KilnLayer **layers;           /* per spec layer; NULL for a ReLU fused into its producer */
  int *producer;                /* per spec layer: the spec layer whose KilnLayer holds its output */
  GArray **inputs;              /* per spec layer: producer indices of its inputs (-1 = net input) */
  GPtrArray **fan_in;           /* per spec layer: gradient parts from several consumers, summed */
  int last;                     /* the layer holding the net's output */
  int loss_layer;               /* the layer whose output the loss reads (before a final softmax) */
  double *forward_s, *backward_s;  /* per spec layer, for kiln_net_dup_profile() */
};

/* A seed for (net seed, purpose, layer): splitmix64 steps. */
static guint64
mix_seed (guint64 seed, guint64 a, guint64 b)
{
  guint64 z = seed ^ (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void
kiln_net_free (KilnNet *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->n_layers; i++)
    {
      g_clear_pointer (&self->layers[i], kiln_layer_free);
      g_clear_pointer (&self->inputs[i], g_array_unref);
      g_clear_pointer (&self->fan_in[i], g_ptr_array_unref);
    }
  g_free (self->layers);
  g_free (self->producer);
  g_free (self->inputs);
  g_free (self->fan_in);
  g_free (self->forward_s);
  g_free (self->backward_s);
  g_clear_pointer (&self->input, kiln_tensor_free);
  g_clear_object (&self->spec);
  g_free (self);
}

static KilnTensor *
output_of (KilnNet *self, int index)
{
  return index < 0 ? self->input : self->layers[self->producer[index]]->dst;
}

/* The ReLU to fuse into layer @index: its only consumer, when @index is a
 * convolution or inner product and the ReLU reads nothing else. -1 if none. */
static int
relu_to_fuse (KilnNet *self, guint index)
{
  KilnLayerSpec *l = kiln_net_spec_get_layer (self->spec, index);
  int consumer = -1;

  if (l->type != KILN_LAYER_CONVOLUTION && l->type != KILN_LAYER_INNER_PRODUCT)
    return -1;
  for (guint j = index + 1; j < self->n_layers; j++)
    for (guint k = 0; k < self->inputs[j]->len; k++)
      if (g_array_index (self->inputs[j], int, k) == (int) index)
        {
          if (consumer >= 0)
            return -1;
          consumer = j;
        }
  if (consumer < 0 || self->inputs[consumer]->len != 1 ||
      kiln_net_spec_get_layer (self->spec, consumer)->type != KILN_LAYER_RELU)
    return -1;
  return consumer;
}

/* Decides where backward runs and wires the gradient tensors. */
static gboolean
plan_backward (KilnNet *self, GError **error)
{
  int n = self->n_layers;
  g_autofree gboolean *upstream = g_new0 (gboolean, n);
  g_autofree gboolean *reaches = g_new0 (gboolean, n);
  g_autofree gboolean *runs = g_new0 (gboolean, n);
  g_autofree int *n_edges = g_new0 (int, n);

  /* Some layer at or below this one learns. */
  for (int i = 0; i < n; i++)
    {
      KilnLayer *layer = self->layers[i];
      if (layer == NULL)
        continue;
      upstream[i] = layer->trainable;
      for (guint k = 0; k < self->inputs[i]->len; k++)
        {
          int p = g_array_index (self->inputs[i], int, k);
          if (p >= 0 && upstream[self->producer[p]])
            upstream[i] = TRUE;
        }
    }
  /* The loss depends on this layer's output. */
  reaches[self->loss_layer] = TRUE;
  for (int i = self->loss_layer; i >= 0; i--)
    {
      if (self->layers[i] == NULL || !reaches[i])
        continue;
      if (i == self->last && i != self->loss_layer)
        continue;
      for (guint k = 0; k < self->inputs[i]->len; k++)
        {
          int p = g_array_index (self->inputs[i], int, k);
          if (p >= 0)
            reaches[self->producer[p]] = TRUE;
        }
    }
  for (int i = 0; i <= self->loss_layer; i++)
    runs[i] = self->layers[i] != NULL && reaches[i] && upstream[i];

  for (int i = 0; i <= self->loss_layer; i++)
    if (runs[i])
      for (guint k = 0; k < self->inputs[i]->len; k++)
        {
          int p = g_array_index (self->inputs[i], int, k);
          if (p >= 0 && runs[self->producer[p]])
            n_edges[self->producer[p]]++;
        }

  for (int i = 0; i <= self->loss_layer; i++)
    if (runs[i] && !kiln_layer_enable_backward (self->layers[i], error))
      return FALSE;

  for (int i = 0; i <= self->loss_layer; i++)
    {
      if (!runs[i])
        continue;
      KilnLayer *layer = self->layers[i];
      for (guint k = 0; k < self->inputs[i]->len; k++)
        {
          int p = g_array_index (self->inputs[i], int, k);
          if (p < 0 || !runs[self->producer[p]])
            continue;
          KilnLayer *prod = self->layers[self->producer[p]];
          if (n_edges[self->producer[p]] == 1)
            {
              layer->diff_src[k] = prod->diff_dst;
              continue;
            }
          KilnTensor *part = kiln_tensor_new (self->backend, &prod->desc.output, error);
          if (part == NULL)
            return FALSE;
          if (self->fan_in[self->producer[p]] == NULL)
            self->fan_in[self->producer[p]] = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_tensor_free);
          g_ptr_array_add (self->fan_in[self->producer[p]], part);
          layer->diff_src[k] = part;
        }
    }
  return TRUE;
}

KilnNet *
kiln_net_new (KilnNetSpec *spec, KilnBackend *backend, int batch_size, guint64 seed,
              GError **error)
{
  g_autoptr(KilnNet) self = g_new0 (KilnNet, 1);
  int c, h, w;

  if (batch_size <= 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "%s: batch size %d must be at least 1", kiln_net_spec_get_name (spec), batch_size);
      return NULL;
    }
  self->spec = kiln_net_spec_copy (spec);
  /* The netspec's errors show the arithmetic and suggest input sizes. */
  if (!kiln_net_spec_infer_shapes (self->spec, error))
    return NULL;
  self->backend = backend;
  self->batch = batch_size;
  self->seed = seed;
  self->n_layers = kiln_net_spec_get_n_layers (self->spec);
  if (self->n_layers == 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "%s: the network has no layers", kiln_net_spec_get_name (spec));
      return NULL;
    }

  kiln_net_spec_get_input (self->spec, &c, &h, &w);
  KilnShape in_shape = { batch_size, c, h, w };
  self->input = kiln_tensor_new (backend, &in_shape, error);
  if (self->input == NULL)
    {
      g_prefix_error (error, "%s: input: ", kiln_net_spec_get_name (spec));
      return NULL;
    }

  self->layers = g_new0 (KilnLayer *, self->n_layers);
  self->producer = g_new0 (int, self->n_layers);
  self->inputs = g_new0 (GArray *, self->n_layers);
  self->fan_in = g_new0 (GPtrArray *, self->n_layers);
  self->forward_s = g_new0 (double, self->n_layers);
  self->backward_s = g_new0 (double, self->n_layers);

  for (guint i = 0; i < self->n_layers; i++)
    {
      self->inputs[i] = kiln_net_spec_get_layer_inputs (self->spec, i);
      self->producer[i] = i;
    }

  for (guint i = 0; i < self->n_layers; i++)
    {
      KilnLayerSpec *l = kiln_net_spec_get_layer (self->spec, i);
      if (self->producer[i] != (int) i)
        continue;   /* a ReLU living inside its producer */

      int relu = relu_to_fuse (self, i);
      KilnShape shapes[KILN_OP_MAX_INPUTS];
      guint n_in = MIN (self->inputs[i]->len, KILN_OP_MAX_INPUTS);
      for (guint k = 0; k < n_in; k++)
        shapes[k] = *kiln_tensor_get_shape (output_of (self, g_array_index (self->inputs[i], int, k)));
      KilnLayer *layer = kiln_layer_new (backend, l, shapes, self->inputs[i]->len, relu >= 0, error);
      if (layer == NULL)
        return NULL;
      for (guint k = 0; k < n_in; k++)
        layer->src[k] = output_of (self, g_array_index (self->inputs[i], int, k));
      self->layers[i] = layer;
      if (relu >= 0)
        self->producer[relu] = i;
    }

  /* Two implementations of the same arithmetic must agree. */
  for (guint i = 0; i < self->n_layers; i++)
    {
      const KilnLayerShape *want = kiln_net_spec_get_shape (self->spec, i);
      const KilnShape *got = &self->layers[self->producer[i]]->desc.output;
      if (got->c != want->c || got->h != want->h || got->w != want->w)
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE,
                       "%s: the engine computes an output of %d×%d×%d but the network description "
                       "infers %d×%d×%d; this is a bug in Kiln, please report it",
                       kiln_net_spec_get_layer (self->spec, i)->name, got->c, got->h, got->w,
                       want->c, want->h, want->w);
          return NULL;
        }
    }

  /* Parameters start from the seed and the layer's position. */
  for (guint i = 0; i < self->n_layers; i++)
    if (self->layers[i] != NULL)
      kiln_layer_init_params (self->layers[i], mix_seed (seed, 1, i));

  self->last = self->producer[self->n_layers - 1];
  self->loss_layer = self->last;
  if (self->layers[self->last]->spec->type == KILN_LAYER_SOFTMAX)
    {
      int p = g_array_index (self->inputs[self->last], int, 0);
      if (p >= 0)
        self->loss_layer = self->producer[p];
    }
  if (!plan_backward (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

KilnNetSpec *
kiln_net_get_spec (KilnNet *self)
{
  return self->spec;
}

KilnBackend *
kiln_net_get_backend (KilnNet *self)
{
  return self->backend;
}

int
kiln_net_get_batch_size (KilnNet *self)
{
  return self->batch;
}

const KilnShape *
kiln_net_get_input_shape (KilnNet *self)
{
  return kiln_tensor_get_shape (self->input);
}

const KilnShape *
kiln_net_get_output_shape (KilnNet *self)
{
  return kiln_tensor_get_shape (self->layers[self->last]->dst);
}

void
kiln_net_set_input (KilnNet *self, const float *host)
{
  kiln_tensor_upload (self->input, host, kiln_tensor_n_elements (self->input));
}

gboolean
kiln_net_forward (KilnNet *self, gboolean train, GError **error)
{
  if (train)
    self->step++;
  for (guint i = 0; i < self->n_layers; i++)
    {
      KilnLayer *layer = self->layers[i];
      if (layer == NULL)
        continue;
      gint64 t = g_get_monotonic_time ();
      if (!kiln_layer_forward (layer, train, mix_seed (self->seed, 2 + self->step, i), error))
        return FALSE;
      self->forward_s[i] += (g_get_monotonic_time () - t) / 1e6;
    }
  return TRUE;
}

void
kiln_net_get_output (KilnNet *self, float *host)
{
  KilnTensor *out = self->layers[self->last]->dst;
  kiln_tensor_download (out, host, kiln_tensor_n_elements (out));
}

static gboolean
all_finite (const KilnTensor *t)
{
  g_autofree float *v = kiln_tensor_dup_host (t);
  gint64 n = kiln_tensor_n_elements (t);
  for (gint64 i = 0; i < n; i++)
    if (!isfinite (v[i]))
      return FALSE;
  return TRUE;
}

/* Names the first layer whose output is not finite. */
static void
report_non_finite (KilnNet *self, double loss, GError **error)
{
  const char *culprit = NULL;

  if (!all_finite (self->input))
    culprit = KILN_NET_SPEC_INPUT_NAME;
  for (guint i = 0; culprit == NULL && i < self->n_layers; i++)
    if (self->layers[i] != NULL && !all_finite (self->layers[i]->dst))
      culprit = self->layers[i]->spec->name;
  if (culprit == NULL)
    culprit = self->layers[self->loss_layer]->spec->name;

  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NUMERIC,
               "Training step %" G_GINT64_FORMAT ": the loss is %g; the output of “%s” is the first "
               "that is not finite. Lower the learning rate or check the input data.",
               self->step, loss, culprit);
}

gboolean
kiln_net_loss (KilnNet *self, const int *labels, double *loss, int *n_correct, GError **error)
{
  KilnLayer *layer = self->layers[self->loss_layer];

  if (!kiln_backend_softmax_cross_entropy (self->backend, layer->dst, labels, layer->diff_dst,
                                           loss, n_correct, error))
    {
      g_prefix_error (error, "%s: ", layer->spec->name);
      return FALSE;
    }
  if (!isfinite (*loss))
    {
      report_non_finite (self, *loss, error);
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_net_backward (KilnNet *self, GError **error)
{
  for (int i = self->loss_layer; i >= 0; i--)
    {
      KilnLayer *layer = self->layers[i];
      if (layer == NULL || layer->diff_dst == NULL)
        continue;
      GPtrArray *parts = self->fan_in[i];
      if (parts != NULL)
        {
          kiln_tensor_fill (layer->diff_dst, 0.f);
          for (guint k = 0; k < parts->len; k++)
            kiln_backend_axpy (self->backend, 1.f, parts->pdata[k], layer->diff_dst);
        }
      gint64 t = g_get_monotonic_time ();
      if (!kiln_layer_backward (layer, error))
        return FALSE;
      self->backward_s[i] += (g_get_monotonic_time () - t) / 1e6;
    }
  return TRUE;
}

gboolean
kiln_net_update (KilnNet *self, KilnOptimizer *optimizer, GError **error)
{
  /* Every allocation first: running out of memory then leaves the weights
   * of the last completed step, which a checkpoint can keep. */
  for (guint i = 0; i < self->n_layers; i++)
    if (self->layers[i] != NULL && !kiln_layer_ensure_slots (self->layers[i], optimizer, error))
      return FALSE;
  for (guint i = 0; i < self->n_layers; i++)
    if (self->layers[i] != NULL && !kiln_layer_update (self->layers[i], optimizer, error))
      return FALSE;
  kiln_optimizer_finish_step (optimizer);
  return TRUE;
}

gboolean
kiln_net_train_step (KilnNet *self, KilnOptimizer *optimizer, const float *input,
                     const int *labels, double *loss, int *n_correct, GError **error)
{
  kiln_net_set_input (self, input);
  return kiln_net_forward (self, TRUE, error) &&
         kiln_net_loss (self, labels, loss, n_correct, error) &&
         kiln_net_backward (self, error) &&
         kiln_net_update (self, optimizer, error);
}

static KilnLayer *
find_param_layer (KilnNet *self, const char *name, guint index, GError **error)
{
  int i = kiln_net_spec_find_layer (self->spec, name);
  if (i < 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND, "The network has no layer “%s”", name);
      return NULL;
    }
  KilnLayer *layer = self->layers[i];
  if (layer == NULL || self->producer[i] != i || index >= layer->n_params)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND, "%s: has no parameter %u (it has %u)",
                   name, index, layer && self->producer[i] == i ? layer->n_params : 0);
      return NULL;
    }
  return layer;
}

guint
kiln_net_get_n_params (KilnNet *self, const char *layer)
{
  int i = kiln_net_spec_find_layer (self->spec, layer);
  if (i < 0 || self->producer[i] != i)
    return 0;
  return self->layers[i]->n_params;
}

gboolean
kiln_net_get_param_shape (KilnNet *self, const char *name, guint index, KilnShape *shape,
                          GError **error)
{
  KilnLayer *layer = find_param_layer (self, name, index, error);
  if (layer == NULL)
    return FALSE;
  *shape = layer->param_shapes[index];
  return TRUE;
}

static gboolean
check_count (KilnLayer *layer, guint index, gint64 n, GError **error)
{
  gint64 want = kiln_shape_n_elements (&layer->param_shapes[index]);
  char buf[64];
  if (n == want)
    return TRUE;
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE,
               "%s: parameter %u has %" G_GINT64_FORMAT " values (%s), not %" G_GINT64_FORMAT,
               layer->spec->name, index, want,
               kiln_shape_to_string (&layer->param_shapes[index], buf, sizeof buf), n);
  return FALSE;
}

gboolean
kiln_net_get_param (KilnNet *self, const char *name, guint index, float *host, gint64 n,
                    GError **error)
{
  KilnLayer *layer = find_param_layer (self, name, index, error);
  if (layer == NULL || !check_count (layer, index, n, error))
    return FALSE;
  kiln_tensor_download (layer->params[index], host, n);
  return TRUE;
}

gboolean
kiln_net_set_param (KilnNet *self, const char *name, guint index, const float *host, gint64 n,
                    GError **error)
{
  KilnLayer *layer = find_param_layer (self, name, index, error);
  if (layer == NULL || !check_count (layer, index, n, error))
    return FALSE;
  kiln_tensor_upload (layer->params[index], host, n);
  return TRUE;
}

gboolean
kiln_net_get_param_grad (KilnNet *self, const char *name, guint index, float *host, gint64 n,
                         GError **error)
{
  KilnLayer *layer = find_param_layer (self, name, index, error);
  if (layer == NULL || !check_count (layer, index, n, error))
    return FALSE;
  if (layer->diff_params[index] == NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                   "%s: parameter %u has no gradient (the layer is frozen or not trainable)",
                   name, index);
      return FALSE;
    }
  kiln_tensor_download (layer->diff_params[index], host, n);
  return TRUE;
}

static KilnLayer *
find_slot_layer (KilnNet *self, const char *name, guint index, guint slot, gint64 n,
                 GError **error)
{
  KilnLayer *layer = find_param_layer (self, name, index, error);
  if (layer == NULL || !check_count (layer, index, n, error))
    return NULL;
  if (index >= layer->n_learnable || slot >= G_N_ELEMENTS (layer->slots[0]))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                   "%s: parameter %u has no optimizer slot %u", name, index, slot);
      return NULL;
    }
  return layer;
}

gboolean
kiln_net_get_param_slot (KilnNet *self, const char *name, guint index, guint slot, float *host,
                         gint64 n, GError **error)
{
  KilnLayer *layer = find_slot_layer (self, name, index, slot, n, error);
  if (layer == NULL)
    return FALSE;
  if (layer->slots[index][slot] == NULL)
    memset (host, 0, n * sizeof (float));
  else
    kiln_tensor_download (layer->slots[index][slot], host, n);
  return TRUE;
}

gboolean
kiln_net_set_param_slot (KilnNet *self, const char *name, guint index, guint slot,
                         const float *host, gint64 n, GError **error)
{
  KilnLayer *layer = find_slot_layer (self, name, index, slot, n, error);
  if (layer == NULL)
    return FALSE;
  if (layer->slots[index][slot] == NULL)
    {
      layer->slots[index][slot] = kiln_tensor_new (self->backend, &layer->param_shapes[index], error);
      if (layer->slots[index][slot] == NULL)
        return FALSE;
    }
  kiln_tensor_upload (layer->slots[index][slot], host, n);
  return TRUE;
}

guint64
kiln_net_get_seed (KilnNet *self)
{
  return self->seed;
}

void
kiln_net_set_seed (KilnNet *self, guint64 seed)
{
  self->seed = seed;
}

gint64
kiln_net_get_step (KilnNet *self)
{
  return self->step;
}

void
kiln_net_set_step (KilnNet *self, gint64 step)
{
  self->step = step;
}

int
kiln_net_get_backward_count (KilnNet *self, const char *name)
{
  int i = kiln_net_spec_find_layer (self->spec, name);
  if (i < 0)
    return -1;
  return self->layers[self->producer[i]]->n_backward;
}

char *
kiln_net_dup_profile (KilnNet *self)
{
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < self->n_layers; i++)
    if (self->layers[i] != NULL)
      g_string_append_printf (out, "%s %.3f %.3f\n", self->layers[i]->spec->name,
                              self->forward_s[i], self->backward_s[i]);
  return g_string_free (out, FALSE);
}
