/* A backend module built for another module API version: the engine must
 * refuse it by saying so, not call into it. FAKE_API_VERSION is set by
 * tests/meson.build. */
#include "kiln-backend-module.h"

G_MODULE_EXPORT const KilnBackendModuleInfo *kiln_backend_module_entry (void);

static int
fake_probe (char **description, GError **error)
{
  g_error ("the engine called into a module of another API version");
  return 0;
}

const KilnBackendModuleInfo *
kiln_backend_module_entry (void)
{
  static const KilnBackendModuleInfo info = {
    .api_version = FAKE_API_VERSION,
    .name = "stale",
    .probe = fake_probe,
  };
  return &info;
}
