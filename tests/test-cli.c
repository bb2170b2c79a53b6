/* kiln-cli starts without a display, answers --version/--help, and rejects
 * what it does not know with a usage message and a non-zero status. */
#include <glib.h>

#include "kiln-version.h"
#include "test-util.h"

static void
test_version (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "--version", NULL };
  int status = kiln_test_run_cli (args, &out, &err);

  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *expected = g_strdup_printf ("kiln-cli %s\n", KILN_VERSION);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_help_lists_commands (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "--help", NULL };
  int status = kiln_test_run_cli (args, &out, &err);

  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "Usage:"));
  g_assert_nonnull (strstr (out, "devices"));
}

static void
test_unknown_command (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "frobnicate", NULL };
  int status = kiln_test_run_cli (args, &out, &err);

  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "unknown command “frobnicate”"));
  g_assert_nonnull (strstr (err, "Usage:"));
}

static void
test_no_arguments (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { NULL };
  int status = kiln_test_run_cli (args, &out, &err);

  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "Usage:"));
}

static void
test_devices_json (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "devices", "--json", NULL };
  int status = kiln_test_run_cli (args, &out, &err);

  /* With or without a GPU the command succeeds and says what it found. */
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "\"cpu\""));
  g_assert_nonnull (strstr (out, "\"cuda_devices\""));
  g_assert_nonnull (strstr (out, "\"cuda_status\""));
}

static void
test_bad_option (void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "devices", "--no-such-option", NULL };
  int status = kiln_test_run_cli (args, &out, &err);

  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "kiln-cli devices:"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/version", test_version);
  g_test_add_func ("/cli/help-lists-commands", test_help_lists_commands);
  g_test_add_func ("/cli/unknown-command", test_unknown_command);
  g_test_add_func ("/cli/no-arguments", test_no_arguments);
  g_test_add_func ("/cli/devices-json", test_devices_json);
  g_test_add_func ("/cli/bad-option", test_bad_option);
  return g_test_run ();
}
