/* KilnNetCalc, the layer-size calculator: AlexNet's sizes at 227, what goes
 * wrong at 224 and what that does to fc6, the fixes and that applying them
 * makes every row whole, compare mode, edits, and rows that notify. */
#include <glib.h>

#include "kiln-core.h"

static KilnNetCalc *
preset_calc (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset (name, 0, &error);

  g_assert_no_error (error);
  return kiln_net_calc_new (spec);
}

static KilnCalcRow *
row_named (KilnNetCalc *calc, const char *name)
{
  int index = kiln_net_spec_find_layer (kiln_net_calc_get_spec (calc), name);

  g_assert_cmpint (index, >=, 0);
  return kiln_net_calc_get_row (calc, index);
}

static void
assert_output (KilnNetCalc *calc, const char *name, int w, int h, int d)
{
  KilnCalcRow *row = row_named (calc, name);
  int rd, rh, rw;

  g_assert_true (kiln_calc_row_has_output (row));
  kiln_calc_row_get_output (row, &rd, &rh, &rw);
  g_assert_cmpint (rw, ==, w);
  g_assert_cmpint (rh, ==, h);
  g_assert_cmpint (rd, ==, d);
}

static void
test_alexnet_227 (void)
{
  g_autoptr(KilnNetCalc) calc = preset_calc ("alexnet");
  static const struct { const char *name; int side; } sides[] = {
    { "conv1", 55 }, { "pool1", 27 }, { "conv2", 27 }, { "pool2", 13 },
    { "conv3", 13 }, { "conv4", 13 }, { "conv5", 13 }, { "pool5", 6 },
  };
  KilnCalcRow *conv1, *fc6;
  g_autofree char *output = NULL;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (calc)), ==, 22);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (calc)) == KILN_TYPE_CALC_ROW);
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    {
      KilnCalcRow *row = row_named (calc, sides[i].name);
      int h, w;
      kiln_calc_row_get_output (row, NULL, &h, &w);
      g_assert_cmpint (h, ==, sides[i].side);
      g_assert_cmpint (w, ==, sides[i].side);
      g_assert_cmpint (kiln_calc_row_get_fit (row), ==, KILN_CALC_FIT_WHOLE);
    }
  g_assert_true (kiln_net_calc_is_whole (calc));
  g_assert_null (kiln_net_calc_get_error (calc));
  g_assert_null (kiln_net_calc_get_downstream (calc));
  g_assert_cmpint (kiln_net_calc_get_first_problem (calc), ==, -1);

  conv1 = row_named (calc, "conv1");
  g_assert_cmpstr (kiln_calc_row_get_arithmetic (conv1), ==, "(227 − 11)/4 + 1 = 55");
  g_assert_cmpint (kiln_calc_row_get_outputs (conv1), ==, 96);
  g_assert_cmpint (kiln_calc_row_get_params (conv1), ==, 96 * 3 * 11 * 11 + 96);
  g_assert_cmpint (kiln_calc_row_get_macs (conv1), ==, (gint64) 96 * 3 * 121 * 55 * 55);
  output = kiln_calc_row_format_output (conv1);
  g_assert_cmpstr (output, ==, "55 × 55 × 96");
  g_assert_cmpstr (kiln_calc_row_get_arithmetic (row_named (calc, "conv2")), ==, "(27 + 4 − 5)/1 + 1 = 27");

  /* 9216 = 6 × 6 × 256 into fc6. */
  fc6 = row_named (calc, "fc6");
  g_assert_cmpint (kiln_calc_row_get_fan_in (fc6), ==, 9216);
  g_assert_cmpstr (kiln_calc_row_get_arithmetic (fc6), ==, "6 × 6 × 256 = 9,216 inputs");
  g_assert_cmpint (kiln_net_calc_get_total_params (calc), ==, 62378344);
}

/* Asymmetric pads (a folded ONNX Pad, SAME padding) show on each side: the
 * same totals with the odd pad at the top or the left are two sums. */
static void
test_asymmetric_pads (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("asym", 3, 13, 13);
  g_autoptr(GError) error = NULL;
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "conv");
  l.num_output = 4;
  l.kernel_h = l.kernel_w = 3;
  l.stride_h = l.stride_w = 2;
  l.pad_bottom = l.pad_left = 2;
  kiln_net_spec_add_layer (spec, &l, &error);
  g_assert_no_error (error);
  kiln_layer_spec_clear (&l);

  g_autoptr(KilnNetCalc) calc = kiln_net_calc_new (spec);
  g_assert_cmpstr (kiln_calc_row_get_arithmetic (row_named (calc, "conv")), ==,
                   "height: (13 + 0 + 2 − 3)/2 + 1 = 7\nwidth: (13 + 2 + 0 − 3)/2 + 1 = 7");
  assert_output (calc, "conv", 7, 7, 4);
}

/* A Pad row shows begin + end per axis. */
static void
test_pad_row (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("pad", 3, 11, 11);
  g_autoptr(GError) error = NULL;
  KilnLayerSpec l;
  int top, left, bottom, right;

  kiln_layer_spec_init (&l, KILN_LAYER_PAD, "pad1");
  l.pad_bottom = 1;
  l.pad_left = 1;
  l.pad_right = 2;
  l.pad_value = 1.0f;
  kiln_net_spec_add_layer (spec, &l, &error);
  g_assert_no_error (error);
  kiln_layer_spec_clear (&l);

  g_autoptr(KilnNetCalc) calc = kiln_net_calc_new (spec);
  KilnCalcRow *row = row_named (calc, "pad1");
  g_assert_cmpstr (kiln_calc_row_get_arithmetic (row), ==, "height: 11 + 0 + 1 = 12\nwidth: 11 + 1 + 2 = 14");
  assert_output (calc, "pad1", 14, 12, 3);
  kiln_calc_row_get_pads (row, &top, &left, &bottom, &right);
  g_assert_cmpint (left, ==, 1);
  g_assert_cmpint (right, ==, 2);
  g_assert_true (kiln_calc_row_param_applies (row, KILN_CALC_PARAM_PAD));
  g_assert_false (kiln_calc_row_param_applies (row, KILN_CALC_PARAM_KERNEL));
  g_assert_true (kiln_net_calc_set_param (calc, 0, KILN_CALC_PARAM_PAD, 2, &error));
  g_assert_no_error (error);
  assert_output (calc, "pad1", 15, 15, 3);
}

static const KilnCalcFix *
find_fix (KilnCalcRow *row, KilnCalcFixKind kind)
{
  GPtrArray *fixes = kiln_calc_row_get_fixes (row);

  for (guint i = 0; i < fixes->len; i++)
    if (((KilnCalcFix *) fixes->pdata[i])->kind == kind)
      return fixes->pdata[i];
  return NULL;
}

static void
assert_all_whole (KilnNetCalc *calc)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (calc)); i++)
    g_assert_cmpint (kiln_calc_row_get_fit (kiln_net_calc_get_row (calc, i)), ==, KILN_CALC_FIT_WHOLE);
  g_assert_true (kiln_net_calc_is_whole (calc));
  g_assert_null (kiln_net_calc_get_error (calc));
}

static void
test_alexnet_224 (void)
{
  g_autoptr(KilnNetCalc) calc = preset_calc ("alexnet");
  g_autoptr(GError) error = NULL;
  KilnCalcRow *conv1;
  GPtrArray *fixes;
  const KilnCalcFix *fix;

  kiln_net_calc_set_input (calc, 3, 224, 224);
  conv1 = row_named (calc, "conv1");
  g_assert_cmpint (kiln_calc_row_get_fit (conv1), ==, KILN_CALC_FIT_MISMATCH);
  g_assert_cmpint (kiln_net_calc_get_first_problem (calc), ==, 0);
  g_assert_false (kiln_net_calc_is_whole (calc));
  g_assert_cmpstr (kiln_calc_row_get_arithmetic (conv1), ==, "(224 − 11)/4 + 1 = 54.25 → 54");
  g_assert_cmpstr (kiln_calc_row_get_message (conv1), ==, "(224 − 11)/4 + 1 = 54.25 is not a whole number");
  /* The calculator goes on as PyTorch would: conv1 floors to 54. */
  assert_output (calc, "conv1", 54, 54, 96);
  /* The net's own ceil pooling rounds 26.5 up; that is rounding, not a mismatch. */
  g_assert_cmpint (kiln_calc_row_get_fit (row_named (calc, "pool1")), ==, KILN_CALC_FIT_ROUNDED);
  assert_output (calc, "pool1", 27, 27, 96);

  /* The fixes: 227 first, then 223, a pad and a stride. */
  fixes = kiln_calc_row_get_fixes (conv1);
  g_assert_cmpuint (fixes->len, ==, 4);
  fix = fixes->pdata[0];
  g_assert_cmpint (fix->kind, ==, KILN_CALC_FIX_INPUT);
  g_assert_cmpint (fix->height, ==, 227);
  g_assert_cmpint (fix->width, ==, 227);
  g_assert_cmpstr (fix->label, ==, "Input 227 × 227");
  g_assert_cmpint (((KilnCalcFix *) fixes->pdata[1])->height, ==, 223);
  fix = find_fix (conv1, KILN_CALC_FIX_PAD);
  g_assert_cmpstr (fix->label, ==, "Pad top and left 1, bottom and right 2");
  fix = find_fix (conv1, KILN_CALC_FIX_STRIDE);
  g_assert_cmpstr (fix->label, ==, "Stride 3");

  g_assert_cmpstr (kiln_net_calc_get_error (calc), ==,
                   "conv1: (224 − 11)/4 + 1 = 54.25 is not a whole number; "
                   "use input 227×227 (or 223×223), or pad top 1 and bottom 2, or stride 3");
  /* Floor pooling all the way: pool5 is 5 × 5, so fc6 gets 6,400 values. */
  g_assert_cmpstr (kiln_net_calc_get_downstream (calc), ==,
                   "with floor pooling, fc6 then receives 6,400 inputs (5 × 5 × 256), "
                   "not 9,216 (6 × 6 × 256 at 227 × 227); with this net's ceil pooling it gets 9,216, "
                   "but from windows that run past the edge");

  /* Every fix makes conv1 whole; 227 and the pad make every row whole. */
  g_assert_true (kiln_net_calc_apply_fix (calc, find_fix (conv1, KILN_CALC_FIX_INPUT), &error));
  g_assert_no_error (error);
  assert_all_whole (calc);
  assert_output (calc, "pool5", 6, 6, 256);
  g_assert_cmpint (kiln_calc_row_get_fan_in (row_named (calc, "fc6")), ==, 9216);

  kiln_net_calc_set_input (calc, 3, 224, 224);
  g_autoptr(KilnCalcFix) pad = kiln_calc_fix_copy (find_fix (conv1, KILN_CALC_FIX_PAD));
  g_assert_true (kiln_net_calc_apply_fix (calc, pad, &error));
  assert_all_whole (calc);
  assert_output (calc, "conv1", 55, 55, 96);

  kiln_net_calc_set_param (calc, 0, KILN_CALC_PARAM_PAD, 0, &error);
  g_assert_no_error (error);
  g_autoptr(KilnCalcFix) stride = kiln_calc_fix_copy (find_fix (conv1, KILN_CALC_FIX_STRIDE));
  g_assert_true (kiln_net_calc_apply_fix (calc, stride, &error));
  g_assert_cmpint (kiln_calc_row_get_fit (conv1), ==, KILN_CALC_FIT_WHOLE);
  assert_output (calc, "conv1", 72, 72, 96);
}

/* Floor pooling throughout (PyTorch's AlexNet pools floor): the same 224
 * mistake, with nothing hiding it. */
static void
test_floor_pooling_net (void)
{
  g_autoptr(KilnNetCalc) calc = preset_calc ("alexnet");
  g_autoptr(GError) error = NULL;
  const char *pools[] = { "pool1", "pool2", "pool5" };

  for (guint i = 0; i < G_N_ELEMENTS (pools); i++)
    {
      int index = kiln_net_spec_find_layer (kiln_net_calc_get_spec (calc), pools[i]);
      g_assert_true (kiln_net_calc_set_param (calc, index, KILN_CALC_PARAM_ROUNDING, KILN_ROUND_FLOOR, &error));
      g_assert_no_error (error);
    }
  assert_all_whole (calc);
  kiln_net_calc_set_input (calc, 3, 224, 224);
  assert_output (calc, "pool5", 5, 5, 256);
  g_assert_cmpint (kiln_calc_row_get_fan_in (row_named (calc, "fc6")), ==, 6400);
  g_assert_cmpstr (kiln_calc_row_get_arithmetic (row_named (calc, "fc6")), ==, "5 × 5 × 256 = 6,400 inputs");
  g_assert_cmpstr (kiln_net_calc_get_downstream (calc), ==,
                   "with floor pooling, fc6 then receives 6,400 inputs (5 × 5 × 256), "
                   "not 9,216 (6 × 6 × 256 at 227 × 227)");
  g_assert_cmpint (kiln_calc_row_get_fit (row_named (calc, "pool1")), ==, KILN_CALC_FIT_ROUNDED);
  g_assert_cmpstr (kiln_calc_row_get_message (row_named (calc, "pool1")), ==,
                   "(54 − 3)/2 + 1 = 26.5 rounds down to 26: the last rows are never read");
}

static void
test_compare (void)
{
  g_autoptr(KilnNetCalc) calc = preset_calc ("alexnet");
  KilnCalcRow *conv1, *other;
  int c, h, w;

  g_assert_false (kiln_net_calc_get_compare (calc, NULL, NULL, NULL));
  kiln_net_calc_set_compare (calc, 3, 224, 224);
  g_assert_true (kiln_net_calc_get_compare (calc, &c, &h, &w));
  g_assert_cmpint (h, ==, 224);

  /* The first size still fits; the second does not, and says so. */
  g_assert_null (kiln_net_calc_get_error (calc));
  g_assert_nonnull (g_strstr_len (kiln_net_calc_get_compare_error (calc), -1, "conv1: (224 − 11)/4 + 1 = 54.25"));
  g_assert_nonnull (g_strstr_len (kiln_net_calc_get_compare_downstream (calc), -1,
                                  "fc6 then receives 6,400 inputs"));

  conv1 = row_named (calc, "conv1");
  other = kiln_calc_row_get_compare (conv1);
  g_assert_nonnull (other);
  g_assert_true (kiln_calc_row_get_changed (conv1));
  g_assert_cmpint (kiln_calc_row_get_fit (other), ==, KILN_CALC_FIT_MISMATCH);
  /* With ceil pooling the grid catches up by pool2; fc6's shape is the same. */
  g_assert_true (kiln_calc_row_get_changed (row_named (calc, "pool1")));
  g_assert_false (kiln_calc_row_get_changed (row_named (calc, "conv3")));
  g_assert_false (kiln_calc_row_get_changed (row_named (calc, "fc6")));
  /* conv1, relu1, norm1 (54 against 55) and pool1 (rounded, not whole). */
  g_assert_cmpuint (kiln_net_calc_get_n_changed (calc), ==, 4);

  /* 259: everything from conv1 to fc6's weights changes. */
  kiln_net_calc_set_compare (calc, 3, 259, 259);
  g_assert_null (kiln_net_calc_get_compare_error (calc));
  g_assert_true (kiln_calc_row_get_changed (row_named (calc, "fc6")));
  g_assert_cmpint (kiln_calc_row_get_fan_in (kiln_calc_row_get_compare (row_named (calc, "fc6"))), ==, 12544);
  g_assert_false (kiln_calc_row_get_changed (row_named (calc, "fc7")));

  kiln_net_calc_set_compare (calc, 0, 0, 0);
  g_assert_null (kiln_calc_row_get_compare (conv1));
  g_assert_cmpuint (kiln_net_calc_get_n_changed (calc), ==, 0);
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static void
count_items_changed (GListModel *model, guint position, guint removed, guint added, gpointer data)
{
  (*(guint *) data)++;
}

/* Edits keep the row objects (list widgets keep their cells) and notify;
 * a new net replaces them. Refused values leave the spec alone. */
static void
test_edits_and_notify (void)
{
  g_autoptr(KilnNetCalc) calc = preset_calc ("lenet");
  g_autoptr(GError) error = NULL;
  KilnCalcRow *conv1 = kiln_net_calc_get_row (calc, 0);
  guint output_notifies = 0, kernel_notifies = 0, items_changed = 0;
  int k;

  g_signal_connect (conv1, "notify::output", G_CALLBACK (count_notify), &output_notifies);
  g_signal_connect (conv1, "notify::kernel", G_CALLBACK (count_notify), &kernel_notifies);
  g_signal_connect (calc, "items-changed", G_CALLBACK (count_items_changed), &items_changed);

  assert_output (calc, "conv1", 24, 24, 20);
  g_assert_true (kiln_net_calc_set_param (calc, 0, KILN_CALC_PARAM_KERNEL, 3, &error));
  g_assert_no_error (error);
  g_assert_true (kiln_net_calc_get_row (calc, 0) == conv1);
  assert_output (calc, "conv1", 26, 26, 20);
  kiln_calc_row_get_kernel (conv1, &k, NULL);
  g_assert_cmpint (k, ==, 3);
  g_assert_cmpuint (output_notifies, ==, 1);
  g_assert_cmpuint (kernel_notifies, ==, 1);
  g_assert_cmpuint (items_changed, ==, 0);

  g_assert_true (kiln_net_calc_set_param (calc, 0, KILN_CALC_PARAM_OUTPUTS, 32, &error));
  assert_output (calc, "conv1", 26, 26, 32);
  g_assert_cmpint (kiln_calc_row_get_params (conv1), ==, 32 * 9 + 32);

  /* A stride of 0 is refused with the layer named; nothing changes. */
  g_assert_false (kiln_net_calc_set_param (calc, 0, KILN_CALC_PARAM_STRIDE, 0, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (g_strstr_len (error->message, -1, "conv1: stride 0×0"));
  g_clear_error (&error);
  g_assert_cmpint (kiln_net_spec_get_layer (kiln_net_calc_get_spec (calc), 0)->stride_h, ==, 1);
  /* A convolution has no rounding; an inner product no kernel. */
  g_assert_false (kiln_net_calc_param_applies (calc, 0, KILN_CALC_PARAM_ROUNDING));
  g_assert_false (kiln_net_calc_set_param (calc, 4, KILN_CALC_PARAM_KERNEL, 3, &error));
  g_clear_error (&error);
  g_assert_true (kiln_net_calc_param_applies (calc, 1, KILN_CALC_PARAM_TYPE));
  g_assert_true (kiln_net_calc_set_param (calc, 1, KILN_CALC_PARAM_TYPE, KILN_LAYER_AVG_POOL, &error));
  g_assert_cmpint (kiln_calc_row_get_layer_type (kiln_net_calc_get_row (calc, 1)), ==, KILN_LAYER_AVG_POOL);
  g_assert_false (kiln_net_calc_set_param (calc, 1, KILN_CALC_PARAM_TYPE, KILN_LAYER_RELU, &error));
  g_clear_error (&error);

  /* A window wider than its input: that row fails, the rest are unreached. */
  g_assert_true (kiln_net_calc_set_param (calc, 2, KILN_CALC_PARAM_KERNEL, 20, &error));
  g_assert_cmpint (kiln_calc_row_get_fit (kiln_net_calc_get_row (calc, 2)), ==, KILN_CALC_FIT_FAILED);
  g_assert_cmpint (kiln_calc_row_get_fit (kiln_net_calc_get_row (calc, 3)), ==, KILN_CALC_FIT_UNREACHED);
  g_assert_false (kiln_calc_row_has_output (kiln_net_calc_get_row (calc, 3)));
  g_assert_cmpint (kiln_net_calc_get_first_problem (calc), ==, 2);
  g_assert_nonnull (g_strstr_len (kiln_calc_row_get_message (kiln_net_calc_get_row (calc, 2)), -1,
                                  "wider than the padded input"));
  g_assert_nonnull (kiln_net_calc_get_error (calc));

  g_autoptr(KilnNetSpec) resnet = kiln_net_spec_new_preset ("resnet18", 0, &error);
  kiln_net_calc_set_spec (calc, resnet);
  g_assert_cmpuint (items_changed, ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (calc)), ==, kiln_net_spec_get_n_layers (resnet));
  /* ResNet floors by design: rounded rows, no error. */
  g_assert_cmpint (kiln_calc_row_get_fit (kiln_net_calc_get_row (calc, 0)), ==, KILN_CALC_FIT_ROUNDED);
  g_assert_null (kiln_net_calc_get_error (calc));
  g_assert_cmpint (kiln_net_calc_get_first_problem (calc), ==, -1);
}

static void
test_format_count (void)
{
  static const struct { gint64 value; const char *text; } cases[] = {
    { 0, "0" }, { 999, "999" }, { 1000, "1,000" }, { 62378344, "62,378,344" }, { -1234, "-1,234" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = kiln_format_count (cases[i].value);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net-calc/alexnet-227", test_alexnet_227);
  g_test_add_func ("/net-calc/alexnet-224", test_alexnet_224);
  g_test_add_func ("/net-calc/floor-pooling-net", test_floor_pooling_net);
  g_test_add_func ("/net-calc/compare", test_compare);
  g_test_add_func ("/net-calc/edits-and-notify", test_edits_and_notify);
  g_test_add_func ("/net-calc/format-count", test_format_count);
  g_test_add_func ("/net-calc/asymmetric-pads", test_asymmetric_pads);
  g_test_add_func ("/net-calc/pad-row", test_pad_row);
  return g_test_run ();
}
