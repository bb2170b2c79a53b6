/* kiln-cuda-module.h: libkiln-backend-cuda.so's one export.
 *
 * The engine opens the module with GModule and calls
 * kiln_backend_module_entry() (kiln-backend-module.h) for its versioned
 * info, so that nothing outside this folder links CUDA. */
#pragma once

#include "kiln-backend-module.h"

G_BEGIN_DECLS

G_MODULE_EXPORT const KilnBackendModuleInfo *kiln_backend_module_entry (void);

G_END_DECLS
