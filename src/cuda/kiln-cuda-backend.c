/* The CUDA backend: device memory, the vtable, the element-wise updates,
 * the loss and the batch conversion; ops live in kiln-cuda-{conv,unary,
 * pool,bn,plain}.c. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "kiln-cuda-private.h"
#include "kiln-engine-error.h"

#define CUDA(self) ((KilnCudaBackend *) (self))

static const KilnBackendVTable cuda_vtable;

/* The device is per host thread in CUDA; the thread that drives the
 * backend may not be the one that made it. */
static void
use_device (KilnCudaBackend *cuda)
{
  cudaSetDevice (cuda->device);
}

/* Keeps the first failure of a call that has no GError to report it. */
static void
remember (KilnCudaBackend *cuda, GError *error)
{
  if (error == NULL)
    return;
  if (cuda->pending == NULL)
    cuda->pending = error;
  else
    g_error_free (error);
}

gboolean
kiln_cuda_take_pending (KilnCudaBackend *cuda, GError **error)
{
  if (cuda->pending == NULL)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&cuda->pending));
  return FALSE;
}

gboolean
kiln_cuda_check_launch (int status, const char *layer, const char *kernel, GError **error)
{
  return kiln_cuda_check_runtime ((cudaError_t) status, layer, kernel, error);
}

gpointer
kiln_cuda_buffer_alloc (KilnCudaBackend *cuda, gsize bytes, const char *layer, GError **error)
{
  void *data = NULL;
  cudaError_t status;

  use_device (cuda);
  status = cudaMalloc (&data, MAX (bytes, 4));
  if (status == cudaErrorMemoryAllocation)
    {
      cudaGetLastError ();   /* not sticky: clear it so later calls do not see it */
      kiln_cuda_set_out_of_memory (error, layer, "cudaMalloc", bytes);
      return NULL;
    }
  if (!kiln_cuda_check_runtime (status, layer, "cudaMalloc", error))
    return NULL;
  return data;
}

void
kiln_cuda_buffer_free (gpointer data)
{
  if (data != NULL)
    cudaFree (data);
}

gboolean
kiln_cuda_tensor_desc (cudnnTensorDescriptor_t *desc, const KilnShape *shape, const char *layer,
                       GError **error)
{
  if (*desc == NULL && !kiln_cuda_check_cudnn (cudnnCreateTensorDescriptor (desc), layer,
                                               "cudnnCreateTensorDescriptor", error))
    return FALSE;
  return kiln_cuda_check_cudnn (cudnnSetTensor4dDescriptor (*desc, CUDNN_TENSOR_NCHW,
                                                            CUDNN_DATA_FLOAT, shape->n, shape->c,
                                                            shape->h, shape->w),
                                layer, "cudnnSetTensor4dDescriptor", error);
}

gboolean
kiln_cuda_relu_mask (KilnCudaBackend *cuda, const KilnTensor *dst, KilnTensor *diff,
                     const char *layer, GError **error)
{
  return kiln_cuda_check_launch (kiln_cuda_launch_relu_mask (cuda->stream, KILN_CUDA_DATA (dst),
                                                             KILN_CUDA_DATA (diff),
                                                             kiln_tensor_n_elements (dst)),
                                 layer, "the fused ReLU gradient kernel", error);
}

gpointer
kiln_cuda_op_alloc (KilnCudaBackend *cuda, const KilnOpDesc *desc, const KilnCudaOpClass *klass,
                    gsize size)
{
  KilnCudaOp *op = g_malloc0 (size);
  op->parent.backend = &cuda->parent;
  op->parent.desc = desc;
  op->klass = klass;
  op->cuda = cuda;
  op->layer = desc->layer;
  return op;
}

/* ---- the vtable ---- */

static void
cuda_destroy (KilnBackend *self)
{
  KilnCudaBackend *cuda = CUDA (self);

  use_device (cuda);
  if (cuda->stream != NULL)
    cudaStreamSynchronize (cuda->stream);
  kiln_cuda_workspace_clear (&cuda->workspace);
  g_clear_pointer (&cuda->labels, kiln_cuda_buffer_free);
  g_clear_pointer (&cuda->row_loss, kiln_cuda_buffer_free);
  g_clear_pointer (&cuda->row_correct, kiln_cuda_buffer_free);
  g_clear_pointer (&cuda->sums, kiln_cuda_buffer_free);
  g_clear_pointer (&cuda->feeder, kiln_cuda_feeder_free);
  g_clear_pointer (&cuda->algos, kiln_cuda_algo_cache_free);
  g_clear_pointer (&cuda->cublas, cublasDestroy);
  g_clear_pointer (&cuda->cudnn, cudnnDestroy);
  g_clear_pointer (&cuda->stream, cudaStreamDestroy);
  g_clear_error (&cuda->pending);
  g_free (cuda);
}

static gpointer
cuda_alloc (KilnBackend *self, gsize bytes, GError **error)
{
  return kiln_cuda_buffer_alloc (CUDA (self), bytes, NULL, error);
}

static void
cuda_free (KilnBackend *self, gpointer data)
{
  use_device (CUDA (self));
  kiln_cuda_buffer_free (data);
}

/* Waits for the copy: the caller may reuse @host at once, and with pinned
 * memory an asynchronous copy would still be reading it. */
static void
cuda_upload (KilnBackend *self, gpointer dst, const void *host, gsize bytes)
{
  KilnCudaBackend *cuda = CUDA (self);
  GError *error = NULL;

  use_device (cuda);
  if (!kiln_cuda_check_runtime (cudaMemcpyAsync (dst, host, bytes, cudaMemcpyHostToDevice,
                                                 cuda->stream),
                                NULL, "cudaMemcpyAsync (upload)", &error) ||
      !kiln_cuda_check_runtime (cudaStreamSynchronize (cuda->stream), NULL,
                                "cudaStreamSynchronize (upload)", &error))
    remember (cuda, error);
}

static void
cuda_download (KilnBackend *self, gconstpointer src, void *host, gsize bytes)
{
  KilnCudaBackend *cuda = CUDA (self);
  GError *error = NULL;

  use_device (cuda);
  if (!kiln_cuda_check_runtime (cudaMemcpyAsync (host, src, bytes, cudaMemcpyDeviceToHost,
                                                 cuda->stream),
                                NULL, "cudaMemcpyAsync (download)", &error) ||
      !kiln_cuda_check_runtime (cudaStreamSynchronize (cuda->stream), NULL,
                                "cudaStreamSynchronize (download)", &error))
    {
      /* NaN, so that a caller checking numbers notices before it reads the
       * pending error. */
      float *f = host;
      for (gsize i = 0; i < bytes / sizeof (float); i++)
        f[i] = NAN;
      remember (cuda, error);
    }
}

static void
cuda_fill (KilnBackend *self, KilnTensor *t, float value)
{
  KilnCudaBackend *cuda = CUDA (self);
  GError *error = NULL;

  use_device (cuda);
  if (!kiln_cuda_check_launch (kiln_cuda_launch_fill (cuda->stream, KILN_CUDA_DATA (t),
                                                      kiln_tensor_n_elements (t), value),
                               NULL, "the fill kernel", &error))
    remember (cuda, error);
}

static gboolean
cuda_supports_op (KilnBackend *self, const KilnOpDesc *desc, GError **error)
{
  const KilnLayerSpec *l = desc->layer;

  if (l->type >= KILN_LAYER_N_TYPES)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   "%s: the CUDA backend has no op for layer type %d", l->name, l->type);
      return FALSE;
    }
  if (desc->fuse_relu && l->type != KILN_LAYER_CONVOLUTION && l->type != KILN_LAYER_INNER_PRODUCT)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   "%s: the CUDA backend fuses ReLU only into convolution and inner product",
                   l->name);
      return FALSE;
    }
  /* cuDNN and cuBLAS index with 32-bit ints. */
  gint64 biggest = kiln_shape_n_elements (&desc->output);
  for (guint i = 0; i < desc->n_inputs; i++)
    biggest = MAX (biggest, kiln_shape_n_elements (&desc->inputs[i]));
  if (biggest > G_MAXINT32)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   "%s: a tensor of %" G_GINT64_FORMAT " elements is over the 2³¹ − 1 that cuDNN "
                   "and cuBLAS index; lower the batch size", l->name, biggest);
      return FALSE;
    }
  return l->type != KILN_LAYER_LRN || kiln_cuda_lrn_supports (desc, error);
}

static KilnOp *
cuda_op_new (KilnBackend *self, const KilnOpDesc *desc, GError **error)
{
  KilnCudaBackend *cuda = CUDA (self);
  KilnCudaOp *op;

  use_device (cuda);
  if (!kiln_cuda_take_pending (cuda, error))
    return NULL;
  switch (desc->layer->type)
    {
    case KILN_LAYER_CONVOLUTION:
    case KILN_LAYER_INNER_PRODUCT:
      op = kiln_cuda_conv_new (cuda, desc, error);
      break;
    case KILN_LAYER_RELU:
    case KILN_LAYER_LRN:
    case KILN_LAYER_SOFTMAX:
      op = kiln_cuda_unary_new (cuda, desc, error);
      break;
    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
    case KILN_LAYER_GLOBAL_AVG_POOL:
      op = kiln_cuda_pool_new (cuda, desc, error);
      break;
    case KILN_LAYER_BATCH_NORM:
      op = kiln_cuda_bn_new (cuda, desc, error);
      break;
    case KILN_LAYER_DROPOUT:
    case KILN_LAYER_CONCAT:
    case KILN_LAYER_ADD:
    case KILN_LAYER_FLATTEN:
      op = kiln_cuda_plain_new (cuda, desc, error);
      break;
    case KILN_LAYER_N_TYPES:
    default:
      g_assert_not_reached ();
    }
  return (KilnOp *) op;
}

static void
cuda_op_free (KilnOp *op)
{
  use_device (KILN_CUDA_OP (op)->cuda);
  KILN_CUDA_OP (op)->klass->finalize (KILN_CUDA_OP (op));
  g_free (op);
}

static gboolean
cuda_op_forward (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  KilnCudaOp *cop = KILN_CUDA_OP (op);
  use_device (cop->cuda);
  return kiln_cuda_take_pending (cop->cuda, error) && cop->klass->forward (cop, args, error);
}

static gboolean
cuda_op_backward_data (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  KilnCudaOp *cop = KILN_CUDA_OP (op);
  use_device (cop->cuda);
  return kiln_cuda_take_pending (cop->cuda, error) && cop->klass->backward_data (cop, args, error);
}

static gboolean
cuda_op_backward_weights (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  KilnCudaOp *cop = KILN_CUDA_OP (op);
  if (cop->klass->backward_weights == NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "%s: %s has no weights", cop->layer->name,
                   kiln_layer_type_to_string (cop->layer->type));
      return FALSE;
    }
  use_device (cop->cuda);
  return kiln_cuda_take_pending (cop->cuda, error) && cop->klass->backward_weights (cop, args, error);
}

static void
cuda_axpy (KilnBackend *self, float alpha, const KilnTensor *x, KilnTensor *y)
{
  KilnCudaBackend *cuda = CUDA (self);
  GError *error = NULL;

  use_device (cuda);
  if (!kiln_cuda_check_launch (kiln_cuda_launch_axpy (cuda->stream, alpha, KILN_CUDA_DATA (x),
                                                      KILN_CUDA_DATA (y), kiln_tensor_n_elements (y)),
                               NULL, "the axpy kernel", &error))
    remember (cuda, error);
}

static void
cuda_sgd_update (KilnBackend *self, KilnTensor *w, const KilnTensor *g, KilnTensor *v,
                 float lr, float momentum, float decay)
{
  KilnCudaBackend *cuda = CUDA (self);
  GError *error = NULL;

  use_device (cuda);
  if (!kiln_cuda_check_launch (kiln_cuda_launch_sgd (cuda->stream, KILN_CUDA_DATA (w),
                                                     KILN_CUDA_DATA (g), KILN_CUDA_DATA (v),
                                                     kiln_tensor_n_elements (w), lr, momentum,
                                                     decay),
                               NULL, "the SGD update kernel", &error))
    remember (cuda, error);
}

static void
cuda_adam_update (KilnBackend *self, KilnTensor *w, const KilnTensor *g, KilnTensor *m,
                  KilnTensor *v, float lr, float beta1, float beta2, float eps, float decay,
                  gint64 step)
{
  KilnCudaBackend *cuda = CUDA (self);
  GError *error = NULL;
  /* As the CPU backend computes them, so both round alike. */
  float c1 = 1.f - (float) pow (beta1, (double) step);
  float c2 = 1.f - (float) pow (beta2, (double) step);

  use_device (cuda);
  if (!kiln_cuda_check_launch (kiln_cuda_launch_adam (cuda->stream, KILN_CUDA_DATA (w),
                                                      KILN_CUDA_DATA (g), KILN_CUDA_DATA (m),
                                                      KILN_CUDA_DATA (v), kiln_tensor_n_elements (w),
                                                      lr, beta1, beta2, eps, decay, c1, c2),
                               NULL, "the Adam update kernel", &error))
    remember (cuda, error);
}

/* What the loss kernels leave in cuda->sums: the mean loss, then the
 * correct count right after it. */
typedef struct {
  double loss;
  int correct;
} LossResult;

G_STATIC_ASSERT (G_STRUCT_OFFSET (LossResult, correct) == sizeof (double));

/* Grows the loss scratch to @n rows. */
static gboolean
ensure_loss_scratch (KilnCudaBackend *cuda, int n, GError **error)
{
  if (n <= cuda->loss_rows)
    return TRUE;
  g_clear_pointer (&cuda->labels, kiln_cuda_buffer_free);
  g_clear_pointer (&cuda->row_loss, kiln_cuda_buffer_free);
  g_clear_pointer (&cuda->row_correct, kiln_cuda_buffer_free);
  cuda->loss_rows = 0;
  cuda->labels = kiln_cuda_buffer_alloc (cuda, n * sizeof (int), "loss", error);
  cuda->row_loss = cuda->labels ? kiln_cuda_buffer_alloc (cuda, n * sizeof (double), "loss", error) : NULL;
  cuda->row_correct = cuda->row_loss ? kiln_cuda_buffer_alloc (cuda, n * sizeof (int), "loss", error) : NULL;
  if (cuda->row_correct == NULL)
    return FALSE;
  cuda->loss_rows = n;
  return TRUE;
}

static gboolean
cuda_softmax_cross_entropy (KilnBackend *self, const KilnTensor *logits, const int *labels,
                            KilnTensor *diff, double *loss, int *n_correct, GError **error)
{
  KilnCudaBackend *cuda = CUDA (self);
  const KilnShape *s = kiln_tensor_get_shape (logits);
  int n = s->n, c = s->c * s->h * s->w;
  LossResult result;

  for (int i = 0; i < n; i++)
    if (labels[i] < 0 || labels[i] >= c)
      {
        g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                     "Label %d of sample %d is outside the %d classes of the last layer",
                     labels[i], i, c);
        return FALSE;
      }
  use_device (cuda);
  if (!kiln_cuda_take_pending (cuda, error) || !ensure_loss_scratch (cuda, n, error))
    return FALSE;
  if (cuda->sums == NULL &&
      (cuda->sums = kiln_cuda_buffer_alloc (cuda, sizeof result, "loss", error)) == NULL)
    return FALSE;

  int *correct = (int *) (cuda->sums + 1);
  if (!kiln_cuda_check_runtime (cudaMemcpyAsync (cuda->labels, labels, n * sizeof (int),
                                                 cudaMemcpyHostToDevice, cuda->stream),
                                "loss", "cudaMemcpyAsync (labels)", error) ||
      !kiln_cuda_check_launch (kiln_cuda_launch_softmax_xent (cuda->stream, KILN_CUDA_DATA (logits),
                                                              cuda->labels, n, c,
                                                              diff ? KILN_CUDA_DATA (diff) : NULL,
                                                              cuda->row_loss, cuda->row_correct,
                                                              cuda->sums, correct),
                               "loss", "the softmax cross-entropy kernel", error) ||
      !kiln_cuda_check_runtime (cudaMemcpyAsync (&result, cuda->sums, sizeof result,
                                                 cudaMemcpyDeviceToHost, cuda->stream),
                                "loss", "cudaMemcpyAsync (loss)", error) ||
      !kiln_cuda_check_runtime (cudaStreamSynchronize (cuda->stream), "loss",
                                "cudaStreamSynchronize (loss)", error))
    return FALSE;
  *loss = result.loss;
  if (n_correct)
    *n_correct = result.correct;
  return TRUE;
}

gboolean
kiln_cuda_backend_convert_batch (KilnBackend *backend, const guint8 *pixels, int n, int channels,
                                 int height, int width, const int *crops, const KilnTensor *mean,
                                 float scale, KilnTensor *dst, GError **error)
{
  KilnCudaBackend *cuda = CUDA (backend);
  const KilnShape *out = kiln_tensor_get_shape (dst);
  gsize bytes = (gsize) n * channels * height * width;

  g_return_val_if_fail (backend->vtable == &cuda_vtable, FALSE);
  if (out->n != n || out->c != channels || out->h > height || out->w > width)
    {
      char buf[64];
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE,
                   "Batch conversion: %d images of %d×%d×%d do not fit a %s batch", n, channels,
                   height, width, kiln_shape_to_string (out, buf, sizeof buf));
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    if (crops[3 * i] < 0 || crops[3 * i + 1] < 0 || crops[3 * i] + out->h > height ||
        crops[3 * i + 1] + out->w > width)
      {
        g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                     "Batch conversion: the %d×%d crop of sample %d at (%d, %d) leaves the "
                     "%d×%d image", out->h, out->w, i, crops[3 * i], crops[3 * i + 1], height,
                     width);
        return FALSE;
      }
  if (mean != NULL && kiln_tensor_n_elements (mean) != (gint64) channels * height * width)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE,
                   "Batch conversion: the mean has %" G_GINT64_FORMAT " values, not %d×%d×%d",
                   kiln_tensor_n_elements (mean), channels, height, width);
      return FALSE;
    }

  use_device (cuda);
  if (!kiln_cuda_take_pending (cuda, error))
    return FALSE;
  if (cuda->feeder == NULL && (cuda->feeder = kiln_cuda_feeder_new (error)) == NULL)
    return FALSE;

  const int *device_crops;
  const guint8 *device_pixels;
  if (!kiln_cuda_feeder_stage (cuda->feeder, cuda->stream, crops, n, pixels, bytes, &device_crops,
                               &device_pixels, error))
    return FALSE;
  gboolean ok = kiln_cuda_check_launch (
    kiln_cuda_launch_convert_batch (cuda->stream, device_pixels, n, channels, height, width,
                                    device_crops, mean ? KILN_CUDA_DATA (mean) : NULL, scale,
                                    KILN_CUDA_DATA (dst), out->h, out->w),
    "batch", "the batch conversion kernel", error);
  kiln_cuda_feeder_release (cuda->feeder, cuda->stream);
  return ok;
}

static gboolean
cuda_memory (KilnBackend *self, guint64 *total, guint64 *free)
{
  KilnCudaBackend *cuda = (KilnCudaBackend *) self;
  size_t free_bytes = 0, total_bytes = 0;

  use_device (cuda);
  if (cudaMemGetInfo (&free_bytes, &total_bytes) != cudaSuccess)
    {
      cudaGetLastError ();
      return FALSE;
    }
  *total = total_bytes;
  *free = free_bytes;
  return TRUE;
}

static const KilnBackendVTable cuda_vtable = {
  .destroy = cuda_destroy,
  .alloc = cuda_alloc,
  .free = cuda_free,
  .upload = cuda_upload,
  .download = cuda_download,
  .fill = cuda_fill,
  .supports_op = cuda_supports_op,
  .op_new = cuda_op_new,
  .op_free = cuda_op_free,
  .op_forward = cuda_op_forward,
  .op_backward_data = cuda_op_backward_data,
  .op_backward_weights = cuda_op_backward_weights,
  .axpy = cuda_axpy,
  .sgd_update = cuda_sgd_update,
  .adam_update = cuda_adam_update,
  .softmax_cross_entropy = cuda_softmax_cross_entropy,
  .convert_batch = kiln_cuda_backend_convert_batch,
  .memory = cuda_memory,
};

static gboolean
env_flag (const char *name)
{
  const char *value = g_getenv (name);
  return value != NULL && (g_str_equal (value, "1") || g_ascii_strcasecmp (value, "true") == 0 ||
                           g_ascii_strcasecmp (value, "yes") == 0);
}

KilnBackend *
kiln_cuda_backend_new (int device, GError **error)
{
  g_autofree KilnCudaBackend *self = g_new0 (KilnCudaBackend, 1);
  g_autofree char *warning = NULL;
  struct cudaDeviceProp prop;
  int blas_version = 0, driver = 0;
  const char *what = "CUDA";

  self->device = device;
  self->tf32 = env_flag ("KILN_CUDA_TF32");
  self->find = g_strcmp0 (g_getenv ("KILN_CUDA_CONV_SEARCH"), "find") == 0;
  self->workspace.cap = kiln_cuda_workspace_cap_from_env (g_getenv ("KILN_CUDA_WORKSPACE_MB"),
                                                          &warning);
  if (warning != NULL)
    g_warning ("%s", warning);

  if (!kiln_cuda_check_runtime (cudaSetDevice (device), what, "cudaSetDevice", error) ||
      !kiln_cuda_check_runtime (cudaGetDeviceProperties (&prop, device), what,
                                "cudaGetDeviceProperties", error) ||
      !kiln_cuda_check_runtime (cudaStreamCreateWithFlags (&self->stream, cudaStreamNonBlocking),
                                what, "cudaStreamCreateWithFlags", error))
    return NULL;
  if (!kiln_cuda_check_cudnn (cudnnCreate (&self->cudnn), what, "cudnnCreate", error) ||
      !kiln_cuda_check_cudnn (cudnnSetStream (self->cudnn, self->stream), what, "cudnnSetStream",
                              error) ||
      !kiln_cuda_check_cublas (cublasCreate (&self->cublas), what, "cublasCreate", error) ||
      !kiln_cuda_check_cublas (cublasSetStream (self->cublas, self->stream), what,
                               "cublasSetStream", error) ||
      /* DEFAULT keeps float32 GEMMs in float32; TF32 only when asked. */
      !kiln_cuda_check_cublas (cublasSetMathMode (self->cublas, self->tf32
                                                    ? CUBLAS_TF32_TENSOR_OP_MATH
                                                    : CUBLAS_DEFAULT_MATH),
                               what, "cublasSetMathMode", error))
    {
      KilnBackend *partial = &g_steal_pointer (&self)->parent;
      cuda_destroy (partial);
      return NULL;
    }
  self->algos = kiln_cuda_algo_cache_new ();
  cublasGetVersion (self->cublas, &blas_version);
  cudaDriverGetVersion (&driver);

  size_t cudnn_version = cudnnGetVersion ();
  g_autofree char *description =
    g_strdup_printf ("CUDA device %d: %s, compute %d.%d, %.1f GiB; driver %d.%d, cuDNN %zu.%zu.%zu, "
                     "cuBLAS %d.%d; float32%s",
                     device, prop.name, prop.major, prop.minor,
                     prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), driver / 1000,
                     (driver % 1000) / 10, cudnn_version / 10000, (cudnn_version / 100) % 100,
                     cudnn_version % 100, blas_version / 10000, (blas_version / 100) % 100,
                     self->tf32 ? " with TF32 matrix products" : "");
  kiln_backend_init_base (&self->parent, &cuda_vtable, "cuda", description);
  return &g_steal_pointer (&self)->parent;
}
