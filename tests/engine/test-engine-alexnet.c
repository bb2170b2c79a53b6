/* Whole networks on the CPU backend. AlexNet as in Chainer's alex.py (the "alexnet" preset, 227 × 227, Caffe
 * ceil pooling) runs training steps at batch 2 on the CPU backend: the
 * shapes come out as the netspec infers them, the loss is finite and near
 * ln 1000 at the start, every trainable layer's weights move, and a second
 * step on the same batch lowers the loss. */
#include <math.h>
#include <string.h>

#include "kiln-backend.h"
#include "kiln-error.h"
#include "kiln-net.h"

static void
test_alexnet_step (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset ("alexnet", 1000, &error);
  g_assert_no_error (error);
  g_assert_true (kiln_net_spec_infer_shapes (spec, &error));

  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 2, 1, &error);
  g_assert_no_error (error);

  /* fc6 reads pool5's 256 × 6 × 6 = 9216 values. */
  KilnShape w;
  g_assert_true (kiln_net_get_param_shape (net, "fc6", 0, &w, &error));
  g_assert_cmpint (w.n, ==, 4096);
  g_assert_cmpint ((gint64) w.c * w.h * w.w, ==, 9216);
  const KilnLayerShape *last = kiln_net_spec_get_shape (spec, kiln_net_spec_get_n_layers (spec) - 1);
  const KilnShape *out = kiln_net_get_output_shape (net);
  g_assert_cmpint (out->n, ==, 2);
  g_assert_cmpint (out->c, ==, last->c);
  g_assert_cmpint (out->h * out->w, ==, last->h * last->w);

  g_autoptr(GRand) rand = g_rand_new_with_seed (227);
  gint64 n_in = 2 * 3 * 227 * 227;
  g_autofree float *x = g_new (float, n_in);
  for (gint64 i = 0; i < n_in; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  int labels[2] = { 17, 933 };

  const char *trained[] = { "conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8" };
  gint64 sizes[G_N_ELEMENTS (trained)];
  float *before[G_N_ELEMENTS (trained)];
  for (guint i = 0; i < G_N_ELEMENTS (trained); i++)
    {
      g_assert_true (kiln_net_get_param_shape (net, trained[i], 0, &w, &error));
      sizes[i] = kiln_shape_n_elements (&w);
      before[i] = g_new (float, sizes[i]);
      g_assert_true (kiln_net_get_param (net, trained[i], 0, before[i], sizes[i], &error));
    }

  g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.01f, 0.9f, 5e-4f);
  double loss1, loss2;
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (kiln_net_train_step (net, opt, x, labels, &loss1, NULL, &error));
  g_assert_no_error (error);
  gint64 t1 = g_get_monotonic_time ();
  g_test_message ("AlexNet batch 2 training step: %.2f s, loss %.4f", (t1 - t0) / 1e6, loss1);
  g_assert_true (isfinite (loss1));
  g_assert_cmpfloat (fabs (loss1 - log (1000.0)), <, 2.0);

  for (guint i = 0; i < G_N_ELEMENTS (trained); i++)
    {
      g_autofree float *after = g_new (float, sizes[i]);
      g_assert_true (kiln_net_get_param (net, trained[i], 0, after, sizes[i], &error));
      g_assert_true (memcmp (before[i], after, sizes[i] * sizeof (float)) != 0);
      g_free (before[i]);
    }

  g_assert_true (kiln_net_train_step (net, opt, x, labels, &loss2, NULL, &error));
  g_test_message ("second step on the same batch: loss %.4f", loss2);
  g_assert_cmpfloat (loss2, <, loss1);
}

/* Every preset builds on the CPU backend with the shapes the netspec
 * infers (the net checks each layer), infers finite scores, and — except
 * VGG-16, too big for a unit test's training step — takes a training step
 * with a finite loss. Covers groups (CaffeNet), BatchNorm and Add
 * (ResNet-18), Concat and global pooling (SqueezeNet). */
static void
test_presets (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  const char * const *names = kiln_net_spec_list_presets ();

  for (guint p = 0; names[p] != NULL; p++)
    {
      g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset (names[p], 10, &error);
      g_assert_no_error (error);
      g_autoptr(KilnNet) net = kiln_net_new (spec, backend, 2, 5, &error);
      g_assert_no_error (error);

      const KilnShape *in = kiln_net_get_input_shape (net);
      gint64 n_in = kiln_shape_n_elements (in);
      g_autofree float *x = g_new (float, n_in);
      g_autoptr(GRand) rand = g_rand_new_with_seed (p);
      for (gint64 i = 0; i < n_in; i++)
        x[i] = (float) g_rand_double_range (rand, -1, 1);

      kiln_net_set_input (net, x);
      g_assert_true (kiln_net_forward (net, FALSE, &error));
      const KilnShape *out = kiln_net_get_output_shape (net);
      g_assert_cmpint (out->n * out->c * out->h * out->w, ==, 2 * 10);
      float scores[20];
      kiln_net_get_output (net, scores);
      for (int i = 0; i < 20; i++)
        g_assert_true (isfinite (scores[i]));

      if (!g_str_equal (names[p], "vgg16"))
        {
          int labels[2] = { 3, 7 };
          double loss;
          g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.001f, 0.9f, 0);
          g_assert_true (kiln_net_train_step (net, opt, x, labels, &loss, NULL, &error));
          g_assert_no_error (error);
          g_test_message ("%s: %d×%d×%d input, first loss %.3f", names[p], in->c, in->h, in->w, loss);
          g_assert_true (isfinite (loss));
        }
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/alexnet/train-step", test_alexnet_step);
  g_test_add_func ("/engine/presets/build-and-step", test_presets);
  return g_test_run ();
}
