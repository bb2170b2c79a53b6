/* kiln-cli starts without a display, answers --version/--help, and rejects
 * what it does not know with a usage message and a non-zero status. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

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

/* A report on a folder that is not a project says so and creates nothing;
 * --failed without --report is a usage error, not a download. */
static void
test_gather_report_arguments (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("kiln-cli-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *typo = g_build_filename (tmp, "no-such-project", NULL);
  g_autofree char *out = NULL, *err = NULL;
  const char *report[] = { "gather", "--project", typo, "--report", NULL };
  int status = kiln_test_run_cli (report, &out, &err);

  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err, "is not a Kiln project"));
  g_assert_false (g_file_test (typo, G_FILE_TEST_EXISTS));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *failed[] = { "gather", "--project", typo, "--urls", "/nonexistent/urls.txt", "--failed", NULL };
  status = kiln_test_run_cli (failed, &out, &err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  g_assert_nonnull (strstr (err, "--failed goes with --report"));
  g_assert_false (g_file_test (typo, G_FILE_TEST_EXISTS));
  g_rmdir (tmp);
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
  g_assert_nonnull (strstr (out, "\"default_device\""));
  g_assert_nonnull (strstr (out, "\"reason\""));
}

/* --device: a device that does not answer is an error with its reason
 * and no run folder; --dry-run names the device and what the run needs,
 * and a batch too large for the device (KILN_DEVICE_MEMORY_LIMIT) is
 * refused naming the largest that fits. */
static void
test_train_device_and_dry_run (void)
{
  g_autofree char *project = kiln_test_make_bars_project ();
  g_autofree char *runs = g_build_filename (project, "runs", NULL);
  const char *common = "--preset";
  {
    g_autofree char *out = NULL, *err = NULL;
    const char *args[] = { "train", "-p", project, common, "lenet", "--input", "1x28x28", "-b", "4",
                           "--device", "cuda:7", NULL };
    int status = kiln_test_run_cli (args, &out, &err);
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "cuda:7 was asked for but cannot be used"));
    g_assert_false (g_file_test (runs, G_FILE_TEST_EXISTS) && g_rmdir (runs) != 0);
  }
  {
    g_autofree char *out = NULL, *err = NULL;
    const char *args[] = { "train", "-p", project, common, "alexnet", "--input", "1x227x227", "-b", "256",
                           "--device", "cpu", "--dry-run", NULL };
    int status = kiln_test_run_cli (args, &out, &err);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "device: cpu (cpu, as asked)"));
    g_assert_nonnull (strstr (out, "memory: alexnet at batch 256 with SGD needs"));
    g_assert_nonnull (strstr (out, "weights 222.3"));
  }
  {
    g_autofree char *out = NULL, *err = NULL;
    const char *args[] = { "train", "-p", project, common, "alexnet", "--input", "1x227x227", "-b", "256",
                           "--dry-run", NULL };
    g_setenv ("KILN_DEVICE", "cpu", TRUE);
    g_setenv ("KILN_DEVICE_MEMORY_LIMIT", "2G", TRUE);
    int status = kiln_test_run_cli (args, &out, &err);
    g_unsetenv ("KILN_DEVICE_MEMORY_LIMIT");
    g_unsetenv ("KILN_DEVICE");
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "needs 4.2"));
    g_assert_nonnull (strstr (err, "free of 2.0"));
    g_assert_nonnull (strstr (err, "The largest batch that fits is"));
  }
  g_assert_false (g_file_test (runs, G_FILE_TEST_EXISTS) && g_rmdir (runs) != 0);
  kiln_test_remove_tree (project);
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

static JsonObject *
cache_json (const char *project, int *status)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "cache", "--project", project, "--size", "16x20", "--channels", "1", "--json", NULL };
  *status = kiln_test_run_cli (args, &out, &err);
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, out, -1, NULL))
    return NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_cache_reuses_unchanged (void)
{
  g_autofree char *project = g_dir_make_tmp ("kiln-cli-cache-XXXXXX", NULL);
  const char *files[] = { "images/a/1.png", "images/a/2.png", "images/b/3.png", "images/b/broken.png", NULL };
  for (guint i = 0; files[i]; i++)
    {
      g_autofree char *path = g_build_filename (project, files[i], NULL);
      g_autofree char *dir = g_path_get_dirname (path);
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      if (g_str_has_suffix (files[i], "broken.png"))
        g_assert_true (g_file_set_contents (path, "<html>not an image</html>", -1, NULL));
      else
        {
          g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 30, 24);
          gdk_pixbuf_fill (pixbuf, 0x10203000u * (i + 1) | 0xff);
          g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
        }
    }

  int status;
  g_autoptr(JsonObject) first = cache_json (project, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (first);
  g_assert_cmpint (json_object_get_int_member (first, "images"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (first, "decoded"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (first, "undecodable"), ==, 1);
  /* --size is width × height; the cache is named by its tensor shape, H × W × C. */
  g_assert_true (g_str_has_suffix (json_object_get_string_member (first, "cache"), "images-20x16x1-squash.kilncache"));

  /* Nothing changed: nothing is decoded again. */
  g_autoptr(JsonObject) second = cache_json (project, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpint (json_object_get_int_member (second, "decoded"), ==, 1);   /* the broken one is retried */
  g_assert_cmpint (json_object_get_int_member (second, "reused"), ==, 3);

  g_autofree char *out = NULL, *err = NULL;
  const char *bad[] = { "cache", "--project", project, "--channels", "2", NULL };
  status = kiln_test_run_cli (bad, &out, &err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "--channels 1 or 3"));
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
  g_test_add_func ("/cli/train-device-and-dry-run", test_train_device_and_dry_run);
  g_test_add_func ("/cli/gather-report-arguments", test_gather_report_arguments);
  g_test_add_func ("/cli/bad-option", test_bad_option);
  g_test_add_func ("/cli/cache-reuses-unchanged", test_cache_reuses_unchanged);
  return g_test_run ();
}
