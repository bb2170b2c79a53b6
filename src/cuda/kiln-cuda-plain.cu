/* Kernels of kiln-cuda-plain.c: dropout and the sum of Add. */
#include "kiln-cuda-kernels.h"

#include <cuda_runtime.h>

#include "kiln-cuda-grid.cuh"

#include "kiln-cuda-dropout-hash.h"

/* The mask is recomputed from (seed, index) in the backward pass rather
 * than stored: the hash is cheaper than the memory. dst = src · mask as
 * the CPU computes it (a dropped NaN stays NaN there too). */
__global__ static void
dropout_kernel (const float *src, float *dst, long long n, unsigned long long seed, float ratio,
                float scale)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    dst[i] = __fmul_rn (src[i], kiln_cuda_dropout_keep (seed, i, ratio) ? scale : 0.f);
}

__global__ static void
accumulate_kernel (const float *x, float *y, long long n)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    y[i] = __fadd_rn (y[i], x[i]);
}

extern "C" int
kiln_cuda_launch_dropout (cudaStream_t stream, const float *src, float *dst, long long n,
                          unsigned long long seed, float ratio, float scale)
{
  if (n > 0)
    dropout_kernel<<<KILN_CUDA_GRID (n, stream)>>> (src, dst, n, seed, ratio, scale);
  return (int) cudaGetLastError ();
}

extern "C" int
kiln_cuda_launch_accumulate (cudaStream_t stream, const float *x, float *y, long long n)
{
  if (n > 0)
    accumulate_kernel<<<KILN_CUDA_GRID (n, stream)>>> (x, y, n);
  return (int) cudaGetLastError ();
}
