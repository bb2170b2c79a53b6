/* kiln-backend-cpu.h: the CPU backend, on oneDNN 2.6 (v2 C API).
 *
 * One oneDNN engine and stream per backend. Threads: KILN_NUM_THREADS if
 * set, else the number of processors; Debian's oneDNN runs on OpenMP, so the
 * count is applied with omp_set_num_threads() on the thread that executes.
 *
 * Threads: drive a CPU backend from one thread at a time. */
#pragma once

#include "kiln-backend.h"

G_BEGIN_DECLS

KilnBackend *kiln_backend_cpu_new         (GError **error);

/* Call first thing in main(). OpenMP threads that wait by spinning steal
 * the cores their siblings need whenever anything else runs on the machine
 * (measured: LeNet training 15–20× slower under a load of 3), and a desktop
 * app must not burn idle CPU. libgomp reads OMP_WAIT_POLICY once, when it
 * is loaded, so when the variable is unset this sets it to "passive" and
 * re-executes the program (before anything else happened). Returns only if
 * nothing needed doing or the re-exec failed. */
void         kiln_backend_cpu_prepare_process (char **argv);
int          kiln_backend_cpu_get_threads (KilnBackend *self);

G_END_DECLS
