#include "config.h"

#include <string.h>

#include "kiln-cuda-error.h"
#include "kiln-cuda-feeder.h"

/* The crops sit first in a slot, the pixels after them at this alignment. */
#define PIXELS_ALIGN 256

typedef struct {
  guint8 *host;             /* pinned */
  guint8 *device;
  gsize size;
  cudaEvent_t copied;       /* on the copy stream */
  cudaEvent_t consumed;     /* on the compute stream, after the kernel */
} Slot;

struct _KilnCudaFeeder {
  cudaStream_t copy;
  Slot slots[2];
  guint next;
};

static void
slot_free_buffers (Slot *slot)
{
  g_clear_pointer (&slot->host, cudaFreeHost);
  g_clear_pointer (&slot->device, cudaFree);
  slot->size = 0;
}

void
kiln_cuda_feeder_free (KilnCudaFeeder *self)
{
  if (self == NULL)
    return;
  if (self->copy != NULL)
    cudaStreamSynchronize (self->copy);
  for (guint i = 0; i < G_N_ELEMENTS (self->slots); i++)
    {
      Slot *slot = &self->slots[i];
      if (slot->consumed != NULL)
        cudaEventSynchronize (slot->consumed);
      slot_free_buffers (slot);
      g_clear_pointer (&slot->copied, cudaEventDestroy);
      g_clear_pointer (&slot->consumed, cudaEventDestroy);
    }
  g_clear_pointer (&self->copy, cudaStreamDestroy);
  g_free (self);
}

KilnCudaFeeder *
kiln_cuda_feeder_new (GError **error)
{
  g_autoptr(KilnCudaFeeder) self = g_new0 (KilnCudaFeeder, 1);

  if (!kiln_cuda_check_runtime (cudaStreamCreateWithFlags (&self->copy, cudaStreamNonBlocking),
                                "batch", "cudaStreamCreateWithFlags (copy stream)", error))
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (self->slots); i++)
    if (!kiln_cuda_check_runtime (cudaEventCreateWithFlags (&self->slots[i].copied,
                                                            cudaEventDisableTiming),
                                  "batch", "cudaEventCreateWithFlags", error) ||
        !kiln_cuda_check_runtime (cudaEventCreateWithFlags (&self->slots[i].consumed,
                                                            cudaEventDisableTiming),
                                  "batch", "cudaEventCreateWithFlags", error))
      return NULL;
  return g_steal_pointer (&self);
}

static gboolean
slot_reserve (Slot *slot, gsize size, GError **error)
{
  cudaError_t status;

  if (size <= slot->size)
    return TRUE;
  slot_free_buffers (slot);
  status = cudaHostAlloc ((void **) &slot->host, size, cudaHostAllocDefault);
  if (status == cudaSuccess)
    status = cudaMalloc ((void **) &slot->device, size);
  if (status != cudaSuccess)
    {
      cudaGetLastError ();
      slot_free_buffers (slot);
      if (status == cudaErrorMemoryAllocation)
        {
          kiln_cuda_set_out_of_memory (error, "batch", "cudaHostAlloc/cudaMalloc (batch staging)",
                                       size);
          return FALSE;
        }
      return kiln_cuda_check_runtime (status, "batch", "cudaHostAlloc/cudaMalloc (batch staging)",
                                      error);
    }
  slot->size = size;
  return TRUE;
}

gboolean
kiln_cuda_feeder_stage (KilnCudaFeeder *self, cudaStream_t compute, const int *crops, int n,
                        const guint8 *pixels, gsize bytes, const int **device_crops,
                        const guint8 **device_pixels, GError **error)
{
  Slot *slot = &self->slots[self->next];
  gsize offset = ((gsize) 3 * n * sizeof (int) + PIXELS_ALIGN - 1) / PIXELS_ALIGN * PIXELS_ALIGN;

  /* The kernel that read this slot two batches ago (normally long done). */
  if (!kiln_cuda_check_runtime (cudaEventSynchronize (slot->consumed), "batch",
                                "cudaEventSynchronize (staging slot)", error) ||
      !slot_reserve (slot, offset + bytes, error))
    return FALSE;
  memcpy (slot->host, crops, (gsize) 3 * n * sizeof (int));
  memcpy (slot->host + offset, pixels, bytes);
  if (!kiln_cuda_check_runtime (cudaMemcpyAsync (slot->device, slot->host, offset + bytes,
                                                 cudaMemcpyHostToDevice, self->copy),
                                "batch", "cudaMemcpyAsync (batch upload)", error) ||
      !kiln_cuda_check_runtime (cudaEventRecord (slot->copied, self->copy), "batch",
                                "cudaEventRecord (batch uploaded)", error) ||
      !kiln_cuda_check_runtime (cudaStreamWaitEvent (compute, slot->copied, 0), "batch",
                                "cudaStreamWaitEvent (batch uploaded)", error))
    return FALSE;
  *device_crops = (const int *) slot->device;
  *device_pixels = slot->device + offset;
  return TRUE;
}

void
kiln_cuda_feeder_release (KilnCudaFeeder *self, cudaStream_t compute)
{
  /* A failed record leaves the event complete: the next stage of this slot
   * then waits on nothing, and the kernel's own error is already reported. */
  cudaEventRecord (self->slots[self->next].consumed, compute);
  self->next ^= 1;
}
