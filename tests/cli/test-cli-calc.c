/* kiln-cli calc, run as a separate process the way people and scripts use it:
 * tables, JSON, fit errors with suggestions, resize reports, spec files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/wait.h>

typedef struct {
  int exit_code;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs `kiln-cli calc ARGS…` without a display; returns the exit code. */
static void
calc (Run *run, ...)
{
  const char *cli = g_getenv ("KILN_CLI");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) envp = g_environ_unsetenv (g_get_environ (), "DISPLAY");
  const char *arg;
  va_list args;
  int status = -1;

  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (char *) cli);
  g_ptr_array_add (argv, (char *) "calc");
  va_start (args, run);
  while ((arg = va_arg (args, const char *)))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  envp = g_environ_setenv (envp, "LC_ALL", "C.UTF-8", TRUE);
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  run->exit_code = WEXITSTATUS (status);
}

static JsonObject *
parse_object (JsonParser *parser, const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static JsonObject *
find_layer (JsonObject *root, const char *member, const char *name)
{
  JsonArray *layers = json_object_get_array_member (root, member);

  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonObject *layer = json_array_get_object_element (layers, i);
      if (g_str_equal (json_object_get_string_member (layer, "name"), name))
        return layer;
    }
  g_error ("no layer %s in %s", name, member);
  return NULL;
}

static void
assert_dims (JsonObject *object, const char *member, int c, int h, int w)
{
  JsonArray *dims = json_object_get_array_member (object, member);

  g_assert_cmpuint (json_array_get_length (dims), ==, 3);
  g_assert_cmpint (json_array_get_int_element (dims, 0), ==, c);
  g_assert_cmpint (json_array_get_int_element (dims, 1), ==, h);
  g_assert_cmpint (json_array_get_int_element (dims, 2), ==, w);
}

static void
test_table (void)
{
  g_auto(Run) run = { 0 };

  calc (&run, "--preset", "alexnet", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_nonnull (strstr (run.out, "Layer"));
  g_assert_nonnull (strstr (run.out, "3×227×227"));
  g_assert_true (g_regex_match_simple ("\nconv1 +Convolution +96×55×55 +34,944 +105,415,200 ", run.out, 0, 0));
  g_assert_true (g_regex_match_simple ("\npool5 +MaxPool +256×6×6 ", run.out, 0, 0));
  g_assert_true (g_regex_match_simple ("\nfc6 +InnerProduct +4096×1×1 +37,752,832 ", run.out, 0, 0));
  g_assert_true (g_regex_match_simple ("\nTotal +62,378,344 ", run.out, 0, 0));
  g_assert_null (strstr (run.out, " \n"));
}

static void
test_json (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;

  calc (&run, "--preset", "alexnet", "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  root = parse_object (parser, run.out);
  g_assert_cmpstr (json_object_get_string_member (root, "name"), ==, "alexnet");
  assert_dims (root, "input", 3, 227, 227);
  g_assert_cmpint (json_object_get_int_member (root, "total_params"), ==, 62378344);
  assert_dims (find_layer (root, "layers", "pool5"), "output", 256, 6, 6);
  g_assert_cmpint (json_object_get_int_member (find_layer (root, "layers", "fc6"), "params"), ==, 9216 * 4096 + 4096);
  g_assert_cmpint (json_object_get_int_member (find_layer (root, "layers", "conv1"), "activation_bytes"), ==, 96 * 55 * 55 * 4);
}

static void
test_classes_and_input (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;

  /* VGG-16 with a 10-class head; its global size stays fixed at 224. */
  calc (&run, "--preset", "vgg16", "--classes", "10", "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  root = parse_object (parser, run.out);
  g_assert_cmpint (json_object_get_int_member (root, "total_params"), ==, 138357544 - 4097000 + 40970);
  run_clear (&run);

  /* ResNet-18 on a gray 96×128 input, written with ×. */
  calc (&run, "--preset", "resnet18", "--input", "1×96×128", "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  root = parse_object (parser, run.out);
  assert_dims (root, "input", 1, 96, 128);
  assert_dims (find_layer (root, "layers", "layer4.1.relu2"), "output", 512, 3, 4);
  assert_dims (find_layer (root, "layers", "fc"), "output", 1000, 1, 1);
}

static void
test_fit_error (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;

  calc (&run, "--preset", "alexnet", "--input", "224x224", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  g_assert_cmpstr (run.out, ==, "");
  /* The error, what fixes it, and what it does to fc6 if ignored. */
  g_assert_cmpstr (run.err, ==,
                   "kiln-cli calc: conv1: (224 − 11)/4 + 1 = 54.25 is not a whole number; "
                   "use input 227×227 (or 223×223), or pad top 1 and bottom 2, or stride 3; "
                   "with floor pooling, fc6 then receives 6,400 inputs (5 × 5 × 256), "
                   "not 9,216 (6 × 6 × 256 at 227 × 227); "
                   "with this net's ceil pooling it gets 9,216, but from windows that run past the edge\n");
  run_clear (&run);

  calc (&run, "--preset", "alexnet", "--input", "3x224x224", "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  root = parse_object (parser, run.out);
  g_assert_nonnull (strstr (json_object_get_string_member (root, "error"), "54.25"));
  g_assert_nonnull (strstr (json_object_get_string_member (root, "error"), "fc6 then receives 6,400 inputs"));
}

static void
test_compare (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *fc6;

  calc (&run, "--preset", "alexnet", "--compare", "259x259", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  g_assert_nonnull (strstr (run.out, "Resizing the input from 3×227×227 to 3×259×259:\n"));
  g_assert_nonnull (strstr (run.out, "  fc6: inputs 9216 → 12544; weights must be re-initialised\n"));
  g_assert_nonnull (strstr (run.out, "  conv1: weights kept; output 96×55×55 → 96×63×63\n"));
  g_assert_nonnull (strstr (run.out, "1 layer needs new weights.\n"));
  run_clear (&run);

  calc (&run, "--preset", "alexnet", "--compare", "259x259", "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  root = parse_object (parser, run.out);
  fc6 = find_layer (root, "compare", "fc6");
  g_assert_true (json_object_get_boolean_member (fc6, "weights_change"));
  g_assert_cmpint (json_object_get_int_member (fc6, "old_fan_in"), ==, 9216);
  g_assert_cmpint (json_object_get_int_member (fc6, "new_fan_in"), ==, 12544);
  g_assert_false (json_object_get_boolean_member (find_layer (root, "compare", "conv2"), "weights_change"));
  assert_dims (find_layer (root, "compare", "pool5"), "new_output", 256, 7, 7);
  run_clear (&run);

  calc (&run, "--preset", "squeezenet1_1", "--compare", "320", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  g_assert_nonnull (strstr (run.out, "Every layer keeps its weights.\n"));
  run_clear (&run);

  /* A size the net cannot take is reported with the size named. */
  calc (&run, "--preset", "alexnet", "--compare", "200x200", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  g_assert_nonnull (strstr (run.err, "kiln-cli calc: At 3×200×200: conv1:"));
}

/* 224 against AlexNet's 227: what changes, not just conv1's error again. */
static void
test_compare_misfit (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *conv1;

  calc (&run, "--preset", "alexnet", "--compare", "224x224", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  g_assert_nonnull (strstr (run.out, "At 3×224×224 instead of 3×227×227, 4 layers change:\n"));
  g_assert_true (g_regex_match_simple ("\nconv1 +Convolution +96×55×55 +96×54×54 +"
                                       "\\(224 − 11\\)/4 \\+ 1 = 54\\.25 is not a whole number\n",
                                       run.out, 0, 0));
  g_assert_true (g_regex_match_simple ("\npool1 +MaxPool +96×27×27 +96×27×27 +\\(54 − 3\\)/2 \\+ 1 = 26\\.5 rounds up",
                                       run.out, 0, 0));
  /* conv3 and everything after it are the same shapes at both sizes. */
  g_assert_false (g_regex_match_simple ("\nconv3 +Convolution +384×13×13 +384", run.out, 0, 0));
  g_assert_nonnull (strstr (run.err, "kiln-cli calc: At 3×224×224: conv1: (224 − 11)/4 + 1 = 54.25 is not a whole number; "
                                     "use input 227×227"));
  g_assert_nonnull (strstr (run.err, "with floor pooling, fc6 then receives 6,400 inputs (5 × 5 × 256), "
                                     "not 9,216 (6 × 6 × 256 at 227 × 227)"));
  /* conv1's error is said once, not once per size. */
  g_assert_null (strstr (strstr (run.err, "54.25") + 1, "54.25 is not"));
  run_clear (&run);

  calc (&run, "--preset", "alexnet", "--compare", "224x224", "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  root = parse_object (parser, run.out);
  assert_dims (root, "compare_input", 3, 224, 224);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "compare_layers")), ==, 4);
  conv1 = find_layer (root, "compare_layers", "conv1");
  assert_dims (conv1, "new_output", 96, 54, 54);
  g_assert_cmpstr (json_object_get_string_member (conv1, "fit"), ==, "mismatch");
  g_assert_cmpstr (json_object_get_string_member (find_layer (root, "layers", "conv1"), "fit"), ==, "whole");
  g_assert_nonnull (strstr (json_object_get_string_member (root, "error"), "fc6 then receives 6,400 inputs"));
}

static void
test_spec_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-calc-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "caffenet.json", NULL);
  g_autofree char *hostile = g_build_filename (dir, "hostile.json", NULL);
  g_autofree char *from_preset = NULL;
  g_auto(Run) run = { 0 };

  calc (&run, "--preset", "caffenet", "--save", path, "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  from_preset = g_steal_pointer (&run.out);
  run_clear (&run);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  calc (&run, "--spec", path, "--json", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  g_assert_cmpstr (run.out, ==, from_preset);
  run_clear (&run);

  g_assert_true (g_file_set_contents (hostile,
    "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"h\","
    " \"input\": {\"channels\": 3, \"height\": 8, \"width\": 8},"
    " \"layers\": [{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 4, \"kernel\": -1}]}", -1, NULL));
  calc (&run, "--spec", hostile, NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  g_assert_nonnull (strstr (run.err, hostile));
  g_assert_nonnull (strstr (run.err, "c: kernel -1×-1 is not usable"));

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_remove (hostile), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_usage_errors (void)
{
  g_auto(Run) run = { 0 };

  calc (&run, NULL);
  g_assert_cmpint (run.exit_code, ==, 2);
  g_assert_nonnull (strstr (run.err, "--preset NAME or --spec FILE"));
  run_clear (&run);

  calc (&run, "--preset", "alexnet", "--spec", "x.json", NULL);
  g_assert_cmpint (run.exit_code, ==, 2);
  run_clear (&run);

  calc (&run, "--preset", "googlenet", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  g_assert_nonnull (strstr (run.err, "no preset network called “googlenet”"));
  run_clear (&run);

  calc (&run, "--preset", "alexnet", "--input", "3x0x227", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  g_assert_nonnull (strstr (run.err, "“3x0x227” is not a size"));
  run_clear (&run);

  calc (&run, "--preset", "alexnet", "--input", "1x2x3x4", NULL);
  g_assert_cmpint (run.exit_code, ==, 1);
  run_clear (&run);

  calc (&run, "--list", NULL);
  g_assert_cmpint (run.exit_code, ==, 0);
  g_assert_cmpstr (run.out, ==, "alexnet\ncaffenet\nlenet\nfashion-bn\nvgg16\nresnet18\nsqueezenet1_1\n");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/calc/table", test_table);
  g_test_add_func ("/cli/calc/json", test_json);
  g_test_add_func ("/cli/calc/classes-and-input", test_classes_and_input);
  g_test_add_func ("/cli/calc/fit-error", test_fit_error);
  g_test_add_func ("/cli/calc/compare", test_compare);
  g_test_add_func ("/cli/calc/compare-misfit", test_compare_misfit);
  g_test_add_func ("/cli/calc/spec-file", test_spec_file);
  g_test_add_func ("/cli/calc/usage-errors", test_usage_errors);
  return g_test_run ();
}
