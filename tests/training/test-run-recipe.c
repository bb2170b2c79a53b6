/* The run recipe, the one place both front ends turn choices into a run:
 * unset fields are the trainer's defaults, names are checked, the net of
 * "start from these weights" is the one they carry, and what cannot work
 * is refused before a run folder exists. */
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-run-recipe.h"
#include "kiln-project-dataset.h"
#include "kiln-dataset.h"
#include "test-util.h"

static char *
make_project (void)
{
  char *project = kiln_test_make_bars_project ();
  g_autoptr(KilnProject) store = kiln_project_open_dataset (project, NULL, NULL);
  g_assert_nonnull (store);
  return project;
}

static void
test_defaults (void)
{
  g_autofree char *project = make_project ();
  g_auto(KilnRunRecipe) recipe;
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  KilnTrainerOptions options, defaults;
  KilnTrainingSetup setup;

  kiln_run_recipe_init (&recipe);
  g_assert_true (kiln_run_recipe_build (&recipe, project, &spec, &options, &setup, NULL, &error));
  g_assert_no_error (error);
  /* LeNet with the project's two classes. */
  g_assert_cmpstr (kiln_net_spec_get_name (spec), ==, "lenet");
  const KilnLayerShape *top = kiln_net_spec_get_shape (spec, kiln_net_spec_get_n_layers (spec) - 1);
  g_assert_cmpint (top->c * top->h * top->w, ==, 2);
  kiln_trainer_options_init (&defaults);
  g_autoptr(JsonObject) a = kiln_trainer_options_to_json (&options);
  g_autoptr(JsonObject) b = kiln_trainer_options_to_json (&defaults);
  g_autoptr(JsonNode) na = json_node_init_object (json_node_alloc (), a);
  g_autoptr(JsonNode) nb = json_node_init_object (json_node_alloc (), b);
  g_assert_true (json_node_equal (na, nb));
  g_assert_null (setup.split);
  g_assert_null (setup.initial_weights);
  kiln_trainer_options_clear (&options);
  kiln_trainer_options_clear (&defaults);

  /* The schedule's length follows the epochs, as kiln-cli's did. */
  recipe.epochs = 9;
  recipe.schedule = g_strdup ("step");
  g_clear_object (&spec);
  g_assert_true (kiln_run_recipe_build (&recipe, project, &spec, &options, &setup, NULL, &error));
  g_assert_cmpint (options.schedule.policy, ==, KILN_LR_STEP);
  g_assert_cmpint (options.schedule.step_epochs, ==, 3);
  g_assert_cmpfloat (options.schedule.gamma, ==, 0.1);
  kiln_trainer_options_clear (&options);
  kiln_test_remove_tree (project);
}

static void
assert_refused (const char *project, KilnRunRecipe *recipe, const char *says)
{
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  KilnTrainerOptions options;
  KilnTrainingSetup setup;

  g_assert_false (kiln_run_recipe_build (recipe, project, &spec, &options, &setup, NULL, &error));
  g_assert_nonnull (error);
  if (strstr (error->message, says) == NULL)
    g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, says));
}

static void
test_refusals (void)
{
  g_autofree char *project = make_project ();
  g_auto(KilnRunRecipe) recipe;

  kiln_run_recipe_init (&recipe);
  recipe.optimizer = g_strdup ("rmsprop");
  assert_refused (project, &recipe, "Unknown optimizer “rmsprop”");
  g_clear_pointer (&recipe.optimizer, g_free);
  recipe.schedule = g_strdup ("linear");
  assert_refused (project, &recipe, "Unknown schedule “linear”");
  g_clear_pointer (&recipe.schedule, g_free);
  recipe.resize = g_strdup ("stretch");
  assert_refused (project, &recipe, "Unknown resize mode “stretch”");
  g_clear_pointer (&recipe.resize, g_free);
  recipe.freeze_up_to = g_strdup ("conv9");
  assert_refused (project, &recipe, "conv9");
  g_clear_pointer (&recipe.freeze_up_to, g_free);
  recipe.weights = g_strdup ("no-such-run");
  assert_refused (project, &recipe, "no-such-run");
  g_clear_pointer (&recipe.weights, g_free);

  /* Split options shape only a split the run makes. */
  {
    g_autoptr(KilnProject) store = kiln_project_open (project, NULL);
    KilnSplitSpec split;
    kiln_split_spec_init (&split);
    g_assert_true (kiln_dataset_split_project (store, "default", &split, NULL, NULL));
  }
  recipe.val_fraction = 0.3;
  assert_refused (project, &recipe, "already has the split “default”");
  recipe.val_fraction = -1;

  /* Frozen layers without weights: refused by the setup, with no run folder left. */
  recipe.freeze_up_to = g_strdup ("conv1");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnTrainer) trainer = kiln_run_recipe_prepare (&recipe, project, NULL, &error);
  g_assert_null (trainer);
  g_assert_nonnull (strstr (error->message, "Freezing layers up to conv1 without pretrained weights"));
  g_autofree char *runs = g_build_filename (project, "runs", NULL);
  g_autoptr(GDir) dir = g_dir_open (runs, 0, NULL);
  g_assert_true (dir == NULL || g_dir_read_name (dir) == NULL);
  kiln_test_remove_tree (project);
}

/* Starting from a run's weights without naming a net trains that run's net. */
static void
test_weights_bring_their_net (void)
{
  g_autofree char *project = make_project ();
  g_autoptr(GError) error = NULL;
  KilnTrainerOptions options;
  KilnTrainingSetup setup;

  kiln_test_train_bars (project, "base", 1);
  g_auto(KilnRunRecipe) recipe;
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autofree char *from = NULL;
  kiln_run_recipe_init (&recipe);
  recipe.weights = g_strdup ("base");
  recipe.freeze_up_to = g_strdup ("conv");
  g_assert_true (kiln_run_recipe_build (&recipe, project, &spec, &options, &setup, &from, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_net_spec_get_name (spec), ==, "bars");
  g_assert_cmpint (kiln_net_spec_get_n_frozen (spec), ==, 1);
  g_assert_cmpstr (setup.initial_weights, ==, "base");
  g_assert_true (g_str_has_prefix (from, "the best checkpoint of run base"));
  kiln_trainer_options_clear (&options);

  /* A preset named besides the weights wins. */
  g_clear_object (&spec);
  g_clear_pointer (&recipe.freeze_up_to, g_free);
  recipe.preset = g_strdup ("lenet");
  g_assert_true (kiln_run_recipe_build (&recipe, project, &spec, &options, &setup, NULL, &error));
  g_assert_cmpstr (kiln_net_spec_get_name (spec), ==, "lenet");
  kiln_trainer_options_clear (&options);

  /* The choices a wizard offers: the split (none yet), the classes, the run. */
  g_autoptr(KilnRunChoices) choices = kiln_run_choices_load (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (choices->n_classes, ==, 2);
  g_assert_cmpuint (choices->runs->len, ==, 1);
  g_assert_cmpstr (((KilnRunInfo *) choices->runs->pdata[0])->id, ==, "base");
  kiln_test_remove_tree (project);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/run-recipe/defaults", test_defaults);
  g_test_add_func ("/run-recipe/refusals", test_refusals);
  g_test_add_func ("/run-recipe/weights-bring-their-net", test_weights_bring_their_net);
  return g_test_run ();
}
