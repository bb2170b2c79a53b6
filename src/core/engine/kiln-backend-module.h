/* kiln-backend-module.h: the one entry point a backend module exports.
 *
 * GPU backends live in loadable modules (libkiln-backend-cuda.so) so that
 * kiln and kiln-cli link no GPU library and start anywhere. A module
 * exports exactly one symbol, KILN_BACKEND_MODULE_ENTRY_SYMBOL, a function
 * returning a static KilnBackendModuleInfo. The engine refuses a module
 * whose api_version differs from the one it was built with, saying so; a
 * missing module, driver or device is a GError, never a crash.
 *
 * A module includes this header and kiln-backend-private.h (the vtable it
 * fills) and links the engine's backend interface only, never the core.
 *
 * Threads: any; a module is opened once and kept for the process. */
#pragma once

#include <gmodule.h>

#include "kiln-backend.h"

G_BEGIN_DECLS

/* Bump whenever KilnBackendModuleInfo or the backend vtable changes. */
#define KILN_BACKEND_MODULE_API_VERSION 4
#define KILN_BACKEND_MODULE_ENTRY_SYMBOL "kiln_backend_module_entry"

typedef struct {
  guint        api_version;   /* KILN_BACKEND_MODULE_API_VERSION it was built with */
  const char  *name;          /* "cuda" */
  /* Asks the driver for devices and proves one runs code. Returns the
   * number of usable devices, or 0 with @error saying why none answers in
   * one line that names the cause and no consequence (the engine adds
   * "using the CPU" or "use --device cpu"): no driver, a driver too old
   * for the runtime (both versions), no device, a device that fails.
   * @description gets one line per device, "N: name, …". */
  int          (*probe)       (char   **description,
                               GError **error);
  /* A backend on the first usable device, or NULL with @error saying why. */
  KilnBackend *(*backend_new) (GError **error);
  /* A backend on device @index (cuda:N); optional: without it only the
   * first device can be asked for. */
  KilnBackend *(*backend_new_on_device) (int      index,
                                         GError **error);
} KilnBackendModuleInfo;

typedef const KilnBackendModuleInfo *(*KilnBackendModuleEntryFunc) (void);

/* Where modules are looked for, in order: $KILN_BACKEND_DIR, the folder
 * beside the running binary's build tree (../cuda), then PKGLIBDIR.
 * Returns the module's info after checking its API version. */
const KilnBackendModuleInfo *kiln_backend_module_load (const char  *name,
                                                       GError     **error);

/* The one-line reason a module that exists could not be opened, from the
 * loader's message: a missing cuDNN, cuBLAS or CUDA runtime library is
 * named as such, with what to install. */
char     *kiln_backend_module_explain_open_error (const char *path,
                                                  const char *loader_message);

/* Loads the CUDA module and asks it for devices. Returns the number that
 * answered; 0 with @error saying why otherwise. */
int       kiln_backend_module_probe_cuda (char       **description,
                                          GError     **error);

G_END_DECLS
