/* kiln-core.h: the public face of libkiln-core (no GTK).
 *
 * Threads: unless a header says otherwise, an object is used from the
 * thread that created it; workers report back through idle sources on the
 * GMainContext an object was created in. */
#pragma once

#include "kiln-error.h"
#include "kiln-safetensors.h"
#include "kiln-version.h"
#include "engine/kiln-netspec.h"
