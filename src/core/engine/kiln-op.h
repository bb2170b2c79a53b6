/* kiln-op.h: what a backend is asked to compute.
 *
 * A KilnOpDesc is one layer's attributes (its KilnLayerSpec) plus the shapes
 * of its inputs; kiln_op_desc_init() checks the attributes and computes the
 * output shape once, for every backend, so that backends only map a valid
 * description onto their library. KilnOpArgs carries the tensors of one call.
 *
 * Parameter order, per layer type:
 *   Convolution, InnerProduct: weight (O × I/group × kH × kW; for
 *     InnerProduct O × C × H × W of the input), bias (1 × O × 1 × 1) if any.
 *   BatchNorm: scale, shift, running mean, running variance (1 × C × 1 × 1);
 *     only scale and shift have gradients.
 *
 * Threads: plain data. */
#pragma once

#include "kiln-netspec.h"
#include "kiln-tensor.h"

G_BEGIN_DECLS

#define KILN_OP_MAX_INPUTS 16
#define KILN_OP_MAX_PARAMS 4

typedef struct {
  const KilnLayerSpec *layer;   /* borrowed; outlives the op */
  guint n_inputs;
  KilnShape inputs[KILN_OP_MAX_INPUTS];
  KilnShape output;
  /* Convolution and InnerProduct: apply ReLU to the output in the same
   * pass; backward then needs the op's own output (dst). */
  gboolean fuse_relu;
  /* Caffe ceil pooling: extra bottom/right padding that makes the window
   * grid cover the last partial window. */
  int extra_pad_bottom, extra_pad_right;
} KilnOpDesc;

typedef struct {
  KilnTensor *const *src;       /* n_inputs tensors */
  KilnTensor *dst;
  KilnTensor *const *params;    /* see the order above */
  guint n_params;
  /* Backward: gradients of the inputs (an entry may be NULL: not wanted),
   * of the output, and of the learnable parameters. */
  KilnTensor *const *diff_src;
  KilnTensor *diff_dst;
  KilnTensor *const *diff_params;
  gboolean train;               /* dropout and BatchNorm behave differently */
  guint64 seed;                 /* dropout mask for this step */
} KilnOpArgs;

/* Validates @layer against the input shapes and fills @desc (output shape,
 * pooling padding). Errors name the layer and the values. */
gboolean   kiln_op_desc_init        (KilnOpDesc          *desc,
                                     const KilnLayerSpec *layer,
                                     const KilnShape     *inputs,
                                     guint                n_inputs,
                                     GError             **error);

/* Number of parameter tensors and their shapes (@shapes: KILN_OP_MAX_PARAMS);
 * @n_learnable of them come first and have gradients. */
guint      kiln_op_desc_param_shapes (const KilnOpDesc *desc,
                                      KilnShape        *shapes,
                                      guint            *n_learnable);

/* Dropout's mask, the same on every backend: element @index of a step
 * seeded with @seed is kept when this returns TRUE (probability 1 − ratio).
 * A counter-based hash, so any element can be computed on its own. */
gboolean   kiln_dropout_keep         (guint64 seed,
                                      gint64  index,
                                      float   ratio);

G_END_DECLS
