/* kiln-project-part.h: the public headers of src/core/project/.
 *
 * A project folder and its SQLite store, the one truth about images,
 * labels and splits; class names and label files; the demo import.
 * Depends on base and the engine.
 */
#pragma once

#include "kiln-curation-history.h"
#include "kiln-demo.h"
#include "kiln-image-item.h"
#include "kiln-image-list.h"
#include "kiln-labels.h"
#include "kiln-project.h"
#include "kiln-project-dataset.h"
#include "kiln-project-merge.h"
