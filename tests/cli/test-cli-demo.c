/* kiln-cli demo, made small: it trains the fashion-bn preset with the
 * demo's recipe on Fashion-MNIST's own split (train-* images for training
 * and validation, test-* only for the test), then tests the run on the
 * test images. Two epochs on 1,180 images: seconds, not the demo's minutes;
 * bench/fashion-93.sh measures the full recipe. */
#include <json-glib/json-glib.h>

#include "kiln-core.h"
#include "test-util.h"

/* Every path of a run's SUBSET.txt names a file starting with @prefix. */
static guint
count_subset (const char *run, const char *subset, const char *prefix)
{
  g_autofree char *file = g_strconcat (subset, ".txt", NULL);
  g_autofree char *path = g_build_filename (run, file, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      g_auto(GStrv) fields = g_strsplit (lines[i], " ", 2);
      g_autofree char *base = g_path_get_basename (fields[0]);
      g_assert_true (g_str_has_prefix (base, prefix));
      n++;
    }
  return n;
}

static void
test_demo_small (void)
{
  g_autofree char *dataset = g_build_filename (KILN_DEMO_DATASET_DIR, "train-images-idx3-ubyte.gz", NULL);
  if (!g_file_test (dataset, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("dataset-fashion-mnist is not installed (" KILN_DEMO_DATASET_DIR ")");
      return;
    }
  g_autofree char *tmp = g_dir_make_tmp ("kiln-demo-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "demo", NULL);
  const char *args[] = { "demo", "--dir", dir, "--limit", "1200", "--epochs", "2", "--val-per-class", "2",
                         "--json", NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = kiln_test_run_cli (args, &out, &err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("kiln-cli demo failed: %s", err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  /* --json: [training summary, test evaluation]. */
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  JsonArray *results = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (results), ==, 2);
  JsonObject *summary = json_array_get_object_element (results, 0);
  JsonObject *test = json_array_get_object_element (results, 1);
  g_assert_cmpstr (json_object_get_string_member (summary, "state"), ==, "finished");
  g_assert_true (json_object_has_member (test, "top1"));

  /* 1,200 training images (2 of each class validate) and 1,200 / 6 test
   * images, which only the test sees. */
  const char *run = json_object_get_string_member (summary, "run");
  g_assert_cmpuint (count_subset (run, "train", "train-"), ==, 1180);
  g_assert_cmpuint (count_subset (run, "val", "train-"), ==, 20);
  g_assert_cmpuint (count_subset (run, "test", "test-"), ==, 200);

  /* The core's demo recipe (the window's New Run wizard starts the demo
   * project from it too) reached the run: a net with batch norm, a cosine
   * schedule with warm-up, flips. */
  g_auto(KilnRunRecipe) recipe;
  kiln_run_recipe_init_demo (&recipe);
  g_autoptr(JsonObject) config = kiln_training_read_config (run, &error);
  g_assert_no_error (error);
  JsonObject *spec = json_object_get_object_member (config, "spec");
  JsonObject *options = json_object_get_object_member (config, "options");
  JsonObject *schedule = json_object_get_object_member (options, "schedule");
  JsonObject *split = json_object_get_object_member (config, "split");
  g_assert_cmpstr (json_object_get_string_member (spec, "name"), ==, recipe.preset);
  g_assert_cmpstr (json_object_get_string_member (split, "name"), ==, KILN_DEMO_SPLIT);
  g_assert_cmpint (json_object_get_int_member (options, "batch_size"), ==, recipe.batch_size);
  g_assert_cmpfloat (json_object_get_double_member (options, "learning_rate"), ==, recipe.learning_rate);
  g_assert_cmpint (json_object_get_boolean_member (options, "mirror"), ==, recipe.mirror);
  g_assert_cmpint (json_object_get_boolean_member (options, "random_crop"), ==, recipe.random_crop);
  g_assert_cmpstr (json_object_get_string_member (schedule, "policy"), ==, "cosine");
  g_assert_cmpint (json_object_get_int_member (schedule, "warmup_iterations"), ==, recipe.warmup);
  g_assert_cmpint (json_object_get_int_member (schedule, "total_epochs"), ==, 2);
  guint n_bn = 0;
  JsonArray *layers = json_object_get_array_member (spec, "layers");
  for (guint i = 0; i < json_array_get_length (layers); i++)
    n_bn += g_strcmp0 (json_object_get_string_member (json_array_get_object_element (layers, i), "type"),
                       "BatchNorm") == 0;
  g_assert_cmpuint (n_bn, >, 0);

  /* It learned something in two small epochs (36 steps, still warming
   * up): above chance (10%) on the 200 test images. */
  double top1 = json_object_get_double_member (test, "top1");
  g_test_message ("test top-1 after two small epochs: %.3f", top1);
  g_assert_cmpfloat (top1, >, 0.2);

  kiln_test_remove_tree (tmp);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  kiln_test_isolate_home ();
  g_test_add_func ("/cli/demo/small", test_demo_small);
  return g_test_run ();
}
