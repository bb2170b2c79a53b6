#include "kiln-cuda-fill.h"

#include <cuda_runtime.h>

__global__ static void
fill_kernel (float *data, long n, float value)
{
  long i = (long) blockIdx.x * blockDim.x + threadIdx.x;
  long step = (long) gridDim.x * blockDim.x;
  for (; i < n; i += step)
    data[i] = value;
}

extern "C" int
kiln_cuda_fill (float *device_data, long n, float value)
{
  if (n <= 0)
    return cudaSuccess;
  int threads = 256;
  long blocks = (n + threads - 1) / threads;
  if (blocks > 65535)
    blocks = 65535;
  fill_kernel<<<(unsigned) blocks, threads>>> (device_data, n, value);
  return (int) cudaGetLastError ();
}
