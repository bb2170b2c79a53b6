/* kiln-backend-module.h: finding and opening backend modules.
 *
 * GPU backends live in loadable modules (libkiln-backend-cuda.so) so that
 * kiln and kiln-cli link no GPU library and start anywhere. A missing
 * module, driver or device is a GError, never a crash.
 *
 * Threads: any; the module is opened once and kept for the process. */
#pragma once

#include <gmodule.h>

G_BEGIN_DECLS

/* Where modules are looked for, in order: $KILN_BACKEND_DIR, the folder
 * beside the running binary's build tree (../cuda), then PKGLIBDIR. */
GModule  *kiln_backend_module_open       (const char  *name,
                                          GError     **error);

/* Opens the CUDA module and asks it for devices. Returns the number that
 * answered; 0 with @error saying why otherwise. */
int       kiln_backend_module_probe_cuda (char       **description,
                                          GError     **error);

G_END_DECLS
