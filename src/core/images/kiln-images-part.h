/* kiln-images-part.h: the public headers of src/core/images/.
 *
 * Decoding, the inspector, dataset split and mean, the tensor cache and
 * the batch loader. Depends on project.
 */
#pragma once

#include "kiln-batch-loader.h"
#include "kiln-cache-policy.h"
#include "kiln-dataset.h"
#include "kiln-image.h"
#include "kiln-inspector.h"
#include "kiln-network-input.h"
#include "kiln-tensor-cache.h"
#include "kiln-thumbnailer.h"
