/* Convolution and inner product on oneDNN: forward (optionally with ReLU as
 * a post-op), backward-data and backward-weights (with the bias). */
#include "config.h"

#include "kiln-backend-cpu-private.h"

typedef struct {
  KilnCpuOp parent;
  gboolean is_conv;
  gboolean has_bias;
  dnnl_memory_desc_t src_md, weights_md, bias_md, dst_md;        /* Kiln's plain layouts */
  dnnl_memory_desc_t src_any, weights_any, dst_any;               /* what the primitive may choose */
  dnnl_dims_t strides, dilates, pad_l, pad_r;
  KilnCpuPrim fwd_train, fwd_infer, bwd_data, bwd_weights;
  /* Work one backward pass can hand to the other (both reset by forward):
   * the fused ReLU's mask is already applied to diff_dst; src sits in
   * fwd_train's staging; diff_dst sits in bwd_weights' staging. */
  gboolean diff_masked, src_staged, diff_staged;
} CpuConv;

#define DATA(t) kiln_tensor_get_data (t)

static gboolean
init_forward (CpuConv *self, KilnCpuPrim *prim, dnnl_prop_kind_t prop, GError **error)
{
  KilnCpuOp *op = &self->parent;
  const KilnOpDesc *desc = op->parent.desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post_ops = NULL;
  gboolean ok;

  if (desc->fuse_relu)
    {
      dnnl_post_ops_create (&post_ops);
      dnnl_post_ops_append_eltwise (post_ops, 1.f, dnnl_eltwise_relu, 0.f, 0.f);
      dnnl_primitive_attr_create (&attr);
      dnnl_primitive_attr_set_post_ops (attr, post_ops);
    }

  if (self->is_conv)
    {
      dnnl_convolution_desc_t cd;
      ok = kiln_cpu_check (dnnl_dilated_convolution_forward_desc_init (
                             &cd, prop, dnnl_convolution_direct, &self->src_any, &self->weights_any,
                             self->has_bias ? &self->bias_md : NULL, &self->dst_any,
                             self->strides, self->dilates, self->pad_l, self->pad_r),
                           op->layer->name, "describe the convolution", error) &&
           kiln_cpu_prim_create (op->cpu, prim, &cd, attr, NULL, op->layer->name,
                                 "create the convolution", error);
    }
  else
    {
      dnnl_inner_product_desc_t ipd;
      ok = kiln_cpu_check (dnnl_inner_product_forward_desc_init (
                             &ipd, prop, &self->src_md, &self->weights_md,
                             self->has_bias ? &self->bias_md : NULL, &self->dst_md),
                           op->layer->name, "describe the inner product", error) &&
           kiln_cpu_prim_create (op->cpu, prim, &ipd, attr, NULL, op->layer->name,
                                 "create the inner product", error);
    }

  g_clear_pointer (&attr, dnnl_primitive_attr_destroy);
  g_clear_pointer (&post_ops, dnnl_post_ops_destroy);
  return ok;
}

static gboolean
conv_forward (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuConv *self = (CpuConv *) op;
  KilnCpuPrim *prim = args->train ? &self->fwd_train : &self->fwd_infer;

  self->diff_masked = self->diff_staged = FALSE;
  self->src_staged = args->train;
  if (prim->prim == NULL &&
      !init_forward (self, prim, args->train ? dnnl_forward_training : dnnl_forward_inference, error))
    return FALSE;

  KilnCpuArg a[] = {
    { DNNL_ARG_SRC, &self->src_md, DATA (args->src[0]) },
    /* Weights stay in the forward's layout between steps (the backward-data
     * primitive wants another blocking and stages its own copy). */
    { DNNL_ARG_WEIGHTS, &self->weights_md, DATA (args->params[0]), .keep = TRUE },
    { DNNL_ARG_DST, &self->dst_md, DATA (args->dst) },
    { DNNL_ARG_BIAS, &self->bias_md, self->has_bias ? DATA (args->params[1]) : NULL },
  };
  return kiln_cpu_run (op->cpu, prim, a, self->has_bias ? 4 : 3, op->layer->name, error);
}

/* The gradient through a fused ReLU, applied to diff_dst in place (once
 * per backward: the mask is idempotent, the pass is not free). */
static void
unfuse_relu (CpuConv *self, const KilnOpArgs *args)
{
  if (self->parent.parent.desc->fuse_relu && !self->diff_masked)
    kiln_cpu_relu_mask (self->parent.cpu, args->dst, args->diff_dst);
  self->diff_masked = TRUE;
}

/* @arg of @prim as another primitive already staged it, when the layouts
 * agree; else the plain tensor. */
static KilnCpuArg
reuse_staged (KilnCpuPrim *prim, const KilnCpuPrim *from, gboolean valid, int arg,
              const dnnl_memory_desc_t *plain, void *data)
{
  const KilnCpuStaging *st = valid ? kiln_cpu_prim_staging (from, arg) : NULL;
  const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md (prim->pd, dnnl_query_exec_arg_md, arg);
  if (st != NULL && want != NULL && dnnl_memory_desc_equal (st->md, want))
    return (KilnCpuArg) { arg, st->md, st->buffer };
  return (KilnCpuArg) { arg, plain, data };
}

static gboolean
conv_backward_data (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuConv *self = (CpuConv *) op;

  if (args->diff_src[0] == NULL)
    return TRUE;
  if (self->fwd_train.pd == NULL && !init_forward (self, &self->fwd_train, dnnl_forward_training, error))
    return FALSE;
  if (self->bwd_data.prim == NULL)
    {
      gboolean ok;
      if (self->is_conv)
        {
          dnnl_convolution_desc_t cd;
          ok = kiln_cpu_check (dnnl_dilated_convolution_backward_data_desc_init (
                                 &cd, dnnl_convolution_direct, &self->src_any, &self->weights_any,
                                 &self->dst_any, self->strides, self->dilates, self->pad_l,
                                 self->pad_r),
                               op->layer->name, "describe the convolution backward", error) &&
               kiln_cpu_prim_create (op->cpu, &self->bwd_data, &cd, NULL, self->fwd_train.pd,
                                     op->layer->name, "create the convolution backward", error);
        }
      else
        {
          dnnl_inner_product_desc_t ipd;
          ok = kiln_cpu_check (dnnl_inner_product_backward_data_desc_init (
                                 &ipd, &self->src_md, &self->weights_md, &self->dst_md),
                               op->layer->name, "describe the inner product backward", error) &&
               kiln_cpu_prim_create (op->cpu, &self->bwd_data, &ipd, NULL, self->fwd_train.pd,
                                     op->layer->name, "create the inner product backward", error);
        }
      if (!ok)
        return FALSE;
    }

  unfuse_relu (self, args);
  KilnCpuArg a[] = {
    reuse_staged (&self->bwd_data, &self->bwd_weights, self->diff_staged, DNNL_ARG_DIFF_DST,
                  &self->dst_md, DATA (args->diff_dst)),
    { DNNL_ARG_WEIGHTS, &self->weights_md, DATA (args->params[0]) },
    { DNNL_ARG_DIFF_SRC, &self->src_md, DATA (args->diff_src[0]) },
  };
  self->diff_staged = FALSE;
  return kiln_cpu_run (op->cpu, &self->bwd_data, a, 3, op->layer->name, error);
}

static gboolean
conv_backward_weights (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuConv *self = (CpuConv *) op;

  if (self->fwd_train.pd == NULL && !init_forward (self, &self->fwd_train, dnnl_forward_training, error))
    return FALSE;
  if (self->bwd_weights.prim == NULL)
    {
      const dnnl_memory_desc_t *bias = self->has_bias ? &self->bias_md : NULL;
      gboolean ok;
      if (self->is_conv)
        {
          dnnl_convolution_desc_t cd;
          ok = kiln_cpu_check (dnnl_dilated_convolution_backward_weights_desc_init (
                                 &cd, dnnl_convolution_direct, &self->src_any, &self->weights_any,
                                 bias, &self->dst_any, self->strides, self->dilates, self->pad_l,
                                 self->pad_r),
                               op->layer->name, "describe the weight gradient", error) &&
               kiln_cpu_prim_create (op->cpu, &self->bwd_weights, &cd, NULL, self->fwd_train.pd,
                                     op->layer->name, "create the weight gradient", error);
        }
      else
        {
          dnnl_inner_product_desc_t ipd;
          ok = kiln_cpu_check (dnnl_inner_product_backward_weights_desc_init (
                                 &ipd, &self->src_md, &self->weights_md, bias, &self->dst_md),
                               op->layer->name, "describe the weight gradient", error) &&
               kiln_cpu_prim_create (op->cpu, &self->bwd_weights, &ipd, NULL, self->fwd_train.pd,
                                     op->layer->name, "create the weight gradient", error);
        }
      if (!ok)
        return FALSE;
    }

  unfuse_relu (self, args);
  KilnCpuArg a[] = {
    reuse_staged (&self->bwd_weights, &self->fwd_train, self->src_staged, DNNL_ARG_SRC,
                  &self->src_md, DATA (args->src[0])),
    { DNNL_ARG_DIFF_DST, &self->dst_md, DATA (args->diff_dst) },
    { DNNL_ARG_DIFF_WEIGHTS, &self->weights_md, DATA (args->diff_params[0]) },
    { DNNL_ARG_DIFF_BIAS, &self->bias_md, self->has_bias ? DATA (args->diff_params[1]) : NULL },
  };
  if (!kiln_cpu_run (op->cpu, &self->bwd_weights, a, self->has_bias ? 4 : 3,
                     op->layer->name, error))
    return FALSE;
  self->diff_staged = TRUE;
  return TRUE;
}

static void
conv_finalize (KilnCpuOp *op)
{
  CpuConv *self = (CpuConv *) op;
  kiln_cpu_prim_clear (&self->fwd_train);
  kiln_cpu_prim_clear (&self->fwd_infer);
  kiln_cpu_prim_clear (&self->bwd_data);
  kiln_cpu_prim_clear (&self->bwd_weights);
}

static const KilnCpuOpClass conv_class = {
  .forward = conv_forward,
  .backward_data = conv_backward_data,
  .backward_weights = conv_backward_weights,
  .finalize = conv_finalize,
};

static void
any_like (dnnl_memory_desc_t *any, const dnnl_memory_desc_t *md)
{
  dnnl_memory_desc_init_by_tag (any, md->ndims, md->dims, dnnl_f32, dnnl_format_tag_any);
}

KilnCpuOp *
kiln_cpu_conv_new (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error)
{
  CpuConv *self = kiln_cpu_op_alloc (cpu, desc, &conv_class, sizeof (CpuConv));
  const KilnLayerSpec *l = desc->layer;
  const KilnShape *in = &desc->inputs[0];

  self->is_conv = l->type == KILN_LAYER_CONVOLUTION;
  self->has_bias = l->bias;
  kiln_cpu_md_nchw (&self->src_md, in);
  kiln_cpu_md_vector (&self->bias_md, l->num_output);

  if (self->is_conv)
    {
      kiln_cpu_md_nchw (&self->dst_md, &desc->output);
      if (l->group > 1)
        {
          dnnl_dims_t w = { l->group, l->num_output / l->group, in->c / l->group,
                            l->kernel_h, l->kernel_w };
          dnnl_memory_desc_init_by_tag (&self->weights_md, 5, w, dnnl_f32, dnnl_goihw);
        }
      else
        {
          dnnl_dims_t w = { l->num_output, in->c, l->kernel_h, l->kernel_w };
          dnnl_memory_desc_init_by_tag (&self->weights_md, 4, w, dnnl_f32, dnnl_oihw);
        }
      self->strides[0] = l->stride_h;
      self->strides[1] = l->stride_w;
      self->dilates[0] = l->dilation_h - 1;   /* oneDNN counts the gaps */
      self->dilates[1] = l->dilation_w - 1;
      self->pad_l[0] = l->pad_top;
      self->pad_l[1] = l->pad_left;
      self->pad_r[0] = l->pad_bottom;
      self->pad_r[1] = l->pad_right;

      /* Let oneDNN pick blocked layouts for its JIT kernels; kiln_cpu_run
       * reorders from and to the plain tensors. */
      any_like (&self->src_any, &self->src_md);
      any_like (&self->weights_any, &self->weights_md);
      any_like (&self->dst_any, &self->dst_md);
    }
  else
    {
      dnnl_dims_t d = { in->n, l->num_output };
      dnnl_memory_desc_init_by_tag (&self->dst_md, 2, d, dnnl_f32, dnnl_nc);
      dnnl_dims_t w = { l->num_output, in->c, in->h, in->w };
      dnnl_memory_desc_init_by_tag (&self->weights_md, 4, w, dnnl_f32, dnnl_oihw);
      self->src_any = self->src_md;
      self->weights_any = self->weights_md;
      self->dst_any = self->dst_md;
    }

  /* Create the training forward now so that oneDNN's refusals surface at
   * build time, naming the layer. */
  if (!init_forward (self, &self->fwd_train, dnnl_forward_training, error))
    {
      conv_finalize (&self->parent);
      g_free (self);
      return NULL;
    }
  return &self->parent;
}
