/* Kernels of kiln-cuda-backend.c: fill, axpy, the optimizer updates and
 * the batch conversion (their arithmetic in kiln-cuda-update-math.h), and
 * the softmax cross-entropy loss. */
#include "kiln-cuda-kernels.h"

#include <cuda_runtime.h>

#include "kiln-cuda-grid.cuh"
#include "kiln-cuda-update-math.h"

__global__ static void
fill_kernel (float *x, long long n, float value)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    x[i] = value;
}

__global__ static void
axpy_kernel (float alpha, const float *x, float *y, long long n)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    y[i] = __fadd_rn (y[i], __fmul_rn (alpha, x[i]));
}

__global__ static void
sgd_kernel (float *w, const float *g, float *v, long long n, float lr, float momentum, float decay)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    kiln_cuda_sgd_at (w + i, g[i], v + i, lr, momentum, decay);
}

__global__ static void
adam_kernel (float *w, const float *g, float *m, float *v, long long n, float lr, float beta1,
             float beta2, float eps, float decay, float c1, float c2)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    kiln_cuda_adam_at (w + i, g[i], m + i, v + i, lr, beta1, beta2, eps, decay, c1, c2);
}

extern "C" int
kiln_cuda_launch_fill (cudaStream_t stream, float *x, long long n, float value)
{
  if (n > 0)
    fill_kernel<<<KILN_CUDA_GRID (n, stream)>>> (x, n, value);
  return (int) cudaGetLastError ();
}

extern "C" int
kiln_cuda_launch_axpy (cudaStream_t stream, float alpha, const float *x, float *y, long long n)
{
  if (n > 0)
    axpy_kernel<<<KILN_CUDA_GRID (n, stream)>>> (alpha, x, y, n);
  return (int) cudaGetLastError ();
}

extern "C" int
kiln_cuda_launch_sgd (cudaStream_t stream, float *w, const float *g, float *v, long long n,
                      float lr, float momentum, float decay)
{
  if (n > 0)
    sgd_kernel<<<KILN_CUDA_GRID (n, stream)>>> (w, g, v, n, lr, momentum, decay);
  return (int) cudaGetLastError ();
}

extern "C" int
kiln_cuda_launch_adam (cudaStream_t stream, float *w, const float *g, float *m, float *v,
                       long long n, float lr, float beta1, float beta2, float eps, float decay,
                       float c1, float c2)
{
  if (n > 0)
    adam_kernel<<<KILN_CUDA_GRID (n, stream)>>> (w, g, m, v, n, lr, beta1, beta2, eps, decay, c1,
      c2);
  return (int) cudaGetLastError ();
}

/* One block per row: the first index of the maximum (as the CPU's strict
 * comparison finds it), the log-sum-exp in double, the row's loss and
 * whether its top-1 is the label, and the gradient. */
#define XENT_THREADS 128

__global__ static void
xent_rows_kernel (const float *logits, const int *labels, int n, int c, float *diff,
                  double *row_loss, int *row_correct)
{
  __shared__ float best_value[XENT_THREADS];
  __shared__ int best_index[XENT_THREADS];
  __shared__ double partial[XENT_THREADS];
  int row = blockIdx.x, t = threadIdx.x;
  const float *x = logits + (long long) row * c;

  float bv = -INFINITY;
  int bi = c;
  for (int j = t; j < c; j += XENT_THREADS)
    if (bi == c || x[j] > bv)
      {
        bv = x[j];
        bi = j;
      }
  best_value[t] = bv;
  best_index[t] = bi;
  __syncthreads ();
  for (int s = XENT_THREADS / 2; s > 0; s >>= 1)
    {
      if (t < s)
        {
          float ov = best_value[t + s];
          int oi = best_index[t + s];
          if (oi < c && (best_index[t] == c || ov > best_value[t] ||
                         (ov == best_value[t] && oi < best_index[t])))
            {
              best_value[t] = ov;
              best_index[t] = oi;
            }
        }
      __syncthreads ();
    }
  double max = best_value[0];
  int best = best_index[0];

  double sum = 0;
  for (int j = t; j < c; j += XENT_THREADS)
    sum += exp ((double) x[j] - max);
  partial[t] = sum;
  __syncthreads ();
  for (int s = XENT_THREADS / 2; s > 0; s >>= 1)
    {
      if (t < s)
        partial[t] += partial[t + s];
      __syncthreads ();
    }
  double log_z = max + log (partial[0]);
  int label = labels[row];
  if (t == 0)
    {
      row_loss[row] = log_z - (double) x[label];
      row_correct[row] = best == label;
    }
  if (diff != NULL)
    for (int j = t; j < c; j += XENT_THREADS)
      diff[(long long) row * c + j] = (float) ((exp ((double) x[j] - log_z) - (j == label)) / n);
}

/* One block sums the rows in a fixed tree order: the same loss every run. */
__global__ static void
xent_sum_kernel (const double *row_loss, const int *row_correct, int n, double *sums, int *correct)
{
  __shared__ double loss[XENT_THREADS];
  __shared__ int right[XENT_THREADS];
  int t = threadIdx.x;
  double l = 0;
  int r = 0;

  for (int i = t; i < n; i += XENT_THREADS)
    {
      l += row_loss[i];
      r += row_correct[i];
    }
  loss[t] = l;
  right[t] = r;
  __syncthreads ();
  for (int s = XENT_THREADS / 2; s > 0; s >>= 1)
    {
      if (t < s)
        {
          loss[t] += loss[t + s];
          right[t] += right[t + s];
        }
      __syncthreads ();
    }
  if (t == 0)
    {
      sums[0] = loss[0] / n;
      correct[0] = right[0];
    }
}

extern "C" int
kiln_cuda_launch_softmax_xent (cudaStream_t stream, const float *logits, const int *labels, int n,
                               int c, float *diff, double *row_loss, int *row_correct,
                               double *sums, int *correct)
{
  if (n <= 0 || c <= 0)
    return (int) cudaErrorInvalidValue;
  xent_rows_kernel<<<n, XENT_THREADS, 0, stream>>> (logits, labels, n, c, diff, row_loss,
                                                     row_correct);
  xent_sum_kernel<<<1, XENT_THREADS, 0, stream>>> (row_loss, row_correct, n, sums, correct);
  return (int) cudaGetLastError ();
}

__global__ static void
convert_kernel (const unsigned char *pixels, int n, int channels, int height, int width,
                const int *crops, const float *mean, float scale, float *dst, int crop_h,
                int crop_w)
{
  long long total = (long long) n * channels * crop_h * crop_w;
  KILN_CUDA_GRID_STRIDE (i, total)
    dst[i] = kiln_cuda_convert_at (pixels, channels, height, width, crops, mean, scale, crop_h,
                                   crop_w, i);
}

extern "C" int
kiln_cuda_launch_convert_batch (cudaStream_t stream, const unsigned char *pixels, int n,
                                int channels, int height, int width, const int *crops,
                                const float *mean, float scale, float *dst, int crop_h, int crop_w)
{
  long long total = (long long) n * channels * crop_h * crop_w;
  if (total > 0)
    convert_kernel<<<KILN_CUDA_GRID (total, stream)>>> (pixels, n, channels, height, width, crops,
      mean, scale, dst, crop_h, crop_w);
  return (int) cudaGetLastError ();
}
