#include "config.h"

#include "kiln-backend-private.h"
#include "kiln-engine-error.h"
#include "kiln-tensor.h"

struct _KilnTensor {
  KilnShape shape;
  gint64 n_elements;
  KilnBackend *backend;   /* borrowed: the backend outlives its tensors */
  gpointer data;
};

const char *
kiln_shape_to_string (const KilnShape *shape, char *buf, gsize len)
{
  g_snprintf (buf, len, "%d×%d×%d×%d", shape->n, shape->c, shape->h, shape->w);
  return buf;
}

gint64
kiln_shape_n_elements (const KilnShape *shape)
{
  return (gint64) shape->n * shape->c * shape->h * shape->w;
}

gboolean
kiln_shape_equal (const KilnShape *a, const KilnShape *b)
{
  return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

KilnTensor *
kiln_tensor_new (KilnBackend *backend, const KilnShape *shape, GError **error)
{
  char buf[64];

  if (shape->n <= 0 || shape->c <= 0 || shape->h <= 0 || shape->w <= 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE,
                   "Tensor shape %s has a zero or negative dimension",
                   kiln_shape_to_string (shape, buf, sizeof buf));
      return NULL;
    }

  gint64 n = kiln_shape_n_elements (shape);
  gpointer data = backend->vtable->alloc (backend, (gsize) n * sizeof (float), error);
  if (data == NULL)
    return NULL;

  KilnTensor *self = g_new0 (KilnTensor, 1);
  self->shape = *shape;
  self->n_elements = n;
  self->backend = backend;
  self->data = data;
  return self;
}

void
kiln_tensor_free (KilnTensor *self)
{
  if (self == NULL)
    return;
  self->backend->vtable->free (self->backend, self->data);
  g_free (self);
}

const KilnShape *
kiln_tensor_get_shape (const KilnTensor *self)
{
  return &self->shape;
}

gint64
kiln_tensor_n_elements (const KilnTensor *self)
{
  return self->n_elements;
}

KilnBackend *
kiln_tensor_get_backend (const KilnTensor *self)
{
  return self->backend;
}

gpointer
kiln_tensor_get_data (const KilnTensor *self)
{
  return self->data;
}

void
kiln_tensor_upload (KilnTensor *self, const float *host, gint64 n_elements)
{
  g_return_if_fail (n_elements <= self->n_elements);
  self->backend->vtable->upload (self->backend, self->data, host,
                                 (gsize) n_elements * sizeof (float));
}

void
kiln_tensor_download (const KilnTensor *self, float *host, gint64 n_elements)
{
  g_return_if_fail (n_elements <= self->n_elements);
  self->backend->vtable->download (self->backend, self->data, host,
                                   (gsize) n_elements * sizeof (float));
}

void
kiln_tensor_fill (KilnTensor *self, float value)
{
  self->backend->vtable->fill (self->backend, self, value);
}

float *
kiln_tensor_dup_host (const KilnTensor *self)
{
  float *host = g_new (float, self->n_elements);
  kiln_tensor_download (self, host, self->n_elements);
  return host;
}
