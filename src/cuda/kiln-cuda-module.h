/* kiln-cuda-module.h: what libkiln-backend-cuda.so exports.
 *
 * The core opens the module with GModule and looks up one entry point, so
 * that nothing outside this folder links CUDA. */
#pragma once

#include <gmodule.h>

G_BEGIN_DECLS

#define KILN_CUDA_MODULE_PROBE_SYMBOL "kiln_cuda_module_probe"

/* Asks the driver for devices and runs one kernel on device 0 to prove the
 * device really executes code. Returns the number of usable devices (0 with
 * @error set when none answers: no driver, no device, or a driver older than
 * the toolkit). @description gets one line per device. */
typedef int (*KilnCudaProbeFunc) (char   **description,
                                  GError **error);

G_MODULE_EXPORT int kiln_cuda_module_probe (char   **description,
                                            GError **error);

G_END_DECLS
