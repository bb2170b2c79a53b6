#define _GNU_SOURCE   /* dladdr */
#include "kiln-cuda-module.h"

#include <dlfcn.h>

#include <cuda_runtime.h>
#include <cudnn.h>
#include <gmodule.h>

#include "kiln-cuda-private.h"
#include "kiln-engine-error.h"

/* Runs one of Kiln's kernels on @device and reads it back, proving the
 * device executes code built for it (an architecture this build lacks
 * fails here with a clear reason, not in the first training step). */
static gboolean
run_fill_check (int device, GError **error)
{
  const long n = 4096;
  float *data = NULL;
  g_autofree float *host = g_new0 (float, n);

  if (!kiln_cuda_check_runtime (cudaMalloc ((void **) &data, n * sizeof (float)), "CUDA",
                                "cudaMalloc", error))
    return FALSE;
  cudaError_t launched = (cudaError_t) kiln_cuda_launch_fill (NULL, data, n, 3.5f);
  if (launched == cudaErrorNoKernelImageForDevice || launched == cudaErrorUnsupportedPtxVersion)
    {
      struct cudaDeviceProp prop;
      cudaFree (data);
      cudaGetDeviceProperties (&prop, device);
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: this Kiln's GPU code does not run on device %d (%s, compute %d.%d): "
                   "it needs compute 7.5 or newer and a driver for CUDA %d; Kiln will use the "
                   "CPU backend", device, prop.name, prop.major, prop.minor,
                   CUDART_VERSION / 1000);
      return FALSE;
    }
  gboolean ok = kiln_cuda_check_runtime (launched, "CUDA", "the fill kernel", error) &&
                kiln_cuda_check_runtime (cudaMemcpy (host, data, n * sizeof (float),
                                                     cudaMemcpyDeviceToHost),
                                         "CUDA", "cudaMemcpy", error);
  cudaFree (data);
  if (!ok)
    return FALSE;
  for (long i = 0; i < n; i++)
    if (host[i] != 3.5f)
      {
        g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                     "CUDA: device %d ran the fill kernel but element %ld reads %g, not 3.5",
                     device, i, host[i]);
        return FALSE;
      }
  return TRUE;
}

/* cuDNN 9 loads its parts (ops, cnn, engines) on first use; a partial
 * install fails late and obscurely, so look for them first. */
static gboolean
check_cudnn (GError **error)
{
  static const char *const parts[] = { "libcudnn_ops.so.9", "libcudnn_cnn.so.9",
                                       "libcudnn_engines_precompiled.so.9" };
  size_t version = cudnnGetVersion ();

  if (version / 10000 != CUDNN_MAJOR)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: cuDNN %zu.%zu is installed but this Kiln needs cuDNN %d; "
                   "install cuDNN %d, or Kiln uses the CPU backend", version / 10000,
                   (version / 100) % 100, CUDNN_MAJOR, CUDNN_MAJOR);
      return FALSE;
    }
  /* cuDNN looks for its parts beside itself; so do we, then on the
   * library path. */
  Dl_info info;
  g_autofree char *dir = NULL;
  if (dladdr ((void *) cudnnGetVersion, &info) != 0 && info.dli_fname != NULL)
    dir = g_path_get_dirname (info.dli_fname);
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree char *beside = dir ? g_build_filename (dir, parts[i], NULL) : NULL;
      void *handle = beside && g_file_test (beside, G_FILE_TEST_EXISTS)
                       ? dlopen (beside, RTLD_LAZY | RTLD_LOCAL)
                       : dlopen (parts[i], RTLD_LAZY | RTLD_LOCAL);
      if (handle == NULL)
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                       "CUDA: cuDNN is missing or incomplete (%s); install cuDNN %d for "
                       "CUDA %d, or Kiln uses the CPU backend", dlerror (), CUDNN_MAJOR,
                       CUDART_VERSION / 1000);
          return FALSE;
        }
      dlclose (handle);
    }
  return TRUE;
}

/* Asks the driver for devices and runs one kernel on device 0. Each way of
 * failing has its own reason: no driver, a driver older than the CUDA
 * runtime this module was built with, cuDNN missing, no device. */
static int
cuda_probe (char **description, GError **error)
{
  int count = 0;
  int driver = 0;
  g_autoptr(GString) text = g_string_new (NULL);

  if (description)
    *description = NULL;

  cudaError_t status = cudaDriverGetVersion (&driver);
  if (status != cudaSuccess || driver == 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: no NVIDIA driver answers on this machine");
      return 0;
    }
  /* Minor versions are compatible within a major one. */
  if (driver / 1000 < CUDART_VERSION / 1000)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: the NVIDIA driver supports CUDA %d.%d, older than the CUDA %d.%d this "
                   "Kiln was built with; update the driver",
                   driver / 1000, (driver % 1000) / 10, CUDART_VERSION / 1000,
                   (CUDART_VERSION % 1000) / 10);
      return 0;
    }
  if (!check_cudnn (error))
    return 0;
  status = cudaGetDeviceCount (&count);
  if (status != cudaSuccess || count == 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: the driver (CUDA %d.%d) reports no usable device: %s",
                   driver / 1000, (driver % 1000) / 10,
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
                              driver / 1000, (driver % 1000) / 10, cudnnGetVersion ());
    }

  if (!kiln_cuda_check_runtime (cudaSetDevice (0), "CUDA", "cudaSetDevice(0)", error) ||
      !run_fill_check (0, error))
    return 0;

  if (description)
    *description = g_string_free (g_steal_pointer (&text), FALSE);
  return count;
}

static KilnBackend *
cuda_backend_new (GError **error)
{
  if (cuda_probe (NULL, error) == 0)
    return NULL;
  return kiln_cuda_backend_new (0, error);
}

/* cuda:N; the engine has probed already and checked N against the count. */
static KilnBackend *
cuda_backend_new_on_device (int index, GError **error)
{
  return kiln_cuda_backend_new (index, error);
}

const KilnBackendModuleInfo *
kiln_backend_module_entry (void)
{
  static const KilnBackendModuleInfo info = {
    .api_version = KILN_BACKEND_MODULE_API_VERSION,
    .name = "cuda",
    .probe = cuda_probe,
    .backend_new = cuda_backend_new,
    .backend_new_on_device = cuda_backend_new_on_device,
  };
  return &info;
}
