/* ONNX export: a net written with kiln_onnx_export() and read back with
 * Kiln's importer computes the same outputs (normalized error below 1e-6)
 * and has the same parameters, for the PyTorch fixtures (padnet's folded
 * Pads become asymmetric Conv and pooling pads, padlayer's Pad layers Pad
 * nodes) and for a net with every
 * layer type and random weights; onnxruntime's outputs on a Kiln export
 * (tests/fixtures/make-onnx-export-fixture.py) match Kiln's forward on the
 * committed file; what ONNX cannot express fails cleanly and atomically.
 *
 * `test-onnx-export --write-fixture DIR` writes DIR/kiln-export.onnx (the
 * all-layers net, fixed weights) and, when DIR/kiln-export-input.pb exists,
 * Kiln's output on it as raw float32 in DIR/kiln-export-kiln-output.bin:
 * what the fixture script feeds to onnxruntime and compares.
 * `--write-preset NAME DIR` does the same for a preset (NAME.onnx …) with
 * random weights: the script's full-size check, not committed. */
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-backend.h"
#include "kiln-error.h"
#include "kiln-net.h"
#include "kiln-onnx-export.h"
#include "kiln-onnx.h"
#include "test-util.h"

#define FIXTURE_SEED 20261129

static void
add (KilnNetSpec *spec, KilnLayerSpec *layer, const char *const *inputs)
{
  g_autoptr(GError) error = NULL;

  if (inputs)
    layer->inputs = g_strdupv ((char **) inputs);
  kiln_net_spec_add_layer (spec, layer, &error);
  g_assert_no_error (error);
  kiln_layer_spec_clear (layer);
}

/* Every layer type: grouped and strided convolution, LRN, ceil pooling,
 * BatchNorm, a branch joined by Concat and Add, average pooling without the
 * padding, global pooling, Flatten, inner products on 4-D and 2-D inputs,
 * Dropout and Softmax; a convolution and a pooling with asymmetric pads. */
static KilnNetSpec *
all_layers_spec (void)
{
  KilnNetSpec *spec = kiln_net_spec_new ("all-layers", 3, 13, 13);
  KilnLayerSpec l = { 0 };

  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "conv1");
  l.num_output = 8, l.kernel_h = l.kernel_w = 3, l.stride_h = l.stride_w = 2;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = 1;
  add (spec, &l, NULL);                                     /* 8×7×7 */
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "relu1");
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_LRN, "norm1");
  l.alpha = 0.05f, l.k = 2.0f;
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, "pool1");
  l.kernel_h = l.kernel_w = 2, l.stride_h = l.stride_w = 2, l.rounding = KILN_ROUND_CEIL;
  add (spec, &l, NULL);                                     /* 8×4×4 */
  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "conv2");
  l.num_output = 8, l.kernel_h = l.kernel_w = 3, l.group = 2;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = 1;
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_BATCH_NORM, "bn2");
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "relu2");
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "conv3a");
  l.num_output = 4, l.kernel_h = l.kernel_w = 1;
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "conv3b");
  l.num_output = 4, l.kernel_h = l.kernel_w = 3, l.bias = FALSE;
  l.pad_top = 0, l.pad_left = 1, l.pad_bottom = 2, l.pad_right = 1;   /* asymmetric: ONNX begins, then ends */
  add (spec, &l, (const char *[]) { "relu2", NULL });
  kiln_layer_spec_init (&l, KILN_LAYER_CONCAT, "concat3");
  add (spec, &l, (const char *[]) { "conv3a", "conv3b", NULL });
  kiln_layer_spec_init (&l, KILN_LAYER_ADD, "add3");
  add (spec, &l, (const char *[]) { "concat3", "relu2", NULL });
  kiln_layer_spec_init (&l, KILN_LAYER_AVG_POOL, "pool3");
  l.kernel_h = l.kernel_w = 3, l.pad_top = l.pad_bottom = 1, l.pad_left = 0, l.pad_right = 2;
  add (spec, &l, NULL);                                     /* 8×4×4 */
  kiln_layer_spec_init (&l, KILN_LAYER_INNER_PRODUCT, "fc4");
  l.num_output = 16;
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "relu4");
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_GLOBAL_AVG_POOL, "gap3");
  add (spec, &l, (const char *[]) { "pool3", NULL });
  kiln_layer_spec_init (&l, KILN_LAYER_FLATTEN, "flat3");
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_CONCAT, "concat4");
  add (spec, &l, (const char *[]) { "relu4", "flat3", NULL });
  kiln_layer_spec_init (&l, KILN_LAYER_DROPOUT, "drop4");
  l.ratio = 0.3f;
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_INNER_PRODUCT, "fc5");
  l.num_output = 5;
  add (spec, &l, NULL);
  kiln_layer_spec_init (&l, KILN_LAYER_SOFTMAX, "prob");
  add (spec, &l, NULL);
  return spec;
}

/* Every parameter drawn from a seeded generator; BatchNorm variances
 * positive, so nothing is left at its neutral initial value. */
static void
randomize_params (KilnNet *net, guint32 seed)
{
  KilnNetSpec *spec = kiln_net_get_spec (net);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GError) error = NULL;

  for (guint l = 0; l < kiln_net_spec_get_n_layers (spec); l++)
    {
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (spec, l);
      for (guint i = 0; i < kiln_net_get_n_params (net, layer->name); i++)
        {
          KilnShape shape;
          kiln_net_get_param_shape (net, layer->name, i, &shape, &error);
          g_assert_no_error (error);
          gint64 n = kiln_shape_n_elements (&shape);
          g_autofree float *data = g_new (float, n);
          gboolean variance = layer->type == KILN_LAYER_BATCH_NORM && i == 3;
          for (gint64 k = 0; k < n; k++)
            data[k] = variance ? (float) g_rand_double_range (rand, 0.5, 1.5)
                               : (float) g_rand_double_range (rand, -0.5, 0.5);
          kiln_net_set_param (net, layer->name, i, data, n, &error);
          g_assert_no_error (error);
        }
    }
}

static KilnNet *
build_all_layers_net (KilnBackend *backend, int batch)
{
  g_autoptr(KilnNetSpec) spec = all_layers_spec ();
  g_autoptr(GError) error = NULL;
  KilnNet *net = kiln_net_new (spec, backend, batch, 7, &error);

  g_assert_no_error (error);
  randomize_params (net, FIXTURE_SEED);
  return net;
}

static float *
forward (KilnNet *net, const float *input)
{
  g_autoptr(GError) error = NULL;
  float *y = g_new0 (float, kiln_shape_n_elements (kiln_net_get_output_shape (net)));

  kiln_net_set_input (net, input);
  kiln_net_forward (net, FALSE, &error);
  g_assert_no_error (error);
  kiln_net_get_output (net, y);
  return y;
}

static KilnNet *
import_net (const char *path, KilnBackend *backend, int batch)
{
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;
  KilnNet *net;

  kiln_onnx_import_spec (path, &spec, &weights, &error);
  g_assert_no_error (error);
  net = kiln_net_new (spec, backend, batch, 1, &error);
  g_assert_no_error (error);
  kiln_onnx_load_weights (net, weights, &error);
  g_assert_no_error (error);
  return net;
}

/* Exports `net`, imports the file, and compares outputs and parameters. */
static void
check_round_trip (KilnNet *net, const float *input, KilnBackend *backend)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-export-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "model.onnx", NULL);
  KilnNetSpec *spec = kiln_net_get_spec (net);
  int batch = kiln_net_get_batch_size (net);

  g_assert_no_error (error);
  kiln_onnx_export (net, path, &error);
  g_assert_no_error (error);

  g_autoptr(KilnNet) back = import_net (path, backend, batch);
  gint64 n = kiln_shape_n_elements (kiln_net_get_output_shape (net));
  g_assert_cmpint (kiln_shape_n_elements (kiln_net_get_output_shape (back)), ==, n);
  g_autofree float *y = forward (net, input);
  g_autofree float *y_back = forward (back, input);
  double err = kiln_test_normalized_error (y_back, y, n, NULL);
  g_test_message ("%s: round-trip normalized error %.3g over %" G_GINT64_FORMAT " outputs",
                  kiln_net_spec_get_name (spec), err, n);
  g_assert_cmpfloat (err, <, 1e-6);

  /* Same layer names, same parameter values. */
  for (guint l = 0; l < kiln_net_spec_get_n_layers (spec); l++)
    {
      const char *name = kiln_net_spec_get_layer (spec, l)->name;
      g_assert_cmpuint (kiln_net_get_n_params (back, name), ==, kiln_net_get_n_params (net, name));
      for (guint i = 0; i < kiln_net_get_n_params (net, name); i++)
        {
          KilnShape shape;
          kiln_net_get_param_shape (net, name, i, &shape, &error);
          g_assert_no_error (error);
          gint64 count = kiln_shape_n_elements (&shape);
          g_autofree float *a = g_new (float, count);
          g_autofree float *b = g_new (float, count);
          kiln_net_get_param (net, name, i, a, count, &error);
          g_assert_no_error (error);
          kiln_net_get_param (back, name, i, b, count, &error);
          g_assert_no_error (error);
          g_assert_cmpmem (a, count * sizeof (float), b, count * sizeof (float));
        }
    }
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_round_trip_fixture (gconstpointer data)
{
  const char *name = data;
  g_autofree char *file = g_strdup_printf ("%s-opset13.onnx", name);
  g_autofree char *input_file = g_strdup_printf ("%s-input.pb", name);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", file, NULL);
  g_autofree char *input_path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", input_file, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_autoptr(KilnOnnxTensor) input = kiln_onnx_tensor_load (input_path, &error);

  g_assert_no_error (error);
  g_autoptr(KilnNet) net = import_net (path, backend, (int) input->dims[0]);
  check_round_trip (net, input->data, backend);
}

static void
test_round_trip_all_layers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  const int batch = 3;

  g_assert_no_error (error);
  g_autoptr(KilnNet) net = build_all_layers_net (backend, batch);
  gint64 n = kiln_shape_n_elements (kiln_net_get_input_shape (net));
  g_autofree float *input = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    input[i] = (float) g_rand_double_range (rand, -1, 1);
  check_round_trip (net, input, backend);
}

/* The committed export, run by onnxruntime in the fixture script. */
static void
test_onnxruntime_outputs (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", "kiln-export.onnx", NULL);
  g_autofree char *input_path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", "kiln-export-input.pb",
                                                       NULL);
  g_autofree char *ort_path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", "kiln-export-ort-output.pb",
                                                     NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_autoptr(KilnOnnxTensor) input = kiln_onnx_tensor_load (input_path, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOnnxTensor) expected = kiln_onnx_tensor_load (ort_path, &error);
  g_assert_no_error (error);

  /* Kiln reads the file onnxruntime ran, and computes what it computed. */
  g_autoptr(KilnNet) net = import_net (path, backend, (int) input->dims[0]);
  g_assert_cmpint (kiln_shape_n_elements (kiln_net_get_output_shape (net)), ==, (gint64) expected->n_elements);
  g_autofree float *y = forward (net, input->data);
  double max_abs;
  double err = kiln_test_normalized_error (y, expected->data, expected->n_elements, &max_abs);
  g_test_message ("kiln-export.onnx: Kiln vs onnxruntime normalized error %.3g, max abs %.3g", err, max_abs);
  g_assert_cmpfloat (err, <, 1e-5);

  /* Today's exporter still writes that net: the same weights give the same
   * outputs as the committed file. */
  g_autoptr(KilnNet) fresh = build_all_layers_net (backend, (int) input->dims[0]);
  g_autofree float *y_fresh = forward (fresh, input->data);
  err = kiln_test_normalized_error (y_fresh, expected->data, expected->n_elements, NULL);
  g_test_message ("fresh all-layers net vs onnxruntime: normalized error %.3g", err);
  g_assert_cmpfloat (err, <, 1e-5);
}

/* The graph input and output names of the file at @path. */
static void
assert_io_names (const char *path, const char *input, const char *output)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load (path, &error);
  KilnOnnxValueInfo info;

  g_assert_no_error (error);
  g_assert_cmpuint (kiln_onnx_model_get_n_inputs (model), ==, 1);
  kiln_onnx_model_get_input (model, 0, &info);
  g_assert_cmpstr (info.name, ==, input);
  g_assert_cmpuint (kiln_onnx_model_get_n_outputs (model), ==, 1);
  kiln_onnx_model_get_output (model, 0, &info);
  g_assert_cmpstr (info.name, ==, output);
}

/* Kiln's own nets read "input" and write "output"; an imported model keeps
 * the names it came with, even when a layer is called the same. */
static void
test_io_names (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_autofree char *dir = g_dir_make_tmp ("kiln-export-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "model.onnx", NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);

  g_assert_no_error (error);
  g_autoptr(KilnNet) net = build_all_layers_net (backend, 2);
  kiln_onnx_export (net, path, &error);
  g_assert_no_error (error);
  assert_io_names (path, "input", "output");

  /* "conv1" and "relu1" are layers too: their values move aside. */
  kiln_onnx_export_named (net, path, "conv1", "relu1", &error);
  g_assert_no_error (error);
  assert_io_names (path, "conv1", "relu1");
  gint64 n = kiln_shape_n_elements (kiln_net_get_input_shape (net));
  g_autofree float *input = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    input[i] = (float) g_rand_double_range (rand, -1, 1);
  g_autoptr(KilnNet) back = import_net (path, backend, 2);
  g_autofree float *y = forward (net, input);
  g_autofree float *y_back = forward (back, input);
  g_assert_cmpfloat (kiln_test_normalized_error (y_back, y, kiln_shape_n_elements (kiln_net_get_output_shape (net)),
                                                 NULL), <, 1e-6);

  /* One name for both cannot be a graph. */
  g_assert_false (kiln_onnx_export_named (net, path, "x", "x", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“x”"));
  g_clear_error (&error);

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_autofree char *dir = g_dir_make_tmp ("kiln-export-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "model.onnx", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-dir", "model.onnx", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("ceil", 1, 5, 5);
  KilnLayerSpec l = { 0 };

  g_assert_no_error (error);
  /* Caffe's ceil rounding drops the last window, which starts in the end
   * padding: (5 + 2 − 2)/2 rounds up to 3 + 1 = 4 in ONNX, 3 in Kiln. */
  kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, "pool");
  l.kernel_h = l.kernel_w = 2, l.stride_h = l.stride_w = 2, l.rounding = KILN_ROUND_CEIL;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = 1;
  add (spec, &l, NULL);
  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 1, 1, &error);
  g_assert_no_error (error);

  g_assert_true (g_file_set_contents (path, "previous", -1, NULL));
  g_assert_false (kiln_onnx_export (net, path, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "pool: ONNX computes 4 outputs along the height where Kiln computes 3"));
  g_clear_error (&error);
  /* Nothing was written over the old file. */
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "previous");

  g_autoptr(KilnNet) ok_net = build_all_layers_net (backend, 1);
  g_assert_false (kiln_onnx_export (ok_net, missing, &error));
  g_assert_nonnull (error);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_unlink (path);
  g_rmdir (dir);
}

/* Writes DIR/NAME.onnx for the all-layers net (NAME kiln-export) or a
 * preset with random weights, and Kiln's output on DIR/NAME-input.pb when
 * that exists. */
static int
write_fixture (const char *dir, const char *preset)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  const char *name = preset ? preset : "kiln-export";
  g_autofree char *model_file = g_strconcat (name, ".onnx", NULL);
  g_autofree char *input_file = g_strconcat (name, "-input.pb", NULL);
  g_autofree char *output_file = g_strconcat (name, "-kiln-output.bin", NULL);
  g_autofree char *model_path = g_build_filename (dir, model_file, NULL);
  g_autofree char *input_path = g_build_filename (dir, input_file, NULL);
  g_autofree char *output_path = g_build_filename (dir, output_file, NULL);
  g_autoptr(KilnOnnxTensor) input = NULL;
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(KilnNet) net = NULL;
  g_autofree float *y = NULL;
  int batch = 1;

  if (backend == NULL)
    goto fail;
  if (g_file_test (input_path, G_FILE_TEST_EXISTS))
    {
      if ((input = kiln_onnx_tensor_load (input_path, &error)) == NULL)
        goto fail;
      batch = (int) input->dims[0];
    }
  if (preset == NULL)
    net = build_all_layers_net (backend, batch);
  else
    {
      if ((spec = kiln_net_spec_new_preset (preset, 0, &error)) == NULL ||
          (net = kiln_net_new (spec, backend, batch, 7, &error)) == NULL)
        goto fail;
      randomize_params (net, FIXTURE_SEED);
    }
  if (!kiln_onnx_export (net, model_path, &error))
    goto fail;
  if (input)
    {
      if ((gint64) input->n_elements != kiln_shape_n_elements (kiln_net_get_input_shape (net)))
        {
          g_printerr ("%s does not fit the net's input\n", input_path);
          return 1;
        }
      gint64 n = kiln_shape_n_elements (kiln_net_get_output_shape (net));
      y = forward (net, input->data);
      if (!g_file_set_contents (output_path, (const char *) y, n * (gssize) sizeof (float), &error))
        goto fail;
    }
  return 0;

fail:
  g_printerr ("%s\n", error->message);
  return 1;
}

int
main (int argc, char **argv)
{
  static const char *fixtures[] = { "convnet", "branchnet", "gemmnet", "viewnet", "signalnet", "padnet", "padlayer" };

  if (argc == 3 && g_str_equal (argv[1], "--write-fixture"))
    return write_fixture (argv[2], NULL);
  if (argc == 4 && g_str_equal (argv[1], "--write-preset"))
    return write_fixture (argv[3], argv[2]);

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/onnx-export/round-trip/%s", fixtures[i]);
      g_test_add_data_func (path, fixtures[i], test_round_trip_fixture);
    }
  g_test_add_func ("/onnx-export/round-trip/all-layers", test_round_trip_all_layers);
  g_test_add_func ("/onnx-export/onnxruntime", test_onnxruntime_outputs);
  g_test_add_func ("/onnx-export/io-names", test_io_names);
  g_test_add_func ("/onnx-export/errors", test_errors);
  return g_test_run ();
}
