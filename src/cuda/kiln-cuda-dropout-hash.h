/* kiln-cuda-dropout-hash.h: kiln_dropout_keep() (kiln-op.c) for the device.
 *
 * The same splitmix64 of (seed, index) and the same 24-bit uniform, so the
 * GPU drops exactly the elements the CPU drops. The header compiles as
 * plain C too: test-cuda-host checks it bit for bit against the engine's
 * function on the host. Keep the two in step. */
#pragma once

#ifdef __CUDACC__
#define KILN_CUDA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define KILN_CUDA_HOST_DEVICE static inline
#endif

KILN_CUDA_HOST_DEVICE int
kiln_cuda_dropout_keep (unsigned long long seed, long long index, float ratio)
{
  unsigned long long z = seed + 0x9e3779b97f4a7c15ull * (unsigned long long) (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  /* 24 bits convert to float exactly; the product is a power-of-two scale. */
  float u = (float) (z >> 40) * (1.f / 16777216.f);
  return u >= ratio;
}
