/* kiln-models-part.h: the public headers of src/core/models/.
 *
 * Model I/O: ONNX and Caffe import, ONNX export, safetensors,
 * checkpoints. Depends on base and the engine.
 */
#pragma once

#include "kiln-caffe.h"
#include "kiln-checkpoint.h"
#include "kiln-model-import.h"
#include "kiln-onnx-export.h"
#include "kiln-onnx-node-test.h"
#include "kiln-onnx.h"
#include "kiln-safetensors.h"
