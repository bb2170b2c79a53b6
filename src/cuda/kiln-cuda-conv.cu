/* Kernels of kiln-cuda-conv.c: a zero-padded copy of the input for
 * convolutions with unequal padding (cuDNN pads symmetrically), the crop
 * back for the input gradient, and the gradient of a fused ReLU. */
#include "kiln-cuda-kernels.h"

#include <cuda_runtime.h>

#include "kiln-cuda-grid.cuh"

/* One thread per padded element: zeros around, the input inside. */
__global__ static void
pad_kernel (const float *src, float *padded, long long planes, int h, int w, int pad_top,
            int pad_left, int ph, int pw)
{
  KILN_CUDA_GRID_STRIDE (i, planes * ph * pw)
    {
      int x = (int) (i % pw) - pad_left;
      int y = (int) ((i / pw) % ph) - pad_top;
      long long p = i / ((long long) ph * pw);
      padded[i] = y >= 0 && y < h && x >= 0 && x < w ? src[(p * h + y) * w + x] : 0.f;
    }
}

__global__ static void
crop_kernel (const float *padded, float *dst, long long planes, int h, int w, int pad_top,
             int pad_left, int ph, int pw)
{
  KILN_CUDA_GRID_STRIDE (i, planes * h * w)
    {
      int x = (int) (i % w);
      int y = (int) ((i / w) % h);
      long long p = i / ((long long) h * w);
      dst[i] = padded[(p * ph + y + pad_top) * pw + x + pad_left];
    }
}

__global__ static void
relu_mask_kernel (const float *y, float *g, long long n)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    g[i] = y[i] > 0.f ? g[i] : 0.f;
}

extern "C" int
kiln_cuda_launch_pad (cudaStream_t stream, const float *src, float *padded, int n, int c, int h,
                      int w, int pad_top, int pad_left, int padded_h, int padded_w)
{
  long long planes = (long long) n * c;
  pad_kernel<<<KILN_CUDA_GRID (planes * padded_h * padded_w, stream)>>> (src, padded, planes, h, w,
    pad_top, pad_left, padded_h, padded_w);
  return (int) cudaGetLastError ();
}

extern "C" int
kiln_cuda_launch_crop (cudaStream_t stream, const float *padded, float *dst, int n, int c, int h,
                       int w, int pad_top, int pad_left, int padded_h, int padded_w)
{
  long long planes = (long long) n * c;
  crop_kernel<<<KILN_CUDA_GRID (planes * h * w, stream)>>> (padded, dst, planes, h, w, pad_top,
    pad_left, padded_h, padded_w);
  return (int) cudaGetLastError ();
}

extern "C" int
kiln_cuda_launch_relu_mask (cudaStream_t stream, const float *y, float *g, long long n)
{
  if (n > 0)
    relu_mask_kernel<<<KILN_CUDA_GRID (n, stream)>>> (y, g, n);
  return (int) cudaGetLastError ();
}
