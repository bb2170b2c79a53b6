/* kiln-backend-private.h: what a backend implements.
 *
 * A backend embeds KilnBackend as its first member and points it at a
 * static const vtable; its ops embed KilnOp the same way. The CUDA module
 * fills the same table.
 *
 * Threads: as kiln-backend.h. */
#pragma once

#include "kiln-backend.h"

G_BEGIN_DECLS

typedef struct _KilnBackendVTable KilnBackendVTable;

struct _KilnBackend {
  const KilnBackendVTable *vtable;
  char *name;
  char *description;
  char *reason;        /* set by kiln_backend_new(): why this device */
};

struct _KilnOp {
  KilnBackend *backend;
  const KilnOpDesc *desc;
};

struct _KilnBackendVTable {
  void      (*destroy)          (KilnBackend *self);

  gpointer  (*alloc)            (KilnBackend *self, gsize bytes, GError **error);
  void      (*free)             (KilnBackend *self, gpointer data);
  void      (*upload)           (KilnBackend *self, gpointer dst, const void *host, gsize bytes);
  void      (*download)         (KilnBackend *self, gconstpointer src, void *host, gsize bytes);
  void      (*fill)             (KilnBackend *self, KilnTensor *t, float value);

  gboolean  (*supports_op)      (KilnBackend *self, const KilnOpDesc *desc, GError **error);
  KilnOp   *(*op_new)           (KilnBackend *self, const KilnOpDesc *desc, GError **error);
  void      (*op_free)          (KilnOp *op);
  gboolean  (*op_forward)       (KilnOp *op, const KilnOpArgs *args, GError **error);
  gboolean  (*op_backward_data) (KilnOp *op, const KilnOpArgs *args, GError **error);
  gboolean  (*op_backward_weights) (KilnOp *op, const KilnOpArgs *args, GError **error);

  void      (*axpy)             (KilnBackend *self, float alpha, const KilnTensor *x, KilnTensor *y);
  void      (*sgd_update)       (KilnBackend *self, KilnTensor *w, const KilnTensor *g,
                                 KilnTensor *v, float lr, float momentum, float decay);
  void      (*adam_update)      (KilnBackend *self, KilnTensor *w, const KilnTensor *g,
                                 KilnTensor *m, KilnTensor *v, float lr, float beta1,
                                 float beta2, float eps, float decay, gint64 step);
  gboolean  (*softmax_cross_entropy) (KilnBackend *self, const KilnTensor *logits,
                                      const int *labels, KilnTensor *diff, double *loss,
                                      int *n_correct, GError **error);
  /* Optional (NULL: the caller converts on the host with
   * kiln_batch_loader_convert_sample). A cached uint8 batch (host, @n ×
   * @channels × @height × @width) to float in @dst: per sample the crop of
   * @dst's size at (@crops[3i], @crops[3i+1]), mirrored when @crops[3i+2],
   * minus @mean (1 × C × H × W on this backend, or NULL), times @scale. */
  gboolean  (*convert_batch)    (KilnBackend *self, const guint8 *pixels, int n, int channels,
                                 int height, int width, const int *crops,
                                 const KilnTensor *mean, float scale, KilnTensor *dst,
                                 GError **error);

  /* Device memory in bytes, total and free now; NULL or FALSE: unknown
   * (the memory check before a run is then skipped, and says so). */
  gboolean  (*memory)           (KilnBackend *self, guint64 *total, guint64 *free);
};

/* Sets the common fields; @name and @description are copied. */
void kiln_backend_init_base (KilnBackend             *self,
                             const KilnBackendVTable *vtable,
                             const char              *name,
                             const char              *description);

G_END_DECLS
