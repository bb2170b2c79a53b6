/* kiln-training-part.h: the public headers of src/core/training/.
 *
 * Run folders, training setup, the trainer thread, evaluation and the
 * classifier. Depends on images and models.
 */
#pragma once

#include "kiln-classifier.h"
#include "kiln-evaluation.h"
#include "kiln-run.h"
#include "kiln-run-device.h"
#include "kiln-metric-list.h"
#include "kiln-metric-point.h"
#include "kiln-run-item.h"
#include "kiln-run-list.h"
#include "kiln-run-recipe.h"
#include "kiln-runs-model.h"
#include "kiln-suspects.h"
#include "kiln-trainer.h"
#include "kiln-trainer-options.h"
#include "kiln-training-setup.h"
#include "kiln-training-weights.h"
