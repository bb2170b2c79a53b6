/* Imported ONNX models run on Kiln's engine give PyTorch's outputs: each
 * fixture of tests/fixtures/make-onnx-fixtures.py, at every opset it was
 * exported at, is imported, built as a KilnNet on the CPU backend, loaded
 * with its weights and run in inference mode on the fixed input; the output
 * must match the reference PyTorch computed (normalized error below 1e-5).
 * The explicit-Pad fixtures of make-onnx-pad-fixtures.py (Pads folded into
 * the next window's pads) must match onnxruntime's outputs the same way, and
 * make-onnx-pad-layer-fixtures.py's (Pad layers) PyTorch's. */
#include <math.h>
#include <string.h>

#include "kiln-backend.h"
#include "kiln-error.h"
#include "kiln-net.h"
#include "kiln-onnx.h"
#include "test-util.h"

typedef struct {
  const char *name;
  const char *reference;   /* what computed the expected output */
  int opsets[4];           /* 0-terminated */
} ForwardNet;

static const ForwardNet nets[] = {
  { "convnet", "PyTorch", { 7, 11, 13, 17 } },
  { "branchnet", "PyTorch", { 7, 11, 13, 17 } },
  { "gemmnet", "PyTorch", { 7, 11, 13, 17 } },
  { "viewnet", "PyTorch", { 7, 11, 13, 17 } },
  { "viewnet-dynamic", "PyTorch", { 7, 11, 13, 17 } },
  { "signalnet", "PyTorch", { 7, 11, 13, 17 } },
  /* Opset 9 writes Pad's pads as an attribute, 13 as a constant subgraph. */
  { "padnet", "onnxruntime", { 9, 13 } },
  /* Pads no window folds: Pad layers in constant (1.0), edge and reflect
   * mode, the last one the graph output. */
  { "padlayer", "PyTorch", { 9, 13 } },
};

static KilnOnnxTensor *
load_reference (const char *net, const char *what)
{
  g_autofree char *name = g_strdup_printf ("%s-%s.pb", net, what);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", name, NULL);
  g_autoptr(GError) error = NULL;
  KilnOnnxTensor *tensor = kiln_onnx_tensor_load (path, &error);

  g_assert_no_error (error);
  return tensor;
}

static void
check_net (gconstpointer data)
{
  const ForwardNet *fn = data;
  const char *net_name = fn->name;
  g_autoptr(KilnOnnxTensor) input = load_reference (net_name, "input");
  g_autoptr(KilnOnnxTensor) expected = load_reference (net_name, "output");
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);

  g_assert_no_error (error);
  for (guint o = 0; o < G_N_ELEMENTS (fn->opsets) && fn->opsets[o]; o++)
    {
      g_autofree char *file = g_strdup_printf ("%s-opset%d.onnx", net_name, fn->opsets[o]);
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", file, NULL);
      g_autoptr(KilnNetSpec) spec = NULL;
      g_autoptr(GHashTable) weights = NULL;
      KilnNet *net;

      kiln_onnx_import_spec (path, &spec, &weights, &error);
      g_assert_no_error (error);
      net = kiln_net_new (spec, backend, (int) input->dims[0], 1, &error);
      g_assert_no_error (error);
      kiln_onnx_load_weights (net, weights, &error);
      g_assert_no_error (error);

      const KilnShape *out_shape = kiln_net_get_output_shape (net);
      g_assert_cmpint (kiln_shape_n_elements (out_shape), ==, (gint64) expected->n_elements);
      g_assert_cmpint (kiln_shape_n_elements (kiln_net_get_input_shape (net)), ==, (gint64) input->n_elements);

      g_autofree float *output = g_new0 (float, expected->n_elements);
      kiln_net_set_input (net, input->data);
      kiln_net_forward (net, FALSE, &error);
      g_assert_no_error (error);
      kiln_net_get_output (net, output);

      double err = kiln_test_normalized_error (output, expected->data, expected->n_elements, NULL);
      g_test_message ("%s: normalized error %.3g against %s", file, err, fn->reference);
      g_assert_cmpfloat (err, <, 1e-5);
      kiln_net_free (net);
    }
}

static void
forward_fixture (const char *file, KilnBackend *backend, const float *input, int batch, float *output, gsize n)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", file, NULL);
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;

  kiln_onnx_import_spec (path, &spec, &weights, &error);
  g_assert_no_error (error);
  KilnNet *net = kiln_net_new (spec, backend, batch, 1, &error);
  g_assert_no_error (error);
  kiln_onnx_load_weights (net, weights, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kiln_shape_n_elements (kiln_net_get_output_shape (net)), ==, (gint64) n);
  kiln_net_set_input (net, input);
  kiln_net_forward (net, FALSE, &error);
  g_assert_no_error (error);
  kiln_net_get_output (net, output);
  kiln_net_free (net);
}

/* Transpose then Gemm with transA = 1 is the plain Gemm: Kiln's output
 * matches the reference the fixture script computed with numpy (which
 * onnxruntime reproduces), and the transpose-free twin exactly. */
static void
test_transposed_gemm (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_autoptr(KilnOnnxTensor) input = load_reference ("hand-transpose-gemm", "input");
  g_autoptr(KilnOnnxTensor) expected = load_reference ("hand-transpose-gemm", "output");
  int batch = (int) input->dims[0];
  g_autofree float *plain = g_new (float, expected->n_elements);
  g_autofree float *transposed = g_new (float, expected->n_elements);

  g_assert_no_error (error);
  forward_fixture ("hand-transpose-gemm.onnx", backend, input->data, batch, transposed, expected->n_elements);
  double err = kiln_test_normalized_error (transposed, expected->data, expected->n_elements, NULL);
  g_test_message ("hand-transpose-gemm.onnx: normalized error %.3g", err);
  g_assert_cmpfloat (err, <, 1e-5);
  forward_fixture ("hand-plain-gemm.onnx", backend, input->data, batch, plain, expected->n_elements);
  g_assert_cmpmem (plain, expected->n_elements * sizeof (float), transposed, expected->n_elements * sizeof (float));
}

/* Pads folded into the next window's pads, against onnxruntime: −inf before
 * a max pooling, zeros before an average pooling that counts its own pads
 * and before a convolution with asymmetric pads of its own; a 1-D signal. */
static void
test_folded_pads (void)
{
  const char *const names[] = { "hand-pads", "hand-pad-conv1d" };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *file = g_strconcat (names[i], ".onnx", NULL);
      g_autoptr(KilnOnnxTensor) input = load_reference (names[i], "input");
      g_autoptr(KilnOnnxTensor) expected = load_reference (names[i], "output");
      g_autofree float *output = g_new (float, expected->n_elements);

      forward_fixture (file, backend, input->data, (int) input->dims[0], output, expected->n_elements);
      double err = kiln_test_normalized_error (output, expected->data, expected->n_elements, NULL);
      g_test_message ("%s: normalized error %.3g against onnxruntime", file, err);
      g_assert_cmpfloat (err, <, 1e-5);
    }
}

static void
test_missing_weights (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", "convnet-opset13.onnx", NULL);
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  KilnNet *net;

  g_assert_no_error (error);
  kiln_onnx_import_spec (path, &spec, &weights, &error);
  g_assert_no_error (error);
  net = kiln_net_new (spec, backend, 1, 1, &error);
  g_assert_no_error (error);

  g_assert_true (g_hash_table_remove (weights, "/bn/BatchNormalization.var"));
  g_assert_false (kiln_onnx_load_weights (net, weights, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/bn/BatchNormalization.var"));
  kiln_net_free (net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (nets); i++)
    {
      g_autofree char *name = g_strdup_printf ("/onnx-forward/%s", nets[i].name);
      g_test_add_data_func (name, &nets[i], check_net);
    }
  g_test_add_func ("/onnx-forward/transposed-gemm", test_transposed_gemm);
  g_test_add_func ("/onnx-forward/folded-pads", test_folded_pads);
  g_test_add_func ("/onnx-forward/missing-weights", test_missing_weights);

  return g_test_run ();
}
