#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>

#include "kiln-cli.h"
#include "kiln-core.h"

typedef struct {
  const char *name;
  KilnCliCommandFunc run;
  const char *summary;
} KilnCliCommand;

static const KilnCliCommand commands[] = {
  { "calc", kiln_cli_calc, N_("Show layer sizes, parameters and costs of a network") },
  { "devices", kiln_cli_devices, N_("List the compute backends and devices that answer") },
};

gboolean
kiln_cli_parse (const char *command, const char *parameter_string, const char *summary,
                const GOptionEntry *entries, int *argc, char ***argv)
{
  g_autofree char *title = g_strdup_printf ("%s%s%s", command,
                                            parameter_string ? " " : "",
                                            parameter_string ? parameter_string : "");
  g_autoptr(GOptionContext) context = g_option_context_new (title);
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("kiln-cli %s: %s\n", command, error->message);
      g_printerr ("Try “kiln-cli %s --help”.\n", command);
      return FALSE;
    }
  return TRUE;
}

int
kiln_cli_fail (const char *command, GError *error)
{
  g_printerr ("kiln-cli %s: %s\n", command, error ? error->message : "failed");
  return 1;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s", _("Usage:\n  kiln-cli [--version] [--help] COMMAND [OPTIONS…]\n\n"));
  fprintf (out, "%s", _("Gather, curate and train image classifiers without a display.\n\nCommands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "%s", _("\nRun “kiln-cli COMMAND --help” for a command's options.\n"));
}

int
main (int argc, char *argv[])
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  if (g_str_equal (argv[1], "--version") || g_str_equal (argv[1], "-V"))
    {
      printf ("kiln-cli %s\n", KILN_VERSION);
      return 0;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return 0;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);

  fprintf (stderr, _("kiln-cli: unknown command “%s”\n\n"), argv[1]);
  print_usage (stderr);
  return 2;
}
