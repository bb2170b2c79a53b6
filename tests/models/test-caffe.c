/* Caffe import: the fixtures of tests/fixtures/make-caffe-fixtures.py (both
 * dialects, with and without a deploy.prototxt) imported, built as a KilnNet
 * on the CPU backend and run in inference mode give PyTorch's float64
 * reference outputs (normalized error below 1e-5); a mean .binaryproto reads
 * back exactly; hostile models and prototxts fail with a GError. */
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-backend.h"
#include "kiln-caffe.h"
#include "kiln-error.h"
#include "kiln-net.h"
#include "caffe.pb-c.h"
#include "kiln-onnx.h"
#include "test-util.h"

#define BATCH 2
#define N_CLASSES 5

/* A file of tests/fixtures/caffe/, or `name` itself when it is absolute. */
static char *
fixture (const char *name)
{
  if (g_path_is_absolute (name))
    return g_strdup (name);
  return g_test_build_filename (G_TEST_DIST, "fixtures", "caffe", name, NULL);
}

static float *
load_floats (const char *name, gsize n)
{
  g_autofree char *path = fixture (name);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, ==, n * sizeof (float));
  return (float *) contents;
}

/* Imports, runs the fixed input and compares with `reference`. */
static void
check_import (const char *model, const char *prototxt, const char *reference, guint expected_layers)
{
  g_autofree char *model_path = fixture (model);
  g_autofree char *prototxt_path = prototxt ? fixture (prototxt) : NULL;
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_autofree float *input = load_floats ("tiny-input.f32", BATCH * 3 * 12 * 12);
  g_autofree float *expected = load_floats (reference, BATCH * N_CLASSES);
  float output[BATCH * N_CLASSES];
  int c, h, w;

  g_assert_no_error (error);
  kiln_caffe_import (model_path, prototxt_path, &spec, &weights, &error);
  g_assert_no_error (error);
  kiln_net_spec_get_input (spec, &c, &h, &w);
  g_assert_cmpint (c, ==, 3);
  g_assert_cmpint (h, ==, 12);
  g_assert_cmpint (w, ==, 12);
  g_assert_cmpuint (kiln_net_spec_get_n_layers (spec), ==, expected_layers);
  /* Caffe's ceil pooling: conv1 5×5 → pool1 3×3 (floor would give 2×2). */
  int pool1 = kiln_net_spec_find_layer (spec, "pool1");
  g_assert_cmpint (pool1, >=, 0);
  g_assert_cmpint (kiln_net_spec_get_layer (spec, pool1)->rounding, ==, KILN_ROUND_CEIL);
  g_assert_cmpint (kiln_net_spec_get_shape (spec, pool1)->h, ==, 3);
  int conv2 = kiln_net_spec_find_layer (spec, "conv2");
  g_assert_cmpint (kiln_net_spec_get_layer (spec, conv2)->group, ==, 2);

  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, BATCH, 1, &error);
  g_assert_no_error (error);
  kiln_onnx_load_weights (net, weights, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kiln_shape_n_elements (kiln_net_get_output_shape (net)), ==, BATCH * N_CLASSES);
  kiln_net_set_input (net, input);
  kiln_net_forward (net, FALSE, &error);
  g_assert_no_error (error);
  kiln_net_get_output (net, output);

  double max_abs;
  double err = kiln_test_normalized_error (output, expected, BATCH * N_CLASSES, &max_abs);
  g_test_message ("%s%s%s: normalized error %.3g, max abs %.3g", model, prototxt ? " + " : "",
                  prototxt ? prototxt : "", err, max_abs);
  g_assert_cmpfloat (err, <, 1e-5);
}

static void
test_new_dialect (void)
{
  /* conv1 relu1 norm1 pool1 conv2 bn2 (+ scale2) relu2 conv2b sum2 pool2
   * fc3 relu3 drop3 fc4 prob */
  check_import ("tiny-new.caffemodel", NULL, "tiny-new-output.f32", 15);
}

static void
test_v1_with_deploy (void)
{
  check_import ("tiny-v1.caffemodel", "tiny-v1-deploy.prototxt", "tiny-v1-prob.f32", 12);
}

static void
test_v1_training_net (void)
{
  /* No prototxt: the input size is DATA's crop_size and conv1's channels;
   * the loss is left out, so the net ends at the scores. */
  check_import ("tiny-v1.caffemodel", NULL, "tiny-v1-scores.f32", 11);
}

/* A deploy.prototxt in the new dialect, as people write them (comments,
 * fields Kiln ignores, list syntax), over the V1 model's weights. */
static const char deploy_new[] =
  "name: \"tiny\"  # hand-written\n"
  "layer { name: \"data\" type: \"Input\" top: \"data\"\n"
  "        input_param { shape: { dim: [2, 3, 12, 12] } } }\n"
  "layer { name: 'conv1' type: \"Convolution\" bottom: \"data\" top: \"conv1\"\n"
  "  param { lr_mult: 1 decay_mult: 1 } param { lr_mult: 2 decay_mult: 0 }\n"
  "  convolution_param { num_output: 6 kernel_size: 3 stride: 2\n"
  "    weight_filler { type: \"gaussian\" std: 0.01 } bias_filler { type: \"constant\" value: 0 } } }\n"
  "layer { name: \"relu1\" type: \"ReLU\" bottom: \"conv1\" top: \"conv1\" }\n"
  "layer { name: \"norm1\" type: \"LRN\" bottom: \"conv1\" top: \"norm1\"\n"
  "  lrn_param { local_size: 3 alpha: 0.1 beta: 0.75 } }\n"
  "layer { name: \"pool1\" type: \"Pooling\" bottom: \"norm1\" top: \"pool1\"\n"
  "  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n"
  "layer { name: \"conv2\" type: \"Convolution\" bottom: \"pool1\" top: \"conv2\"\n"
  "  convolution_param { num_output: 4 pad: 1 kernel_size: 3 group: 2 } }\n"
  "layer { name: \"relu2\" type: \"ReLU\" bottom: \"conv2\" top: \"conv2\" }\n"
  "layer { name: \"pool2\" type: \"Pooling\" bottom: \"conv2\" top: \"pool2\"\n"
  "  pooling_param { pool: AVE kernel_size: 2 stride: 2 } }\n"
  "layer { name: \"fc3\" type: \"InnerProduct\" bottom: \"pool2\" top: \"fc3\"\n"
  "  inner_product_param { num_output: 8 } }\n"
  "layer { name: \"relu3\" type: \"ReLU\" bottom: \"fc3\" top: \"fc3\" }\n"
  "layer { name: \"drop3\" type: \"Dropout\" bottom: \"fc3\" top: \"fc3\"\n"
  "  dropout_param { dropout_ratio: 0.5 } }\n"
  "layer { name: \"fc4\" type: \"InnerProduct\" bottom: \"fc3\" top: \"fc4\"\n"
  "  inner_product_param { num_output: 5 } }\n"
  "layer { name: \"prob\" type: \"Softmax\" bottom: \"fc4\" top: \"prob\" }\n";

static void
test_new_deploy_over_v1 (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-caffe-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "deploy.prototxt", NULL);
  g_autofree char *model = fixture ("tiny-v1.caffemodel");

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, deploy_new, -1, NULL));
  check_import (model, path, "tiny-v1-prob.f32", 12);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_mean (void)
{
  g_autofree char *path = fixture ("mean.binaryproto");
  g_autoptr(GError) error = NULL;
  int c = 0, h = 0, w = 0;
  g_autofree float *mean = kiln_caffe_load_mean (path, &c, &h, &w, &error);

  g_assert_no_error (error);
  g_assert_cmpint (c, ==, 3);
  g_assert_cmpint (h, ==, 4);
  g_assert_cmpint (w, ==, 5);
  for (int k = 0; k < c; k++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        g_assert_cmpfloat (mean[(k * h + y) * w + x], ==, 100.0f * k + y + x / 16.0f);

  /* A model is not a mean image. */
  g_autofree char *model = fixture ("tiny-new.caffemodel");
  g_assert_null (kiln_caffe_load_mean (model, &c, &h, &w, &error));
  g_assert_nonnull (error);
}

static void
expect_error (const guint8 *model, gsize length, const char *prototxt, int code, const char *needle)
{
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (kiln_caffe_import_from_data (model, length, "hostile.caffemodel", prototxt,
                                               prototxt ? strlen (prototxt) : 0, "deploy.prototxt",
                                               &spec, &weights, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (code >= 0)
    g_assert_error (error, KILN_ERROR, code);
  if (needle)
    g_assert_nonnull (strstr (error->message, needle));
  g_assert_null (spec);
}

static void
test_hostile (void)
{
  g_autofree char *path = fixture ("tiny-new.caffemodel");
  g_autofree guint8 *model = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, (char **) &model, &length, NULL));

  /* Every truncation is refused with an error, except a cut exactly between
   * two layers, which leaves a shorter valid model. */
  guint n_refused = 0, n_cuts = 0;
  for (gsize cut = 1; cut < length; cut += 7, n_cuts++)
    {
      g_autoptr(KilnNetSpec) spec = NULL;
      g_autoptr(GHashTable) weights = NULL;
      g_autoptr(GError) error = NULL;
      if (kiln_caffe_import_from_data (model, cut, "cut.caffemodel", NULL, 0, NULL, &spec, &weights, &error))
        g_assert_nonnull (spec);
      else
        {
          g_assert_nonnull (error);
          n_refused++;
        }
    }
  g_test_message ("%u of %u truncations refused", n_refused, n_cuts);
  g_assert_cmpuint (n_refused, >=, n_cuts - 16);

  /* A length that claims more than the file holds. */
  const guint8 huge[] = { 0xa2, 0x06, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x01, 'x' };
  expect_error (huge, sizeof huge, NULL, KILN_ERROR_CORRUPT, "claims");
  /* A wire type protobuf does not have. */
  const guint8 bad_wire[] = { 0x0f, 0x00 };
  expect_error (bad_wire, sizeof bad_wire, NULL, KILN_ERROR_CORRUPT, NULL);

  /* Prototxts: unclosed block, a string where a number belongs, an unknown
   * enum value, nesting past the limit; all name the line. */
  expect_error (model, length, "layer {\n  name: \"x\"\n", KILN_ERROR_CORRUPT, "line 3");
  expect_error (model, length, "input_dim: \"two\"\n", KILN_ERROR_CORRUPT, "line 1");
  expect_error (model, length, "layer { pooling_param { pool: MEDIAN } }", KILN_ERROR_CORRUPT, "MEDIAN");
  g_autoptr(GString) deep = g_string_new (NULL);
  for (int i = 0; i < 100; i++)
    g_string_append (deep, "a { ");
  expect_error (model, length, deep->str, KILN_ERROR_CORRUPT, "deep");

  /* Layers Kiln cannot run, and blobs that do not fit. */
  expect_error (model, length,
                "input: \"data\" input_dim: 1 input_dim: 3 input_dim: 12 input_dim: 12\n"
                "layer { name: \"conv1\" type: \"Deconvolution\" bottom: \"data\" top: \"c\" }",
                KILN_ERROR_UNSUPPORTED, "Deconvolution");
  expect_error (model, length,
                "input: \"data\" input_dim: 1 input_dim: 3 input_dim: 12 input_dim: 12\n"
                "layer { name: \"conv1\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
                "  convolution_param { num_output: 7 kernel_size: 3 } }",
                KILN_ERROR_SHAPE, "conv1");
  expect_error (model, length,
                "input: \"data\" input_dim: 1 input_dim: 3 input_dim: 12 input_dim: 12\n"
                "layer { name: \"relu\" type: \"ReLU\" bottom: \"nowhere\" top: \"r\" }",
                KILN_ERROR_CORRUPT, "nowhere");
  /* A Scale that is not a BatchNorm's second half. */
  expect_error (model, length,
                "input: \"data\" input_dim: 1 input_dim: 3 input_dim: 12 input_dim: 12\n"
                "layer { name: \"scale2\" type: \"Scale\" bottom: \"data\" top: \"s\" }",
                KILN_ERROR_UNSUPPORTED, "BatchNorm");
  /* The input size must fit the weights: 4 channels for 3-channel filters. */
  expect_error (model, length,
                "input: \"data\" input_dim: 1 input_dim: 4 input_dim: 12 input_dim: 12\n"
                "layer { name: \"conv1\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
                "  convolution_param { num_output: 6 kernel_size: 3 stride: 2 } }",
                KILN_ERROR_SHAPE, "conv1");
}

/* A one-convolution model whose weight blob claims `dims` but holds no
 * values, built with the C the build generates from Kiln's caffe.proto. */
static guint8 *
claiming_model (const int64_t *dims, gsize n_dims, gsize *length)
{
  Caffe__NetParameter net = CAFFE__NET_PARAMETER__INIT;
  Caffe__LayerParameter layer = CAFFE__LAYER_PARAMETER__INIT;
  Caffe__ConvolutionParameter conv = CAFFE__CONVOLUTION_PARAMETER__INIT;
  Caffe__BlobProto blob = CAFFE__BLOB_PROTO__INIT;
  Caffe__BlobShape shape = CAFFE__BLOB_SHAPE__INIT;
  Caffe__LayerParameter *layers[] = { &layer };
  Caffe__BlobProto *blobs[] = { &blob };
  char *inputs[] = { (char *) "data" }, *tops[] = { (char *) "c" };
  int32_t input_dims[] = { 1, 3, 4, 4 };
  uint32_t kernel[] = { 1 };
  guint8 *data;

  shape.n_dim = n_dims;
  shape.dim = (int64_t *) dims;
  blob.shape = &shape;
  conv.has_num_output = TRUE;
  conv.num_output = 1u << 20;
  conv.n_kernel_size = 1;
  conv.kernel_size = kernel;
  layer.name = (char *) "conv1";
  layer.type = (char *) "Convolution";
  layer.n_bottom = 1;
  layer.bottom = inputs;
  layer.n_top = 1;
  layer.top = tops;
  layer.convolution_param = &conv;
  layer.n_blobs = 1;
  layer.blobs = blobs;
  net.n_input = 1;
  net.input = inputs;
  net.n_input_dim = 4;
  net.input_dim = input_dims;
  net.n_layer = 1;
  net.layer = layers;
  *length = caffe__net_parameter__get_packed_size (&net);
  data = g_malloc (*length);
  caffe__net_parameter__pack (&net, data);
  return data;
}

static void
test_claimed_sizes (void)
{
  /* 2^20 × 3 weights (12 MiB) claimed, none present: refused before any
   * allocation; a shape whose product overflows likewise. */
  const int64_t big[] = { 1 << 20, 3, 1, 1 };
  const int64_t overflow[] = { G_GINT64_CONSTANT (1) << 40, G_GINT64_CONSTANT (1) << 40, 1 << 20, 1 };
  gsize length;
  g_autofree guint8 *model = claiming_model (big, G_N_ELEMENTS (big), &length);
  g_autofree guint8 *model2 = NULL;

  expect_error (model, length, NULL, KILN_ERROR_CORRUPT, "claims 3145728 values but holds 0");
  model2 = claiming_model (overflow, G_N_ELEMENTS (overflow), &length);
  expect_error (model2, length, NULL, KILN_ERROR_CORRUPT, "overflows");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/caffe/new-dialect", test_new_dialect);
  g_test_add_func ("/caffe/v1-with-deploy", test_v1_with_deploy);
  g_test_add_func ("/caffe/v1-training-net", test_v1_training_net);
  g_test_add_func ("/caffe/new-deploy-over-v1", test_new_deploy_over_v1);
  g_test_add_func ("/caffe/mean", test_mean);
  g_test_add_func ("/caffe/hostile", test_hostile);
  g_test_add_func ("/caffe/claimed-sizes", test_claimed_sizes);
  return g_test_run ();
}
