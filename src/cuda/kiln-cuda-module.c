#include "kiln-cuda-module.h"

#include <cuda_runtime.h>
#include <cudnn.h>
#include <gmodule.h>

#include "kiln-cuda-fill.h"
#include "kiln-engine-error.h"

static gboolean
check_cuda (cudaError_t status, const char *what, GError **error)
{
  if (status == cudaSuccess)
    return TRUE;
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
               "CUDA: %s failed: %s (%s)", what,
               cudaGetErrorString (status), cudaGetErrorName (status));
  return FALSE;
}

static gboolean
run_fill_check (GError **error)
{
  const long n = 4096;
  float *device = NULL;
  g_autofree float *host = g_new0 (float, n);

  if (!check_cuda (cudaMalloc ((void **) &device, n * sizeof (float)), "cudaMalloc", error))
    return FALSE;
  gboolean ok = check_cuda ((cudaError_t) kiln_cuda_fill (device, n, 3.5f), "fill kernel launch", error) &&
                check_cuda (cudaMemcpy (host, device, n * sizeof (float), cudaMemcpyDeviceToHost),
                            "cudaMemcpy", error);
  cudaFree (device);
  if (!ok)
    return FALSE;
  for (long i = 0; i < n; i++)
    if (host[i] != 3.5f)
      {
        g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                     "CUDA: device 0 ran the fill kernel but element %ld reads %g, not 3.5",
                     i, host[i]);
        return FALSE;
      }
  return TRUE;
}

/* Asks the driver for devices and runs one kernel on device 0 to prove the
 * device really executes code. */
static int
cuda_probe (char **description, GError **error)
{
  int count = 0;
  int driver_version = 0;
  g_autoptr(GString) text = g_string_new (NULL);

  if (description)
    *description = NULL;

  cudaError_t status = cudaDriverGetVersion (&driver_version);
  if (status != cudaSuccess || driver_version == 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: no NVIDIA driver answers on this machine; Kiln will use the CPU backend");
      return 0;
    }
  status = cudaGetDeviceCount (&count);
  if (status != cudaSuccess || count == 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: the driver (version %d.%d) reports no usable device: %s",
                   driver_version / 1000, (driver_version % 1000) / 10,
                   status == cudaSuccess ? "0 devices" : cudaGetErrorString (status));
      return 0;
    }

  for (int i = 0; i < count; i++)
    {
      struct cudaDeviceProp prop;
      if (cudaGetDeviceProperties (&prop, i) != cudaSuccess)
        continue;
      g_string_append_printf (text, "%d: %s, compute %d.%d, %.1f GiB, driver %d.%d, cuDNN %zu\n",
                              i, prop.name, prop.major, prop.minor,
                              prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0),
                              driver_version / 1000, (driver_version % 1000) / 10,
                              cudnnGetVersion ());
    }

  if (!check_cuda (cudaSetDevice (0), "cudaSetDevice(0)", error) || !run_fill_check (error))
    return 0;

  if (description)
    *description = g_string_free (g_steal_pointer (&text), FALSE);
  return count;
}

static KilnBackend *
cuda_backend_new (GError **error)
{
  g_autofree char *devices = NULL;

  if (cuda_probe (&devices, error) == 0)
    return NULL;
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
               "CUDA: a device answers (%s), but this module has no training backend yet; "
               "use --backend cpu", g_strchomp (devices));
  return NULL;
}

const KilnBackendModuleInfo *
kiln_backend_module_entry (void)
{
  static const KilnBackendModuleInfo info = {
    .api_version = KILN_BACKEND_MODULE_API_VERSION,
    .name = "cuda",
    .probe = cuda_probe,
    .backend_new = cuda_backend_new,
  };
  return &info;
}
