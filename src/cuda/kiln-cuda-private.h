/* kiln-cuda-private.h: the CUDA backend's pieces, shared by its op files
 * (kiln-cuda-*.c). As in the CPU backend, each op kind is a small class
 * (forward, backward-data, backward-weights, finalize) plus its own state;
 * descriptors are made when the op is made, algorithms on first use.
 *
 * Everything runs in order on the backend's one stream; the host waits only
 * where it reads results (download, the loss).
 *
 * Threads: as kiln-cuda-backend.h (one thread drives a device). */
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "kiln-cuda-algo-cache.h"
#include "kiln-cuda-backend.h"
#include "kiln-cuda-error.h"
#include "kiln-cuda-feeder.h"
#include "kiln-cuda-kernels.h"
#include "kiln-cuda-workspace.h"

G_BEGIN_DECLS

typedef struct {
  KilnBackend parent;
  int device;
  cudaStream_t stream;
  cudnnHandle_t cudnn;
  cublasHandle_t cublas;
  gboolean tf32;
  gboolean find;                  /* time algorithms (cudnnFind…Ex), else heuristics */
  KilnCudaWorkspace workspace;
  KilnCudaAlgoCache *algos;
  /* Calls without a GError (upload, fill, the updates) keep their first
   * failure here; the next call that can report one does. */
  GError *pending;
  /* Loss scratch, grown to the largest batch. */
  int *labels;
  double *row_loss;
  int *row_correct;
  double *sums;                   /* [0] mean loss; followed by the correct count */
  int loss_rows;
  KilnCudaFeeder *feeder;         /* made by the first batch conversion */
} KilnCudaBackend;

typedef struct _KilnCudaOp KilnCudaOp;

typedef struct {
  gboolean (*forward)          (KilnCudaOp *op, const KilnOpArgs *args, GError **error);
  gboolean (*backward_data)    (KilnCudaOp *op, const KilnOpArgs *args, GError **error);
  gboolean (*backward_weights) (KilnCudaOp *op, const KilnOpArgs *args, GError **error);
  void     (*finalize)         (KilnCudaOp *op);
} KilnCudaOpClass;

struct _KilnCudaOp {
  KilnOp parent;
  const KilnCudaOpClass *klass;
  KilnCudaBackend *cuda;
  const KilnLayerSpec *layer;
};

#define KILN_CUDA_OP(op) ((KilnCudaOp *) (op))
#define KILN_CUDA_DATA(t) ((float *) kiln_tensor_get_data (t))

/* Allocates an op of @size bytes whose first member is KilnCudaOp. */
gpointer  kiln_cuda_op_alloc       (KilnCudaBackend       *cuda,
                                    const KilnOpDesc      *desc,
                                    const KilnCudaOpClass *klass,
                                    gsize                  size);
/* Device memory for op state (masks, statistics, padded copies). */
gpointer  kiln_cuda_buffer_alloc   (KilnCudaBackend *cuda,
                                    gsize            bytes,
                                    const char      *layer,
                                    GError         **error);
void      kiln_cuda_buffer_free    (gpointer data);
/* Reports (and clears) a failure left by a call that had no GError. */
gboolean  kiln_cuda_take_pending   (KilnCudaBackend *cuda,
                                    GError         **error);
/* A kernel launcher's result, as kiln_cuda_check_runtime. */
gboolean  kiln_cuda_check_launch   (int              status,
                                    const char      *layer,
                                    const char      *kernel,
                                    GError         **error);

/* An NCHW float descriptor of @shape. */
gboolean  kiln_cuda_tensor_desc    (cudnnTensorDescriptor_t *desc,
                                    const KilnShape         *shape,
                                    const char              *layer,
                                    GError                 **error);

/* Diff of a fused ReLU, in place: g = dst > 0 ? g : 0. */
gboolean  kiln_cuda_relu_mask      (KilnCudaBackend  *cuda,
                                    const KilnTensor *dst,
                                    KilnTensor       *diff,
                                    const char       *layer,
                                    GError          **error);

/* Whether cuDNN's LRN takes the layer's size, k and beta; an UNSUPPORTED
 * error naming them otherwise. */
gboolean  kiln_cuda_lrn_supports   (const KilnOpDesc *desc,
                                    GError          **error);

/* Constructors, one per op file. */
KilnCudaOp *kiln_cuda_conv_new     (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error);
KilnCudaOp *kiln_cuda_unary_new    (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error);
KilnCudaOp *kiln_cuda_pool_new     (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error);
KilnCudaOp *kiln_cuda_bn_new       (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error);
KilnCudaOp *kiln_cuda_plain_new    (KilnCudaBackend *cuda, const KilnOpDesc *desc, GError **error);

G_END_DECLS
