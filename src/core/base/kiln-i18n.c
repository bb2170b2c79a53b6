#include "config.h"

#include "kiln-i18n.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

/* Whether this process's executable lies under the build folder. */
static gboolean
running_from_build_tree (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *root = g_canonicalize_filename (KILN_BUILD_ROOT, NULL);

  return exe != NULL && g_str_has_prefix (exe, root) && exe[strlen (root)] == G_DIR_SEPARATOR;
}

const char *
kiln_i18n_get_localedir (void)
{
  static gsize dir = 0;

  if (g_once_init_enter (&dir))
    {
      const char *env = g_getenv ("KILN_LOCALEDIR");
      char *chosen = env && *env ? g_strdup (env)
                     : running_from_build_tree () ? g_build_filename (KILN_BUILD_ROOT, "po", NULL)
                     : g_strdup (LOCALEDIR);
      g_once_init_leave (&dir, (gsize) chosen);
    }
  return (const char *) dir;
}

void
kiln_i18n_init (void)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, kiln_i18n_get_localedir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}
