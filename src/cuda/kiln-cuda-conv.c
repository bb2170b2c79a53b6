/* Convolution on cuDNN (groups, dilation; unequal padding through a padded
 * copy, kiln-cuda-geometry.h) and inner product on cuBLAS; both with the
 * bias and an optional fused ReLU. Each direction's cuDNN algorithm is
 * chosen on first use, within the workspace cap and the precision setting,
 * and kept in the backend's cache for the shape. */
#include "config.h"

#include "kiln-cuda-geometry.h"
#include "kiln-cuda-private.h"
#include "kiln-engine-error.h"

typedef struct {
  KilnCudaOp parent;
  gboolean is_conv, has_bias;
  KilnCudaConvGeometry geom;
  KilnCudaGemmGeometry gemm;
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnActivationDescriptor_t relu;
  const KilnCudaAlgoChoice *algo[3];    /* per KilnCudaConvDirection; owned by the cache */
  float *padded_src, *padded_diff;      /* explicit padding only */
  gboolean diff_masked;                 /* the fused ReLU's mask is on diff_dst already */
} CudaConv;

static const float one = 1.f, zero = 0.f;

#define CONV_ALGO_MAX 16

typedef struct {
  int algo;
  cudnnStatus_t status;
  size_t memory;
  cudnnMathType_t math;
} Candidate;

/* No setting may convert float32 to half precision. Without TF32 the
 * descriptor is set to FMA math when the algorithm runs (prepare), which
 * keeps any candidate off the tensor cores, so only a candidate that
 * needs them is refused. */
static gboolean
math_allowed (cudnnMathType_t math, gboolean tf32)
{
  if (math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
    return FALSE;
  return tf32 || math != CUDNN_TENSOR_OP_MATH;
}

#define COPY_CANDIDATES(perf, n, out) \
  for (int i_ = 0; i_ < (n); i_++) \
    out[i_] = (Candidate) { (int) perf[i_].algo, perf[i_].status, perf[i_].memory, perf[i_].mathType }

/* cuDNN's ranked candidates for one direction: the heuristics (_v7), or,
 * with @find, timed runs on the op's own buffers in the workspace. */
static gboolean
rank (CudaConv *self, KilnCudaConvDirection dir, gboolean find, const void *x, const void *w,
      const void *y, Candidate *out, int *n_out, GError **error)
{
  KilnCudaBackend *cuda = self->parent.cuda;
  const char *name = self->parent.layer->name;
  cudnnHandle_t h = cuda->cudnn;
  void *ws = cuda->workspace.data;
  size_t ws_size = cuda->workspace.size;
  int n = 0;
  cudnnStatus_t st;

  switch (dir)
    {
    case KILN_CUDA_CONV_FORWARD:
      {
        cudnnConvolutionFwdAlgoPerf_t perf[CONV_ALGO_MAX];
        st = find ? cudnnFindConvolutionForwardAlgorithmEx (h, self->x, x, self->w, w, self->conv,
                                                             self->y, (void *) y, CONV_ALGO_MAX, &n,
                                                             perf, ws, ws_size)
                  : cudnnGetConvolutionForwardAlgorithm_v7 (h, self->x, self->w, self->conv, self->y,
                                                            CONV_ALGO_MAX, &n, perf);
        COPY_CANDIDATES (perf, n, out);
        break;
      }
    case KILN_CUDA_CONV_BACKWARD_DATA:
      {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CONV_ALGO_MAX];
        st = find ? cudnnFindConvolutionBackwardDataAlgorithmEx (h, self->w, w, self->y, y,
                                                                  self->conv, self->x, (void *) x,
                                                                  CONV_ALGO_MAX, &n, perf, ws,
                                                                  ws_size)
                  : cudnnGetConvolutionBackwardDataAlgorithm_v7 (h, self->w, self->y, self->conv,
                                                                 self->x, CONV_ALGO_MAX, &n, perf);
        COPY_CANDIDATES (perf, n, out);
        break;
      }
    case KILN_CUDA_CONV_BACKWARD_FILTER:
    default:
      {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CONV_ALGO_MAX];
        st = find ? cudnnFindConvolutionBackwardFilterAlgorithmEx (h, self->x, x, self->y, y,
                                                                    self->conv, self->w, (void *) w,
                                                                    CONV_ALGO_MAX, &n, perf, ws,
                                                                    ws_size)
                  : cudnnGetConvolutionBackwardFilterAlgorithm_v7 (h, self->x, self->y, self->conv,
                                                                   self->w, CONV_ALGO_MAX, &n, perf);
        COPY_CANDIDATES (perf, n, out);
        break;
      }
    }
  *n_out = n;
  return kiln_cuda_check_cudnn (st, name, find ? "cudnnFindConvolution…AlgorithmEx"
                                               : "cudnnGetConvolution…Algorithm_v7", error);
}

static const char *const direction_names[] = { "forward", "backward data", "backward filter" };

/* The algorithm for @dir, from the cache or chosen now. @x, @w, @y are the
 * buffers a timed search may run on (it overwrites the output side). */
static const KilnCudaAlgoChoice *
choose (CudaConv *self, KilnCudaConvDirection dir, const void *x, const void *w, const void *y,
        GError **error)
{
  KilnCudaBackend *cuda = self->parent.cuda;
  const char *name = self->parent.layer->name;
  KilnCudaAlgoKey key;
  Candidate cands[CONV_ALGO_MAX];
  int n = 0;

  if (self->algo[dir] != NULL)
    return self->algo[dir];
  kiln_cuda_algo_key_init (&key, dir, &self->geom, cuda->tf32);
  if ((self->algo[dir] = kiln_cuda_algo_cache_lookup (cuda->algos, &key)) != NULL)
    return self->algo[dir];

  /* Heuristics always; a timed search then runs in a workspace as large as
   * the most hungry candidate that fits under the cap. */
  if (!kiln_cuda_check_cudnn (cudnnSetConvolutionMathType (self->conv, cuda->tf32 ? CUDNN_DEFAULT_MATH
                                                                                  : CUDNN_FMA_MATH),
                              name, "cudnnSetConvolutionMathType", error) ||
      !rank (self, dir, FALSE, x, w, y, cands, &n, error))
    return NULL;
  if (cuda->find)
    {
      gsize need = 0;
      for (int i = 0; i < n; i++)
        if (cands[i].status == CUDNN_STATUS_SUCCESS && cands[i].memory <= cuda->workspace.cap)
          need = MAX (need, cands[i].memory);
      if (!kiln_cuda_workspace_reserve (&cuda->workspace, need, name, error) ||
          !rank (self, dir, TRUE, x, w, y, cands, &n, error))
        return NULL;
    }

  for (int i = 0; i < n; i++)
    if (cands[i].status == CUDNN_STATUS_SUCCESS && cands[i].memory <= cuda->workspace.cap &&
        math_allowed (cands[i].math, cuda->tf32))
      {
        KilnCudaAlgoChoice choice = { cands[i].algo, cuda->tf32 ? cands[i].math : CUDNN_FMA_MATH,
                                      cands[i].memory };
        kiln_cuda_algo_cache_insert (cuda->algos, &key, &choice);
        return self->algo[dir] = kiln_cuda_algo_cache_lookup (cuda->algos, &key);
      }
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
               "%s: cuDNN offers no %s convolution algorithm in float32%s within the %" G_GSIZE_FORMAT
               " MiB workspace cap (%d candidates); raise KILN_CUDA_WORKSPACE_MB%s or use the CPU "
               "backend", name, direction_names[dir], cuda->tf32 ? "/TF32" : "",
               cuda->workspace.cap >> 20, n, cuda->tf32 ? "" : ", set KILN_CUDA_TF32=1");
  return NULL;
}

/* Sets the chosen math type and makes the workspace large enough. */
static gboolean
prepare (CudaConv *self, const KilnCudaAlgoChoice *algo, GError **error)
{
  const char *name = self->parent.layer->name;
  return kiln_cuda_check_cudnn (cudnnSetConvolutionMathType (self->conv, algo->math_type), name,
                                "cudnnSetConvolutionMathType", error) &&
         kiln_cuda_workspace_reserve (&self->parent.cuda->workspace, algo->workspace, name, error);
}

static gboolean
add_bias_relu (CudaConv *self, const KilnOpArgs *args, GError **error)
{
  KilnCudaOp *op = &self->parent;
  float *y = KILN_CUDA_DATA (args->dst);

  if (self->has_bias &&
      !kiln_cuda_check_cudnn (cudnnAddTensor (op->cuda->cudnn, &one, self->bias,
                                              KILN_CUDA_DATA (args->params[1]), &one, self->y, y),
                              op->layer->name, "cudnnAddTensor (bias)", error))
    return FALSE;
  if (op->parent.desc->fuse_relu &&
      !kiln_cuda_check_cudnn (cudnnActivationForward (op->cuda->cudnn, self->relu, &one, self->y, y,
                                                      &zero, self->y, y),
                              op->layer->name, "cudnnActivationForward (fused ReLU)", error))
    return FALSE;
  return TRUE;
}

/* C = op(A) · op(B) of an inner-product pass (kiln_cuda_gemm_call). */
static gboolean
gemm (CudaConv *self, KilnCudaGemmPass pass, const float *a, const float *b, float *c,
      const char *what, GError **error)
{
  KilnCudaGemmCall g;

  kiln_cuda_gemm_call (&self->gemm, pass, &g);
  return kiln_cuda_check_cublas (cublasSgemm (self->parent.cuda->cublas,
                                              g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                              g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n,
                                              g.k, &one, a, g.lda, b, g.ldb, &zero, c, g.ldc),
                                 self->parent.layer->name, what, error);
}

static gboolean
pad_input (CudaConv *self, const KilnTensor *src, GError **error)
{
  const KilnShape *in = &self->parent.parent.desc->inputs[0];
  const KilnCudaConvGeometry *g = &self->geom;
  return kiln_cuda_check_launch (kiln_cuda_launch_pad (self->parent.cuda->stream,
                                                       KILN_CUDA_DATA (src), self->padded_src,
                                                       in->n, in->c, in->h, in->w, g->pad_top,
                                                       g->pad_left, g->input.h, g->input.w),
                                 self->parent.layer->name, "the padding kernel", error);
}

static gboolean
conv_forward (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaConv *self = (CudaConv *) op;
  KilnCudaBackend *cuda = op->cuda;
  const float *x = KILN_CUDA_DATA (args->src[0]);
  const float *w = KILN_CUDA_DATA (args->params[0]);
  float *y = KILN_CUDA_DATA (args->dst);

  self->diff_masked = FALSE;
  if (!self->is_conv)
    {
      return gemm (self, KILN_CUDA_GEMM_FORWARD, w, x, y, "cublasSgemm (forward)", error) &&
             add_bias_relu (self, args, error);
    }

  if (self->geom.explicit_pad)
    {
      if (!pad_input (self, args->src[0], error))
        return FALSE;
      x = self->padded_src;
    }
  const KilnCudaAlgoChoice *algo = choose (self, KILN_CUDA_CONV_FORWARD, x, w, y, error);
  return algo != NULL && prepare (self, algo, error) &&
         kiln_cuda_check_cudnn (cudnnConvolutionForward (cuda->cudnn, &one, self->x, x, self->w, w,
                                                         self->conv, algo->algo,
                                                         cuda->workspace.data, algo->workspace,
                                                         &zero, self->y, y),
                                op->layer->name, "cudnnConvolutionForward", error) &&
         add_bias_relu (self, args, error);
}

/* The gradient through a fused ReLU, applied to diff_dst once per
 * backward (either pass may come first). */
static gboolean
unfuse_relu (CudaConv *self, const KilnOpArgs *args, GError **error)
{
  if (!self->parent.parent.desc->fuse_relu || self->diff_masked)
    return TRUE;
  self->diff_masked = TRUE;
  return kiln_cuda_relu_mask (self->parent.cuda, args->dst, args->diff_dst,
                              self->parent.layer->name, error);
}

static gboolean
conv_backward_data (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaConv *self = (CudaConv *) op;
  KilnCudaBackend *cuda = op->cuda;

  if (args->diff_src[0] == NULL)
    return TRUE;
  if (!unfuse_relu (self, args, error))
    return FALSE;

  const float *w = KILN_CUDA_DATA (args->params[0]);
  const float *dy = KILN_CUDA_DATA (args->diff_dst);
  float *dx = KILN_CUDA_DATA (args->diff_src[0]);

  if (!self->is_conv)
    {
      return gemm (self, KILN_CUDA_GEMM_BACKWARD_DATA, w, dy, dx, "cublasSgemm (backward data)",
                   error);
    }

  float *target = self->geom.explicit_pad ? self->padded_diff : dx;
  const KilnCudaAlgoChoice *algo = choose (self, KILN_CUDA_CONV_BACKWARD_DATA, target, w, dy, error);
  if (algo == NULL || !prepare (self, algo, error) ||
      !kiln_cuda_check_cudnn (cudnnConvolutionBackwardData (cuda->cudnn, &one, self->w, w, self->y,
                                                            dy, self->conv, algo->algo,
                                                            cuda->workspace.data, algo->workspace,
                                                            &zero, self->x, target),
                              op->layer->name, "cudnnConvolutionBackwardData", error))
    return FALSE;
  if (!self->geom.explicit_pad)
    return TRUE;
  const KilnShape *in = &op->parent.desc->inputs[0];
  return kiln_cuda_check_launch (kiln_cuda_launch_crop (cuda->stream, self->padded_diff, dx, in->n,
                                                        in->c, in->h, in->w, self->geom.pad_top,
                                                        self->geom.pad_left, self->geom.input.h,
                                                        self->geom.input.w),
                                 op->layer->name, "the crop kernel", error);
}

static gboolean
conv_backward_weights (KilnCudaOp *op, const KilnOpArgs *args, GError **error)
{
  CudaConv *self = (CudaConv *) op;
  KilnCudaBackend *cuda = op->cuda;

  if (!unfuse_relu (self, args, error))
    return FALSE;

  const float *x = KILN_CUDA_DATA (args->src[0]);
  const float *dy = KILN_CUDA_DATA (args->diff_dst);
  float *dw = KILN_CUDA_DATA (args->diff_params[0]);

  if (!self->is_conv)
    {
      if (!gemm (self, KILN_CUDA_GEMM_BACKWARD_WEIGHTS, x, dy, dw, "cublasSgemm (weight gradient)",
                 error))
        return FALSE;
    }
  else
    {
      /* The padded copy from the training forward still holds this src. */
      if (self->geom.explicit_pad)
        x = self->padded_src;
      const KilnCudaAlgoChoice *algo = choose (self, KILN_CUDA_CONV_BACKWARD_FILTER, x, dw, dy, error);
      if (algo == NULL || !prepare (self, algo, error) ||
          !kiln_cuda_check_cudnn (cudnnConvolutionBackwardFilter (cuda->cudnn, &one, self->x, x,
                                                                  self->y, dy, self->conv, algo->algo,
                                                                  cuda->workspace.data,
                                                                  algo->workspace, &zero, self->w,
                                                                  dw),
                                  op->layer->name, "cudnnConvolutionBackwardFilter", error))
        return FALSE;
    }
  if (!self->has_bias)
    return TRUE;
  return kiln_cuda_check_cudnn (cudnnConvolutionBackwardBias (cuda->cudnn, &one, self->y, dy, &zero,
                                                              self->bias,
                                                              KILN_CUDA_DATA (args->diff_params[1])),
                                op->layer->name, "cudnnConvolutionBackwardBias", error);
}

static void
conv_finalize (KilnCudaOp *op)
{
  CudaConv *self = (CudaConv *) op;
  g_clear_pointer (&self->x, cudnnDestroyTensorDescriptor);
  g_clear_pointer (&self->y, cudnnDestroyTensorDescriptor);
  g_clear_pointer (&self->bias, cudnnDestroyTensorDescriptor);
  g_clear_pointer (&self->w, cudnnDestroyFilterDescriptor);
  g_clear_pointer (&self->conv, cudnnDestroyConvolutionDescriptor);
  g_clear_pointer (&self->relu, cudnnDestroyActivationDescriptor);
  g_clear_pointer (&self->padded_src, kiln_cuda_buffer_free);
  g_clear_pointer (&self->padded_diff, kiln_cuda_buffer_free);
}

static const KilnCudaOpClass conv_class = {
  .forward = conv_forward,
  .backward_data = conv_backward_data,
  .backward_weights = conv_backward_weights,
  .finalize = conv_finalize,
};

static gboolean
make_conv_descriptors (CudaConv *self, KilnCudaBackend *cuda, GError **error)
{
  const KilnOpDesc *desc = self->parent.parent.desc;
  const char *name = desc->layer->name;
  const KilnCudaConvGeometry *g = &self->geom;
  int n, c, h, w;
  char want[64], got[64];

  if (!kiln_cuda_tensor_desc (&self->x, &g->input, name, error) ||
      !kiln_cuda_check_cudnn (cudnnCreateFilterDescriptor (&self->w), name,
                              "cudnnCreateFilterDescriptor", error) ||
      !kiln_cuda_check_cudnn (cudnnSetFilter4dDescriptor (self->w, CUDNN_DATA_FLOAT,
                                                          CUDNN_TENSOR_NCHW, g->filter[0],
                                                          g->filter[1], g->filter[2], g->filter[3]),
                              name, "cudnnSetFilter4dDescriptor", error) ||
      !kiln_cuda_check_cudnn (cudnnCreateConvolutionDescriptor (&self->conv), name,
                              "cudnnCreateConvolutionDescriptor", error) ||
      !kiln_cuda_check_cudnn (cudnnSetConvolution2dDescriptor (self->conv, g->pad_h, g->pad_w,
                                                               g->stride_h, g->stride_w,
                                                               g->dilation_h, g->dilation_w,
                                                               CUDNN_CROSS_CORRELATION,
                                                               CUDNN_DATA_FLOAT),
                              name, "cudnnSetConvolution2dDescriptor", error) ||
      !kiln_cuda_check_cudnn (cudnnSetConvolutionGroupCount (self->conv, g->group), name,
                              "cudnnSetConvolutionGroupCount", error) ||
      !kiln_cuda_check_cudnn (cudnnGetConvolution2dForwardOutputDim (self->conv, self->x, self->w,
                                                                     &n, &c, &h, &w),
                              name, "cudnnGetConvolution2dForwardOutputDim", error))
    return FALSE;

  KilnShape out = { n, c, h, w };
  if (!kiln_shape_equal (&out, &desc->output))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE,
                   "%s: cuDNN computes a %s output where the layer gives %s; use the CPU backend",
                   name, kiln_shape_to_string (&out, got, sizeof got),
                   kiln_shape_to_string (&desc->output, want, sizeof want));
      return FALSE;
    }
  if (g->explicit_pad)
    {
      gsize bytes = kiln_shape_n_elements (&g->input) * sizeof (float);
      if ((self->padded_src = kiln_cuda_buffer_alloc (cuda, bytes, name, error)) == NULL ||
          (self->padded_diff = kiln_cuda_buffer_alloc (cuda, bytes, name, error)) == NULL)
        return FALSE;
    }
  return TRUE;
}

KilnCudaOp *
kiln_cuda_conv_new (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error)
{
  CudaConv *self = kiln_cuda_op_alloc (cuda, desc, &conv_class, sizeof (CudaConv));
  const KilnLayerSpec *l = desc->layer;
  KilnShape bias = { 1, l->num_output, 1, 1 };
  gboolean ok;

  self->is_conv = l->type == KILN_LAYER_CONVOLUTION;
  self->has_bias = l->bias;
  if (self->is_conv)
    kiln_cuda_conv_geometry (desc, &self->geom);
  else
    kiln_cuda_gemm_geometry (desc, &self->gemm);

  ok = kiln_cuda_tensor_desc (&self->y, &desc->output, l->name, error) &&
       kiln_cuda_tensor_desc (&self->bias, &bias, l->name, error) &&
       (!self->is_conv || make_conv_descriptors (self, cuda, error));
  if (ok && desc->fuse_relu)
    ok = kiln_cuda_check_cudnn (cudnnCreateActivationDescriptor (&self->relu), l->name,
                                "cudnnCreateActivationDescriptor", error) &&
         kiln_cuda_check_cudnn (cudnnSetActivationDescriptor (self->relu, CUDNN_ACTIVATION_RELU,
                                                              CUDNN_PROPAGATE_NAN, 0.0),
                                l->name, "cudnnSetActivationDescriptor", error);
  if (!ok)
    {
      conv_finalize (&self->parent);
      g_free (self);
      return NULL;
    }
  return &self->parent;
}
