/* kiln-net-memory.h: how much device memory a net needs, before any is
 * allocated.
 *
 * The estimate follows what KilnNet allocates for a spec at a batch size:
 * the parameters, their gradients and the optimizer's state for trainable
 * layers, every layer's output (a ReLU fused into its convolution has
 * none) and, where backward runs, the output gradients; plus what ops keep
 * from forward for backward (dropout masks, max-pooling indices, LRN
 * scales, BatchNorm statistics: counted at the largest any backend keeps)
 * and one convolution workspace, bounded by the backend's workspace limit.
 * The first five categories are exact for the CPU backend's tensors (a
 * test checks); the last two are bounds. Host memory (the data loader's
 * batches) is not counted.
 *
 * Threads: plain functions. */
#pragma once

#include "kiln-netspec.h"
#include "kiln-optimizer.h"

G_BEGIN_DECLS

/* cuDNN may choose algorithms needing up to this much scratch per call;
 * the CUDA backend bounds its workspace the same way. */
#define KILN_NET_WORKSPACE_LIMIT_DEFAULT (G_GUINT64_CONSTANT (512) << 20)

typedef struct {
  guint64 weights;               /* every parameter, BatchNorm running statistics included */
  guint64 gradients;             /* of the trainable parameters */
  guint64 optimizer;             /* SGD velocity, or Adam's m and v */
  guint64 activations;           /* the input and every layer's output */
  guint64 activation_gradients;  /* output gradients where backward runs */
  guint64 backward_state;        /* masks, pooling indices, LRN scales, BN statistics */
  guint64 workspace;             /* the largest convolution scratch, bounded */
  guint64 total;
} KilnNetMemory;

typedef struct {
  gboolean training;             /* FALSE: inference only (no gradients, no optimizer) */
  KilnOptimizerType optimizer;
  guint64 workspace_limit;       /* 0: KILN_NET_WORKSPACE_LIMIT_DEFAULT */
} KilnNetMemoryOptions;

/* Fills @memory for @spec (shapes inferred here) at @batch. Fails as
 * kiln_net_spec_infer_shapes() does. */
gboolean     kiln_net_memory_estimate     (KilnNetSpec                *spec,
                                           int                         batch,
                                           const KilnNetMemoryOptions *options,
                                           KilnNetMemory              *memory,
                                           GError                    **error);
/* The largest batch, at most @max_batch, whose estimate fits @available
 * bytes; 0 when not even one sample fits. */
int          kiln_net_memory_largest_batch (KilnNetSpec                *spec,
                                            int                         max_batch,
                                            const KilnNetMemoryOptions *options,
                                            guint64                     available);
/* "1.2 GiB: weights 238.0 MiB, gradients …" on one line. */
char        *kiln_net_memory_format       (const KilnNetMemory *memory);

G_END_DECLS
