/* Ops that are copies or element-wise kernels: dropout (the CPU's mask
 * from kiln_cuda_dropout_keep, inverted scaling, recomputed from the seed
 * in the backward pass instead of stored), concat along channels
 * (strided copies), element-wise add, flatten. */
#include "config.h"

#include "kiln-cuda-private.h"

typedef struct {
  KilnCudaOp parent;
  gboolean mask_valid;      /* dropout: the last forward was a training one */
  guint64 seed;
} CudaPlain;

#define COPY(dst, src, bytes, what) \
  kiln_cuda_check_runtime (cudaMemcpyAsync ((dst), (src), (bytes), cudaMemcpyDeviceToDevice, \
                                            op->cuda->stream), op->layer->name, what, error)

static gboolean
dropout_scale (KilnCudaOp *op, const float *src, float *dst, gint64 n, guint64 seed, GError **error)
{
  float ratio = op->layer->ratio;
  return kiln_cuda_check_launch (kiln_cuda_launch_dropout (op->cuda->stream, src, dst, n, seed,
                                                           ratio, 1.f / (1.f - ratio)),
                                 op->layer->name, "the dropout kernel", error);
}

/* Concat's channel blocks: each input is one strided 2-D copy, N rows of
 * its C·H·W floats, into (or, @backward, out of) its place in every
 * output row. Inputs whose gradient is not wanted are skipped. */
static gboolean
concat_copy (KilnCudaOp *op, const KilnOpArgs *args, gboolean backward, GError **error)
{
  const KilnOpDesc *desc = op->parent.desc;
  gsize plane = (gsize) desc->output.h * desc->output.w * sizeof (float);
  gsize row = desc->output.c * plane;
  char *whole = (char *) KILN_CUDA_DATA (backward ? args->diff_dst : args->dst);
  gsize offset = 0;

  for (guint k = 0; k < desc->n_inputs; k++)
    {
      gsize block = desc->inputs[k].c * plane;
      KilnTensor *part = backward ? args->diff_src[k] : args->src[k];
      gboolean ok = part == NULL ||
        kiln_cuda_check_runtime (backward
                                   ? cudaMemcpy2DAsync (KILN_CUDA_DATA (part), block, whole + offset,
                                                        row, block, desc->output.n,
                                                        cudaMemcpyDeviceToDevice, op->cuda->stream)
                                   : cudaMemcpy2DAsync (whole + offset, row, KILN_CUDA_DATA (part),
                                                        block, block, desc->output.n,
                                                        cudaMemcpyDeviceToDevice, op->cuda->stream),
                                 op->layer->name, "cudaMemcpy2DAsync (concat)", error);
      if (!ok)
        return FALSE;
      offset += block;
    }
  return TRUE;
}

static gboolean
plain_forward (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaPlain *self = (CudaPlain *) op;
  const KilnOpDesc *desc = op->parent.desc;
  float *dst = KILN_CUDA_DATA (args->dst);
  gint64 n = kiln_shape_n_elements (&desc->output);

  switch (op->layer->type)
    {
    case KILN_LAYER_DROPOUT:
      self->mask_valid = args->train;
      self->seed = args->seed;
      if (!args->train)
        return COPY (dst, KILN_CUDA_DATA (args->src[0]), n * sizeof (float), "cudaMemcpyAsync (dropout)");
      return dropout_scale (op, KILN_CUDA_DATA (args->src[0]), dst, n, args->seed, error);

    case KILN_LAYER_FLATTEN:
      return COPY (dst, KILN_CUDA_DATA (args->src[0]), n * sizeof (float), "cudaMemcpyAsync (flatten)");

    case KILN_LAYER_ADD:
      if (!COPY (dst, KILN_CUDA_DATA (args->src[0]), n * sizeof (float), "cudaMemcpyAsync (add)"))
        return FALSE;
      for (guint k = 1; k < desc->n_inputs; k++)
        if (!kiln_cuda_check_launch (kiln_cuda_launch_accumulate (op->cuda->stream,
                                                                  KILN_CUDA_DATA (args->src[k]),
                                                                  dst, n),
                                     op->layer->name, "the add kernel", error))
          return FALSE;
      return TRUE;

    case KILN_LAYER_CONCAT:
      return concat_copy (op, args, FALSE, error);

    default:
      g_assert_not_reached ();
    }
}

static gboolean
plain_backward_data (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaPlain *self = (CudaPlain *) op;
  const KilnOpDesc *desc = op->parent.desc;
  const float *dd = KILN_CUDA_DATA (args->diff_dst);
  gint64 n = kiln_shape_n_elements (&desc->output);

  switch (op->layer->type)
    {
    case KILN_LAYER_DROPOUT:
      if (args->diff_src[0] == NULL)
        return TRUE;
      if (!self->mask_valid)
        return COPY (KILN_CUDA_DATA (args->diff_src[0]), dd, n * sizeof (float),
                     "cudaMemcpyAsync (dropout)");
      return dropout_scale (op, dd, KILN_CUDA_DATA (args->diff_src[0]), n, self->seed, error);

    case KILN_LAYER_FLATTEN:
      if (args->diff_src[0] == NULL)
        return TRUE;
      return COPY (KILN_CUDA_DATA (args->diff_src[0]), dd, n * sizeof (float),
                   "cudaMemcpyAsync (flatten)");

    case KILN_LAYER_ADD:
      for (guint k = 0; k < desc->n_inputs; k++)
        if (args->diff_src[k] != NULL &&
            !COPY (KILN_CUDA_DATA (args->diff_src[k]), dd, n * sizeof (float), "cudaMemcpyAsync (add)"))
          return FALSE;
      return TRUE;

    case KILN_LAYER_CONCAT:
      return concat_copy (op, args, TRUE, error);

    default:
      g_assert_not_reached ();
    }
}

static void
plain_finalize (KilnCudaOp *op)
{
}

static const KilnCudaOpClass plain_class = {
  .forward = plain_forward,
  .backward_data = plain_backward_data,
  .backward_weights = NULL,
  .finalize = plain_finalize,
};

KilnCudaOp *
kiln_cuda_plain_new (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error)
{
  CudaPlain *self = kiln_cuda_op_alloc (cuda, desc, &plain_class, sizeof (CudaPlain));
  return &self->parent;
}
