/* kiln-cuda-workspace.h: the one scratch buffer every cuDNN call of a
 * backend shares (the ops run one after another on one stream), grown to
 * the largest need and never beyond a cap; algorithms needing more are
 * not chosen.
 *
 * Threads: as the backend (one thread). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KILN_CUDA_WORKSPACE_DEFAULT_MB 1024
/* Growth in steps, so a run of slightly larger needs does not reallocate
 * each time. */
#define KILN_CUDA_WORKSPACE_STEP ((gsize) 16 << 20)

typedef enum {
  KILN_CUDA_WORKSPACE_FITS,     /* the buffer is large enough */
  KILN_CUDA_WORKSPACE_GROW,     /* reallocate to *grow_to */
  KILN_CUDA_WORKSPACE_TOO_BIG,  /* over the cap */
} KilnCudaWorkspacePlan;

typedef struct {
  void *data;                   /* device memory */
  gsize size;
  gsize cap;
} KilnCudaWorkspace;

/* The cap from KILN_CUDA_WORKSPACE_MB's value (NULL: the default);
 * @warning gets a message when the value is not a size and is ignored. */
gsize     kiln_cuda_workspace_cap_from_env (const char  *value,
                                            char       **warning);
/* What to do for a need of @want bytes with @have allocated. */
KilnCudaWorkspacePlan kiln_cuda_workspace_plan (gsize  have,
                                                gsize  want,
                                                gsize  cap,
                                                gsize *grow_to);
/* Makes self->data at least @want bytes, growing it if needed; FALSE with
 * @error naming @layer when over the cap or out of device memory. */
gboolean  kiln_cuda_workspace_reserve (KilnCudaWorkspace  *self,
                                       gsize               want,
                                       const char         *layer,
                                       GError            **error);
void      kiln_cuda_workspace_clear   (KilnCudaWorkspace  *self);

G_END_DECLS
