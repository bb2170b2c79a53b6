/* Ops that are loops, not primitives: dropout (mask from kiln_dropout_keep,
 * inverted scaling so inference is the identity), concat along channels,
 * element-wise add, flatten. */
#include "config.h"

#include <string.h>

#include "kiln-backend-cpu-private.h"

typedef struct {
  KilnCpuOp parent;
  float *mask;     /* dropout: 0 or 1/(1 − ratio) per element of the last training forward */
  gboolean mask_valid;
} CpuPlain;

/* Inputs are read plain; outputs are written plain. */
#define IN(t) kiln_cpu_read (op->cpu, (t))
#define OUT(t) kiln_cpu_write (op->cpu, (t))

static gboolean
plain_forward (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuPlain *self = (CpuPlain *) op;
  const KilnOpDesc *desc = op->parent.desc;
  float *dst = OUT (args->dst);
  gint64 n = kiln_shape_n_elements (&desc->output);
  int threads = op->cpu->n_threads;

  switch (op->layer->type)
    {
    case KILN_LAYER_DROPOUT:
      {
        const float *src = IN (args->src[0]);
        float ratio = op->layer->ratio;
        if (!args->train)
          {
            memcpy (dst, src, n * sizeof (float));
            self->mask_valid = FALSE;
            break;
          }
        float scale = 1.f / (1.f - ratio);
        guint64 seed = args->seed;
        float *mask = self->mask;
#pragma omp parallel for num_threads(threads) schedule(static) if(n > 65536)
        for (gint64 i = 0; i < n; i++)
          {
            mask[i] = kiln_dropout_keep (seed, i, ratio) ? scale : 0.f;
            dst[i] = src[i] * mask[i];
          }
        self->mask_valid = TRUE;
        break;
      }

    case KILN_LAYER_FLATTEN:
      memcpy (dst, IN (args->src[0]), n * sizeof (float));
      break;

    case KILN_LAYER_ADD:
      memcpy (dst, IN (args->src[0]), n * sizeof (float));
      for (guint k = 1; k < desc->n_inputs; k++)
        {
          const float *src = IN (args->src[k]);
#pragma omp parallel for num_threads(threads) schedule(static) if(n > 65536)
          for (gint64 i = 0; i < n; i++)
            dst[i] += src[i];
        }
      break;

    case KILN_LAYER_CONCAT:
      {
        gint64 plane = (gint64) desc->output.h * desc->output.w;
        gint64 offset = 0;
        for (guint k = 0; k < desc->n_inputs; k++)
          {
            gint64 block = desc->inputs[k].c * plane;
            const float *src = IN (args->src[k]);
            for (int b = 0; b < desc->output.n; b++)
              memcpy (dst + b * desc->output.c * plane + offset, src + b * block,
                      block * sizeof (float));
            offset += block;
          }
        break;
      }

    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static gboolean
plain_backward_data (KilnCpuOp *op, const KilnOpArgs *args, GError **error)
{
  CpuPlain *self = (CpuPlain *) op;
  const KilnOpDesc *desc = op->parent.desc;
  const float *dd = IN (args->diff_dst);
  gint64 n = kiln_shape_n_elements (&desc->output);

  switch (op->layer->type)
    {
    case KILN_LAYER_DROPOUT:
      {
        if (args->diff_src[0] == NULL)
          break;
        float *ds = OUT (args->diff_src[0]);
        if (!self->mask_valid)
          {
            memcpy (ds, dd, n * sizeof (float));
            break;
          }
        const float *mask = self->mask;
#pragma omp parallel for num_threads(op->cpu->n_threads) schedule(static) if(n > 65536)
        for (gint64 i = 0; i < n; i++)
          ds[i] = dd[i] * mask[i];
        break;
      }

    case KILN_LAYER_FLATTEN:
      if (args->diff_src[0] != NULL)
        memcpy (OUT (args->diff_src[0]), dd, n * sizeof (float));
      break;

    case KILN_LAYER_ADD:
      for (guint k = 0; k < desc->n_inputs; k++)
        if (args->diff_src[k] != NULL)
          memcpy (OUT (args->diff_src[k]), dd, n * sizeof (float));
      break;

    case KILN_LAYER_CONCAT:
      {
        gint64 plane = (gint64) desc->output.h * desc->output.w;
        gint64 offset = 0;
        for (guint k = 0; k < desc->n_inputs; k++)
          {
            gint64 block = desc->inputs[k].c * plane;
            if (args->diff_src[k] != NULL)
              {
                float *ds = OUT (args->diff_src[k]);
                for (int b = 0; b < desc->output.n; b++)
                  memcpy (ds + b * block, dd + b * desc->output.c * plane + offset,
                          block * sizeof (float));
              }
            offset += block;
          }
        break;
      }

    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static void
plain_finalize (KilnCpuOp *op)
{
  g_clear_pointer (&((CpuPlain *) op)->mask, kiln_cpu_buffer_free);
}

static const KilnCpuOpClass plain_class = {
  .forward = plain_forward,
  .backward_data = plain_backward_data,
  .backward_weights = NULL,
  .finalize = plain_finalize,
};

KilnCpuOp *
kiln_cpu_plain_new (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error)
{
  CpuPlain *self = kiln_cpu_op_alloc (cpu, desc, &plain_class, sizeof (CpuPlain));

  if (desc->layer->type == KILN_LAYER_DROPOUT)
    {
      self->mask = kiln_cpu_buffer_alloc (kiln_shape_n_elements (&desc->output) * sizeof (float),
                                          error);
      if (self->mask == NULL)
        {
          g_free (self);
          return NULL;
        }
    }
  return &self->parent;
}
