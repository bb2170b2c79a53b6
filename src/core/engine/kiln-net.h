/* kiln-net.h: a network of layers built from a KilnNetSpec on a backend.
 *
 * The net copies the spec, checks it with kiln_net_spec_infer_shapes()
 * (whose errors show the arithmetic and suggest sizes), compiles one
 * backend op per layer for a fixed
 * batch size, and runs forward, backward and the optimizer update. A ReLU
 * that is the only consumer of a convolution or inner product is fused into
 * it. Backward runs only where it matters: frozen layers compute no weight
 * gradients, and nothing runs below the lowest trainable layer. Parameters
 * are read and written by layer name as host float arrays in Kiln's plain
 * layout (kiln-op.h), which is what model I/O and checkpoints use.
 *
 * BatchNorm layers update their running statistics in every training
 * forward, frozen or not: freezing stops gradients, not statistics.
 *
 * The same seed gives the same initial weights, the same dropout masks and
 * so the same loss curve on the same backend.
 *
 * Threads: a net is driven by one thread at a time (the trainer's). */
#pragma once

#include "kiln-backend.h"
#include "kiln-netspec.h"
#include "kiln-optimizer.h"

G_BEGIN_DECLS

typedef struct _KilnNet KilnNet;

KilnNet     *kiln_net_new              (KilnNetSpec *spec,
                                        KilnBackend *backend,
                                        int          batch_size,
                                        guint64      seed,
                                        GError     **error);
void         kiln_net_free             (KilnNet *self);

KilnNetSpec *kiln_net_get_spec         (KilnNet *self);
KilnBackend *kiln_net_get_backend      (KilnNet *self);
int          kiln_net_get_batch_size   (KilnNet *self);
/* N × C × H × W of the input and of the last layer's output. */
const KilnShape *kiln_net_get_input_shape  (KilnNet *self);
const KilnShape *kiln_net_get_output_shape (KilnNet *self);

/* N·C·H·W floats. */
void         kiln_net_set_input        (KilnNet     *self,
                                        const float *host);
gboolean     kiln_net_forward          (KilnNet  *self,
                                        gboolean  train,
                                        GError  **error);
/* The last layer's output after a forward (N·C·H·W floats). */
void         kiln_net_get_output       (KilnNet *self,
                                        float   *host);

/* Softmax cross-entropy of the class scores against @labels (N indices)
 * after a training forward, and its gradient for backward. A loss that is
 * not finite is a KILN_ENGINE_ERROR_NUMERIC naming the first layer whose output
 * went bad. */
gboolean     kiln_net_loss             (KilnNet   *self,
                                        const int *labels,
                                        double    *loss,
                                        int       *n_correct,
                                        GError   **error);
gboolean     kiln_net_backward         (KilnNet  *self,
                                        GError  **error);
/* All or nothing for memory: the optimizer's state is allocated (on the
 * first update) before any weight changes, so an out-of-memory error
 * leaves the weights and state of the last completed step. */
gboolean     kiln_net_update           (KilnNet       *self,
                                        KilnOptimizer *optimizer,
                                        GError       **error);
/* set_input + forward(train) + loss + backward + update. */
gboolean     kiln_net_train_step       (KilnNet       *self,
                                        KilnOptimizer *optimizer,
                                        const float   *input,
                                        const int     *labels,
                                        double        *loss,
                                        int           *n_correct,
                                        GError       **error);

/* Parameters by layer name; @index follows kiln-op.h (weight, bias; BN:
 * scale, shift, running mean, running variance). */
guint        kiln_net_get_n_params     (KilnNet    *self,
                                        const char *layer);
gboolean     kiln_net_get_param_shape  (KilnNet    *self,
                                        const char *layer,
                                        guint       index,
                                        KilnShape  *shape,
                                        GError    **error);
gboolean     kiln_net_get_param        (KilnNet    *self,
                                        const char *layer,
                                        guint       index,
                                        float      *host,
                                        gint64      n_elements,
                                        GError    **error);
gboolean     kiln_net_set_param        (KilnNet     *self,
                                        const char  *layer,
                                        guint        index,
                                        const float *host,
                                        gint64       n_elements,
                                        GError     **error);
/* The gradient of the last backward; fails for frozen layers (they have none). */
gboolean     kiln_net_get_param_grad   (KilnNet    *self,
                                        const char *layer,
                                        guint       index,
                                        float      *host,
                                        gint64      n_elements,
                                        GError    **error);
/* Optimizer state for checkpoints: slot 0 is SGD's velocity or Adam's
 * first moment, slot 1 Adam's second moment; same shape as the parameter.
 * Reading a slot that no update has made yet gives zeros; writing one
 * makes it. */
gboolean     kiln_net_get_param_slot   (KilnNet    *self,
                                        const char *layer,
                                        guint       index,
                                        guint       slot,
                                        float      *host,
                                        gint64      n_elements,
                                        GError    **error);
gboolean     kiln_net_set_param_slot   (KilnNet     *self,
                                        const char  *layer,
                                        guint        index,
                                        guint        slot,
                                        const float *host,
                                        gint64       n_elements,
                                        GError     **error);
/* Dropout masks come from (seed, step, layer): a resumed run restores
 * both. The seed also drew the initial weights when the net was built;
 * setting it later changes only the masks. */
guint64      kiln_net_get_seed         (KilnNet *self);
void         kiln_net_set_seed         (KilnNet *self,
                                        guint64  seed);
/* Training forwards so far. */
gint64       kiln_net_get_step         (KilnNet *self);
void         kiln_net_set_step         (KilnNet *self,
                                        gint64   step);

/* How many backward passes ran through @layer (0 below the lowest
 * trainable layer); -1 for an unknown name. */
int          kiln_net_get_backward_count (KilnNet    *self,
                                          const char *layer);

/* Where the time went: one line per layer with its total forward and
 * backward seconds since the net was built ("name forward_s backward_s"). */
char        *kiln_net_dup_profile      (KilnNet *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnNet, kiln_net_free)

G_END_DECLS
