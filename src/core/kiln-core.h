/* kiln-core.h: the public face of libkiln-core (no GTK).
 *
 * Threads: unless a header says otherwise, an object is used from the
 * thread that created it; workers report back through idle sources on the
 * GMainContext an object was created in. */
#pragma once

#include "kiln-batch-loader.h"
#include "kiln-dataset.h"
#include "kiln-error.h"
#include "kiln-image.h"
#include "kiln-inspector.h"
#include "kiln-labels.h"
#include "kiln-project.h"
#include "kiln-tensor-cache.h"
#include "kiln-version.h"
#include "engine/kiln-netspec.h"
