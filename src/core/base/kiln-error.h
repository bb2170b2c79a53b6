/* kiln-error.h: the error domain shared by the Kiln core.
 *
 * Messages name the file, URL or layer and say what to do; the codes let
 * callers react without parsing text. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KILN_ERROR (kiln_error_quark ())

typedef enum {
  KILN_ERROR_FAILED,          /* anything without a better code */
  KILN_ERROR_INVALID_ARGUMENT,
  KILN_ERROR_SHAPE,           /* tensor or layer shapes do not fit */
  KILN_ERROR_UNSUPPORTED,     /* an op, attribute or format Kiln does not handle */
  KILN_ERROR_CORRUPT,         /* a file is truncated, malformed or hostile */
  KILN_ERROR_NOT_FOUND,
  KILN_ERROR_NUMERIC,         /* NaN/Inf loss and similar */
  KILN_ERROR_BACKEND,         /* a compute backend refused or failed */
  KILN_ERROR_IO,
  KILN_ERROR_CANCELLED,
  KILN_ERROR_OUT_OF_MEMORY,   /* a run does not fit its device's memory */
} KilnError;

GQuark kiln_error_quark (void);

G_END_DECLS
