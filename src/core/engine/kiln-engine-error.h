/* kiln-engine-error.h: the engine's own error domain.
 *
 * The engine (tensors, net specs, layers, backends) is a library of its own
 * below the core, so its errors carry their own domain; the core wraps or
 * passes them on. Messages name the layer or file and say what to do. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KILN_ENGINE_ERROR (kiln_engine_error_quark ())

typedef enum {
  KILN_ENGINE_ERROR_FAILED,           /* anything without a better code */
  KILN_ENGINE_ERROR_INVALID_ARGUMENT,
  KILN_ENGINE_ERROR_SHAPE,            /* tensor or layer shapes do not fit */
  KILN_ENGINE_ERROR_UNSUPPORTED,      /* an op or attribute a backend does not run */
  KILN_ENGINE_ERROR_CORRUPT,          /* a spec or weights file is malformed */
  KILN_ENGINE_ERROR_NOT_FOUND,
  KILN_ENGINE_ERROR_NUMERIC,          /* NaN/Inf and similar */
  KILN_ENGINE_ERROR_BACKEND,          /* a compute backend or its module refused or failed */
  KILN_ENGINE_ERROR_IO,
  /* A backend could not allocate memory (device memory on a GPU): a run
   * stops with a checkpoint of its last completed step. */
  KILN_ENGINE_ERROR_OUT_OF_MEMORY,
} KilnEngineError;

GQuark kiln_engine_error_quark (void);

G_END_DECLS
