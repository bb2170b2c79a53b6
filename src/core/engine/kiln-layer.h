/* kiln-layer.h: one layer of a KilnNet (engine-internal).
 *
 * A layer is its type's small class (how its parameters start) plus its own
 * state: the backend op compiled for its shapes, its parameters, their
 * gradients and optimizer slots, and its output and output gradient. It has
 * the Darknet shape: forward, backward (weights, then data), update.
 * Inputs and input gradients are borrowed from the layers that produce them.
 *
 * Threads: driven by the net's thread. */
#pragma once

#include "kiln-backend.h"
#include "kiln-optimizer.h"

G_BEGIN_DECLS

typedef struct _KilnLayer KilnLayer;

typedef struct {
  /* Fills @host[i] (one array per parameter, see kiln-op.h for the order)
   * from @rand; NULL for layers without parameters. */
  void (*init_params) (KilnLayer *self, GRand *rand, float *const *host);
} KilnLayerClass;

struct _KilnLayer {
  const KilnLayerClass *klass;
  const KilnLayerSpec *spec;      /* owned by the net's spec */
  KilnOpDesc desc;
  KilnOp *op;

  KilnTensor *src[KILN_OP_MAX_INPUTS];       /* borrowed */
  KilnTensor *dst;
  KilnTensor *diff_dst;                      /* NULL when no backward runs here */
  KilnTensor *diff_src[KILN_OP_MAX_INPUTS];  /* borrowed; NULL = not propagated */

  guint n_params, n_learnable;
  KilnShape param_shapes[KILN_OP_MAX_PARAMS];
  KilnTensor *params[KILN_OP_MAX_PARAMS];
  KilnTensor *diff_params[KILN_OP_MAX_PARAMS];  /* only when trainable */
  KilnTensor *slots[KILN_OP_MAX_PARAMS][2];     /* optimizer state, made on first update */

  gboolean trainable;        /* has learnable parameters and is not frozen */
  guint n_backward;          /* how many backward passes ran (for tests and logs) */
};

/* Compiles the op and allocates output and parameters (not initialised). */
KilnLayer *kiln_layer_new          (KilnBackend         *backend,
                                    const KilnLayerSpec *spec,
                                    const KilnShape     *inputs,
                                    guint                n_inputs,
                                    gboolean             fuse_relu,
                                    GError             **error);
void       kiln_layer_free         (KilnLayer *self);
void       kiln_layer_init_params  (KilnLayer *self,
                                    guint64    seed);
/* Allocates diff_dst and, when trainable, the parameter gradients. */
gboolean   kiln_layer_enable_backward (KilnLayer *self,
                                       GError   **error);
gboolean   kiln_layer_forward      (KilnLayer *self,
                                    gboolean   train,
                                    guint64    seed,
                                    GError   **error);
gboolean   kiln_layer_backward     (KilnLayer *self,
                                    GError   **error);
/* Makes the optimizer's state tensors (zeros) this layer lacks. */
gboolean   kiln_layer_ensure_slots (KilnLayer     *self,
                                    KilnOptimizer *optimizer,
                                    GError       **error);
gboolean   kiln_layer_update       (KilnLayer     *self,
                                    KilnOptimizer *optimizer,
                                    GError       **error);

/* Normal(0, std²) from @rand (Box–Muller). */
double     kiln_layer_gaussian     (GRand *rand,
                                    double std);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnLayer, kiln_layer_free)

/* The classes, one per file. */
extern const KilnLayerClass kiln_layer_conv_class;        /* Convolution, InnerProduct */
extern const KilnLayerClass kiln_layer_batch_norm_class;
extern const KilnLayerClass kiln_layer_plain_class;       /* no parameters */

G_END_DECLS
