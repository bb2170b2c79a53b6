#include "config.h"

#include "kiln-cuda-error.h"
#include "kiln-engine-error.h"

#define LAYER(l) ((l) != NULL ? (l) : "CUDA")

void
kiln_cuda_set_out_of_memory (GError **error, const char *layer, const char *call, gsize bytes)
{
  g_autofree char *amount = bytes > 0 ? g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS) : NULL;

  /* Its own code: the trainer stops a run cleanly with a checkpoint on it. */
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY,
               "%s: out of device memory in %s%s%s; lower the batch size (or the input size), "
               "or close other programs using the GPU",
               LAYER (layer), call, amount ? " allocating " : "", amount ? amount : "");
}

gboolean
kiln_cuda_check_runtime (cudaError_t status, const char *layer, const char *call, GError **error)
{
  if (status == cudaSuccess)
    return TRUE;
  if (status == cudaErrorMemoryAllocation)
    {
      kiln_cuda_set_out_of_memory (error, layer, call, 0);
      return FALSE;
    }
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
               "%s: %s failed (CUDA: %s, %s)", LAYER (layer), call,
               cudaGetErrorString (status), cudaGetErrorName (status));
  return FALSE;
}

gboolean
kiln_cuda_check_cudnn (cudnnStatus_t status, const char *layer, const char *call, GError **error)
{
  if (status == CUDNN_STATUS_SUCCESS)
    return TRUE;
  if (status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED ||
      status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
    {
      kiln_cuda_set_out_of_memory (error, layer, call, 0);
      return FALSE;
    }
  /* NOT_SUPPORTED and its sub-codes say the shape or setting has no
   * kernel, not that the device failed. */
  gboolean unsupported = status / 1000 == CUDNN_STATUS_NOT_SUPPORTED / 1000;
  g_set_error (error, KILN_ENGINE_ERROR,
               unsupported ? KILN_ENGINE_ERROR_UNSUPPORTED : KILN_ENGINE_ERROR_BACKEND,
               "%s: %s failed (cuDNN: %s, %d)%s", LAYER (layer), call,
               cudnnGetErrorString (status), (int) status,
               unsupported ? "; use the CPU backend for this layer" : "");
  return FALSE;
}

gboolean
kiln_cuda_check_cublas (cublasStatus_t status, const char *layer, const char *call, GError **error)
{
  if (status == CUBLAS_STATUS_SUCCESS)
    return TRUE;
  if (status == CUBLAS_STATUS_ALLOC_FAILED)
    {
      kiln_cuda_set_out_of_memory (error, layer, call, 0);
      return FALSE;
    }
  g_set_error (error, KILN_ENGINE_ERROR,
               status == CUBLAS_STATUS_NOT_SUPPORTED ? KILN_ENGINE_ERROR_UNSUPPORTED
                                                     : KILN_ENGINE_ERROR_BACKEND,
               "%s: %s failed (cuBLAS: %s, %d)", LAYER (layer), call,
               cublasGetStatusString (status), (int) status);
  return FALSE;
}
