/* Every backend that answers against the CPU reference (a CPU backend on one
 * thread), the same code for each (kiln-test-backends.h): each op forward
 * and backward on random inputs, normalised error under 1e-5 in float32; a
 * 20-step training run of an AlexNet-shaped net whose loss curve follows
 * the reference's; and a checkpoint's tensors (weights and optimizer state)
 * carried from the reference to the backend and back unchanged to the bit.
 * The training net is AlexNet's layers at 67 × 67 with 10 classes: the full
 * 227 × 227 net takes minutes a run on two CPU cores. */
#include <math.h>
#include <string.h>

#include "kiln-net.h"
#include "kiln-test-backends.h"
#include "test-util.h"

#define OP_TOL 1e-5      /* float32, another backend or thread count vs the reference */
#define CURVE_TOL 1e-3   /* relative loss difference after up to 20 steps of drift */

typedef struct {
  const char *name;
  KilnLayerType type;
  KilnShape in[3];
  guint n_in;
  int num_output, kernel, stride, pad, group;
  gboolean fuse_relu;
} OpCase;

static const OpCase op_cases[] = {
  { "conv", KILN_LAYER_CONVOLUTION, {{ 2, 3, 9, 9 }}, 1, 8, 3, 1, 1, 1, FALSE },
  { "conv-stride-relu", KILN_LAYER_CONVOLUTION, {{ 2, 4, 15, 15 }}, 1, 16, 5, 2, 0, 1, TRUE },
  { "conv-groups", KILN_LAYER_CONVOLUTION, {{ 2, 8, 7, 7 }}, 1, 8, 3, 1, 1, 2, FALSE },
  { "conv-depthwise", KILN_LAYER_CONVOLUTION, {{ 2, 8, 7, 7 }}, 1, 8, 3, 1, 1, 8, FALSE },
  { "inner-product", KILN_LAYER_INNER_PRODUCT, {{ 4, 8, 3, 3 }}, 1, 10, 0, 0, 0, 0, FALSE },
  { "inner-product-relu", KILN_LAYER_INNER_PRODUCT, {{ 4, 32, 1, 1 }}, 1, 16, 0, 0, 0, 0, TRUE },
  { "relu", KILN_LAYER_RELU, {{ 2, 8, 5, 5 }}, 1 },
  { "lrn", KILN_LAYER_LRN, {{ 2, 16, 6, 6 }}, 1 },
  { "max-pool", KILN_LAYER_MAX_POOL, {{ 2, 16, 9, 9 }}, 1, 0, 3, 2, 0 },
  { "avg-pool", KILN_LAYER_AVG_POOL, {{ 2, 8, 8, 8 }}, 1, 0, 2, 2, 0 },
  { "global-avg-pool", KILN_LAYER_GLOBAL_AVG_POOL, {{ 2, 8, 5, 5 }}, 1 },
  { "softmax", KILN_LAYER_SOFTMAX, {{ 4, 10, 1, 1 }}, 1 },
  { "batch-norm", KILN_LAYER_BATCH_NORM, {{ 4, 8, 5, 5 }}, 1 },
  { "dropout", KILN_LAYER_DROPOUT, {{ 4, 8, 3, 3 }}, 1 },
  { "concat", KILN_LAYER_CONCAT, {{ 2, 3, 4, 4 }, { 2, 5, 4, 4 }}, 2 },
  { "add", KILN_LAYER_ADD, {{ 2, 6, 4, 4 }, { 2, 6, 4, 4 }}, 2 },
  { "flatten", KILN_LAYER_FLATTEN, {{ 2, 3, 4, 5 }}, 1 },
};

/* What one backend computes for a case: output, input and parameter
 * gradients, all as host floats. */
typedef struct {
  float *dst;
  float *dsrc[3];
  float *dparams[KILN_OP_MAX_PARAMS];
} OpResult;

static void
op_result_clear (OpResult *r)
{
  g_free (r->dst);
  for (guint i = 0; i < 3; i++)
    g_free (r->dsrc[i]);
  for (guint i = 0; i < KILN_OP_MAX_PARAMS; i++)
    g_free (r->dparams[i]);
}

static KilnTensor *
upload (KilnBackend *backend, const KilnShape *shape, const float *values)
{
  g_autoptr(GError) error = NULL;
  KilnTensor *t = kiln_tensor_new (backend, shape, &error);
  g_assert_no_error (error);
  kiln_tensor_upload (t, values, kiln_shape_n_elements (shape));
  return t;
}

/* Runs @desc on @backend from the same random values (seeded by the case). */
static void
run_op (KilnBackend *backend, const OpCase *c, const KilnOpDesc *desc, OpResult *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_str_hash (c->name));
  KilnShape pshapes[KILN_OP_MAX_PARAMS];
  guint n_learn;
  guint n_params = kiln_op_desc_param_shapes (desc, pshapes, &n_learn);
  KilnTensor *src[3] = { NULL }, *dsrc[3] = { NULL }, *params[KILN_OP_MAX_PARAMS] = { NULL };
  KilnTensor *dparams[KILN_OP_MAX_PARAMS] = { NULL };

  for (guint i = 0; i < desc->n_inputs; i++)
    {
      gint64 n = kiln_shape_n_elements (&desc->inputs[i]);
      g_autofree float *v = g_new (float, n);
      for (gint64 k = 0; k < n; k++)
        v[k] = (float) g_rand_double_range (rand, -1, 1);
      src[i] = upload (backend, &desc->inputs[i], v);
      dsrc[i] = kiln_tensor_new (backend, &desc->inputs[i], &error);
    }
  for (guint i = 0; i < n_params; i++)
    {
      gint64 n = kiln_shape_n_elements (&pshapes[i]);
      g_autofree float *v = g_new (float, n);
      for (gint64 k = 0; k < n; k++)   /* BatchNorm's running variance stays positive */
        v[k] = (float) g_rand_double_range (rand, i == 3 ? 0.5 : -1, 1);
      params[i] = upload (backend, &pshapes[i], v);
      dparams[i] = kiln_tensor_new (backend, &pshapes[i], &error);
    }
  gint64 n_out = kiln_shape_n_elements (&desc->output);
  g_autofree float *dy = g_new (float, n_out);
  for (gint64 k = 0; k < n_out; k++)
    dy[k] = (float) g_rand_double_range (rand, -1, 1);
  g_autoptr(KilnTensor) dst = kiln_tensor_new (backend, &desc->output, &error);
  g_autoptr(KilnTensor) ddst = upload (backend, &desc->output, dy);
  g_autoptr(KilnOp) op = kiln_backend_op_new (backend, desc, &error);
  g_assert_no_error (error);

  KilnOpArgs args = {
    .src = src, .dst = dst, .params = params, .n_params = n_params, .diff_src = dsrc,
    .diff_dst = ddst, .diff_params = dparams, .train = TRUE, .seed = 0x5eed,
  };
  g_assert_true (kiln_op_forward (op, &args, &error));
  if (n_learn > 0)
    g_assert_true (kiln_op_backward_weights (op, &args, &error));
  g_assert_true (kiln_op_backward_data (op, &args, &error));
  g_assert_no_error (error);

  out->dst = kiln_tensor_dup_host (dst);
  for (guint i = 0; i < desc->n_inputs; i++)
    {
      out->dsrc[i] = kiln_tensor_dup_host (dsrc[i]);
      kiln_tensor_free (src[i]);
      kiln_tensor_free (dsrc[i]);
    }
  for (guint i = 0; i < n_params; i++)
    {
      if (i < n_learn)
        out->dparams[i] = kiln_tensor_dup_host (dparams[i]);
      kiln_tensor_free (params[i]);
      kiln_tensor_free (dparams[i]);
    }
}

static void
check (const char *device, const char *name, const char *what, const float *got, const float *want, gsize n,
       double tol)
{
  double err = kiln_test_normalized_error (got, want, n, NULL);
  g_test_message ("%s %s %s: normalised error %.3g", device, name, what, err);
  if (!(err < tol))
    g_error ("%s %s %s: normalised error %.3g exceeds %.0e", device, name, what, err, tol);
}

static void
test_op (gconstpointer data)
{
  const char *device = data;
  const char *name = strrchr (g_test_get_path (), '/') + 1;
  const OpCase *c = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (op_cases); i++)
    if (g_str_equal (op_cases[i].name, name))
      c = &op_cases[i];
  g_assert_nonnull (c);
  KilnBackend *backend = kiln_test_backend_get (device);
  if (backend == NULL)
    return;

  g_autoptr(GError) error = NULL;
  g_auto(KilnLayerSpec) spec;
  KilnOpDesc desc;
  kiln_layer_spec_init (&spec, c->type, c->name);
  if (c->num_output)
    spec.num_output = c->num_output;
  if (c->kernel)
    {
      spec.kernel_h = spec.kernel_w = c->kernel;
      spec.stride_h = spec.stride_w = c->stride;
      spec.pad_top = spec.pad_left = spec.pad_bottom = spec.pad_right = c->pad;
    }
  if (c->group)
    spec.group = c->group;
  g_assert_true (kiln_op_desc_init (&desc, &spec, c->in, c->n_in, &error));
  desc.fuse_relu = c->fuse_relu;

  OpResult want = { 0 }, got = { 0 };
  KilnShape pshapes[KILN_OP_MAX_PARAMS];
  guint n_learn;
  kiln_op_desc_param_shapes (&desc, pshapes, &n_learn);
  run_op (kiln_test_backend_reference (), c, &desc, &want);
  run_op (backend, c, &desc, &got);
  check (device, c->name, "forward", got.dst, want.dst, kiln_shape_n_elements (&desc.output), OP_TOL);
  for (guint i = 0; i < desc.n_inputs; i++)
    check (device, c->name, "d/dinput", got.dsrc[i], want.dsrc[i], kiln_shape_n_elements (&desc.inputs[i]), OP_TOL);
  for (guint i = 0; i < n_learn; i++)
    check (device, c->name, "d/dparam", got.dparams[i], want.dparams[i], kiln_shape_n_elements (&pshapes[i]), OP_TOL);
  op_result_clear (&want);
  op_result_clear (&got);
}

static KilnNetSpec *
alexnet_small (void)
{
  g_autoptr(GError) error = NULL;
  KilnNetSpec *spec = kiln_net_spec_new_preset ("alexnet", 10, &error);
  g_assert_no_error (error);
  kiln_net_spec_set_input (spec, 3, 67, 67);
  kiln_net_spec_set_exact_fit (spec, FALSE);
  return spec;
}

/* @steps SGD steps on one fixed random batch (so the loss falls); the
 * losses go to @losses[first …]. */
static void
train_steps (KilnNet *net, KilnOptimizer *opt, int first, int steps, double *losses)
{
  g_autoptr(GError) error = NULL;
  const KilnShape *in = kiln_net_get_input_shape (net);
  gint64 n = kiln_shape_n_elements (in);
  g_autofree float *x = g_new (float, n);
  g_autofree int *labels = g_new (int, in->n);

  for (int s = first; s < first + steps; s++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed (1000);
      for (gint64 i = 0; i < n; i++)
        x[i] = (float) g_rand_double_range (rand, -1, 1);
      for (int i = 0; i < in->n; i++)
        labels[i] = i % 10;
      g_assert_true (kiln_net_train_step (net, opt, x, labels, &losses[s], NULL, &error));
      g_assert_no_error (error);
    }
}

/* The same net and optimizer on the reference and on @device; the net on
 * @device starts from @seed's weights. FALSE (skipped) when it does not answer. */
typedef struct {
  KilnNetSpec *spec;
  KilnNet *ref, *net;
  KilnOptimizer *ref_opt, *opt;
} Pair;

static gboolean
pair_init (Pair *p, const char *device, guint64 seed)
{
  g_autoptr(GError) error = NULL;
  KilnBackend *backend = kiln_test_backend_get (device);
  if (backend == NULL)
    return FALSE;
  p->spec = alexnet_small ();
  p->ref = kiln_net_new (p->spec, kiln_test_backend_reference (), 4, 3, &error);
  p->net = kiln_net_new (p->spec, backend, 4, seed, &error);
  g_assert_no_error (error);
  p->ref_opt = kiln_optimizer_new_sgd (0.01f, 0.9f, 5e-4f);
  p->opt = kiln_optimizer_new_sgd (0.01f, 0.9f, 5e-4f);
  return TRUE;
}

static void
pair_clear (Pair *p)
{
  g_clear_pointer (&p->ref, kiln_net_free);
  g_clear_pointer (&p->net, kiln_net_free);
  g_clear_pointer (&p->ref_opt, kiln_optimizer_free);
  g_clear_pointer (&p->opt, kiln_optimizer_free);
  g_clear_object (&p->spec);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Pair, pair_clear)

static void
test_train_20_steps (gconstpointer data)
{
  const char *device = data;
  g_auto(Pair) p = { 0 };
  if (!pair_init (&p, device, 3))
    return;
  KilnNet *ref = p.ref, *net = p.net;
  KilnOptimizer *ref_opt = p.ref_opt, *opt = p.opt;
  double want[20], got[20];

  train_steps (ref, ref_opt, 0, 20, want);
  train_steps (net, opt, 0, 20, got);
  for (int s = 0; s < 20; s++)
    {
      double rel = fabs (got[s] - want[s]) / fabs (want[s]);
      g_test_message ("%s step %d: loss %.6f, reference %.6f", device, s + 1, got[s], want[s]);
      if (!(rel < CURVE_TOL))
        g_error ("%s step %d: loss %.6f vs the reference's %.6f (%.2g relative)", device, s + 1, got[s], want[s], rel);
    }
  g_assert_cmpfloat (want[19], <, want[0]);
}

/* What a checkpoint stores (every parameter and optimizer slot) goes from
 * the reference to the backend and back bit for bit; training on from it
 * follows the reference. */
static void
test_resume_across (gconstpointer data)
{
  const char *device = data;
  g_autoptr(GError) error = NULL;
  g_auto(Pair) p = { 0 };
  /* Other starting weights: everything must come from the reference. */
  if (!pair_init (&p, device, 11))
    return;
  KilnNetSpec *spec = p.spec;
  KilnNet *ref = p.ref, *net = p.net;
  KilnOptimizer *ref_opt = p.ref_opt, *opt = p.opt;
  double want[6], got[6];

  train_steps (ref, ref_opt, 0, 3, want);
  for (guint i = 0; i < kiln_net_spec_get_n_layers (spec); i++)
    {
      const char *layer = kiln_net_spec_get_layer (spec, i)->name;
      for (guint p = 0; p < kiln_net_get_n_params (ref, layer); p++)
        {
          KilnShape shape;
          g_assert_true (kiln_net_get_param_shape (ref, layer, p, &shape, &error));
          gint64 n = kiln_shape_n_elements (&shape);
          g_autofree float *stored = g_new (float, n), *back = g_new (float, n);
          g_autofree float *slot = g_new (float, n), *slot_back = g_new (float, n);
          g_assert_true (kiln_net_get_param (ref, layer, p, stored, n, &error));
          g_assert_true (kiln_net_set_param (net, layer, p, stored, n, &error));
          g_assert_true (kiln_net_get_param (net, layer, p, back, n, &error));
          g_assert_cmpmem (stored, n * sizeof (float), back, n * sizeof (float));
          if (kiln_net_get_param_slot (ref, layer, p, 0, slot, n, NULL))
            {
              g_assert_true (kiln_net_set_param_slot (net, layer, p, 0, slot, n, &error));
              g_assert_true (kiln_net_get_param_slot (net, layer, p, 0, slot_back, n, &error));
              g_assert_cmpmem (slot, n * sizeof (float), slot_back, n * sizeof (float));
            }
          g_assert_no_error (error);
        }
    }
  kiln_net_set_step (net, kiln_net_get_step (ref));
  kiln_net_set_seed (net, kiln_net_get_seed (ref));
  kiln_optimizer_set_iteration (opt, kiln_optimizer_get_iteration (ref_opt));
  train_steps (ref, ref_opt, 3, 3, want);
  train_steps (net, opt, 3, 3, got);
  for (int s = 3; s < 6; s++)
    {
      g_test_message ("%s resumed step %d: loss %.6f, reference %.6f", device, s + 1, got[s], want[s]);
      if (!(fabs (got[s] - want[s]) / fabs (want[s]) < CURVE_TOL))
        g_error ("%s resumed step %d: loss %.6f vs the reference's %.6f", device, s + 1, got[s], want[s]);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (op_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("ops/%s", op_cases[i].name);
      kiln_test_backends_add ("engine/backends", name, test_op);
    }
  kiln_test_backends_add ("engine/backends", "train-20-steps", test_train_20_steps);
  kiln_test_backends_add ("engine/backends", "resume-across", test_resume_across);
  return g_test_run ();
}
