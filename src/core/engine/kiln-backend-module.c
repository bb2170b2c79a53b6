#include "config.h"

#include "kiln-backend-module.h"
#include "kiln-error.h"

/* Mirrors src/cuda/kiln-cuda-module.h; the engine must not include src/cuda. */
typedef int (*CudaProbeFunc) (char **description, GError **error);

static char *
exe_sibling_dir (const char *name)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe == NULL)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (exe);
  /* build/src/cli/kiln-cli → build/src/cuda; build/tests/x → build/src/cuda */
  g_autofree char *up = g_path_get_dirname (dir);
  const char *candidates[] = { "cuda", "src/cuda" };
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *path = g_build_filename (up, candidates[i], name, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return g_path_get_dirname (path);
    }
  return NULL;
}

GModule *
kiln_backend_module_open (const char *name, GError **error)
{
  g_autofree char *file = g_strdup_printf ("libkiln-backend-%s.so", name);
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) tried = g_string_new (NULL);

  if (g_getenv ("KILN_BACKEND_DIR"))
    g_ptr_array_add (dirs, g_strdup (g_getenv ("KILN_BACKEND_DIR")));
  char *sibling = exe_sibling_dir (file);
  if (sibling)
    g_ptr_array_add (dirs, sibling);
  g_ptr_array_add (dirs, g_strdup (PKGLIBDIR));

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *path = g_build_filename (dirs->pdata[i], file, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_string_append_printf (tried, "%s%s", tried->len ? ", " : "", path);
          continue;
        }
      GModule *module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
      if (module == NULL)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_BACKEND,
                       "Backend module %s could not be loaded: %s (is its GPU runtime installed?)",
                       path, g_module_error ());
          return NULL;
        }
      g_module_make_resident (module);
      return module;
    }

  g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
               "The %s backend is not installed (looked for %s); set KILN_BACKEND_DIR to its folder "
               "or rebuild with -Dcuda=enabled", name, tried->str);
  return NULL;
}

int
kiln_backend_module_probe_cuda (char **description, GError **error)
{
  GModule *module = kiln_backend_module_open ("cuda", error);
  CudaProbeFunc probe = NULL;

  if (module == NULL)
    return 0;
  if (!g_module_symbol (module, "kiln_cuda_module_probe", (gpointer *) &probe) || probe == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_BACKEND,
                   "Backend module %s has no kiln_cuda_module_probe entry point; it is from another Kiln version",
                   g_module_name (module));
      return 0;
    }
  return probe (description, error);
}
