/* kiln-caffe.h: importing Caffe models (.caffemodel, deploy.prototxt) as a
 * KilnNetSpec plus weights, and reading mean images (.binaryproto).
 *
 * A .caffemodel is a binary NetParameter, in the V1 `layers` dialect
 * (BVLC's CaffeNet and AlexNet) or the newer `layer` one; a deploy.prototxt
 * is the same message in protobuf text format and, when given, supplies the
 * layers and the input size while the weights come from the .caffemodel by
 * layer name. Both go through Kiln's own minimal caffe.proto (src/core/proto)
 * and the checked protobuf decoding of kiln-protobuf.h, so a hostile file
 * fails with a GError.
 *
 * Threads: no shared state; call from any one thread. */
#pragma once

#include <glib.h>

#include "kiln-netspec.h"

G_BEGIN_DECLS

/* Text files (prototxt) larger than this are refused. */
#define KILN_CAFFE_MAX_TEXT_SIZE ((gsize) 16 << 20)

/* The spec has one layer per Caffe layer that computes (Convolution, ReLU,
 * LRN, Pooling with Caffe's ceil rounding, InnerProduct, Dropout,
 * BatchNorm with an in-place Scale folded in, Concat, Eltwise SUM, Flatten,
 * Softmax), named as in Caffe; data, loss and accuracy layers are left out,
 * so the net ends at the class scores (or a Softmax in a deploy net).
 * `weights` maps "<layer>.weight" / "<layer>.bias" (BatchNorm "<layer>.scale",
 * ".bias", ".mean", ".var") to KilnOnnxTensor, as kiln_onnx_import_spec()
 * does: load them with kiln_onnx_load_weights(). The input size comes from
 * the prototxt (input + input_dim/input_shape, or an Input layer), else from
 * the model; without either the error asks for the deploy.prototxt.
 * A layer Kiln cannot run is a KILN_ERROR_UNSUPPORTED error naming it. */
gboolean kiln_caffe_import           (const char   *caffemodel,
                                      const char   *prototxt,
                                      KilnNetSpec **spec,
                                      GHashTable  **weights,
                                      GError      **error);
/* The same from memory; `prototxt` may be NULL. The names are for messages. */
gboolean kiln_caffe_import_from_data (const guint8 *model,
                                      gsize         model_length,
                                      const char   *model_name,
                                      const char   *prototxt,
                                      gsize         prototxt_length,
                                      const char   *prototxt_name,
                                      KilnNetSpec **spec,
                                      GHashTable  **weights,
                                      GError      **error);

/* A mean image: a BlobProto of 1 × C × H × W (or C × H × W) floats. Returns
 * C·H·W floats in CHW order (free with g_free). */
float   *kiln_caffe_load_mean        (const char *path,
                                      int        *channels,
                                      int        *height,
                                      int        *width,
                                      GError    **error);
float   *kiln_caffe_load_mean_from_data (const guint8 *data,
                                         gsize         length,
                                         const char   *display_name,
                                         int          *channels,
                                         int          *height,
                                         int          *width,
                                         GError      **error);

G_END_DECLS
