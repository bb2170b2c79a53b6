/* kiln-backend.h: a compute backend (CPU with oneDNN, CUDA with cuDNN).
 *
 * A KilnBackend is an opaque handle over a const vtable (the ggml-backend
 * idea): memory (alloc, free, upload, download), element-wise updates used
 * by the optimizers, the softmax-cross-entropy loss, and per op forward,
 * backward-data and backward-weights. An op is "compiled" once per layer
 * (kiln_backend_op_new: a backend creates and caches its primitives there)
 * and then run every step. kiln_backend_supports_op() answers before
 * anything is allocated, so a caller can fall back or report.
 *
 * Devices: "cpu"; "cuda" (the first CUDA device that answers, through the
 * loadable module) or "cuda:N"; "auto" = the first CUDA device that
 * answers, else the CPU. NULL is the default: $KILN_DEVICE, else the
 * process's default device (kiln_backend_set_default_device, which the
 * window sets from its preferences), else "auto".
 * Asking for CUDA where none answers is an error that says why; only
 * "auto" falls back, and kiln_backend_get_choice_reason() says why it
 * chose what it chose.
 *
 * Threads: a backend and everything made from it are driven by one thread
 * at a time (the trainer's worker); creating backends is thread-safe. */
#pragma once

#include "kiln-op.h"
#include "kiln-tensor.h"

G_BEGIN_DECLS

typedef struct _KilnOp KilnOp;

typedef enum {
  KILN_DEVICE_AUTO,
  KILN_DEVICE_CPU,
  KILN_DEVICE_CUDA,
} KilnDeviceKind;

/* Parses a device name; *@index is N of "cuda:N", -1 for "cuda" (the first
 * that answers) and the others. KILN_ENGINE_ERROR_INVALID_ARGUMENT names
 * the accepted forms. */
gboolean     kiln_device_parse          (const char      *name,
                                         KilnDeviceKind  *kind,
                                         int             *index,
                                         GError         **error);

KilnBackend *kiln_backend_new           (const char  *name,
                                         GError     **error);
/* What "auto" (and NULL) resolve to from now on: "auto", "cpu", "cuda" or
 * "cuda:N"; NULL or "" is "auto". Process-wide, for front ends to set from
 * their settings (the app's Default Device preference). */
void         kiln_backend_set_default_device (const char *name);
char        *kiln_backend_dup_default_device (void);
void         kiln_backend_free          (KilnBackend *self);
/* "cpu" or "cuda:N": the device this backend drives (what "auto" chose). */
const char  *kiln_backend_get_name      (KilnBackend *self);
/* One line for logs: library version, threads, device. */
const char  *kiln_backend_get_description (KilnBackend *self);
/* Why this device, one line for people: "auto chose the CPU: no NVIDIA
 * driver answers on this machine", "cuda:0 (NVIDIA H100 …), as asked". */
const char  *kiln_backend_get_choice_reason (KilnBackend *self);
/* Device memory in bytes, total and free now. The CPU answers from
 * /proc/meminfo (MemTotal, MemAvailable); with KILN_DEVICE_MEMORY_LIMIT
 * set (bytes, or with a K/M/G suffix) it acts as a device of that size,
 * counting what its buffers use and failing allocations beyond it with
 * KILN_ENGINE_ERROR_OUT_OF_MEMORY (a test hook for the memory check and
 * for running out of memory mid-run). FALSE when the backend cannot tell. */
gboolean     kiln_backend_get_memory    (KilnBackend *self,
                                         guint64     *total,
                                         guint64     *free_bytes);

gboolean     kiln_backend_supports_op   (KilnBackend      *self,
                                         const KilnOpDesc *desc,
                                         GError          **error);
/* @desc must come from kiln_op_desc_init() and outlive the op. */
KilnOp      *kiln_backend_op_new        (KilnBackend      *self,
                                         const KilnOpDesc *desc,
                                         GError          **error);
void         kiln_op_free               (KilnOp *op);
gboolean     kiln_op_forward            (KilnOp           *op,
                                         const KilnOpArgs *args,
                                         GError          **error);
/* Backward passes follow a training forward of the same op (max pooling,
 * LRN, dropout and BatchNorm keep what they need from it).
 * Writes (overwrites) the non-NULL args->diff_src entries; a convolution
 * with a fused ReLU also masks args->diff_dst in place. */
gboolean     kiln_op_backward_data      (KilnOp           *op,
                                         const KilnOpArgs *args,
                                         GError          **error);
/* Writes (overwrites) args->diff_params; only ops with learnable parameters. */
gboolean     kiln_op_backward_weights   (KilnOp           *op,
                                         const KilnOpArgs *args,
                                         GError          **error);

/* y += alpha · x (same element count). */
void         kiln_backend_axpy          (KilnBackend      *self,
                                         float             alpha,
                                         const KilnTensor *x,
                                         KilnTensor       *y);
/* SGD with momentum and L2 weight decay, Caffe/Chainer form:
 *   v = momentum·v − lr·(g + decay·w);  w += v */
void         kiln_backend_sgd_update    (KilnBackend      *self,
                                         KilnTensor       *weight,
                                         const KilnTensor *grad,
                                         KilnTensor       *velocity,
                                         float             lr,
                                         float             momentum,
                                         float             decay);
/* Adam (Kingma & Ba) with L2 weight decay added to the gradient; @step
 * counts from 1 for the bias correction. */
void         kiln_backend_adam_update   (KilnBackend      *self,
                                         KilnTensor       *weight,
                                         const KilnTensor *grad,
                                         KilnTensor       *m,
                                         KilnTensor       *v,
                                         float             lr,
                                         float             beta1,
                                         float             beta2,
                                         float             eps,
                                         float             decay,
                                         gint64            step);
/* Softmax over the channels of @logits (N × C × 1 × 1) against @labels
 * (host, N class indices): mean loss over the batch, the number of correct
 * top-1 predictions, and (if @diff is not NULL) d loss / d logits. Fails on a
 * label outside [0, C). */
gboolean     kiln_backend_softmax_cross_entropy (KilnBackend      *self,
                                                 const KilnTensor *logits,
                                                 const int        *labels,
                                                 KilnTensor       *diff,
                                                 double           *loss,
                                                 int              *n_correct,
                                                 GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnBackend, kiln_backend_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnOp, kiln_op_free)

G_END_DECLS
