/* One-input, one-output ops on oneDNN: ReLU, LRN across channels, max and
 * average pooling (also global), softmax. Forward for training and for
 * inference are separate primitives (training may keep a workspace for the
 * backward pass); the backward primitive is made on first use.
 *
 * LRN: oneDNN's across-channel LRN computes
 *   y = x / (k + alpha/n · Σ x²)^beta  over the n channels centred on c,
 * which is Caffe's and ONNX's definition. Kiln's KilnLayerSpec.alpha uses
 * that meaning; Chainer's LocalResponseNormalization has no 1/n (an importer
 * from Chainer passes alpha·n). */
#include "config.h"

#include "kiln-backend-cpu-private.h"

typedef union {
  dnnl_eltwise_desc_t eltwise;
  dnnl_lrn_desc_t lrn;
  dnnl_pooling_v2_desc_t pool;
  dnnl_softmax_desc_t softmax;
} AnyDesc;

typedef struct {
  KilnCpuOp parent;
  dnnl_memory_desc_t src_md, dst_md;     /* Kiln's plain layouts */
  dnnl_memory_desc_t src_op, dst_op;     /* the layouts the primitives run on */
  dnnl_memory_desc_t infer_src, infer_dst;  /* inference follows its producer's layout */
  KilnCpuPrim fwd_train, fwd_infer, bwd;
  void *workspace;                /* from the last training forward */
  const dnnl_memory_desc_t *workspace_md;
  /* Pooling geometry. */
  dnnl_alg_kind_t pool_alg;
  dnnl_dims_t strides, kernel, dilation, pad_l, pad_r;
} CpuUnary;

#define DATA(t) kiln_tensor_get_data (t)

static gboolean
describe (CpuUnary *self, AnyDesc *d, gboolean backward, dnnl_prop_kind_t prop,
          const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst, GError **error)
{
  const KilnLayerSpec *l = self->parent.layer;
  dnnl_status_t st;

  switch (l->type)
    {
    case KILN_LAYER_RELU:
      st = backward
        ? dnnl_eltwise_backward_desc_init (&d->eltwise, dnnl_eltwise_relu, src,
                                           src, 0.f, 0.f)
        : dnnl_eltwise_forward_desc_init (&d->eltwise, prop, dnnl_eltwise_relu, src,
                                          0.f, 0.f);
      break;
    case KILN_LAYER_LRN:
      st = backward
        ? dnnl_lrn_backward_desc_init (&d->lrn, dnnl_lrn_across_channels, src,
                                       src, l->local_size, l->alpha, l->beta, l->k)
        : dnnl_lrn_forward_desc_init (&d->lrn, prop, dnnl_lrn_across_channels, src,
                                      l->local_size, l->alpha, l->beta, l->k);
      break;
    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
    case KILN_LAYER_GLOBAL_AVG_POOL:
      st = backward
        ? dnnl_pooling_v2_backward_desc_init (&d->pool, self->pool_alg, src,
                                              dst, self->strides, self->kernel,
                                              self->dilation, self->pad_l, self->pad_r)
        : dnnl_pooling_v2_forward_desc_init (&d->pool, prop, self->pool_alg, src,
                                             dst, self->strides, self->kernel,
                                             self->dilation, self->pad_l, self->pad_r);
      break;
    case KILN_LAYER_SOFTMAX:
      st = backward
        ? dnnl_softmax_backward_desc_init (&d->softmax, dst, dst, 1)
        : dnnl_softmax_forward_desc_init (&d->softmax, prop, src, 1);
      break;
    default:
      g_assert_not_reached ();
    }
  return kiln_cpu_check (st, l->name, "describe the operation", error);
}

static gboolean
ensure_forward (CpuUnary *self, gboolean train, GError **error)
{
  KilnCpuPrim *prim = train ? &self->fwd_train : &self->fwd_infer;
  AnyDesc d;

  if (prim->prim != NULL)
    return TRUE;
  if (!describe (self, &d, FALSE, train ? dnnl_forward_training : dnnl_forward_inference,
                 train ? &self->src_op : &self->infer_src, train ? &self->dst_op : &self->infer_dst,
                 error) ||
      !kiln_cpu_prim_create (self->parent.cpu, prim, &d, NULL, NULL, self->parent.layer->name,
                             "create the forward primitive", error))
    return FALSE;

  if (train)
    {
      const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md (prim->pd, dnnl_query_workspace_md, 0);
      if (ws != NULL && ws->ndims > 0 && dnnl_memory_desc_get_size (ws) > 0)
        {
          self->workspace_md = ws;
          self->workspace = kiln_cpu_buffer_alloc (dnnl_memory_desc_get_size (ws), error);
          if (self->workspace == NULL)
            return FALSE;
        }
    }
  return TRUE;
}

/* Inference convolutions (brgconv) leave NHWC, training ones nChw16c: LRN
 * and pooling in inference adopt whatever blocked layout arrives instead of
 * reordering it (their JIT kernels take both). */
static void
follow_producer (CpuUnary *self, const KilnTensor *src)
{
  const KilnLayerSpec *l = self->parent.layer;
  const dnnl_memory_desc_t *have = kiln_cpu_layout_md (self->parent.cpu, src);

  if (have == NULL || dnnl_memory_desc_equal (have, &self->infer_src) ||
      (l->type != KILN_LAYER_LRN && l->type != KILN_LAYER_MAX_POOL &&
       l->type != KILN_LAYER_AVG_POOL && l->type != KILN_LAYER_GLOBAL_AVG_POOL))
    return;
  kiln_cpu_prim_clear (&self->fwd_infer);
  self->infer_src = *have;
  if (l->type == KILN_LAYER_LRN)
    self->infer_dst = *have;
  else
    dnnl_memory_desc_init_by_tag (&self->infer_dst, 4, self->dst_md.dims, dnnl_f32,
                                  dnnl_format_tag_any);
}

static gboolean
unary_forward (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuUnary *self = (CpuUnary *) op;

  if (!args->train)
    follow_producer (self, args->src[0]);
  if (!ensure_forward (self, args->train, NULL))
    {
      /* The adopted layout has no kernel: back to the op's own. */
      self->infer_src = self->src_op;
      self->infer_dst = self->dst_op;
      kiln_cpu_prim_clear (&self->fwd_infer);
      if (!ensure_forward (self, args->train, error))
        return FALSE;
    }

  KilnCpuArg a[] = {
    { DNNL_ARG_SRC, &self->src_md, DATA (args->src[0]) },
    { DNNL_ARG_DST, &self->dst_md, DATA (args->dst) },
    { DNNL_ARG_WORKSPACE, self->workspace_md, self->workspace },
  };
  int n = args->train && self->workspace != NULL ? 3 : 2;
  return kiln_cpu_run (op->cpu, args->train ? &self->fwd_train : &self->fwd_infer, a, n,
                       op->layer->name, error);
}

static gboolean
unary_backward_data (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuUnary *self = (CpuUnary *) op;

  if (args->diff_src[0] == NULL)
    return TRUE;
  if (!ensure_forward (self, TRUE, error))
    return FALSE;
  if (self->bwd.prim == NULL)
    {
      AnyDesc d;
      if (!describe (self, &d, TRUE, dnnl_backward_data, &self->src_op, &self->dst_op, error) ||
          !kiln_cpu_prim_create (op->cpu, &self->bwd, &d, NULL, self->fwd_train.pd,
                                 op->layer->name, "create the backward primitive", error))
        return FALSE;
    }

  KilnCpuArg a[6];
  int n = 0;
  a[n++] = (KilnCpuArg) { DNNL_ARG_DIFF_DST, &self->dst_md, DATA (args->diff_dst) };
  a[n++] = (KilnCpuArg) { DNNL_ARG_DIFF_SRC, &self->src_md, DATA (args->diff_src[0]) };
  switch (op->layer->type)
    {
    case KILN_LAYER_RELU:
    case KILN_LAYER_LRN:
      a[n++] = (KilnCpuArg) { DNNL_ARG_SRC, &self->src_md, DATA (args->src[0]) };
      break;
    case KILN_LAYER_SOFTMAX:
      a[n++] = (KilnCpuArg) { DNNL_ARG_DST, &self->dst_md, DATA (args->dst) };
      break;
    default:
      break;
    }
  if (self->workspace != NULL)
    a[n++] = (KilnCpuArg) { DNNL_ARG_WORKSPACE, self->workspace_md, self->workspace };
  return kiln_cpu_run (op->cpu, &self->bwd, a, n, op->layer->name, error);
}

static void
unary_finalize (KilnCpuOp *op)
{
  CpuUnary *self = (CpuUnary *) op;
  kiln_cpu_prim_clear (&self->fwd_train);
  kiln_cpu_prim_clear (&self->fwd_infer);
  kiln_cpu_prim_clear (&self->bwd);
  g_clear_pointer (&self->workspace, kiln_cpu_buffer_free);
}

static const KilnCpuOpClass unary_class = {
  .forward = unary_forward,
  .backward_data = unary_backward_data,
  .backward_weights = NULL,
  .finalize = unary_finalize,
};

KilnCpuOp *
kiln_cpu_unary_new (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error)
{
  CpuUnary *self = kiln_cpu_op_alloc (cpu, desc, &unary_class, sizeof (CpuUnary));
  const KilnLayerSpec *l = desc->layer;
  const KilnShape *in = &desc->inputs[0];

  kiln_cpu_md_nchw (&self->src_md, in);
  kiln_cpu_md_nchw (&self->dst_md, &desc->output);
  /* LRN and pooling have JIT kernels only for channel-blocked layouts;
   * ReLU and softmax run on the plain one. */
  self->src_op = self->src_md;
  self->dst_op = self->dst_md;
  if (l->type == KILN_LAYER_LRN || l->type == KILN_LAYER_MAX_POOL ||
      l->type == KILN_LAYER_AVG_POOL || l->type == KILN_LAYER_GLOBAL_AVG_POOL)
    {
      kiln_cpu_md_blocked (&self->src_op, in);
      kiln_cpu_md_blocked (&self->dst_op, &desc->output);
    }
  self->infer_src = self->src_op;
  self->infer_dst = self->dst_op;

  if (l->type == KILN_LAYER_GLOBAL_AVG_POOL)
    {
      self->pool_alg = dnnl_pooling_avg_exclude_padding;
      self->kernel[0] = in->h;
      self->kernel[1] = in->w;
      self->strides[0] = self->strides[1] = 1;
    }
  else if (l->type == KILN_LAYER_MAX_POOL || l->type == KILN_LAYER_AVG_POOL)
    {
      if (l->type == KILN_LAYER_MAX_POOL)
        self->pool_alg = dnnl_pooling_max;
      else
        self->pool_alg = l->count_include_pad ? dnnl_pooling_avg_include_padding
                                              : dnnl_pooling_avg_exclude_padding;
      self->kernel[0] = l->kernel_h;
      self->kernel[1] = l->kernel_w;
      self->strides[0] = l->stride_h;
      self->strides[1] = l->stride_w;
      self->pad_l[0] = l->pad_top;
      self->pad_l[1] = l->pad_left;
      /* Ceil rounding is more padding after the input; it never counts in
       * an average (kiln_op_desc_init refuses the case where it would). */
      self->pad_r[0] = l->pad_bottom + desc->extra_pad_bottom;
      self->pad_r[1] = l->pad_right + desc->extra_pad_right;
    }

  if (!ensure_forward (self, FALSE, error))
    {
      unary_finalize (&self->parent);
      g_free (self);
      return NULL;
    }
  return &self->parent;
}
