/* kiln-onnx.h: reading ONNX models and tensors, and importing a model as a
 * KilnNetSpec plus its weights.
 *
 * A KilnOnnxModel is a ModelProto parsed with protobuf-c (C generated at build
 * time from Debian's onnx.proto). Files are read under a size cap and parsed
 * under a memory budget, so a hostile file fails with a KILN_ERROR_CORRUPT
 * GError instead of allocating gigabytes. A KilnOnnxTensor is host float32
 * data with its dims (INT64 tensors also keep their exact values).
 *
 * Threads: a loaded model and its tensors are not changed by any function
 * here; they may be read from several threads and freed from one. */
#pragma once

#include <glib-object.h>

#include "kiln-net.h"
#include "kiln-netspec.h"

G_BEGIN_DECLS

#define KILN_ONNX_MAX_DIMS 8
/* protobuf messages cannot exceed 2 GiB; nothing larger is read. */
#define KILN_ONNX_MAX_FILE_SIZE (G_GINT64_CONSTANT (2) << 30)

/* TensorProto.DataType values that Kiln reads. */
typedef enum {
  KILN_ONNX_TYPE_UNDEFINED = 0,
  KILN_ONNX_TYPE_FLOAT = 1,
  KILN_ONNX_TYPE_UINT8 = 2,
  KILN_ONNX_TYPE_INT8 = 3,
  KILN_ONNX_TYPE_INT32 = 6,
  KILN_ONNX_TYPE_INT64 = 7,
  KILN_ONNX_TYPE_BOOL = 9,
  KILN_ONNX_TYPE_DOUBLE = 11,
} KilnOnnxDataType;

const char *kiln_onnx_data_type_to_string (int data_type);

/* A tensor on the host. `data` always holds n_elements floats (integer and
 * boolean types convert exactly up to 2^24); `int64_data` is set for INT64
 * tensors only, with the exact values (shapes, indices). */
typedef struct {
  char *name;
  int data_type;
  int n_dims;
  gint64 dims[KILN_ONNX_MAX_DIMS];
  gsize n_elements;
  float *data;
  gint64 *int64_data;
} KilnOnnxTensor;

#define KILN_TYPE_ONNX_TENSOR (kiln_onnx_tensor_get_type ())
GType           kiln_onnx_tensor_get_type  (void) G_GNUC_CONST;
/* A zero-filled FLOAT tensor; NULL with an error when the dims are negative,
 * too many, or their product overflows. */
KilnOnnxTensor *kiln_onnx_tensor_new       (const char   *name,
                                            int           n_dims,
                                            const gint64 *dims,
                                            GError      **error);
KilnOnnxTensor *kiln_onnx_tensor_copy      (const KilnOnnxTensor *tensor);
void            kiln_onnx_tensor_free      (KilnOnnxTensor *tensor);
/* "1×3×224×224" (a scalar prints as "scalar"). */
char           *kiln_onnx_tensor_dims_to_string (const KilnOnnxTensor *tensor);
/* A serialized TensorProto, as in the node tests' input_N.pb/output_N.pb. */
KilnOnnxTensor *kiln_onnx_tensor_load      (const char *path,
                                            GError    **error);
KilnOnnxTensor *kiln_onnx_tensor_load_from_data (const guint8 *data,
                                                 gsize         length,
                                                 const char   *display_name,
                                                 GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnOnnxTensor, kiln_onnx_tensor_free)

/* A node of a loaded model; it lives as long as the model. */
typedef struct Onnx__NodeProto KilnOnnxNode;

/* A graph input or output as the model declares it. n_dims is -1 when no
 * shape is given; a symbolic or missing dim is -1. */
typedef struct {
  const char *name;
  int elem_type;
  int n_dims;
  gint64 dims[KILN_ONNX_MAX_DIMS];
} KilnOnnxValueInfo;

/* "?×3×224×224" ("?" for unknown dims, "(no shape)" without one). */
char           *kiln_onnx_value_info_dims_to_string (const KilnOnnxValueInfo *info);

typedef struct _KilnOnnxModel KilnOnnxModel;

KilnOnnxModel  *kiln_onnx_model_load       (const char *path,
                                            GError    **error);
/* display_name is used in error messages in place of a path. */
KilnOnnxModel  *kiln_onnx_model_load_from_data (const guint8 *data,
                                                gsize         length,
                                                const char   *display_name,
                                                GError      **error);
void            kiln_onnx_model_free       (KilnOnnxModel *self);
const char     *kiln_onnx_model_get_display_name (KilnOnnxModel *self);
/* The opset of the default ("" / "ai.onnx") domain; 1 when none is imported
 * (what the ONNX spec assumes). */
gint64          kiln_onnx_model_get_opset  (KilnOnnxModel *self);
const char     *kiln_onnx_model_get_producer (KilnOnnxModel *self);
guint           kiln_onnx_model_get_n_nodes (KilnOnnxModel *self);
const KilnOnnxNode *kiln_onnx_model_get_node (KilnOnnxModel *self,
                                              guint          index);
/* Graph inputs include initializers in older models; these accessors list
 * every declared input. */
guint           kiln_onnx_model_get_n_inputs  (KilnOnnxModel *self);
guint           kiln_onnx_model_get_n_outputs (KilnOnnxModel *self);
void            kiln_onnx_model_get_input  (KilnOnnxModel     *self,
                                            guint              index,
                                            KilnOnnxValueInfo *info);
void            kiln_onnx_model_get_output (KilnOnnxModel     *self,
                                            guint              index,
                                            KilnOnnxValueInfo *info);
/* The initializer called `name` converted to a host tensor; NULL without an
 * error when there is none, NULL with an error when it cannot be read. */
gboolean        kiln_onnx_model_has_initializer (KilnOnnxModel *self,
                                                 const char    *name);
KilnOnnxTensor *kiln_onnx_model_get_initializer (KilnOnnxModel *self,
                                                 const char    *name,
                                                 GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnOnnxModel, kiln_onnx_model_free)

const char     *kiln_onnx_node_get_op_type (const KilnOnnxNode *node);
/* The node's name, or "" when it has none. */
const char     *kiln_onnx_node_get_name    (const KilnOnnxNode *node);
/* What error messages call the node: its name, else its first output. */
const char     *kiln_onnx_node_get_label   (const KilnOnnxNode *node);
const char     *kiln_onnx_node_get_domain  (const KilnOnnxNode *node);
guint           kiln_onnx_node_get_n_inputs  (const KilnOnnxNode *node);
/* "" marks an omitted optional input. */
const char     *kiln_onnx_node_get_input   (const KilnOnnxNode *node,
                                            guint               index);
guint           kiln_onnx_node_get_n_outputs (const KilnOnnxNode *node);
const char     *kiln_onnx_node_get_output  (const KilnOnnxNode *node,
                                            guint               index);
guint           kiln_onnx_node_get_n_attributes (const KilnOnnxNode *node);
const char     *kiln_onnx_node_get_attribute_name (const KilnOnnxNode *node,
                                                   guint               index);
gboolean        kiln_onnx_node_has_attribute (const KilnOnnxNode *node,
                                              const char         *name);
/* Attribute getters: an absent attribute leaves *value as it is (set the
 * default first) and returns TRUE; one of another type is an error that
 * names the node and the attribute. */
gboolean        kiln_onnx_node_get_int     (const KilnOnnxNode *node,
                                            const char         *name,
                                            gint64             *value,
                                            GError            **error);
gboolean        kiln_onnx_node_get_float   (const KilnOnnxNode *node,
                                            const char         *name,
                                            float              *value,
                                            GError            **error);
/* *values points into the model. */
gboolean        kiln_onnx_node_get_ints    (const KilnOnnxNode *node,
                                            const char         *name,
                                            const gint64      **values,
                                            gsize              *n_values,
                                            GError            **error);
gboolean        kiln_onnx_node_get_floats  (const KilnOnnxNode *node,
                                            const char         *name,
                                            const float       **values,
                                            gsize              *n_values,
                                            GError            **error);
/* Sets *value (NULL before the call) to a new string when present. */
gboolean        kiln_onnx_node_get_string  (const KilnOnnxNode *node,
                                            const char         *name,
                                            char              **value,
                                            GError            **error);
/* A TENSOR attribute (Constant's "value"); NULL without an error when absent. */
KilnOnnxTensor *kiln_onnx_node_get_tensor  (const KilnOnnxNode *node,
                                            const char         *name,
                                            GError            **error);

/* Import: a single-input CNN graph (opsets 7–17) becomes a spec whose input
 * is the model's C × H × W (an N × C or N × C × L input runs as C × 1 × 1 or
 * C × L × 1, 1-D convolution and pooling with L × 1 windows), with one layer
 * per ONNX node (Gemm, MatMul + Add become one inner product; Constant nodes
 * and arithmetic on constants are folded; a constant Pad of H and W folds
 * into the pads of the Conv or pooling that reads it, where that computes
 * the same; a 2-D Transpose is accepted only where a Gemm with transA = 1
 * transposes it back), named after the node.
 * Weights are keyed "<layer>.weight" and "<layer>.bias" (Convolution:
 * M × C/group × kH × kW; InnerProduct: out × in, Gemm's alpha/beta folded in)
 * and, for BatchNorm, "<layer>.scale", "<layer>.bias", "<layer>.mean",
 * "<layer>.var". `weights` maps names to KilnOnnxTensor. An op or attribute
 * Kiln cannot run is a KILN_ERROR_UNSUPPORTED error naming it and its node. */
gboolean        kiln_onnx_import_spec      (const char   *path,
                                            KilnNetSpec **spec,
                                            GHashTable  **weights,
                                            GError      **error);
gboolean        kiln_onnx_import_spec_from_model (KilnOnnxModel *model,
                                                  KilnNetSpec  **spec,
                                                  GHashTable   **weights,
                                                  GError       **error);
/* The same, also giving the names of the graph's image input and its
 * output (NULL-able; free with g_free), which an export may keep. */
gboolean        kiln_onnx_import_spec_with_names (const char   *path,
                                                  KilnNetSpec **spec,
                                                  GHashTable  **weights,
                                                  char        **input_name,
                                                  char        **output_name,
                                                  GError      **error);
/* Adds `tensor` (taken) to an import's weights as "<layer>.<suffix>",
 * renaming it to its key. */
void            kiln_onnx_weights_insert   (GHashTable     *weights,
                                            const char     *layer,
                                            const char     *suffix,
                                            KilnOnnxTensor *tensor);
/* Uploads imported weights into a net built from the imported spec (any
 * batch size, any backend): every parameter of every layer must be in the
 * table with the element count the net expects. */
gboolean        kiln_onnx_load_weights     (KilnNet      *net,
                                            GHashTable   *weights,
                                            GError      **error);
/* The same, leaving the layers named in `skip` (NULL-terminated) as the net
 * initialised them: a top layer replaced for another class count. */
gboolean        kiln_onnx_load_weights_except (KilnNet            *net,
                                               GHashTable         *weights,
                                               const char * const *skip,
                                               GError            **error);

G_END_DECLS
