#include "config.h"

#include <string.h>

#include "kiln-backend-module.h"
#include "kiln-engine-error.h"


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

char *
kiln_backend_module_explain_open_error (const char *path, const char *loader_message)
{
  /* The loader names the first library it misses; say which package that
   * is, since "cannot open shared object file" alone sends people to the
   * wrong place. */
  static const struct { const char *prefix, *what; } libraries[] = {
    { "libcudnn", "cuDNN 9 is not installed (or not on the library path); install it for this CUDA version" },
    { "libcublas", "cuBLAS is not installed (or not on the library path); install the CUDA toolkit's libraries" },
    { "libcudart", "the CUDA runtime is not installed (or not on the library path); install the CUDA toolkit's libraries" },
    { "libcuda.so", "no NVIDIA driver is installed (libcuda.so is missing)" },
  };
  const char *message = loader_message ? loader_message : "unknown error";

  for (guint i = 0; i < G_N_ELEMENTS (libraries); i++)
    {
      const char *at = strstr (message, libraries[i].prefix);
      if (at != NULL)
        {
          g_autofree char *library = g_strndup (at, strcspn (at, ": "));
          return g_strdup_printf ("%s: %s missing", libraries[i].what, library);
        }
    }
  return g_strdup_printf ("the backend module %s could not be loaded: %s", path, message);
}

static GModule *
backend_module_open (const char *name, GError **error)
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
          g_autofree char *why = kiln_backend_module_explain_open_error (path, g_module_error ());
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND, "%s", why);
          return NULL;
        }
      g_module_make_resident (module);
      return module;
    }

  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
               "the %s backend is not installed (looked for %s); set KILN_BACKEND_DIR to its folder "
               "or rebuild Kiln with -Dcuda=enabled", name, tried->str);
  return NULL;
}

const KilnBackendModuleInfo *
kiln_backend_module_load (const char *name, GError **error)
{
  GModule *module = backend_module_open (name, error);
  KilnBackendModuleEntryFunc entry = NULL;

  if (module == NULL)
    return NULL;
  if (!g_module_symbol (module, KILN_BACKEND_MODULE_ENTRY_SYMBOL, (gpointer *) &entry) || entry == NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "Backend module %s has no %s entry point: it was built for a Kiln older than "
                   "module API %d; install the module that came with this Kiln",
                   g_module_name (module), KILN_BACKEND_MODULE_ENTRY_SYMBOL,
                   KILN_BACKEND_MODULE_API_VERSION);
      return NULL;
    }
  const KilnBackendModuleInfo *info = entry ();
  if (info == NULL || info->api_version != KILN_BACKEND_MODULE_API_VERSION)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "Backend module %s speaks module API %u, this Kiln speaks %d; "
                   "install the module that came with this Kiln",
                   g_module_name (module), info ? info->api_version : 0,
                   KILN_BACKEND_MODULE_API_VERSION);
      return NULL;
    }
  if (info->probe == NULL || info->backend_new == NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND,
                   "Backend module %s lacks a probe or a constructor", g_module_name (module));
      return NULL;
    }
  return info;
}

int
kiln_backend_module_probe_cuda (char **description, GError **error)
{
  const KilnBackendModuleInfo *info = kiln_backend_module_load ("cuda", error);

  if (description)
    *description = NULL;
  if (info == NULL)
    return 0;
  return info->probe (description, error);
}
