#include "config.h"

#include <unistd.h>

#include <glib/gi18n.h>
#include <locale.h>

#include "kiln-application.h"
#include "kiln-i18n.h"

int
main (int argc, char *argv[])
{
  /* libgomp reads GOMP_SPINCOUNT once, when it loads: re-execute with a
   * short spin so oneDNN's idle threads sleep instead of stealing cores
   * (a desktop app must not burn idle CPU; measured in kiln-cli.c's main). The user's own setting stands. */
  if (g_getenv ("OMP_WAIT_POLICY") == NULL && g_getenv ("GOMP_SPINCOUNT") == NULL)
    {
      g_setenv ("GOMP_SPINCOUNT", "20000", TRUE);
      execv ("/proc/self/exe", argv); /* no /proc: carry on with the default */
    }
  kiln_i18n_init ();

  g_autoptr(KilnApplication) app = kiln_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
