/* Kernels of kiln-cuda-backend.c: fill, axpy, the optimizer updates, the
 * softmax cross-entropy loss and the uint8 batch conversion. */
#include "kiln-cuda-kernels.h"

#include <cuda_runtime.h>

#include "kiln-cuda-grid.cuh"

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

/* v = momentum·v − lr·(g + decay·w); w += v — rounded as the CPU's loop. */
__global__ static void
sgd_kernel (float *w, const float *g, float *v, long long n, float lr, float momentum, float decay)
{
  KILN_CUDA_GRID_STRIDE (i, n)
    {
      float grad = __fadd_rn (g[i], __fmul_rn (decay, w[i]));
      float vi = __fsub_rn (__fmul_rn (momentum, v[i]), __fmul_rn (lr, grad));
      v[i] = vi;
      w[i] = __fadd_rn (w[i], vi);
    }
}

__global__ static void
adam_kernel (float *w, const float *g, float *m, float *v, long long n, float lr, float beta1,
             float beta2, float eps, float decay, float c1, float c2)
{
  float one_b1 = 1.f - beta1, one_b2 = 1.f - beta2;
  KILN_CUDA_GRID_STRIDE (i, n)
    {
      float grad = __fadd_rn (g[i], __fmul_rn (decay, w[i]));
      float mi = __fadd_rn (__fmul_rn (beta1, m[i]), __fmul_rn (one_b1, grad));
      float vi = __fadd_rn (__fmul_rn (beta2, v[i]), __fmul_rn (__fmul_rn (one_b2, grad), grad));
      m[i] = mi;
      v[i] = vi;
      float step = __fdiv_rn (__fmul_rn (lr, __fdiv_rn (mi, c1)),
                              __fadd_rn (__fsqrt_rn (__fdiv_rn (vi, c2)), eps));
      w[i] = __fsub_rn (w[i], step);
    }
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

/* As kiln_batch_loader_convert_sample: (pixel − mean) · scale, the mean
 * read at the same (mirrored) source position as the pixel. */
__global__ static void
convert_kernel (const unsigned char *pixels, int n, int channels, int height, int width,
                const int *crops, const float *mean, float scale, float *dst, int crop_h,
                int crop_w)
{
  long long total = (long long) n * channels * crop_h * crop_w;
  KILN_CUDA_GRID_STRIDE (i, total)
    {
      int x = (int) (i % crop_w);
      int y = (int) ((i / crop_w) % crop_h);
      int c = (int) ((i / ((long long) crop_w * crop_h)) % channels);
      int s = (int) (i / ((long long) crop_w * crop_h * channels));
      int oy = crops[3 * s], ox = crops[3 * s + 1];
      int sx = crops[3 * s + 2] ? crop_w - 1 - x : x;
      long long src_row = ((long long) c * height + (y + oy)) * width + ox;
      float p = (float) pixels[(long long) s * channels * height * width + src_row + sx];
      float v = __fsub_rn (p, mean != NULL ? mean[src_row + sx] : 0.0f);
      dst[i] = __fmul_rn (v, scale);
    }
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
