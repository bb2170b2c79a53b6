/* The CUDA backend's host-side logic, which runs without a GPU: the
 * device's dropout hash compiled for the host against the engine's
 * kiln_dropout_keep, bit for bit; the pooling kernels' element code run
 * over whole tensors against the CPU backend; the optimizer and batch
 * conversion element code against the CPU's, bit for bit; the algorithm
 * cache's keys; workspace sizing; descriptor shapes against
 * kiln_op_desc_init's outputs; and the mapping of CUDA, cuDNN and cuBLAS
 * codes to GErrors. */
#include <math.h>
#include <string.h>

#include "cuda-test-util.h"
#include "kiln-backend.h"
#include "kiln-batch-loader.h"
#include "kiln-cuda-pool-math.h"
#include "kiln-cuda-update-math.h"

#include "kiln-cuda-algo-cache.h"
#include "kiln-cuda-dropout-hash.h"
#include "kiln-cuda-error.h"
#include "kiln-cuda-geometry.h"
#include "kiln-cuda-workspace.h"
#include "kiln-engine-error.h"

static void
test_dropout_hash (void)
{
  const guint64 seeds[] = { 0, 1, 0x5eed, 0x9e3779b97f4a7c15ull, G_MAXUINT64 };
  const float ratios[] = { 0.f, 0.1f, 0.25f, 0.5f, 0.9f, 0.999f };
  gint64 kept = 0, total = 0;

  for (guint s = 0; s < G_N_ELEMENTS (seeds); s++)
    for (guint r = 0; r < G_N_ELEMENTS (ratios); r++)
      for (gint64 i = 0; i < 200000; i++)
        {
          gboolean want = kiln_dropout_keep (seeds[s], i, ratios[r]);
          int got = kiln_cuda_dropout_keep (seeds[s], i, ratios[r]);
          if ((got != 0) != want)
            g_error ("seed %" G_GINT64_MODIFIER "x index %" G_GINT64_FORMAT " ratio %g: "
                     "device hash %d, engine %d", seeds[s], i, ratios[r], got, want);
          kept += want;
          total++;
        }
  /* Large indices (a batch of AlexNet activations) too. */
  for (gint64 i = G_GINT64_CONSTANT (1) << 32; i < (G_GINT64_CONSTANT (1) << 32) + 100000; i++)
    g_assert_cmpint (kiln_cuda_dropout_keep (7, i, 0.5f) != 0, ==, kiln_dropout_keep (7, i, 0.5f));
  g_test_message ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " kept", kept, total);
}

static KilnBackend *cpu;

static float *
random_host (GRand *rand, gint64 n)
{
  float *v = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, -1, 1);
  return v;
}

static KilnTensor *
cpu_tensor (const KilnShape *shape, const float *host)
{
  g_autoptr(GError) error = NULL;
  KilnTensor *t = kiln_tensor_new (cpu, shape, &error);
  g_assert_no_error (error);
  if (host != NULL)
    kiln_tensor_upload (t, host, kiln_shape_n_elements (shape));
  return t;
}

/* Every input is held by exactly the outputs kiln_cuda_pool_covering
 * names, for any window, stride and padding. */
static void
test_pool_covering (void)
{
  for (int kernel = 1; kernel <= 5; kernel++)
    for (int stride = 1; stride <= 4; stride++)
      for (int pad = 0; pad < kernel; pad++)
        for (int size = kernel; size <= 14; size++)
          for (int extra = 0; extra < stride; extra++)
            {
              int out = 1 + (size + 2 * pad + extra - kernel) / stride;
              for (int i = 0; i < size; i++)
                {
                  int first, end;
                  kiln_cuda_pool_covering (i, stride, pad, kernel, out, &first, &end);
                  for (int o = 0; o < out; o++)
                    {
                      int start, stop;
                      kiln_cuda_pool_window (o, stride, pad, kernel, size, &start, &stop);
                      gboolean holds = i >= start && i < stop;
                      if (holds != (o >= first && o < end))
                        g_error ("kernel %d stride %d pad %d size %d: input %d, output %d: "
                                 "window [%d, %d), covering [%d, %d)", kernel, stride, pad, size,
                                 i, o, start, stop, first, end);
                    }
                }
            }
}

/* One pooling layer through the kernels' element code on the host and
 * through the CPU backend (oneDNN), forward and backward. */
static void
check_pool_case (const KilnLayerSpec *l, const KilnShape *in, GRand *rand)
{
  g_autoptr(GError) error = NULL;
  KilnOpDesc desc;
  KilnCudaPoolGeometry g;

  if (!kiln_op_desc_init (&desc, l, in, 1, NULL))
    return;
  kiln_cuda_pool_geometry (&desc, &g);
  const KilnShape *out = &desc.output;
  gint64 n_in = kiln_shape_n_elements (in), n_out = kiln_shape_n_elements (out);
  int planes = in->n * in->c;
  g_autofree float *x = g_new (float, n_in), *dy = g_new (float, n_out);
  g_autofree float *y = g_new (float, n_out), *dx = g_new (float, n_in);
  g_autofree int *argmax = g_new (int, n_out);
  for (gint64 i = 0; i < n_in; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < n_out; i++)
    dy[i] = (float) g_rand_double_range (rand, -1, 1);

  for (int p = 0; p < planes; p++)
    for (int oy = 0; oy < out->h; oy++)
      for (int ox = 0; ox < out->w; ox++)
        {
          gint64 o = ((gint64) p * out->h + oy) * out->w + ox;
          y[o] = kiln_cuda_pool_forward_at (g.mode, x + (gint64) p * in->h * in->w, in->h, in->w,
                                            oy, ox, g.kernel_h, g.kernel_w, g.stride_h,
                                            g.stride_w, g.pad_top, g.pad_left, &argmax[o]);
        }
  for (int p = 0; p < planes; p++)
    for (int iy = 0; iy < in->h; iy++)
      for (int ix = 0; ix < in->w; ix++)
        dx[((gint64) p * in->h + iy) * in->w + ix] =
          kiln_cuda_pool_backward_at (g.mode, dy + (gint64) p * out->h * out->w,
                                      argmax + (gint64) p * out->h * out->w, in->h, in->w, out->h,
                                      out->w, iy, ix, g.kernel_h, g.kernel_w, g.stride_h,
                                      g.stride_w, g.pad_top, g.pad_left);

  g_autoptr(KilnOp) op = kiln_backend_op_new (cpu, &desc, &error);
  g_assert_no_error (error);
  g_autoptr(KilnTensor) tx = cpu_tensor (in, x), tdx = cpu_tensor (in, NULL);
  g_autoptr(KilnTensor) ty = cpu_tensor (out, NULL), tdy = cpu_tensor (out, dy);
  KilnTensor *srcs[] = { tx }, *dsrcs[] = { tdx };
  KilnOpArgs args = { .src = srcs, .dst = ty, .diff_src = dsrcs, .diff_dst = tdy, .train = TRUE };
  g_assert_true (kiln_op_forward (op, &args, &error));
  g_assert_true (kiln_op_backward_data (op, &args, &error));
  g_assert_no_error (error);
  g_autofree float *want_y = kiln_tensor_dup_host (ty);
  g_autofree float *want_dx = kiln_tensor_dup_host (tdx);

  double ey = cuda_test_rel_err (y, want_y, n_out), edx = cuda_test_rel_err (dx, want_dx, n_in);
  if (!(ey < 1e-6) || !(edx < 1e-6))
    {
      char buf[64];
      g_error ("%s %s (kernel %d×%d stride %d×%d pads %d %d %d %d, %s): forward %.3g, "
               "backward %.3g from the CPU", kiln_layer_type_to_string (l->type),
               kiln_shape_to_string (in, buf, sizeof buf), l->kernel_h, l->kernel_w, l->stride_h,
               l->stride_w, l->pad_top, l->pad_left, l->pad_bottom, l->pad_right,
               l->rounding == KILN_ROUND_CEIL ? "ceil" : "floor", ey, edx);
    }
}

static void
test_pool_kernels (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261208);
  KilnLayerSpec l;

  /* AlexNet's pool1 at 224 (ceil, an extra row and column) and at 227. */
  for (int size = 54; size <= 55; size++)
    {
      KilnShape in = { 2, 3, size, size };
      kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, "pool1");
      l.kernel_h = l.kernel_w = 3;
      l.stride_h = l.stride_w = 2;
      l.rounding = KILN_ROUND_CEIL;
      check_pool_case (&l, &in, rand);
      kiln_layer_spec_clear (&l);
    }
  kiln_layer_spec_init (&l, KILN_LAYER_GLOBAL_AVG_POOL, "gap");
  check_pool_case (&l, &(KilnShape) { 2, 5, 7, 6 }, rand);
  kiln_layer_spec_clear (&l);

  for (int i = 0; i < 300; i++)
    {
      int kh = g_rand_int_range (rand, 1, 6), kw = g_rand_int_range (rand, 1, 6);
      kiln_layer_spec_init (&l, g_rand_boolean (rand) ? KILN_LAYER_MAX_POOL : KILN_LAYER_AVG_POOL,
                            "pool");
      l.kernel_h = kh;
      l.kernel_w = kw;
      l.stride_h = g_rand_int_range (rand, 1, 4);
      l.stride_w = g_rand_int_range (rand, 1, 4);
      l.pad_top = g_rand_int_range (rand, 0, kh);
      l.pad_bottom = g_rand_int_range (rand, 0, kh);
      l.pad_left = g_rand_int_range (rand, 0, kw);
      l.pad_right = g_rand_int_range (rand, 0, kw);
      l.rounding = g_rand_boolean (rand) ? KILN_ROUND_CEIL : KILN_ROUND_FLOOR;
      l.count_include_pad = l.rounding == KILN_ROUND_FLOOR && g_rand_boolean (rand);
      KilnShape in = { g_rand_int_range (rand, 1, 3), g_rand_int_range (rand, 1, 5),
                       g_rand_int_range (rand, kh + 1, 16), g_rand_int_range (rand, kw + 1, 16) };
      check_pool_case (&l, &in, rand);
      kiln_layer_spec_clear (&l);
    }
}

/* The update kernels' element code gives the CPU backend's bits. */
static void
test_update_math (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (77);
  KilnShape shape = { 1, 1, 97, 31 };
  gint64 n = kiln_shape_n_elements (&shape);
  g_autofree float *w = g_new (float, n), *g = g_new (float, n);
  g_autofree float *m = g_new (float, n), *v = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    {
      w[i] = (float) g_rand_double_range (rand, -1, 1);
      g[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
      m[i] = (float) g_rand_double_range (rand, -0.01, 0.01);
      v[i] = (float) g_rand_double_range (rand, 0, 0.01);
    }
  g_autoptr(KilnTensor) tw = kiln_tensor_new (cpu, &shape, &error);
  g_autoptr(KilnTensor) tg = kiln_tensor_new (cpu, &shape, &error);
  g_autoptr(KilnTensor) tm = kiln_tensor_new (cpu, &shape, &error);
  g_autoptr(KilnTensor) tv = kiln_tensor_new (cpu, &shape, &error);
  kiln_tensor_upload (tw, w, n);
  kiln_tensor_upload (tg, g, n);
  kiln_tensor_upload (tm, m, n);
  kiln_tensor_upload (tv, v, n);

  for (gint64 step = 1; step <= 3; step++)
    {
      /* As the backends compute them, from the float betas. */
      float c1 = 1.f - (float) pow (0.9f, (double) step);
      float c2 = 1.f - (float) pow (0.999f, (double) step);
      kiln_backend_sgd_update (cpu, tw, tg, tm, 0.01f, 0.9f, 5e-4f);
      kiln_backend_adam_update (cpu, tw, tg, tm, tv, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f, step);
      for (gint64 i = 0; i < n; i++)
        {
          kiln_cuda_sgd_at (&w[i], g[i], &m[i], 0.01f, 0.9f, 5e-4f);
          kiln_cuda_adam_at (&w[i], g[i], &m[i], &v[i], 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f, c1, c2);
        }
    }
  g_autofree float *cw = kiln_tensor_dup_host (tw), *cm = kiln_tensor_dup_host (tm);
  g_autofree float *cv = kiln_tensor_dup_host (tv);
  g_assert_cmpmem (w, n * sizeof (float), cw, n * sizeof (float));
  g_assert_cmpmem (m, n * sizeof (float), cm, n * sizeof (float));
  g_assert_cmpmem (v, n * sizeof (float), cv, n * sizeof (float));
}

/* The batch conversion's element code is the loader's, bit for bit. */
static void
test_convert_math (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (78);
  const int n = 3, c = 3, h = 11, w = 13, ch = 8, cw = 9;
  gint64 per = (gint64) c * h * w, out_per = (gint64) c * ch * cw;
  g_autofree guint8 *pixels = g_new (guint8, n * per);
  g_autofree float *mean = g_new (float, per);
  g_autofree float *want = g_new (float, n * out_per), *got = g_new (float, n * out_per);
  int crops[9];

  for (gint64 i = 0; i < n * per; i++)
    pixels[i] = (guint8) g_rand_int_range (rand, 0, 256);
  for (gint64 i = 0; i < per; i++)
    mean[i] = (float) g_rand_double_range (rand, 80, 160);
  for (int s = 0; s < n; s++)
    {
      crops[3 * s] = g_rand_int_range (rand, 0, h - ch + 1);
      crops[3 * s + 1] = g_rand_int_range (rand, 0, w - cw + 1);
      crops[3 * s + 2] = s != 1;
      kiln_batch_loader_convert_sample (pixels + s * per, c, h, w, ch, cw, crops[3 * s],
                                        crops[3 * s + 1], crops[3 * s + 2], mean, 0.0173f,
                                        want + s * out_per);
    }
  for (gint64 i = 0; i < n * out_per; i++)
    got[i] = kiln_cuda_convert_at (pixels, c, h, w, crops, mean, 0.0173f, ch, cw, i);
  g_assert_cmpmem (got, n * out_per * sizeof (float), want, n * out_per * sizeof (float));
}

static KilnOpDesc
conv_desc (KilnLayerSpec *l, KilnShape in, int out, int k, int stride, int dil, int group,
           int pt, int pl, int pb, int pr)
{
  g_autoptr(GError) error = NULL;
  KilnOpDesc desc;

  kiln_layer_spec_init (l, KILN_LAYER_CONVOLUTION, "conv");
  l->num_output = out;
  l->kernel_h = l->kernel_w = k;
  l->stride_h = l->stride_w = stride;
  l->dilation_h = l->dilation_w = dil;
  l->group = group;
  l->pad_top = pt;
  l->pad_left = pl;
  l->pad_bottom = pb;
  l->pad_right = pr;
  g_assert_true (kiln_op_desc_init (&desc, l, &in, 1, &error));
  g_assert_no_error (error);
  return desc;
}

static void
test_conv_geometry (void)
{
  KilnLayerSpec l;
  KilnCudaConvGeometry g;
  KilnOpDesc desc;

  /* AlexNet conv1 and a symmetric 3×3: cuDNN pads. */
  desc = conv_desc (&l, (KilnShape) { 2, 3, 227, 227 }, 96, 11, 4, 1, 1, 0, 0, 0, 0);
  kiln_cuda_conv_geometry (&desc, &g);
  g_assert_false (g.explicit_pad);
  g_assert_cmpint (g.filter[0], ==, 96);
  g_assert_cmpint (g.filter[1], ==, 3);
  g_assert_cmpint (g.filter[2], ==, 11);
  KilnShape out = kiln_cuda_conv_output (&g);
  g_assert_true (kiln_shape_equal (&out, &desc.output));
  kiln_layer_spec_clear (&l);

  /* Grouped (AlexNet conv2) and depthwise. */
  desc = conv_desc (&l, (KilnShape) { 2, 96, 27, 27 }, 256, 5, 1, 1, 2, 2, 2, 2, 2);
  kiln_cuda_conv_geometry (&desc, &g);
  g_assert_cmpint (g.group, ==, 2);
  g_assert_cmpint (g.filter[1], ==, 48);
  g_assert_cmpint (g.pad_h, ==, 2);
  kiln_layer_spec_clear (&l);
  desc = conv_desc (&l, (KilnShape) { 1, 32, 9, 9 }, 32, 3, 1, 1, 32, 1, 1, 1, 1);
  kiln_cuda_conv_geometry (&desc, &g);
  g_assert_cmpint (g.filter[1], ==, 1);
  kiln_layer_spec_clear (&l);

  /* Unequal padding: a padded copy, no cuDNN padding. */
  desc = conv_desc (&l, (KilnShape) { 2, 4, 10, 9 }, 6, 3, 2, 1, 1, 0, 1, 2, 0);
  kiln_cuda_conv_geometry (&desc, &g);
  g_assert_true (g.explicit_pad);
  g_assert_cmpint (g.pad_h, ==, 0);
  g_assert_cmpint (g.pad_w, ==, 0);
  g_assert_cmpint (g.pad_top, ==, 0);
  g_assert_cmpint (g.pad_left, ==, 1);
  g_assert_cmpint (g.input.h, ==, 12);
  g_assert_cmpint (g.input.w, ==, 10);
  out = kiln_cuda_conv_output (&g);
  g_assert_true (kiln_shape_equal (&out, &desc.output));
  kiln_layer_spec_clear (&l);

  /* Every small combination maps onto the engine's output shape. */
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  for (int i = 0; i < 2000; i++)
    {
      int k = g_rand_int_range (rand, 1, 6), dil = g_rand_int_range (rand, 1, 3);
      int group = g_rand_boolean (rand) ? 2 : 1;
      KilnShape in = { g_rand_int_range (rand, 1, 4), 4, g_rand_int_range (rand, 12, 30),
                       g_rand_int_range (rand, 12, 30) };
      desc = conv_desc (&l, in, 6, k, g_rand_int_range (rand, 1, 4), dil, group,
                        g_rand_int_range (rand, 0, 3), g_rand_int_range (rand, 0, 3),
                        g_rand_int_range (rand, 0, 3), g_rand_int_range (rand, 0, 3));
      kiln_cuda_conv_geometry (&desc, &g);
      out = kiln_cuda_conv_output (&g);
      if (!kiln_shape_equal (&out, &desc.output))
        {
          char a[64], b[64];
          g_error ("case %d: geometry gives %s, the engine %s", i,
                   kiln_shape_to_string (&out, a, sizeof a),
                   kiln_shape_to_string (&desc.output, b, sizeof b));
        }
      kiln_layer_spec_clear (&l);
    }
}

static void
test_pool_geometry (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1414);
  KilnLayerSpec l;
  KilnOpDesc desc;
  KilnCudaPoolGeometry g;

  /* AlexNet pool1 at 224: Caffe's ceil rounding adds padding after. */
  kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, "pool1");
  l.kernel_h = l.kernel_w = 3;
  l.stride_h = l.stride_w = 2;
  l.rounding = KILN_ROUND_CEIL;
  KilnShape in = { 1, 96, 54, 54 };
  g_assert_true (kiln_op_desc_init (&desc, &l, &in, 1, &error));
  kiln_cuda_pool_geometry (&desc, &g);
  g_assert_cmpint (g.mode, ==, KILN_CUDA_POOL_MAX);
  g_assert_cmpint (g.pad_top, ==, 0);
  g_assert_cmpint (g.pad_bottom, ==, 1);
  g_assert_cmpint (g.pad_right, ==, 1);
  g_assert_cmpint (desc.output.h, ==, 27);
  KilnShape out = kiln_cuda_pool_output (&g, &in);
  g_assert_true (kiln_shape_equal (&out, &desc.output));
  kiln_layer_spec_clear (&l);

  kiln_layer_spec_init (&l, KILN_LAYER_GLOBAL_AVG_POOL, "gap");
  in = (KilnShape) { 2, 8, 7, 5 };
  g_assert_true (kiln_op_desc_init (&desc, &l, &in, 1, &error));
  kiln_cuda_pool_geometry (&desc, &g);
  g_assert_cmpint (g.mode, ==, KILN_CUDA_POOL_AVG_EXCLUDE_PAD);
  g_assert_cmpint (g.kernel_h, ==, 7);
  g_assert_cmpint (g.kernel_w, ==, 5);
  out = kiln_cuda_pool_output (&g, &in);
  g_assert_true (kiln_shape_equal (&out, &desc.output));
  kiln_layer_spec_clear (&l);

  for (int i = 0; i < 2000; i++)
    {
      int k = g_rand_int_range (rand, 1, 5);
      kiln_layer_spec_init (&l, g_rand_boolean (rand) ? KILN_LAYER_MAX_POOL : KILN_LAYER_AVG_POOL,
                            "pool");
      l.kernel_h = l.kernel_w = k;
      l.stride_h = l.stride_w = g_rand_int_range (rand, 1, 4);
      l.pad_top = g_rand_int_range (rand, 0, k);
      l.pad_left = g_rand_int_range (rand, 0, k);
      l.pad_bottom = g_rand_int_range (rand, 0, k);
      l.pad_right = g_rand_int_range (rand, 0, k);
      l.rounding = g_rand_boolean (rand) ? KILN_ROUND_CEIL : KILN_ROUND_FLOOR;
      l.count_include_pad = l.rounding == KILN_ROUND_FLOOR && g_rand_boolean (rand);
      in = (KilnShape) { 1, 2, g_rand_int_range (rand, 5, 20), g_rand_int_range (rand, 5, 20) };
      if (kiln_op_desc_init (&desc, &l, &in, 1, NULL))
        {
          kiln_cuda_pool_geometry (&desc, &g);
          out = kiln_cuda_pool_output (&g, &in);
          g_assert_true (kiln_shape_equal (&out, &desc.output));
          g_assert_cmpint (g.mode, ==, l.type == KILN_LAYER_MAX_POOL ? KILN_CUDA_POOL_MAX
                                       : l.count_include_pad ? KILN_CUDA_POOL_AVG_INCLUDE_PAD
                                       : KILN_CUDA_POOL_AVG_EXCLUDE_PAD);
        }
      kiln_layer_spec_clear (&l);
    }
}

static void
test_gemm_geometry (void)
{
  g_autoptr(GError) error = NULL;
  KilnLayerSpec l;
  KilnOpDesc desc;
  KilnCudaGemmGeometry g;
  KilnShape in = { 4, 256, 6, 6 };

  kiln_layer_spec_init (&l, KILN_LAYER_INNER_PRODUCT, "fc6");
  l.num_output = 4096;
  g_assert_true (kiln_op_desc_init (&desc, &l, &in, 1, &error));
  kiln_cuda_gemm_geometry (&desc, &g);
  g_assert_cmpint (g.m, ==, 4096);
  g_assert_cmpint (g.n, ==, 4);
  g_assert_cmpint (g.k, ==, 9216);
  kiln_layer_spec_clear (&l);
}

/* cublasSgemm as documented: column-major C (m × n) = op(A) · op(B), with
 * op(X) = X or Xᵀ and leading dimensions lda, ldb, ldc; beta 0. */
static void
column_major_sgemm (const KilnCudaGemmCall *g, const float *a, const float *b, float *c)
{
  for (int j = 0; j < g->n; j++)
    for (int i = 0; i < g->m; i++)
      {
        double sum = 0;
        for (int l = 0; l < g->k; l++)
          {
            float av = g->trans_a ? a[l + (gint64) i * g->lda] : a[i + (gint64) l * g->lda];
            float bv = g->trans_b ? b[j + (gint64) l * g->ldb] : b[l + (gint64) j * g->ldb];
            sum += (double) av * bv;
          }
        c[i + (gint64) j * g->ldc] = (float) sum;
      }
}

/* The three cuBLAS calls of an inner product, run as cuBLAS defines them
 * on Kiln's row-major buffers, give the CPU backend's results. */
static void
test_gemm_calls (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (79);
  KilnLayerSpec l;
  KilnOpDesc desc;
  KilnCudaGemmGeometry geom;
  KilnCudaGemmCall call;
  KilnShape in = { 5, 3, 4, 2 }, wshape = { 7, 3, 4, 2 }, out = { 5, 7, 1, 1 };

  kiln_layer_spec_init (&l, KILN_LAYER_INNER_PRODUCT, "fc");
  l.num_output = 7;
  l.bias = FALSE;
  g_assert_true (kiln_op_desc_init (&desc, &l, &in, 1, &error));
  kiln_cuda_gemm_geometry (&desc, &geom);

  g_autofree float *x = random_host (rand, kiln_shape_n_elements (&in));
  g_autofree float *w = random_host (rand, kiln_shape_n_elements (&wshape));
  g_autofree float *dy = random_host (rand, kiln_shape_n_elements (&out));
  g_autofree float *y = g_new (float, kiln_shape_n_elements (&out));
  g_autofree float *dx = g_new (float, kiln_shape_n_elements (&in));
  g_autofree float *dw = g_new (float, kiln_shape_n_elements (&wshape));
  kiln_cuda_gemm_call (&geom, KILN_CUDA_GEMM_FORWARD, &call);
  column_major_sgemm (&call, w, x, y);
  kiln_cuda_gemm_call (&geom, KILN_CUDA_GEMM_BACKWARD_DATA, &call);
  column_major_sgemm (&call, w, dy, dx);
  kiln_cuda_gemm_call (&geom, KILN_CUDA_GEMM_BACKWARD_WEIGHTS, &call);
  column_major_sgemm (&call, x, dy, dw);

  g_autoptr(KilnOp) op = kiln_backend_op_new (cpu, &desc, &error);
  g_assert_no_error (error);
  g_autoptr(KilnTensor) tx = cpu_tensor (&in, x), tw = cpu_tensor (&wshape, w);
  g_autoptr(KilnTensor) tdy = cpu_tensor (&out, dy), ty = cpu_tensor (&out, NULL);
  g_autoptr(KilnTensor) tdx = cpu_tensor (&in, NULL), tdw = cpu_tensor (&wshape, NULL);
  KilnTensor *srcs[] = { tx }, *params[] = { tw }, *dsrcs[] = { tdx }, *dparams[] = { tdw };
  KilnOpArgs args = { .src = srcs, .dst = ty, .params = params, .n_params = 1, .diff_src = dsrcs,
                      .diff_dst = tdy, .diff_params = dparams, .train = TRUE };
  g_assert_true (kiln_op_forward (op, &args, &error));
  g_assert_true (kiln_op_backward_data (op, &args, &error));
  g_assert_true (kiln_op_backward_weights (op, &args, &error));
  g_assert_no_error (error);

  g_autofree float *want_y = kiln_tensor_dup_host (ty);
  g_autofree float *want_dx = kiln_tensor_dup_host (tdx);
  g_autofree float *want_dw = kiln_tensor_dup_host (tdw);
  g_assert_cmpfloat (cuda_test_rel_err (y, want_y, kiln_shape_n_elements (&out)), <, 1e-6);
  g_assert_cmpfloat (cuda_test_rel_err (dx, want_dx, kiln_shape_n_elements (&in)), <, 1e-6);
  g_assert_cmpfloat (cuda_test_rel_err (dw, want_dw, kiln_shape_n_elements (&wshape)), <, 1e-6);
  kiln_layer_spec_clear (&l);
}

static void
test_algo_cache (void)
{
  g_autoptr(KilnCudaAlgoCache) cache = kiln_cuda_algo_cache_new ();
  KilnLayerSpec l;
  KilnCudaConvGeometry g, other;
  KilnCudaAlgoKey a, b;
  KilnOpDesc desc;

  desc = conv_desc (&l, (KilnShape) { 8, 16, 13, 13 }, 32, 3, 1, 1, 1, 1, 1, 1, 1);
  kiln_cuda_conv_geometry (&desc, &g);
  kiln_layer_spec_clear (&l);

  /* The same shape built twice is one key. */
  kiln_cuda_algo_key_init (&a, KILN_CUDA_CONV_FORWARD, &g, FALSE);
  other = g;
  kiln_cuda_algo_key_init (&b, KILN_CUDA_CONV_FORWARD, &other, FALSE);
  g_assert_cmpmem (&a, sizeof a, &b, sizeof b);

  KilnCudaAlgoChoice fwd = { 1, 3, 1 << 20 };
  kiln_cuda_algo_cache_insert (cache, &a, &fwd);
  const KilnCudaAlgoChoice *got = kiln_cuda_algo_cache_lookup (cache, &b);
  g_assert_nonnull (got);
  g_assert_cmpint (got->algo, ==, 1);
  g_assert_cmpuint (got->workspace, ==, 1 << 20);

  /* Anything that changes cuDNN's answer is another key. */
  kiln_cuda_algo_key_init (&b, KILN_CUDA_CONV_BACKWARD_DATA, &g, FALSE);
  g_assert_null (kiln_cuda_algo_cache_lookup (cache, &b));
  kiln_cuda_algo_key_init (&b, KILN_CUDA_CONV_FORWARD, &g, TRUE);
  g_assert_null (kiln_cuda_algo_cache_lookup (cache, &b));
  other = g;
  other.input.n = 16;
  kiln_cuda_algo_key_init (&b, KILN_CUDA_CONV_FORWARD, &other, FALSE);
  g_assert_null (kiln_cuda_algo_cache_lookup (cache, &b));
  other = g;
  other.group = 2;
  kiln_cuda_algo_key_init (&b, KILN_CUDA_CONV_FORWARD, &other, FALSE);
  g_assert_null (kiln_cuda_algo_cache_lookup (cache, &b));
  other = g;
  other.dilation_w = 2;
  kiln_cuda_algo_key_init (&b, KILN_CUDA_CONV_FORWARD, &other, FALSE);
  g_assert_null (kiln_cuda_algo_cache_lookup (cache, &b));

  KilnCudaAlgoChoice bwd = { 0, 2, 0 };
  kiln_cuda_algo_cache_insert (cache, &b, &bwd);
  g_assert_cmpuint (kiln_cuda_algo_cache_size (cache), ==, 2);
  /* The first entry is still there and unchanged. */
  got = kiln_cuda_algo_cache_lookup (cache, &a);
  g_assert_cmpint (got->math_type, ==, 3);
}

static void
test_workspace_plan (void)
{
  const gsize mib = 1 << 20, cap = 100 * mib;
  gsize to;

  g_assert_cmpint (kiln_cuda_workspace_plan (0, 0, cap, &to), ==, KILN_CUDA_WORKSPACE_FITS);
  g_assert_cmpint (kiln_cuda_workspace_plan (32 * mib, 20 * mib, cap, &to), ==, KILN_CUDA_WORKSPACE_FITS);
  g_assert_cmpuint (to, ==, 32 * mib);
  /* Grows in 16 MiB steps ... */
  g_assert_cmpint (kiln_cuda_workspace_plan (0, 1, cap, &to), ==, KILN_CUDA_WORKSPACE_GROW);
  g_assert_cmpuint (to, ==, 16 * mib);
  g_assert_cmpint (kiln_cuda_workspace_plan (16 * mib, 16 * mib + 1, cap, &to), ==,
                   KILN_CUDA_WORKSPACE_GROW);
  g_assert_cmpuint (to, ==, 32 * mib);
  /* ... never past the cap ... */
  g_assert_cmpint (kiln_cuda_workspace_plan (0, 99 * mib, cap, &to), ==, KILN_CUDA_WORKSPACE_GROW);
  g_assert_cmpuint (to, ==, cap);
  /* ... and refuses what is over it. */
  g_assert_cmpint (kiln_cuda_workspace_plan (0, cap + 1, cap, &to), ==, KILN_CUDA_WORKSPACE_TOO_BIG);
  g_assert_cmpint (kiln_cuda_workspace_plan (0, 1, 0, &to), ==, KILN_CUDA_WORKSPACE_TOO_BIG);

  g_autofree char *warning = NULL;
  g_assert_cmpuint (kiln_cuda_workspace_cap_from_env (NULL, &warning), ==,
                    (gsize) KILN_CUDA_WORKSPACE_DEFAULT_MB << 20);
  g_assert_null (warning);
  g_assert_cmpuint (kiln_cuda_workspace_cap_from_env ("256", &warning), ==, 256 * mib);
  g_assert_cmpuint (kiln_cuda_workspace_cap_from_env ("0", &warning), ==, 0);
  g_assert_cmpuint (kiln_cuda_workspace_cap_from_env ("lots", &warning), ==,
                    (gsize) KILN_CUDA_WORKSPACE_DEFAULT_MB << 20);
  g_assert_nonnull (strstr (warning, "KILN_CUDA_WORKSPACE_MB=lots"));
}

static void
assert_message (const GError *error, const char *const *fragments)
{
  for (guint i = 0; fragments[i] != NULL; i++)
    if (strstr (error->message, fragments[i]) == NULL)
      g_error ("“%s” lacks “%s”", error->message, fragments[i]);
}

static void
test_error_mapping (void)
{
  GError *error = NULL;

  g_assert_true (kiln_cuda_check_runtime (cudaSuccess, "conv1", "cudaMalloc", &error));
  g_assert_true (kiln_cuda_check_cudnn (CUDNN_STATUS_SUCCESS, "conv1", "x", &error));
  g_assert_true (kiln_cuda_check_cublas (CUBLAS_STATUS_SUCCESS, "fc6", "x", &error));
  g_assert_no_error (error);

  /* Out of memory, from any of the three, says what to lower. */
  g_assert_false (kiln_cuda_check_runtime (cudaErrorMemoryAllocation, "conv2", "cudaMalloc", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY);
  assert_message (error, (const char *[]) { "conv2", "out of device memory", "cudaMalloc",
                                            "batch size", NULL });
  g_clear_error (&error);
  g_assert_false (kiln_cuda_check_cudnn (CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED,
                                         "conv3", "cudnnConvolutionForward", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY);
  assert_message (error, (const char *[]) { "conv3", "out of device memory", "batch size", NULL });
  g_clear_error (&error);
  g_assert_false (kiln_cuda_check_cublas (CUBLAS_STATUS_ALLOC_FAILED, "fc7", "cublasSgemm", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY);
  assert_message (error, (const char *[]) { "fc7", "out of device memory", NULL });
  g_clear_error (&error);
  kiln_cuda_set_out_of_memory (&error, NULL, "cudaMalloc", (gsize) 3 << 30);
  assert_message (error, (const char *[]) { "CUDA:", "3.0", "GiB", "batch size", NULL });
  g_clear_error (&error);

  /* Other failures name the layer, the library, the call and the code. */
  g_assert_false (kiln_cuda_check_runtime (cudaErrorLaunchFailure, NULL, "the fill kernel", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND);
  assert_message (error, (const char *[]) { "CUDA: the fill kernel failed (CUDA: ",
                                            "cudaErrorLaunchFailure", NULL });
  g_clear_error (&error);
  g_assert_false (kiln_cuda_check_cudnn (CUDNN_STATUS_NOT_SUPPORTED_SHAPE, "pool5",
                                         "cudnnLRNCrossChannelForward", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED);
  assert_message (error, (const char *[]) { "pool5", "cudnnLRNCrossChannelForward failed (cuDNN: ",
                                            "3002", "CPU backend", NULL });
  g_clear_error (&error);
  g_assert_false (kiln_cuda_check_cudnn (CUDNN_STATUS_EXECUTION_FAILED, "bn1", "call", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND);
  g_clear_error (&error);
  g_assert_false (kiln_cuda_check_cublas (CUBLAS_STATUS_EXECUTION_FAILED, "fc8", "cublasSgemm", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND);
  assert_message (error, (const char *[]) { "fc8", "cublasSgemm failed (cuBLAS: ", "13", NULL });
  g_clear_error (&error);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  cpu = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  g_test_add_func ("/cuda/host/dropout-hash", test_dropout_hash);
  g_test_add_func ("/cuda/host/pool-covering", test_pool_covering);
  g_test_add_func ("/cuda/host/pool-kernels", test_pool_kernels);
  g_test_add_func ("/cuda/host/update-math", test_update_math);
  g_test_add_func ("/cuda/host/convert-math", test_convert_math);
  g_test_add_func ("/cuda/host/conv-geometry", test_conv_geometry);
  g_test_add_func ("/cuda/host/pool-geometry", test_pool_geometry);
  g_test_add_func ("/cuda/host/gemm-geometry", test_gemm_geometry);
  g_test_add_func ("/cuda/host/gemm-calls", test_gemm_calls);
  g_test_add_func ("/cuda/host/algo-cache", test_algo_cache);
  g_test_add_func ("/cuda/host/workspace", test_workspace_plan);
  g_test_add_func ("/cuda/host/errors", test_error_mapping);
  int ret = g_test_run ();
  kiln_backend_free (cpu);
  return ret;
}
