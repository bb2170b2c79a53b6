/* kiln-cuda-pool-math.h: one output (forward) or one input (backward) of
 * pooling, as the kernels in kiln-cuda-pool.cu compute it. Plain C too, so
 * test-cuda-host runs the same code over whole tensors on the host and
 * compares it with the CPU backend. */
#pragma once

#include "kiln-cuda-dropout-hash.h"   /* KILN_CUDA_HOST_DEVICE */
#include "kiln-cuda-kernels.h"        /* KilnCudaPoolMode */

/* The window of output @o along one axis, clipped to the input [0, size). */
KILN_CUDA_HOST_DEVICE void
kiln_cuda_pool_window (int o, int stride, int pad, int kernel, int size, int *start, int *end)
{
  int s = o * stride - pad;
  *end = s + kernel < size ? s + kernel : size;
  *start = s > 0 ? s : 0;
}

/* The outputs along one axis whose windows hold input @i:
 * o·stride − pad ≤ i < o·stride − pad + kernel, within [0, out). */
KILN_CUDA_HOST_DEVICE void
kiln_cuda_pool_covering (int i, int stride, int pad, int kernel, int out, int *first, int *end)
{
  int p = i + pad;
  int last = p / stride + 1;
  *first = p < kernel ? 0 : (p - kernel) / stride + 1;
  *end = last < out ? last : out;
}

/* The divisor of an average window: all of it when padding counts, else
 * its part inside the input. */
KILN_CUDA_HOST_DEVICE float
kiln_cuda_pool_divisor (int mode, int oy, int ox, int h, int w, int kh, int kw, int sh, int sw,
                        int pad_top, int pad_left)
{
  int y0, y1, x0, x1;
  if (mode == KILN_CUDA_POOL_AVG_INCLUDE_PAD)
    return (float) (kh * kw);
  kiln_cuda_pool_window (oy, sh, pad_top, kh, h, &y0, &y1);
  kiln_cuda_pool_window (ox, sw, pad_left, kw, w, &x0, &x1);
  return (float) ((y1 - y0) * (x1 - x0));
}

/* Output (oy, ox) of one plane; *argmax gets the plane index of the
 * window's first maximum (max pooling only). */
KILN_CUDA_HOST_DEVICE float
kiln_cuda_pool_forward_at (int mode, const float *plane, int h, int w, int oy, int ox, int kh,
                           int kw, int sh, int sw, int pad_top, int pad_left, int *argmax)
{
  int y0, y1, x0, x1;
  kiln_cuda_pool_window (oy, sh, pad_top, kh, h, &y0, &y1);
  kiln_cuda_pool_window (ox, sw, pad_left, kw, w, &x0, &x1);
  if (mode == KILN_CUDA_POOL_MAX)
    {
      int best = y0 * w + x0;
      float value = plane[best];
      for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
          if (plane[y * w + x] > value)
            {
              value = plane[y * w + x];
              best = y * w + x;
            }
      *argmax = best;
      return value;
    }
  float sum = 0.f;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      sum += plane[y * w + x];
  return sum / kiln_cuda_pool_divisor (mode, oy, ox, h, w, kh, kw, sh, sw, pad_top, pad_left);
}

/* The gradient of input (y, x) of one plane: the sum over the windows
 * that hold it (no atomics, the same order every run). */
KILN_CUDA_HOST_DEVICE float
kiln_cuda_pool_backward_at (int mode, const float *diff_plane, const int *argmax_plane, int h,
                            int w, int oh, int ow, int y, int x, int kh, int kw, int sh, int sw,
                            int pad_top, int pad_left)
{
  int oy0, oy1, ox0, ox1;
  float sum = 0.f;
  kiln_cuda_pool_covering (y, sh, pad_top, kh, oh, &oy0, &oy1);
  kiln_cuda_pool_covering (x, sw, pad_left, kw, ow, &ox0, &ox1);
  for (int oy = oy0; oy < oy1; oy++)
    for (int ox = ox0; ox < ox1; ox++)
      {
        if (mode == KILN_CUDA_POOL_MAX)
          {
            if (argmax_plane[oy * ow + ox] == y * w + x)
              sum += diff_plane[oy * ow + ox];
          }
        else
          sum += diff_plane[oy * ow + ox] /
                 kiln_cuda_pool_divisor (mode, oy, ox, h, w, kh, kw, sh, sw, pad_top, pad_left);
      }
  return sum;
}
