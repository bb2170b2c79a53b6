/* kiln-caffe-private.h: what the Caffe importer's two files share: one view
 * of a layer in either dialect, the import context, errors that name the
 * layer, and the converters of the layers that compute
 * (kiln-caffe-layers.c) that the net walk (kiln-caffe.c) calls.
 *
 * Threads: an import runs on one thread. */
#pragma once

#include "caffe.pb-c.h"
#include "kiln-caffe.h"
#include "kiln-error.h"
#include "kiln-onnx.h"

G_BEGIN_DECLS

typedef struct {
  const char *name;
  const char *type;
  size_t n_bottom;
  char **bottom;
  size_t n_top;
  char **top;
  size_t n_blobs;
  Caffe__BlobProto **blobs;
  Caffe__ConvolutionParameter *conv;
  Caffe__PoolingParameter *pool;
  Caffe__LRNParameter *lrn;
  Caffe__InnerProductParameter *ip;
  Caffe__DropoutParameter *dropout;
  Caffe__ConcatParameter *concat;
  Caffe__EltwiseParameter *eltwise;
  Caffe__FlattenParameter *flatten;
  Caffe__ReLUParameter *relu;
  Caffe__SoftmaxParameter *softmax;
  Caffe__BatchNormParameter *bn;
  Caffe__ScaleParameter *scale;
  Caffe__InputParameter *input;
  Caffe__TransformationParameter *transform;
} Layer;

typedef struct {
  const char *where;
  KilnNetSpec *spec;
  GHashTable *weights;   /* key → KilnOnnxTensor* */
  GHashTable *blobs;     /* Caffe blob name → Kiln layer name (or "data"); owned strings */
  GHashTable *params;    /* Caffe layer name → Layer* in the model (its blobs) */
  gboolean have_input;
} Import;

/* Errors name the file, the type and the layer: "x.caffemodel: Pooling layer “pool1”: …". */
G_GNUC_PRINTF (5, 6)
gboolean   kiln_caffe_layer_error          (Import      *ctx,
                                            const Layer *l,
                                            GError     **error,
                                            int          code,
                                            const char  *format,
                                            ...);

/* One converter per Caffe type that computes; each adds its layer (and
 * weights) to the spec and maps the layer's top blobs to it. */
gboolean   kiln_caffe_import_convolution   (Import *ctx, const Layer *l, GError **error);
gboolean   kiln_caffe_import_inner_product (Import *ctx, const Layer *l, GError **error);
gboolean   kiln_caffe_import_pooling       (Import *ctx, const Layer *l, GError **error);
gboolean   kiln_caffe_import_lrn           (Import *ctx, const Layer *l, GError **error);
/* BatchNorm, and a Scale that follows it in place (folded into it). */
gboolean   kiln_caffe_import_batch_norm    (Import *ctx, const Layer *l, GError **error);
gboolean   kiln_caffe_import_scale         (Import *ctx, const Layer *l, GError **error);
/* ReLU, Dropout, Softmax, Flatten, Concat, Eltwise SUM. */
gboolean   kiln_caffe_import_simple        (Import *ctx, const Layer *l, GError **error);

G_END_DECLS
