/* ONNX import into a KilnNetSpec, on the models that
 * tests/fixtures/make-onnx-fixtures.py exported from PyTorch at opsets 7,
 * 11, 13 and 17 and wrote node by node: the right layers, hyper-parameters,
 * shapes and weights (Gemm alpha/beta and transB folded), and a clear
 * error naming the node for what Kiln cannot run. */
#include <string.h>

#include "kiln-error.h"
#include "kiln-onnx.h"

static const int opsets[] = { 7, 11, 13, 17 };

static char *
fixture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", name, NULL);
}

static KilnNetSpec *
import_fixture (const char *name, GHashTable **weights)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr(GError) error = NULL;
  KilnNetSpec *spec = NULL;

  g_test_message ("importing %s", path);
  kiln_onnx_import_spec (path, &spec, weights, &error);
  g_assert_no_error (error);
  g_assert_nonnull (spec);
  return spec;
}

static void
assert_types (KilnNetSpec *spec, const KilnLayerType *types, guint n)
{
  g_assert_cmpuint (kiln_net_spec_get_n_layers (spec), ==, n);
  for (guint i = 0; i < n; i++)
    {
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (spec, i);
      if (layer->type != types[i])
        g_error ("layer %u (%s) is %s, expected %s", i, layer->name,
                 kiln_layer_type_to_string (layer->type), kiln_layer_type_to_string (types[i]));
    }
}

static void
assert_shape (KilnNetSpec *spec, guint index, int c, int h, int w)
{
  const KilnLayerShape *shape = kiln_net_spec_get_shape (spec, index);

  g_assert_nonnull (shape);
  if (shape->c != c || shape->h != h || shape->w != w)
    g_error ("layer %s is %d×%d×%d, expected %d×%d×%d", kiln_net_spec_get_layer (spec, index)->name,
             shape->c, shape->h, shape->w, c, h, w);
}

static const KilnOnnxTensor *
weight (GHashTable *weights, KilnNetSpec *spec, guint index, const char *part)
{
  g_autofree char *key = g_strconcat (kiln_net_spec_get_layer (spec, index)->name, ".", part, NULL);
  const KilnOnnxTensor *tensor = g_hash_table_lookup (weights, key);

  if (tensor == NULL)
    g_error ("no weight %s", key);
  g_assert_cmpstr (tensor->name, ==, key);
  return tensor;
}

/* The initializer as the reader sees it, to compare the imported weights with. */
static KilnOnnxTensor *
initializer (const char *file, const char *name)
{
  g_autofree char *path = fixture_path (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnOnnxModel) model = kiln_onnx_model_load (path, &error);
  KilnOnnxTensor *tensor;

  g_assert_no_error (error);
  tensor = kiln_onnx_model_get_initializer (model, name, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tensor);
  return tensor;
}

static void
assert_same_data (const KilnOnnxTensor *a, const KilnOnnxTensor *b, float scale)
{
  g_assert_cmpint (a->n_dims, ==, b->n_dims);
  for (int i = 0; i < a->n_dims; i++)
    g_assert_cmpint (a->dims[i], ==, b->dims[i]);
  for (gsize i = 0; i < a->n_elements; i++)
    g_assert_cmpfloat (a->data[i], ==, scale * b->data[i]);
}

static void
test_convnet (void)
{
  static const KilnLayerType types[] = {
    KILN_LAYER_CONVOLUTION, KILN_LAYER_RELU, KILN_LAYER_LRN, KILN_LAYER_MAX_POOL,
    KILN_LAYER_CONVOLUTION, KILN_LAYER_RELU, KILN_LAYER_AVG_POOL, KILN_LAYER_BATCH_NORM,
    KILN_LAYER_FLATTEN, KILN_LAYER_INNER_PRODUCT, KILN_LAYER_RELU, KILN_LAYER_DROPOUT,
    KILN_LAYER_INNER_PRODUCT, KILN_LAYER_SOFTMAX,
  };

  for (guint o = 0; o < G_N_ELEMENTS (opsets); o++)
    {
      g_autofree char *file = g_strdup_printf ("convnet-opset%d.onnx", opsets[o]);
      g_autoptr(GHashTable) weights = NULL;
      g_autoptr(KilnNetSpec) spec = import_fixture (file, &weights);
      const KilnLayerSpec *l;
      int c, h, w;

      kiln_net_spec_get_input (spec, &c, &h, &w);
      g_assert_cmpint (c, ==, 3);
      g_assert_cmpint (h, ==, 23);
      g_assert_cmpint (w, ==, 23);
      g_autofree char *base = g_strndup (file, strlen (file) - strlen (".onnx"));
      g_assert_cmpstr (kiln_net_spec_get_name (spec), ==, base);
      assert_types (spec, types, G_N_ELEMENTS (types));
      /* Every layer reads the one before it. */
      for (guint i = 0; i < G_N_ELEMENTS (types); i++)
        g_assert_null (kiln_net_spec_get_layer (spec, i)->inputs);

      l = kiln_net_spec_get_layer (spec, 0);
      g_assert_cmpstr (l->name, ==, "/conv1/Conv");
      g_assert_cmpint (l->num_output, ==, 8);
      g_assert_cmpint (l->kernel_h, ==, 3);
      g_assert_cmpint (l->stride_h, ==, 2);
      g_assert_cmpint (l->stride_w, ==, 2);
      g_assert_cmpint (l->pad_top, ==, 1);
      g_assert_cmpint (l->pad_right, ==, 1);
      g_assert_true (l->bias);

      l = kiln_net_spec_get_layer (spec, 2);
      g_assert_cmpint (l->local_size, ==, 5);
      g_assert_cmpfloat_with_epsilon (l->alpha, 1e-3, 1e-9);
      g_assert_cmpfloat (l->beta, ==, 0.75f);
      g_assert_cmpfloat (l->k, ==, 2.0f);

      /* PyTorch writes ceil_mode from opset 10 on; before, it pads the end
       * instead. Both give 6. */
      l = kiln_net_spec_get_layer (spec, 3);
      g_assert_cmpint (l->kernel_h, ==, 3);
      g_assert_cmpint (l->stride_h, ==, 2);
      if (opsets[o] >= 10)
        {
          g_assert_cmpint (l->rounding, ==, KILN_ROUND_CEIL);
          g_assert_cmpint (l->pad_bottom, ==, 0);
        }
      else
        {
          g_assert_cmpint (l->rounding, ==, KILN_ROUND_FLOOR);
          g_assert_cmpint (l->pad_bottom, ==, 2);
          g_assert_cmpint (l->pad_right, ==, 2);
        }

      l = kiln_net_spec_get_layer (spec, 4);
      g_assert_cmpint (l->group, ==, 2);
      g_assert_cmpint (l->dilation_h, ==, 2);
      g_assert_cmpint (l->dilation_w, ==, 2);
      g_assert_cmpint (l->pad_left, ==, 2);

      l = kiln_net_spec_get_layer (spec, 6);
      g_assert_false (l->count_include_pad);
      g_assert_cmpint (l->pad_top, ==, 1);
      g_assert_cmpint (l->kernel_w, ==, 2);

      l = kiln_net_spec_get_layer (spec, 7);
      g_assert_cmpfloat_with_epsilon (l->epsilon, 1e-5, 1e-9);
      g_assert_cmpfloat_with_epsilon (l->momentum, 0.9, 1e-6);

      g_assert_cmpfloat_with_epsilon (kiln_net_spec_get_layer (spec, 11)->ratio, 0.3, 1e-6);

      assert_shape (spec, 0, 8, 12, 12);
      assert_shape (spec, 3, 8, 6, 6);
      assert_shape (spec, 4, 8, 6, 6);
      assert_shape (spec, 6, 8, 4, 4);
      assert_shape (spec, 8, 128, 1, 1);
      assert_shape (spec, 9, 16, 1, 1);
      assert_shape (spec, 13, 10, 1, 1);

      /* Weights: as stored, named after the layer. */
      g_assert_cmpuint (g_hash_table_size (weights), ==, 2 + 2 + 4 + 2 + 2);
      g_autoptr(KilnOnnxTensor) conv2_w = initializer (file, "conv2.weight");
      assert_same_data (weight (weights, spec, 4, "weight"), conv2_w, 1.0f);
      g_assert_cmpint (weight (weights, spec, 4, "weight")->dims[1], ==, 4);   /* 8 channels / 2 groups */
      g_autoptr(KilnOnnxTensor) fc1_w = initializer (file, "fc1.weight");
      assert_same_data (weight (weights, spec, 9, "weight"), fc1_w, 1.0f);
      g_autoptr(KilnOnnxTensor) mean = initializer (file, "bn.running_mean");
      assert_same_data (weight (weights, spec, 7, "mean"), mean, 1.0f);
      g_autoptr(KilnOnnxTensor) var = initializer (file, "bn.running_var");
      assert_same_data (weight (weights, spec, 7, "var"), var, 1.0f);
      g_assert_cmpint (weight (weights, spec, 7, "scale")->n_elements, ==, 8);
      g_assert_cmpint (weight (weights, spec, 7, "bias")->n_elements, ==, 8);

      /* Parameter count: what PyTorch's module holds minus BN running stats. */
      gint64 params = (8 * 3 * 9 + 8) + (8 * 4 * 9 + 8) + 2 * 8 + (128 * 16 + 16) + (16 * 10 + 10);
      g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, params);
    }
}

static void
test_branchnet (void)
{
  static const KilnLayerType types[] = {
    KILN_LAYER_CONVOLUTION, KILN_LAYER_RELU, KILN_LAYER_CONVOLUTION, KILN_LAYER_CONVOLUTION,
    KILN_LAYER_CONCAT, KILN_LAYER_ADD, KILN_LAYER_RELU, KILN_LAYER_GLOBAL_AVG_POOL,
    KILN_LAYER_FLATTEN, KILN_LAYER_INNER_PRODUCT,
  };
  /* Which layer feeds which (-1: the net input). */
  static const int feeds[][2] = {
    { -1, -9 }, { 0, -9 }, { 1, -9 }, { 1, -9 }, { 2, 3 }, { 4, 1 }, { 5, -9 }, { 6, -9 }, { 7, -9 }, { 8, -9 },
  };

  for (guint o = 0; o < G_N_ELEMENTS (opsets); o++)
    {
      g_autofree char *file = g_strdup_printf ("branchnet-opset%d.onnx", opsets[o]);
      g_autoptr(GHashTable) weights = NULL;
      g_autoptr(KilnNetSpec) spec = import_fixture (file, &weights);

      assert_types (spec, types, G_N_ELEMENTS (types));
      for (guint i = 0; i < G_N_ELEMENTS (types); i++)
        {
          g_autoptr(GArray) inputs = kiln_net_spec_get_layer_inputs (spec, i);
          guint n = feeds[i][1] == -9 ? 1 : 2;

          g_assert_cmpuint (inputs->len, ==, n);
          for (guint k = 0; k < n; k++)
            g_assert_cmpint (g_array_index (inputs, int, k), ==, feeds[i][k]);
        }
      assert_shape (spec, 4, 8, 9, 9);
      assert_shape (spec, 5, 8, 9, 9);
      assert_shape (spec, 7, 8, 1, 1);
      assert_shape (spec, 9, 5, 1, 1);
      g_assert_cmpint (kiln_net_spec_get_layer (spec, 2)->kernel_h, ==, 1);
      g_assert_cmpint (kiln_net_spec_get_layer (spec, 3)->pad_top, ==, 1);
      g_autoptr(KilnOnnxTensor) fc = initializer (file, "fc.weight");
      assert_same_data (weight (weights, spec, 9, "weight"), fc, 1.0f);
    }
}

static void
test_gemmnet (void)
{
  static const KilnLayerType types[] = {
    KILN_LAYER_CONVOLUTION, KILN_LAYER_RELU, KILN_LAYER_CONVOLUTION, KILN_LAYER_MAX_POOL,
    KILN_LAYER_FLATTEN, KILN_LAYER_INNER_PRODUCT, KILN_LAYER_RELU, KILN_LAYER_BATCH_NORM,
    KILN_LAYER_INNER_PRODUCT, KILN_LAYER_SOFTMAX,
  };

  for (guint o = 0; o < G_N_ELEMENTS (opsets); o++)
    {
      g_autofree char *file = g_strdup_printf ("gemmnet-opset%d.onnx", opsets[o]);
      g_autoptr(GHashTable) weights = NULL;
      g_autoptr(KilnNetSpec) spec = import_fixture (file, &weights);
      const KilnLayerSpec *l;

      assert_types (spec, types, G_N_ELEMENTS (types));

      /* auto_pad SAME_UPPER at 12 with k 3, stride 2: 6 out, the one pad at the end. */
      l = kiln_net_spec_get_layer (spec, 0);
      g_assert_cmpint (l->pad_top, ==, 0);
      g_assert_cmpint (l->pad_left, ==, 0);
      g_assert_cmpint (l->pad_bottom, ==, 1);
      g_assert_cmpint (l->pad_right, ==, 1);
      assert_shape (spec, 0, 6, 6, 6);

      /* Asymmetric pads [top 0, left 1, bottom 2, right 1]. */
      l = kiln_net_spec_get_layer (spec, 2);
      g_assert_cmpint (l->pad_top, ==, 0);
      g_assert_cmpint (l->pad_left, ==, 1);
      g_assert_cmpint (l->pad_bottom, ==, 2);
      g_assert_cmpint (l->pad_right, ==, 1);
      assert_shape (spec, 2, 4, 6, 6);
      assert_shape (spec, 4, 36, 1, 1);

      /* Gemm alpha 0.5, beta 2, B stored 36 × 12 (transB 0): W = 0.5 Bᵀ, b = 2 C. */
      g_autoptr(KilnOnnxTensor) b = initializer (file, "w_kn");
      g_autoptr(KilnOnnxTensor) c = initializer (file, "c");
      const KilnOnnxTensor *w = weight (weights, spec, 5, "weight");
      g_assert_cmpint (w->dims[0], ==, 12);
      g_assert_cmpint (w->dims[1], ==, 36);
      for (int out = 0; out < 12; out++)
        for (int in = 0; in < 36; in++)
          g_assert_cmpfloat (w->data[out * 36 + in], ==, 0.5f * b->data[in * 12 + out]);
      assert_same_data (weight (weights, spec, 5, "bias"), c, 2.0f);
      g_assert_true (kiln_net_spec_get_layer (spec, 5)->bias);

      /* BatchNorm on features. */
      assert_shape (spec, 7, 12, 1, 1);

      /* MatMul + Add: one inner product with the Add's constant as bias. */
      l = kiln_net_spec_get_layer (spec, 8);
      g_assert_true (l->bias);
      g_assert_cmpint (l->num_output, ==, 7);
      g_autoptr(KilnOnnxTensor) mm = initializer (file, "w_mm");
      w = weight (weights, spec, 8, "weight");
      for (int out = 0; out < 7; out++)
        for (int in = 0; in < 12; in++)
          g_assert_cmpfloat (w->data[out * 12 + in], ==, mm->data[in * 7 + out]);
      g_autoptr(KilnOnnxTensor) bias = initializer (file, "b_mm");
      assert_same_data (weight (weights, spec, 8, "bias"), bias, 1.0f);
      assert_shape (spec, 9, 7, 1, 1);
    }
}

/* x.view(x.size(0), -1): folded shape arithmetic, static and with a dynamic
 * batch axis (Shape → Gather → Unsqueeze → Concat), becomes a Flatten. */
static void
test_viewnet (void)
{
  static const KilnLayerType types[] = {
    KILN_LAYER_CONVOLUTION, KILN_LAYER_RELU, KILN_LAYER_MAX_POOL, KILN_LAYER_FLATTEN,
    KILN_LAYER_INNER_PRODUCT,
  };
  const char *nets[] = { "viewnet", "viewnet-dynamic" };

  for (guint n = 0; n < G_N_ELEMENTS (nets); n++)
    for (guint o = 0; o < G_N_ELEMENTS (opsets); o++)
      {
        g_autofree char *file = g_strdup_printf ("%s-opset%d.onnx", nets[n], opsets[o]);
        g_autoptr(GHashTable) weights = NULL;
        g_autoptr(KilnNetSpec) spec = import_fixture (file, &weights);

        assert_types (spec, types, G_N_ELEMENTS (types));
        assert_shape (spec, 2, 4, 3, 3);
        assert_shape (spec, 3, 36, 1, 1);
        assert_shape (spec, 4, 5, 1, 1);
        g_autoptr(KilnOnnxTensor) fc = initializer (file, "fc.weight");
        assert_same_data (weight (weights, spec, 4, "weight"), fc, 1.0f);
        g_assert_cmpuint (g_hash_table_size (weights), ==, 4);
      }
}

/* SAME_LOWER puts the odd pad first; Gemm with beta 0 has no bias, and a
 * scalar C broadcasts to every output. */
static void
test_hand_same_lower_gemm (void)
{
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(KilnNetSpec) spec = import_fixture ("hand-same-lower-gemm.onnx", &weights);
  const KilnLayerSpec *l = kiln_net_spec_get_layer (spec, 0);

  g_assert_cmpint (l->pad_top, ==, 1);
  g_assert_cmpint (l->pad_bottom, ==, 0);
  g_assert_cmpint (l->pad_left, ==, 1);
  g_assert_cmpint (l->pad_right, ==, 0);
  assert_shape (spec, 0, 4, 3, 3);

  l = kiln_net_spec_get_layer (spec, 2);
  g_assert_cmpstr (l->name, ==, "gemm_nobias");
  g_assert_false (l->bias);
  g_assert_false (g_hash_table_contains (weights, "gemm_nobias.bias"));

  g_autoptr(KilnOnnxTensor) s = initializer ("hand-same-lower-gemm.onnx", "s");
  g_autoptr(KilnOnnxTensor) g2 = initializer ("hand-same-lower-gemm.onnx", "g2");
  const KilnOnnxTensor *bias = g_hash_table_lookup (weights, "gemm_scalar.bias");
  const KilnOnnxTensor *w = g_hash_table_lookup (weights, "gemm_scalar.weight");
  g_assert_nonnull (bias);
  g_assert_cmpuint (bias->n_elements, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (bias->data[i], ==, 3.0f * s->data[0]);
  for (int out = 0; out < 3; out++)
    for (int in = 0; in < 6; in++)
      g_assert_cmpfloat (w->data[out * 6 + in], ==, 2.0f * g2->data[in * 3 + out]);
  assert_shape (spec, 3, 3, 1, 1);
}

/* Identity and Transpose nodes whose output reuses the input's name (not
 * SSA, but a file may say so) alias it like any other: a conv and the inner
 * product of a Gemm with transA = 1 on the transposed features. */
static void
test_hand_same_name (void)
{
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(KilnNetSpec) spec = import_fixture ("hand-same-name.onnx", &weights);

  g_assert_cmpuint (kiln_net_spec_get_n_layers (spec), ==, 3);
  g_assert_cmpint (kiln_net_spec_get_layer (spec, 2)->type, ==, KILN_LAYER_INNER_PRODUCT);
  g_assert_cmpint (kiln_net_spec_get_layer (spec, 2)->num_output, ==, 5);

  /* A Transpose with the identity perm leaves the value batch first. */
  g_autoptr(GHashTable) identity_weights = NULL;
  g_autoptr(KilnNetSpec) identity = import_fixture ("hand-identity-transpose.onnx", &identity_weights);
  g_assert_cmpuint (kiln_net_spec_get_n_layers (identity), ==, 3);
  g_assert_cmpint (kiln_net_spec_get_layer (identity, 2)->type, ==, KILN_LAYER_INNER_PRODUCT);
}

static void
assert_pads (KilnNetSpec *spec, guint index, int top, int left, int bottom, int right)
{
  const KilnLayerSpec *l = kiln_net_spec_get_layer (spec, index);

  if (l->pad_top != top || l->pad_left != left || l->pad_bottom != bottom || l->pad_right != right)
    g_error ("layer %s pads top %d, left %d, bottom %d, right %d; expected %d, %d, %d, %d", l->name,
             l->pad_top, l->pad_left, l->pad_bottom, l->pad_right, top, left, bottom, right);
}

/* PyTorch's explicit Pads (ZeroPad2d, F.pad) fold into the next window:
 * opset 9 writes the pads as an attribute, 13 computes them in a constant
 * subgraph (ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast) and
 * adds an empty Pad before the average pooling. */
static void
test_padnet (void)
{
  static const KilnLayerType types[] = {
    KILN_LAYER_CONVOLUTION, KILN_LAYER_RELU, KILN_LAYER_AVG_POOL, KILN_LAYER_CONVOLUTION, KILN_LAYER_RELU,
    KILN_LAYER_MAX_POOL, KILN_LAYER_FLATTEN, KILN_LAYER_INNER_PRODUCT,
  };
  const int padnet_opsets[] = { 9, 13 };

  for (guint o = 0; o < G_N_ELEMENTS (padnet_opsets); o++)
    {
      g_autofree char *file = g_strdup_printf ("padnet-opset%d.onnx", padnet_opsets[o]);
      g_autoptr(GHashTable) weights = NULL;
      g_autoptr(KilnNetSpec) spec = import_fixture (file, &weights);

      assert_types (spec, types, G_N_ELEMENTS (types));
      /* ZeroPad2d((1, 2, 0, 1)): ONNX pads [0, 0, 0, 1, 0, 0, 1, 2]. */
      g_assert_cmpstr (kiln_net_spec_get_layer (spec, 0)->name, ==, "/conv1/Conv");
      assert_pads (spec, 0, 0, 1, 1, 2);
      assert_shape (spec, 0, 6, 5, 6);
      /* F.pad (1, 0, 1, 2) before avg_pool2d: the zeros count. */
      assert_pads (spec, 2, 1, 1, 2, 0);
      g_assert_true (kiln_net_spec_get_layer (spec, 2)->count_include_pad);
      assert_shape (spec, 2, 6, 3, 3);
      assert_pads (spec, 3, 0, 0, 0, 0);
      /* After a ReLU, zeros never win a max. */
      assert_pads (spec, 5, 0, 0, 1, 1);
      assert_shape (spec, 5, 8, 2, 2);
      assert_shape (spec, 7, 5, 1, 1);
      g_assert_cmpuint (g_hash_table_size (weights), ==, 6);
    }
}

/* Hand-written Pads: −inf before max pooling on the raw input, zeros added
 * to the pads of an average pooling that counts them and of a convolution,
 * and a Pad on the one axis of an N×C×L signal. */
static void
test_hand_pads (void)
{
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(KilnNetSpec) spec = import_fixture ("hand-pads.onnx", &weights);
  static const KilnLayerType types[] = { KILN_LAYER_MAX_POOL, KILN_LAYER_AVG_POOL, KILN_LAYER_CONVOLUTION };

  assert_types (spec, types, G_N_ELEMENTS (types));
  assert_pads (spec, 0, 1, 0, 0, 2);
  assert_shape (spec, 0, 3, 4, 4);
  assert_pads (spec, 1, 2, 1, 1, 2);
  g_assert_true (kiln_net_spec_get_layer (spec, 1)->count_include_pad);
  assert_shape (spec, 1, 3, 5, 5);
  assert_pads (spec, 2, 1, 1, 1, 1);
  assert_shape (spec, 2, 4, 5, 5);

  g_autoptr(GHashTable) signal_weights = NULL;
  g_autoptr(KilnNetSpec) signal = import_fixture ("hand-pad-conv1d.onnx", &signal_weights);
  g_assert_cmpuint (kiln_net_spec_get_n_layers (signal), ==, 1);
  assert_pads (signal, 0, 2, 0, 1, 0);
  assert_shape (signal, 0, 2, 4, 1);
}

/* The opsets differ in how they write things, not in the net. */
static void
test_opsets_agree (void)
{
  const char *nets[] = { "convnet", "branchnet", "gemmnet", "viewnet", "viewnet-dynamic", "signalnet" };

  for (guint n = 0; n < G_N_ELEMENTS (nets); n++)
    {
      g_autofree char *first_file = g_strdup_printf ("%s-opset%d.onnx", nets[n], opsets[0]);
      g_autoptr(GHashTable) first_weights = NULL;
      g_autoptr(KilnNetSpec) first = import_fixture (first_file, &first_weights);

      for (guint o = 1; o < G_N_ELEMENTS (opsets); o++)
        {
          g_autofree char *file = g_strdup_printf ("%s-opset%d.onnx", nets[n], opsets[o]);
          g_autoptr(GHashTable) weights = NULL;
          g_autoptr(KilnNetSpec) spec = import_fixture (file, &weights);
          GHashTableIter iter;
          gpointer key, value;

          g_assert_cmpuint (kiln_net_spec_get_n_layers (spec), ==, kiln_net_spec_get_n_layers (first));
          g_assert_cmpint (kiln_net_spec_get_total_macs (spec), ==, kiln_net_spec_get_total_macs (first));
          for (guint i = 0; i < kiln_net_spec_get_n_layers (spec); i++)
            g_assert_cmpmem (kiln_net_spec_get_shape (spec, i), sizeof (KilnLayerShape),
                             kiln_net_spec_get_shape (first, i), sizeof (KilnLayerShape));
          g_assert_cmpuint (g_hash_table_size (weights), ==, g_hash_table_size (first_weights));
          g_hash_table_iter_init (&iter, weights);
          while (g_hash_table_iter_next (&iter, &key, &value))
            {
              const KilnOnnxTensor *other = g_hash_table_lookup (first_weights, key);
              g_assert_nonnull (other);
              assert_same_data (value, other, 1.0f);
            }
        }
    }
}

static void
test_reference_tensors (void)
{
  const struct { const char *net; int n_dims; gint64 in[4]; gint64 out[2]; } refs[] = {
    { "convnet", 4, { 2, 3, 23, 23 }, { 2, 10 } },
    { "branchnet", 4, { 2, 3, 9, 9 }, { 2, 5 } },
    { "gemmnet", 4, { 2, 3, 12, 12 }, { 2, 7 } },
    { "viewnet", 4, { 2, 3, 8, 8 }, { 2, 5 } },
    { "viewnet-dynamic", 4, { 2, 3, 8, 8 }, { 2, 5 } },
  };

  for (guint r = 0; r < G_N_ELEMENTS (refs); r++)
    {
      g_autofree char *in_name = g_strdup_printf ("%s-input.pb", refs[r].net);
      g_autofree char *out_name = g_strdup_printf ("%s-output.pb", refs[r].net);
      g_autofree char *in_path = fixture_path (in_name);
      g_autofree char *out_path = fixture_path (out_name);
      g_autoptr(GError) error = NULL;
      g_autoptr(KilnOnnxTensor) in = kiln_onnx_tensor_load (in_path, &error);
      g_assert_no_error (error);
      g_autoptr(KilnOnnxTensor) out = kiln_onnx_tensor_load (out_path, &error);
      g_assert_no_error (error);

      g_assert_cmpint (in->n_dims, ==, 4);
      for (int d = 0; d < 4; d++)
        g_assert_cmpint (in->dims[d], ==, refs[r].in[d]);
      g_assert_cmpint (out->n_dims, ==, 2);
      g_assert_cmpint (out->dims[0], ==, refs[r].out[0]);
      g_assert_cmpint (out->dims[1], ==, refs[r].out[1]);
    }
}

static void assert_import_fails (const char *file, int code, const char *needle, const char *needle2);

/* The Pad layer at @index, with its pads, mode and value, read by the
 * layer after it (when @reader). */
static void
assert_pad_layer (KilnNetSpec *spec, guint index, const char *name, int top, int left, int bottom, int right,
                  KilnPadMode mode, float value, const char *reader)
{
  const KilnLayerSpec *l = kiln_net_spec_get_layer (spec, index);

  g_assert_cmpint (l->type, ==, KILN_LAYER_PAD);
  g_assert_cmpstr (l->name, ==, name);
  assert_pads (spec, index, top, left, bottom, right);
  g_assert_cmpint (l->pad_mode, ==, mode);
  g_assert_cmpfloat (l->pad_value, ==, value);
  if (reader)
    g_assert_cmpstr (kiln_net_spec_get_layer (spec, index + 1)->name, ==, reader);
}

/* Pads that no window can fold become Pad layers: another value, edge and
 * reflect, zeros before a max pooling of a signed input or an average
 * pooling that does not count its own pads, a Pad read by a Relu, and a Pad
 * that is the graph output. What a Pad layer cannot do is still refused
 * naming the node. */
static void
test_pad_layers (void)
{
  struct { const char *file, *pad, *reader; int p[4]; KilnPadMode mode; float value; } cases[] = {
    { "bad-pad-value.onnx", "pad_ones", "conv", { 1, 1, 0, 0 }, KILN_PAD_CONSTANT, 1.5f },
    { "bad-pad-reflect.onnx", "pad_mirror", "conv", { 1, 1, 0, 0 }, KILN_PAD_REFLECT, 0.0f },
    { "bad-pad-maxpool.onnx", "pad_signed", "max", { 1, 1, 1, 1 }, KILN_PAD_CONSTANT, 0.0f },
    { "bad-pad-relu.onnx", "pad_first", "relu_after_pad", { 1, 0, 0, 1 }, KILN_PAD_CONSTANT, 0.0f },
    { "bad-pad-avg-exclude.onnx", "pad_counted", "avg_uncounted", { 1, 1, 1, 1 }, KILN_PAD_CONSTANT, 0.0f },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GHashTable) weights = NULL;
      g_autoptr(KilnNetSpec) spec = import_fixture (cases[i].file, &weights);
      const int *p = cases[i].p;
      assert_pad_layer (spec, 0, cases[i].pad, p[0], p[1], p[2], p[3], cases[i].mode, cases[i].value,
                        cases[i].reader);
      /* The reader keeps only its own pads (the average pooling has 1 a side). */
      int own = g_str_equal (cases[i].reader, "avg_uncounted") ? 1 : 0;
      assert_pads (spec, 1, own, own, own, own);
      g_assert_false (kiln_net_spec_get_layer (spec, 1)->count_include_pad);
    }

  /* make-onnx-fixtures.py's edge Pad after a conv, the graph output. */
  g_autoptr(GHashTable) edge_weights = NULL;
  g_autoptr(KilnNetSpec) edge = import_fixture ("bad-pad.onnx", &edge_weights);
  guint last = kiln_net_spec_get_n_layers (edge) - 1;
  assert_pad_layer (edge, last, "pad_edges", 1, 1, 1, 1, KILN_PAD_EDGE, 0.0f, NULL);

  /* PyTorch's ConstantPad2d(1.0), ReplicationPad2d, ReflectionPad2d. */
  const int opsets[] = { 9, 13 };
  for (guint o = 0; o < G_N_ELEMENTS (opsets); o++)
    {
      g_autofree char *file = g_strdup_printf ("padlayer-opset%d.onnx", opsets[o]);
      g_autoptr(GHashTable) weights = NULL;
      g_autoptr(KilnNetSpec) spec = import_fixture (file, &weights);
      guint n = kiln_net_spec_get_n_layers (spec);
      g_assert_cmpuint (n, ==, 6);
      /* nn.ConstantPad2d((left 1, right 2, top 0, bottom 1), 1.0). */
      assert_pads (spec, 0, 0, 1, 1, 2);
      g_assert_cmpint (kiln_net_spec_get_layer (spec, 0)->type, ==, KILN_LAYER_PAD);
      g_assert_cmpfloat (kiln_net_spec_get_layer (spec, 0)->pad_value, ==, 1.0f);
      g_assert_cmpint (kiln_net_spec_get_layer (spec, 3)->pad_mode, ==, KILN_PAD_EDGE);
      assert_pads (spec, 3, 2, 0, 0, 1);
      g_assert_cmpint (kiln_net_spec_get_layer (spec, 5)->pad_mode, ==, KILN_PAD_REFLECT);
      assert_pads (spec, 5, 1, 2, 3, 1);
      const KilnLayerShape *out = kiln_net_spec_get_shape (spec, n - 1);
      g_assert_cmpint (out->h, ==, 14);
      g_assert_cmpint (out->w, ==, 13);
    }

  assert_import_fails ("bad-pad-channels.onnx", KILN_ERROR_UNSUPPORTED, "Pad node “pad_channels”", "channel");
  assert_import_fails ("bad-pad-crop.onnx", KILN_ERROR_UNSUPPORTED, "Pad node “pad_crop”", "crop");
  assert_import_fails ("bad-pad-wrap.onnx", KILN_ERROR_UNSUPPORTED, "Pad node “pad_wrap”", "mode wrap");
  assert_import_fails ("bad-pad-reflect-wide.onnx", KILN_ERROR_SHAPE, "pad_reflect_wide", "edge mode");
}

static void
assert_import_fails (const char *file, int code, const char *needle, const char *needle2)
{
  g_autofree char *path = fixture_path (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) weights = NULL;
  KilnNetSpec *spec = NULL;

  g_assert_false (kiln_onnx_import_spec (path, &spec, &weights, &error));
  g_assert_null (spec);
  g_assert_null (weights);
  g_test_message ("%s: %s", file, error ? error->message : "(no error)");
  g_assert_error (error, KILN_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (!strstr (error->message, needle))
    g_error ("“%s” not in: %s", needle, error->message);
  if (needle2 && !strstr (error->message, needle2))
    g_error ("“%s” not in: %s", needle2, error->message);
}

static void
test_refusals (void)
{
  assert_import_fails ("bad-op.onnx", KILN_ERROR_UNSUPPORTED, "Sigmoid", "act1");
  assert_import_fails ("bad-gemm-transa.onnx", KILN_ERROR_UNSUPPORTED, "fc_t", "transA");
  assert_import_fails ("bad-gemm-bias.onnx", KILN_ERROR_UNSUPPORTED, "fc_batch_bias", "batch");
  assert_import_fails ("bad-opset.onnx", KILN_ERROR_UNSUPPORTED, "opset 18", NULL);
  assert_import_fails ("bad-opset6.onnx", KILN_ERROR_UNSUPPORTED, "opset 6", NULL);
  assert_import_fails ("bad-reshape.onnx", KILN_ERROR_UNSUPPORTED, "to_3d", "0, 4, 16");
  assert_import_fails ("bad-concat-axis.onnx", KILN_ERROR_UNSUPPORTED, "cat_h", "axis 2");
  assert_import_fails ("bad-dropout-mask.onnx", KILN_ERROR_UNSUPPORTED, "drop", "mask");
  assert_import_fails ("bad-weights.onnx", KILN_ERROR_SHAPE, "conv_wrong_c", NULL);
  assert_import_fails ("bad-add-constant.onnx", KILN_ERROR_UNSUPPORTED, "add_const", NULL);
  assert_import_fails ("bad-pad-channels.onnx", KILN_ERROR_UNSUPPORTED, "Pad node “pad_channels”", "channel");
  assert_import_fails ("bad-transpose-relu.onnx", KILN_ERROR_UNSUPPORTED, "relu_t", "transposed");
  assert_import_fails ("bad-custom-domain.onnx", KILN_ERROR_UNSUPPORTED, "com.microsoft", "conv_ms");
  assert_import_fails ("bad-external.onnx", KILN_ERROR_UNSUPPORTED, "external", "weights.bin");
  /* ONNX 1.12 declares 4×4 where Kiln's (Caffe's, PyTorch's) ceil gives 3×3. */
  assert_import_fails ("bad-ceil-pool.onnx", KILN_ERROR_SHAPE, "?×3×4×4 but Kiln computes 3×3×3", "check pool_ceil");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/onnx-import/convnet", test_convnet);
  g_test_add_func ("/onnx-import/branchnet", test_branchnet);
  g_test_add_func ("/onnx-import/gemmnet", test_gemmnet);
  g_test_add_func ("/onnx-import/viewnet", test_viewnet);
  g_test_add_func ("/onnx-import/same-lower-gemm", test_hand_same_lower_gemm);
  g_test_add_func ("/onnx-import/same-name", test_hand_same_name);
  g_test_add_func ("/onnx-import/padnet", test_padnet);
  g_test_add_func ("/onnx-import/hand-pads", test_hand_pads);
  g_test_add_func ("/onnx-import/opsets-agree", test_opsets_agree);
  g_test_add_func ("/onnx-import/reference-tensors", test_reference_tensors);
  g_test_add_func ("/onnx-import/refusals", test_refusals);
  g_test_add_func ("/onnx-import/pad-layers", test_pad_layers);

  return g_test_run ();
}
