/* kiln-cuda-geometry.h: a KilnOpDesc mapped onto what cuDNN descriptors and
 * Kiln's own kernels take, as plain numbers (no CUDA call), so that the
 * mapping is tested on machines without a GPU.
 *
 * Convolutions: cuDNN pads symmetrically; a layer with unequal top/bottom
 * or left/right padding is run on an explicitly zero-padded copy of its
 * input with no padding in cuDNN. Pooling runs on Kiln's kernels, which
 * take the four pads plus Caffe's extra ceil padding directly.
 *
 * Threads: plain functions. */
#pragma once

#include "kiln-cuda-kernels.h"
#include "kiln-op.h"

G_BEGIN_DECLS

typedef struct {
  int filter[4];                /* K × C/group × kH × kW */
  int group;
  int pad_h, pad_w;             /* symmetric, as cuDNN takes them */
  int stride_h, stride_w;
  int dilation_h, dilation_w;
  /* Unequal padding: the input is copied into padded_input (zeros
   * around, pad_top/pad_left before) and cuDNN pads nothing. */
  gboolean explicit_pad;
  int pad_top, pad_left;
  KilnShape input;              /* what cuDNN sees: the input or its padded copy */
} KilnCudaConvGeometry;

typedef struct {
  KilnCudaPoolMode mode;
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int pad_top, pad_left;
  int pad_bottom, pad_right;    /* including Caffe's extra ceil padding */
} KilnCudaPoolGeometry;

/* Row-major GEMM sizes of an inner product: dst (n × m) = src (n × k) ·
 * weightᵀ (k × m). */
typedef struct {
  int m, n, k;
} KilnCudaGemmGeometry;

typedef enum {
  KILN_CUDA_GEMM_FORWARD,           /* C = dst,       A = weight, B = src */
  KILN_CUDA_GEMM_BACKWARD_DATA,     /* C = diff_src,  A = weight, B = diff_dst */
  KILN_CUDA_GEMM_BACKWARD_WEIGHTS,  /* C = diff_weight, A = src, B = diff_dst */
} KilnCudaGemmPass;

/* One cublasSgemm call (column-major: C = op(A) · op(B), C is m × n) on
 * Kiln's row-major tensors, which cuBLAS sees transposed. */
typedef struct {
  gboolean trans_a, trans_b;
  int m, n, k;
  int lda, ldb, ldc;
} KilnCudaGemmCall;

void     kiln_cuda_conv_geometry   (const KilnOpDesc     *desc,
                                    KilnCudaConvGeometry *geom);
/* The output cuDNN will compute for @geom (1 + (H + 2p − ((k − 1)·d + 1))/s),
 * which must be the desc's output. */
KilnShape kiln_cuda_conv_output    (const KilnCudaConvGeometry *geom);
void     kiln_cuda_pool_geometry   (const KilnOpDesc     *desc,
                                    KilnCudaPoolGeometry *geom);
KilnShape kiln_cuda_pool_output    (const KilnCudaPoolGeometry *geom,
                                    const KilnShape            *input);
void     kiln_cuda_gemm_geometry   (const KilnOpDesc     *desc,
                                    KilnCudaGemmGeometry *geom);
void     kiln_cuda_gemm_call       (const KilnCudaGemmGeometry *geom,
                                    KilnCudaGemmPass            pass,
                                    KilnCudaGemmCall           *call);

G_END_DECLS
