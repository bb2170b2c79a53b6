/* The device-memory estimate: AlexNet against a count by hand, and small
 * nets (a chain, ResNet-18's branches, SqueezeNet's concats, frozen
 * layers) against the bytes the CPU backend's tensors really hold after a
 * training step; the largest batch that fits. */
#include <string.h>

#include "kiln-backend-cpu.h"
#include "kiln-net-memory.h"
#include "kiln-net.h"

/* AlexNet as Chainer's alex.py has it, 227 × 227, 1000 classes, counted
 * from the architecture by hand (ReLUs run inside their convolutions). */
#define ALEX_PARAMS (96 * 3 * 11 * 11 + 96 + 256 * 96 * 5 * 5 + 256 + 384 * 256 * 3 * 3 + 384 \
                     + 384 * 384 * 3 * 3 + 384 + 256 * 384 * 3 * 3 + 256 + 4096 * 9216 + 4096 \
                     + 4096 * 4096 + 4096 + 1000 * 4096 + 1000)
/* conv1, norm1, pool1, conv2, norm2, pool2, conv3, conv4, conv5, pool5,
 * fc6, drop6, fc7, drop7, fc8 outputs per sample. */
#define ALEX_OUTPUTS (96 * 55 * 55 * 2 + 96 * 27 * 27 + 256 * 27 * 27 * 2 + 256 * 13 * 13 \
                      + 384 * 13 * 13 * 2 + 256 * 13 * 13 + 256 * 6 * 6 + 4096 * 4 + 1000)
#define ALEX_INPUT (3 * 227 * 227)
/* LRN scales and max-pooling indices (one per output), dropout masks. */
#define ALEX_KEPT (96 * 55 * 55 + 96 * 27 * 27 + 256 * 27 * 27 + 256 * 13 * 13 + 256 * 6 * 6 + 4096 * 2)
/* conv2's im2col, the largest: 96 · 5 · 5 inputs for each of 27 · 27 outputs. */
#define ALEX_COLS (96 * 5 * 5 * 27 * 27)

static void
check_alexnet (int batch, KilnOptimizerType optimizer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset ("alexnet", 1000, &error);
  KilnNetMemoryOptions options = { .training = TRUE, .optimizer = optimizer };
  KilnNetMemory m;
  guint64 f = sizeof (float), slots = optimizer == KILN_OPTIMIZER_ADAM ? 2 : 1;

  g_assert_true (kiln_net_memory_estimate (spec, batch, &options, &m, &error));
  g_assert_no_error (error);
  /* The tolerance is zero: every category is a whole count of floats. */
  g_assert_cmpuint (ALEX_PARAMS, ==, 62378344);
  g_assert_cmpuint (m.weights, ==, ALEX_PARAMS * f);
  g_assert_cmpuint (m.gradients, ==, ALEX_PARAMS * f);
  g_assert_cmpuint (m.optimizer, ==, slots * ALEX_PARAMS * f);
  g_assert_cmpuint (m.activations, ==, (guint64) (ALEX_INPUT + ALEX_OUTPUTS) * batch * f);
  g_assert_cmpuint (m.activation_gradients, ==, (guint64) ALEX_OUTPUTS * batch * f);
  g_assert_cmpuint (m.backward_state, ==, (guint64) ALEX_KEPT * batch * f);
  g_assert_cmpuint (m.workspace, ==, MIN ((guint64) ALEX_COLS * batch * f, KILN_NET_WORKSPACE_LIMIT_DEFAULT));
  g_assert_cmpuint (m.total, ==, m.weights + m.gradients + m.optimizer + m.activations
                                  + m.activation_gradients + m.backward_state + m.workspace);
  g_autofree char *text = kiln_net_memory_format (&m);
  g_test_message ("AlexNet, batch %d, %s: %s", batch, slots == 2 ? "Adam" : "SGD", text);
}

static void
test_alexnet_by_hand (void)
{
  check_alexnet (32, KILN_OPTIMIZER_SGD);
  check_alexnet (256, KILN_OPTIMIZER_SGD);
  check_alexnet (256, KILN_OPTIMIZER_ADAM);

  /* Batch 256 with SGD is about 4.5 GiB, as frameworks report for AlexNet. */
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset ("alexnet", 1000, NULL);
  KilnNetMemoryOptions options = { .training = TRUE };
  KilnNetMemory m;
  g_assert_true (kiln_net_memory_estimate (spec, 256, &options, &m, NULL));
  g_assert_cmpuint (m.total, >, G_GUINT64_CONSTANT (4) << 30);
  g_assert_cmpuint (m.total, <, G_GUINT64_CONSTANT (5) << 30);

  /* Inference keeps only weights, activations and a workspace. */
  options.training = FALSE;
  g_assert_true (kiln_net_memory_estimate (spec, 256, &options, &m, NULL));
  g_assert_cmpuint (m.gradients + m.optimizer + m.activation_gradients + m.backward_state, ==, 0);
}

typedef struct {
  const char *preset;
  int c, h, w;
  const char *freeze;
  KilnOptimizerType optimizer;
} RealCase;

static const RealCase real_cases[] = {
  { "lenet", 1, 28, 28, NULL, KILN_OPTIMIZER_SGD },
  { "lenet", 1, 28, 28, NULL, KILN_OPTIMIZER_ADAM },
  { "resnet18", 3, 32, 32, NULL, KILN_OPTIMIZER_SGD },
  { "resnet18", 3, 32, 32, "layer2.0.add", KILN_OPTIMIZER_ADAM },
  { "squeezenet1_1", 3, 64, 64, NULL, KILN_OPTIMIZER_SGD },
  { "alexnet", 3, 67, 67, "conv2", KILN_OPTIMIZER_SGD },
};

/* What the estimate calls tensors is exactly what a net on the CPU holds
 * after a training step (the optimizer's slots are made by the first one). */
static void
test_matches_cpu (gconstpointer data)
{
  const RealCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset (c->preset, 10, &error);
  const int batch = 2;

  g_assert_no_error (error);
  kiln_net_spec_set_input (spec, c->c, c->h, c->w);
  kiln_net_spec_set_exact_fit (spec, FALSE);
  if (c->freeze)
    g_assert_true (kiln_net_spec_freeze_up_to (spec, c->freeze, &error));
  g_assert_no_error (error);

  KilnNetMemoryOptions options = { .training = TRUE, .optimizer = c->optimizer };
  KilnNetMemory m;
  g_assert_true (kiln_net_memory_estimate (spec, batch, &options, &m, &error));
  g_assert_no_error (error);

  g_autoptr(KilnBackend) cpu = kiln_backend_new ("cpu", &error);
  g_autoptr(KilnNet) net = kiln_net_new (spec, cpu, batch, 1, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOptimizer) opt = c->optimizer == KILN_OPTIMIZER_ADAM
    ? kiln_optimizer_new_adam (1e-3f, 0.9f, 0.999f, 1e-8f, 0) : kiln_optimizer_new_sgd (0.01f, 0.9f, 0);
  const KilnShape *in = kiln_net_get_input_shape (net);
  g_autofree float *x = g_new0 (float, kiln_shape_n_elements (in));
  int labels[] = { 1, 3 };
  double loss;
  g_assert_true (kiln_net_train_step (net, opt, x, labels, &loss, NULL, &error));
  g_assert_no_error (error);

  guint64 tensors = kiln_backend_cpu_get_tensor_bytes (cpu);
  guint64 predicted = m.weights + m.gradients + m.optimizer + m.activations + m.activation_gradients;
  g_test_message ("%s%s%s: tensors %" G_GUINT64_FORMAT ", estimated %" G_GUINT64_FORMAT, c->preset,
                  c->freeze ? " frozen to " : "", c->freeze ? c->freeze : "", tensors, predicted);
  g_assert_cmpuint (predicted, ==, tensors);
}

static void
test_largest_batch (void)
{
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset ("alexnet", 1000, NULL);
  KilnNetMemoryOptions options = { .training = TRUE };
  KilnNetMemory m64, m65;

  g_assert_true (kiln_net_memory_estimate (spec, 64, &options, &m64, NULL));
  g_assert_true (kiln_net_memory_estimate (spec, 65, &options, &m65, NULL));
  g_assert_cmpint (kiln_net_memory_largest_batch (spec, 256, &options, m64.total), ==, 64);
  g_assert_cmpint (kiln_net_memory_largest_batch (spec, 256, &options, m65.total - 1), ==, 64);
  g_assert_cmpint (kiln_net_memory_largest_batch (spec, 32, &options, m64.total), ==, 32);
  /* Not even the weights fit. */
  g_assert_cmpint (kiln_net_memory_largest_batch (spec, 256, &options, m64.weights), ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/memory/alexnet-by-hand", test_alexnet_by_hand);
  for (guint i = 0; i < G_N_ELEMENTS (real_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/memory/matches-cpu/%u-%s", i, real_cases[i].preset);
      g_test_add_data_func (path, &real_cases[i], test_matches_cpu);
    }
  g_test_add_func ("/engine/memory/largest-batch", test_largest_batch);
  return g_test_run ();
}
