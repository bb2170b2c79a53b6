/* kiln-core.h: the public face of libkiln-core (no GTK).
 *
 * Threads: unless a header says otherwise, an object is used from the
 * thread that created it; workers report back through idle sources on the
 * GMainContext an object was created in. */
#pragma once

#include "kiln-caffe.h"
#include "kiln-dataset.h"
#include "kiln-error.h"
#include "kiln-gatherer.h"
#include "kiln-image.h"
#include "kiln-inspector.h"
#include "kiln-labels.h"
#include "kiln-onnx-export.h"
#include "kiln-onnx-node-test.h"
#include "kiln-onnx.h"
#include "kiln-progress.h"
#include "kiln-project.h"
#include "kiln-safetensors.h"
#include "kiln-synsets.h"
#include "kiln-url-list.h"
#include "kiln-version.h"
#include "kiln-engine-error.h"
#include "kiln-netspec.h"
