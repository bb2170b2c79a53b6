/* kiln-onnx-node-test.h: one ONNX backend node test (a folder of Debian's
 * libonnx-testdata `data/node/`): model.onnx with a single operator, and
 * test_data_set_N/ folders of input_K.pb and output_K.pb tensors.
 *
 * Loading checks that every data set has one tensor per graph input and
 * output, with the declared element type and shape, so a conformance test
 * can feed the inputs to an op and compare with the expected outputs.
 *
 * Threads: immutable once loaded; read it from any thread. */
#pragma once

#include "kiln-onnx.h"

G_BEGIN_DECLS

typedef struct _KilnOnnxNodeTest KilnOnnxNodeTest;

/* $KILN_ONNX_NODE_TEST_DIR, else where libonnx-testdata installs them. */
char               *kiln_onnx_node_test_get_default_dir (void);
/* Sorted names of the test folders in `dir` that match any of the glob
 * `patterns` (NULL-terminated; NULL matches all). */
GPtrArray          *kiln_onnx_node_test_list      (const char         *dir,
                                                   const char * const *patterns,
                                                   GError            **error);
KilnOnnxNodeTest   *kiln_onnx_node_test_load      (const char *test_dir,
                                                   GError    **error);
void                kiln_onnx_node_test_free      (KilnOnnxNodeTest *self);

/* The folder name, e.g. "test_conv_with_strides_padding". */
const char         *kiln_onnx_node_test_get_name  (KilnOnnxNodeTest *self);
KilnOnnxModel      *kiln_onnx_node_test_get_model (KilnOnnxNodeTest *self);
/* The operator under test, or NULL when the graph has several nodes (the
 * *_expanded tests spell an op out as a function body). */
const KilnOnnxNode *kiln_onnx_node_test_get_node  (KilnOnnxNodeTest *self);
const char         *kiln_onnx_node_test_get_op_type (KilnOnnxNodeTest *self);
guint               kiln_onnx_node_test_get_n_data_sets (KilnOnnxNodeTest *self);
/* KilnOnnxTensor*, in the order of the graph's inputs / outputs. */
GPtrArray          *kiln_onnx_node_test_get_inputs (KilnOnnxNodeTest *self,
                                                    guint             data_set);
GPtrArray          *kiln_onnx_node_test_get_expected_outputs (KilnOnnxNodeTest *self,
                                                              guint             data_set);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnOnnxNodeTest, kiln_onnx_node_test_free)

G_END_DECLS
