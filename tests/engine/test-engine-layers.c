/* Every layer of the CPU backend against the float64 reference
 * (kiln-reference.c): forward, the input gradients and the parameter
 * gradients, on shapes with odd sizes, strides, groups, dilation and
 * asymmetric padding. The reference itself is checked by central finite
 * differences on small shapes. Errors: relative L2 norm, ‖a − b‖ / ‖b‖. */
#include <math.h>
#include <string.h>

#include "kiln-backend.h"
#include "kiln-engine-error.h"
#include "kiln-reference.h"

#define TOL 1e-4       /* float32 backend vs float64 reference */
#define FD_TOL 1e-6    /* float64 reference vs its own finite differences */

static KilnBackend *backend;

typedef struct {
  const char *name;
  KilnLayerType type;
  KilnShape in[3];
  guint n_in;
  int num_output, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group;
  gboolean no_bias, fuse_relu, ceil, include_pad;
  int local_size;
  float alpha, beta, k, ratio;
  KilnPadMode pad_mode;
  float pad_value;
} Case;

static double
rel_err (const double *a, const double *b, gint64 n)
{
  double num = 0, den = 0;
  for (gint64 i = 0; i < n; i++)
    {
      num += (a[i] - b[i]) * (a[i] - b[i]);
      den += b[i] * b[i];
    }
  if (den == 0)
    return sqrt (num);
  return sqrt (num / den);
}

static void
spec_from_case (KilnLayerSpec *l, const Case *c)
{
  kiln_layer_spec_init (l, c->type, c->name);
  if (c->num_output)
    l->num_output = c->num_output;
  if (c->kh)
    {
      l->kernel_h = c->kh;
      l->kernel_w = c->kw;
    }
  if (c->sh)
    {
      l->stride_h = c->sh;
      l->stride_w = c->sw;
    }
  l->pad_top = c->pt;
  l->pad_left = c->pl;
  l->pad_bottom = c->pb;
  l->pad_right = c->pr;
  if (c->dh)
    {
      l->dilation_h = c->dh;
      l->dilation_w = c->dw;
    }
  if (c->group)
    l->group = c->group;
  if (c->no_bias)
    l->bias = FALSE;
  l->rounding = c->ceil ? KILN_ROUND_CEIL : KILN_ROUND_FLOOR;
  l->count_include_pad = c->include_pad;
  l->pad_mode = c->pad_mode;
  l->pad_value = c->pad_value;
  if (c->local_size)
    {
      l->local_size = c->local_size;
      l->alpha = c->alpha;
      l->beta = c->beta;
      l->k = c->k;
    }
  if (c->ratio)
    l->ratio = c->ratio;
}

/* Random values rounded to float so both sides see the same numbers. */
static double *
random_values (GRand *rand, gint64 n, double lo, double hi)
{
  double *v = g_new (double, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, lo, hi);
  return v;
}

static KilnTensor *
tensor_from (const KilnShape *shape, const double *v)
{
  g_autoptr(GError) error = NULL;
  KilnTensor *t = kiln_tensor_new (backend, shape, &error);
  g_assert_no_error (error);
  gint64 n = kiln_shape_n_elements (shape);
  g_autofree float *f = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    f[i] = (float) v[i];
  kiln_tensor_upload (t, f, n);
  return t;
}

static double *
tensor_values (KilnTensor *t)
{
  gint64 n = kiln_tensor_n_elements (t);
  g_autofree float *f = kiln_tensor_dup_host (t);
  double *v = g_new (double, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = f[i];
  return v;
}

static void
check_close (const char *what, const Case *c, const double *got, const double *want, gint64 n,
             double tol)
{
  double err = rel_err (got, want, n);
  g_test_message ("%s %s: relative error %.3g", c->name, what, err);
  if (!(err < tol))
    g_error ("%s %s: relative error %.3g exceeds %.0e", c->name, what, err, tol);
}

/* L = Σ r·y; the reference's gradients against central differences. */
static void
finite_difference_check (const KilnOpDesc *desc, double **src, double **params, guint n_learn,
                         const KilnShape *pshapes, const double *r, gboolean train, guint64 seed,
                         const Case *c)
{
  gint64 n_out = kiln_shape_n_elements (&desc->output);
  g_autofree double *y = g_new (double, n_out);
  double *diff_src[KILN_OP_MAX_INPUTS] = { NULL };
  double *diff_params[KILN_OP_MAX_PARAMS] = { NULL };
  const double h = 1e-6;

  for (guint i = 0; i < desc->n_inputs; i++)
    diff_src[i] = g_new0 (double, kiln_shape_n_elements (&desc->inputs[i]));
  for (guint i = 0; i < n_learn; i++)
    diff_params[i] = g_new0 (double, kiln_shape_n_elements (&pshapes[i]));
  kiln_ref_backward (desc, (const double *const *) src, (const double *const *) params, r,
                     diff_src, diff_params, train, seed);

  for (guint set = 0; set < desc->n_inputs + n_learn; set++)
    {
      gboolean is_src = set < desc->n_inputs;
      double *v = is_src ? src[set] : params[set - desc->n_inputs];
      const double *analytic = is_src ? diff_src[set] : diff_params[set - desc->n_inputs];
      gint64 n = kiln_shape_n_elements (is_src ? &desc->inputs[set] : &pshapes[set - desc->n_inputs]);
      g_autofree double *numeric = g_new (double, n);
      for (gint64 i = 0; i < n; i++)
        {
          double keep = v[i], lp = 0, lm = 0;
          v[i] = keep + h;
          kiln_ref_forward (desc, (const double *const *) src, (const double *const *) params, y, train, seed);
          for (gint64 j = 0; j < n_out; j++)
            lp += r[j] * y[j];
          v[i] = keep - h;
          kiln_ref_forward (desc, (const double *const *) src, (const double *const *) params, y, train, seed);
          for (gint64 j = 0; j < n_out; j++)
            lm += r[j] * y[j];
          v[i] = keep;
          numeric[i] = (lp - lm) / (2 * h);
        }
      check_close (is_src ? "reference d/dinput vs finite differences"
                          : "reference d/dparam vs finite differences",
                   c, analytic, numeric, n, FD_TOL);
    }
  for (guint i = 0; i < desc->n_inputs; i++)
    g_free (diff_src[i]);
  for (guint i = 0; i < n_learn; i++)
    g_free (diff_params[i]);
}

static void
run_case (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_str_hash (c->name));
  KilnLayerSpec spec;
  KilnOpDesc desc;
  KilnShape pshapes[KILN_OP_MAX_PARAMS];
  guint n_learn;

  spec_from_case (&spec, c);
  g_assert_true (kiln_op_desc_init (&desc, &spec, c->in, c->n_in, &error));
  g_assert_no_error (error);
  desc.fuse_relu = c->fuse_relu;
  guint n_params = kiln_op_desc_param_shapes (&desc, pshapes, &n_learn);

  g_autoptr(KilnOp) op = kiln_backend_op_new (backend, &desc, &error);
  g_assert_no_error (error);

  double *src[KILN_OP_MAX_INPUTS] = { NULL }, *params[KILN_OP_MAX_PARAMS] = { NULL };
  KilnTensor *tsrc[KILN_OP_MAX_INPUTS] = { NULL }, *tparams[KILN_OP_MAX_PARAMS] = { NULL };
  KilnTensor *tdsrc[KILN_OP_MAX_INPUTS] = { NULL }, *tdparams[KILN_OP_MAX_PARAMS] = { NULL };
  for (guint i = 0; i < desc.n_inputs; i++)
    {
      src[i] = random_values (rand, kiln_shape_n_elements (&desc.inputs[i]), -1, 1);
      tsrc[i] = tensor_from (&desc.inputs[i], src[i]);
      tdsrc[i] = kiln_tensor_new (backend, &desc.inputs[i], &error);
    }
  for (guint i = 0; i < n_params; i++)
    {
      gint64 n = kiln_shape_n_elements (&pshapes[i]);
      /* BatchNorm: positive running variance. */
      params[i] = spec.type == KILN_LAYER_BATCH_NORM && i == 3 ? random_values (rand, n, 0.5, 2)
                                                               : random_values (rand, n, -1, 1);
      tparams[i] = tensor_from (&pshapes[i], params[i]);
      tdparams[i] = kiln_tensor_new (backend, &pshapes[i], &error);
    }
  gint64 n_out = kiln_shape_n_elements (&desc.output);
  g_autoptr(KilnTensor) tdst = kiln_tensor_new (backend, &desc.output, &error);
  g_autofree double *dy = random_values (rand, n_out, -1, 1);
  g_autoptr(KilnTensor) tdy = tensor_from (&desc.output, dy);
  g_autofree double *want = g_new (double, n_out);
  guint64 seed = 0x5eed0000 + n_out;

  gboolean modes[] = { TRUE, FALSE };
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      gboolean train = modes[m];
      /* BatchNorm in training moves the running statistics: check that,
       * then compare the inference forward against the moved values. */
      g_autofree double *old_mean = spec.type == KILN_LAYER_BATCH_NORM
        ? g_memdup2 (params[2], c->in[0].c * sizeof (double)) : NULL;
      g_autofree double *old_var = spec.type == KILN_LAYER_BATCH_NORM
        ? g_memdup2 (params[3], c->in[0].c * sizeof (double)) : NULL;

      KilnOpArgs args = {
        .src = tsrc, .dst = tdst, .params = tparams, .n_params = n_params,
        .diff_src = tdsrc, .diff_dst = tdy, .diff_params = tdparams,
        .train = train, .seed = seed,
      };
      g_assert_true (kiln_op_forward (op, &args, &error));
      g_assert_no_error (error);
      kiln_ref_forward (&desc, (const double *const *) src, (const double *const *) params, want,
                        train, seed);
      g_autofree double *got = tensor_values (tdst);
      check_close (train ? "forward (train)" : "forward (eval)", c, got, want, n_out, TOL);

      if (spec.type == KILN_LAYER_BATCH_NORM && train)
        {
          const KilnShape *s = &c->in[0];
          double cnt = (double) s->n * s->h * s->w, mom = spec.momentum;
          g_autofree double *exp_mean = g_new (double, s->c);
          g_autofree double *exp_var = g_new (double, s->c);
          for (int ch = 0; ch < s->c; ch++)
            {
              double mean = 0, var = 0;
              for (int b = 0; b < s->n; b++)
                for (int i = 0; i < s->h * s->w; i++)
                  mean += src[0][((gint64) b * s->c + ch) * s->h * s->w + i];
              mean /= cnt;
              for (int b = 0; b < s->n; b++)
                for (int i = 0; i < s->h * s->w; i++)
                  {
                    double t = src[0][((gint64) b * s->c + ch) * s->h * s->w + i] - mean;
                    var += t * t;
                  }
              exp_mean[ch] = mom * old_mean[ch] + (1 - mom) * mean;
              exp_var[ch] = mom * old_var[ch] + (1 - mom) * var / (cnt - 1);
            }
          g_free (params[2]);
          g_free (params[3]);
          params[2] = tensor_values (tparams[2]);
          params[3] = tensor_values (tparams[3]);
          check_close ("running mean", c, params[2], exp_mean, s->c, TOL);
          check_close ("running variance", c, params[3], exp_var, s->c, TOL);
        }

      /* Gradients follow a training forward; dropout and softmax need no
       * weights, so eval backward is checked only where it differs. */
      if (!train && spec.type != KILN_LAYER_DROPOUT)
        continue;
      if (!train)
        {
          /* Dropout in eval passes the gradient through. */
          g_assert_true (kiln_op_backward_data (op, &args, &error));
          g_autofree double *gx = tensor_values (tdsrc[0]);
          check_close ("d/dinput (eval)", c, gx, dy, n_out, TOL);
          continue;
        }
      if (n_learn > 0)
        {
          kiln_op_backward_weights (op, &args, &error);
          g_assert_no_error (error);
        }
      kiln_op_backward_data (op, &args, &error);
      g_assert_no_error (error);

      double *rdx[KILN_OP_MAX_INPUTS] = { NULL }, *rdp[KILN_OP_MAX_PARAMS] = { NULL };
      for (guint i = 0; i < desc.n_inputs; i++)
        rdx[i] = g_new (double, kiln_shape_n_elements (&desc.inputs[i]));
      for (guint i = 0; i < n_learn; i++)
        rdp[i] = g_new (double, kiln_shape_n_elements (&pshapes[i]));
      kiln_ref_backward (&desc, (const double *const *) src, (const double *const *) params, dy,
                         rdx, rdp, TRUE, seed);
      for (guint i = 0; i < desc.n_inputs; i++)
        {
          g_autofree double *gx = tensor_values (tdsrc[i]);
          check_close ("d/dinput", c, gx, rdx[i], kiln_shape_n_elements (&desc.inputs[i]), TOL);
          g_free (rdx[i]);
        }
      for (guint i = 0; i < n_learn; i++)
        {
          g_autofree double *gp = tensor_values (tdparams[i]);
          check_close (i == 0 ? "d/dweight" : "d/dbias", c, gp, rdp[i],
                       kiln_shape_n_elements (&pshapes[i]), TOL);
          g_free (rdp[i]);
        }
    }

  /* Finite differences on the small cases (the reference is slow on big ones). */
  gint64 work = n_out;
  for (guint i = 0; i < desc.n_inputs; i++)
    work += kiln_shape_n_elements (&desc.inputs[i]);
  if (work <= 2000)
    finite_difference_check (&desc, src, params, n_learn, pshapes, dy, TRUE, seed, c);

  for (guint i = 0; i < desc.n_inputs; i++)
    {
      g_free (src[i]);
      kiln_tensor_free (tsrc[i]);
      kiln_tensor_free (tdsrc[i]);
    }
  for (guint i = 0; i < n_params; i++)
    {
      g_free (params[i]);
      kiln_tensor_free (tparams[i]);
      kiln_tensor_free (tdparams[i]);
    }
  g_clear_pointer (&op, kiln_op_free);
  kiln_layer_spec_clear (&spec);
}

#define CONV KILN_LAYER_CONVOLUTION
static const Case cases[] = {
  { "conv-3x3-pad1", CONV, {{ 2, 3, 7, 9 }}, 1, .num_output = 5, .kh = 3, .kw = 3, .pt = 1, .pl = 1, .pb = 1, .pr = 1 },
  { "conv-stride-asymmetric-pads", CONV, {{ 3, 4, 11, 8 }}, 1, .num_output = 6, .kh = 3, .kw = 5,
    .sh = 2, .sw = 3, .pt = 0, .pl = 2, .pb = 1, .pr = 0 },
  { "conv-groups-dilation", CONV, {{ 2, 4, 9, 9 }}, 1, .num_output = 6, .kh = 3, .kw = 3,
    .dh = 2, .dw = 2, .group = 2, .pt = 2, .pl = 2, .pb = 2, .pr = 2 },
  { "conv-fused-relu-no-bias", CONV, {{ 2, 3, 6, 7 }}, 1, .num_output = 4, .kh = 2, .kw = 2,
    .no_bias = TRUE, .fuse_relu = TRUE },
  { "conv-1x1-stride2-groups3", CONV, {{ 1, 6, 5, 5 }}, 1, .num_output = 9, .kh = 1, .kw = 1,
    .sh = 2, .sw = 2, .group = 3 },
  { "conv-depthwise", CONV, {{ 2, 4, 7, 7 }}, 1, .num_output = 4, .kh = 3, .kw = 3, .group = 4,
    .pt = 1, .pl = 1, .pb = 1, .pr = 1 },
  { "conv-11x11-stride4", CONV, {{ 2, 3, 31, 31 }}, 1, .num_output = 8, .kh = 11, .kw = 11, .sh = 4, .sw = 4,
    .fuse_relu = TRUE },
  { "tiny-conv", CONV, {{ 2, 2, 4, 5 }}, 1, .num_output = 3, .kh = 2, .kw = 3, .sh = 2, .sw = 1,
    .pt = 1, .pl = 0, .pb = 0, .pr = 1, .group = 1 },
  { "inner-product", KILN_LAYER_INNER_PRODUCT, {{ 3, 5, 3, 2 }}, 1, .num_output = 7 },
  { "inner-product-relu-no-bias", KILN_LAYER_INNER_PRODUCT, {{ 4, 9, 1, 1 }}, 1, .num_output = 5,
    .no_bias = TRUE, .fuse_relu = TRUE },
  { "relu", KILN_LAYER_RELU, {{ 2, 3, 5, 7 }}, 1 },
  { "lrn-5", KILN_LAYER_LRN, {{ 2, 7, 4, 5 }}, 1, .local_size = 5, .alpha = 0.5f, .beta = 0.75f, .k = 2.f },
  { "lrn-3", KILN_LAYER_LRN, {{ 1, 4, 3, 3 }}, 1, .local_size = 3, .alpha = 1.f, .beta = 0.6f, .k = 1.f },
  { "maxpool-floor", KILN_LAYER_MAX_POOL, {{ 2, 3, 9, 9 }}, 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2 },
  { "maxpool-ceil", KILN_LAYER_MAX_POOL, {{ 2, 3, 8, 10 }}, 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil = TRUE },
  { "maxpool-asymmetric-pads", KILN_LAYER_MAX_POOL, {{ 2, 2, 7, 6 }}, 1, .kh = 3, .kw = 2, .sh = 2, .sw = 1,
    .pt = 1, .pl = 0, .pb = 0, .pr = 1 },
  { "avgpool-include-pad", KILN_LAYER_AVG_POOL, {{ 2, 3, 7, 7 }}, 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
    .pt = 1, .pl = 1, .pb = 1, .pr = 1, .include_pad = TRUE },
  { "avgpool-exclude-pad", KILN_LAYER_AVG_POOL, {{ 2, 3, 7, 8 }}, 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
    .pt = 1, .pl = 1, .pb = 1, .pr = 1 },
  { "avgpool-ceil", KILN_LAYER_AVG_POOL, {{ 1, 2, 6, 6 }}, 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil = TRUE },
  { "global-avgpool", KILN_LAYER_GLOBAL_AVG_POOL, {{ 2, 5, 6, 7 }}, 1 },
  { "softmax", KILN_LAYER_SOFTMAX, {{ 3, 10, 1, 1 }}, 1 },
  { "softmax-spatial", KILN_LAYER_SOFTMAX, {{ 2, 4, 3, 2 }}, 1 },
  { "batchnorm", KILN_LAYER_BATCH_NORM, {{ 4, 3, 5, 6 }}, 1 },
  { "tiny-batchnorm", KILN_LAYER_BATCH_NORM, {{ 3, 2, 2, 3 }}, 1 },
  { "dropout", KILN_LAYER_DROPOUT, {{ 3, 4, 5, 6 }}, 1, .ratio = 0.3f },
  { "concat", KILN_LAYER_CONCAT, {{ 2, 3, 4, 5 }, { 2, 2, 4, 5 }, { 2, 1, 4, 5 }}, 3 },
  { "add", KILN_LAYER_ADD, {{ 2, 3, 4, 5 }, { 2, 3, 4, 5 }, { 2, 3, 4, 5 }}, 3 },
  { "flatten", KILN_LAYER_FLATTEN, {{ 2, 3, 4, 5 }}, 1 },
  /* Asymmetric on both axes, one side 0; edge and reflect read some inputs
   * several times, so their gradients add up. */
  { "pad-constant", KILN_LAYER_PAD, {{ 2, 3, 4, 5 }}, 1, .pt = 0, .pl = 2, .pb = 1, .pr = 3, .pad_value = 1.5f },
  { "pad-edge", KILN_LAYER_PAD, {{ 2, 2, 3, 4 }}, 1, .pt = 2, .pl = 0, .pb = 3, .pr = 1, .pad_mode = KILN_PAD_EDGE },
  { "pad-reflect", KILN_LAYER_PAD, {{ 1, 3, 4, 5 }}, 1, .pt = 3, .pl = 1, .pb = 2, .pr = 4,
    .pad_mode = KILN_PAD_REFLECT },
};

/* Random convolution and pooling geometries from a fixed seed, so a failure
 * reproduces: odd sizes, strides up to 3, asymmetric pads, groups, dilation. */
#define N_RANDOM 24
static Case random_cases[N_RANDOM];
static char random_names[N_RANDOM][48];

static void
make_random_cases (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261129);
  for (int i = 0; i < N_RANDOM; i++)
    {
      Case *c = &random_cases[i];
      gboolean pool = i % 3 == 2;
      memset (c, 0, sizeof *c);
      c->n_in = 1;
      c->kh = g_rand_int_range (rand, 1, 6);
      c->kw = g_rand_int_range (rand, 1, 6);
      c->sh = g_rand_int_range (rand, 1, 4);
      c->sw = g_rand_int_range (rand, 1, 4);
      if (pool)
        {
          c->type = g_rand_boolean (rand) ? KILN_LAYER_MAX_POOL : KILN_LAYER_AVG_POOL;
          c->pt = g_rand_int_range (rand, 0, c->kh);
          c->pb = g_rand_int_range (rand, 0, c->kh);
          c->pl = g_rand_int_range (rand, 0, c->kw);
          c->pr = g_rand_int_range (rand, 0, c->kw);
          c->ceil = g_rand_boolean (rand);
          c->include_pad = !c->ceil && g_rand_boolean (rand);
          c->in[0] = (KilnShape) { g_rand_int_range (rand, 1, 4), g_rand_int_range (rand, 1, 20),
                                   g_rand_int_range (rand, c->kh + 1, 16),
                                   g_rand_int_range (rand, c->kw + 1, 16) };
          g_snprintf (random_names[i], sizeof random_names[i], "random-%s-%d",
                      c->type == KILN_LAYER_MAX_POOL ? "maxpool" : "avgpool", i);
        }
      else
        {
          int groups[] = { 1, 1, 2, 3 };
          c->type = KILN_LAYER_CONVOLUTION;
          c->group = groups[g_rand_int_range (rand, 0, 4)];
          c->dh = g_rand_int_range (rand, 1, 3);
          c->dw = g_rand_int_range (rand, 1, 3);
          c->pt = g_rand_int_range (rand, 0, 3);
          c->pb = g_rand_int_range (rand, 0, 3);
          c->pl = g_rand_int_range (rand, 0, 3);
          c->pr = g_rand_int_range (rand, 0, 3);
          c->num_output = c->group * g_rand_int_range (rand, 1, 6);
          c->no_bias = g_rand_int_range (rand, 0, 4) == 0;
          c->fuse_relu = g_rand_boolean (rand);
          c->in[0] = (KilnShape) { g_rand_int_range (rand, 1, 4), c->group * g_rand_int_range (rand, 1, 5),
                                   (c->kh - 1) * c->dh + 1 + g_rand_int_range (rand, 0, 10),
                                   (c->kw - 1) * c->dw + 1 + g_rand_int_range (rand, 0, 10) };
          g_snprintf (random_names[i], sizeof random_names[i], "random-conv-%d", i);
        }
      c->name = random_names[i];
    }
}

/* conv(+ReLU) → LRN → max pool → conv with 16 channels: the backend hands
 * blocked (nChw16c) tensors from primitive to primitive; the chain must
 * still match the reference forward and backward. */
static void
test_blocked_chain (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (16);
  Case cc[4] = {
    { "chain-conv1", CONV, {{ 2, 3, 13, 11 }}, 1, .num_output = 16, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
      .pt = 1, .pl = 1, .pb = 1, .pr = 1, .fuse_relu = TRUE },
    { "chain-lrn", KILN_LAYER_LRN, {{ 0 }}, 1, .local_size = 5, .alpha = 0.5f, .beta = 0.75f, .k = 2.f },
    { "chain-pool", KILN_LAYER_MAX_POOL, {{ 0 }}, 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil = TRUE },
    { "chain-conv2", CONV, {{ 0 }}, 1, .num_output = 32, .kh = 3, .kw = 3, .pt = 1, .pl = 1, .pb = 1, .pr = 1 },
  };
  KilnLayerSpec spec[4];
  KilnOpDesc desc[4];
  KilnOp *op[4];
  KilnTensor *t[5], *g[5], *tw[4][2] = { { NULL } }, *tgw[4][2] = { { NULL } };
  double *x[5], *w[4][2] = { { NULL } };

  for (int i = 0; i < 4; i++)
    {
      if (i > 0)
        cc[i].in[0] = desc[i - 1].output;
      spec_from_case (&spec[i], &cc[i]);
      g_assert_true (kiln_op_desc_init (&desc[i], &spec[i], cc[i].in, 1, &error));
      desc[i].fuse_relu = cc[i].fuse_relu;
      op[i] = kiln_backend_op_new (backend, &desc[i], &error);
      g_assert_no_error (error);
      KilnShape ps[KILN_OP_MAX_PARAMS];
      guint nl, np = kiln_op_desc_param_shapes (&desc[i], ps, &nl);
      for (guint k = 0; k < np; k++)
        {
          w[i][k] = random_values (rand, kiln_shape_n_elements (&ps[k]), -0.5, 0.5);
          tw[i][k] = tensor_from (&ps[k], w[i][k]);
          tgw[i][k] = kiln_tensor_new (backend, &ps[k], &error);
        }
    }
  x[0] = random_values (rand, kiln_shape_n_elements (&desc[0].inputs[0]), -1, 1);
  t[0] = tensor_from (&desc[0].inputs[0], x[0]);
  g[0] = kiln_tensor_new (backend, &desc[0].inputs[0], &error);
  for (int i = 0; i < 4; i++)
    {
      gint64 n = kiln_shape_n_elements (&desc[i].output);
      x[i + 1] = g_new (double, n);
      kiln_ref_forward (&desc[i], (const double *const *) &x[i], (const double *const *) w[i], x[i + 1], TRUE, 0);
      t[i + 1] = kiln_tensor_new (backend, &desc[i].output, &error);
      g[i + 1] = kiln_tensor_new (backend, &desc[i].output, &error);
      KilnOpArgs args = { .src = &t[i], .dst = t[i + 1], .params = tw[i], .n_params = spec[i].type == CONV ? 2 : 0,
                          .train = TRUE };
      g_assert_true (kiln_op_forward (op[i], &args, &error));
    }
  gint64 n_out = kiln_shape_n_elements (&desc[3].output);
  g_autofree double *got = tensor_values (t[4]);
  Case c = { "blocked-chain" };
  check_close ("forward", &c, got, x[4], n_out, TOL);

  /* Backward through the chain, both sides. */
  double *dy = random_values (rand, n_out, -1, 1);
  kiln_tensor_free (g[4]);
  g[4] = tensor_from (&desc[3].output, dy);
  /* All of the backend's backward first, so blocked gradients pass
   * between primitives without a download in between. */
  for (int i = 3; i >= 0; i--)
    {
      KilnOpArgs args = { .src = &t[i], .dst = t[i + 1], .params = tw[i], .n_params = spec[i].type == CONV ? 2 : 0,
                          .diff_src = &g[i], .diff_dst = g[i + 1], .diff_params = tgw[i], .train = TRUE };
      if (spec[i].type == CONV)
        g_assert_true (kiln_op_backward_weights (op[i], &args, &error));
      g_assert_true (kiln_op_backward_data (op[i], &args, &error));
      g_assert_no_error (error);
    }
  double *rd = dy;
  for (int i = 3; i >= 0; i--)
    {
      double *rdx = g_new (double, kiln_shape_n_elements (&desc[i].inputs[0]));
      double *rdw[2] = { NULL, NULL };
      if (spec[i].type == CONV)
        {
          rdw[0] = g_new (double, kiln_tensor_n_elements (tw[i][0]));
          rdw[1] = g_new (double, kiln_tensor_n_elements (tw[i][1]));
        }
      kiln_ref_backward (&desc[i], (const double *const *) &x[i], (const double *const *) w[i], rd,
                         &rdx, spec[i].type == CONV ? rdw : NULL, TRUE, 0);
      /* conv1's fused ReLU masked its diff_dst (our g[1]) in place. */
      if (i == 1)
        for (gint64 j = 0; j < kiln_shape_n_elements (&desc[1].inputs[0]); j++)
          if (!(x[1][j] > 0))
            rdx[j] = 0;
      g_autofree double *gx = tensor_values (g[i]);
      check_close ("d/dinput through the chain", &cc[i], gx, rdx, kiln_shape_n_elements (&desc[i].inputs[0]), TOL);
      if (spec[i].type == CONV)
        {
          g_autofree double *gw = tensor_values (tgw[i][0]);
          check_close ("d/dweight through the chain", &cc[i], gw, rdw[0], kiln_tensor_n_elements (tw[i][0]), TOL);
          g_free (rdw[0]);
          g_free (rdw[1]);
        }
      g_free (rd);
      rd = rdx;
    }
  g_free (rd);

  /* Inference: the convolutions may pick other layouts (NHWC), which LRN
   * and pooling then adopt. */
  for (int i = 0; i < 4; i++)
    {
      KilnOpArgs args = { .src = &t[i], .dst = t[i + 1], .params = tw[i], .n_params = spec[i].type == CONV ? 2 : 0,
                          .train = FALSE };
      g_assert_true (kiln_op_forward (op[i], &args, &error));
      g_assert_no_error (error);
    }
  g_autofree double *got_eval = tensor_values (t[4]);
  check_close ("forward (eval)", &c, got_eval, x[4], n_out, TOL);

  for (int i = 0; i < 5; i++)
    {
      g_free (x[i]);
      kiln_tensor_free (t[i]);
      kiln_tensor_free (g[i]);
    }
  for (int i = 0; i < 4; i++)
    {
      for (int k = 0; k < 2; k++)
        {
          g_free (w[i][k]);
          kiln_tensor_free (tw[i][k]);
          kiln_tensor_free (tgw[i][k]);
        }
      kiln_op_free (op[i]);
      kiln_layer_spec_clear (&spec[i]);
    }
}

static void
test_softmax_cross_entropy (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  KilnShape s = { 5, 11, 1, 1 };
  int labels[5] = { 0, 10, 3, 3, 7 };
  g_autofree double *x = random_values (rand, 55, -3, 3);
  g_autofree double *want = g_new (double, 55);
  g_autoptr(KilnTensor) logits = tensor_from (&s, x);
  g_autoptr(KilnTensor) diff = kiln_tensor_new (backend, &s, &error);
  double loss;
  int correct;

  g_assert_true (kiln_backend_softmax_cross_entropy (backend, logits, labels, diff, &loss, &correct, &error));
  double ref = kiln_ref_softmax_cross_entropy (x, labels, 5, 11, want);
  g_assert_cmpfloat (fabs (loss - ref), <, 1e-6 * fabs (ref));
  g_autofree double *got = tensor_values (diff);
  Case c = { "softmax-cross-entropy" };
  check_close ("d/dlogits", &c, got, want, 55, TOL);

  int expect_correct = 0;
  for (int b = 0; b < 5; b++)
    {
      int best = 0;
      for (int j = 1; j < 11; j++)
        if (x[b * 11 + j] > x[b * 11 + best])
          best = j;
      expect_correct += best == labels[b];
    }
  g_assert_cmpint (correct, ==, expect_correct);

  labels[2] = 11;
  g_assert_false (kiln_backend_softmax_cross_entropy (backend, logits, labels, diff, &loss, NULL, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
}

static void
expect_desc_error (KilnLayerSpec *l, const KilnShape *in, guint n_in, int code, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  KilnOpDesc desc;
  g_assert_false (kiln_op_desc_init (&desc, l, in, n_in, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, code);
  g_assert_nonnull (strstr (error->message, l->name));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_bad_input (void)
{
  KilnLayerSpec l;
  KilnShape good = { 2, 4, 8, 8 }, zero = { 2, 0, 8, 8 };
  KilnShape pair[2] = { { 2, 4, 8, 8 }, { 2, 3, 8, 8 } };

  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "convX");
  l.num_output = 6;
  l.kernel_h = l.kernel_w = 3;
  expect_desc_error (&l, &zero, 1, KILN_ENGINE_ERROR_SHAPE, "zero");
  l.group = 3;
  expect_desc_error (&l, &good, 1, KILN_ENGINE_ERROR_SHAPE, "group 3");
  l.group = 1;
  l.kernel_h = 11;
  expect_desc_error (&l, &good, 1, KILN_ENGINE_ERROR_SHAPE, "11");
  kiln_layer_spec_clear (&l);

  kiln_layer_spec_init (&l, KILN_LAYER_ADD, "sum1");
  expect_desc_error (&l, pair, 2, KILN_ENGINE_ERROR_SHAPE, "2×3×8×8");
  kiln_layer_spec_clear (&l);

  kiln_layer_spec_init (&l, KILN_LAYER_LRN, "norm9");
  l.local_size = 4;
  expect_desc_error (&l, &good, 1, KILN_ENGINE_ERROR_UNSUPPORTED, "n = 4");
  kiln_layer_spec_clear (&l);

  kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, "pool7");
  l.kernel_h = l.kernel_w = 2;
  l.dilation_h = 2;
  expect_desc_error (&l, &good, 1, KILN_ENGINE_ERROR_UNSUPPORTED, "dilated");
  kiln_layer_spec_clear (&l);

  kiln_layer_spec_init (&l, KILN_LAYER_SOFTMAX, "prob");
  l.axis = 2;
  expect_desc_error (&l, &good, 1, KILN_ENGINE_ERROR_UNSUPPORTED, "axis 2");
  kiln_layer_spec_clear (&l);

  g_autoptr(GError) error = NULL;
  KilnShape bad = { 0, 1, 1, 1 };
  g_assert_null (kiln_tensor_new (backend, &bad, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE);
}

static void
test_backend_names (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) cpu = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (cpu), ==, "cpu");
  g_assert_nonnull (strstr (kiln_backend_get_description (cpu), "oneDNN"));

  /* auto always gives a working backend: CUDA when it answers, else CPU. */
  g_autoptr(KilnBackend) any = kiln_backend_new ("auto", &error);
  g_assert_no_error (error);
  g_assert_nonnull (any);

  g_assert_null (kiln_backend_new ("tpu", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  backend = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/layers/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], run_case);
    }
  make_random_cases ();
  for (guint i = 0; i < N_RANDOM; i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/layers/%s", random_cases[i].name);
      g_test_add_data_func (path, &random_cases[i], run_case);
    }
  g_test_add_func ("/engine/layers/blocked-chain", test_blocked_chain);
  g_test_add_func ("/engine/layers/softmax-cross-entropy", test_softmax_cross_entropy);
  g_test_add_func ("/engine/layers/bad-input", test_bad_input);
  g_test_add_func ("/engine/backend/names", test_backend_names);

  int ret = g_test_run ();
  kiln_backend_free (backend);
  return ret;
}
