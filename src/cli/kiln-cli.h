/* kiln-cli.h: shared helpers of the kiln-cli subcommands.
 *
 * Each subcommand lives in its own kiln-cli-NAME.c with an entry
 * `int kiln_cli_NAME (int argc, char **argv)` listed in kiln-cli.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef int (*KilnCliCommandFunc) (int argc, char **argv);

/* Parses argv with @entries; prints the error and returns FALSE on bad
 * options. @summary is shown in --help. */
gboolean kiln_cli_parse (const char         *command,
                         const char         *parameter_string,
                         const char         *summary,
                         const GOptionEntry *entries,
                         int                *argc,
                         char             ***argv);

/* Prints "kiln-cli COMMAND: MESSAGE" to stderr and returns exit status 1. */
int      kiln_cli_fail  (const char *command,
                         GError     *error);

int kiln_cli_calc    (int argc, char **argv);
int kiln_cli_devices (int argc, char **argv);

G_END_DECLS
