#include "config.h"

#include "kiln-backend-cpu.h"
#include "kiln-backend-module.h"
#include "kiln-backend-private.h"
#include "kiln-engine-error.h"


void
kiln_backend_init_base (KilnBackend             *self,
                        const KilnBackendVTable *vtable,
                        const char              *name,
                        const char              *description)
{
  self->vtable = vtable;
  self->name = g_strdup (name);
  self->description = g_strdup (description);
}

static KilnBackend *
cuda_backend_new (GError **error)
{
  const KilnBackendModuleInfo *info = kiln_backend_module_load ("cuda", error);

  return info ? info->backend_new (error) : NULL;
}

/* What "auto" means in this process (the app's Default Device). */
static GMutex default_lock;
static char *default_device;

void
kiln_backend_set_default_device (const char *name)
{
  g_mutex_lock (&default_lock);
  g_free (default_device);
  default_device = name && *name && !g_str_equal (name, "auto") ? g_strdup (name) : NULL;
  g_mutex_unlock (&default_lock);
}

char *
kiln_backend_dup_default_device (void)
{
  g_mutex_lock (&default_lock);
  char *name = g_strdup (default_device ? default_device : "auto");
  g_mutex_unlock (&default_lock);
  return name;
}

KilnBackend *
kiln_backend_new (const char *name, GError **error)
{
  g_autofree char *preferred = NULL;

  if (name == NULL || g_str_equal (name, "auto"))
    {
      preferred = kiln_backend_dup_default_device ();
      /* This branch knows one CUDA device: "cuda:N" is asked of it as "cuda". */
      if (g_str_has_prefix (preferred, "cuda:"))
        preferred[4] = '\0';
      if (!g_str_equal (preferred, "auto"))
        name = preferred;
    }
  if (name == NULL || g_str_equal (name, "auto"))
    {
      g_autoptr(GError) local = NULL;
      g_autofree char *devices = NULL;
      KilnBackend *cuda = NULL;

      if (kiln_backend_module_probe_cuda (&devices, &local) > 0)
        cuda = cuda_backend_new (&local);
      if (cuda != NULL)
        return cuda;
      g_debug ("auto backend: using the CPU (%s)", local ? local->message : "no CUDA device");
      return kiln_backend_cpu_new (error);
    }
  if (g_str_equal (name, "cpu"))
    return kiln_backend_cpu_new (error);
  if (g_str_equal (name, "cuda"))
    return cuda_backend_new (error);

  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
               "Unknown backend “%s”; use cpu, cuda or auto", name);
  return NULL;
}

void
kiln_backend_free (KilnBackend *self)
{
  if (self == NULL)
    return;
  char *name = self->name;
  char *description = self->description;
  self->vtable->destroy (self);
  g_free (name);
  g_free (description);
}

const char *
kiln_backend_get_name (KilnBackend *self)
{
  return self->name;
}

const char *
kiln_backend_get_description (KilnBackend *self)
{
  return self->description;
}

gboolean
kiln_backend_supports_op (KilnBackend *self, const KilnOpDesc *desc, GError **error)
{
  return self->vtable->supports_op (self, desc, error);
}

KilnOp *
kiln_backend_op_new (KilnBackend *self, const KilnOpDesc *desc, GError **error)
{
  if (!self->vtable->supports_op (self, desc, error))
    return NULL;
  KilnOp *op = self->vtable->op_new (self, desc, error);
  if (op != NULL)
    {
      op->backend = self;
      op->desc = desc;
    }
  return op;
}

void
kiln_op_free (KilnOp *op)
{
  if (op != NULL)
    op->backend->vtable->op_free (op);
}

gboolean
kiln_op_forward (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  return op->backend->vtable->op_forward (op, args, error);
}

gboolean
kiln_op_backward_data (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  return op->backend->vtable->op_backward_data (op, args, error);
}

gboolean
kiln_op_backward_weights (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  return op->backend->vtable->op_backward_weights (op, args, error);
}

void
kiln_backend_axpy (KilnBackend *self, float alpha, const KilnTensor *x, KilnTensor *y)
{
  g_return_if_fail (kiln_tensor_n_elements (x) == kiln_tensor_n_elements (y));
  self->vtable->axpy (self, alpha, x, y);
}

void
kiln_backend_sgd_update (KilnBackend *self, KilnTensor *weight, const KilnTensor *grad,
                         KilnTensor *velocity, float lr, float momentum, float decay)
{
  self->vtable->sgd_update (self, weight, grad, velocity, lr, momentum, decay);
}

void
kiln_backend_adam_update (KilnBackend *self, KilnTensor *weight, const KilnTensor *grad,
                          KilnTensor *m, KilnTensor *v, float lr, float beta1, float beta2,
                          float eps, float decay, gint64 step)
{
  self->vtable->adam_update (self, weight, grad, m, v, lr, beta1, beta2, eps, decay, step);
}

gboolean
kiln_backend_softmax_cross_entropy (KilnBackend *self, const KilnTensor *logits,
                                    const int *labels, KilnTensor *diff, double *loss,
                                    int *n_correct, GError **error)
{
  return self->vtable->softmax_cross_entropy (self, logits, labels, diff, loss, n_correct, error);
}
