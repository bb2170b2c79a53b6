/* kiln-cuda-feeder.h: double-buffered batch upload for the uint8 → float
 * conversion.
 *
 * Each batch is copied into one of two pinned host buffers and sent to the
 * device on a copy stream of its own; the compute stream waits for that
 * copy only where the conversion kernel needs it. So a batch staged while
 * the previous step's backward pass and update still run overlaps with
 * them, and the caller may refill its own buffer as soon as staging
 * returns. A slot is reused only after the kernel that read it finished.
 *
 * Threads: as the backend (one thread drives a device). */
#pragma once

#include <cuda_runtime_api.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _KilnCudaFeeder KilnCudaFeeder;

KilnCudaFeeder *kiln_cuda_feeder_new     (GError        **error);
void            kiln_cuda_feeder_free    (KilnCudaFeeder *self);

/* Copies @crops (3·@n ints) and @bytes of @pixels into the next slot and
 * queues their upload; *@device_crops and *@device_pixels are where they
 * will be once @compute (which is made to wait) reaches its next work. */
gboolean        kiln_cuda_feeder_stage   (KilnCudaFeeder  *self,
                                          cudaStream_t     compute,
                                          const int       *crops,
                                          int              n,
                                          const guint8    *pixels,
                                          gsize            bytes,
                                          const int      **device_crops,
                                          const guint8   **device_pixels,
                                          GError         **error);
/* Marks the slot just staged as read by the work queued on @compute so
 * far (the conversion kernel). */
void            kiln_cuda_feeder_release (KilnCudaFeeder  *self,
                                          cudaStream_t     compute);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnCudaFeeder, kiln_cuda_feeder_free)

G_END_DECLS
