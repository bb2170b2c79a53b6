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

/* Call first thing in main(). OpenMP threads that spin while they wait
 * steal the cores their siblings need whenever anything else runs (LeNet
 * training measured 15–20× slower at a load of 3), and a desktop app must
 * not burn idle CPU; waiting passively costs ~20% on a quiet machine. A
 * short spin, then sleep (GOMP_SPINCOUNT=20000) measured best both ways:
 * one LeNet epoch 0.62 s against 0.76 s passive at load 0.7, and 1.6 s
 * against 2.1 s with two busy processes beside it. libgomp reads the
 * setting once, when it is loaded, so unless the user set OMP_WAIT_POLICY
 * or GOMP_SPINCOUNT this sets it and re-executes the program (before
 * anything else happened). Returns only if nothing needed doing or the
 * re-exec failed. */
void         kiln_backend_cpu_prepare_process (char **argv);
int          kiln_backend_cpu_get_threads (KilnBackend *self);

G_END_DECLS
