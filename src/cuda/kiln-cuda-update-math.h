/* kiln-cuda-update-math.h: one element of the optimizer updates and of
 * the uint8 batch conversion, as the kernels in kiln-cuda-backend.cu
 * compute it. On the device every operation is rounded on its own
 * (__fmul_rn …: no fused multiply-add), as the CPU backend's loops are
 * on x86-64, so both give the same bits; plain C too, so test-cuda-host
 * checks exactly that on the host. */
#pragma once

#include "kiln-cuda-dropout-hash.h"   /* KILN_CUDA_HOST_DEVICE */

#ifdef __CUDA_ARCH__
#define KILN_ADD(a, b) __fadd_rn ((a), (b))
#define KILN_SUB(a, b) __fsub_rn ((a), (b))
#define KILN_MUL(a, b) __fmul_rn ((a), (b))
#define KILN_DIV(a, b) __fdiv_rn ((a), (b))
#define KILN_SQRT(a) __fsqrt_rn (a)
#else
#include <math.h>
#define KILN_ADD(a, b) ((a) + (b))
#define KILN_SUB(a, b) ((a) - (b))
#define KILN_MUL(a, b) ((a) * (b))
#define KILN_DIV(a, b) ((a) / (b))
#define KILN_SQRT(a) sqrtf (a)
#endif

/* v = momentum·v − lr·(g + decay·w); w += v */
KILN_CUDA_HOST_DEVICE void
kiln_cuda_sgd_at (float *w, float g, float *v, float lr, float momentum, float decay)
{
  float grad = KILN_ADD (g, KILN_MUL (decay, *w));
  float vi = KILN_SUB (KILN_MUL (momentum, *v), KILN_MUL (lr, grad));
  *v = vi;
  *w = KILN_ADD (*w, vi);
}

/* Adam with L2 decay; @c1, @c2 are the bias corrections 1 − β^step. */
KILN_CUDA_HOST_DEVICE void
kiln_cuda_adam_at (float *w, float g, float *m, float *v, float lr, float beta1, float beta2,
                   float eps, float decay, float c1, float c2)
{
  float grad = KILN_ADD (g, KILN_MUL (decay, *w));
  float mi = KILN_ADD (KILN_MUL (beta1, *m), KILN_MUL (1.f - beta1, grad));
  float vi = KILN_ADD (KILN_MUL (beta2, *v), KILN_MUL (KILN_MUL (1.f - beta2, grad), grad));
  *m = mi;
  *v = vi;
  float step = KILN_DIV (KILN_MUL (lr, KILN_DIV (mi, c1)),
                         KILN_ADD (KILN_SQRT (KILN_DIV (vi, c2)), eps));
  *w = KILN_SUB (*w, step);
}

/* Element @i of an n × channels × crop_h × crop_w batch: (pixel − mean) ·
 * scale, the mean read at the same (mirrored) source place as the pixel,
 * as kiln_batch_loader_convert_sample does. @crops: (oy, ox, mirror) per
 * sample; @mean: channels × height × width or NULL. */
KILN_CUDA_HOST_DEVICE float
kiln_cuda_convert_at (const unsigned char *pixels, int channels, int height, int width,
                      const int *crops, const float *mean, float scale, int crop_h, int crop_w,
                      long long i)
{
  int x = (int) (i % crop_w);
  int y = (int) ((i / crop_w) % crop_h);
  int c = (int) ((i / ((long long) crop_w * crop_h)) % channels);
  long long s = i / ((long long) crop_w * crop_h * channels);
  int oy = crops[3 * s], ox = crops[3 * s + 1];
  int sx = crops[3 * s + 2] ? crop_w - 1 - x : x;
  long long src = ((long long) c * height + (y + oy)) * width + ox + sx;
  float p = (float) pixels[s * channels * height * width + src];
  float v = KILN_SUB (p, mean != NULL ? mean[src] : 0.0f);
  return KILN_MUL (v, scale);
}
