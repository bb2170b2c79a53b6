#include "kiln-engine-error.h"

G_DEFINE_QUARK (kiln-engine-error-quark, kiln_engine_error)
