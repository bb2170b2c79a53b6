/* ReLU, LRN across channels and softmax over channels on cuDNN.
 *
 * LRN: cuDNN computes y = x / (k + alpha/n · Σ x²)^beta over the n
 * channels centred on c, dividing alpha by n as Caffe, ONNX, oneDNN and
 * KilnLayerSpec do; it takes n from 1 to 16, k ≥ 1e-5 and beta ≥ 0.01. */
#include "config.h"

#include "kiln-cuda-private.h"
#include "kiln-engine-error.h"

typedef struct {
  KilnCudaOp parent;
  cudnnTensorDescriptor_t x, y;
  cudnnActivationDescriptor_t relu;
  cudnnLRNDescriptor_t lrn;
} CudaUnary;

static const float one = 1.f, zero = 0.f;

gboolean
kiln_cuda_lrn_supports (const KilnOpDesc *desc, GError **error)
{
  const KilnLayerSpec *l = desc->layer;

  if (l->local_size < CUDNN_LRN_MIN_N || l->local_size > CUDNN_LRN_MAX_N ||
      l->k < CUDNN_LRN_MIN_K || l->beta < CUDNN_LRN_MIN_BETA)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   "%s: cuDNN's LRN takes a size of %d to %d, k ≥ %g and beta ≥ %g, not n = %d, "
                   "k = %g, beta = %g; use the CPU backend for this net", l->name, CUDNN_LRN_MIN_N,
                   CUDNN_LRN_MAX_N, CUDNN_LRN_MIN_K, CUDNN_LRN_MIN_BETA, l->local_size, l->k,
                   l->beta);
      return FALSE;
    }
  return TRUE;
}

static gboolean
unary_forward (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaUnary *self = (CudaUnary *) op;
  cudnnHandle_t h = op->cuda->cudnn;
  const float *x = KILN_CUDA_DATA (args->src[0]);
  float *y = KILN_CUDA_DATA (args->dst);

  switch (op->layer->type)
    {
    case KILN_LAYER_RELU:
      return kiln_cuda_check_cudnn (cudnnActivationForward (h, self->relu, &one, self->x, x, &zero,
                                                            self->y, y),
                                    op->layer->name, "cudnnActivationForward", error);
    case KILN_LAYER_LRN:
      return kiln_cuda_check_cudnn (cudnnLRNCrossChannelForward (h, self->lrn,
                                                                 CUDNN_LRN_CROSS_CHANNEL_DIM1, &one,
                                                                 self->x, x, &zero, self->y, y),
                                    op->layer->name, "cudnnLRNCrossChannelForward", error);
    case KILN_LAYER_SOFTMAX:
      return kiln_cuda_check_cudnn (cudnnSoftmaxForward (h, CUDNN_SOFTMAX_ACCURATE,
                                                         CUDNN_SOFTMAX_MODE_CHANNEL, &one, self->x,
                                                         x, &zero, self->y, y),
                                    op->layer->name, "cudnnSoftmaxForward", error);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
unary_backward_data (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaUnary *self = (CudaUnary *) op;
  cudnnHandle_t h = op->cuda->cudnn;

  if (args->diff_src[0] == NULL)
    return TRUE;
  const float *x = KILN_CUDA_DATA (args->src[0]);
  const float *y = KILN_CUDA_DATA (args->dst);
  const float *dy = KILN_CUDA_DATA (args->diff_dst);
  float *dx = KILN_CUDA_DATA (args->diff_src[0]);

  switch (op->layer->type)
    {
    case KILN_LAYER_RELU:
      return kiln_cuda_check_cudnn (cudnnActivationBackward (h, self->relu, &one, self->y, y,
                                                             self->y, dy, self->x, x, &zero,
                                                             self->x, dx),
                                    op->layer->name, "cudnnActivationBackward", error);
    case KILN_LAYER_LRN:
      return kiln_cuda_check_cudnn (cudnnLRNCrossChannelBackward (h, self->lrn,
                                                                  CUDNN_LRN_CROSS_CHANNEL_DIM1, &one,
                                                                  self->y, y, self->y, dy, self->x,
                                                                  x, &zero, self->x, dx),
                                    op->layer->name, "cudnnLRNCrossChannelBackward", error);
    case KILN_LAYER_SOFTMAX:
      return kiln_cuda_check_cudnn (cudnnSoftmaxBackward (h, CUDNN_SOFTMAX_ACCURATE,
                                                          CUDNN_SOFTMAX_MODE_CHANNEL, &one, self->y,
                                                          y, self->y, dy, &zero, self->x, dx),
                                    op->layer->name, "cudnnSoftmaxBackward", error);
    default:
      g_assert_not_reached ();
    }
}

static void
unary_finalize (KilnCudaOp *op)
{
  CudaUnary *self = (CudaUnary *) op;
  g_clear_pointer (&self->x, cudnnDestroyTensorDescriptor);
  g_clear_pointer (&self->y, cudnnDestroyTensorDescriptor);
  g_clear_pointer (&self->relu, cudnnDestroyActivationDescriptor);
  g_clear_pointer (&self->lrn, cudnnDestroyLRNDescriptor);
}

static const KilnCudaOpClass unary_class = {
  .forward = unary_forward,
  .backward_data = unary_backward_data,
  .backward_weights = NULL,
  .finalize = unary_finalize,
};

KilnCudaOp *
kiln_cuda_unary_new (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error)
{
  CudaUnary *self = kiln_cuda_op_alloc (cuda, desc, &unary_class, sizeof (CudaUnary));
  const KilnLayerSpec *l = desc->layer;
  gboolean ok = kiln_cuda_tensor_desc (&self->x, &desc->inputs[0], l->name, error) &&
                kiln_cuda_tensor_desc (&self->y, &desc->output, l->name, error);

  if (ok && l->type == KILN_LAYER_RELU)
    ok = kiln_cuda_check_cudnn (cudnnCreateActivationDescriptor (&self->relu), l->name,
                                "cudnnCreateActivationDescriptor", error) &&
         kiln_cuda_check_cudnn (cudnnSetActivationDescriptor (self->relu, CUDNN_ACTIVATION_RELU,
                                                              CUDNN_PROPAGATE_NAN, 0.0),
                                l->name, "cudnnSetActivationDescriptor", error);
  if (ok && l->type == KILN_LAYER_LRN)
    ok = kiln_cuda_lrn_supports (desc, error) &&
         kiln_cuda_check_cudnn (cudnnCreateLRNDescriptor (&self->lrn), l->name,
                                "cudnnCreateLRNDescriptor", error) &&
         kiln_cuda_check_cudnn (cudnnSetLRNDescriptor (self->lrn, (unsigned) l->local_size,
                                                       l->alpha, l->beta, l->k),
                                l->name, "cudnnSetLRNDescriptor", error);
  if (!ok)
    {
      unary_finalize (&self->parent);
      g_free (self);
      return NULL;
    }
  return &self->parent;
}
