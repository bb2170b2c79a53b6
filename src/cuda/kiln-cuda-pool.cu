/* Kernels of kiln-cuda-pool.c: max and average pooling with any padding on
 * each side (Caffe's ceil rounding included), forward per output element
 * and backward per input element. */
#include "kiln-cuda-kernels.h"

#include <cuda_runtime.h>

#include "kiln-cuda-grid.cuh"

/* The divisor of an average window at (oy, ox): the whole window when
 * padding counts, else its part inside the input. */
__device__ static float
avg_divisor (int mode, int oy, int ox, int h, int w, int kh, int kw, int sh, int sw,
             int pad_top, int pad_left)
{
  if (mode == KILN_CUDA_POOL_AVG_INCLUDE_PAD)
    return (float) (kh * kw);
  int y0 = oy * sh - pad_top, x0 = ox * sw - pad_left;
  int y1 = min (y0 + kh, h), x1 = min (x0 + kw, w);
  y0 = max (y0, 0);
  x0 = max (x0, 0);
  return (float) ((y1 - y0) * (x1 - x0));
}

__global__ static void
pool_forward_kernel (int mode, const float *src, float *dst, int *argmax, long long planes, int h,
                     int w, int oh, int ow, int kh, int kw, int sh, int sw, int pad_top,
                     int pad_left)
{
  KILN_CUDA_GRID_STRIDE (i, planes * oh * ow)
    {
      int ox = (int) (i % ow);
      int oy = (int) ((i / ow) % oh);
      long long p = i / ((long long) oh * ow);
      const float *plane = src + p * h * w;
      int y0 = oy * sh - pad_top, x0 = ox * sw - pad_left;
      int y1 = min (y0 + kh, h), x1 = min (x0 + kw, w);
      y0 = max (y0, 0);
      x0 = max (x0, 0);

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
          dst[i] = value;
          if (argmax != NULL)
            argmax[i] = best;
        }
      else
        {
          float sum = 0.f;
          for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
              sum += plane[y * w + x];
          dst[i] = sum / avg_divisor (mode, oy, ox, h, w, kh, kw, sh, sw, pad_top, pad_left);
        }
    }
}

/* Each input element sums the gradients of the windows that cover it:
 * outputs oy with oy·sh − pad_top ≤ y < oy·sh − pad_top + kh. */
__global__ static void
pool_backward_kernel (int mode, const float *diff_dst, float *diff_src, const int *argmax,
                      long long planes, int h, int w, int oh, int ow, int kh, int kw, int sh,
                      int sw, int pad_top, int pad_left)
{
  KILN_CUDA_GRID_STRIDE (i, planes * h * w)
    {
      int x = (int) (i % w);
      int y = (int) ((i / w) % h);
      long long p = i / ((long long) h * w);
      const float *dd = diff_dst + p * oh * ow;
      int py = y + pad_top, px = x + pad_left;
      int oy0 = py < kh ? 0 : (py - kh) / sh + 1;
      int ox0 = px < kw ? 0 : (px - kw) / sw + 1;
      int oy1 = min (py / sh + 1, oh), ox1 = min (px / sw + 1, ow);
      float sum = 0.f;

      for (int oy = oy0; oy < oy1; oy++)
        for (int ox = ox0; ox < ox1; ox++)
          {
            if (mode == KILN_CUDA_POOL_MAX)
              {
                if (argmax[p * oh * ow + oy * ow + ox] == y * w + x)
                  sum += dd[oy * ow + ox];
              }
            else
              sum += dd[oy * ow + ox] /
                     avg_divisor (mode, oy, ox, h, w, kh, kw, sh, sw, pad_top, pad_left);
          }
      diff_src[i] = sum;
    }
}

extern "C" int
kiln_cuda_launch_pool_forward (cudaStream_t stream, int mode, const float *src, float *dst,
                               int *argmax, int planes, int h, int w, int oh, int ow, int kh,
                               int kw, int sh, int sw, int pad_top, int pad_left)
{
  long long n = (long long) planes * oh * ow;
  pool_forward_kernel<<<KILN_CUDA_GRID (n, stream)>>> (mode, src, dst, argmax, planes, h, w, oh, ow,
    kh, kw, sh, sw, pad_top, pad_left);
  return (int) cudaGetLastError ();
}

extern "C" int
kiln_cuda_launch_pool_backward (cudaStream_t stream, int mode, const float *diff_dst,
                                float *diff_src, const int *argmax, int planes, int h, int w,
                                int oh, int ow, int kh, int kw, int sh, int sw, int pad_top,
                                int pad_left)
{
  long long n = (long long) planes * h * w;
  pool_backward_kernel<<<KILN_CUDA_GRID (n, stream)>>> (mode, diff_dst, diff_src, argmax, planes, h,
    w, oh, ow, kh, kw, sh, sw, pad_top, pad_left);
  return (int) cudaGetLastError ();
}
