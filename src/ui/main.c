#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "engine/kiln-backend-cpu.h"
#include "kiln-application.h"

int
main (int argc, char *argv[])
{
  kiln_backend_cpu_prepare_process (argv);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_autoptr(KilnApplication) app = kiln_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
