/* BatchNorm on oneDNN. Training normalises with the batch statistics, keeps
 * them for the backward pass, and folds them into the running statistics:
 *   running = momentum · running + (1 − momentum) · batch
 * with the unbiased batch variance (m/(m − 1)), as Chainer and PyTorch do.
 * Inference normalises with the running statistics. */
#include "config.h"

#include "kiln-backend-cpu-private.h"

typedef struct {
  KilnCpuOp parent;
  dnnl_memory_desc_t data_md, vec_md;   /* Kiln's plain layouts */
  dnnl_memory_desc_t data_op;           /* what training runs on: channel-blocked for the JIT kernels */
  dnnl_memory_desc_t infer_md;          /* inference follows its producer's layout */
  KilnCpuPrim fwd_train, fwd_infer, bwd;
  float *mean, *variance;   /* batch statistics of the last training forward */
  float *scratch;           /* diff_src when only the weight gradient is wanted */
  float *scratch_scale, *scratch_shift;  /* parameter gradients nobody asked for */
  gboolean data_done;       /* the weight pass also wrote diff_src (reset by forward) */
} CpuBatchNorm;

#define DATA(t) kiln_tensor_get_data (t)
#define FLAGS (dnnl_use_scale | dnnl_use_shift)

static gboolean
make (CpuBatchNorm *self, KilnCpuPrim *prim, dnnl_prop_kind_t prop, GError **error)
{
  KilnCpuOp *op = &self->parent;
  dnnl_batch_normalization_desc_t d;
  float eps = op->layer->epsilon;
  dnnl_status_t st;

  if (prop == dnnl_forward_training)
    st = dnnl_batch_normalization_forward_desc_init (&d, prop, &self->data_op, eps, FLAGS);
  else if (prop == dnnl_forward_inference)
    st = dnnl_batch_normalization_forward_desc_init (&d, prop, &self->infer_md, eps,
                                                     FLAGS | dnnl_use_global_stats);
  else
    st = dnnl_batch_normalization_backward_desc_init (&d, prop, &self->data_op, &self->data_op,
                                                      eps, FLAGS);
  return kiln_cpu_check (st, op->layer->name, "describe the batch normalisation", error) &&
         kiln_cpu_prim_create (op->cpu, prim, &d, NULL,
                               prop == dnnl_forward_training || prop == dnnl_forward_inference
                                 ? NULL : self->fwd_train.pd,
                               op->layer->name, "create the batch normalisation", error);
}

static gboolean
bn_forward (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuBatchNorm *self = (CpuBatchNorm *) op;
  const KilnShape *s = &op->parent.desc->inputs[0];
  float *running_mean = DATA (args->params[2]);
  float *running_var = DATA (args->params[3]);

  self->data_done = FALSE;
  if (!args->train)
    {
      /* Inference convolutions may leave NHWC: take it as it comes. */
      const dnnl_memory_desc_t *have = kiln_cpu_layout_md (op->cpu, args->src[0]);
      if (have != NULL && !dnnl_memory_desc_equal (have, &self->infer_md))
        {
          kiln_cpu_prim_clear (&self->fwd_infer);
          self->infer_md = *have;
        }
      if (self->fwd_infer.prim == NULL && !make (self, &self->fwd_infer, dnnl_forward_inference, NULL))
        {
          self->infer_md = self->data_op;
          if (!make (self, &self->fwd_infer, dnnl_forward_inference, error))
            return FALSE;
        }
      KilnCpuArg a[] = {
        { DNNL_ARG_SRC, &self->data_md, DATA (args->src[0]) },
        { DNNL_ARG_DST, &self->data_md, DATA (args->dst) },
        { DNNL_ARG_SCALE, &self->vec_md, DATA (args->params[0]) },
        { DNNL_ARG_SHIFT, &self->vec_md, DATA (args->params[1]) },
        { DNNL_ARG_MEAN, &self->vec_md, running_mean },
        { DNNL_ARG_VARIANCE, &self->vec_md, running_var },
      };
      return kiln_cpu_run (op->cpu, &self->fwd_infer, a, G_N_ELEMENTS (a), op->layer->name, error);
    }

  KilnCpuArg a[] = {
    { DNNL_ARG_SRC, &self->data_md, DATA (args->src[0]) },
    { DNNL_ARG_DST, &self->data_md, DATA (args->dst) },
    { DNNL_ARG_SCALE, &self->vec_md, DATA (args->params[0]) },
    { DNNL_ARG_SHIFT, &self->vec_md, DATA (args->params[1]) },
    { DNNL_ARG_MEAN, &self->vec_md, self->mean },
    { DNNL_ARG_VARIANCE, &self->vec_md, self->variance },
  };
  if (!kiln_cpu_run (op->cpu, &self->fwd_train, a, G_N_ELEMENTS (a), op->layer->name, error))
    return FALSE;

  gint64 m = (gint64) s->n * s->h * s->w;
  float unbias = m > 1 ? (float) m / (float) (m - 1) : 1.f;
  float mom = op->layer->momentum;
  for (int c = 0; c < s->c; c++)
    {
      running_mean[c] = mom * running_mean[c] + (1.f - mom) * self->mean[c];
      running_var[c] = mom * running_var[c] + (1.f - mom) * self->variance[c] * unbias;
    }
  return TRUE;
}

static gboolean
run_backward (CpuBatchNorm *self, const KilnOpArgs *args, gboolean weights, GError **error)
{
  KilnCpuOp *op = &self->parent;
  KilnCpuPrim *prim = &self->bwd;
  gboolean wanted = args->diff_src != NULL && args->diff_src[0] != NULL;

  /* oneDNN 2.6 has no backward_data with a shift; one primitive does both. */
  if (prim->prim == NULL && !make (self, prim, dnnl_backward, error))
    return FALSE;

  KilnCpuArg a[] = {
    { DNNL_ARG_SRC, &self->data_md, DATA (args->src[0]) },
    { DNNL_ARG_DIFF_DST, &self->data_md, DATA (args->diff_dst) },
    { DNNL_ARG_SCALE, &self->vec_md, DATA (args->params[0]) },
    { DNNL_ARG_SHIFT, &self->vec_md, DATA (args->params[1]) },
    { DNNL_ARG_MEAN, &self->vec_md, self->mean },
    { DNNL_ARG_VARIANCE, &self->vec_md, self->variance },
    /* Scratch is in the primitive's layout already: nothing to reorder. */
    { DNNL_ARG_DIFF_SRC, wanted ? &self->data_md : &self->data_op,
      wanted ? DATA (args->diff_src[0]) : self->scratch },
    { DNNL_ARG_DIFF_SCALE, &self->vec_md, weights ? DATA (args->diff_params[0]) : self->scratch_scale },
    { DNNL_ARG_DIFF_SHIFT, &self->vec_md, weights ? DATA (args->diff_params[1]) : self->scratch_shift },
  };
  return kiln_cpu_run (op->cpu, prim, a, G_N_ELEMENTS (a), op->layer->name, error);
}

static gboolean
bn_backward_data (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuBatchNorm *self = (CpuBatchNorm *) op;

  if (args->diff_src[0] == NULL || self->data_done)
    return TRUE;
  return run_backward (self, args, FALSE, error);
}

/* oneDNN computes the scale/shift gradients only together with diff_src.
 * The layer asks for the weights first: when it will want diff_src next,
 * one pass writes both; else diff_src goes to scratch. */
static gboolean
bn_backward_weights (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuBatchNorm *self = (CpuBatchNorm *) op;
  if (args->diff_src != NULL && args->diff_src[0] != NULL)
    {
      self->data_done = run_backward (self, args, TRUE, error);
      return self->data_done;
    }
  if (self->scratch == NULL)
    {
      self->scratch = kiln_cpu_buffer_alloc (dnnl_memory_desc_get_size (&self->data_op), error);
      if (self->scratch == NULL)
        return FALSE;
    }
  KilnOpArgs weights_only = *args;
  weights_only.diff_src = NULL;
  return run_backward (self, &weights_only, TRUE, error);
}

static void
bn_finalize (KilnCpuOp *op)
{
  CpuBatchNorm *self = (CpuBatchNorm *) op;
  kiln_cpu_prim_clear (&self->fwd_train);
  kiln_cpu_prim_clear (&self->fwd_infer);
  kiln_cpu_prim_clear (&self->bwd);
  g_clear_pointer (&self->scratch_scale, kiln_cpu_buffer_free);
  g_clear_pointer (&self->scratch_shift, kiln_cpu_buffer_free);
  g_clear_pointer (&self->mean, kiln_cpu_buffer_free);
  g_clear_pointer (&self->variance, kiln_cpu_buffer_free);
  g_clear_pointer (&self->scratch, kiln_cpu_buffer_free);
}

static const KilnCpuOpClass bn_class = {
  .forward = bn_forward,
  .backward_data = bn_backward_data,
  .backward_weights = bn_backward_weights,
  .finalize = bn_finalize,
};

KilnCpuOp *
kiln_cpu_bn_new (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error)
{
  CpuBatchNorm *self = kiln_cpu_op_alloc (cpu, desc, &bn_class, sizeof (CpuBatchNorm));
  int c = desc->inputs[0].c;

  kiln_cpu_md_nchw (&self->data_md, &desc->inputs[0]);
  kiln_cpu_md_blocked (&self->data_op, &desc->inputs[0]);
  self->infer_md = self->data_op;
  kiln_cpu_md_vector (&self->vec_md, c);
  self->mean = kiln_cpu_buffer_alloc (c * sizeof (float), error);
  self->variance = self->mean ? kiln_cpu_buffer_alloc (c * sizeof (float), error) : NULL;
  self->scratch_scale = self->variance ? kiln_cpu_buffer_alloc (c * sizeof (float), error) : NULL;
  self->scratch_shift = self->scratch_scale ? kiln_cpu_buffer_alloc (c * sizeof (float), error) : NULL;
  if (self->scratch_shift == NULL || !make (self, &self->fwd_train, dnnl_forward_training, error))
    {
      bn_finalize (&self->parent);
      g_free (self);
      return NULL;
    }
  return &self->parent;
}
