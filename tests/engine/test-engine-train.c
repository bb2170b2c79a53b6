/* KilnNet on the CPU backend: a small CNN learns a generated task, the same
 * seed gives the same weights and loss curve, frozen layers stay untouched
 * and no backward runs below the lowest trainable layer, gradients through
 * a branching graph match finite differences, bad input is a GError naming
 * the layer, the learning-rate schedules give their factors, and weights
 * kept in the convolution's layout train exactly as plain ones. */
#include <math.h>
#include <string.h>

#include "kiln-backend.h"
#include "kiln-backend-cpu.h"
#include "kiln-engine-error.h"
#include "kiln-net.h"

static KilnBackend *backend;

#define IMG 8
#define CLASSES 4

static void
add (KilnNetSpec *spec, KilnLayerSpec *l)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (kiln_net_spec_add_layer (spec, l, &error));
  g_assert_no_error (error);
  kiln_layer_spec_clear (l);
}

static void
add_conv (KilnNetSpec *spec, const char *name, int out, int k, int pad, const char *input)
{
  KilnLayerSpec l;
  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, name);
  l.num_output = out;
  l.kernel_h = l.kernel_w = k;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = pad;
  if (input)
    l.inputs = g_strsplit (input, ",", -1);
  add (spec, &l);
}

static void
add_simple (KilnNetSpec *spec, KilnLayerType type, const char *name, const char *inputs)
{
  KilnLayerSpec l;
  kiln_layer_spec_init (&l, type, name);
  if (type == KILN_LAYER_MAX_POOL)
    {
      l.kernel_h = l.kernel_w = 2;
      l.stride_h = l.stride_w = 2;
    }
  if (type == KILN_LAYER_INNER_PRODUCT)
    l.num_output = CLASSES;
  if (type == KILN_LAYER_DROPOUT)
    l.ratio = 0.2f;
  if (inputs)
    l.inputs = g_strsplit (inputs, ",", -1);
  add (spec, &l);
}

/* conv1 → relu → pool → conv2 → relu → bn → (drop →) fc */
static KilnNetSpec *
cnn (int conv1, int conv2, gboolean dropout)
{
  KilnNetSpec *spec = kiln_net_spec_new ("small", 1, IMG, IMG);
  add_conv (spec, "conv1", conv1, 3, 1, NULL);
  add_simple (spec, KILN_LAYER_RELU, "relu1", NULL);
  add_simple (spec, KILN_LAYER_MAX_POOL, "pool1", NULL);
  add_conv (spec, "conv2", conv2, 3, 1, NULL);
  add_simple (spec, KILN_LAYER_RELU, "relu2", NULL);
  add_simple (spec, KILN_LAYER_BATCH_NORM, "bn2", NULL);
  if (dropout)
    add_simple (spec, KILN_LAYER_DROPOUT, "drop2", NULL);
  add_simple (spec, KILN_LAYER_INNER_PRODUCT, "fc", NULL);
  return spec;
}

static KilnNetSpec *
small_cnn (void)
{
  return cnn (8, 16, TRUE);
}

/* The class is the quadrant holding a bright 2×2 blob, over noise. */
static void
make_data (GRand *rand, int n, float *images, int *labels)
{
  for (int i = 0; i < n; i++)
    {
      float *img = images + (gint64) i * IMG * IMG;
      int cls = g_rand_int_range (rand, 0, CLASSES);
      for (int p = 0; p < IMG * IMG; p++)
        img[p] = (float) g_rand_double_range (rand, -0.5, 0.5);
      int y0 = (cls / 2) * 4 + g_rand_int_range (rand, 0, 3);
      int x0 = (cls % 2) * 4 + g_rand_int_range (rand, 0, 3);
      for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++)
          img[(y0 + dy) * IMG + x0 + dx] += 1.0f;
      labels[i] = cls;
    }
}

static double
train (KilnNet *net, KilnOptimizer *opt, int steps, double *curve)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  int batch = kiln_net_get_batch_size (net);
  g_autofree float *images = g_new (float, (gint64) batch * IMG * IMG * 8);
  g_autofree int *labels = g_new (int, batch * 8);
  double loss = 0;
  int correct;

  /* A fixed training set of 8 batches. */
  make_data (rand, batch * 8, images, labels);
  for (int s = 0; s < steps; s++)
    {
      int b = s % 8;
      g_assert_true (kiln_net_train_step (net, opt, images + (gint64) b * batch * IMG * IMG,
                                          labels + b * batch, &loss, &correct, &error));
      g_assert_no_error (error);
      if (curve)
        curve[s] = loss;
    }
  return loss;
}

static void
test_learns (gconstpointer data)
{
  gboolean adam = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 16, 1, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOptimizer) opt = adam ? kiln_optimizer_new_adam (0.01f, 0.9f, 0.999f, 1e-8f, 0)
                                      : kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-4f);
  double curve[400];
  train (net, opt, 400, curve);

  /* Mean over the last pass through the 8 batches. */
  double first = 0, last = 0;
  for (int i = 0; i < 8; i++)
    {
      first += curve[i] / 8;
      last += curve[392 + i] / 8;
    }
  g_test_message ("%s: first step %.4f, first pass %.4f → last pass %.4f",
                  adam ? "adam" : "sgd", curve[0], first, last);
  g_assert_cmpfloat (curve[0], >, 1.0);   /* chance is ln 4 ≈ 1.39 */
  g_assert_cmpfloat (last, <, 0.05);

  /* Held-out data, inference mode. */
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  float images[16 * IMG * IMG], out[16 * CLASSES];
  int labels[16], correct = 0;
  make_data (rand, 16, images, labels);
  kiln_net_set_input (net, images);
  g_assert_true (kiln_net_forward (net, FALSE, &error));
  kiln_net_get_output (net, out);
  for (int i = 0; i < 16; i++)
    {
      int best = 0;
      for (int j = 1; j < CLASSES; j++)
        if (out[i * CLASSES + j] > out[i * CLASSES + best])
          best = j;
      correct += best == labels[i];
    }
  g_assert_cmpint (correct, >=, 15);
}

static void
test_deterministic (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  g_autoptr(KilnNet) a = kiln_net_new (spec, backend, 8, 7, &error);
  g_autoptr(KilnNet) b = kiln_net_new (spec, backend, 8, 7, &error);
  g_autoptr(KilnNet) c = kiln_net_new (spec, backend, 8, 8, &error);
  g_assert_no_error (error);
  float wa[8 * 9], wb[8 * 9], wc[8 * 9];

  g_assert_true (kiln_net_get_param (a, "conv1", 0, wa, 72, &error));
  g_assert_true (kiln_net_get_param (b, "conv1", 0, wb, 72, &error));
  g_assert_true (kiln_net_get_param (c, "conv1", 0, wc, 72, &error));
  g_assert_cmpmem (wa, sizeof wa, wb, sizeof wb);
  g_assert_true (memcmp (wa, wc, sizeof wa) != 0);

  g_autoptr(KilnOptimizer) oa = kiln_optimizer_new_sgd (0.05f, 0.9f, 0);
  g_autoptr(KilnOptimizer) ob = kiln_optimizer_new_sgd (0.05f, 0.9f, 0);
  double ca[12], cb[12];
  train (a, oa, 12, ca);
  train (b, ob, 12, cb);
  g_assert_cmpmem (ca, sizeof ca, cb, sizeof cb);
}

static void
test_freezing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  kiln_net_spec_get_layer (spec, 0)->frozen = TRUE;    /* conv1 */
  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 8, 3, &error);
  g_assert_no_error (error);

  float before1[72], after1[72], before2[16 * 72], after2[16 * 72];
  g_assert_true (kiln_net_get_param (net, "conv1", 0, before1, 72, &error));
  g_assert_true (kiln_net_get_param (net, "conv2", 0, before2, 16 * 72, &error));
  g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-3f);
  train (net, opt, 5, NULL);
  g_assert_true (kiln_net_get_param (net, "conv1", 0, after1, 72, &error));
  g_assert_true (kiln_net_get_param (net, "conv2", 0, after2, 16 * 72, &error));

  g_assert_cmpmem (before1, sizeof before1, after1, sizeof after1);
  g_assert_true (memcmp (before2, after2, sizeof before2) != 0);
  /* conv1 is the lowest layer and frozen: nothing runs there or below. */
  g_assert_cmpint (kiln_net_get_backward_count (net, "conv1"), ==, 0);
  g_assert_cmpint (kiln_net_get_backward_count (net, "pool1"), ==, 0);
  g_assert_cmpint (kiln_net_get_backward_count (net, "conv2"), ==, 5);
  g_assert_false (kiln_net_get_param_grad (net, "conv1", 0, after1, 72, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A frozen layer between trainable ones passes gradients but keeps its weights. */
  g_autoptr(KilnNetSpec) mid = small_cnn ();
  kiln_net_spec_get_layer (mid, 3)->frozen = TRUE;     /* conv2 */
  g_autoptr(KilnNet) net2 = kiln_net_new (mid, backend, 8, 3, &error);
  g_assert_true (kiln_net_get_param (net2, "conv1", 0, before1, 72, &error));
  g_assert_true (kiln_net_get_param (net2, "conv2", 0, before2, 16 * 72, &error));
  g_autoptr(KilnOptimizer) opt2 = kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-3f);
  train (net2, opt2, 5, NULL);
  g_assert_true (kiln_net_get_param (net2, "conv1", 0, after1, 72, &error));
  g_assert_true (kiln_net_get_param (net2, "conv2", 0, after2, 16 * 72, &error));
  g_assert_true (memcmp (before1, after1, sizeof before1) != 0);
  g_assert_cmpmem (before2, sizeof before2, after2, sizeof after2);
  g_assert_cmpint (kiln_net_get_backward_count (net2, "conv2"), ==, 5);
}

/* data → conv_a → relu_a → {conv_b, conv_c} → concat → conv_d; add(conv_d, conv_e(relu_a)) → fc */
static KilnNetSpec *
branchy (void)
{
  KilnNetSpec *spec = kiln_net_spec_new ("branchy", 2, 5, 6);
  add_conv (spec, "conv_a", 4, 3, 1, NULL);
  add_simple (spec, KILN_LAYER_RELU, "relu_a", NULL);
  add_conv (spec, "conv_b", 3, 3, 1, "relu_a");
  add_conv (spec, "conv_c", 2, 1, 0, "relu_a");
  add_simple (spec, KILN_LAYER_CONCAT, "cat", "conv_b,conv_c");
  add_conv (spec, "conv_d", 4, 3, 1, "cat");
  add_conv (spec, "conv_e", 4, 1, 0, "relu_a");
  add_simple (spec, KILN_LAYER_ADD, "sum", "conv_d,conv_e");
  add_simple (spec, KILN_LAYER_INNER_PRODUCT, "fc", "sum");
  return spec;
}

static double
loss_of (KilnNet *net, const float *x, const int *labels)
{
  g_autoptr(GError) error = NULL;
  double loss;
  kiln_net_set_input (net, x);
  g_assert_true (kiln_net_forward (net, TRUE, &error));
  g_assert_true (kiln_net_loss (net, labels, &loss, NULL, &error));
  return loss;
}

/* ‖backward − central differences‖ / ‖central differences‖ over the
 * weights of @layer, for the loss at @x after a backward pass. */
static double
gradient_error (KilnNet *net, const char *layer, const float *x, const int *labels)
{
  g_autoptr(GError) error = NULL;
  KilnShape s;

  g_assert_true (kiln_net_get_param_shape (net, layer, 0, &s, &error));
  gint64 count = kiln_shape_n_elements (&s);
  g_autofree float *w = g_new (float, count);
  g_autofree float *g = g_new (float, count);
  g_assert_true (kiln_net_get_param (net, layer, 0, w, count, &error));
  g_assert_true (kiln_net_get_param_grad (net, layer, 0, g, count, &error));
  double num = 0, den = 0;
  for (gint64 i = 0; i < count; i++)
    {
      const float h = 1e-2f;
      float keep = w[i];
      w[i] = keep + h;
      kiln_net_set_param (net, layer, 0, w, count, &error);
      double lp = loss_of (net, x, labels);
      w[i] = keep - h;
      kiln_net_set_param (net, layer, 0, w, count, &error);
      double lm = loss_of (net, x, labels);
      w[i] = keep;
      kiln_net_set_param (net, layer, 0, w, count, &error);
      double fd = (lp - lm) / (2 * h);
      num += (fd - g[i]) * (fd - g[i]);
      den += fd * fd;
    }
  double err = sqrt (num / den);
  g_test_message ("%s: gradient vs finite differences, relative error %.3g", layer, err);
  return err;
}

static void
test_graph_gradients (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = branchy ();
  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 3, 11, &error);
  g_assert_no_error (error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  float x[3 * 2 * 5 * 6];
  int labels[3] = { 0, 3, 2 };
  for (guint i = 0; i < G_N_ELEMENTS (x); i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);

  loss_of (net, x, labels);
  g_assert_true (kiln_net_backward (net, &error));

  /* conv_a's gradient collects three consumers' parts. */
  const char *names[] = { "conv_a", "conv_c", "conv_e" };
  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    g_assert_cmpfloat (gradient_error (net, names[n], x, labels), <, 1e-2);
}

static void
add_pad (KilnNetSpec *spec, const char *name, KilnPadMode mode, float value, int t, int l, int b, int r)
{
  KilnLayerSpec layer;
  kiln_layer_spec_init (&layer, KILN_LAYER_PAD, name);
  layer.pad_mode = mode;
  layer.pad_value = value;
  layer.pad_top = t, layer.pad_left = l, layer.pad_bottom = b, layer.pad_right = r;
  add (spec, &layer);
}

/* Pad layers of each mode, asymmetric, around convolutions: with @smooth
 * nothing else (so finite differences are exact up to rounding), else with
 * ReLU and max pooling, for training. */
static KilnNetSpec *
padded_net (gboolean smooth)
{
  KilnNetSpec *spec = kiln_net_spec_new ("padded", 1, IMG, IMG);
  add_pad (spec, "pad_mirror", KILN_PAD_REFLECT, 0, 1, 2, 2, 1);       /* 11×11 */
  add_conv (spec, "conv1", 8, 3, 0, NULL);                              /* 9×9 */
  if (!smooth)
    add_simple (spec, KILN_LAYER_RELU, "relu1", NULL);
  add_pad (spec, "pad_half", KILN_PAD_CONSTANT, 0.5f, 0, 1, 1, 0);     /* 10×10 */
  if (!smooth)
    add_simple (spec, KILN_LAYER_MAX_POOL, "pool1", NULL);              /* 5×5 */
  add_conv (spec, "conv2", 4, 3, 0, NULL);
  if (!smooth)
    add_simple (spec, KILN_LAYER_RELU, "relu2", NULL);
  add_pad (spec, "pad_edge", KILN_PAD_EDGE, 0, 1, 0, 2, 1);
  add_simple (spec, KILN_LAYER_INNER_PRODUCT, "fc", NULL);
  return spec;
}

/* The first convolution's gradient reaches it through all three Pad
 * layers and matches finite differences; the net learns the quadrant task
 * through them. */
static void
test_through_pad (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) smooth = padded_net (TRUE);
  g_autoptr(KilnNet) small = kiln_net_new (smooth, backend, 3, 3, &error);
  g_assert_no_error (error);
  const KilnShape *out = kiln_net_get_output_shape (small);
  g_assert_cmpint (out->c, ==, CLASSES);

  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  float x[3 * IMG * IMG];
  int labels[3];
  make_data (rand, 3, x, labels);
  loss_of (small, x, labels);
  g_assert_true (kiln_net_backward (small, &error));
  const char *names[] = { "conv1", "conv2" };
  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    g_assert_cmpfloat (gradient_error (small, names[n], x, labels), <, 1e-2);

  g_autoptr(KilnNetSpec) spec = padded_net (FALSE);
  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 16, 3, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-4f);
  double curve[300];
  train (net, opt, 300, curve);
  double first = 0, last = 0;
  for (int i = 0; i < 8; i++)
    {
      first += curve[i] / 8;
      last += curve[292 + i] / 8;
    }
  g_test_message ("training through Pad layers: first pass %.4f → last pass %.4f", first, last);
  g_assert_cmpfloat (first, >, 1.0);
  g_assert_cmpfloat (last, <, 0.1);
}

/* Everything a checkpoint holds: weights (all four BatchNorm vectors too),
 * optimizer slots, the optimizer's iteration and the net's step. A net
 * restored from them continues with the very same losses. */
static void
copy_state (KilnNet *from, KilnNet *to, guint n_slots)
{
  g_autoptr(GError) error = NULL;
  KilnNetSpec *spec = kiln_net_get_spec (from);

  for (guint i = 0; i < kiln_net_spec_get_n_layers (spec); i++)
    {
      const char *name = kiln_net_spec_get_layer (spec, i)->name;
      for (guint p = 0; p < kiln_net_get_n_params (from, name); p++)
        {
          KilnShape s;
          g_assert_true (kiln_net_get_param_shape (from, name, p, &s, &error));
          gint64 n = kiln_shape_n_elements (&s);
          g_autofree float *v = g_new (float, n);
          g_assert_true (kiln_net_get_param (from, name, p, v, n, &error));
          g_assert_true (kiln_net_set_param (to, name, p, v, n, &error));
          for (guint slot = 0; slot < n_slots; slot++)
            if (kiln_net_get_param_slot (from, name, p, slot, v, n, &error))
              g_assert_true (kiln_net_set_param_slot (to, name, p, slot, v, n, &error));
            else
              g_clear_error (&error);   /* BatchNorm running statistics have no slots */
        }
    }
  kiln_net_set_step (to, kiln_net_get_step (from));
  kiln_net_set_seed (to, kiln_net_get_seed (from));
}

static void
test_resume (gconstpointer data)
{
  gboolean adam = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  g_autoptr(KilnNet) a = kiln_net_new (spec, backend, 8, 21, &error);
  g_autoptr(KilnNet) b = kiln_net_new (spec, backend, 8, 99, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOptimizer) oa = adam ? kiln_optimizer_new_adam (0.01f, 0.9f, 0.999f, 1e-8f, 1e-4f)
                                     : kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-4f);
  g_autoptr(KilnOptimizer) ob = adam ? kiln_optimizer_new_adam (0.01f, 0.9f, 0.999f, 1e-8f, 1e-4f)
                                     : kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-4f);
  double first[4], ca[4], cb[4];

  train (a, oa, 4, first);
  copy_state (a, b, kiln_optimizer_n_slots (oa));
  kiln_optimizer_set_iteration (ob, kiln_optimizer_get_iteration (oa));
  train (a, oa, 4, ca);
  train (b, ob, 4, cb);
  g_assert_cmpmem (ca, sizeof ca, cb, sizeof cb);
  g_assert_cmpfloat (ca[0], !=, first[0]);   /* the batches repeat, the state moved on */
}

/* A net that ends in Softmax: inference gives probabilities, training
 * takes the loss on the scores before it (no softmax applied twice). */
static void
test_final_softmax (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  add_simple (spec, KILN_LAYER_SOFTMAX, "prob", NULL);
  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 16, 1, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-4f);
  double curve[200];
  train (net, opt, 200, curve);
  g_assert_cmpfloat (curve[199], <, 0.05);

  float out[16 * CLASSES];
  g_assert_true (kiln_net_forward (net, FALSE, &error));
  kiln_net_get_output (net, out);
  for (int i = 0; i < 16; i++)
    {
      double sum = 0;
      for (int j = 0; j < CLASSES; j++)
        {
          g_assert_cmpfloat (out[i * CLASSES + j], >=, 0.f);
          sum += out[i * CLASSES + j];
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
    }
}

static void
test_bad_input (void)
{
  g_autoptr(GError) error = NULL;

  /* Two branches of different sizes into an Add. */
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new ("bad", 1, 6, 6);
  add_conv (spec, "left", 4, 3, 1, NULL);
  add_conv (spec, "right", 4, 3, 0, KILN_NET_SPEC_INPUT_NAME);
  add_simple (spec, KILN_LAYER_ADD, "join", "left,right");
  g_assert_null (kiln_net_new (spec, backend, 2, 1, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "join"));
  g_assert_nonnull (strstr (error->message, "4×4×4"));
  g_clear_error (&error);

  g_autoptr(KilnNetSpec) small = small_cnn ();
  g_assert_null (kiln_net_new (small, backend, 0, 1, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* An infinite weight makes the loss non-finite: the error names where it
   * began (a ReLU would swallow a NaN, an infinity passes). */
  g_autoptr(KilnNet) net = kiln_net_new (small, backend, 4, 1, &error);
  g_assert_no_error (error);
  KilnShape fc;
  g_assert_true (kiln_net_get_param_shape (net, "fc", 0, &fc, &error));
  gint64 n_fc = kiln_shape_n_elements (&fc);
  g_autofree float *w = g_new (float, n_fc);
  g_assert_true (kiln_net_get_param (net, "fc", 0, w, n_fc, &error));
  for (gint64 i = 0; i < n_fc; i++)
    w[i] = INFINITY;
  g_assert_true (kiln_net_set_param (net, "fc", 0, w, n_fc, &error));
  g_assert_false (kiln_net_set_param (net, "fc", 0, w, 3, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
  g_clear_error (&error);
  float x[4 * IMG * IMG] = { 0 };
  int labels[4] = { 0, 1, 2, 3 };
  double loss;
  g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.01f, 0.9f, 0);
  g_assert_false (kiln_net_train_step (net, opt, x, labels, &loss, NULL, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NUMERIC);
  g_assert_nonnull (strstr (error->message, "“fc”"));
  g_clear_error (&error);

  g_assert_false (kiln_net_get_param (net, "nope", 0, w, 1, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND);
}

static void
test_schedules (void)
{
  g_autoptr(GError) error = NULL;
  KilnLrSchedule s;

  kiln_lr_schedule_init_fixed (&s);
  g_assert_cmpfloat (kiln_lr_schedule_factor (&s, 1000, 10), ==, 1.0);

  /* The seed: lr × 0.97 after every epoch. */
  kiln_lr_schedule_init_exponential (&s, 0.97);
  g_assert_cmpfloat (kiln_lr_schedule_factor (&s, 9, 10), ==, 1.0);
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 10, 10), 0.97, 1e-12);
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 35, 10), 0.97 * 0.97 * 0.97, 1e-12);

  kiln_lr_schedule_init_step (&s, 0.1, 3);
  g_assert_cmpfloat (kiln_lr_schedule_factor (&s, 29, 10), ==, 1.0);
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 30, 10), 0.1, 1e-12);
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 60, 10), 0.01, 1e-12);

  kiln_lr_schedule_init_cosine (&s, 4, 0.0);
  g_assert_cmpfloat (kiln_lr_schedule_factor (&s, 0, 10), ==, 1.0);
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 20, 10), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 40, 10), 0.0, 1e-12);

  s.warmup_iterations = 4;
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 0, 10), 0.2, 1e-3);
  g_assert_cmpfloat_with_epsilon (kiln_lr_schedule_factor (&s, 3, 10), 0.8 * kiln_lr_schedule_factor (&(KilnLrSchedule) { .policy = KILN_LR_COSINE, .total_epochs = 4 }, 3, 10), 1e-12);
  g_assert_true (kiln_lr_schedule_validate (&s, &error));

  kiln_lr_schedule_init_step (&s, 0.1, 0);
  g_assert_false (kiln_lr_schedule_validate (&s, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);

  /* The optimizer applies the schedule per iteration. */
  g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.01f, 0.9f, 0);
  kiln_lr_schedule_init_exponential (&s, 0.5);
  kiln_optimizer_set_schedule (opt, &s, 2);
  kiln_optimizer_set_iteration (opt, 4);
  g_assert_cmpfloat_with_epsilon (kiln_optimizer_get_lr (opt), 0.0025, 1e-9);
}

/* The weights, gradients and optimizer slots of @net, each read back to
 * plain layout (which also puts them there). */
static GArray *
read_state (KilnNet *net, gboolean adam)
{
  static const char *const layers[] = { "conv1", "conv2", "bn2", "fc" };
  g_autoptr(GError) error = NULL;
  GArray *all = g_array_new (FALSE, FALSE, sizeof (float));

  for (guint l = 0; l < G_N_ELEMENTS (layers); l++)
    for (guint p = 0; p < 2; p++)
      {
        KilnShape shape;
        g_assert_true (kiln_net_get_param_shape (net, layers[l], p, &shape, &error));
        gint64 n = (gint64) shape.n * shape.c * shape.h * shape.w;
        g_autofree float *buf = g_new (float, n);
        g_assert_true (kiln_net_get_param (net, layers[l], p, buf, n, &error));
        g_array_append_vals (all, buf, n);
        for (guint slot = 0; slot < (adam ? 2u : 1u); slot++)
          {
            g_assert_true (kiln_net_get_param_slot (net, layers[l], p, slot, buf, n, &error));
            g_array_append_vals (all, buf, n);
          }
        g_assert_no_error (error);
      }
  return all;
}

/* The CPU backend keeps each convolution's weights in the blocked layout
 * its forward chose, and updates them, their gradients and optimizer slots
 * there (padding included). Training that way must give bit for bit what
 * training gives when everything is read back to plain before each update,
 * with fewer layout reorders per step. Channel counts are multiples of 16
 * so that the blocked layouts need no padding and are kept on any ISA. */
static void
test_weights_layout (gconstpointer data)
{
  gboolean adam = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = cnn (16, 32, FALSE);
  const int batch = 16, steps = 6;
  g_autoptr(KilnNet) kept = kiln_net_new (spec, backend, batch, 5, &error);
  g_autoptr(KilnNet) plain = kiln_net_new (spec, backend, batch, 5, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOptimizer) ok = adam ? kiln_optimizer_new_adam (0.01f, 0.9f, 0.999f, 1e-8f, 1e-4f)
                                     : kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-4f);
  g_autoptr(KilnOptimizer) op = adam ? kiln_optimizer_new_adam (0.01f, 0.9f, 0.999f, 1e-8f, 1e-4f)
                                     : kiln_optimizer_new_sgd (0.05f, 0.9f, 1e-4f);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree float *images = g_new (float, (gint64) batch * IMG * IMG * steps);
  g_autofree int *labels = g_new (int, batch * steps);
  guint64 reorders_kept = 0, reorders_plain = 0;
  double loss_kept, loss_plain;
  int correct;

  make_data (rand, batch * steps, images, labels);
  for (int s = 0; s < steps; s++)
    {
      const float *x = images + (gint64) s * batch * IMG * IMG;
      const int *y = labels + s * batch;
      /* The first steps create primitives and convert the weights once. */
      guint64 before = kiln_backend_cpu_get_reorder_count (backend);
      g_assert_true (kiln_net_train_step (kept, ok, x, y, &loss_kept, &correct, &error));
      g_assert_no_error (error);
      if (s >= 2)
        reorders_kept += kiln_backend_cpu_get_reorder_count (backend) - before;

      before = kiln_backend_cpu_get_reorder_count (backend);
      kiln_net_set_input (plain, x);
      g_assert_true (kiln_net_forward (plain, TRUE, &error) &&
                     kiln_net_loss (plain, y, &loss_plain, &correct, &error) &&
                     kiln_net_backward (plain, &error));
      g_assert_no_error (error);
      g_array_unref (read_state (plain, adam));
      g_assert_true (kiln_net_update (plain, op, &error));
      g_assert_no_error (error);
      if (s >= 2)
        reorders_plain += kiln_backend_cpu_get_reorder_count (backend) - before;
      g_assert_cmpmem (&loss_kept, sizeof loss_kept, &loss_plain, sizeof loss_plain);
    }

  g_autoptr(GArray) a = read_state (kept, adam);
  g_autoptr(GArray) b = read_state (plain, adam);
  g_assert_cmpmem (a->data, a->len * sizeof (float), b->data, b->len * sizeof (float));
  g_test_message ("reorders per step: %.1f kept, %.1f read back before each update",
                  reorders_kept / (steps - 2.0), reorders_plain / (steps - 2.0));
  g_assert_cmpuint (reorders_kept, <, reorders_plain);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  /* These nets are tiny: with two threads on a busy machine the time goes
   * to OpenMP hand-offs (10 s instead of 0.3 s). The layer and AlexNet
   * tests cover the threaded paths. */
  g_setenv ("KILN_NUM_THREADS", "1", TRUE);
  backend = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);

  g_test_add_data_func ("/engine/train/learns-sgd", GINT_TO_POINTER (FALSE), test_learns);
  g_test_add_data_func ("/engine/train/learns-adam", GINT_TO_POINTER (TRUE), test_learns);
  g_test_add_func ("/engine/train/deterministic", test_deterministic);
  g_test_add_func ("/engine/train/freezing", test_freezing);
  g_test_add_data_func ("/engine/train/resume-sgd", GINT_TO_POINTER (FALSE), test_resume);
  g_test_add_data_func ("/engine/train/resume-adam", GINT_TO_POINTER (TRUE), test_resume);
  g_test_add_func ("/engine/train/graph-gradients", test_graph_gradients);
  g_test_add_func ("/engine/train/through-pad", test_through_pad);
  g_test_add_func ("/engine/train/final-softmax", test_final_softmax);
  g_test_add_func ("/engine/train/bad-input", test_bad_input);
  g_test_add_func ("/engine/train/schedules", test_schedules);
  g_test_add_data_func ("/engine/train/weights-layout-sgd", GINT_TO_POINTER (FALSE), test_weights_layout);
  g_test_add_data_func ("/engine/train/weights-layout-adam", GINT_TO_POINTER (TRUE), test_weights_layout);

  int ret = g_test_run ();
  kiln_backend_free (backend);
  return ret;
}
