/* The CUDA module loads and a device runs a kernel; where no device answers
 * the test is skipped with the driver's reason. */
#include <glib.h>
#include <string.h>

#include "kiln-backend-module.h"
#include "kiln-engine-error.h"

static void
test_probe (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;
  int n = kiln_backend_module_probe_cuda (&description, &error);

  if (n == 0)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == KILN_ENGINE_ERROR);
      g_autofree char *why = g_strdup_printf ("no CUDA device answers: %s", error->message);
      g_test_skip (why);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpint (n, >, 0);
  g_assert_nonnull (description);
  g_test_message ("%s", description);
}

static void
test_missing_module_is_an_error (void)
{
  g_autoptr(GError) error = NULL;
  const KilnBackendModuleInfo *info = kiln_backend_module_load ("no-such-backend", &error);

  g_assert_null (info);
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "libkiln-backend-no-such-backend.so"));
}

/* tests/meson.build builds libkiln-backend-stale.so for module API
 * version 1 into the folder KILN_FAKE_BACKEND_DIR names. */
static void
test_stale_module_is_refused (void)
{
  g_autoptr(GError) error = NULL;
  const char *dir = g_getenv ("KILN_FAKE_BACKEND_DIR");
  g_assert_nonnull (dir);
  g_setenv ("KILN_BACKEND_DIR", dir, TRUE);
  const KilnBackendModuleInfo *info = kiln_backend_module_load ("stale", &error);

  g_assert_null (info);
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND);
  g_assert_nonnull (strstr (error->message, "speaks module API 1"));
  g_assert_nonnull (strstr (error->message, "install the module that came with this Kiln"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gpu/cuda/probe", test_probe);
  g_test_add_func ("/gpu/cuda/missing-module", test_missing_module_is_an_error);
  g_test_add_func ("/gpu/cuda/stale-module", test_stale_module_is_refused);
  return g_test_run ();
}
