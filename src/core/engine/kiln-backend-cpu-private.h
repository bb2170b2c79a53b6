/* kiln-backend-cpu-private.h: the CPU backend's pieces, shared by its op
 * files (kiln-cpu-*.c). Each op kind is a small class (forward,
 * backward-data, backward-weights, finalize) plus its own state; primitives
 * are created when the op is made (backward ones on first use) and reused.
 *
 * Threads: as kiln-backend-cpu.h. */
#pragma once

#include <dnnl.h>

#include "kiln-backend-cpu.h"
#include "kiln-backend-private.h"

G_BEGIN_DECLS

typedef struct {
  KilnBackend parent;
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  int n_threads;
  guint64 n_reorders;         /* layout reorders run, for the benchmark */
  /* Every tensor buffer → KilnCpuLayout. Activations and their gradients
   * stay in the layout the primitive that wrote them chose (nChw16c …) so
   * the next primitive reads them without a reorder; code that reads raw
   * floats asks for the plain layout first (kiln_cpu_read). */
  GHashTable *layouts;
} KilnCpuBackend;

typedef struct {
  gsize size;                 /* bytes allocated */
  gboolean blocked;           /* FALSE: plain NCHW */
  dnnl_memory_desc_t md;      /* when blocked */
} KilnCpuLayout;

typedef struct _KilnCpuOp KilnCpuOp;

typedef struct {
  gboolean (*forward)          (KilnCpuOp *op, const KilnOpArgs *args, GError **error);
  gboolean (*backward_data)    (KilnCpuOp *op, const KilnOpArgs *args, GError **error);
  gboolean (*backward_weights) (KilnCpuOp *op, const KilnOpArgs *args, GError **error);
  void     (*finalize)         (KilnCpuOp *op);
} KilnCpuOpClass;

struct _KilnCpuOp {
  KilnOp parent;
  const KilnCpuOpClass *klass;
  KilnCpuBackend *cpu;
  const KilnLayerSpec *layer;
};

/* An argument whose layout the primitive chose (blocked, e.g. nChw16c)
 * differs from Kiln's plain NCHW: a buffer in the primitive's layout and
 * the reorder between the two, made on first use and reused. */
typedef struct {
  int arg;
  gboolean output;
  void *buffer;
  dnnl_primitive_t reorder;
  const dnnl_memory_desc_t *md;   /* owned by the primitive's pd */
  dnnl_memory_desc_t other;       /* the layout the reorder converts from (inputs) */
} KilnCpuStaging;

#define KILN_CPU_MAX_STAGING 8

/* One oneDNN primitive, its descriptor and its staging buffers. */
typedef struct {
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  KilnCpuStaging staging[KILN_CPU_MAX_STAGING];
  int n_staging;
} KilnCpuPrim;

/* One execution argument: a oneDNN arg id and the buffer behind it. An
 * input with @keep set is converted in place to the primitive's layout and
 * left so (weights between steps), not staged on every call. */
typedef struct {
  int arg;
  const dnnl_memory_desc_t *md;
  void *data;
  gboolean keep;
} KilnCpuArg;

#define KILN_CPU_OP(op) ((KilnCpuOp *) (op))

/* Allocates an op of @size bytes whose first member is KilnCpuOp. */
gpointer  kiln_cpu_op_alloc     (KilnCpuBackend       *cpu,
                                 const KilnOpDesc     *desc,
                                 const KilnCpuOpClass *klass,
                                 gsize                 size);
gboolean  kiln_cpu_check        (dnnl_status_t  status,
                                 const char    *layer,
                                 const char    *what,
                                 GError       **error);
void      kiln_cpu_md_nchw      (dnnl_memory_desc_t *md,
                                 const KilnShape    *shape);
void      kiln_cpu_md_vector    (dnnl_memory_desc_t *md,
                                 int                 n);
/* The channel block oneDNN's JIT kernels want on this machine's effective
 * ISA: 16 with AVX-512, else 8. */
int       kiln_cpu_channel_block (void);
/* NCHW with channels in blocks of kiln_cpu_channel_block() (or 8) when
 * they divide C (what the JIT kernels of LRN and pooling want), else plain
 * NCHW. */
void      kiln_cpu_md_blocked   (dnnl_memory_desc_t *md,
                                 const KilnShape    *shape);
/* Creates the pd (with @hint for backward) and its primitive. */
gboolean  kiln_cpu_prim_create  (KilnCpuBackend          *cpu,
                                 KilnCpuPrim             *prim,
                                 const void              *op_desc,
                                 const_dnnl_primitive_attr_t attr,
                                 const_dnnl_primitive_desc_t hint,
                                 const char              *layer,
                                 const char              *what,
                                 GError                 **error);
void      kiln_cpu_prim_clear   (KilnCpuPrim *prim);
/* Runs @prim on the stream with the backend's thread count and waits.
 * @args carry Kiln's plain layouts; where the primitive chose another, the
 * argument is reordered in before (inputs) or out after (outputs). */
gboolean  kiln_cpu_run          (KilnCpuBackend   *cpu,
                                 KilnCpuPrim      *prim,
                                 const KilnCpuArg *args,
                                 int               n_args,
                                 const char       *layer,
                                 GError          **error);
/* The staging of @arg in @prim (NULL if it runs on the plain tensor). */
const KilnCpuStaging *kiln_cpu_prim_staging (const KilnCpuPrim *prim,
                                             int                arg);

/* A 64-byte aligned scratch buffer (freed with kiln_cpu_buffer_free). */
gpointer  kiln_cpu_buffer_alloc (gsize    bytes,
                                 GError **error);
void      kiln_cpu_buffer_free  (gpointer data);

/* Raw float access to a tensor buffer: _read converts it to plain NCHW in
 * place if a primitive left it blocked; _write marks it plain (the caller
 * overwrites it); use _read before read-modify-write. */
const float *kiln_cpu_read     (KilnCpuBackend *cpu,
                                const KilnTensor *t);
float     *kiln_cpu_write      (KilnCpuBackend *cpu,
                                KilnTensor     *t);
float     *kiln_cpu_modify     (KilnCpuBackend *cpu,
                                KilnTensor     *t);

/* The blocked layout a primitive left @t in, or NULL when it is plain. */
const dnnl_memory_desc_t *kiln_cpu_layout_md (KilnCpuBackend   *cpu,
                                              const KilnTensor *t);

/* Diff of a fused ReLU, in place: g = dst > 0 ? g : 0 (idempotent). */
void      kiln_cpu_relu_mask    (KilnCpuBackend   *cpu,
                                 const KilnTensor *dst,
                                 KilnTensor       *diff);

/* Constructors, one per op file. */
KilnCpuOp *kiln_cpu_conv_new    (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error);
KilnCpuOp *kiln_cpu_unary_new   (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error);
KilnCpuOp *kiln_cpu_bn_new      (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error);
KilnCpuOp *kiln_cpu_plain_new   (KilnCpuBackend *cpu, const KilnOpDesc *desc, GError **error);

G_END_DECLS
