/* kiln-backend-cpu.h: the CPU backend, on oneDNN 2.6 (v2 C API).
 *
 * One oneDNN engine and stream per backend. Threads: KILN_NUM_THREADS if
 * set, else the front end's default (the app's Threads preference), else
 * the number of processors; Debian's oneDNN runs on OpenMP, so the
 * count is applied with omp_set_num_threads() on the thread that executes.
 *
 * Threads: drive a CPU backend from one thread at a time. */
#pragma once

#include "kiln-backend.h"

G_BEGIN_DECLS

KilnBackend *kiln_backend_cpu_new         (GError **error);

int          kiln_backend_cpu_get_threads (KilnBackend *self);
/* Threads of the CPU backends created from now on, unless KILN_NUM_THREADS
 * says otherwise; 0: the number of processors. Process-wide. */
void         kiln_backend_cpu_set_default_threads (int n_threads);
/* What a CPU backend created now would use. */
int          kiln_backend_cpu_get_default_threads (void);
/* Layout reorders run so far (between primitives, for staging). */
guint64      kiln_backend_cpu_get_reorder_count (KilnBackend *self);
/* Bytes of this backend's tensors (not its staging buffers). */
guint64      kiln_backend_cpu_get_tensor_bytes (KilnBackend *self);
/* Bytes the CPU backends' buffers (tensors, staging, workspaces) hold now,
 * process-wide: what KILN_DEVICE_MEMORY_LIMIT is checked against. */
guint64      kiln_backend_cpu_get_used_memory (void);
/* The instruction set oneDNN's kernels use here ("avx2", "avx512_core"…),
 * after ONEDNN_MAX_CPU_ISA. */
const char  *kiln_backend_cpu_get_isa_name (void);

G_END_DECLS
