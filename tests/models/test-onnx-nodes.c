/* ONNX backend node tests (Debian's libonnx-testdata, data/node/) on Kiln's
 * engine: each single-node model goes through Kiln's importer into a
 * KilnNetSpec, is built as a KilnNet on the CPU backend and run in inference
 * mode on every data set; each output must match the expected one with a
 * normalized error ‖y − ref‖ / ‖ref‖ of at most 1e-4.
 *
 * The node tests pass weights (Conv W, Gemm B/C, BatchNorm statistics, the
 * Dropout ratio) as graph inputs; a Kiln net has one input, so every graph
 * input after the first becomes an initializer holding the data set's value
 * before import. GlobalAveragePool's only version is opset 1, below what the
 * importer reads (7); its test is imported as opset 7, where the op is the
 * same. Nothing else about a model is changed.
 *
 * A test that cannot run is skipped with the importer's or engine's reason
 * (an unsupported op, attribute, input rank or type); the last case prints a
 * table of what ran, passed and was skipped, and why. */
#include <math.h>
#include <string.h>

#include "kiln-backend.h"
#include "kiln-error.h"
#include "kiln-net.h"
#include "kiln-onnx-node-test.h"
#include "kiln-onnx.h"
#include "onnx.pb-c.h"
#include "test-util.h"

#define MAX_ERROR 1e-4

static const char *const families[] = {
  "test_conv_*", "test_maxpool_*", "test_averagepool_*", "test_lrn*", "test_gemm_*", "test_relu",
  "test_softmax_*", "test_batchnorm_*", "test_dropout_*", "test_flatten_*", "test_concat_*",
  "test_add*", "test_globalaveragepool*", "test_constant_pad", "test_edge_pad", "test_reflect_pad", NULL,
};

typedef struct {
  char *name;
  const char *status;   /* "passed", "failed", "skipped" */
  char *detail;
} Row;

static GPtrArray *rows;

static void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->name);
  g_free (row->detail);
  g_free (row);
}

static void
record (const char *name, const char *status, char *detail)
{
  Row *row = g_new0 (Row, 1);

  row->name = g_strdup (name);
  row->status = status;
  row->detail = detail;
  g_ptr_array_add (rows, row);
}

static void
skip (const char *name, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
skip (const char *name, const char *format, ...)
{
  va_list args;
  char *reason;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_skip (reason);
  record (name, "skipped", reason);
}

/* A TensorProto holding `tensor` under `name`; its arrays point into it. */
static void
tensor_proto_init (Onnx__TensorProto *proto, const KilnOnnxTensor *tensor, const char *name, int64_t *dims)
{
  onnx__tensor_proto__init (proto);
  proto->name = (char *) name;
  proto->n_dims = tensor->n_dims;
  for (int d = 0; d < tensor->n_dims; d++)
    dims[d] = tensor->dims[d];
  proto->dims = dims;
  proto->has_data_type = TRUE;
  proto->data_type = tensor->data_type;
  if (tensor->data_type == KILN_ONNX_TYPE_INT64)
    {
      proto->n_int64_data = tensor->n_elements;
      proto->int64_data = tensor->int64_data;
    }
  else
    {
      /* The integer and boolean types Kiln reads convert exactly. */
      proto->data_type = KILN_ONNX_TYPE_FLOAT;
      proto->n_float_data = tensor->n_elements;
      proto->float_data = tensor->data;
    }
}

/* The test's model with graph inputs 1… as initializers holding `inputs`. */
static KilnOnnxModel *
load_with_constant_inputs (const char *test_dir, const char *name, GPtrArray *inputs, GError **error)
{
  g_autofree char *path = g_build_filename (test_dir, "model.onnx", NULL);
  g_autofree char *bytes = NULL;
  gsize length;
  Onnx__ModelProto *proto;
  KilnOnnxModel *model = NULL;

  if (!g_file_get_contents (path, &bytes, &length, error))
    return NULL;
  proto = onnx__model_proto__unpack (NULL, length, (const guint8 *) bytes);
  g_assert_nonnull (proto);
  g_assert_nonnull (proto->graph);
  g_assert_cmpuint (proto->graph->n_input, >=, inputs->len);

  Onnx__GraphProto *graph = proto->graph;
  gsize n_old = graph->n_initializer;
  Onnx__TensorProto **old = graph->initializer;
  guint n_new = inputs->len ? inputs->len - 1 : 0;
  g_autofree Onnx__TensorProto *protos = g_new0 (Onnx__TensorProto, MAX (n_new, 1));
  g_autofree int64_t *dims = g_new0 (int64_t, (gsize) MAX (n_new, 1) * KILN_ONNX_MAX_DIMS);
  g_autofree Onnx__TensorProto **all = g_new0 (Onnx__TensorProto *, n_old + n_new + 1);

  for (gsize i = 0; i < n_old; i++)
    all[i] = old[i];
  for (guint i = 0; i < n_new; i++)
    {
      tensor_proto_init (&protos[i], g_ptr_array_index (inputs, i + 1), graph->input[i + 1]->name,
                         dims + (gsize) i * KILN_ONNX_MAX_DIMS);
      all[n_old + i] = &protos[i];
    }
  graph->initializer = all;
  graph->n_initializer = n_old + n_new;

  /* GlobalAveragePool-1 is the op's only version. */
  int64_t old_opset = -1;
  Onnx__OperatorSetIdProto *opset = proto->n_opset_import ? proto->opset_import[0] : NULL;
  if (graph->n_node == 1 && g_str_equal (graph->node[0]->op_type, "GlobalAveragePool") &&
      opset && opset->version < 7)
    {
      old_opset = opset->version;
      opset->version = 7;
    }

  gsize packed_length = onnx__model_proto__get_packed_size (proto);
  g_autofree guint8 *packed = g_malloc (MAX (packed_length, 1));
  onnx__model_proto__pack (proto, packed);

  graph->initializer = old;
  graph->n_initializer = n_old;
  if (old_opset >= 0)
    opset->version = old_opset;
  onnx__model_proto__free_unpacked (proto, NULL);

  model = kiln_onnx_model_load_from_data (packed, packed_length, name, error);
  return model;
}

static void
run_node_test (gconstpointer data)
{
  const char *name = data;
  g_autofree char *dir = kiln_onnx_node_test_get_default_dir ();
  g_autofree char *test_dir = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnOnnxNodeTest) test = kiln_onnx_node_test_load (test_dir, &error);
  g_autoptr(KilnOnnxModel) model = NULL;
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(KilnBackend) backend = NULL;
  g_autoptr(KilnNet) net = NULL;
  GPtrArray *inputs;

  g_assert_no_error (error);
  g_assert_cmpuint (kiln_onnx_node_test_get_n_data_sets (test), >=, 1);

  if (kiln_onnx_node_test_get_node (test) == NULL)
    {
      skip (name, "the op is spelled out as a function body of %u nodes (Kiln imports the op itself)",
            kiln_onnx_model_get_n_nodes (kiln_onnx_node_test_get_model (test)));
      return;
    }

  /* Add and Concat of two graph inputs would need two net inputs. */
  const char *op = kiln_onnx_node_test_get_op_type (test);
  KilnOnnxModel *original = kiln_onnx_node_test_get_model (test);
  if ((g_str_equal (op, "Add") || g_str_equal (op, "Concat")) && kiln_onnx_model_get_n_inputs (original) > 1)
    {
      skip (name, "%s of %u graph inputs: a Kiln net has one input (Kiln runs %s between layers of a net)",
            op, kiln_onnx_model_get_n_inputs (original), op);
      return;
    }

  /* The weights are the first data set's; the loop below checks that the
   * other data sets use the same ones. */
  inputs = kiln_onnx_node_test_get_inputs (test, 0);
  g_assert_cmpuint (inputs->len, >=, 1);
  model = load_with_constant_inputs (test_dir, name, inputs, &error);
  g_assert_no_error (error);

  if (!kiln_onnx_import_spec_from_model (model, &spec, &weights, &error))
    {
      /* A model Kiln cannot express; anything else is an importer bug. */
      if (!g_error_matches (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED) &&
          !g_error_matches (error, KILN_ERROR, KILN_ERROR_SHAPE))
        g_assert_no_error (error);
      skip (name, "%s", error->message);
      return;
    }

  const KilnOnnxTensor *x = g_ptr_array_index (inputs, 0);
  backend = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  net = kiln_net_new (spec, backend, (int) x->dims[0], 1, &error);
  if (net == NULL)
    {
      if (!g_error_matches (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED))
        g_assert_no_error (error);
      skip (name, "the CPU backend: %s", error->message);
      return;
    }
  kiln_onnx_load_weights (net, weights, &error);
  g_assert_no_error (error);

  double worst = 0, worst_abs = 0;
  for (guint s = 0; s < kiln_onnx_node_test_get_n_data_sets (test); s++)
    {
      GPtrArray *set_inputs = kiln_onnx_node_test_get_inputs (test, s);
      GPtrArray *expected = kiln_onnx_node_test_get_expected_outputs (test, s);
      const KilnOnnxTensor *ref = g_ptr_array_index (expected, 0);
      const KilnOnnxTensor *in = g_ptr_array_index (set_inputs, 0);

      /* Weights are fixed at import; a set with other weights needs its own model. */
      for (guint i = 1; i < set_inputs->len; i++)
        {
          const KilnOnnxTensor *a = g_ptr_array_index (set_inputs, i);
          const KilnOnnxTensor *b = g_ptr_array_index (inputs, i);
          g_assert_cmpmem (a->data, a->n_elements * sizeof (float), b->data, b->n_elements * sizeof (float));
        }
      g_assert_cmpuint (expected->len, ==, 1);
      g_assert_cmpint (kiln_shape_n_elements (kiln_net_get_input_shape (net)), ==, (gint64) in->n_elements);
      g_assert_cmpint (kiln_shape_n_elements (kiln_net_get_output_shape (net)), ==, (gint64) ref->n_elements);

      g_autofree float *y = g_new0 (float, ref->n_elements);
      kiln_net_set_input (net, in->data);
      kiln_net_forward (net, FALSE, &error);
      g_assert_no_error (error);
      kiln_net_get_output (net, y);

      double max_abs;
      double err = kiln_test_normalized_error (y, ref->data, ref->n_elements, &max_abs);
      worst = MAX (worst, err);
      worst_abs = MAX (worst_abs, max_abs);
    }

  if (worst <= MAX_ERROR)
    record (name, "passed", g_strdup_printf ("normalized error %.2g, max abs %.2g", worst, worst_abs));
  else
    record (name, "failed", g_strdup_printf ("normalized error %.3g > %g (max abs %.3g)", worst, MAX_ERROR,
                                             worst_abs));
  g_test_message ("%s: %s normalized error %.3g, max abs error %.3g", name,
                  kiln_onnx_node_test_get_op_type (test), worst, worst_abs);
  g_assert_cmpfloat (worst, <=, MAX_ERROR);
}

static void
print_summary (void)
{
  guint n_passed = 0, n_failed = 0, n_skipped = 0;

  g_test_message ("ONNX node tests on the CPU backend (normalized error ≤ %g):", MAX_ERROR);
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *row = g_ptr_array_index (rows, i);
      g_test_message ("  %-52s %-8s %s", row->name, row->status, row->detail);
      n_passed += g_str_equal (row->status, "passed");
      n_failed += g_str_equal (row->status, "failed");
      n_skipped += g_str_equal (row->status, "skipped");
    }
  g_test_message ("%u passed, %u failed, %u skipped of %u", n_passed, n_failed, n_skipped, rows->len);
}

static void
no_node_tests (gconstpointer data)
{
  g_test_skip (data);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  rows = g_ptr_array_new_with_free_func (row_free);

  dir = kiln_onnx_node_test_get_default_dir ();
  names = kiln_onnx_node_test_list (dir, families, &error);
  if (names == NULL)
    g_test_add_data_func ("/onnx-nodes/none", error->message, no_node_tests);
  for (guint i = 0; names && i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = g_strdup_printf ("/onnx-nodes/%s", name);
      g_test_add_data_func (path, name, run_node_test);
    }
  g_test_add_func ("/onnx-nodes/~summary", print_summary);

  status = g_test_run ();
  g_ptr_array_unref (rows);
  return status;
}
