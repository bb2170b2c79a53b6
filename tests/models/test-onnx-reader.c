/* The ONNX reader on the upstream node tests (Debian's libonnx-testdata)
 * and on hostile files built here byte by byte: every listed node test
 * parses, its tensors load with the declared shapes and decode to the right
 * values; damaged input gives a KILN_ERROR, never a crash or a large
 * allocation. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "kiln-error.h"
#include "kiln-onnx.h"
#include "kiln-onnx-node-test.h"

/* The node tests the engine's conformance test will run (issue 3), with the
 * op each folder tests. */
static const struct {
  const char *pattern;
  const char *op_type;
} node_families[] = {
  { "test_conv_*", "Conv" },
  { "test_maxpool_*", "MaxPool" },
  { "test_averagepool_*", "AveragePool" },
  { "test_lrn*", "LRN" },
  { "test_gemm_*", "Gemm" },
  { "test_relu", "Relu" },
  { "test_softmax_*", "Softmax" },
  { "test_batchnorm_*", "BatchNormalization" },
  { "test_dropout_*", "Dropout" },
  { "test_flatten_*", "Flatten" },
  { "test_concat_*", "Concat" },
  { "test_add*", "Add" },
  { "test_globalaveragepool*", "GlobalAveragePool" },
};

static char *
node_test_dir (const char *name)
{
  g_autofree char *dir = kiln_onnx_node_test_get_default_dir ();
  return g_build_filename (dir, name, NULL);
}

static gboolean
have_node_tests (void)
{
  g_autofree char *dir = kiln_onnx_node_test_get_default_dir ();

  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  g_autofree char *reason = g_strdup_printf ("%s is missing: install libonnx-testdata", dir);
  g_test_skip (reason);
  return FALSE;
}

static KilnOnnxNodeTest *
load_node_test (const char *name)
{
  g_autofree char *dir = node_test_dir (name);
  g_autoptr(GError) error = NULL;
  KilnOnnxNodeTest *test = kiln_onnx_node_test_load (dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (test);
  return test;
}

static void
test_node_tests_all_load (void)
{
  g_autofree char *dir = NULL;
  guint total = 0;

  if (!have_node_tests ())
    return;
  dir = kiln_onnx_node_test_get_default_dir ();

  for (guint f = 0; f < G_N_ELEMENTS (node_families); f++)
    {
      const char *patterns[] = { node_families[f].pattern, NULL };
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) names = kiln_onnx_node_test_list (dir, patterns, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (names->len, >, 0);
      for (guint i = 0; i < names->len; i++)
        {
          const char *name = names->pdata[i];
          g_autoptr(KilnOnnxNodeTest) test = load_node_test (name);
          KilnOnnxModel *model = kiln_onnx_node_test_get_model (test);

          g_test_message ("%s: %u nodes, opset %" G_GINT64_FORMAT, name,
                          kiln_onnx_model_get_n_nodes (model), kiln_onnx_model_get_opset (model));
          g_assert_cmpstr (kiln_onnx_node_test_get_name (test), ==, name);
          g_assert_cmpint (kiln_onnx_model_get_opset (model), >=, 1);
          if (g_str_has_suffix (name, "_expanded"))
            {
              /* A function body: several nodes, no single op. */
              g_assert_cmpuint (kiln_onnx_model_get_n_nodes (model), >, 1);
              g_assert_null (kiln_onnx_node_test_get_node (test));
            }
          else
            g_assert_cmpstr (kiln_onnx_node_test_get_op_type (test), ==, node_families[f].op_type);

          /* The loader checked shapes against the declarations; check
           * again here, independently, that data and dims agree. */
          g_assert_cmpuint (kiln_onnx_node_test_get_n_data_sets (test), >=, 1);
          for (guint s = 0; s < kiln_onnx_node_test_get_n_data_sets (test); s++)
            {
              GPtrArray *sets[2] = {
                kiln_onnx_node_test_get_inputs (test, s),
                kiln_onnx_node_test_get_expected_outputs (test, s),
              };
              g_assert_cmpuint (sets[1]->len, ==, kiln_onnx_model_get_n_outputs (model));
              for (guint k = 0; k < 2; k++)
                for (guint t = 0; t < sets[k]->len; t++)
                  {
                    const KilnOnnxTensor *tensor = sets[k]->pdata[t];
                    KilnOnnxValueInfo info;
                    gsize n = 1;

                    for (int d = 0; d < tensor->n_dims; d++)
                      n *= tensor->dims[d];
                    g_assert_cmpuint (tensor->n_elements, ==, n);
                    if (k == 1)
                      kiln_onnx_model_get_output (model, t, &info);
                    else
                      kiln_onnx_model_get_input (model, t, &info);
                    g_assert_cmpint (info.n_dims, ==, tensor->n_dims);
                    for (int d = 0; d < info.n_dims; d++)
                      if (info.dims[d] >= 0)
                        g_assert_cmpint (info.dims[d], ==, tensor->dims[d]);
                    g_assert_cmpint (info.elem_type, ==, tensor->data_type);
                  }
            }
          total++;
        }
    }
  /* libonnx-testdata 1.12 ships 96 of them; fewer means some went missing. */
  g_test_message ("%u node tests loaded", total);
  g_assert_cmpuint (total, >=, 96);
}

/* Values prove the decoding: relu(x) and x + y from the inputs must give the
 * expected outputs that ONNX's reference computed. */
static void
test_node_values_relu_add (void)
{
  if (!have_node_tests ())
    return;

  g_autoptr(KilnOnnxNodeTest) relu = load_node_test ("test_relu");
  const KilnOnnxTensor *x = g_ptr_array_index (kiln_onnx_node_test_get_inputs (relu, 0), 0);
  const KilnOnnxTensor *y = g_ptr_array_index (kiln_onnx_node_test_get_expected_outputs (relu, 0), 0);
  guint negatives = 0;

  g_assert_cmpint (x->data_type, ==, KILN_ONNX_TYPE_FLOAT);
  g_assert_cmpuint (x->n_elements, ==, 60);
  for (gsize i = 0; i < x->n_elements; i++)
    {
      g_assert_cmpfloat (y->data[i], ==, MAX (x->data[i], 0.f));
      negatives += x->data[i] < 0;
    }
  g_assert_cmpuint (negatives, >, 0);

  const char *adds[] = { "test_add", "test_add_uint8" };
  for (guint a = 0; a < G_N_ELEMENTS (adds); a++)
    {
      g_autoptr(KilnOnnxNodeTest) add = load_node_test (adds[a]);
      GPtrArray *in = kiln_onnx_node_test_get_inputs (add, 0);
      const KilnOnnxTensor *a0 = in->pdata[0], *a1 = in->pdata[1];
      const KilnOnnxTensor *sum = g_ptr_array_index (kiln_onnx_node_test_get_expected_outputs (add, 0), 0);

      for (gsize i = 0; i < sum->n_elements; i++)
        {
          float want = a0->data[i] + a1->data[i];
          if (sum->data_type == KILN_ONNX_TYPE_UINT8)
            want = (float) ((guint) want % 256);
          g_assert_cmpfloat_with_epsilon (sum->data[i], want, 1e-6);
        }
    }
}

/* Gemm with every attribute: y = 0.25 · Aᵀ Bᵀ + 0.35 · C. */
static void
test_node_values_gemm (void)
{
  if (!have_node_tests ())
    return;

  g_autoptr(KilnOnnxNodeTest) test = load_node_test ("test_gemm_all_attributes");
  const KilnOnnxNode *node = kiln_onnx_node_test_get_node (test);
  GPtrArray *in = kiln_onnx_node_test_get_inputs (test, 0);
  const KilnOnnxTensor *a = in->pdata[0], *b = in->pdata[1], *c = in->pdata[2];
  const KilnOnnxTensor *y = g_ptr_array_index (kiln_onnx_node_test_get_expected_outputs (test, 0), 0);
  g_autoptr(GError) error = NULL;
  gint64 trans_a = 0, trans_b = 0;
  float alpha = 1, beta = 1;

  g_assert_true (kiln_onnx_node_get_int (node, "transA", &trans_a, &error));
  g_assert_true (kiln_onnx_node_get_int (node, "transB", &trans_b, &error));
  g_assert_true (kiln_onnx_node_get_float (node, "alpha", &alpha, &error));
  g_assert_true (kiln_onnx_node_get_float (node, "beta", &beta, &error));
  g_assert_no_error (error);
  g_assert_cmpint (trans_a, ==, 1);
  g_assert_cmpint (trans_b, ==, 1);
  g_assert_cmpfloat_with_epsilon (alpha, 0.25, 1e-7);
  g_assert_cmpfloat_with_epsilon (beta, 0.35, 1e-7);

  /* a is K×M (4×3), b is N×K (5×4), c is 1×N, y is M×N. */
  int K = a->dims[0], M = a->dims[1], N = b->dims[0];
  g_assert_cmpint (y->dims[0], ==, M);
  g_assert_cmpint (y->dims[1], ==, N);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++)
      {
        double acc = 0;
        for (int k = 0; k < K; k++)
          acc += (double) a->data[k * M + m] * b->data[n * K + k];
        g_assert_cmpfloat_with_epsilon (y->data[m * N + n], alpha * acc + beta * c->data[n], 1e-5);
      }
}

static void
test_node_attributes (void)
{
  if (!have_node_tests ())
    return;

  g_autoptr(GError) error = NULL;
  g_autoptr(KilnOnnxNodeTest) conv = load_node_test ("test_conv_with_strides_padding");
  const KilnOnnxNode *node = kiln_onnx_node_test_get_node (conv);
  const gint64 *ints = NULL;
  gsize n_ints = 0;
  gint64 group = 1;
  float f = -1;

  g_assert_cmpuint (kiln_onnx_node_get_n_inputs (node), ==, 2);
  g_assert_cmpstr (kiln_onnx_node_get_input (node, 1), ==, "W");
  g_assert_true (kiln_onnx_node_get_ints (node, "pads", &ints, &n_ints, &error));
  g_assert_cmpuint (n_ints, ==, 4);
  g_assert_cmpint (ints[0], ==, 1);
  g_assert_true (kiln_onnx_node_get_ints (node, "strides", &ints, &n_ints, &error));
  g_assert_cmpuint (n_ints, ==, 2);
  g_assert_cmpint (ints[1], ==, 2);
  /* Absent: the default stays. */
  g_assert_true (kiln_onnx_node_get_int (node, "group", &group, &error));
  g_assert_no_error (error);
  g_assert_cmpint (group, ==, 1);
  /* Present with another type: an error naming node and attribute. */
  g_assert_false (kiln_onnx_node_get_float (node, "strides", &f, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "strides"));
  g_assert_nonnull (strstr (error->message, "Conv"));
  g_assert_cmpfloat (f, ==, -1);
  g_clear_error (&error);

  g_autoptr(KilnOnnxNodeTest) lrn = load_node_test ("test_lrn");
  node = kiln_onnx_node_test_get_node (lrn);
  gint64 size = 0;
  float beta = 0, bias = 0;
  g_assert_true (kiln_onnx_node_get_int (node, "size", &size, &error));
  g_assert_true (kiln_onnx_node_get_float (node, "beta", &beta, &error));
  g_assert_true (kiln_onnx_node_get_float (node, "bias", &bias, &error));
  g_assert_no_error (error);
  g_assert_cmpint (size, ==, 3);
  g_assert_cmpfloat (beta, ==, 0.5f);
  g_assert_cmpfloat (bias, ==, 2.0f);

  g_autoptr(KilnOnnxNodeTest) pool = load_node_test ("test_averagepool_2d_same_upper");
  g_autofree char *auto_pad = NULL;
  g_assert_true (kiln_onnx_node_get_string (kiln_onnx_node_test_get_node (pool), "auto_pad", &auto_pad, &error));
  g_assert_cmpstr (auto_pad, ==, "SAME_UPPER");

  /* A Constant's TENSOR attribute, INT64 with exact values. */
  g_autoptr(KilnOnnxNodeTest) expanded = load_node_test ("test_softmax_axis_0_expanded");
  KilnOnnxModel *model = kiln_onnx_node_test_get_model (expanded);
  node = kiln_onnx_model_get_node (model, 0);
  g_assert_cmpstr (kiln_onnx_node_get_op_type (node), ==, "Constant");
  g_autoptr(KilnOnnxTensor) value = kiln_onnx_node_get_tensor (node, "value", &error);
  g_assert_no_error (error);
  g_assert_cmpint (value->data_type, ==, KILN_ONNX_TYPE_INT64);
  g_assert_cmpuint (value->n_elements, ==, 1);
  g_assert_cmpint (value->int64_data[0], ==, 0);
}

/* Integer and boolean outputs: MaxPool's INT64 indices, Dropout's mask. */
static void
test_node_integer_outputs (void)
{
  if (!have_node_tests ())
    return;

  g_autoptr(KilnOnnxNodeTest) argmax = load_node_test ("test_maxpool_with_argmax_2d_precomputed_pads");
  GPtrArray *out = kiln_onnx_node_test_get_expected_outputs (argmax, 0);
  const KilnOnnxTensor *x = g_ptr_array_index (kiln_onnx_node_test_get_inputs (argmax, 0), 0);
  const KilnOnnxTensor *y = out->pdata[0], *z = out->pdata[1];

  g_assert_cmpint (z->data_type, ==, KILN_ONNX_TYPE_INT64);
  g_assert_nonnull (z->int64_data);
  for (gsize i = 0; i < z->n_elements; i++)
    {
      g_assert_cmpint (z->int64_data[i], >=, 0);
      g_assert_cmpint (z->int64_data[i], <, (gint64) x->n_elements);
      /* The index points at the maximum that was kept. */
      g_assert_cmpfloat (x->data[z->int64_data[i]], ==, y->data[i]);
    }

  g_autoptr(KilnOnnxNodeTest) dropout = load_node_test ("test_dropout_default_mask");
  const KilnOnnxTensor *mask = g_ptr_array_index (kiln_onnx_node_test_get_expected_outputs (dropout, 0), 1);
  g_assert_cmpint (mask->data_type, ==, KILN_ONNX_TYPE_BOOL);
  for (gsize i = 0; i < mask->n_elements; i++)
    g_assert_cmpfloat (mask->data[i], ==, 1.0f);
}

/* ---- Hostile input --------------------------------------------------------- */

static void
put_varint (GByteArray *b, guint64 v)
{
  do
    {
      guint8 byte = v & 0x7f;
      v >>= 7;
      if (v)
        byte |= 0x80;
      g_byte_array_append (b, &byte, 1);
    }
  while (v);
}

static void
put_tag (GByteArray *b, guint field, guint wire_type)
{
  put_varint (b, ((guint64) field << 3) | wire_type);
}

static void
put_bytes (GByteArray *b, guint field, const guint8 *data, gsize len)
{
  put_tag (b, field, 2);
  put_varint (b, len);
  g_byte_array_append (b, data, len);
}

static void
put_message (GByteArray *b, guint field, GByteArray *message)
{
  put_bytes (b, field, message->data, message->len);
}

/* TensorProto fields: dims 1, data_type 2, name 8, raw_data 9, data_location 14. */
static GByteArray *
make_tensor (const gint64 *dims, guint n_dims, const guint8 *raw, gsize raw_len)
{
  GByteArray *t = g_byte_array_new ();

  for (guint i = 0; i < n_dims; i++)
    {
      put_tag (t, 1, 0);
      put_varint (t, (guint64) dims[i]);
    }
  put_tag (t, 2, 0);
  put_varint (t, KILN_ONNX_TYPE_FLOAT);
  put_bytes (t, 8, (const guint8 *) "w", 1);
  if (raw)
    put_bytes (t, 9, raw, raw_len);
  return t;
}

/* ModelProto { graph (7) { initializer (5) = tensor } } */
static GByteArray *
make_model_with_initializer (GByteArray *tensor)
{
  g_autoptr(GByteArray) graph = g_byte_array_new ();
  GByteArray *model = g_byte_array_new ();

  put_message (graph, 5, tensor);
  put_message (model, 7, graph);
  return model;
}

static void
assert_model_fails (GByteArray *bytes, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load_from_data (bytes->data, bytes->len, "hostile.onnx", &error);

  g_assert_null (model);
  g_assert_error (error, KILN_ERROR, code);
  g_assert_nonnull (strstr (error->message, "hostile.onnx"));
  if (needle && !strstr (error->message, needle))
    g_error ("“%s” not in: %s", needle, error->message);
}

static void
test_hostile_truncated (void)
{
  g_autofree char *test_dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  guint failed = 0;

  if (!have_node_tests ())
    return;
  test_dir = node_test_dir ("test_conv_with_strides_padding");
  path = g_build_filename (test_dir, "model.onnx", NULL);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));

  /* Every prefix: a cut at a field boundary can still be a valid (smaller)
   * message; any other cut must be an error. None may crash. */
  for (gsize cut = 1; cut < length; cut++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load_from_data ((const guint8 *) contents, cut,
                                                                       "cut.onnx", &error);
      if (model == NULL)
        {
          g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
          failed++;
        }
    }
  g_assert_cmpuint (failed, >, length / 2);

  /* Through a real file, too: the message names it. */
  g_autofree char *dir = g_dir_make_tmp ("kiln-onnx-XXXXXX", NULL);
  g_autofree char *cut_path = g_build_filename (dir, "cut.onnx", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_set_contents (cut_path, contents, length - 3, NULL));
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load (cut_path, &error);
  g_assert_null (model);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, cut_path));
  g_unlink (cut_path);
  g_rmdir (dir);
}

static void
test_hostile_wire (void)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();

  /* ModelProto.graph (a message) sent as a varint. */
  put_tag (b, 7, 0);
  put_varint (b, 5);
  assert_model_fails (b, KILN_ERROR_CORRUPT, "wire type");

  /* Deprecated group wire types. */
  g_byte_array_set_size (b, 0);
  put_tag (b, 7, 3);
  assert_model_fails (b, KILN_ERROR_CORRUPT, "wire type");

  /* A length past the end. */
  g_byte_array_set_size (b, 0);
  put_tag (b, 7, 2);
  put_varint (b, 1000);
  g_byte_array_append (b, (const guint8 *) "abc", 3);
  assert_model_fails (b, KILN_ERROR_CORRUPT, "claims 1000 bytes");

  /* A length prefix claiming 10 GB. */
  g_byte_array_set_size (b, 0);
  put_tag (b, 7, 2);
  put_varint (b, G_GUINT64_CONSTANT (10) << 30);
  assert_model_fails (b, KILN_ERROR_CORRUPT, "claims");

  /* A varint that never ends. */
  g_byte_array_set_size (b, 0);
  put_tag (b, 1, 0);
  for (guint i = 0; i < 12; i++)
    g_byte_array_append (b, (const guint8 *) "\xff", 1);
  assert_model_fails (b, KILN_ERROR_CORRUPT, NULL);

  /* Field number 0. */
  g_byte_array_set_size (b, 0);
  put_tag (b, 0, 0);
  put_varint (b, 1);
  assert_model_fails (b, KILN_ERROR_CORRUPT, "field number");

  /* A valid message without a graph: a tensor file opened as a model. */
  g_byte_array_set_size (b, 0);
  put_tag (b, 1, 0);
  put_varint (b, 8);   /* ir_version */
  assert_model_fails (b, KILN_ERROR_CORRUPT, "no graph");
}

/* Attributes whose type is set but whose value field is missing (found by
 * fuzz-onnx): a STRING reads as empty, a TENSOR is an error. */
static void
test_hostile_attributes (void)
{
  g_autoptr(GByteArray) string_attr = g_byte_array_new ();
  g_autoptr(GByteArray) tensor_attr = g_byte_array_new ();
  g_autoptr(GByteArray) node = g_byte_array_new ();
  g_autoptr(GByteArray) graph = g_byte_array_new ();
  g_autoptr(GByteArray) model = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  put_bytes (string_attr, 1, (const guint8 *) "auto_pad", 8);
  put_tag (string_attr, 20, 0);
  put_varint (string_attr, 3);                     /* STRING */
  put_bytes (tensor_attr, 1, (const guint8 *) "value", 5);
  put_tag (tensor_attr, 20, 0);
  put_varint (tensor_attr, 4);                     /* TENSOR */
  put_bytes (node, 4, (const guint8 *) "Conv", 4);   /* op_type */
  put_message (node, 5, string_attr);
  put_message (node, 5, tensor_attr);
  put_message (graph, 1, node);
  put_message (model, 7, graph);

  g_autoptr(KilnOnnxModel) m = kiln_onnx_model_load_from_data (model->data, model->len, "attrs.onnx", &error);
  g_assert_no_error (error);
  const KilnOnnxNode *n = kiln_onnx_model_get_node (m, 0);
  g_assert_cmpstr (kiln_onnx_node_get_label (n), ==, "Conv");

  g_autofree char *auto_pad = NULL;
  g_assert_true (kiln_onnx_node_get_string (n, "auto_pad", &auto_pad, &error));
  g_assert_cmpstr (auto_pad, ==, "");
  g_assert_null (kiln_onnx_node_get_tensor (n, "value", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_null (kiln_onnx_node_get_tensor (n, "absent", &error));
  g_assert_no_error (error);
}

static void
test_hostile_nesting (void)
{
  /* Graph → node → attribute → g (graph) → … 2000 levels down, built
   * from the inside out. protobuf-c would recurse once per level. */
  g_autoptr(GByteArray) inner = g_byte_array_new ();

  for (guint level = 0; level < 2000; level++)
    {
      g_autoptr(GByteArray) attr = g_byte_array_new ();
      g_autoptr(GByteArray) node = g_byte_array_new ();
      g_autoptr(GByteArray) graph = g_byte_array_new ();
      put_message (attr, 6, inner);      /* AttributeProto.g */
      put_message (node, 5, attr);       /* NodeProto.attribute */
      put_message (graph, 1, node);      /* GraphProto.node */
      g_byte_array_set_size (inner, 0);
      g_byte_array_append (inner, graph->data, graph->len);
    }
  g_autoptr(GByteArray) model = g_byte_array_new ();
  put_message (model, 7, inner);
  assert_model_fails (model, KILN_ERROR_CORRUPT, "nest");
}

static void
test_hostile_expansion (void)
{
  /* 2 million empty NodeProtos in 4 MB: each costs protobuf-c a struct and
   * a pointer, far more than its two bytes. The budget stops it. */
  g_autoptr(GByteArray) graph = g_byte_array_new ();
  g_autoptr(GByteArray) model = g_byte_array_new ();

  for (guint i = 0; i < 2000000; i++)
    put_bytes (graph, 1, NULL, 0);
  put_message (model, 7, graph);
  assert_model_fails (model, KILN_ERROR_CORRUPT, "memory");
}

static void
test_hostile_tensors (void)
{
  const guint8 four[4] = { 0, 0, 128, 63 };   /* 1.0f */
  g_autoptr(GError) error = NULL;

  /* 10 GB claimed (100000 × 25000 floats), 4 bytes present. */
  const gint64 huge[] = { 100000, 25000 };
  g_autoptr(GByteArray) t = make_tensor (huge, 2, four, 4);
  g_autoptr(KilnOnnxTensor) tensor = kiln_onnx_tensor_load_from_data (t->data, t->len, "huge.pb", &error);
  g_assert_null (tensor);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "100000×25000"));
  g_assert_nonnull (strstr (error->message, "huge.pb"));
  g_clear_error (&error);

  /* The same as an initializer: the model loads, reading the weights fails. */
  g_autoptr(GByteArray) m = make_model_with_initializer (t);
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load_from_data (m->data, m->len, "huge.onnx", &error);
  g_assert_no_error (error);
  g_assert_true (kiln_onnx_model_has_initializer (model, "w"));
  g_assert_null (kiln_onnx_model_get_initializer (model, "w", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "huge.onnx"));
  g_clear_error (&error);

  /* A dims product that overflows 64 bits. */
  const gint64 overflow[] = { G_GINT64_CONSTANT (1) << 62, 4, 4 };
  g_autoptr(GByteArray) t2 = make_tensor (overflow, 3, four, 4);
  g_assert_null (kiln_onnx_tensor_load_from_data (t2->data, t2->len, "overflow.pb", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "overflow"));
  g_clear_error (&error);

  /* A negative dim (varint of a negative int64). */
  const gint64 negative[] = { -4 };
  g_autoptr(GByteArray) t3 = make_tensor (negative, 1, four, 4);
  g_assert_null (kiln_onnx_tensor_load_from_data (t3->data, t3->len, "negative.pb", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_clear_error (&error);

  /* Data kept in an external file. */
  const gint64 one[] = { 1 };
  g_autoptr(GByteArray) t4 = make_tensor (one, 1, NULL, 0);
  put_tag (t4, 14, 0);
  put_varint (t4, 1);
  g_assert_null (kiln_onnx_tensor_load_from_data (t4->data, t4->len, "external.pb", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "external"));
  g_clear_error (&error);

  /* A well-formed one reads back. */
  g_autoptr(GByteArray) t5 = make_tensor (one, 1, four, 4);
  g_autoptr(KilnOnnxTensor) ok = kiln_onnx_tensor_load_from_data (t5->data, t5->len, "ok.pb", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (ok->data[0], ==, 1.0f);
  g_assert_cmpstr (ok->name, ==, "w");

  /* Too many dims. */
  const gint64 many[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
  g_autoptr(GByteArray) t6 = make_tensor (many, 9, four, 4);
  g_assert_null (kiln_onnx_tensor_load_from_data (t6->data, t6->len, "many.pb", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED);
}

static void
test_hostile_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-onnx-XXXXXX", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty.onnx", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.onnx", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_null (kiln_onnx_model_load (empty, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_clear_error (&error);

  g_assert_null (kiln_onnx_model_load (missing, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_null (kiln_onnx_model_load (dir, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* An incomplete node-test folder. */
  g_autoptr(KilnOnnxNodeTest) test = kiln_onnx_node_test_load (dir, &error);
  g_assert_null (test);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);

  g_unlink (empty);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/onnx-reader/node-tests/all-load", test_node_tests_all_load);
  g_test_add_func ("/onnx-reader/node-tests/values-relu-add", test_node_values_relu_add);
  g_test_add_func ("/onnx-reader/node-tests/values-gemm", test_node_values_gemm);
  g_test_add_func ("/onnx-reader/node-tests/attributes", test_node_attributes);
  g_test_add_func ("/onnx-reader/node-tests/integer-outputs", test_node_integer_outputs);
  g_test_add_func ("/onnx-reader/hostile/truncated", test_hostile_truncated);
  g_test_add_func ("/onnx-reader/hostile/wire", test_hostile_wire);
  g_test_add_func ("/onnx-reader/hostile/attributes", test_hostile_attributes);
  g_test_add_func ("/onnx-reader/hostile/nesting", test_hostile_nesting);
  g_test_add_func ("/onnx-reader/hostile/expansion", test_hostile_expansion);
  g_test_add_func ("/onnx-reader/hostile/tensors", test_hostile_tensors);
  g_test_add_func ("/onnx-reader/hostile/files", test_hostile_files);

  return g_test_run ();
}
