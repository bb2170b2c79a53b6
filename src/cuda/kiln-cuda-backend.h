/* kiln-cuda-backend.h: the CUDA training backend (cuDNN 9 + cuBLAS + own
 * kernels), made by the module's constructor.
 *
 * Tensors live in device memory; a training step's only host traffic is
 * the uint8 batch in (kiln_cuda_backend_convert_batch) and the loss and
 * correct count out (softmax_cross_entropy).
 *
 * Settings, read when the backend is made:
 *   KILN_CUDA_TF32=1            let cuDNN and cuBLAS use TF32 tensor cores
 *                               (float32 with a 10-bit mantissa); default off
 *   KILN_CUDA_WORKSPACE_MB=N    cap of the one convolution workspace (1024)
 *   KILN_CUDA_CONV_SEARCH=find  time every cuDNN algorithm once per shape
 *                               (cudnnFind…Ex) instead of the heuristics
 *
 * Threads: one thread drives a device. A backend, its tensors and its ops
 * are used by the thread that made the backend (the trainer's worker),
 * which owns the CUDA context; nothing here takes a lock. */
#pragma once

#include "kiln-backend-private.h"

G_BEGIN_DECLS

/* A backend on CUDA device @device, or NULL with @error saying why. */
KilnBackend *kiln_cuda_backend_new           (int        device,
                                              GError   **error);

/* The uint8 → float32 batch conversion on the device, the same arithmetic
 * as kiln_batch_loader_convert_sample(): @pixels (host, @n cached images of
 * @channels × @height × @width) are staged and uploaded on a copy stream
 * (kiln-cuda-feeder.h; the caller may reuse @pixels when this returns, and
 * the copy overlaps with work still queued), and sample i becomes the
 * crop of @dst's size at (@crops[3i], @crops[3i+1]), mirrored when
 * @crops[3i+2] is not 0, minus @mean (a 1 × C × H × W tensor on this
 * backend at the cached size, or NULL), times @scale. @dst is
 * n × channels × crop_h × crop_w. */
gboolean     kiln_cuda_backend_convert_batch (KilnBackend      *backend,
                                              const guint8     *pixels,
                                              int               n,
                                              int               channels,
                                              int               height,
                                              int               width,
                                              const int        *crops,
                                              const KilnTensor *mean,
                                              float             scale,
                                              KilnTensor       *dst,
                                              GError          **error);

G_END_DECLS
