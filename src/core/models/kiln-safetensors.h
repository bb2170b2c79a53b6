/* kiln-safetensors.h: checkpoints in the safetensors format.
 *
 * A file is an 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, …,
 * "__metadata__": {"key": "value"}}, then the tensor bytes (little-endian),
 * offsets counted from the end of the header. Reading maps the file and
 * validates everything against its real size before handing out a pointer,
 * so a hostile header cannot make Kiln allocate or read what is not there.
 * Writing is atomic: temp file, fsync, rename.
 *
 * Threads: a KilnSafetensors is immutable after loading and may be read
 * from several threads at once. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  KILN_DTYPE_F64,
  KILN_DTYPE_F32,
  KILN_DTYPE_F16,
  KILN_DTYPE_BF16,
  KILN_DTYPE_I64,
  KILN_DTYPE_I32,
  KILN_DTYPE_I16,
  KILN_DTYPE_I8,
  KILN_DTYPE_U64,
  KILN_DTYPE_U32,
  KILN_DTYPE_U16,
  KILN_DTYPE_U8,
  KILN_DTYPE_BOOL,
  KILN_DTYPE_N_TYPES
} KilnDType;

/* Up to this many dimensions per tensor. */
#define KILN_SAFETENSORS_MAX_DIMS 16

/* One tensor. When reading, `data` points into the mapped file and is not
 * aligned: copy it (kiln_safetensors_read_f32() does) before using it as a
 * typed array. When writing, n_bytes must equal the shape's element count
 * times the dtype's size. */
typedef struct {
  const char *name;
  KilnDType dtype;
  guint n_dims;
  const gint64 *shape;
  gsize n_bytes;
  gconstpointer data;
} KilnSafetensorsTensor;

const char *kiln_dtype_to_string   (KilnDType   dtype);
gboolean    kiln_dtype_from_string (const char *name,
                                    KilnDType  *out_dtype);
gsize       kiln_dtype_get_size    (KilnDType   dtype);

/* Writes @tensors in order, and @metadata (string → string, may be NULL). */
gboolean    kiln_safetensors_save  (const char                  *path,
                                    const KilnSafetensorsTensor *tensors,
                                    guint                        n_tensors,
                                    GHashTable                  *metadata,
                                    GError                     **error);

#define KILN_TYPE_SAFETENSORS (kiln_safetensors_get_type ())
G_DECLARE_FINAL_TYPE (KilnSafetensors, kiln_safetensors, KILN, SAFETENSORS, GObject)

KilnSafetensors *kiln_safetensors_new_from_file  (const char  *path,
                                                  GError     **error);
/* @bytes is kept, not copied. */
KilnSafetensors *kiln_safetensors_new_from_bytes (GBytes      *bytes,
                                                  GError     **error);

/* Tensors in file order (by offset). */
guint        kiln_safetensors_get_n_tensors (KilnSafetensors *self);
const KilnSafetensorsTensor *
             kiln_safetensors_get_tensor_at (KilnSafetensors *self,
                                             guint            index);
/* NULL if there is no tensor called @name. */
const KilnSafetensorsTensor *
             kiln_safetensors_get_tensor    (KilnSafetensors *self,
                                             const char      *name);
/* Copies an F32 tensor of exactly @n_elements into @dest (host order). */
gboolean     kiln_safetensors_read_f32      (KilnSafetensors *self,
                                             const char      *name,
                                             float           *dest,
                                             gsize            n_elements,
                                             GError         **error);
/* NULL if absent. */
const char  *kiln_safetensors_get_metadata  (KilnSafetensors *self,
                                             const char      *key);
/* Sorted, NULL-terminated; free with g_free (the strings are borrowed). */
const char **kiln_safetensors_get_metadata_keys (KilnSafetensors *self);

G_END_DECLS
