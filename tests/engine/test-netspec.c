/* KilnNetSpec: layer bookkeeping, shape inference arithmetic, costs and
 * the errors people see when an input does not fit. */
#include <glib.h>
#include <glib/gstdio.h>

#include "kiln-core.h"
#include "kiln-window.h"

static void
add (KilnNetSpec *spec, KilnLayerSpec *layer)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (kiln_net_spec_add_layer (spec, layer, &error));
  g_assert_no_error (error);
  kiln_layer_spec_clear (layer);
}

static void
add_conv (KilnNetSpec *spec, const char *name, int n, int k, int s, int p)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, name);
  l.num_output = n;
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = s;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = p;
  add (spec, &l);
}

static void
add_pool (KilnNetSpec *spec, const char *name, int k, int s, int p, KilnRounding r)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, name);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = s;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = p;
  l.rounding = r;
  add (spec, &l);
}

static void
add_simple (KilnNetSpec *spec, KilnLayerType type, const char *name, const char *const *inputs)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, type, name);
  l.inputs = g_strdupv ((char **) inputs);
  add (spec, &l);
}

static void
assert_shape (KilnNetSpec *spec, const char *name, int c, int h, int w)
{
  int index = kiln_net_spec_find_layer (spec, name);
  const KilnLayerShape *shape;

  g_assert_cmpint (index, >=, 0);
  shape = kiln_net_spec_get_shape (spec, index);
  g_assert_nonnull (shape);
  g_assert_cmpint (shape->c, ==, c);
  g_assert_cmpint (shape->h, ==, h);
  g_assert_cmpint (shape->w, ==, w);
  g_assert_cmpint (shape->activation_bytes, ==, (gint64) c * h * w * 4);
}

static void
test_defaults (void)
{
  g_auto(KilnLayerSpec) l = { 0 };
  g_auto(KilnLayerSpec) copy = { 0 };
  KilnLayerType type;

  kiln_layer_spec_init (&l, KILN_LAYER_LRN, "norm1");
  g_assert_cmpstr (l.name, ==, "norm1");
  g_assert_null (l.inputs);
  g_assert_cmpint (l.stride_h, ==, 1);
  g_assert_cmpint (l.dilation_w, ==, 1);
  g_assert_cmpint (l.group, ==, 1);
  g_assert_true (l.bias);
  g_assert_cmpint (l.local_size, ==, 5);
  g_assert_cmpfloat (l.k, ==, 1.0f);
  g_assert_cmpfloat (l.alpha, ==, 1e-4f);
  g_assert_cmpfloat (l.beta, ==, 0.75f);
  g_assert_cmpfloat (l.ratio, ==, 0.5f);
  g_assert_cmpfloat (l.epsilon, ==, 1e-5f);
  g_assert_cmpfloat (l.momentum, ==, 0.9f);
  g_assert_cmpint (l.axis, ==, 1);
  g_assert_false (l.frozen);

  l.inputs = g_strsplit ("a,b", ",", -1);
  kiln_layer_spec_copy (&l, &copy);
  g_assert_true (copy.name != l.name);
  g_assert_true (copy.inputs != l.inputs);
  g_assert_cmpstrv (copy.inputs, l.inputs);

  for (guint t = 0; t < KILN_LAYER_N_TYPES; t++)
    {
      g_assert_true (kiln_layer_type_from_string (kiln_layer_type_to_string (t), &type));
      g_assert_cmpint (type, ==, t);
    }
  g_assert_false (kiln_layer_type_from_string ("Frobnicate", &type));
  g_assert_true (kiln_layer_type_has_weights (KILN_LAYER_CONVOLUTION));
  g_assert_true (kiln_layer_type_has_weights (KILN_LAYER_BATCH_NORM));
  g_assert_false (kiln_layer_type_has_weights (KILN_LAYER_MAX_POOL));
}

static void
test_add_find_inputs (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 3, 8, 8);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) inputs = NULL;
  KilnLayerSpec l;
  const char *both[] = { "a", "data", NULL };
  const char *later[] = { "nope", NULL };

  add_conv (spec, "a", 4, 3, 1, 1);
  add_simple (spec, KILN_LAYER_RELU, "r", NULL);
  add_simple (spec, KILN_LAYER_CONCAT, "cat", both);
  g_assert_cmpuint (kiln_net_spec_get_n_layers (spec), ==, 3);
  g_assert_cmpint (kiln_net_spec_find_layer (spec, "r"), ==, 1);
  g_assert_cmpint (kiln_net_spec_find_layer (spec, "missing"), ==, -1);

  inputs = kiln_net_spec_get_layer_inputs (spec, 0);
  g_assert_cmpuint (inputs->len, ==, 1);
  g_assert_cmpint (g_array_index (inputs, int, 0), ==, -1);
  g_clear_pointer (&inputs, g_array_unref);
  inputs = kiln_net_spec_get_layer_inputs (spec, 1);
  g_assert_cmpint (g_array_index (inputs, int, 0), ==, 0);
  g_clear_pointer (&inputs, g_array_unref);
  inputs = kiln_net_spec_get_layer_inputs (spec, 2);
  g_assert_cmpuint (inputs->len, ==, 2);
  g_assert_cmpint (g_array_index (inputs, int, 0), ==, 0);
  g_assert_cmpint (g_array_index (inputs, int, 1), ==, -1);

  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_no_error (error);
  assert_shape (spec, "cat", 7, 8, 8);

  /* Duplicates, empty names, the reserved input name, unknown inputs. */
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "r");
  g_assert_false (kiln_net_spec_add_layer (spec, &l, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  kiln_layer_spec_clear (&l);
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "");
  g_assert_false (kiln_net_spec_add_layer (spec, &l, &error));
  g_clear_error (&error);
  kiln_layer_spec_clear (&l);
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "data");
  g_assert_false (kiln_net_spec_add_layer (spec, &l, &error));
  g_clear_error (&error);
  kiln_layer_spec_clear (&l);
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "x");
  l.inputs = g_strdupv ((char **) later);
  g_assert_false (kiln_net_spec_add_layer (spec, &l, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "“nope”"));
  g_clear_error (&error);
  kiln_layer_spec_clear (&l);
  g_assert_cmpuint (kiln_net_spec_get_n_layers (spec), ==, 3);

  /* Hyper-parameters that can never work are refused up front. */
  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "bad");
  l.num_output = 4;
  l.kernel_h = -3;
  l.kernel_w = 3;
  g_assert_false (kiln_net_spec_add_layer (spec, &l, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "bad: kernel -3×3"));
  g_clear_error (&error);
  l.kernel_h = 3;
  l.group = 3;
  g_assert_false (kiln_net_spec_add_layer (spec, &l, &error));
  g_assert_nonnull (strstr (error->message, "4 outputs do not split into 3 groups"));
  g_clear_error (&error);
  kiln_layer_spec_clear (&l);
}

static void
test_copy_and_edit (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 1, 10, 10);
  g_autoptr(KilnNetSpec) copy = NULL;
  g_autoptr(GError) error = NULL;
  int c, h, w;

  KilnLayerSpec l;

  add_conv (spec, "c", 2, 3, 1, 0);
  kiln_layer_spec_init (&l, KILN_LAYER_INNER_PRODUCT, "fc");
  l.num_output = 3;
  add (spec, &l);
  kiln_net_spec_get_layer (spec, 1)->num_output = 5;
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_no_error (error);

  copy = kiln_net_spec_copy (spec);
  kiln_net_spec_get_input (copy, &c, &h, &w);
  g_assert_cmpint (c, ==, 1);
  g_assert_cmpint (h, ==, 10);
  g_assert_cmpint (w, ==, 10);
  g_assert_cmpstr (kiln_net_spec_get_name (copy), ==, "t");
  g_assert_true (kiln_net_spec_get_layer (copy, 0) != kiln_net_spec_get_layer (spec, 0));
  g_assert_cmpstr (kiln_net_spec_get_layer (copy, 0)->name, ==, "c");
  /* Editing the copy leaves the original alone. */
  kiln_net_spec_get_layer (copy, 1)->num_output = 7;
  kiln_net_spec_set_input (copy, 1, 12, 12);
  g_assert_null (kiln_net_spec_get_shape (copy, 0));
  g_assert_true (kiln_net_spec_infer_shapes (copy, &error));
  assert_shape (copy, "c", 2, 10, 10);
  assert_shape (copy, "fc", 7, 1, 1);
  assert_shape (spec, "fc", 5, 1, 1);
  /* c: 2·1·9 + 2; fc: 2·8·8·5 + 5 */
  g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, 20 + 645);
  g_assert_cmpint (kiln_net_spec_get_total_macs (spec), ==, 2 * 9 * 64 + 640);
  g_assert_cmpint (kiln_net_spec_get_total_activation_bytes (spec), ==, (128 + 5) * 4);
}

/* floor((N + pa + pb − d·(F−1) − 1)/S) + 1 on sizes chosen to exercise
 * every term, with exact fit off (PyTorch semantics). */
static void
test_conv_arithmetic (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 4, 17, 20);
  g_autoptr(GError) error = NULL;
  KilnLayerSpec l;
  const KilnLayerShape *shape;

  kiln_net_spec_set_exact_fit (spec, FALSE);
  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "c");
  l.num_output = 6;
  l.kernel_h = 3;
  l.kernel_w = 5;
  l.stride_h = 2;
  l.stride_w = 3;
  l.pad_top = 1;
  l.pad_bottom = 2;
  l.pad_left = 0;
  l.pad_right = 3;
  l.dilation_h = 2;
  l.dilation_w = 1;
  l.group = 2;
  l.bias = FALSE;
  add (spec, &l);
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_no_error (error);
  shape = kiln_net_spec_get_shape (spec, 0);
  /* h: (17 + 1 + 2 − 5)/2 + 1 = 8 (floor of 8.5); w: (20 + 0 + 3 − 5)/3 + 1 = 7 */
  g_assert_cmpint (shape->h, ==, 8);
  g_assert_cmpint (shape->w, ==, 7);
  g_assert_cmpint (shape->c, ==, 6);
  g_assert_cmpint (shape->params, ==, 6 * 2 * 3 * 5);
  g_assert_cmpint (shape->macs, ==, 6 * 2 * 3 * 5 * 8 * 7);

  /* The same layer with exact fit refuses the half row and says how to fix it. */
  kiln_net_spec_set_exact_fit (spec, TRUE);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  /* The arithmetic shows each side's pad when they differ. */
  g_assert_nonnull (strstr (error->message, "c: (17 + 1 + 2 − 5)/2 + 1 = 8.5 is not a whole number"));
  g_assert_nonnull (strstr (error->message, "use input 18×20 (or 16×20)"));
  g_assert_nonnull (strstr (error->message, "pad top 1 and bottom 3"));
  g_assert_null (kiln_net_spec_get_shape (spec, 0));
  g_clear_error (&error);

  /* A pooling window with asymmetric pads (a folded ONNX Pad) that does not fit. */
  g_autoptr(KilnNetSpec) small = kiln_net_spec_new ("small", 2, 2, 8);
  KilnLayerSpec p;
  kiln_layer_spec_init (&p, KILN_LAYER_AVG_POOL, "p");
  p.kernel_h = p.kernel_w = 5;
  p.stride_h = p.stride_w = 1;
  p.pad_bottom = 1;
  p.pad_left = p.pad_right = 2;
  add (small, &p);
  g_assert_false (kiln_net_spec_infer_shapes (small, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "p: the 5-wide window is wider than the padded input: "
                                            "(2 + 0 + 1 − 5)/1 + 1 < 1"));
}

static void
test_exact_fit_error (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 3, 224, 224);
  g_autoptr(GError) error = NULL;

  add_conv (spec, "conv1", 96, 11, 4, 0);
  add_pool (spec, "pool1", 3, 2, 0, KILN_ROUND_CEIL);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  /* 213 needs 3 more rows to reach 216; 213 = 3·71 also tiles with stride 3. */
  g_assert_cmpstr (error->message, ==,
                   "conv1: (224 − 11)/4 + 1 = 54.25 is not a whole number; "
                   "use input 227×227 (or 223×223), or pad top 1 and bottom 2, or stride 3");
  g_clear_error (&error);

  /* Too small an input: the window does not fit, and the smallest size that does is offered. */
  kiln_net_spec_set_input (spec, 3, 8, 8);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "conv1: the vertical window (11) is wider than the padded input: (8 − 11)/4 + 1 < 1"));
  g_assert_nonnull (strstr (error->message, "use input 19×19"));
  g_clear_error (&error);

  /* Not fixable by size at all. */
  kiln_net_spec_set_input (spec, 0, 227, 227);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  kiln_net_spec_set_input (spec, 3, 227, 227);
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_no_error (error);
  assert_shape (spec, "conv1", 96, 55, 55);
  assert_shape (spec, "pool1", 96, 27, 27);
}

static void
test_pool_rounding (void)
{
  struct { int n, k, s, p; KilnRounding r; int expected; } cases[] = {
    { 112, 3, 2, 1, KILN_ROUND_FLOOR, 56 },  /* ResNet's stem pool */
    { 111, 3, 2, 0, KILN_ROUND_CEIL, 55 },   /* SqueezeNet's */
    { 111, 3, 2, 0, KILN_ROUND_FLOOR, 55 },
    { 6, 2, 2, 0, KILN_ROUND_CEIL, 3 },
    { 7, 2, 2, 0, KILN_ROUND_CEIL, 4 },      /* ceil keeps the half window */
    { 7, 2, 2, 0, KILN_ROUND_FLOOR, 3 },
    { 13, 3, 2, 0, KILN_ROUND_CEIL, 6 },
    /* ceil((5 + 2 − 2)/2) + 1 = 4, but that window would start at 6 ≥ 5 + 1. */
    { 5, 2, 2, 1, KILN_ROUND_CEIL, 3 },
    { 6, 1, 4, 0, KILN_ROUND_CEIL, 2 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 2, cases[i].n, cases[i].n);
      g_autoptr(GError) error = NULL;

      add_pool (spec, "p", cases[i].k, cases[i].s, cases[i].p, cases[i].r);
      g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
      g_assert_no_error (error);
      assert_shape (spec, "p", 2, cases[i].expected, cases[i].expected);
      g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, 0);
    }

  /* A window bigger than the input is an error, not a zero-sized output. */
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 2, 2, 2);
  g_autoptr(GError) error = NULL;
  add_pool (spec, "p", 3, 2, 0, KILN_ROUND_CEIL);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "p: the 3-wide window"));
  g_assert_nonnull (strstr (error->message, "use input 3×3"));
}

static void
test_other_layers (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 3, 9, 9);
  g_autoptr(GError) error = NULL;
  const char *branch[] = { "a", "b", NULL };
  const char *skip[] = { "bn", "r", NULL };
  KilnLayerSpec l;

  add_conv (spec, "a", 4, 3, 1, 1);
  add_simple (spec, KILN_LAYER_RELU, "r", NULL);
  add_simple (spec, KILN_LAYER_LRN, "n", NULL);
  add_conv (spec, "b", 4, 3, 1, 1);
  add_simple (spec, KILN_LAYER_BATCH_NORM, "bn", NULL);
  add_simple (spec, KILN_LAYER_ADD, "sum", skip);
  add_simple (spec, KILN_LAYER_CONCAT, "cat", branch);
  add_simple (spec, KILN_LAYER_DROPOUT, "drop", NULL);
  add_simple (spec, KILN_LAYER_GLOBAL_AVG_POOL, "gap", NULL);
  add_simple (spec, KILN_LAYER_FLATTEN, "flat", NULL);
  add_simple (spec, KILN_LAYER_SOFTMAX, "prob", NULL);
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_no_error (error);
  assert_shape (spec, "n", 4, 9, 9);
  assert_shape (spec, "bn", 4, 9, 9);
  assert_shape (spec, "sum", 4, 9, 9);
  assert_shape (spec, "cat", 8, 9, 9);
  assert_shape (spec, "gap", 8, 1, 1);
  assert_shape (spec, "flat", 8, 1, 1);
  assert_shape (spec, "prob", 8, 1, 1);
  g_assert_cmpint (kiln_net_spec_get_shape (spec, 4)->params, ==, 8);
  g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, (4 * 27 + 4) + (4 * 36 + 4) + 8);

  /* Add of mismatched shapes, concat of mismatched sizes. */
  kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, "half");
  l.kernel_h = l.kernel_w = 2;
  l.stride_h = l.stride_w = 2;
  l.inputs = g_strsplit ("b", ",", -1);
  add (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_CONCAT, "badcat");
  l.inputs = g_strsplit ("a,half", ",", -1);
  add (spec, &l);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "badcat: input 2 is 4×4×4 but input 1 is 4×9×9"));
  g_clear_error (&error);

  kiln_layer_spec_clear (&l);
  kiln_layer_spec_init (&l, KILN_LAYER_ADD, "badadd");
  l.inputs = g_strsplit ("gap,a", ",", -1);
  add (spec, &l);
  kiln_net_spec_get_layer (spec, kiln_net_spec_find_layer (spec, "badcat"))->inputs[1][0] = 'b';
  kiln_net_spec_get_layer (spec, kiln_net_spec_find_layer (spec, "badcat"))->inputs[1][1] = '\0';
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "badadd: input 2 is 4×9×9 but input 1 is 8×1×1; Add needs equal shapes"));
}

static void
test_grouped_channels (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("t", 3, 8, 8);
  g_autoptr(GError) error = NULL;
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "g");
  l.num_output = 4;
  l.kernel_h = l.kernel_w = 1;
  l.group = 2;
  add (spec, &l);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "g: 3 input channels do not split into 2 groups"));
  g_clear_error (&error);
  kiln_net_spec_set_input (spec, 6, 8, 8);
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, 4 * 3 + 4);
}

static KilnNetSpec *
preset (const char *name, int classes)
{
  g_autoptr(GError) error = NULL;
  KilnNetSpec *spec = kiln_net_spec_new_preset (name, classes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (spec);
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_no_error (error);
  return spec;
}

static gint64
conv_params (gint64 out, gint64 in, gint64 k)
{
  return out * in * k * k + out;
}

static void
test_preset_alexnet (void)
{
  g_autoptr(KilnNetSpec) spec = preset ("alexnet", 0);
  g_autoptr(GError) error = NULL;
  int fc6 = kiln_net_spec_find_layer (spec, "fc6");
  gint64 expected;
  int c, h, w;

  kiln_net_spec_get_input (spec, &c, &h, &w);
  g_assert_cmpint (c, ==, 3);
  g_assert_cmpint (h, ==, 227);
  g_assert_cmpint (w, ==, 227);
  assert_shape (spec, "conv1", 96, 55, 55);
  assert_shape (spec, "pool1", 96, 27, 27);
  assert_shape (spec, "conv2", 256, 27, 27);
  assert_shape (spec, "pool2", 256, 13, 13);
  assert_shape (spec, "conv3", 384, 13, 13);
  assert_shape (spec, "conv4", 384, 13, 13);
  assert_shape (spec, "conv5", 256, 13, 13);
  assert_shape (spec, "pool5", 256, 6, 6);
  assert_shape (spec, "fc8", 1000, 1, 1);
  /* fc6 reads 256·6·6 = 9216 values. */
  g_assert_cmpint (kiln_net_spec_get_shape (spec, fc6)->params, ==, 9216 * 4096 + 4096);
  g_assert_cmpint (kiln_net_spec_get_shape (spec, fc6)->macs, ==, 9216 * 4096);
  g_assert_cmpfloat (kiln_net_spec_get_layer (spec, kiln_net_spec_find_layer (spec, "norm1"))->k, ==, 2.0f);

  expected = conv_params (96, 3, 11) + conv_params (256, 96, 5) + conv_params (384, 256, 3)
           + conv_params (384, 384, 3) + conv_params (256, 384, 3)
           + (9216 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000);
  g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, expected);
  g_assert_cmpint (expected, ==, 62378344);
  /* conv1 alone: 96·3·121 multiply-adds at each of 55·55 outputs. */
  g_assert_cmpint (kiln_net_spec_get_shape (spec, 0)->macs, ==, (gint64) 96 * 3 * 121 * 55 * 55);

  /* The classic mistake: feeding it 224. */
  kiln_net_spec_set_input (spec, 3, 224, 224);
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_cmpstr (error->message, ==,
                   "conv1: (224 − 11)/4 + 1 = 54.25 is not a whole number; "
                   "use input 227×227 (or 223×223), or pad top 1 and bottom 2, or stride 3");
}

static void
test_preset_caffenet (void)
{
  g_autoptr(KilnNetSpec) spec = preset ("caffenet", 0);
  gint64 expected;

  assert_shape (spec, "pool1", 96, 27, 27);
  assert_shape (spec, "norm1", 96, 27, 27);
  assert_shape (spec, "pool5", 256, 6, 6);
  g_assert_cmpint (kiln_net_spec_get_layer (spec, kiln_net_spec_find_layer (spec, "conv2"))->group, ==, 2);
  expected = conv_params (96, 3, 11) + conv_params (256, 48, 5) + conv_params (384, 256, 3)
           + conv_params (384, 192, 3) + conv_params (256, 192, 3)
           + (9216 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000);
  g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, expected);
  g_assert_cmpint (expected, ==, 60965224);
}

static void
test_preset_counts (void)
{
  struct { const char *name; int classes; gint64 params; int c, h, w; } cases[] = {
    /* torchvision's sum(p.numel() for p in model.parameters()) */
    { "vgg16", 1000, 138357544, 1000, 1, 1 },
    { "resnet18", 1000, 11689512, 1000, 1, 1 },
    { "squeezenet1_1", 1000, 1235496, 1000, 1, 1 },
    /* Caffe LeNet: 520 + 25050 + 400500 + 5010 */
    { "lenet", 0, 431080, 10, 1, 1 },
    /* 320 + 64 + 18496 + 128 + 36928 + 128 + 803072 + 2570 */
    { "fashion-bn", 0, 861706, 10, 1, 1 },
    { "alexnet", 10, 62378344 - 4097000 + 40970, 10, 1, 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(KilnNetSpec) spec = preset (cases[i].name, cases[i].classes);
      guint last = kiln_net_spec_get_n_layers (spec) - 1;
      const KilnLayerShape *shape = kiln_net_spec_get_shape (spec, last);

      g_test_message ("%s", cases[i].name);
      g_assert_cmpint (kiln_net_spec_get_total_params (spec), ==, cases[i].params);
      g_assert_cmpint (shape->c, ==, cases[i].c);
      g_assert_cmpint (shape->h, ==, cases[i].h);
      g_assert_cmpint (shape->w, ==, cases[i].w);
    }

  g_autoptr(KilnNetSpec) resnet = preset ("resnet18", 0);
  g_autoptr(KilnNetSpec) squeeze = preset ("squeezenet1_1", 0);
  g_autoptr(KilnNetSpec) lenet = preset ("lenet", 0);
  g_autoptr(KilnNetSpec) vgg = preset ("vgg16", 0);
  g_autoptr(KilnNetSpec) fashion = preset ("fashion-bn", 0);
  assert_shape (resnet, "conv1", 64, 112, 112);
  assert_shape (resnet, "maxpool", 64, 56, 56);
  assert_shape (resnet, "layer2.0.add", 128, 28, 28);
  assert_shape (resnet, "layer4.1.relu2", 512, 7, 7);
  assert_shape (resnet, "avgpool", 512, 1, 1);
  assert_shape (squeeze, "conv1", 64, 111, 111);
  assert_shape (squeeze, "pool1", 64, 55, 55);
  assert_shape (squeeze, "fire2/concat", 128, 55, 55);
  assert_shape (squeeze, "fire9/concat", 512, 13, 13);
  assert_shape (lenet, "pool2", 50, 4, 4);
  assert_shape (fashion, "bn2", 64, 14, 14);
  assert_shape (fashion, "bn3", 64, 7, 7);
  assert_shape (vgg, "pool5", 512, 7, 7);
  /* VGG-16 is the one that costs 15.5 GMACs. */
  g_assert_cmpint (kiln_net_spec_get_total_macs (vgg), >, 15000000000);
}

static void
test_preset_unknown (void)
{
  g_autoptr(GError) error = NULL;
  const char *const *names = kiln_net_spec_list_presets ();

  g_assert_cmpuint (g_strv_length ((char **) names), ==, 7);
  g_assert_true (g_strv_contains (names, "squeezenet1_1"));
  g_assert_null (kiln_net_spec_new_preset ("alexnett", 0, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "“alexnett”"));
  g_assert_nonnull (strstr (error->message, "alexnet, caffenet"));
}

static char *
spec_to_text (KilnNetSpec *spec)
{
  g_autoptr(JsonNode) node = kiln_net_spec_to_json (spec);
  return json_to_string (node, FALSE);
}

/* A Pad layer: begin and end pads per axis in the shape, its mode and
 * value through JSON, reflect refused where it would read past the input. */
static void
test_pad_layer (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("padded", 2, 5, 4);
  g_autoptr(KilnNetSpec) loaded = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_PAD, "pad");
  l.pad_top = 1;
  l.pad_left = 0;
  l.pad_bottom = 2;
  l.pad_right = 3;
  l.pad_mode = KILN_PAD_REFLECT;
  l.pad_value = 0.25f;
  add (spec, &l);
  add_conv (spec, "conv", 3, 3, 1, 0);
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_no_error (error);
  assert_shape (spec, "pad", 2, 8, 7);
  assert_shape (spec, "conv", 3, 6, 5);
  g_assert_cmpint (kiln_net_spec_get_shape (spec, 0)->params, ==, 0);

  node = kiln_net_spec_to_json (spec);
  text = json_to_string (node, FALSE);
  g_assert_nonnull (strstr (text, "\"pad\":[1,0,2,3],\"mode\":\"reflect\",\"value\":0.25"));
  loaded = kiln_net_spec_new_from_json (node, &error);
  g_assert_no_error (error);
  KilnLayerSpec *back = kiln_net_spec_get_layer (loaded, 0);
  g_assert_cmpint (back->type, ==, KILN_LAYER_PAD);
  g_assert_cmpint (back->pad_mode, ==, KILN_PAD_REFLECT);
  g_assert_cmpfloat (back->pad_value, ==, 0.25f);
  g_assert_cmpint (back->pad_bottom, ==, 2);
  g_assert_cmpint (back->pad_right, ==, 3);

  /* Reflect over a 4-wide input reaches at most 3 values out. */
  kiln_net_spec_get_layer (spec, 0)->pad_right = 4;
  g_assert_false (kiln_net_spec_infer_shapes (spec, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "pad: reflect pads"));
  g_assert_nonnull (strstr (error->message, "edge mode"));
  g_clear_error (&error);
  kiln_net_spec_get_layer (spec, 0)->pad_mode = KILN_PAD_EDGE;
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  assert_shape (spec, "pad", 2, 8, 8);
}

static void
test_json_round_trip (void)
{
  const char *const *names = kiln_net_spec_list_presets ();
  g_autofree char *dir = g_dir_make_tmp ("kiln-netspec-XXXXXX", NULL);

  g_assert_nonnull (dir);
  for (guint i = 0; names[i]; i++)
    {
      g_autoptr(KilnNetSpec) spec = preset (names[i], 7);
      g_autoptr(KilnNetSpec) loaded = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *path = g_build_filename (dir, "spec.json", NULL);
      g_autofree char *before = NULL, *after = NULL;

      /* Touch the fields presets leave at defaults so they travel too. */
      kiln_net_spec_get_layer (spec, 0)->frozen = TRUE;
      before = spec_to_text (spec);
      g_assert_true (kiln_net_spec_save (spec, path, &error));
      g_assert_no_error (error);
      loaded = kiln_net_spec_new_from_file (path, &error);
      g_assert_no_error (error);
      after = spec_to_text (loaded);
      g_assert_cmpstr (before, ==, after);

      g_assert_cmpuint (kiln_net_spec_get_n_layers (loaded), ==, kiln_net_spec_get_n_layers (spec));
      g_assert_cmpint (kiln_net_spec_get_exact_fit (loaded), ==, kiln_net_spec_get_exact_fit (spec));
      for (guint l = 0; l < kiln_net_spec_get_n_layers (spec); l++)
        {
          KilnLayerSpec *a = kiln_net_spec_get_layer (spec, l);
          KilnLayerSpec *b = kiln_net_spec_get_layer (loaded, l);
          g_assert_cmpstr (a->name, ==, b->name);
          g_assert_cmpint (a->type, ==, b->type);
          g_assert_cmpint (a->frozen, ==, b->frozen);
          g_assert_cmpfloat (a->alpha, ==, b->alpha);
          g_assert_cmpfloat (a->k, ==, b->k);
          g_assert_cmpint (a->pad_bottom, ==, b->pad_bottom);
          g_assert_cmpint (a->group, ==, b->group);
          g_assert_cmpint (a->rounding, ==, b->rounding);
          if (a->inputs)
            g_assert_cmpstrv (a->inputs, b->inputs);
          else
            g_assert_null (b->inputs);
        }
      g_assert_true (kiln_net_spec_infer_shapes (loaded, &error));
      g_assert_cmpint (kiln_net_spec_get_total_params (loaded), ==, kiln_net_spec_get_total_params (spec));
      g_assert_cmpint (kiln_net_spec_get_total_macs (loaded), ==, kiln_net_spec_get_total_macs (spec));
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);

  /* Short forms: a single int for kernel/stride/pad, [h, w] pads. */
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser,
    "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"short\","
    " \"input\": {\"channels\": 1, \"height\": 9, \"width\": 9},"
    " \"layers\": [{\"name\": \"c\", \"type\": \"convolution\", \"num_output\": 2, \"kernel\": 3,"
    "               \"pad\": [1, 0], \"stride\": 2}]}", -1, &error));
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_from_json (json_parser_get_root (parser), &error);
  g_assert_no_error (error);
  KilnLayerSpec *c = kiln_net_spec_get_layer (spec, 0);
  g_assert_cmpint (c->kernel_w, ==, 3);
  g_assert_cmpint (c->stride_h, ==, 2);
  g_assert_cmpint (c->pad_top, ==, 1);
  g_assert_cmpint (c->pad_bottom, ==, 1);
  g_assert_cmpint (c->pad_left, ==, 0);
  g_assert_true (kiln_net_spec_get_exact_fit (spec));
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));
  assert_shape (spec, "c", 2, 5, 4);
}

static void
test_json_hostile (void)
{
  static const char *const start =
    "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"t\","
    " \"input\": {\"channels\": 3, \"height\": 8, \"width\": 8}, \"layers\": [";
  static const char *const conv = "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 4, \"kernel\": 3";
  struct { const char *whole; const char *layers; int code; const char *says; } cases[] = {
    { "[]", NULL, KILN_ENGINE_ERROR_CORRUPT, "JSON object" },
    { "{\"version\": 1}", NULL, KILN_ENGINE_ERROR_CORRUPT, "“format”" },
    { "{\"format\": \"kiln-netspec\", \"version\": 2}", NULL, KILN_ENGINE_ERROR_UNSUPPORTED, "version 2" },
    { "{\"format\": \"kiln-netspec\", \"version\": \"1\"}", NULL, KILN_ENGINE_ERROR_UNSUPPORTED, "version" },
    { "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"t\", \"input\": {\"channels\": \"3\", \"height\": 8, \"width\": 8}, \"layers\": []}",
      NULL, KILN_ENGINE_ERROR_CORRUPT, "“input”" },
    { "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"t\", \"input\": {\"channels\": 3, \"height\": -8, \"width\": 8}, \"layers\": []}",
      NULL, KILN_ENGINE_ERROR_CORRUPT, "positive integers" },
    { "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"t\", \"input\": {\"channels\": 3, \"height\": 8, \"width\": 8}, \"layers\": {}}",
      NULL, KILN_ENGINE_ERROR_CORRUPT, "“layers”" },
    { "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"t\", \"input\": {\"channels\": 3, \"height\": 8, \"width\": 8}, \"layers\": [], \"evil\": 1}",
      NULL, KILN_ENGINE_ERROR_CORRUPT, "Unknown field “evil”" },
    { NULL, "", KILN_ENGINE_ERROR_CORRUPT, "“layers”" },
    { NULL, "3", KILN_ENGINE_ERROR_CORRUPT, "Layer 1 is not a JSON object" },
    { NULL, "{\"type\": \"ReLU\"}", KILN_ENGINE_ERROR_CORRUPT, "no “name”" },
    { NULL, "{\"name\": \"x\", \"type\": \"Frobnicate\"}", KILN_ENGINE_ERROR_UNSUPPORTED, "x: unknown layer type “Frobnicate”" },
    { NULL, "{\"name\": \"x\", \"type\": 5}", KILN_ENGINE_ERROR_UNSUPPORTED, "unknown layer type" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 4, \"kernel\": \"3\"}", KILN_ENGINE_ERROR_CORRUPT, "c: “kernel” must be an integer or [height, width]" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 4, \"kernel\": -3}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "c: kernel -3×-3" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 4, \"kernel\": [1, 2, 3]}", KILN_ENGINE_ERROR_CORRUPT, "“kernel”" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 1e10, \"kernel\": 3}", KILN_ENGINE_ERROR_CORRUPT, "“num_output” must be an integer" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 99999999999, \"kernel\": 3}", KILN_ENGINE_ERROR_CORRUPT, "“num_output”" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 4, \"kernel\": 3, \"bias\": 1}", KILN_ENGINE_ERROR_CORRUPT, "“bias” must be true or false" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"num_output\": 4, \"kernel\": 3, \"pad\": [-1, 0]}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "c: pads" },
    { NULL, "{\"name\": \"c\", \"type\": \"Convolution\", \"kernel\": 3}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "c: 0 outputs" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"kernel\": 3}", KILN_ENGINE_ERROR_CORRUPT, "r: a ReLU layer has no field “kernel”" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"kernal\": 3}", KILN_ENGINE_ERROR_CORRUPT, "no field “kernal”" },
    { NULL, "{\"name\": \"d\", \"type\": \"Dropout\", \"ratio\": 1.5}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "d: dropout ratio 1.5" },
    { NULL, "{\"name\": \"d\", \"type\": \"Dropout\", \"ratio\": \"half\"}", KILN_ENGINE_ERROR_CORRUPT, "a finite number" },
    { NULL, "{\"name\": \"d\", \"type\": \"Dropout\", \"ratio\": 1e300}", KILN_ENGINE_ERROR_CORRUPT, "a finite number" },
    { NULL, "{\"name\": \"p\", \"type\": \"MaxPool\", \"kernel\": 2, \"rounding\": \"up\"}", KILN_ENGINE_ERROR_CORRUPT, "“floor” or “ceil”" },
    { NULL, "{\"name\": \"p\", \"type\": \"AvgPool\", \"kernel\": 2, \"pad\": 2}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "p: pads (top 2, left 2, bottom 2, right 2) must be smaller than the 2×2 window" },
    { NULL, "{\"name\": \"q\", \"type\": \"Pad\", \"pad\": 1, \"mode\": \"wrap\"}", KILN_ENGINE_ERROR_CORRUPT, "q: “mode” must be “constant”, “edge” or “reflect”" },
    { NULL, "{\"name\": \"q\", \"type\": \"Pad\", \"pad\": [0, -1]}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "q: pads (top 0, left -1" },
    { NULL, "{\"name\": \"q\", \"type\": \"Pad\", \"kernel\": 3}", KILN_ENGINE_ERROR_CORRUPT, "q: a Pad layer has no field “kernel”" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"mode\": \"edge\"}", KILN_ENGINE_ERROR_CORRUPT, "no field “mode”" },
    { NULL, "{\"name\": \"k\", \"type\": \"Concat\", \"axis\": 2, \"inputs\": [\"data\", \"data\"]}", KILN_ENGINE_ERROR_UNSUPPORTED, "axis 2" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"inputs\": [\"nope\"]}", KILN_ENGINE_ERROR_NOT_FOUND, "r: input “nope”" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"inputs\": []}", KILN_ENGINE_ERROR_CORRUPT, "non-empty array" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"inputs\": [3]}", KILN_ENGINE_ERROR_CORRUPT, "“inputs”" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"inputs\": \"data\"}", KILN_ENGINE_ERROR_CORRUPT, "“inputs”" },
    /* Cycles: a layer reading itself, and two reading each other. */
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\", \"inputs\": [\"r\"]}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "r: input “r” comes later" },
    { NULL, "{\"name\": \"a\", \"type\": \"ReLU\", \"inputs\": [\"b\"]}, {\"name\": \"b\", \"type\": \"ReLU\", \"inputs\": [\"a\"]}",
      KILN_ENGINE_ERROR_NOT_FOUND, "a: input “b”" },
    { NULL, "{\"name\": \"r\", \"type\": \"ReLU\"}, {\"name\": \"r\", \"type\": \"ReLU\"}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "already taken" },
    { NULL, "{\"name\": \"data\", \"type\": \"ReLU\"}", KILN_ENGINE_ERROR_INVALID_ARGUMENT, "already taken" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *text = cases[i].whole ? g_strdup (cases[i].whole)
                                             : g_strconcat (start, cases[i].layers, "]}", NULL);
      g_autoptr(KilnNetSpec) spec = NULL;

      g_test_message ("case %u: %s", i, text);
      g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
      spec = kiln_net_spec_new_from_json (json_parser_get_root (parser), &error);
      g_assert_null (spec);
      g_assert_error (error, KILN_ENGINE_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].says) == NULL)
        g_error ("case %u: “%s” does not say “%s”", i, error->message, cases[i].says);
    }

  /* The same shape, valid, loads: the cases above fail for their stated reason. */
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strconcat (start, conv, "}]}", NULL);
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_from_json (json_parser_get_root (parser), &error);
  g_assert_no_error (error);
  g_assert_nonnull (spec);
}

static void
test_json_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-netspec-XXXXXX", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.json", NULL);
  g_autofree char *broken = g_build_filename (dir, "broken.json", NULL);
  g_autofree char *unwritable = g_build_filename (dir, "no", "such", "dir.json", NULL);
  g_autoptr(KilnNetSpec) spec = preset ("lenet", 0);
  g_autoptr(GError) error = NULL;

  g_assert_null (kiln_net_spec_new_from_file (missing, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (broken, "{\"format\": \"kiln-netspec\", ", -1, NULL));
  g_assert_null (kiln_net_spec_new_from_file (broken, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, broken));
  g_clear_error (&error);

  g_assert_false (kiln_net_spec_save (spec, unwritable, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_IO);
  g_clear_error (&error);

  /* Saving over an existing file replaces it whole. */
  g_assert_true (kiln_net_spec_save (spec, broken, &error));
  g_autoptr(KilnNetSpec) loaded = kiln_net_spec_new_from_file (broken, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_net_spec_get_name (loaded), ==, "lenet");
  g_assert_cmpint (g_remove (broken), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static const KilnLayerChange *
find_change (GPtrArray *changes, const char *name)
{
  for (guint i = 0; i < changes->len; i++)
    {
      const KilnLayerChange *change = g_ptr_array_index (changes, i);
      if (g_str_equal (change->name, name))
        return change;
    }
  g_error ("no change entry for %s", name);
  return NULL;
}

static void
test_compare_input (void)
{
  g_autoptr(KilnNetSpec) spec = preset ("alexnet", 0);
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GError) error = NULL;
  const KilnLayerChange *change;
  guint n_changed = 0;

  /* 259 = 227 + 32: pool5 becomes 7×7, so fc6 reads 256·49 = 12544 values. */
  changes = kiln_net_spec_compare_input (spec, 3, 259, 259, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, kiln_net_spec_get_n_layers (spec));
  for (guint i = 0; i < changes->len; i++)
    {
      change = g_ptr_array_index (changes, i);
      g_assert_cmpuint (change->index, ==, i);
      n_changed += change->weights_change;
    }
  g_assert_cmpuint (n_changed, ==, 1);

  change = find_change (changes, "fc6");
  g_assert_true (change->weights_change);
  g_assert_cmpint (change->old_fan_in, ==, 9216);
  g_assert_cmpint (change->new_fan_in, ==, 12544);
  g_assert_cmpint (change->old_params, ==, 9216 * 4096 + 4096);
  g_assert_cmpint (change->new_params, ==, 12544 * 4096 + 4096);
  g_assert_cmpstr (change->description, ==, "fc6: inputs 9216 → 12544; weights must be re-initialised");

  change = find_change (changes, "conv1");
  g_assert_false (change->weights_change);
  g_assert_cmpint (change->old_fan_in, ==, 3 * 121);
  g_assert_cmpint (change->new_h, ==, 63);
  g_assert_cmpstr (change->description, ==, "conv1: weights kept; output 96×55×55 → 96×63×63");
  change = find_change (changes, "pool5");
  g_assert_cmpstr (change->description, ==, "pool5: output 256×6×6 → 256×7×7");
  change = find_change (changes, "fc7");
  g_assert_false (change->weights_change);
  g_assert_cmpstr (change->description, ==, "fc7: weights kept; output 4096×1×1 unchanged");
  /* The spec itself is untouched. */
  g_assert_cmpint (kiln_net_spec_get_shape (spec, kiln_net_spec_find_layer (spec, "pool5"))->h, ==, 6);
  g_clear_pointer (&changes, g_ptr_array_unref);

  /* Gray input: only conv1's weights change. */
  changes = kiln_net_spec_compare_input (spec, 1, 227, 227, &error);
  g_assert_no_error (error);
  change = find_change (changes, "conv1");
  g_assert_true (change->weights_change);
  g_assert_cmpstr (change->description, ==, "conv1: inputs 363 → 121; weights must be re-initialised");
  g_assert_false (find_change (changes, "fc6")->weights_change);
  g_clear_pointer (&changes, g_ptr_array_unref);

  /* ResNet-18 takes any size ≥ 32 without touching its weights (global pooling). */
  g_autoptr(KilnNetSpec) resnet = preset ("resnet18", 0);
  changes = kiln_net_spec_compare_input (resnet, 3, 320, 320, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < changes->len; i++)
    g_assert_false (((KilnLayerChange *) g_ptr_array_index (changes, i))->weights_change);
  g_clear_pointer (&changes, g_ptr_array_unref);

  /* A size that does not fit is the inference error. */
  changes = kiln_net_spec_compare_input (spec, 3, 224, 224, &error);
  g_assert_null (changes);
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "54.25"));
}

/* kiln_window_extent() alone: the arithmetic shape inference, the ops and
 * the ONNX export share. */
static void
test_window_extent (void)
{
  struct {
    int n, k, s, d, p0, p1;
    KilnRounding r;
    gint64 span, numerator, size, extra;
    gboolean whole, dropped;
  } cases[] = {
    /* AlexNet conv1: (227 − 11)/4 + 1 = 55, whole. */
    { 227, 11, 4, 1, 0, 0, KILN_ROUND_FLOOR, 11, 216, 55, 0, TRUE, FALSE },
    /* At 224: (224 − 11)/4 + 1 = 54.25, not whole; floor gives 54. */
    { 224, 11, 4, 1, 0, 0, KILN_ROUND_FLOOR, 11, 213, 54, 0, FALSE, FALSE },
    /* The same with ceil reads 3 rows past the input. */
    { 224, 11, 4, 1, 0, 0, KILN_ROUND_CEIL, 11, 213, 55, 3, FALSE, FALSE },
    /* Padding on both sides: (224 + 1 + 2 − 11)/4 + 1 = 55. */
    { 224, 11, 4, 1, 1, 2, KILN_ROUND_FLOOR, 11, 216, 55, 0, TRUE, FALSE },
    /* Dilation 2 spreads a 3-tap kernel over 5: (17 + 3 − 5)/2 + 1 = 8 (8.5). */
    { 17, 3, 2, 2, 1, 2, KILN_ROUND_FLOOR, 5, 15, 8, 0, FALSE, FALSE },
    /* Floor and ceil pooling differ on a half window: 7 wide, 2 by 2. */
    { 7, 2, 2, 1, 0, 0, KILN_ROUND_FLOOR, 2, 5, 3, 0, FALSE, FALSE },
    { 7, 2, 2, 1, 0, 0, KILN_ROUND_CEIL, 2, 5, 4, 1, FALSE, FALSE },
    /* AlexNet pool1 at 55: (55 − 3)/2 + 1 = 27 either way. */
    { 55, 3, 2, 1, 0, 0, KILN_ROUND_CEIL, 3, 52, 27, 0, TRUE, FALSE },
    /* ceil((5 + 2 − 2)/2) + 1 = 4, but the 4th window would start at 6,
     * past the input and its leading pad (5 + 1): it is dropped. */
    { 5, 2, 2, 1, 1, 1, KILN_ROUND_CEIL, 2, 5, 3, 0, FALSE, TRUE },
    /* A window exactly as wide as the input: one position. */
    { 3, 3, 2, 1, 0, 0, KILN_ROUND_CEIL, 3, 0, 1, 0, TRUE, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      KilnWindowExtent e;

      g_test_message ("case %u: n %d, kernel %d, stride %d", i, cases[i].n, cases[i].k, cases[i].s);
      g_assert_true (kiln_window_extent (cases[i].n, cases[i].k, cases[i].s, cases[i].d,
                                         cases[i].p0, cases[i].p1, cases[i].r, &e));
      g_assert_cmpint (e.span, ==, cases[i].span);
      g_assert_cmpint (e.numerator, ==, cases[i].numerator);
      g_assert_cmpint (e.size, ==, cases[i].size);
      g_assert_cmpint (e.extra_after, ==, cases[i].extra);
      g_assert_cmpint (e.whole, ==, cases[i].whole);
      g_assert_cmpint (e.dropped_last, ==, cases[i].dropped);
    }

  /* A window wider than the padded input does not fit; span and numerator
   * are still there for the message: (8 − 11) < 0. */
  KilnWindowExtent e;
  g_assert_false (kiln_window_extent (8, 11, 4, 1, 0, 0, KILN_ROUND_FLOOR, &e));
  g_assert_cmpint (e.span, ==, 11);
  g_assert_cmpint (e.numerator, ==, -3);
  g_assert_cmpint (e.size, ==, 0);
  /* Dilation is what makes it too wide here: (3 − 1)·3 + 1 = 7 > 6. */
  g_assert_true (kiln_window_extent (6, 3, 1, 2, 0, 0, KILN_ROUND_FLOOR, &e));
  g_assert_false (kiln_window_extent (6, 3, 1, 3, 0, 0, KILN_ROUND_FLOOR, &e));
  g_assert_cmpint (e.span, ==, 7);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/netspec/defaults", test_defaults);
  g_test_add_func ("/netspec/add-find-inputs", test_add_find_inputs);
  g_test_add_func ("/netspec/copy-and-edit", test_copy_and_edit);
  g_test_add_func ("/netspec/window-extent", test_window_extent);
  g_test_add_func ("/netspec/conv-arithmetic", test_conv_arithmetic);
  g_test_add_func ("/netspec/exact-fit-error", test_exact_fit_error);
  g_test_add_func ("/netspec/pool-rounding", test_pool_rounding);
  g_test_add_func ("/netspec/other-layers", test_other_layers);
  g_test_add_func ("/netspec/grouped-channels", test_grouped_channels);
  g_test_add_func ("/netspec/preset/alexnet", test_preset_alexnet);
  g_test_add_func ("/netspec/preset/caffenet", test_preset_caffenet);
  g_test_add_func ("/netspec/preset/counts", test_preset_counts);
  g_test_add_func ("/netspec/preset/unknown", test_preset_unknown);
  g_test_add_func ("/netspec/pad-layer", test_pad_layer);
  g_test_add_func ("/netspec/json/round-trip", test_json_round_trip);
  g_test_add_func ("/netspec/json/hostile", test_json_hostile);
  g_test_add_func ("/netspec/json/files", test_json_files);
  g_test_add_func ("/netspec/compare-input", test_compare_input);
  return g_test_run ();
}
