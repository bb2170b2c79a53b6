/* kiln-netspec.h: a network as data.
 *
 * A KilnNetSpec is an ordered list of layer descriptions plus an input shape
 * (C × H × W; the batch size is chosen when a net is built). It carries no
 * weights and no backend: model importers build specs, the engine builds a
 * KilnNet from one, and the layer-size calculator reads the inferred shapes.
 * The engine depends on nothing else in the core.
 *
 * Layers are connected by name: `inputs` lists the layers whose outputs feed
 * this one; an empty list means "the previous layer" (or the net input for
 * the first layer). The net input is called "data".
 *
 * Threads: a spec is plain data; use it from one thread at a time. */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define KILN_NET_SPEC_INPUT_NAME "data"

typedef enum {
  KILN_LAYER_CONVOLUTION,
  KILN_LAYER_RELU,
  KILN_LAYER_LRN,
  KILN_LAYER_MAX_POOL,
  KILN_LAYER_AVG_POOL,
  KILN_LAYER_GLOBAL_AVG_POOL,
  KILN_LAYER_INNER_PRODUCT,
  KILN_LAYER_DROPOUT,
  KILN_LAYER_BATCH_NORM,
  KILN_LAYER_CONCAT,
  KILN_LAYER_ADD,
  KILN_LAYER_FLATTEN,
  KILN_LAYER_SOFTMAX,
  KILN_LAYER_PAD,
  KILN_LAYER_N_TYPES
} KilnLayerType;

/* Which way a pooling output size is rounded: floor (ONNX default, PyTorch)
 * or ceil (Caffe, ONNX ceil_mode=1). */
typedef enum {
  KILN_ROUND_FLOOR,
  KILN_ROUND_CEIL,
} KilnRounding;

/* What a Pad layer puts around H and W (ONNX Pad's modes): a constant,
 * copies of the edge value, or a mirror that does not repeat the edge
 * (reflect needs each pad smaller than its side). */
typedef enum {
  KILN_PAD_CONSTANT,
  KILN_PAD_EDGE,
  KILN_PAD_REFLECT,
} KilnPadMode;

/* One layer's hyper-parameters. Fields that do not apply to a type are 0.
 * Strings and the inputs array are owned by the spec once added. */
typedef struct {
  KilnLayerType type;
  char *name;
  char **inputs;           /* NULL-terminated, or NULL for "previous layer" */

  /* Convolution, InnerProduct: output channels / features. */
  int num_output;
  gboolean bias;

  /* Convolution and pooling windows; the pads are also the Pad layer's. */
  int kernel_h, kernel_w;
  int stride_h, stride_w;
  int pad_top, pad_left, pad_bottom, pad_right;
  int dilation_h, dilation_w;
  int group;
  KilnRounding rounding;      /* pooling only; convolution always floors */
  gboolean count_include_pad; /* average pooling */

  /* LRN across channels: y = x / (k + alpha/n · Σ x²)^beta over n =
   * local_size channels, alpha divided by n as in Caffe, ONNX and oneDNN.
   * (Chainer does not divide: its alpha 1e-4 with n 5 is alpha 5e-4 here.) */
  int local_size;
  float alpha, beta, k;

  /* Dropout. */
  float ratio;

  /* BatchNorm. */
  float epsilon, momentum;

  /* Pad: the mode and, for KILN_PAD_CONSTANT, the value. */
  KilnPadMode pad_mode;
  float pad_value;

  /* Concat channel axis (1 = C), Flatten axis (1 keeps N). */
  int axis;

  /* Fine-tuning: a frozen layer computes no weight gradients. */
  gboolean frozen;
} KilnLayerSpec;

/* The shape a layer produces for one sample, and what it costs. */
typedef struct {
  int c, h, w;
  gint64 params;            /* learnable parameters */
  gint64 macs;              /* multiply-adds per sample, forward */
  gint64 activation_bytes;  /* float32 output per sample */
} KilnLayerShape;

#define KILN_TYPE_NET_SPEC (kiln_net_spec_get_type ())
G_DECLARE_FINAL_TYPE (KilnNetSpec, kiln_net_spec, KILN, NET_SPEC, GObject)

const char    *kiln_layer_type_to_string   (KilnLayerType type);
/* "constant", "edge", "reflect" (the ONNX names); NULL for no mode. */
const char    *kiln_pad_mode_to_string     (KilnPadMode    mode);
gboolean       kiln_pad_mode_from_string   (const char    *name,
                                            KilnPadMode   *out_mode);
gboolean       kiln_layer_type_from_string (const char    *name,
                                            KilnLayerType *out_type);
/* Defaults for a type: stride 1, dilation 1, group 1, bias TRUE, LRN
 * n=5 k=1 alpha=1e-4 beta=0.75, dropout 0.5, BN eps 1e-5 momentum 0.9,
 * axis 1. The name is copied. */
void           kiln_layer_spec_init        (KilnLayerSpec *layer,
                                            KilnLayerType  type,
                                            const char    *name);
void           kiln_layer_spec_clear       (KilnLayerSpec *layer);
void           kiln_layer_spec_copy        (const KilnLayerSpec *src,
                                            KilnLayerSpec       *dest);
gboolean       kiln_layer_type_has_weights (KilnLayerType type);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (KilnLayerSpec, kiln_layer_spec_clear)

KilnNetSpec   *kiln_net_spec_new           (const char *name,
                                            int         channels,
                                            int         height,
                                            int         width);
KilnNetSpec   *kiln_net_spec_copy          (KilnNetSpec *self);
const char    *kiln_net_spec_get_name      (KilnNetSpec *self);
void           kiln_net_spec_get_input     (KilnNetSpec *self,
                                            int         *channels,
                                            int         *height,
                                            int         *width);
void           kiln_net_spec_set_input     (KilnNetSpec *self,
                                            int          channels,
                                            int          height,
                                            int          width);

/* Copies the layer in; fails on a duplicate or empty name, an input that is
 * not an earlier layer, or hyper-parameters no net can use (kernel < 1 for a
 * convolution or window pooling, stride/dilation/group < 1, pad < 0, …). */
gboolean       kiln_net_spec_add_layer     (KilnNetSpec         *self,
                                            const KilnLayerSpec *layer,
                                            GError             **error);
guint          kiln_net_spec_get_n_layers  (KilnNetSpec *self);
/* The returned layer stays owned by the spec; it may be edited in place
 * (freezing, changing num_output), after which shapes must be inferred again. */
KilnLayerSpec *kiln_net_spec_get_layer     (KilnNetSpec *self,
                                            guint        index);
int            kiln_net_spec_find_layer    (KilnNetSpec *self,
                                            const char  *name);
/* Index of each input of layer `index` (-1 = the net input), or NULL if an
 * input edited in place names no earlier layer. */
GArray        *kiln_net_spec_get_layer_inputs (KilnNetSpec *self,
                                               guint        index);

/* Shape inference for every layer. On failure (KILN_ENGINE_ERROR_SHAPE, or
 * KILN_ENGINE_ERROR_INVALID_ARGUMENT/UNSUPPORTED for a layer that cannot work at
 * all) the error names the layer and shows the arithmetic, e.g.
 * "conv1: (224 − 11)/4 + 1 = 54.25", and suggests input sizes that work.
 *
 * With exact fit (the default) a convolution whose windows do not tile the
 * padded input exactly is an error, as in the Caffe/Chainer guides; without
 * it the size is floored, as PyTorch and ONNX do (the ResNet and SqueezeNet
 * presets and ONNX imports turn it off). */
gboolean       kiln_net_spec_infer_shapes  (KilnNetSpec *self,
                                            GError     **error);
/* Valid after a successful kiln_net_spec_infer_shapes(). */
const KilnLayerShape *kiln_net_spec_get_shape (KilnNetSpec *self,
                                               guint        index);
gint64         kiln_net_spec_get_total_params (KilnNetSpec *self);
gint64         kiln_net_spec_get_total_macs   (KilnNetSpec *self);
gint64         kiln_net_spec_get_total_activation_bytes (KilnNetSpec *self);

void           kiln_net_spec_set_exact_fit (KilnNetSpec *self,
                                            gboolean     exact_fit);
gboolean       kiln_net_spec_get_exact_fit (KilnNetSpec *self);

/* Presets (see kiln_net_spec_list_presets()); each ends at the class scores
 * (no softmax: the trainer adds the loss). num_classes ≤ 0 picks the
 * preset's own (1000, LeNet 10). */
KilnNetSpec   *kiln_net_spec_new_preset    (const char *name,
                                            int         num_classes,
                                            GError    **error);
/* NULL-terminated, static. */
const char * const *kiln_net_spec_list_presets (void);

/* JSON form: {"format": "kiln-netspec", "version": 1, "name", "input":
 * {"channels", "height", "width"}, "exact_fit", "layers": [{"name", "type",
 * "inputs", …type's fields}]}. Loading is strict: wrong types, unknown or
 * inapplicable fields, bad values and unknown inputs are errors. */
JsonNode      *kiln_net_spec_to_json       (KilnNetSpec *self);
KilnNetSpec   *kiln_net_spec_new_from_json (JsonNode    *node,
                                            GError     **error);
/* Written atomically (temp file, fsync, rename). */
gboolean       kiln_net_spec_save          (KilnNetSpec *self,
                                            const char  *path,
                                            GError     **error);
KilnNetSpec   *kiln_net_spec_new_from_file (const char  *path,
                                            GError     **error);

/* Fine-tuning surgery (kiln-netspec-surgery.c). */

/* Marks every layer up to and including @layer frozen and the rest
 * trainable (@layer NULL: none frozen). */
gboolean       kiln_net_spec_freeze_up_to  (KilnNetSpec *self,
                                            const char  *layer,
                                            GError     **error);
/* How many layers from the bottom are frozen, without a gap. */
int            kiln_net_spec_get_n_frozen  (KilnNetSpec *self);
/* Gives the last weighted layer @num_classes outputs (its weights then
 * start fresh) and makes it trainable. */
gboolean       kiln_net_spec_replace_top   (KilnNetSpec *self,
                                            int          num_classes,
                                            GError     **error);
/* The layers from @first on, as a net whose input is layer @first − 1's
 * output; fails when a later layer reads from below that boundary. */
KilnNetSpec   *kiln_net_spec_split         (KilnNetSpec *self,
                                            guint        first,
                                            GError     **error);

/* What changes when the input becomes C × H × W: one entry per layer, in
 * order. Weights keep their shape unless their fan-in changes (typically the
 * first fully connected layer after a new H × W, the first convolution after
 * a new C). */
typedef struct {
  guint index;
  char *name;
  int old_c, old_h, old_w;
  int new_c, new_h, new_w;
  gint64 old_fan_in, new_fan_in;     /* weight inputs; 0 without weights */
  gint64 old_params, new_params;
  gboolean weights_change;
  char *description;                 /* e.g. "fc6: inputs 9216 → 12544; weights must be re-initialised" */
} KilnLayerChange;

void           kiln_layer_change_free      (KilnLayerChange *change);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnLayerChange, kiln_layer_change_free)

/* A GPtrArray of KilnLayerChange (owning them), or NULL if either size
 * fails to infer. */
GPtrArray     *kiln_net_spec_compare_input (KilnNetSpec *self,
                                            int          channels,
                                            int          height,
                                            int          width,
                                            GError     **error);

G_END_DECLS
