/* kiln-onnx-import-private.h: what the ONNX importer's files share: the
 * import context (ONNX values → spec layers, constants, weights), the
 * helpers that converters use to read a node and add layers
 * (kiln-onnx-import-context.c), and the two converter tables
 * (kiln-onnx-import-layers.c, kiln-onnx-import-fold.c) that the graph walk
 * (kiln-onnx-import.c) looks ops up in. The kiln_import_ names are private
 * to these files.
 *
 * Threads: an import runs on one thread. */
#pragma once

#include "kiln-error.h"
#include "kiln-onnx.h"

G_BEGIN_DECLS

/* The batch size inside folded shape arithmetic (Shape of an activation):
 * unknown until the net runs. */
#define BATCH_DIM G_MININT64

typedef struct {
  char *layer;        /* producing layer, or KILN_NET_SPEC_INPUT_NAME */
  int rank;
  int matmul_layer;   /* index of a MatMul inner product still without bias, else -1 */
  /* A 2-D batch-first value transposed (features × batch): only a Gemm with
   * transA = 1, which transposes it back, may read it. */
  gboolean transposed;
  /* A Pad still to apply (pad_node set): `layer` computes the unpadded
   * value; a Conv or pooling may fold the padding into its own pads, any
   * other reader makes it a Pad layer first (kiln-onnx-import-pad.c). */
  const KilnOnnxNode *pad_node;
  int pad[4];             /* top, left, bottom, right; a 1-D value pads top and bottom */
  KilnPadMode pad_mode;
  float pad_value;        /* constant mode */
} Value;

typedef struct {
  KilnOnnxModel *model;
  const char *where;
  gint64 opset;
  KilnNetSpec *spec;
  GHashTable *weights;     /* key → KilnOnnxTensor* */
  GHashTable *values;      /* ONNX name → Value* */
  GHashTable *constants;   /* ONNX name → KilnOnnxTensor* */
  GHashTable *uses;        /* ONNX name → number of readers (nodes and graph outputs) */
  const char *graph_input, *graph_output;   /* their names, in the model */
} Import;

typedef gboolean (*ImportFunc) (Import *ctx, const KilnOnnxNode *node, GError **error);

/* Errors name the model, the op and the node: "model.onnx: Conv node “conv1”: …". */
G_GNUC_PRINTF (5, 6)
gboolean        kiln_import_node_error          (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 GError            **error,
                                                 int                 code,
                                                 const char         *format,
                                                 ...);

/* Values: the activations the graph has computed so far. */
void            kiln_import_set_value           (Import     *ctx,
                                                 const char *name,
                                                 const char *layer,
                                                 int         rank,
                                                 int         matmul_layer);
void            kiln_import_alias_value         (Import      *ctx,
                                                 const char  *name,
                                                 const Value *from,
                                                 gboolean     transpose);
const Value    *kiln_import_get_value           (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 guint               index,
                                                 GError            **error);
const Value    *kiln_import_get_value_maybe_transposed      (Import             *ctx,
                                                             const KilnOnnxNode *node,
                                                             guint               index,
                                                             GError            **error);
/* The value with a Pad still to fold, if any: for Conv and pooling, which
 * pass it to kiln_import_fold_pad(). */
const Value    *kiln_import_get_value_maybe_padded          (Import             *ctx,
                                                             const KilnOnnxNode *node,
                                                             guint               index,
                                                             GError            **error);
gboolean        kiln_import_value_shape         (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 const Value        *value,
                                                 int                *c,
                                                 int                *h,
                                                 int                *w,
                                                 GError            **error);

/* Constants: initializers and values folded at import. */
gboolean        kiln_import_is_constant         (Import     *ctx,
                                                 const char *name);
void            kiln_import_set_constant        (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 KilnOnnxTensor     *tensor);
KilnOnnxTensor *kiln_import_get_constant        (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 guint               index,
                                                 const char         *what,
                                                 GError            **error);
/* A 1-D INT64 constant input (a shape, axes, indices or pads). */
KilnOnnxTensor *kiln_import_get_int64_vector    (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 guint               index,
                                                 const char         *what,
                                                 GError            **error);
KilnOnnxTensor *kiln_import_int64_tensor        (int           n_dims,
                                                 const gint64 *dims,
                                                 GError      **error);
void            kiln_import_set_int64           (KilnOnnxTensor *tensor,
                                                 gsize           index,
                                                 gint64          value);

/* Reading a node. */
gboolean        kiln_import_has_input           (const KilnOnnxNode *node,
                                                 guint               index);
gboolean        kiln_import_check_extra_outputs_unused      (Import             *ctx,
                                                             const KilnOnnxNode *node,
                                                             GError            **error);
gboolean        kiln_import_check_attributes      (Import             *ctx,
                                                   const KilnOnnxNode *node,
                                                   const char * const *known,
                                                   GError            **error);
gboolean        kiln_import_to_int              (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 const char         *what,
                                                 gint64              v,
                                                 int                 lo,
                                                 int                *out,
                                                 GError            **error);

/* Adding layers and weights to the spec. */
char           *kiln_import_layer_name          (Import             *ctx,
                                                 const KilnOnnxNode *node);
int             kiln_import_add_layer           (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 KilnLayerSpec      *layer,
                                                 const Value *const *inputs,
                                                 guint               n_inputs,
                                                 int                 rank,
                                                 GError            **error);
void            kiln_import_add_weight          (Import         *ctx,
                                                 const char     *layer,
                                                 const char     *suffix,
                                                 KilnOnnxTensor *tensor);
gboolean        kiln_import_add_weighted_layer      (Import             *ctx,
                                                     const KilnOnnxNode *node,
                                                     KilnLayerSpec      *layer,
                                                     const Value        *input,
                                                     int                 rank,
                                                     KilnOnnxTensor    **weight,
                                                     KilnOnnxTensor    **bias,
                                                     GError            **error);

/* Converters by ONNX op type, each table ending in { NULL, NULL }. */
typedef struct {
  const char *op_type;
  ImportFunc func;
} ImportOp;

extern const ImportOp kiln_import_layer_ops[];   /* kiln-onnx-import-layers.c */
extern const ImportOp kiln_import_fold_ops[];    /* kiln-onnx-import-fold.c */

/* Concat of constant shape pieces; Concat of activations is a layer. */
gboolean        kiln_import_fold_concat         (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 gint64              axis,
                                                 GError            **error);
/* Reshape of a constant (PyTorch computes a Pad's pads that way). */
gboolean        kiln_import_fold_reshape        (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 GError            **error);

/* Pads (kiln-onnx-import-pad.c). A Pad that adds nothing passes its input
 * through; padding of H and W waits on its value for the next node. */
gboolean        kiln_import_pad                 (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 GError            **error);
/* Adds the Pad waiting on *@input (if any) to the pads of @layer, a
 * Convolution or pooling whose own window, rounding and count_include_pad
 * are set, where that computes the same; otherwise makes it a Pad layer
 * and points *@input at that layer's output. */
gboolean        kiln_import_fold_pad            (Import             *ctx,
                                                 const KilnOnnxNode *node,
                                                 const Value       **input,
                                                 KilnLayerSpec      *layer,
                                                 GError            **error);
/* Makes the Pad waiting on the value named @name a Pad layer and returns
 * the value, now that layer's output. */
const Value    *kiln_import_add_pad_layer       (Import             *ctx,
                                                 const char         *name,
                                                 GError            **error);

G_END_DECLS
