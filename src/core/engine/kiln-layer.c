#include "config.h"

#include <math.h>

#include "kiln-engine-error.h"
#include "kiln-layer.h"

const KilnLayerClass kiln_layer_plain_class = {
  .init_params = NULL,
};

static const KilnLayerClass *
class_for (KilnLayerType type)
{
  switch (type)
    {
    case KILN_LAYER_CONVOLUTION:
    case KILN_LAYER_INNER_PRODUCT:
      return &kiln_layer_conv_class;
    case KILN_LAYER_BATCH_NORM:
      return &kiln_layer_batch_norm_class;
    default:
      return &kiln_layer_plain_class;
    }
}

double
kiln_layer_gaussian (GRand *rand, double std)
{
  double u1 = g_rand_double (rand), u2 = g_rand_double (rand);
  return std * sqrt (-2 * log (1 - u1)) * cos (2 * G_PI * u2);
}

KilnLayer *
kiln_layer_new (KilnBackend         *backend,
                const KilnLayerSpec *spec,
                const KilnShape     *inputs,
                guint                n_inputs,
                gboolean             fuse_relu,
                GError             **error)
{
  g_autoptr(KilnLayer) self = g_new0 (KilnLayer, 1);

  self->spec = spec;
  self->klass = class_for (spec->type);
  if (!kiln_op_desc_init (&self->desc, spec, inputs, n_inputs, error))
    return NULL;
  self->desc.fuse_relu = fuse_relu;
  self->op = kiln_backend_op_new (backend, &self->desc, error);
  if (self->op == NULL)
    return NULL;
  self->dst = kiln_tensor_new (backend, &self->desc.output, error);
  if (self->dst == NULL)
    {
      g_prefix_error (error, "%s: output: ", spec->name);
      return NULL;
    }

  self->n_params = kiln_op_desc_param_shapes (&self->desc, self->param_shapes, &self->n_learnable);
  for (guint i = 0; i < self->n_params; i++)
    {
      self->params[i] = kiln_tensor_new (backend, &self->param_shapes[i], error);
      if (self->params[i] == NULL)
        {
          g_prefix_error (error, "%s: parameter %u: ", spec->name, i);
          return NULL;
        }
    }
  self->trainable = self->n_learnable > 0 && !spec->frozen;
  return g_steal_pointer (&self);
}

void
kiln_layer_free (KilnLayer *self)
{
  if (self == NULL)
    return;
  /* The op refers to self->desc: free it first. */
  g_clear_pointer (&self->op, kiln_op_free);
  g_clear_pointer (&self->dst, kiln_tensor_free);
  g_clear_pointer (&self->diff_dst, kiln_tensor_free);
  for (guint i = 0; i < KILN_OP_MAX_PARAMS; i++)
    {
      g_clear_pointer (&self->params[i], kiln_tensor_free);
      g_clear_pointer (&self->diff_params[i], kiln_tensor_free);
      g_clear_pointer (&self->slots[i][0], kiln_tensor_free);
      g_clear_pointer (&self->slots[i][1], kiln_tensor_free);
    }
  g_free (self);
}

void
kiln_layer_init_params (KilnLayer *self, guint64 seed)
{
  if (self->klass->init_params == NULL || self->n_params == 0)
    return;

  g_autoptr(GRand) rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) seed,
                                                                          (guint32) (seed >> 32) }, 2);
  float *host[KILN_OP_MAX_PARAMS] = { NULL };
  for (guint i = 0; i < self->n_params; i++)
    host[i] = g_new0 (float, kiln_tensor_n_elements (self->params[i]));
  self->klass->init_params (self, rand, host);
  for (guint i = 0; i < self->n_params; i++)
    {
      kiln_tensor_upload (self->params[i], host[i], kiln_tensor_n_elements (self->params[i]));
      g_free (host[i]);
    }
}

gboolean
kiln_layer_enable_backward (KilnLayer *self, GError **error)
{
  KilnBackend *backend = kiln_tensor_get_backend (self->dst);

  if (self->diff_dst == NULL)
    {
      self->diff_dst = kiln_tensor_new (backend, &self->desc.output, error);
      if (self->diff_dst == NULL)
        return FALSE;
      kiln_tensor_fill (self->diff_dst, 0.f);
    }
  if (self->trainable)
    for (guint i = 0; i < self->n_learnable; i++)
      if (self->diff_params[i] == NULL)
        {
          self->diff_params[i] = kiln_tensor_new (backend, &self->param_shapes[i], error);
          if (self->diff_params[i] == NULL)
            return FALSE;
        }
  return TRUE;
}

static void
fill_args (KilnLayer *self, KilnOpArgs *args, gboolean train, guint64 seed)
{
  *args = (KilnOpArgs) {
    .src = self->src,
    .dst = self->dst,
    .params = self->params,
    .n_params = self->n_params,
    .diff_src = self->diff_src,
    .diff_dst = self->diff_dst,
    .diff_params = self->diff_params,
    .train = train,
    .seed = seed,
  };
}

gboolean
kiln_layer_forward (KilnLayer *self, gboolean train, guint64 seed, GError **error)
{
  KilnOpArgs args;
  fill_args (self, &args, train, seed);
  return kiln_op_forward (self->op, &args, error);
}

gboolean
kiln_layer_backward (KilnLayer *self, GError **error)
{
  KilnOpArgs args;
  gboolean any_input = FALSE;

  fill_args (self, &args, TRUE, 0);
  for (guint i = 0; i < self->desc.n_inputs; i++)
    any_input |= self->diff_src[i] != NULL;

  if (self->trainable && !kiln_op_backward_weights (self->op, &args, error))
    return FALSE;
  if (any_input && !kiln_op_backward_data (self->op, &args, error))
    return FALSE;
  self->n_backward++;
  return TRUE;
}

gboolean
kiln_layer_ensure_slots (KilnLayer *self, KilnOptimizer *optimizer, GError **error)
{
  if (!self->trainable)
    return TRUE;

  KilnBackend *backend = kiln_tensor_get_backend (self->dst);
  guint n_slots = kiln_optimizer_n_slots (optimizer);
  for (guint i = 0; i < self->n_learnable; i++)
    for (guint s = 0; s < n_slots; s++)
      if (self->slots[i][s] == NULL)
        {
          self->slots[i][s] = kiln_tensor_new (backend, &self->param_shapes[i], error);
          if (self->slots[i][s] == NULL)
            return FALSE;
          kiln_tensor_fill (self->slots[i][s], 0.f);
        }
  return TRUE;
}

gboolean
kiln_layer_update (KilnLayer *self, KilnOptimizer *optimizer, GError **error)
{
  if (!kiln_layer_ensure_slots (self, optimizer, error))
    return FALSE;
  if (!self->trainable)
    return TRUE;
  for (guint i = 0; i < self->n_learnable; i++)
    kiln_optimizer_update (optimizer, self->params[i], self->diff_params[i], self->slots[i]);
  return TRUE;
}
