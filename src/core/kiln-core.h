/* kiln-core.h: the public face of libkiln-core (no GTK).
 *
 * The core is built in parts (see meson.build here), each with one public
 * header; front ends include this one. Parts depend downward only:
 *   training -> images, models; gather -> images; images -> project;
 *   project, models -> base and the engine (src/core/engine).
 *
 * Threads: unless a header says otherwise, an object is used from the
 * thread that created it; workers report back through idle sources on the
 * GMainContext an object was created in. */
#pragma once

#include "kiln-base-part.h"
#include "kiln-project-part.h"
#include "kiln-images-part.h"
#include "kiln-gather-part.h"
#include "kiln-models-part.h"
#include "kiln-training-part.h"

/* The engine's vocabulary front ends use directly. */
#include "kiln-engine-error.h"
#include "kiln-net-calc.h"
#include "kiln-netspec.h"
