/* kiln-test-backends.h: the same engine test on every backend (ggml's habit).
 *
 * A test registered through kiln_test_backends_add() runs once per
 * candidate device ("cpu", "cuda"); one that does not answer here makes its
 * cases skip with the reason kiln_backend_new() gave, printed in the TAP
 * output, so a machine with a GPU runs them and one without says why not. */
#pragma once

#include "kiln-backend.h"

G_BEGIN_DECLS

/* Registers "/PREFIX/DEVICE/NAME" for each candidate device; @func gets the
 * device name as its data. */
void         kiln_test_backends_add   (const char    *prefix,
                                       const char    *name,
                                       GTestDataFunc  func);
/* The backend for @device (created once, kept for the process), or NULL
 * after g_test_skip() with the reason it does not answer. */
KilnBackend *kiln_test_backend_get    (const char    *device);
/* A CPU backend on one thread: the reference the others are held to. */
KilnBackend *kiln_test_backend_reference (void);

G_END_DECLS
