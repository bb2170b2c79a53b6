#include "config.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl_debug.h>

#include "kiln-backend-cpu-private.h"
#include "kiln-engine-error.h"

#define CPU(self) ((KilnCpuBackend *) (self))

static gpointer buffer_alloc (gsize bytes, gboolean counted, GError **error);

gboolean
kiln_cpu_check (dnnl_status_t status, const char *layer, const char *what, GError **error)
{
  if (status == dnnl_success)
    return TRUE;
  g_set_error (error, KILN_ENGINE_ERROR,
               status == dnnl_unimplemented ? KILN_ENGINE_ERROR_UNSUPPORTED : KILN_ENGINE_ERROR_BACKEND,
               "%s: oneDNN could not %s (%s)", layer ? layer : "cpu", what,
               dnnl_status2str (status));
  return FALSE;
}

void
kiln_cpu_md_nchw (dnnl_memory_desc_t *md, const KilnShape *shape)
{
  dnnl_dims_t dims = { shape->n, shape->c, shape->h, shape->w };
  dnnl_memory_desc_init_by_tag (md, 4, dims, dnnl_f32, dnnl_nchw);
}

void
kiln_cpu_md_vector (dnnl_memory_desc_t *md, int n)
{
  dnnl_dims_t dims = { n };
  dnnl_memory_desc_init_by_tag (md, 1, dims, dnnl_f32, dnnl_x);
}

int
kiln_cpu_channel_block (void)
{
  static gsize block = 0;

  /* oneDNN's JIT pooling and LRN take one register of floats per block:
   * 16 with AVX-512, 8 with AVX2, AVX and SSE4.1 (where a 16-block falls
   * back to its reference code). ONEDNN_MAX_CPU_ISA lowers the answer. */
  if (g_once_init_enter (&block))
    {
      dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa ();
      gboolean avx512 = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
      g_once_init_leave (&block, avx512 ? 16 : 8);
    }
  return (int) block;
}

void
kiln_cpu_md_blocked (dnnl_memory_desc_t *md, const KilnShape *shape)
{
  dnnl_dims_t dims = { shape->n, shape->c, shape->h, shape->w };
  int block = kiln_cpu_channel_block ();
  dnnl_format_tag_t tag = block == 16 && shape->c % 16 == 0 ? dnnl_nChw16c
                        : shape->c % 8 == 0 ? dnnl_nChw8c : dnnl_nchw;
  dnnl_memory_desc_init_by_tag (md, 4, dims, dnnl_f32, tag);
}

gboolean
kiln_cpu_prim_create (KilnCpuBackend              *cpu,
                      KilnCpuPrim                 *prim,
                      const void                  *op_desc,
                      const_dnnl_primitive_attr_t  attr,
                      const_dnnl_primitive_desc_t  hint,
                      const char                  *layer,
                      const char                  *what,
                      GError                     **error)
{
  if (!kiln_cpu_check (dnnl_primitive_desc_create (&prim->pd, op_desc, attr, cpu->engine, hint),
                       layer, what, error))
    {
      prim->pd = NULL;
      return FALSE;
    }
  if (!kiln_cpu_check (dnnl_primitive_create (&prim->prim, prim->pd), layer, what, error))
    {
      dnnl_primitive_desc_destroy (prim->pd);
      prim->pd = NULL;
      prim->prim = NULL;
      return FALSE;
    }
  return TRUE;
}

void
kiln_cpu_prim_clear (KilnCpuPrim *prim)
{
  for (int i = 0; i < prim->n_staging; i++)
    {
      g_clear_pointer (&prim->staging[i].reorder, dnnl_primitive_destroy);
      g_clear_pointer (&prim->staging[i].buffer, kiln_cpu_buffer_free);
    }
  prim->n_staging = 0;
  g_clear_pointer (&prim->prim, dnnl_primitive_destroy);
  g_clear_pointer (&prim->pd, dnnl_primitive_desc_destroy);
}

const KilnCpuStaging *
kiln_cpu_prim_staging (const KilnCpuPrim *prim, int arg)
{
  for (int i = 0; i < prim->n_staging; i++)
    if (prim->staging[i].arg == arg)
      return &prim->staging[i];
  return NULL;
}

static gboolean
is_output (int arg, gboolean backward)
{
  switch (arg)
    {
    case DNNL_ARG_DST:
      return !backward;
    case DNNL_ARG_DIFF_SRC:
    case DNNL_ARG_DIFF_WEIGHTS:
    case DNNL_ARG_DIFF_BIAS:
    case DNNL_ARG_DIFF_SCALE:
    case DNNL_ARG_DIFF_SHIFT:
      return TRUE;
    default:
      return FALSE;
    }
}

static KilnCpuLayout *
layout_of (KilnCpuBackend *cpu, gconstpointer data)
{
  return data ? g_hash_table_lookup (cpu->layouts, data) : NULL;
}

static gboolean
make_reorder (KilnCpuBackend *cpu, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
              dnnl_primitive_t *reorder, const char *layer, GError **error)
{
  dnnl_primitive_desc_t rpd = NULL;
  gboolean ok = kiln_cpu_check (dnnl_reorder_primitive_desc_create (&rpd, from, cpu->engine, to,
                                                                    cpu->engine, NULL),
                                layer, "create a layout reorder", error) &&
                kiln_cpu_check (dnnl_primitive_create (reorder, rpd), layer,
                                "create a layout reorder", error);
  if (rpd != NULL)
    dnnl_primitive_desc_destroy (rpd);
  return ok;
}

static gboolean
reorder (KilnCpuBackend *cpu, dnnl_primitive_t prim, const dnnl_memory_desc_t *from_md,
         void *from, const dnnl_memory_desc_t *to_md, void *to, const char *layer, GError **error)
{
  dnnl_memory_t a = NULL, b = NULL;
  gboolean ok = kiln_cpu_check (dnnl_memory_create (&a, from_md, cpu->engine, from), layer,
                                "wrap a buffer", error) &&
                kiln_cpu_check (dnnl_memory_create (&b, to_md, cpu->engine, to), layer,
                                "wrap a buffer", error);
  if (ok)
    {
      dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, a }, { DNNL_ARG_TO, b } };
      cpu->n_reorders++;
      ok = kiln_cpu_check (dnnl_primitive_execute (prim, cpu->stream, 2, args), layer,
                           "reorder a layout", error) &&
           kiln_cpu_check (dnnl_stream_wait (cpu->stream), layer, "reorder a layout", error);
    }
  g_clear_pointer (&a, dnnl_memory_destroy);
  g_clear_pointer (&b, dnnl_memory_destroy);
  return ok;
}

/* Kiln's own layout of a tensor of @md's dimensions: row-major (nchw,
 * oihw, goihw, nc, x). */
static void
plain_like (dnnl_memory_desc_t *plain, const dnnl_memory_desc_t *md)
{
  static const dnnl_format_tag_t tags[] = { dnnl_a, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde };
  g_assert (md->ndims >= 1 && md->ndims < (int) G_N_ELEMENTS (tags));
  dnnl_memory_desc_init_by_tag (plain, md->ndims, md->dims, dnnl_f32, tags[md->ndims]);
}

/* Rewrites the buffer at @data, now in @lay's layout, in layout @to (which
 * fits its allocation); @to NULL means Kiln's plain one. Failure here is a
 * library bug (the layouts came from oneDNN itself), not bad input. */
static void
convert_in_place (KilnCpuBackend *cpu, gconstpointer data, KilnCpuLayout *lay,
                  const dnnl_memory_desc_t *to)
{
  g_autoptr(GError) error = NULL;
  dnnl_memory_desc_t plain, from;
  dnnl_primitive_t prim = NULL;

  g_assert (lay->blocked || to != NULL);
  plain_like (&plain, lay->blocked ? &lay->md : to);
  from = lay->blocked ? lay->md : plain;
  if (to == NULL)
    to = &plain;
  omp_set_num_threads (cpu->n_threads);
  gsize bytes = dnnl_memory_desc_get_size (to);
  g_assert (bytes <= lay->size);
  /* Not counted: on a GPU a download needs no device memory, so running
   * out must not stop a checkpoint from being written. */
  void *tmp = buffer_alloc (bytes, FALSE, &error);
  if (tmp == NULL || !make_reorder (cpu, &from, to, &prim, NULL, &error) ||
      !reorder (cpu, prim, &from, (void *) data, to, tmp, NULL, &error))
    g_critical ("CPU backend: cannot convert a tensor's layout: %s", error->message);
  else
    memcpy ((void *) data, tmp, bytes);
  g_clear_pointer (&prim, dnnl_primitive_destroy);
  kiln_cpu_buffer_free (tmp);
  lay->blocked = to != &plain;
  if (lay->blocked)
    lay->md = *to;
}

/* Converts a blocked buffer back to plain layout in place. */
static void
make_plain (KilnCpuBackend *cpu, gconstpointer data)
{
  KilnCpuLayout *lay = layout_of (cpu, data);

  if (lay != NULL && lay->blocked)
    convert_in_place (cpu, data, lay, NULL);
}

/* Brings @others into @t's layout, in place, for an element-wise pass over
 * all of them (the optimizer's update keeps weights, their gradient and its
 * slots in the layout the convolution chose, padding included, where zeros
 * stay zeros). Where one cannot hold that layout, all go plain. Returns the
 * number of floats the pass covers. */
static gint64
share_layout (KilnCpuBackend *cpu, const KilnTensor *t, const KilnTensor *const *others, int n_others)
{
  KilnCpuLayout *lay = layout_of (cpu, kiln_tensor_get_data (t));
  gboolean fits = lay != NULL && lay->blocked;

  for (int i = 0; i < n_others && fits; i++)
    {
      KilnCpuLayout *o = layout_of (cpu, kiln_tensor_get_data (others[i]));
      fits = o != NULL && o->size >= dnnl_memory_desc_get_size (&lay->md);
    }
  if (!fits)
    {
      make_plain (cpu, kiln_tensor_get_data (t));
      for (int i = 0; i < n_others; i++)
        make_plain (cpu, kiln_tensor_get_data (others[i]));
      return kiln_tensor_n_elements (t);
    }
  for (int i = 0; i < n_others; i++)
    {
      gconstpointer data = kiln_tensor_get_data (others[i]);
      KilnCpuLayout *o = layout_of (cpu, data);
      if (!o->blocked || !dnnl_memory_desc_equal (&o->md, &lay->md))
        convert_in_place (cpu, data, o, &lay->md);
    }
  return (gint64) (dnnl_memory_desc_get_size (&lay->md) / sizeof (float));
}

const dnnl_memory_desc_t *
kiln_cpu_layout_md (KilnCpuBackend *cpu, const KilnTensor *t)
{
  KilnCpuLayout *lay = layout_of (cpu, kiln_tensor_get_data (t));
  return lay != NULL && lay->blocked ? &lay->md : NULL;
}

const float *
kiln_cpu_read (KilnCpuBackend *cpu, const KilnTensor *t)
{
  make_plain (cpu, kiln_tensor_get_data (t));
  return kiln_tensor_get_data (t);
}

float *
kiln_cpu_write (KilnCpuBackend *cpu, KilnTensor *t)
{
  KilnCpuLayout *lay = layout_of (cpu, kiln_tensor_get_data (t));
  if (lay != NULL)
    lay->blocked = FALSE;
  return kiln_tensor_get_data (t);
}

float *
kiln_cpu_modify (KilnCpuBackend *cpu, KilnTensor *t)
{
  make_plain (cpu, kiln_tensor_get_data (t));
  return kiln_tensor_get_data (t);
}

/* The staging of an input whose layout (@have) is not the primitive's. */
static KilnCpuStaging *
input_staging (KilnCpuBackend *cpu, KilnCpuPrim *prim, int arg, const dnnl_memory_desc_t *md,
               const dnnl_memory_desc_t *have, const char *layer, GError **error)
{
  KilnCpuStaging *st = (KilnCpuStaging *) kiln_cpu_prim_staging (prim, arg);

  if (st == NULL)
    {
      g_assert (prim->n_staging < KILN_CPU_MAX_STAGING);
      st = &prim->staging[prim->n_staging];
      memset (st, 0, sizeof *st);
      st->arg = arg;
      st->md = md;
      st->buffer = kiln_cpu_buffer_alloc (dnnl_memory_desc_get_size (md), error);
      if (st->buffer == NULL)
        return NULL;
      prim->n_staging++;
    }
  /* The producer's layout can change (plain on upload, blocked after a
   * primitive): the reorder follows it. */
  if (st->reorder == NULL || !dnnl_memory_desc_equal (&st->other, have))
    {
      g_clear_pointer (&st->reorder, dnnl_primitive_destroy);
      if (!make_reorder (cpu, have, md, &st->reorder, layer, error))
        return NULL;
      st->other = *have;
    }
  return st;
}

/* The staging of an output that must end up plain. */
static KilnCpuStaging *
output_staging (KilnCpuBackend *cpu, KilnCpuPrim *prim, int arg, const dnnl_memory_desc_t *md,
                const dnnl_memory_desc_t *plain, const char *layer, GError **error)
{
  KilnCpuStaging *st = (KilnCpuStaging *) kiln_cpu_prim_staging (prim, arg);

  if (st != NULL)
    return st;
  g_assert (prim->n_staging < KILN_CPU_MAX_STAGING);
  st = &prim->staging[prim->n_staging];
  memset (st, 0, sizeof *st);
  st->arg = arg;
  st->md = md;
  st->output = TRUE;
  st->buffer = kiln_cpu_buffer_alloc (dnnl_memory_desc_get_size (md), error);
  if (st->buffer == NULL)
    return NULL;
  if (!make_reorder (cpu, md, plain, &st->reorder, layer, error))
    {
      g_clear_pointer (&st->buffer, kiln_cpu_buffer_free);
      return NULL;
    }
  prim->n_staging++;
  return st;
}

gboolean
kiln_cpu_run (KilnCpuBackend   *cpu,
              KilnCpuPrim      *prim,
              const KilnCpuArg *args,
              int               n_args,
              const char       *layer,
              GError          **error)
{
  dnnl_exec_arg_t exec[16];
  KilnCpuStaging *out_staging[16] = { NULL };
  KilnCpuLayout *out_layout[16] = { NULL };
  const dnnl_memory_desc_t *out_md[16] = { NULL };
  gboolean ok = TRUE;
  int n = 0;

  g_assert (n_args <= (int) G_N_ELEMENTS (exec));
  /* OpenMP's thread count is per calling thread; the trainer runs on its own. */
  omp_set_num_threads (cpu->n_threads);

  dnnl_prop_kind_t prop = dnnl_forward;
  dnnl_primitive_desc_query (prim->pd, dnnl_query_prop_kind, 0, &prop);
  gboolean backward = prop == dnnl_backward || prop == dnnl_backward_data ||
                      prop == dnnl_backward_weights || prop == dnnl_backward_bias;

  for (int i = 0; i < n_args && ok; i++)
    {
      const KilnCpuArg *a = &args[i];
      const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md (prim->pd, dnnl_query_exec_arg_md, a->arg);
      KilnCpuLayout *lay = layout_of (cpu, a->data);
      const dnnl_memory_desc_t *md = a->md;
      void *data = a->data;

      if (want == NULL || want->ndims == 0)
        want = a->md;

      if (is_output (a->arg, backward))
        {
          gboolean differs = !dnnl_memory_desc_equal (want, a->md);
          /* Activations flow to the next primitive; weight gradients to the
           * optimizer, which is element-wise. */
          gboolean kept = a->arg == DNNL_ARG_DST || a->arg == DNNL_ARG_DIFF_SRC ||
                          a->arg == DNNL_ARG_DIFF_WEIGHTS;
          if (differs && kept && lay != NULL && dnnl_memory_desc_get_size (want) <= lay->size)
            {
              /* Written straight in the primitive's layout and kept so. */
              md = want;
              out_layout[i] = lay;
              out_md[i] = want;
            }
          else if (differs)
            {
              out_staging[i] = output_staging (cpu, prim, a->arg, want, a->md, layer, error);
              ok = out_staging[i] != NULL;
              if (ok)
                {
                  md = want;
                  data = out_staging[i]->buffer;
                }
              out_layout[i] = lay;
            }
          else
            out_layout[i] = lay;
        }
      else
        {
          const dnnl_memory_desc_t *have = lay != NULL && lay->blocked ? &lay->md : a->md;
          if (dnnl_memory_desc_equal (want, have))
            md = have;
          else if (a->keep && lay != NULL && dnnl_memory_desc_get_size (want) <= lay->size)
            {
              /* Converted once and kept: the next call finds it ready. */
              convert_in_place (cpu, a->data, lay, want);
              md = want;
            }
          else
            {
              KilnCpuStaging *st = input_staging (cpu, prim, a->arg, want, have, layer, error);
              ok = st != NULL && reorder (cpu, st->reorder, have, a->data, want, st->buffer, layer, error);
              md = want;
              data = st ? st->buffer : NULL;
            }
        }

      exec[n].arg = a->arg;
      ok = ok && kiln_cpu_check (dnnl_memory_create (&exec[n].memory, md, cpu->engine, data),
                                 layer, "wrap a buffer", error);
      if (ok)
        n++;
    }
  if (ok)
    ok = kiln_cpu_check (dnnl_primitive_execute (prim->prim, cpu->stream, n, exec),
                         layer, "execute a primitive", error) &&
         kiln_cpu_check (dnnl_stream_wait (cpu->stream), layer, "finish a primitive", error);
  for (int i = 0; i < n && ok; i++)
    {
      if (out_staging[i] != NULL)
        ok = reorder (cpu, out_staging[i]->reorder, out_staging[i]->md, out_staging[i]->buffer,
                      args[i].md, args[i].data, layer, error);
      if (out_layout[i] != NULL)
        {
          out_layout[i]->blocked = out_md[i] != NULL;
          if (out_md[i] != NULL)
            out_layout[i]->md = *out_md[i];
        }
    }
  for (int i = 0; i < n; i++)
    dnnl_memory_destroy (exec[i].memory);
  return ok;
}

/* What the CPU backend's buffers hold, process-wide: the host is one device
 * however many backends share it. */
static gssize used_bytes;

/* KILN_DEVICE_MEMORY_LIMIT in bytes ("512M", "2G", "1048576"); 0 unset.
 * Read at every counted allocation (they are few: tensors and staging are
 * made once), so a test can lower it between runs. */
static guint64
memory_limit (void)
{
  const char *text = g_getenv ("KILN_DEVICE_MEMORY_LIMIT");
  char *end = NULL;

  if (text == NULL || text[0] == '\0')
    return 0;
  guint64 value = g_ascii_strtoull (text, &end, 10);
  switch (end != text ? g_ascii_toupper (*end) : 0)
    {
    case 'G': value <<= 10; G_GNUC_FALLTHROUGH;
    case 'M': value <<= 10; G_GNUC_FALLTHROUGH;
    case 'K': value <<= 10; break;
    default: break;
    }
  return value;
}

/* Every buffer carries its size (and whether it counts) in a header one
 * alignment unit long, so freeing needs no table. */
#define HEADER 64

static gpointer
buffer_alloc (gsize bytes, gboolean counted, GError **error)
{
  void *block = NULL;
  guint64 limit = counted ? memory_limit () : 0;

  if (limit > 0)
    {
      gint64 after = (gint64) g_atomic_pointer_add (&used_bytes, (gssize) bytes) + (gint64) bytes;
      if ((guint64) after > limit)
        {
          g_atomic_pointer_add (&used_bytes, -(gssize) bytes);
          g_autofree char *want = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
          g_autofree char *all = g_format_size_full (limit, G_FORMAT_SIZE_IEC_UNITS);
          g_autofree char *held = g_format_size_full (after - (gint64) bytes, G_FORMAT_SIZE_IEC_UNITS);
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY,
                       "Out of memory: %s more does not fit the %s that KILN_DEVICE_MEMORY_LIMIT allows "
                       "(%s in use)", want, all, held);
          return NULL;
        }
    }
  else if (counted)
    g_atomic_pointer_add (&used_bytes, (gssize) bytes);
  if (posix_memalign (&block, 64, MAX (bytes, 64) + HEADER) != 0)
    {
      if (counted)
        g_atomic_pointer_add (&used_bytes, -(gssize) bytes);
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY,
                   "Out of memory: could not allocate %" G_GSIZE_FORMAT " MiB of host memory",
                   bytes >> 20);
      return NULL;
    }
  ((guint64 *) block)[0] = bytes;
  ((guint64 *) block)[1] = counted;
  return (char *) block + HEADER;
}

gpointer
kiln_cpu_buffer_alloc (gsize bytes, GError **error)
{
  return buffer_alloc (bytes, TRUE, error);
}

void
kiln_cpu_buffer_free (gpointer data)
{
  if (data == NULL)
    return;
  guint64 *block = (guint64 *) ((char *) data - HEADER);
  if (block[1])
    g_atomic_pointer_add (&used_bytes, -(gssize) block[0]);
  free (block);
}

guint64
kiln_backend_cpu_get_used_memory (void)
{
  return (guint64) (gssize) g_atomic_pointer_get (&used_bytes);
}

void
kiln_cpu_relu_mask (KilnCpuBackend *cpu, const KilnTensor *dst, KilnTensor *diff)
{
  KilnCpuLayout *a = layout_of (cpu, kiln_tensor_get_data (dst));
  KilnCpuLayout *b = layout_of (cpu, kiln_tensor_get_data (diff));
  gint64 n = kiln_tensor_n_elements (dst);

  /* Element-wise: any layout works as long as both share it. */
  gboolean same = a && b && a->blocked == b->blocked &&
                  (!a->blocked || dnnl_memory_desc_equal (&a->md, &b->md));
  if (!same)
    {
      make_plain (cpu, kiln_tensor_get_data (dst));
      make_plain (cpu, kiln_tensor_get_data (diff));
    }
  const float *y = kiln_tensor_get_data (dst);
  float *g = kiln_tensor_get_data (diff);
  /* A select, not a branch: it vectorises (the branchy loop was 6% of a
   * small net's training step). NaN in y masks the gradient, as before. */
#pragma omp parallel for simd num_threads(cpu->n_threads) schedule(static)
  for (gint64 i = 0; i < n; i++)
    g[i] = y[i] > 0.f ? g[i] : 0.f;
}

gpointer
kiln_cpu_op_alloc (KilnCpuBackend       *cpu,
                   const KilnOpDesc     *desc,
                   const KilnCpuOpClass *klass,
                   gsize                 size)
{
  KilnCpuOp *op = g_malloc0 (size);
  op->parent.backend = &cpu->parent;
  op->parent.desc = desc;
  op->klass = klass;
  op->cpu = cpu;
  op->layer = desc->layer;
  return op;
}

/* ---- the vtable ---- */

static void
cpu_destroy (KilnBackend *self)
{
  g_hash_table_unref (CPU (self)->layouts);
  dnnl_stream_destroy (CPU (self)->stream);
  dnnl_engine_destroy (CPU (self)->engine);
  g_free (self);
}

static gpointer
cpu_alloc (KilnBackend *self, gsize bytes, GError **error)
{
  gpointer data = kiln_cpu_buffer_alloc (bytes, error);
  if (data != NULL)
    {
      KilnCpuLayout *lay = g_new0 (KilnCpuLayout, 1);
      lay->size = bytes;
      g_hash_table_insert (CPU (self)->layouts, data, lay);
    }
  return data;
}

static void
cpu_free (KilnBackend *self, gpointer data)
{
  g_hash_table_remove (CPU (self)->layouts, data);
  kiln_cpu_buffer_free (data);
}

static void
cpu_upload (KilnBackend *self, gpointer dst, const void *host, gsize bytes)
{
  KilnCpuLayout *lay = layout_of (CPU (self), dst);
  if (lay != NULL)
    lay->blocked = FALSE;
  memcpy (dst, host, bytes);
}

static void
cpu_download (KilnBackend *self, gconstpointer src, void *host, gsize bytes)
{
  make_plain (CPU (self), src);
  memcpy (host, src, bytes);
}

static void
cpu_fill (KilnBackend *self, KilnTensor *t, float value)
{
  float *p = kiln_cpu_write (CPU (self), t);
  gint64 n = kiln_tensor_n_elements (t);
  for (gint64 i = 0; i < n; i++)
    p[i] = value;
}

static gboolean
cpu_supports_op (KilnBackend *self, const KilnOpDesc *desc, GError **error)
{
  /* Every type kiln_op_desc_init() accepts maps onto a primitive or a loop;
   * what oneDNN itself refuses is reported when the op is created. */
  if (desc->layer->type >= KILN_LAYER_N_TYPES)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   "%s: the CPU backend has no op for layer type %d", desc->layer->name,
                   desc->layer->type);
      return FALSE;
    }
  if (desc->fuse_relu && desc->layer->type != KILN_LAYER_CONVOLUTION &&
      desc->layer->type != KILN_LAYER_INNER_PRODUCT)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   "%s: the CPU backend fuses ReLU only into convolution and inner product",
                   desc->layer->name);
      return FALSE;
    }
  return TRUE;
}

static KilnOp *
cpu_op_new (KilnBackend *self, const KilnOpDesc *desc, GError **error)
{
  KilnCpuOp *op;

  switch (desc->layer->type)
    {
    case KILN_LAYER_CONVOLUTION:
    case KILN_LAYER_INNER_PRODUCT:
      op = kiln_cpu_conv_new (CPU (self), desc, error);
      break;
    case KILN_LAYER_RELU:
    case KILN_LAYER_LRN:
    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
    case KILN_LAYER_GLOBAL_AVG_POOL:
    case KILN_LAYER_SOFTMAX:
      op = kiln_cpu_unary_new (CPU (self), desc, error);
      break;
    case KILN_LAYER_BATCH_NORM:
      op = kiln_cpu_bn_new (CPU (self), desc, error);
      break;
    case KILN_LAYER_DROPOUT:
    case KILN_LAYER_CONCAT:
    case KILN_LAYER_ADD:
    case KILN_LAYER_FLATTEN:
    case KILN_LAYER_PAD:
      op = kiln_cpu_plain_new (CPU (self), desc, error);
      break;
    case KILN_LAYER_N_TYPES:
    default:
      g_assert_not_reached ();
    }
  return (KilnOp *) op;
}

static void
cpu_op_free (KilnOp *op)
{
  KILN_CPU_OP (op)->klass->finalize (KILN_CPU_OP (op));
  g_free (op);
}

static gboolean
cpu_op_forward (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  return KILN_CPU_OP (op)->klass->forward (KILN_CPU_OP (op), args, error);
}

static gboolean
cpu_op_backward_data (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  return KILN_CPU_OP (op)->klass->backward_data (KILN_CPU_OP (op), args, error);
}

static gboolean
cpu_op_backward_weights (KilnOp *op, const KilnOpArgs *args, GError **error)
{
  KilnCpuOp *cop = KILN_CPU_OP (op);
  if (cop->klass->backward_weights == NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                   "%s: %s has no weights", cop->layer->name,
                   kiln_layer_type_to_string (cop->layer->type));
      return FALSE;
    }
  return cop->klass->backward_weights (cop, args, error);
}

static void
cpu_axpy (KilnBackend *self, float alpha, const KilnTensor *x, KilnTensor *y)
{
  gint64 n = share_layout (CPU (self), y, (const KilnTensor *[]) { x }, 1);
  const float *px = kiln_tensor_get_data (x);
  float *py = kiln_tensor_get_data (y);
#pragma omp parallel for num_threads(CPU (self)->n_threads) schedule(static) if(n > 65536)
  for (gint64 i = 0; i < n; i++)
    py[i] += alpha * px[i];
}

static void
cpu_sgd_update (KilnBackend *self, KilnTensor *w, const KilnTensor *g, KilnTensor *v,
                float lr, float momentum, float decay)
{
  gint64 n = share_layout (CPU (self), w, (const KilnTensor *[]) { g, v }, 2);
  float *pw = kiln_tensor_get_data (w), *pv = kiln_tensor_get_data (v);
  const float *pg = kiln_tensor_get_data (g);
#pragma omp parallel for num_threads(CPU (self)->n_threads) schedule(static) if(n > 65536)
  for (gint64 i = 0; i < n; i++)
    {
      pv[i] = momentum * pv[i] - lr * (pg[i] + decay * pw[i]);
      pw[i] += pv[i];
    }
}

static void
cpu_adam_update (KilnBackend *self, KilnTensor *w, const KilnTensor *g, KilnTensor *m,
                 KilnTensor *v, float lr, float beta1, float beta2, float eps, float decay,
                 gint64 step)
{
  gint64 n = share_layout (CPU (self), w, (const KilnTensor *[]) { g, m, v }, 3);
  float *pw = kiln_tensor_get_data (w), *pm = kiln_tensor_get_data (m);
  float *pv = kiln_tensor_get_data (v);
  const float *pg = kiln_tensor_get_data (g);
  float c1 = 1.f - (float) pow (beta1, (double) step);
  float c2 = 1.f - (float) pow (beta2, (double) step);
#pragma omp parallel for num_threads(CPU (self)->n_threads) schedule(static) if(n > 65536)
  for (gint64 i = 0; i < n; i++)
    {
      float grad = pg[i] + decay * pw[i];
      pm[i] = beta1 * pm[i] + (1.f - beta1) * grad;
      pv[i] = beta2 * pv[i] + (1.f - beta2) * grad * grad;
      pw[i] -= lr * (pm[i] / c1) / (sqrtf (pv[i] / c2) + eps);
    }
}

static gboolean
cpu_softmax_cross_entropy (KilnBackend *self, const KilnTensor *logits, const int *labels,
                           KilnTensor *diff, double *loss, int *n_correct, GError **error)
{
  const KilnShape *s = kiln_tensor_get_shape (logits);
  const float *x = kiln_cpu_read (CPU (self), logits);
  float *d = diff ? kiln_cpu_write (CPU (self), diff) : NULL;
  int n = s->n, c = s->c * s->h * s->w;
  double total = 0;
  int correct = 0;

  for (int i = 0; i < n; i++)
    if (labels[i] < 0 || labels[i] >= c)
      {
        g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                     "Label %d of sample %d is outside the %d classes of the last layer",
                     labels[i], i, c);
        return FALSE;
      }

  for (int i = 0; i < n; i++)
    {
      const float *row = x + (gint64) i * c;
      int best = 0;
      for (int j = 1; j < c; j++)
        if (row[j] > row[best])
          best = j;
      double max = row[best], sum = 0;
      for (int j = 0; j < c; j++)
        sum += exp ((double) row[j] - max);
      double log_z = max + log (sum);
      total += log_z - row[labels[i]];
      correct += best == labels[i];
      if (d != NULL)
        for (int j = 0; j < c; j++)
          d[(gint64) i * c + j] = (float) ((exp (row[j] - log_z) - (j == labels[i])) / n);
    }
  *loss = total / n;
  if (n_correct)
    *n_correct = correct;
  return TRUE;
}

/* MemTotal and MemAvailable from /proc/meminfo, in bytes. */
static gboolean
read_meminfo (guint64 *total, guint64 *available)
{
  g_autofree char *text = NULL;
  gboolean have_total = FALSE, have_available = FALSE;

  if (!g_file_get_contents ("/proc/meminfo", &text, NULL, NULL))
    return FALSE;
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 kib = 0;
      if (sscanf (lines[i], "MemTotal: %" G_GUINT64_FORMAT " kB", &kib) == 1)
        {
          *total = kib << 10;
          have_total = TRUE;
        }
      else if (sscanf (lines[i], "MemAvailable: %" G_GUINT64_FORMAT " kB", &kib) == 1)
        {
          *available = kib << 10;
          have_available = TRUE;
        }
    }
  return have_total && have_available;
}

static gboolean
cpu_memory (KilnBackend *self, guint64 *total, guint64 *free_bytes)
{
  guint64 limit = memory_limit ();

  if (limit > 0)
    {
      guint64 used = kiln_backend_cpu_get_used_memory ();
      *total = limit;
      *free_bytes = used < limit ? limit - used : 0;
      return TRUE;
    }
  return read_meminfo (total, free_bytes);
}

static const KilnBackendVTable cpu_vtable = {
  .destroy = cpu_destroy,
  .alloc = cpu_alloc,
  .free = cpu_free,
  .upload = cpu_upload,
  .download = cpu_download,
  .fill = cpu_fill,
  .supports_op = cpu_supports_op,
  .op_new = cpu_op_new,
  .op_free = cpu_op_free,
  .op_forward = cpu_op_forward,
  .op_backward_data = cpu_op_backward_data,
  .op_backward_weights = cpu_op_backward_weights,
  .axpy = cpu_axpy,
  .sgd_update = cpu_sgd_update,
  .adam_update = cpu_adam_update,
  .softmax_cross_entropy = cpu_softmax_cross_entropy,
  .memory = cpu_memory,
};

/* The front end's setting (the app's preference); 0: none. */
static gint default_threads;

void
kiln_backend_cpu_set_default_threads (int n_threads)
{
  g_atomic_int_set (&default_threads, CLAMP (n_threads, 0, 1024));
}

int
kiln_backend_cpu_get_default_threads (void)
{
  const char *env = g_getenv ("KILN_NUM_THREADS");
  int preferred = g_atomic_int_get (&default_threads);

  /* The environment is the developer's word for this one process. */
  if (env != NULL)
    {
      gint64 n = g_ascii_strtoll (env, NULL, 10);
      if (n >= 1 && n <= 1024)
        return (int) n;
      g_warning ("KILN_NUM_THREADS=%s is not a thread count; using %s", env,
                 preferred > 0 ? "the preference" : "all processors");
    }
  return preferred > 0 ? preferred : (int) g_get_num_processors ();
}

KilnBackend *
kiln_backend_cpu_new (GError **error)
{
  KilnCpuBackend *self = g_new0 (KilnCpuBackend, 1);
  const dnnl_version_t *v = dnnl_version ();

  self->n_threads = kiln_backend_cpu_get_default_threads ();
  self->layouts = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  omp_set_num_threads (self->n_threads);
  if (!kiln_cpu_check (dnnl_engine_create (&self->engine, dnnl_cpu, 0), NULL,
                       "create a CPU engine", error))
    {
      g_free (self);
      return NULL;
    }
  if (!kiln_cpu_check (dnnl_stream_create (&self->stream, self->engine, dnnl_stream_default_flags),
                       NULL, "create a stream", error))
    {
      dnnl_engine_destroy (self->engine);
      g_free (self);
      return NULL;
    }

  g_autofree char *description = g_strdup_printf ("CPU, oneDNN %d.%d.%d, %d threads",
                                                  v->major, v->minor, v->patch, self->n_threads);
  kiln_backend_init_base (&self->parent, &cpu_vtable, "cpu", description);
  return &self->parent;
}

int
kiln_backend_cpu_get_threads (KilnBackend *self)
{
  g_return_val_if_fail (self->vtable == &cpu_vtable, 1);
  return CPU (self)->n_threads;
}

guint64
kiln_backend_cpu_get_tensor_bytes (KilnBackend *self)
{
  GHashTableIter iter;
  KilnCpuLayout *lay;
  guint64 bytes = 0;

  g_return_val_if_fail (self->vtable == &cpu_vtable, 0);
  g_hash_table_iter_init (&iter, CPU (self)->layouts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &lay))
    bytes += lay->size;
  return bytes;
}

guint64
kiln_backend_cpu_get_reorder_count (KilnBackend *self)
{
  g_return_val_if_fail (self->vtable == &cpu_vtable, 0);
  return CPU (self)->n_reorders;
}

const char *
kiln_backend_cpu_get_isa_name (void)
{
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa ();

  switch ((int) isa)
    {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}
