/* Kernels of kiln-cuda-pool.c: max and average pooling with any padding on
 * each side (Caffe's ceil rounding included), forward per output element
 * and backward per input element. */
#include "kiln-cuda-kernels.h"

#include <cuda_runtime.h>

#include "kiln-cuda-grid.cuh"
#include "kiln-cuda-pool-math.h"

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
      int best;
      dst[i] = kiln_cuda_pool_forward_at (mode, src + p * h * w, h, w, oy, ox, kh, kw, sh, sw,
                                          pad_top, pad_left, &best);
      if (argmax != NULL)
        argmax[i] = best;
    }
}

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
      diff_src[i] = kiln_cuda_pool_backward_at (mode, diff_dst + p * oh * ow,
                                                argmax != NULL ? argmax + p * oh * ow : NULL, h,
                                                w, oh, ow, y, x, kh, kw, sh, sw, pad_top,
                                                pad_left);
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
