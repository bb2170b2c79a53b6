/* kiln-cuda-kernels.h: Kiln's own CUDA kernels, one launcher each, grouped
 * by the .cu file beside the .c that calls them. Launchers queue work on
 * @stream and return the launch's cudaError_t as an int (0 = queued); sizes
 * are element counts. Device pointers unless a name says host.
 *
 * Threads: as the backend (one thread). */
#pragma once

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  KILN_CUDA_POOL_MAX,
  KILN_CUDA_POOL_AVG_INCLUDE_PAD,   /* divides by kH · kW */
  KILN_CUDA_POOL_AVG_EXCLUDE_PAD,   /* divides by the window's part inside the input */
} KilnCudaPoolMode;

/* kiln-cuda-backend.cu: memory and optimizer updates (the same float
 * operations in the same order as the CPU backend, without FMA
 * contraction, so an update gives the CPU's bits). */
int kiln_cuda_launch_fill (cudaStream_t stream, float *x, long long n, float value);
int kiln_cuda_launch_axpy (cudaStream_t stream, float alpha, const float *x, float *y, long long n);
int kiln_cuda_launch_sgd  (cudaStream_t stream, float *w, const float *g, float *v, long long n,
                           float lr, float momentum, float decay);
/* @c1, @c2: the bias corrections 1 − β^step, computed by the caller as the
 * CPU does. */
int kiln_cuda_launch_adam (cudaStream_t stream, float *w, const float *g, float *m, float *v,
                           long long n, float lr, float beta1, float beta2, float eps,
                           float decay, float c1, float c2);
/* Softmax cross-entropy of @n rows of @c logits against @labels: @row_loss
 * (n doubles) and @row_correct (n ints) as scratch, then @sums[0] = mean
 * loss (double) and @correct[0] = number right, summed in a fixed order;
 * @diff (n × c, may be NULL) = (softmax − onehot) / n. */
int kiln_cuda_launch_softmax_xent (cudaStream_t stream, const float *logits, const int *labels,
                                   int n, int c, float *diff, double *row_loss,
                                   int *row_correct, double *sums, int *correct);
/* The uint8 batch conversion (see kiln_cuda_backend_convert_batch). */
int kiln_cuda_launch_convert_batch (cudaStream_t stream, const unsigned char *pixels, int n,
                                    int channels, int height, int width, const int *crops,
                                    const float *mean, float scale, float *dst, int crop_h,
                                    int crop_w);

/* kiln-cuda-conv.cu: explicit padding for unequal pads, and the gradient
 * of a fused ReLU. Shapes are N × C × H × W of the unpadded tensor. */
int kiln_cuda_launch_pad  (cudaStream_t stream, const float *src, float *padded, int n, int c,
                           int h, int w, int pad_top, int pad_left, int padded_h, int padded_w);
int kiln_cuda_launch_crop (cudaStream_t stream, const float *padded, float *dst, int n, int c,
                           int h, int w, int pad_top, int pad_left, int padded_h, int padded_w);
/* g = y > 0 ? g : 0, in place. */
int kiln_cuda_launch_relu_mask (cudaStream_t stream, const float *y, float *g, long long n);

/* kiln-cuda-plain.cu: dropout by kiln_cuda_dropout_keep (@scale =
 * 1/(1 − ratio)), and y += x for Add. */
int kiln_cuda_launch_dropout (cudaStream_t stream, const float *src, float *dst, long long n,
                              unsigned long long seed, float ratio, float scale);
int kiln_cuda_launch_accumulate (cudaStream_t stream, const float *x, float *y, long long n);

/* kiln-cuda-pool.cu: max and average pooling over planes of @h × @w into
 * @oh × @ow, windows starting at o·stride − pad_top/left and clipped to the
 * input. @mode is a KilnCudaPoolMode. Max keeps the index of each window's
 * first maximum in @argmax (NULL: inference) for the backward pass, which
 * gathers per input element (no atomics, deterministic). */
int kiln_cuda_launch_pool_forward  (cudaStream_t stream, int mode, const float *src, float *dst,
                                    int *argmax, int planes, int h, int w, int oh, int ow,
                                    int kh, int kw, int sh, int sw, int pad_top, int pad_left);
int kiln_cuda_launch_pool_backward (cudaStream_t stream, int mode, const float *diff_dst,
                                    float *diff_src, const int *argmax, int planes, int h,
                                    int w, int oh, int ow, int kh, int kw, int sh, int sw,
                                    int pad_top, int pad_left);

#ifdef __cplusplus
}
#endif
