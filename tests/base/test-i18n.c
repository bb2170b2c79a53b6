/* Kiln run from the build tree reads the catalogues compiled there, so the
 * README's run command shows the Japanese translation; KILN_LOCALEDIR
 * points elsewhere when set. */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "kiln-i18n.h"

static void
test_build_tree_catalogues (void)
{
  g_autofree char *expected = g_build_filename (KILN_BUILD_ROOT, "po", NULL);
  g_autofree char *mo = g_build_filename (expected, "ja", "LC_MESSAGES", "kiln.mo", NULL);

  /* This program lies in the build tree. */
  g_assert_cmpstr (kiln_i18n_get_localedir (), ==, expected);
  g_assert_true (g_file_test (mo, G_FILE_TEST_IS_REGULAR));
}

/* The command-line tool, from the build tree, in Japanese. */
static void
test_cli_speaks_japanese (void)
{
  const char *cli = g_getenv ("KILN_CLI");
  g_auto(GStrv) env = g_get_environ ();
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (cli);
  env = g_environ_setenv (env, "LANG", "C.UTF-8", TRUE);
  env = g_environ_setenv (env, "LC_ALL", "C.UTF-8", TRUE);
  env = g_environ_setenv (env, "LANGUAGE", "ja", TRUE);
  env = g_environ_unsetenv (env, "KILN_LOCALEDIR");
  const char *argv[] = { cli, "devices", "--help", NULL };
  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "JSON 形式の要約を出力する"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/i18n/build-tree-catalogues", test_build_tree_catalogues);
  g_test_add_func ("/i18n/cli-speaks-japanese", test_cli_speaks_japanese);
  return g_test_run ();
}
