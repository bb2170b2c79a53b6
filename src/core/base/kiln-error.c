#include "kiln-error.h"

G_DEFINE_QUARK (kiln-error-quark, kiln_error)
