/* Ops that are loops, not primitives: dropout (mask from kiln_dropout_keep,
 * inverted scaling so inference is the identity), concat along channels,
 * element-wise add, flatten, and padding of H and W (constant, edge,
 * reflect) through a per-axis map from output to input index. */
#include "config.h"

#include <string.h>

#include "kiln-backend-cpu-private.h"

typedef struct {
  KilnCpuOp parent;
  float *mask;     /* dropout: 0 or 1/(1 − ratio) per element of the last training forward */
  gboolean mask_valid;
  /* Pad: the input row/column each output row/column reads, −1 for the
   * constant. Backward adds each output gradient to the one it read. */
  int *src_y, *src_x;
} CpuPlain;

/* Where output index @o along an axis of @n inputs with @before padding
 * reads from, or −1 for the constant. */
static int
pad_source (KilnPadMode mode, int o, int before, int n)
{
  int i = o - before;

  if (i >= 0 && i < n)
    return i;
  switch (mode)
    {
    case KILN_PAD_EDGE:
      return i < 0 ? 0 : n - 1;
    case KILN_PAD_REFLECT:
      /* The op checked pads < n, so one mirror lands inside. */
      return i < 0 ? -i : 2 * (n - 1) - i;
    case KILN_PAD_CONSTANT:
    default:
      return -1;
    }
}

static void
pad_forward (CpuPlain *self, const float *src, float *dst)
{
  const KilnOpDesc *desc = self->parent.parent.desc;
  const KilnShape *is = &desc->inputs[0], *os = &desc->output;
  gint64 planes = (gint64) os->n * os->c;
  float value = self->parent.layer->pad_value;
  const int *sy = self->src_y, *sx = self->src_x;

#pragma omp parallel for num_threads(self->parent.cpu->n_threads) schedule(static) if(planes > 16)
  for (gint64 p = 0; p < planes; p++)
    {
      const float *in = src + p * is->h * is->w;
      float *out = dst + p * os->h * os->w;
      for (int y = 0; y < os->h; y++)
        for (int x = 0; x < os->w; x++)
          out[y * os->w + x] = sy[y] < 0 || sx[x] < 0 ? value : in[sy[y] * is->w + sx[x]];
    }
}

static void
pad_backward (CpuPlain *self, const float *dd, float *ds)
{
  const KilnOpDesc *desc = self->parent.parent.desc;
  const KilnShape *is = &desc->inputs[0], *os = &desc->output;
  gint64 planes = (gint64) os->n * os->c;
  const int *sy = self->src_y, *sx = self->src_x;

  /* Edge and reflect read some inputs more than once: accumulate. */
#pragma omp parallel for num_threads(self->parent.cpu->n_threads) schedule(static) if(planes > 16)
  for (gint64 p = 0; p < planes; p++)
    {
      float *in = ds + p * is->h * is->w;
      const float *out = dd + p * os->h * os->w;
      memset (in, 0, (gsize) is->h * is->w * sizeof (float));
      for (int y = 0; y < os->h; y++)
        if (sy[y] >= 0)
          for (int x = 0; x < os->w; x++)
            if (sx[x] >= 0)
              in[sy[y] * is->w + sx[x]] += out[y * os->w + x];
    }
}

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

    case KILN_LAYER_PAD:
      pad_forward (self, IN (args->src[0]), dst);
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

    case KILN_LAYER_PAD:
      if (args->diff_src[0] != NULL)
        pad_backward (self, dd, OUT (args->diff_src[0]));
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
  CpuPlain *self = (CpuPlain *) op;

  g_clear_pointer (&self->mask, kiln_cpu_buffer_free);
  g_clear_pointer (&self->src_y, g_free);
  g_clear_pointer (&self->src_x, g_free);
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
  if (desc->layer->type == KILN_LAYER_PAD)
    {
      const KilnLayerSpec *l = desc->layer;
      self->src_y = g_new (int, desc->output.h);
      self->src_x = g_new (int, desc->output.w);
      for (int y = 0; y < desc->output.h; y++)
        self->src_y[y] = pad_source (l->pad_mode, y, l->pad_top, desc->inputs[0].h);
      for (int x = 0; x < desc->output.w; x++)
        self->src_x[x] = pad_source (l->pad_mode, x, l->pad_left, desc->inputs[0].w);
    }
  return &self->parent;
}
