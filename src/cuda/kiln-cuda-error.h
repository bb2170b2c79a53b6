/* kiln-cuda-error.h: CUDA, cuDNN and cuBLAS status codes as GErrors.
 *
 * Every message names the layer (or "CUDA" for backend-wide work), the
 * library and the call that failed. Running out of device memory is
 * reported the same way from all three libraries, saying what to lower;
 * nothing here aborts.
 *
 * Threads: plain functions. */
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <glib.h>

G_BEGIN_DECLS

gboolean  kiln_cuda_check_runtime (cudaError_t      status,
                                   const char      *layer,
                                   const char      *call,
                                   GError         **error);
gboolean  kiln_cuda_check_cudnn   (cudnnStatus_t    status,
                                   const char      *layer,
                                   const char      *call,
                                   GError         **error);
gboolean  kiln_cuda_check_cublas  (cublasStatus_t   status,
                                   const char      *layer,
                                   const char      *call,
                                   GError         **error);
/* The out-of-memory error itself (@bytes wanted, 0 if unknown). */
void      kiln_cuda_set_out_of_memory (GError     **error,
                                       const char  *layer,
                                       const char  *call,
                                       gsize        bytes);

G_END_DECLS
