/* BatchNorm on cuDNN (per channel: CUDNN_BATCHNORM_SPATIAL). Training
 * normalises with the batch statistics, keeps the mean and inverse
 * standard deviation for the backward pass, and folds the batch into the
 * running statistics as the CPU backend does:
 *   running = momentum · running + (1 − momentum) · batch
 * i.e. cuDNN's exponentialAverageFactor = 1 − momentum; cuDNN, like the
 * CPU backend, folds in the unbiased variance (m/(m − 1)). Inference
 * normalises with the running statistics. */
#include "config.h"

#include "kiln-cuda-private.h"

typedef struct {
  KilnCudaOp parent;
  cudnnTensorDescriptor_t data, vec;
  float *saved_mean, *saved_inv_std;    /* from the last training forward */
  float *scratch;                       /* diff_src nobody asked for */
  float *scratch_scale, *scratch_shift; /* parameter gradients nobody asked for */
} CudaBatchNorm;

static const float one = 1.f, zero = 0.f;

#define MODE CUDNN_BATCHNORM_SPATIAL

static gboolean
bn_forward (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaBatchNorm *self = (CudaBatchNorm *) op;
  const KilnLayerSpec *l = op->layer;
  cudnnHandle_t h = op->cuda->cudnn;
  float *x = KILN_CUDA_DATA (args->src[0]), *y = KILN_CUDA_DATA (args->dst);
  float *scale = KILN_CUDA_DATA (args->params[0]), *shift = KILN_CUDA_DATA (args->params[1]);
  float *running_mean = KILN_CUDA_DATA (args->params[2]);
  float *running_var = KILN_CUDA_DATA (args->params[3]);

  if (!args->train)
    return kiln_cuda_check_cudnn (cudnnBatchNormalizationForwardInference (
                                    h, MODE, &one, &zero, self->data, x, self->data, y, self->vec,
                                    scale, shift, running_mean, running_var, l->epsilon),
                                  l->name, "cudnnBatchNormalizationForwardInference", error);
  return kiln_cuda_check_cudnn (cudnnBatchNormalizationForwardTraining (
                                  h, MODE, &one, &zero, self->data, x, self->data, y, self->vec,
                                  scale, shift, 1.0 - l->momentum, running_mean, running_var,
                                  l->epsilon, self->saved_mean, self->saved_inv_std),
                                l->name, "cudnnBatchNormalizationForwardTraining", error);
}

/* cuDNN computes the input and parameter gradients in one call; what is
 * not wanted goes to scratch. */
static gboolean
run_backward (CudaBatchNorm *self, const KilnOpArgs *args, gboolean weights, GError **error)
{
  KilnCudaOp *op = &self->parent;
  float *dx = args->diff_src != NULL && args->diff_src[0] != NULL
                ? KILN_CUDA_DATA (args->diff_src[0]) : self->scratch;

  return kiln_cuda_check_cudnn (cudnnBatchNormalizationBackward (
                                  op->cuda->cudnn, MODE, &one, &zero, &one, &zero, self->data,
                                  KILN_CUDA_DATA (args->src[0]), self->data,
                                  KILN_CUDA_DATA (args->diff_dst), self->data, dx, self->vec,
                                  KILN_CUDA_DATA (args->params[0]),
                                  weights ? KILN_CUDA_DATA (args->diff_params[0]) : self->scratch_scale,
                                  weights ? KILN_CUDA_DATA (args->diff_params[1]) : self->scratch_shift,
                                  op->layer->epsilon, self->saved_mean, self->saved_inv_std),
                                op->layer->name, "cudnnBatchNormalizationBackward", error);
}

static gboolean
bn_backward_data (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  if (args->diff_src[0] == NULL)
    return TRUE;
  return run_backward ((CudaBatchNorm *) op, args, FALSE, error);
}

static gboolean
bn_backward_weights (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaBatchNorm *self = (CudaBatchNorm *) op;
  if (self->scratch == NULL &&
      (self->scratch = kiln_cuda_buffer_alloc (op->cuda,
                                               kiln_shape_n_elements (&op->parent.desc->inputs[0]) *
                                                 sizeof (float),
                                               op->layer->name, error)) == NULL)
    return FALSE;
  KilnOpArgs weights_only = *args;
  weights_only.diff_src = NULL;
  return run_backward (self, &weights_only, TRUE, error);
}

static void
bn_finalize (KilnCudaOp *op)
{
  CudaBatchNorm *self = (CudaBatchNorm *) op;
  g_clear_pointer (&self->data, cudnnDestroyTensorDescriptor);
  g_clear_pointer (&self->vec, cudnnDestroyTensorDescriptor);
  g_clear_pointer (&self->saved_mean, kiln_cuda_buffer_free);
  g_clear_pointer (&self->saved_inv_std, kiln_cuda_buffer_free);
  g_clear_pointer (&self->scratch, kiln_cuda_buffer_free);
  g_clear_pointer (&self->scratch_scale, kiln_cuda_buffer_free);
  g_clear_pointer (&self->scratch_shift, kiln_cuda_buffer_free);
}

static const KilnCudaOpClass bn_class = {
  .forward = bn_forward,
  .backward_data = bn_backward_data,
  .backward_weights = bn_backward_weights,
  .finalize = bn_finalize,
};

KilnCudaOp *
kiln_cuda_bn_new (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error)
{
  CudaBatchNorm *self = kiln_cuda_op_alloc (cuda, desc, &bn_class, sizeof (CudaBatchNorm));
  const char *name = desc->layer->name;
  gsize vec = desc->inputs[0].c * sizeof (float);
  gboolean ok =
    kiln_cuda_tensor_desc (&self->data, &desc->inputs[0], name, error) &&
    kiln_cuda_check_cudnn (cudnnCreateTensorDescriptor (&self->vec), name,
                           "cudnnCreateTensorDescriptor", error) &&
    kiln_cuda_check_cudnn (cudnnDeriveBNTensorDescriptor (self->vec, self->data, MODE), name,
                           "cudnnDeriveBNTensorDescriptor", error) &&
    (self->saved_mean = kiln_cuda_buffer_alloc (cuda, vec, name, error)) != NULL &&
    (self->saved_inv_std = kiln_cuda_buffer_alloc (cuda, vec, name, error)) != NULL &&
    (self->scratch_scale = kiln_cuda_buffer_alloc (cuda, vec, name, error)) != NULL &&
    (self->scratch_shift = kiln_cuda_buffer_alloc (cuda, vec, name, error)) != NULL;

  if (!ok)
    {
      bn_finalize (&self->parent);
      g_free (self);
      return NULL;
    }
  return &self->parent;
}
