/* kiln-training-weights.h: what "start from these weights" may name.
 *
 * A user reuses a model by naming a run folder, a run id of the project, or
 * a safetensors checkpoint; each resolves to one checkpoint file, checked
 * to be readable before any run folder is made, and the answer says which
 * was used. An ONNX model brings its own network: kiln_training_import_model()
 * imports it; a Caffe model is converted once with kiln-cli import-model.
 *
 * Threads: plain functions; they read files. */
#pragma once

#include "kiln-netspec.h"

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
/* An ONNX model to fine-tune from, imported once into
 * @project_dir/cache/imported/ with its top layer made for @classes: sets
 * @spec to its network and returns the checkpoint of its weights.
 * @description (optional) says what was done. */
char *kiln_training_import_model    (const char   *project_dir,
                                     const char   *model,
                                     int           classes,
                                     KilnNetSpec **spec,
                                     char        **description,
                                     GError      **error);

G_END_DECLS
