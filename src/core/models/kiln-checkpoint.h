/* kiln-checkpoint.h: a net's weights (and optimizer state) as safetensors.
 *
 * Tensors are named "param/LAYER/INDEX" (the order of kiln-op.h: weight,
 * bias; BatchNorm scale, shift, running mean, running variance) and, with
 * the optimizer state, "slot/LAYER/INDEX/SLOT"; shapes are Kiln's N×C×H×W
 * parameter shapes. String metadata (the spec, the position in training)
 * travels in the safetensors header. Files are written atomically.
 *
 * Threads: called on the thread that drives the net. */
#pragma once

#include "kiln-net.h"
#include "kiln-safetensors.h"

G_BEGIN_DECLS

/* Metadata of an imported model's checkpoint: the names of its graph input
 * and output, which an ONNX export keeps. */
#define KILN_CHECKPOINT_INPUT_NAME "kiln.input_name"
#define KILN_CHECKPOINT_OUTPUT_NAME "kiln.output_name"

typedef enum {
  /* Every parameter of the net must be in the file with its shape. */
  KILN_CHECKPOINT_LOAD_STRICT = 0,
  /* Fine-tuning: skip parameters missing from the file or of another shape
   * (a replaced top layer keeps its fresh initialisation). */
  KILN_CHECKPOINT_LOAD_MATCHING = 1 << 0,
  /* Also restore the optimizer slots found in the file. */
  KILN_CHECKPOINT_LOAD_OPTIMIZER = 1 << 1,
} KilnCheckpointLoadFlags;

/* Several nets (a frozen prefix and the trained rest) go into one file;
 * their layer names must not overlap. @n_optimizer_slots: 0 for weights
 * only, else kiln_optimizer_n_slots() of the optimizer in use (SGD 1,
 * Adam 2). */
gboolean kiln_checkpoint_save (KilnNet    *const *nets,
                               guint               n_nets,
                               const char  *path,
                               guint        n_optimizer_slots,
                               GHashTable  *metadata,
                               GError     **error);

/* Returns the number of parameter tensors loaded; -1 on error. @skipped
 * (optional) receives the names that were left as they were. */
int      kiln_checkpoint_load (KilnNet                 *net,
                               KilnSafetensors         *file,
                               KilnCheckpointLoadFlags  flags,
                               GPtrArray              **skipped,
                               GError                 **error);

G_END_DECLS
