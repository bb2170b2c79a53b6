/* A run keeps the recipe it started from (recipe.json), and
 * `kiln-cli train --again RUN` trains a new run with the same choices:
 * the same options and network in config.json, the same trained weights
 * (the seed is part of the recipe), only --epochs/--device/--run-id may
 * differ, and a run without recipe.json is refused, saying why. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

static void
run_ok (const char *const *args)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = kiln_test_run_cli (args, &out, &err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("stdout:\n%s\nstderr:\n%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
test_train_again (void)
{
  g_autofree char *project = kiln_test_make_bars_project ();
  g_autofree char *spec = g_build_filename (project, "bars.json", NULL);
  g_autoptr(KilnNetSpec) bars = kiln_test_bars_net ();
  g_assert_true (kiln_net_spec_save (bars, spec, NULL));

  const char *first[] = { "train", "--project", project, "--spec", spec, "--epochs", "2", "--batch", "4",
                          "--optimizer", "adam", "--lr", "0.003", "--schedule", "cosine", "--no-mirror",
                          "--seed", "7", "--run-id", "first", "--json", NULL };
  run_ok (first);
  g_autofree char *first_dir = g_build_filename (project, "runs", "first", NULL);
  g_autofree char *recipe = g_build_filename (first_dir, "recipe.json", NULL);
  g_assert_true (g_file_test (recipe, G_FILE_TEST_IS_REGULAR));
  kiln_test_assert_not_world_writable (recipe);

  const char *again[] = { "train", "--again", first_dir, "--run-id", "second", "--json", NULL };
  run_ok (again);
  g_autofree char *a_path = g_build_filename (first_dir, "config.json", NULL);
  g_autofree char *b_path = g_build_filename (project, "runs", "second", "config.json", NULL);
  g_autoptr(JsonNode) a = kiln_test_read_json (a_path);
  g_autoptr(JsonNode) b = kiln_test_read_json (b_path);
  JsonObject *ao = json_node_get_object (a), *bo = json_node_get_object (b);
  g_assert_true (json_node_equal (json_object_get_member (ao, "options"), json_object_get_member (bo, "options")));
  g_assert_true (json_node_equal (json_object_get_member (ao, "spec"), json_object_get_member (bo, "spec")));
  JsonObject *options = json_object_get_object_member (bo, "options");
  g_assert_cmpstr (json_object_get_string_member (options, "optimizer"), ==, "adam");
  g_assert_cmpfloat (json_object_get_double_member (options, "learning_rate"), ==, 0.003);

  /* Choices that are the run's own cannot be given; --epochs may grow. */
  g_autofree char *out = NULL, *err = NULL;
  const char *clash[] = { "train", "--again", first_dir, "--lr", "0.1", NULL };
  int status = kiln_test_run_cli (clash, &out, &err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "--lr cannot be given"));

  /* A run without its recipe is refused, naming why. */
  g_assert_cmpint (g_unlink (recipe), ==, 0);
  g_free (out), g_free (err);
  out = err = NULL;
  const char *old[] = { "train", "--again", first_dir, NULL };
  status = kiln_test_run_cli (old, &out, &err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "recipe.json"));
  kiln_test_remove_tree (project);
}

int
main (int argc, char **argv)
{
  kiln_test_isolate_home ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/train-again", test_train_again);
  return g_test_run ();
}
