/* kiln-model-import.h: a pretrained ONNX or Caffe model made ready to
 * fine-tune: its net spec, a final Softmax dropped (training adds its own
 * loss), the top layer replaced for the project's classes, and its weights
 * written as a Kiln checkpoint. `kiln-cli import-model` and `train
 * --weights MODEL` both come here.
 *
 * Threads: blocking; any thread. */
#pragma once

#include "kiln-netspec.h"

G_BEGIN_DECLS

typedef struct {
  KilnNetSpec *spec;
  gboolean     caffe;
  char        *dropped_softmax;  /* the final Softmax dropped, or NULL */
  char        *replaced_layer;   /* the top layer made anew, or NULL */
  int          old_classes;      /* the model's own outputs */
  int          classes;          /* outputs now */
} KilnModelImport;

void             kiln_model_import_free (KilnModelImport *import);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnModelImport, kiln_model_import_free)

/* Whether @path names a model file this can import (by its name). */
gboolean         kiln_model_import_is_model (const char *path);

/* Reads @model (ONNX; Caffe when @format is "caffe", @prototxt is given or
 * the name ends in .caffemodel), keeps a final Softmax only if
 * @keep_softmax, gives the top layer @classes outputs (0: as it is; new
 * weights from @seed), and writes @weights_out (a Kiln checkpoint carrying
 * the spec and the model's input/output names) and, if not NULL, @spec_out. */
KilnModelImport *kiln_model_import      (const char  *model,
                                         const char  *prototxt,
                                         const char  *format,
                                         int          classes,
                                         gboolean     keep_softmax,
                                         guint64      seed,
                                         const char  *spec_out,
                                         const char  *weights_out,
                                         GError     **error);

G_END_DECLS
