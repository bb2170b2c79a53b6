/* kiln-tensor.h: an NCHW float32 tensor whose memory belongs to a backend.
 *
 * The shape is plain data; the memory is an opaque backend buffer (host
 * memory for the CPU backend, device memory for CUDA) reached only through
 * the backend (upload/download) or by the backend's own ops. Parameters use
 * the same type: a convolution weight is O × I/group × kH × kW, a bias or a
 * BatchNorm vector is 1 × C × 1 × 1.
 *
 * Threads: a tensor is used by one thread at a time, the one that drives its
 * backend. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KilnBackend KilnBackend;

typedef struct {
  int n, c, h, w;
} KilnShape;

typedef struct _KilnTensor KilnTensor;

/* "2×3×4×5" into @buf (at least 64 bytes). */
const char  *kiln_shape_to_string      (const KilnShape *shape,
                                        char            *buf,
                                        gsize            len);
gint64       kiln_shape_n_elements     (const KilnShape *shape);
gboolean     kiln_shape_equal          (const KilnShape *a,
                                        const KilnShape *b);

/* Allocates uninitialised backend memory. Fails on a zero or negative
 * dimension or when the backend is out of memory. */
KilnTensor  *kiln_tensor_new           (KilnBackend     *backend,
                                        const KilnShape *shape,
                                        GError         **error);
void         kiln_tensor_free          (KilnTensor *self);

const KilnShape *kiln_tensor_get_shape (const KilnTensor *self);
gint64       kiln_tensor_n_elements    (const KilnTensor *self);
KilnBackend *kiln_tensor_get_backend   (const KilnTensor *self);
/* The backend buffer; only backends look inside. */
gpointer     kiln_tensor_get_data      (const KilnTensor *self);

/* Copies @n_elements floats from/to the host. */
void         kiln_tensor_upload        (KilnTensor  *self,
                                        const float *host,
                                        gint64       n_elements);
void         kiln_tensor_download      (const KilnTensor *self,
                                        float            *host,
                                        gint64            n_elements);
void         kiln_tensor_fill          (KilnTensor *self,
                                        float       value);
/* A newly allocated host copy (g_free it). */
float       *kiln_tensor_dup_host      (const KilnTensor *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnTensor, kiln_tensor_free)

G_END_DECLS
