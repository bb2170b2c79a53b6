/* kiln-training-weights.h: what "start from these weights" may name.
 *
 * A user reuses a model by naming a run folder, a run id of the project, or
 * a safetensors checkpoint; each resolves to one checkpoint file, checked
 * to be readable before any run folder is made, and the answer says which
 * was used. An ONNX or Caffe model must be converted once first
 * (kiln-cli import-model): the error says how.
 *
 * Threads: plain functions; they read files. */
#pragma once

#include "kiln-netspec.h"

G_BEGIN_DECLS

/* The checkpoint @weights names: a run folder (its best checkpoint, else
 * its newest), the id of a run under @project_dir/runs (@project_dir may be
 * NULL), or a safetensors file. @description (optional) says in words which
 * one was used. */
char *kiln_training_resolve_weights (const char  *project_dir,
                                     const char  *weights,
                                     char       **description,
                                     GError     **error);

/* The network a checkpoint carries (Kiln checkpoints and the weights
 * kiln-cli import-model writes record it); fails when it carries none. */
KilnNetSpec *kiln_training_weights_get_spec (const char  *checkpoint,
                                             GError     **error);

G_END_DECLS
