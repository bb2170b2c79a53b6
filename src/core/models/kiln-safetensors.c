/* kiln-safetensors.c: strict safetensors reading, atomic writing. */
#include "config.h"

#include <inttypes.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-safetensors.h"
#include "kiln-json-text.h"

/* The reference implementation's limit on the JSON header. */
#define MAX_HEADER_SIZE  100000000
/* JSON nesting deeper than a valid header ever needs (json-glib recurses). */
#define MAX_JSON_DEPTH   8
#define METADATA_KEY     "__metadata__"

static const struct {
  const char *name;
  gsize size;
} dtypes[KILN_DTYPE_N_TYPES] = {
  [KILN_DTYPE_F64] = { "F64", 8 },
  [KILN_DTYPE_F32] = { "F32", 4 },
  [KILN_DTYPE_F16] = { "F16", 2 },
  [KILN_DTYPE_BF16] = { "BF16", 2 },
  [KILN_DTYPE_I64] = { "I64", 8 },
  [KILN_DTYPE_I32] = { "I32", 4 },
  [KILN_DTYPE_I16] = { "I16", 2 },
  [KILN_DTYPE_I8] = { "I8", 1 },
  [KILN_DTYPE_U64] = { "U64", 8 },
  [KILN_DTYPE_U32] = { "U32", 4 },
  [KILN_DTYPE_U16] = { "U16", 2 },
  [KILN_DTYPE_U8] = { "U8", 1 },
  [KILN_DTYPE_BOOL] = { "BOOL", 1 },
};

const char *
kiln_dtype_to_string (KilnDType dtype)
{
  return (guint) dtype < KILN_DTYPE_N_TYPES ? dtypes[dtype].name : "unknown";
}

gboolean
kiln_dtype_from_string (const char *name,
                        KilnDType  *out_dtype)
{
  for (guint i = 0; name && i < KILN_DTYPE_N_TYPES; i++)
    if (g_str_equal (name, dtypes[i].name))
      {
        *out_dtype = i;
        return TRUE;
      }
  return FALSE;
}

gsize
kiln_dtype_get_size (KilnDType dtype)
{
  return (guint) dtype < KILN_DTYPE_N_TYPES ? dtypes[dtype].size : 0;
}

static int
compare_string_ptrs (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Elements × dtype size, or FALSE on overflow or a bad shape. */
static gboolean
tensor_bytes (KilnDType     dtype,
              guint         n_dims,
              const gint64 *shape,
              guint64      *out)
{
  guint64 total = kiln_dtype_get_size (dtype);

  if (total == 0 || n_dims > KILN_SAFETENSORS_MAX_DIMS)
    return FALSE;
  for (guint i = 0; i < n_dims; i++)
    if (shape[i] < 0 || !g_uint64_checked_mul (&total, total, (guint64) shape[i]))
      return FALSE;
  *out = total;
  return TRUE;
}

/* ---- Writing ------------------------------------------------------------ */

static gboolean
write_all (int fd, const void *data, gsize length)
{
  const guint8 *p = data;

  while (length > 0)
    {
      gssize n = write (fd, p, MIN (length, (gsize) 1 << 30));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      length -= n;
    }
  return TRUE;
}

static char *
build_header (const KilnSafetensorsTensor *tensors,
              guint                        n_tensors,
              GHashTable                  *metadata,
              GError                     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 offset = 0;

  json_builder_begin_object (builder);
  if (metadata && g_hash_table_size (metadata) > 0)
    {
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, NULL);
      guint n = g_hash_table_size (metadata);

      /* Sorted, so the same checkpoint always gives the same bytes. */
      g_qsort_with_data (keys, n, sizeof (gpointer), compare_string_ptrs, NULL);
      json_builder_set_member_name (builder, METADATA_KEY);
      json_builder_begin_object (builder);
      for (guint i = 0; i < n; i++)
        {
          const char *value = g_hash_table_lookup (metadata, keys[i]);
          if (!g_utf8_validate (keys[i], -1, NULL) || value == NULL || !g_utf8_validate (value, -1, NULL))
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                           _("Checkpoint metadata must be UTF-8 strings"));
              return NULL;
            }
          json_builder_set_member_name (builder, keys[i]);
          json_builder_add_string_value (builder, value);
        }
      json_builder_end_object (builder);
    }

  for (guint i = 0; i < n_tensors; i++)
    {
      const KilnSafetensorsTensor *t = &tensors[i];
      guint64 bytes;

      if (t->name == NULL || t->name[0] == '\0' || g_str_equal (t->name, METADATA_KEY)
          || !g_utf8_validate (t->name, -1, NULL) || !g_hash_table_add (seen, (gpointer) t->name))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       _("Tensor %u has an empty, reserved or repeated name “%s”"),
                       i + 1, t->name ? t->name : "");
          return NULL;
        }
      if (!tensor_bytes (t->dtype, t->n_dims, t->shape, &bytes) || bytes != t->n_bytes
          || (bytes > 0 && t->data == NULL))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       _("%s: %zu bytes of data do not match its dtype and shape"),
                       t->name, t->n_bytes);
          return NULL;
        }
      json_builder_set_member_name (builder, t->name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, kiln_dtype_to_string (t->dtype));
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (guint d = 0; d < t->n_dims; d++)
        json_builder_add_int_value (builder, t->shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, offset);
      json_builder_add_int_value (builder, offset + bytes);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      offset += bytes;
    }
  json_builder_end_object (builder);

  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  return kiln_json_to_text (root, FALSE);
}

gboolean
kiln_safetensors_save (const char                  *path,
                       const KilnSafetensorsTensor *tensors,
                       guint                        n_tensors,
                       GHashTable                  *metadata,
                       GError                     **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (tensors != NULL || n_tensors == 0, FALSE);

  g_autofree char *header = build_header (tensors, n_tensors, metadata, error);
  g_autofree char *tmp_path = NULL;
  GString *padded;
  guint8 length_le[8];
  guint64 length;
  gboolean ok;
  int fd, saved_errno = 0;

  if (header == NULL)
    return FALSE;
  /* Spaces pad the header so the data starts 8-byte aligned in the file. */
  padded = g_string_new (header);
  while (padded->len % 8 != 0)
    g_string_append_c (padded, ' ');
  length = padded->len;
  for (int i = 0; i < 8; i++)
    length_le[i] = (guint8) (length >> (8 * i));

  tmp_path = g_strconcat (path, ".XXXXXX", NULL);
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      saved_errno = errno;
      g_string_free (padded, TRUE);
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO,
                   _("Could not write the checkpoint %s: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }

  ok = write_all (fd, length_le, sizeof length_le) && write_all (fd, padded->str, padded->len);
  for (guint i = 0; ok && i < n_tensors; i++)
    ok = write_all (fd, tensors[i].data, tensors[i].n_bytes);
  ok = ok && fsync (fd) == 0;
  if (!ok)
    saved_errno = errno;
  if (close (fd) != 0 && ok)
    {
      ok = FALSE;
      saved_errno = errno;
    }
  if (ok && g_rename (tmp_path, path) != 0)
    {
      ok = FALSE;
      saved_errno = errno;
    }
  guint64 total = sizeof length_le + padded->len;
  for (guint i = 0; i < n_tensors; i++)
    total += tensors[i].n_bytes;
  g_string_free (padded, TRUE);
  if (!ok)
    {
      g_autofree char *size = g_format_size (total);
      g_unlink (tmp_path);
      /* A full disk is the likely cause: say how much room the file needs. */
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO,
                   _("Could not write the checkpoint %s (%s): %s"), path, size, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/* ---- Reading ------------------------------------------------------------ */

typedef struct {
  KilnSafetensorsTensor tensor;
  char *name;
  gint64 shape[KILN_SAFETENSORS_MAX_DIMS];
  guint64 begin, end;
} Entry;

struct _KilnSafetensors
{
  GObject parent_instance;

  GBytes *bytes;
  GArray *entries;          /* Entry, sorted by offset */
  GHashTable *by_name;      /* name → index + 1 */
  GHashTable *metadata;     /* string → string */
};

G_DEFINE_FINAL_TYPE (KilnSafetensors, kiln_safetensors, G_TYPE_OBJECT)

static void
entry_clear (gpointer data)
{
  Entry *entry = data;
  g_free (entry->name);
}

static void
kiln_safetensors_finalize (GObject *object)
{
  KilnSafetensors *self = KILN_SAFETENSORS (object);

  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->metadata, g_hash_table_unref);
  g_clear_pointer (&self->entries, g_array_unref);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  G_OBJECT_CLASS (kiln_safetensors_parent_class)->finalize (object);
}

static void
kiln_safetensors_class_init (KilnSafetensorsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = kiln_safetensors_finalize;
}

static void
kiln_safetensors_init (KilnSafetensors *self)
{
  self->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (self->entries, entry_clear);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* Bracket depth outside strings, so json-glib never recurses deeply. */
static gboolean
json_depth_ok (const char *text, gsize length)
{
  int depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char ch = text[i];
      if (in_string)
        {
          if (ch == '\\')
            i++;
          else if (ch == '"')
            in_string = FALSE;
        }
      else if (ch == '"')
        in_string = TRUE;
      else if (ch == '{' || ch == '[')
        {
          if (++depth > MAX_JSON_DEPTH)
            return FALSE;
        }
      else if (ch == '}' || ch == ']')
        depth--;
    }
  return TRUE;
}

static gboolean
read_uint (JsonNode *node, guint64 *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < 0)
    return FALSE;
  *out = (guint64) json_node_get_int (node);
  return TRUE;
}

static gboolean
read_metadata (KilnSafetensors *self,
               JsonNode        *node,
               GError         **error)
{
  g_autoptr(GList) members = NULL;
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (const GList *l = members; l; l = l->next)
    {
      JsonNode *value = json_object_get_member (object, l->data);
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        goto bad;
      g_hash_table_replace (self->metadata, g_strdup (l->data), g_strdup (json_node_get_string (value)));
    }
  return TRUE;

bad:
  g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
               _("“%s” must map strings to strings"), METADATA_KEY);
  return FALSE;
}

static gboolean
read_entry (const char *name,
            JsonNode   *node,
            Entry      *entry,
            GError    **error)
{
  JsonObject *object;
  JsonNode *dtype_node, *shape_node, *offsets_node;
  JsonArray *shape, *offsets;
  guint64 bytes;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  object = json_node_get_object (node);
  if (json_object_get_size (object) != 3)
    goto bad;
  dtype_node = json_object_get_member (object, "dtype");
  shape_node = json_object_get_member (object, "shape");
  offsets_node = json_object_get_member (object, "data_offsets");
  if (!dtype_node || !shape_node || !offsets_node
      || !JSON_NODE_HOLDS_VALUE (dtype_node) || json_node_get_value_type (dtype_node) != G_TYPE_STRING
      || !JSON_NODE_HOLDS_ARRAY (shape_node) || !JSON_NODE_HOLDS_ARRAY (offsets_node))
    goto bad;
  if (!kiln_dtype_from_string (json_node_get_string (dtype_node), &entry->tensor.dtype))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s: dtype “%s” is not supported"), name, json_node_get_string (dtype_node));
      return FALSE;
    }
  shape = json_node_get_array (shape_node);
  offsets = json_node_get_array (offsets_node);
  if (json_array_get_length (shape) > KILN_SAFETENSORS_MAX_DIMS || json_array_get_length (offsets) != 2)
    goto bad;
  entry->tensor.n_dims = json_array_get_length (shape);
  for (guint d = 0; d < entry->tensor.n_dims; d++)
    {
      guint64 dim;
      if (!read_uint (json_array_get_element (shape, d), &dim))
        goto bad;
      entry->shape[d] = (gint64) dim;
    }
  if (!read_uint (json_array_get_element (offsets, 0), &entry->begin)
      || !read_uint (json_array_get_element (offsets, 1), &entry->end)
      || entry->end < entry->begin)
    goto bad;
  if (!tensor_bytes (entry->tensor.dtype, entry->tensor.n_dims, entry->shape, &bytes)
      || bytes != entry->end - entry->begin)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("%s: its dtype and shape do not match its %" PRIu64 " bytes of data"),
                   name, entry->end - entry->begin);
      return FALSE;
    }
  return TRUE;

bad:
  g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
               _("%s: a tensor needs exactly “dtype”, “shape” (up to %d sizes ≥ 0) and "
                 "“data_offsets” [begin, end] with begin ≤ end"),
               name, KILN_SAFETENSORS_MAX_DIMS);
  return FALSE;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;

  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

KilnSafetensors *
kiln_safetensors_new_from_bytes (GBytes  *bytes,
                                 GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);

  g_autoptr(KilnSafetensors) self = g_object_new (KILN_TYPE_SAFETENSORS, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GList) members = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  const char *header;
  guint64 header_len = 0, data_size, expected = 0;
  JsonObject *root;

  self->bytes = g_bytes_ref (bytes);
  if (size < 8)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("%zu bytes is too short for a safetensors file"), size);
      return NULL;
    }
  for (int i = 0; i < 8; i++)
    header_len |= (guint64) data[i] << (8 * i);
  if (header_len < 2 || header_len > MAX_HEADER_SIZE || header_len > size - 8)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("The header claims %" PRIu64 " bytes, but the file has %zu after the length (and at most %d are allowed)"),
                   header_len, size - 8, MAX_HEADER_SIZE);
      return NULL;
    }
  header = (const char *) data + 8;
  data_size = size - 8 - header_len;
  if (header[0] != '{' || memchr (header, '\0', header_len) != NULL
      || !g_utf8_validate (header, header_len, NULL) || !json_depth_ok (header, header_len))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("The header is not a UTF-8 JSON object of the expected shape"));
      return NULL;
    }
  if (!json_parser_load_from_data (parser, header, header_len, &local_error))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("The header is not valid JSON: %s"), local_error->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, _("The header is not a JSON object"));
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (root);
  for (const GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (root, name);
      Entry entry = { 0 };

      if (g_str_equal (name, METADATA_KEY))
        {
          if (!read_metadata (self, node, error))
            return NULL;
          continue;
        }
      if (!read_entry (name, node, &entry, error))
        return NULL;
      if (entry.end > data_size)
        {
          g_autofree char *claimed = g_format_size (entry.end - entry.begin);
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       _("%s: claims %s ending at byte %" PRIu64 ", but the data section has only %"
                         PRIu64 " bytes; the file is truncated or hostile"),
                       name, claimed, entry.end, data_size);
          return NULL;
        }
      entry.name = g_strdup (name);
      g_array_append_val (self->entries, entry);
    }

  /* The tensors must tile the data section exactly: no gaps, no overlaps. */
  g_array_sort (self->entries, compare_entries);
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = &g_array_index (self->entries, Entry, i);

      if (entry->begin != expected)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       _("%s: starts at byte %" PRIu64 " where %" PRIu64
                         " was expected; tensors overlap or leave gaps"),
                       entry->name, entry->begin, expected);
          return NULL;
        }
      expected = entry->end;
      entry->tensor.name = entry->name;
      entry->tensor.shape = entry->shape;
      entry->tensor.n_bytes = entry->end - entry->begin;
      entry->tensor.data = data + 8 + header_len + entry->begin;
      g_hash_table_insert (self->by_name, entry->name, GUINT_TO_POINTER (i + 1));
    }
  if (expected != data_size)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("The tensors cover %" PRIu64 " bytes but the data section has %" PRIu64),
                   expected, data_size);
      return NULL;
    }
  return g_steal_pointer (&self);
}

KilnSafetensors *
kiln_safetensors_new_from_file (const char  *path,
                                GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(GError) local_error = NULL;
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, &local_error);
  g_autoptr(GBytes) bytes = NULL;
  KilnSafetensors *self;

  if (mapped == NULL)
    {
      g_set_error (error, KILN_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? KILN_ERROR_NOT_FOUND : KILN_ERROR_IO,
                   "%s", local_error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  self = kiln_safetensors_new_from_bytes (bytes, &local_error);
  if (self == NULL)
    g_set_error (error, KILN_ERROR, local_error->code, "%s: %s", path, local_error->message);
  return self;
}

guint
kiln_safetensors_get_n_tensors (KilnSafetensors *self)
{
  g_return_val_if_fail (KILN_IS_SAFETENSORS (self), 0);
  return self->entries->len;
}

const KilnSafetensorsTensor *
kiln_safetensors_get_tensor_at (KilnSafetensors *self,
                                guint            index)
{
  g_return_val_if_fail (KILN_IS_SAFETENSORS (self), NULL);
  g_return_val_if_fail (index < self->entries->len, NULL);
  return &g_array_index (self->entries, Entry, index).tensor;
}

const KilnSafetensorsTensor *
kiln_safetensors_get_tensor (KilnSafetensors *self,
                             const char      *name)
{
  g_return_val_if_fail (KILN_IS_SAFETENSORS (self), NULL);

  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (self->by_name, name));
  return index ? &g_array_index (self->entries, Entry, index - 1).tensor : NULL;
}

gboolean
kiln_safetensors_read_f32 (KilnSafetensors *self,
                           const char      *name,
                           float           *dest,
                           gsize            n_elements,
                           GError         **error)
{
  g_return_val_if_fail (KILN_IS_SAFETENSORS (self), FALSE);

  const KilnSafetensorsTensor *t = kiln_safetensors_get_tensor (self, name);

  if (t == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   _("The checkpoint has no tensor “%s”"), name);
      return FALSE;
    }
  if (t->dtype != KILN_DTYPE_F32 || t->n_bytes != n_elements * sizeof (float))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   _("%s: holds %zu bytes of %s, not %zu F32 values"),
                   name, t->n_bytes, kiln_dtype_to_string (t->dtype), n_elements);
      return FALSE;
    }
  memcpy (dest, t->data, t->n_bytes);
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gsize i = 0; i < n_elements; i++)
    {
      guint32 bits;
      memcpy (&bits, &dest[i], 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (&dest[i], &bits, 4);
    }
#endif
  return TRUE;
}

const char *
kiln_safetensors_get_metadata (KilnSafetensors *self,
                               const char      *key)
{
  g_return_val_if_fail (KILN_IS_SAFETENSORS (self), NULL);
  return g_hash_table_lookup (self->metadata, key);
}

const char **
kiln_safetensors_get_metadata_keys (KilnSafetensors *self)
{
  g_return_val_if_fail (KILN_IS_SAFETENSORS (self), NULL);

  const char **keys = (const char **) g_hash_table_get_keys_as_array (self->metadata, NULL);
  g_qsort_with_data (keys, g_hash_table_size (self->metadata), sizeof (char *),
                     compare_string_ptrs, NULL);
  return keys;
}
