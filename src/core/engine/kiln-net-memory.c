#include "config.h"

#include "kiln-net-memory.h"

/* Floats in one sample of layer @i's output. */
static guint64
output_floats (KilnNetSpec *spec, int i)
{
  if (i < 0)
    {
      int c, h, w;
      kiln_net_spec_get_input (spec, &c, &h, &w);
      return (guint64) c * h * w;
    }
  const KilnLayerShape *s = kiln_net_spec_get_shape (spec, i);
  return (guint64) s->c * s->h * s->w;
}

/* Consumers of each layer's output, as KilnNet wires them. */
static GPtrArray *
consumers_of (KilnNetSpec *spec, GArray **inputs, guint n)
{
  GPtrArray *consumers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (consumers, g_array_new (FALSE, FALSE, sizeof (int)));
  for (guint j = 0; j < n; j++)
    for (guint k = 0; k < inputs[j]->len; k++)
      {
        int p = g_array_index (inputs[j], int, k);
        if (p >= 0)
          g_array_append_val (consumers->pdata[p], j);
      }
  return consumers;
}

gboolean
kiln_net_memory_estimate (KilnNetSpec *spec, int batch, const KilnNetMemoryOptions *options,
                          KilnNetMemory *m, GError **error)
{
  if (!kiln_net_spec_infer_shapes (spec, error))
    return FALSE;

  guint n = kiln_net_spec_get_n_layers (spec);
  guint64 limit = options->workspace_limit ? options->workspace_limit : KILN_NET_WORKSPACE_LIMIT_DEFAULT;
  guint slots = options->optimizer == KILN_OPTIMIZER_ADAM ? 2 : 1;
  g_autofree GArray **inputs = g_new0 (GArray *, n);
  g_autofree int *owner = g_new (int, n);          /* the layer holding i's output */
  g_autofree gboolean *upstream = g_new0 (gboolean, n);
  g_autofree gboolean *reaches = g_new0 (gboolean, n);
  guint64 weights = 0, grads = 0, acts = output_floats (spec, -1), dacts = 0, kept = 0, work = 0;

  for (guint i = 0; i < n; i++)
    {
      inputs[i] = kiln_net_spec_get_layer_inputs (spec, i);
      owner[i] = i;
    }
  g_autoptr(GPtrArray) consumers = consumers_of (spec, inputs, n);

  /* A ReLU that is the only reader of a convolution or inner product runs
   * inside it and has no output of its own. */
  for (guint i = 0; i < n; i++)
    {
      KilnLayerSpec *l = kiln_net_spec_get_layer (spec, i);
      GArray *readers = consumers->pdata[i];
      if ((l->type == KILN_LAYER_CONVOLUTION || l->type == KILN_LAYER_INNER_PRODUCT) && readers->len == 1)
        {
          int r = g_array_index (readers, int, 0);
          if (kiln_net_spec_get_layer (spec, r)->type == KILN_LAYER_RELU && inputs[r]->len == 1)
            owner[r] = i;
        }
    }

  for (guint i = 0; i < n; i++)
    {
      KilnLayerSpec *l = kiln_net_spec_get_layer (spec, i);
      const KilnLayerShape *s = kiln_net_spec_get_shape (spec, i);
      gboolean trainable = s->params > 0 && !l->frozen;
      weights += s->params + (l->type == KILN_LAYER_BATCH_NORM ? 2 * (guint64) s->c : 0);
      if (trainable)
        grads += s->params;
      upstream[i] = trainable;
      for (guint k = 0; k < inputs[i]->len; k++)
        {
          int p = g_array_index (inputs[i], int, k);
          if (p >= 0 && upstream[p])
            upstream[i] = TRUE;
        }
      if (owner[i] == (int) i)
        acts += output_floats (spec, i);

      guint64 out = output_floats (spec, i);
      switch (l->type)
        {
        case KILN_LAYER_DROPOUT:
        case KILN_LAYER_MAX_POOL:
        case KILN_LAYER_LRN:
          kept += out;
          break;
        case KILN_LAYER_BATCH_NORM:
          kept += 2 * (guint64) s->c;
          break;
        case KILN_LAYER_CONVOLUTION:
          {
            /* The im2col matrix: the most any algorithm needs, and what
             * the workspace limit cuts down. */
            int p = g_array_index (inputs[i], int, 0);
            int in_c = p < 0 ? 0 : kiln_net_spec_get_shape (spec, p)->c;
            if (p < 0)
              kiln_net_spec_get_input (spec, &in_c, NULL, NULL);
            guint64 cols = (guint64) in_c / MAX (l->group, 1) * l->kernel_h * l->kernel_w
                           * s->h * s->w * batch * sizeof (float);
            work = MAX (work, cols);
          }
          break;
        default:
          break;
        }
    }

  /* Backward runs on layers the loss depends on and that have a trainable
   * layer at or below them (KilnNet's plan). The loss reads the last layer,
   * or the input of a final softmax. */
  int loss = n - 1;
  if (kiln_net_spec_get_layer (spec, loss)->type == KILN_LAYER_SOFTMAX && inputs[loss]->len == 1 &&
      g_array_index (inputs[loss], int, 0) >= 0)
    loss = g_array_index (inputs[loss], int, 0);
  loss = owner[loss];
  reaches[loss] = TRUE;
  for (int i = loss; i >= 0; i--)
    if (reaches[i])
      for (guint k = 0; k < inputs[i]->len; k++)
        {
          int p = g_array_index (inputs[i], int, k);
          if (p >= 0)
            reaches[p] = reaches[owner[p]] = TRUE;
        }
  for (int i = 0; i <= loss && options->training; i++)
    {
      if (owner[i] != i || !reaches[i] || !upstream[i])
        continue;
      dacts += output_floats (spec, i);
      /* Several consumers that run backward each write a part, summed. */
      guint edges = 0;
      GArray *readers = consumers->pdata[i];
      for (guint k = 0; k < readers->len; k++)
        {
          int r = owner[g_array_index (readers, int, k)];
          if (r != i && r <= loss && reaches[r] && upstream[r])
            edges++;
        }
      /* A fused ReLU's readers are its producer's. */
      for (guint j = i + 1; j < n; j++)
        if (owner[j] == i)
          {
            GArray *more = consumers->pdata[j];
            for (guint k = 0; k < more->len; k++)
              {
                int r = owner[g_array_index (more, int, k)];
                if (r <= loss && reaches[r] && upstream[r])
                  edges++;
              }
          }
      if (edges > 1)
        dacts += edges * output_floats (spec, i);
    }

  for (guint i = 0; i < n; i++)
    g_array_unref (inputs[i]);

  *m = (KilnNetMemory) {
    .weights = weights * sizeof (float),
    .gradients = options->training ? grads * sizeof (float) : 0,
    .optimizer = options->training ? slots * grads * sizeof (float) : 0,
    .activations = acts * batch * sizeof (float),
    .activation_gradients = dacts * batch * sizeof (float),
    .backward_state = options->training ? kept * batch * sizeof (float) : 0,
    .workspace = MIN (work, limit),
  };
  m->total = m->weights + m->gradients + m->optimizer + m->activations + m->activation_gradients
             + m->backward_state + m->workspace;
  return TRUE;
}

int
kiln_net_memory_largest_batch (KilnNetSpec *spec, int max_batch, const KilnNetMemoryOptions *options,
                               guint64 available)
{
  int lo = 0, hi = max_batch;
  KilnNetMemory m;

  /* The estimate grows with the batch: bisect. */
  while (lo < hi)
    {
      int mid = lo + (hi - lo + 1) / 2;
      if (kiln_net_memory_estimate (spec, mid, options, &m, NULL) && m.total <= available)
        lo = mid;
      else
        hi = mid - 1;
    }
  return lo;
}

char *
kiln_net_memory_format (const KilnNetMemory *m)
{
  g_autofree char *total = g_format_size_full (m->total, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *w = g_format_size_full (m->weights, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *g = g_format_size_full (m->gradients, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *o = g_format_size_full (m->optimizer, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *a = g_format_size_full (m->activations, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *d = g_format_size_full (m->activation_gradients, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *k = g_format_size_full (m->backward_state, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *s = g_format_size_full (m->workspace, G_FORMAT_SIZE_IEC_UNITS);

  return g_strdup_printf ("%s: weights %s, gradients %s, optimizer state %s, activations %s, "
                          "their gradients %s, kept for backward %s, workspace %s",
                          total, w, g, o, a, d, k, s);
}
