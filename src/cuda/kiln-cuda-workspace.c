#include "config.h"

#include <cuda_runtime_api.h>

#include "kiln-cuda-error.h"
#include "kiln-cuda-workspace.h"
#include "kiln-engine-error.h"

gsize
kiln_cuda_workspace_cap_from_env (const char *value, char **warning)
{
  gsize fallback = (gsize) KILN_CUDA_WORKSPACE_DEFAULT_MB << 20;
  guint64 mb = 0;

  if (warning)
    *warning = NULL;
  if (value == NULL)
    return fallback;
  if (!g_ascii_string_to_unsigned (value, 10, 0, 1 << 20, &mb, NULL))
    {
      if (warning)
        *warning = g_strdup_printf ("KILN_CUDA_WORKSPACE_MB=%s is not a number of MiB "
                                    "(0 to 1048576); using %d", value,
                                    KILN_CUDA_WORKSPACE_DEFAULT_MB);
      return fallback;
    }
  return (gsize) mb << 20;
}

KilnCudaWorkspacePlan
kiln_cuda_workspace_plan (gsize have, gsize want, gsize cap, gsize *grow_to)
{
  *grow_to = have;
  if (want <= have)
    return KILN_CUDA_WORKSPACE_FITS;
  if (want > cap)
    return KILN_CUDA_WORKSPACE_TOO_BIG;
  gsize rounded = (want + KILN_CUDA_WORKSPACE_STEP - 1) / KILN_CUDA_WORKSPACE_STEP
                  * KILN_CUDA_WORKSPACE_STEP;
  *grow_to = MIN (rounded, cap);
  return KILN_CUDA_WORKSPACE_GROW;
}

gboolean
kiln_cuda_workspace_reserve (KilnCudaWorkspace *self, gsize want, const char *layer,
                             GError **error)
{
  gsize grow_to;

  switch (kiln_cuda_workspace_plan (self->size, want, self->cap, &grow_to))
    {
    case KILN_CUDA_WORKSPACE_FITS:
      return TRUE;
    case KILN_CUDA_WORKSPACE_TOO_BIG:
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "%s: cuDNN needs a %" G_GSIZE_FORMAT " MiB workspace, over the %" G_GSIZE_FORMAT
                   " MiB cap; raise KILN_CUDA_WORKSPACE_MB", layer, want >> 20, self->cap >> 20);
      return FALSE;
    case KILN_CUDA_WORKSPACE_GROW:
    default:
      break;
    }
  /* cudaFree waits for the device, so work still using the old buffer
   * finishes first. */
  if (self->data != NULL && !kiln_cuda_check_runtime (cudaFree (self->data), layer,
                                                      "cudaFree (workspace)", error))
    return FALSE;
  self->data = NULL;
  self->size = 0;
  cudaError_t status = cudaMalloc (&self->data, grow_to);
  if (status == cudaErrorMemoryAllocation)
    {
      cudaGetLastError ();
      self->data = NULL;
      kiln_cuda_set_out_of_memory (error, layer, "cudaMalloc (convolution workspace)", grow_to);
      return FALSE;
    }
  if (!kiln_cuda_check_runtime (status, layer, "cudaMalloc (workspace)", error))
    {
      self->data = NULL;
      return FALSE;
    }
  self->size = grow_to;
  return TRUE;
}

void
kiln_cuda_workspace_clear (KilnCudaWorkspace *self)
{
  if (self->data != NULL)
    cudaFree (self->data);
  self->data = NULL;
  self->size = 0;
}
