/* kiln-base-part.h: the public headers of src/core/base/.
 *
 * The core's floor: its error domain, progress reporting, a parallel map
 * and the version. Depends on GLib only.
 */
#pragma once

#include "kiln-error.h"
#include "kiln-i18n.h"
#include "kiln-parallel.h"
#include "kiln-progress.h"
#include "kiln-version.h"
