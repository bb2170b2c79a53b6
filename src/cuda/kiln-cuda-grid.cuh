/* kiln-cuda-grid.cuh: the launch shape every element-wise kernel here
 * uses: 256 threads a block, a grid-stride loop, and at most 8192 blocks
 * (enough to fill any current GPU; larger tensors loop). */
#pragma once

#define KILN_CUDA_THREADS 256

static inline unsigned
kiln_cuda_blocks_for (long long n)
{
  long long b = (n + KILN_CUDA_THREADS - 1) / KILN_CUDA_THREADS;
  return (unsigned) (b < 1 ? 1 : b > 8192 ? 8192 : b);
}

#define KILN_CUDA_GRID_STRIDE(i, n) \
  for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (long long) gridDim.x * blockDim.x)

/* The <<< >>> arguments for @n elements on @stream. */
#define KILN_CUDA_GRID(n, stream) kiln_cuda_blocks_for (n), KILN_CUDA_THREADS, 0, (stream)
