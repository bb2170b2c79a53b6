/* A stand-in for libkiln-backend-cuda.so, so that device choice can be
 * tested where no GPU is: FAKE_CUDA_MODE picks what its probe answers
 * ("answers": two devices, whose backends are CPU backends in disguise;
 * "no-driver", "old-driver", "no-device": the reasons a real module
 * gives; "broken": a device answers but its backend cannot start). */
#include "kiln-backend-cpu.h"
#include "kiln-backend-module.h"
#include "kiln-backend-private.h"
#include "kiln-engine-error.h"

G_MODULE_EXPORT const KilnBackendModuleInfo *kiln_backend_module_entry (void);

static const char *
mode (void)
{
  const char *m = g_getenv ("FAKE_CUDA_MODE");
  return m ? m : "answers";
}

static int
fake_probe (char **description, GError **error)
{
  if (description)
    *description = NULL;
  if (g_str_equal (mode (), "no-driver"))
    g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                 "CUDA: no NVIDIA driver answers on this machine");
  else if (g_str_equal (mode (), "old-driver"))
    g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                 "CUDA: the NVIDIA driver supports CUDA 11.4, this Kiln needs 13.0; update the driver");
  else if (g_str_equal (mode (), "no-device"))
    g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                 "CUDA: the driver (580.65) reports no device");
  else
    {
      if (description)
        *description = g_strdup ("0: Fake GPU A, 8.0 GiB\n1: Fake GPU B, 16.0 GiB\n");
      return 2;
    }
  return 0;
}

static KilnBackend *
fake_backend_new_on_device (int index, GError **error)
{
  if (g_str_equal (mode (), "broken") || (g_str_equal (mode (), "first-broken") && index == 0))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "CUDA: cuda:%d could not create a context: out of memory", index);
      return NULL;
    }
  KilnBackend *backend = kiln_backend_cpu_new (error);
  if (backend != NULL && g_str_equal (mode (), "no-memory"))
    {
      static KilnBackendVTable without_memory;
      without_memory = *backend->vtable;
      without_memory.memory = NULL;
      backend->vtable = &without_memory;
    }
  return backend;
}

static KilnBackend *
fake_backend_new (GError **error)
{
  return fake_backend_new_on_device (0, error);
}

const KilnBackendModuleInfo *
kiln_backend_module_entry (void)
{
  static const KilnBackendModuleInfo info = {
    .api_version = KILN_BACKEND_MODULE_API_VERSION,
    .name = "cuda",
    .probe = fake_probe,
    .backend_new = fake_backend_new,
    .backend_new_on_device = fake_backend_new_on_device,
  };
  return &info;
}
