/* Max, average and global average pooling on Kiln's kernels
 * (kiln-cuda-pool.cu). cuDNN pools with equal padding on both sides only;
 * Caffe's ceil rounding and ONNX's unequal pads need more padding after
 * the input, which these kernels take as it comes. Max pooling keeps the
 * index of each window's first maximum (as oneDNN's workspace does) for
 * the backward pass. */
#include "config.h"

#include "kiln-cuda-geometry.h"
#include "kiln-cuda-private.h"

typedef struct {
  KilnCudaOp parent;
  KilnCudaPoolGeometry geom;
  int *argmax;              /* max pooling: per output, from the last training forward */
} CudaPool;

static gboolean
pool_forward (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaPool *self = (CudaPool *) op;
  const KilnOpDesc *desc = op->parent.desc;
  const KilnShape *in = &desc->inputs[0], *out = &desc->output;
  const KilnCudaPoolGeometry *g = &self->geom;

  return kiln_cuda_check_launch (
    kiln_cuda_launch_pool_forward (op->cuda->stream, g->mode, KILN_CUDA_DATA (args->src[0]),
                                   KILN_CUDA_DATA (args->dst), args->train ? self->argmax : NULL,
                                   in->n * in->c, in->h, in->w, out->h, out->w, g->kernel_h,
                                   g->kernel_w, g->stride_h, g->stride_w, g->pad_top, g->pad_left),
    op->layer->name, "the pooling kernel", error);
}

static gboolean
pool_backward_data (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaPool *self = (CudaPool *) op;
  const KilnOpDesc *desc = op->parent.desc;
  const KilnShape *in = &desc->inputs[0], *out = &desc->output;
  const KilnCudaPoolGeometry *g = &self->geom;

  if (args->diff_src[0] == NULL)
    return TRUE;
  return kiln_cuda_check_launch (
    kiln_cuda_launch_pool_backward (op->cuda->stream, g->mode, KILN_CUDA_DATA (args->diff_dst),
                                    KILN_CUDA_DATA (args->diff_src[0]), self->argmax,
                                    in->n * in->c, in->h, in->w, out->h, out->w, g->kernel_h,
                                    g->kernel_w, g->stride_h, g->stride_w, g->pad_top,
                                    g->pad_left),
    op->layer->name, "the pooling backward kernel", error);
}

static void
pool_finalize (KilnCudaOp *op)
{
  g_clear_pointer (&((CudaPool *) op)->argmax, kiln_cuda_buffer_free);
}

static const KilnCudaOpClass pool_class = {
  .forward = pool_forward,
  .backward_data = pool_backward_data,
  .backward_weights = NULL,
  .finalize = pool_finalize,
};

KilnCudaOp *
kiln_cuda_pool_new (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error)
{
  CudaPool *self = kiln_cuda_op_alloc (cuda, desc, &pool_class, sizeof (CudaPool));

  kiln_cuda_pool_geometry (desc, &self->geom);
  if (self->geom.mode == KILN_CUDA_POOL_MAX)
    {
      self->argmax = kiln_cuda_buffer_alloc (cuda, kiln_shape_n_elements (&desc->output) * sizeof (int),
                                             desc->layer->name, error);
      if (self->argmax == NULL)
        {
          g_free (self);
          return NULL;
        }
    }
  return &self->parent;
}
