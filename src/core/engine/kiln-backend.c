#include "config.h"

#include <string.h>

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

gboolean
kiln_device_parse (const char *name, KilnDeviceKind *kind, int *index, GError **error)
{
  *index = -1;
  if (g_strcmp0 (name, "auto") == 0)
    *kind = KILN_DEVICE_AUTO;
  else if (g_strcmp0 (name, "cpu") == 0)
    *kind = KILN_DEVICE_CPU;
  else if (g_strcmp0 (name, "cuda") == 0)
    *kind = KILN_DEVICE_CUDA;
  else if (name != NULL && g_str_has_prefix (name, "cuda:"))
    {
      guint64 n = 0;
      if (!g_ascii_string_to_unsigned (name + 5, 10, 0, 1023, &n, NULL))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                       "Unknown device “%s”: cuda:N wants a device number, e.g. cuda:0", name);
          return FALSE;
        }
      *kind = KILN_DEVICE_CUDA;
      *index = (int) n;
    }
  else
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "Unknown device “%s”; use cpu, cuda, cuda:N or auto", name ? name : "");
      return FALSE;
    }
  return TRUE;
}

/* The probe's line for device @index ("0: NVIDIA H100, …"), without the
 * number; NULL if it has none. */
static char *
device_line (const char *devices, int index)
{
  g_auto(GStrv) lines = g_strsplit (devices ? devices : "", "\n", -1);
  g_autofree char *prefix = g_strdup_printf ("%d: ", index);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i] + strlen (prefix));
  return NULL;
}

/* A CUDA backend on device @index (-1: the first that answers); the module
 * is asked first, so that "none answers" is the driver's own reason. */
static KilnBackend *
cuda_backend_new (int index, char **line, GError **error)
{
  g_autofree char *devices = NULL;
  const KilnBackendModuleInfo *info = kiln_backend_module_load ("cuda", error);
  if (info == NULL)
    return NULL;
  int count = info->probe (&devices, error);
  if (count <= 0)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND, "no CUDA device answers");
      return NULL;
    }
  int device = MAX (index, 0);
  if (device >= count)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
                   "cuda:%d does not exist: the devices that answer are cuda:0 to cuda:%d",
                   device, count - 1);
      return NULL;
    }
  KilnBackend *backend = NULL;
  if (info->backend_new_on_device != NULL && index < 0)
    {
      /* The first that answers: a device that fails (its memory taken,
       * a broken context) lets the next one try; the first error stays. */
      g_autoptr(GError) first = NULL;
      for (int i = 0; i < count && backend == NULL; i++)
        {
          g_autoptr(GError) local = NULL;
          backend = info->backend_new_on_device (i, &local);
          device = i;
          if (first == NULL)
            first = g_steal_pointer (&local);
        }
      if (backend == NULL)
        g_propagate_error (error, g_steal_pointer (&first));
    }
  else if (info->backend_new_on_device != NULL)
    backend = info->backend_new_on_device (device, error);
  else if (device == 0)
    backend = info->backend_new (error);
  else
    g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                 "this CUDA backend module runs on cuda:0 only; use cuda:0");
  if (backend == NULL)
    return NULL;
  g_free (backend->name);
  backend->name = g_strdup_printf ("cuda:%d", device);
  *line = device_line (devices, device);
  return backend;
}

static void
set_reason (KilnBackend *backend, char *reason)
{
  g_free (backend->reason);
  backend->reason = reason;
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
  KilnDeviceKind kind;
  int index;
  const char *from_env = NULL;
  g_autofree char *preferred = NULL;

  /* Unnamed: $KILN_DEVICE, else what the front end set from its
   * preferences, else auto. */
  if (name == NULL)
    {
      from_env = g_getenv ("KILN_DEVICE");
      if (from_env != NULL && from_env[0] != '\0')
        name = from_env;
      else
        name = preferred = kiln_backend_dup_default_device ();
    }
  if (!kiln_device_parse (name, &kind, &index, error))
    {
      if (from_env != NULL)
        g_prefix_error (error, "KILN_DEVICE: ");
      return NULL;
    }

  KilnBackend *backend = NULL;
  g_autofree char *line = NULL;
  switch (kind)
    {
    case KILN_DEVICE_CPU:
      backend = kiln_backend_cpu_new (error);
      if (backend != NULL)
        set_reason (backend, g_strdup ("cpu, as asked"));
      return backend;

    case KILN_DEVICE_CUDA:
      {
        g_autoptr(GError) local = NULL;
        backend = cuda_backend_new (index, &line, &local);
        if (backend == NULL)
          {
            /* Asked for by name: an error, never a silent fallback. */
            g_set_error (error, KILN_ENGINE_ERROR, local->code == KILN_ENGINE_ERROR_OUT_OF_MEMORY
                         ? KILN_ENGINE_ERROR_OUT_OF_MEMORY : KILN_ENGINE_ERROR_BACKEND,
                         "%s was asked for but cannot be used: %s; use the cpu or auto device",
                         name, local->message);
            return NULL;
          }
        set_reason (backend, g_strdup_printf ("%s%s%s%s, as asked", backend->name,
                                              line ? " (" : "", line ? line : "", line ? ")" : ""));
        return backend;
      }

    case KILN_DEVICE_AUTO:
    default:
      {
        g_autoptr(GError) local = NULL;
        backend = cuda_backend_new (-1, &line, &local);
        if (backend != NULL)
          {
            set_reason (backend, g_strdup_printf ("auto chose %s%s%s%s: the first CUDA device that answers",
                                                  backend->name, line ? " (" : "", line ? line : "",
                                                  line ? ")" : ""));
            return backend;
          }
        backend = kiln_backend_cpu_new (error);
        if (backend != NULL)
          set_reason (backend, g_strdup_printf ("auto chose the CPU: %s", local->message));
        return backend;
      }
    }
}

void
kiln_backend_free (KilnBackend *self)
{
  if (self == NULL)
    return;
  char *name = self->name;
  char *description = self->description;
  char *reason = self->reason;
  self->vtable->destroy (self);
  g_free (name);
  g_free (description);
  g_free (reason);
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

const char *
kiln_backend_get_choice_reason (KilnBackend *self)
{
  return self->reason ? self->reason : self->name;
}

gboolean
kiln_backend_get_memory (KilnBackend *self, guint64 *total, guint64 *free_bytes)
{
  guint64 t = 0, f = 0;

  if (self->vtable->memory == NULL || !self->vtable->memory (self, &t, &f))
    return FALSE;
  if (total)
    *total = t;
  if (free_bytes)
    *free_bytes = f;
  return TRUE;
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
