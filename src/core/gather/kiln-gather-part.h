/* kiln-gather-part.h: the public headers of src/core/gather/.
 *
 * Synsets, URL lists and the gatherer. Depends on images.
 */
#pragma once

#include "kiln-gatherer.h"
#include "kiln-synsets.h"
#include "kiln-url-list.h"
