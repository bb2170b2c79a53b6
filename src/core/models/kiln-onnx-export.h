/* kiln-onnx-export.h: a KilnNet written as an ONNX model.
 *
 * The net's spec becomes an ONNX graph (opset 13, IR version 7) with one
 * node per layer, named after it (an InnerProduct on an N×C×H×W input gets a
 * Flatten before its Gemm), and the net's current parameters become
 * initializers named like the importer's weights ("<layer>.weight",
 * "<layer>.bias"; BatchNorm "<layer>.scale", ".bias", ".mean", ".var"), so
 * kiln_onnx_import_spec() reads an export back as the same net. The graph's
 * input and output are "input" and "output", or the names given (an
 * imported model's own); the other values are named after their layers. The
 * batch axis is symbolic ("N"). Dropout is written for inference.
 *
 * Threads: call it on the thread that drives the net. */
#pragma once

#include "kiln-net.h"

G_BEGIN_DECLS

#define KILN_ONNX_EXPORT_OPSET 13
#define KILN_ONNX_EXPORT_IR_VERSION 7
#define KILN_ONNX_EXPORT_INPUT_NAME "input"
#define KILN_ONNX_EXPORT_OUTPUT_NAME "output"

/* Written atomically (temp file, fsync, rename). Fails with
 * KILN_ERROR_UNSUPPORTED, naming the layer, for what ONNX cannot express the
 * same way (a ceil-rounded pooling whose last window Kiln drops). */
gboolean kiln_onnx_export       (KilnNet     *net,
                                 const char  *path,
                                 GError     **error);
/* The same with the graph's input and output named @input_name and
 * @output_name (NULL or "": the defaults above); they must differ from each
 * other and from the weights' names (KILN_ERROR_INVALID_ARGUMENT). */
gboolean kiln_onnx_export_named (KilnNet     *net,
                                 const char  *path,
                                 const char  *input_name,
                                 const char  *output_name,
                                 GError     **error);

/* The same, with @metadata (NULL, or NULL-terminated key, value pairs)
 * as the model's metadata_props, e.g. the input normalisation. */
gboolean kiln_onnx_export_full  (KilnNet            *net,
                                 const char         *path,
                                 const char         *input_name,
                                 const char         *output_name,
                                 const char *const  *metadata,
                                 GError            **error);

G_END_DECLS
