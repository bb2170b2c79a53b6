#include "config.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "kiln-error.h"
#include "kiln-labels.h"

const char *const kiln_labels_fashion_mnist_classes[] = {
  "T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot", NULL,
};

/* Sets ------------------------------------------------------------------- */

KilnLabelSet *
kiln_label_set_new (void)
{
  KilnLabelSet *set = g_new0 (KilnLabelSet, 1);

  set->classes = g_ptr_array_new_with_free_func (g_free);
  set->paths = g_ptr_array_new_with_free_func (g_free);
  set->labels = g_array_new (FALSE, FALSE, sizeof (int));
  return set;
}

void
kiln_label_set_free (KilnLabelSet *set)
{
  if (set == NULL)
    return;
  g_ptr_array_unref (set->classes);
  g_ptr_array_unref (set->paths);
  g_array_unref (set->labels);
  g_free (set);
}

void
kiln_label_set_add (KilnLabelSet *set,
                    const char   *path,
                    int           label)
{
  g_ptr_array_add (set->paths, g_strdup (path));
  g_array_append_val (set->labels, label);
}

int
kiln_labels_compare_names (const char *a,
                           const char *b)
{
  g_autofree char *fa = g_utf8_casefold (a, -1);
  g_autofree char *fb = g_utf8_casefold (b, -1);
  int order = strcmp (fa, fb);

  return order != 0 ? order : strcmp (a, b);
}

int
kiln_labels_compare_classes (const char *a,
                             const char *b)
{
  gboolean a_root = g_strcmp0 (a, KILN_LABELS_ROOT_CLASS) == 0;
  gboolean b_root = g_strcmp0 (b, KILN_LABELS_ROOT_CLASS) == 0;

  if (a_root != b_root)
    return a_root ? 1 : -1;
  return kiln_labels_compare_names (a, b);
}

gboolean
kiln_labels_is_image_name (const char *name)
{
  static const char *const extensions[] = {
    ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm",
  };
  const char *dot = strrchr (name, '.');

  if (dot == NULL || dot == name)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (extensions); i++)
    if (g_ascii_strcasecmp (dot, extensions[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Folders ---------------------------------------------------------------- */

typedef int (*NameOrder) (const char *a, const char *b);

typedef struct {
  char     *name;
  gboolean  is_dir;
} Entry;

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->name);
  g_free (entry);
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b,
                 gpointer      order)
{
  return ((NameOrder) order) ((*(Entry **) a)->name, (*(Entry **) b)->name);
}

/* The visible entries of @dir that are folders or image files, sorted by
 * @order. Asking only for name and type lets GIO answer from readdir()
 * without a stat() per file, which matters for folders of 100,000 images. */
static GPtrArray *
list_sorted (const char    *dir,
             NameOrder      order,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (dir);
  g_autoptr(GFileEnumerator) enumerator = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
  g_autoptr(GError) local_error = NULL;

  enumerator = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                          G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                          G_FILE_QUERY_INFO_NONE, cancellable, &local_error);
  if (enumerator == NULL)
    goto failed;
  for (;;)
    {
      GFileInfo *info = NULL;
      const char *name;
      GFileType type;
      Entry *entry;

      if (!g_file_enumerator_iterate (enumerator, &info, NULL, cancellable, &local_error))
        goto failed;
      if (info == NULL)
        break;
      name = g_file_info_get_name (info);
      type = g_file_info_get_file_type (info);
      if (name[0] == '.')
        continue;
      if (type != G_FILE_TYPE_DIRECTORY
          && !(type == G_FILE_TYPE_REGULAR && kiln_labels_is_image_name (name)))
        continue;
      entry = g_new (Entry, 1);
      entry->name = g_strdup (name);
      entry->is_dir = type == G_FILE_TYPE_DIRECTORY;
      g_ptr_array_add (entries, entry);
    }
  g_ptr_array_sort_with_data (entries, compare_entries, (gpointer) order);
  return g_steal_pointer (&entries);

failed:
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
  return NULL;
}

static int
compare_bytes (const char *a,
               const char *b)
{
  return strcmp (a, b);
}

/* Adds the images below @root/@relative (recursively, in byte order) to
 * @paths as '/'-separated paths relative to @root. */
static gboolean
collect_images (const char    *root,
                const char    *relative,
                guint          depth,
                GPtrArray     *paths,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autofree char *dir = g_build_filename (root, relative, NULL);
  g_autoptr(GPtrArray) names = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (depth > 64)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s is nested more than 64 folders deep; is there a symbolic link loop?", dir);
      return FALSE;
    }
  names = list_sorted (dir, compare_bytes, cancellable, error);
  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      Entry *entry = names->pdata[i];
      char *child = g_strconcat (relative, "/", entry->name, NULL);

      if (!entry->is_dir)
        {
          g_ptr_array_add (paths, child);
          continue;
        }
      if (!collect_images (root, child, depth + 1, paths, cancellable, error))
        {
          g_free (child);
          return FALSE;
        }
      g_free (child);
    }
  return TRUE;
}

static KilnLabelSet *
label_tree (const char    *root,
            NameOrder      order,
            gboolean       root_class,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(KilnLabelSet) set = kiln_label_set_new ();
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GPtrArray) root_images = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_test (root, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is not a folder; give the folder that holds one sub-folder per class", root);
      return NULL;
    }
  names = list_sorted (root, order, cancellable, error);
  if (names == NULL)
    return NULL;

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = ((Entry *) names->pdata[i])->name;
      g_autoptr(GPtrArray) images = NULL;

      if (!((Entry *) names->pdata[i])->is_dir)
        {
          g_ptr_array_add (root_images, g_strdup (name));
          continue;
        }
      images = g_ptr_array_new_with_free_func (g_free);
      if (!collect_images (root, name, 1, images, cancellable, error))
        return NULL;
      if (images->len == 0)
        continue;
      for (guint k = 0; k < images->len; k++)
        kiln_label_set_add (set, images->pdata[k], set->classes->len);
      g_ptr_array_add (set->classes, g_strdup (name));
    }

  if (root_class && root_images->len > 0)
    {
      for (guint k = 0; k < root_images->len; k++)
        kiln_label_set_add (set, root_images->pdata[k], set->classes->len);
      g_ptr_array_add (set->classes, g_strdup (KILN_LABELS_ROOT_CLASS));
    }
  return g_steal_pointer (&set);
}

KilnLabelSet *
kiln_labels_from_folder (const char    *root,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  return label_tree (root, kiln_labels_compare_names, TRUE, cancellable, error);
}

KilnLabelSet *
kiln_labels_read_image_folder (const char    *root,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  return label_tree (root, compare_bytes, FALSE, cancellable, error);
}

/* Label files ------------------------------------------------------------ */

static void
append_escaped (GString    *out,
                const char *text)
{
  for (const char *p = text; *p; p++)
    switch (*p)
      {
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      case '\r': g_string_append (out, "\\r"); break;
      default: g_string_append_c (out, *p);
      }
}

/* Undoes append_escaped() on @length bytes of @text; NULL on a bad escape. */
static char *
unescape (const char *text,
          gsize       length)
{
  GString *out = g_string_sized_new (length);

  for (gsize i = 0; i < length; i++)
    {
      if (text[i] != '\\')
        {
          g_string_append_c (out, text[i]);
          continue;
        }
      if (++i >= length)
        goto bad;
      switch (text[i])
        {
        case '\\': g_string_append_c (out, '\\'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        default: goto bad;
        }
    }
  return g_string_free (out, FALSE);

bad:
  g_string_free (out, TRUE);
  return NULL;
}

static gboolean
write_atomically (const char  *path,
                  GString     *contents,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_file_set_contents_full (path, contents->str, contents->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_labels_write (const KilnLabelSet  *set,
                   const char          *label_file,
                   const char          *class_file,
                   GError             **error)
{
  g_autoptr(GString) labels = g_string_new (NULL);

  g_return_val_if_fail (set != NULL && label_file != NULL, FALSE);

  for (guint i = 0; i < set->paths->len; i++)
    {
      append_escaped (labels, set->paths->pdata[i]);
      g_string_append_printf (labels, " %d\n", g_array_index (set->labels, int, i));
    }
  if (!write_atomically (label_file, labels, error))
    return FALSE;

  if (class_file != NULL)
    {
      g_autoptr(GString) classes = g_string_new (NULL);

      for (guint i = 0; i < set->classes->len; i++)
        {
          g_string_append_printf (classes, "%u ", i);
          append_escaped (classes, set->classes->pdata[i]);
          g_string_append_c (classes, '\n');
        }
      if (!write_atomically (class_file, classes, error))
        return FALSE;
    }
  return TRUE;
}

/* Calls @line_func on each non-empty line of @path without its line end. */
static gboolean
for_each_line (const char  *path,
               gboolean   (*line_func) (const char *line, gsize length, guint number,
                                        gpointer data, GError **error),
               gpointer     data,
               GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *text, *end;
  guint number = 0;

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  text = g_mapped_file_get_contents (mapped);
  /* An empty file maps to NULL: no lines (and no pointer arithmetic on NULL). */
  if (text == NULL)
    return TRUE;
  end = text + g_mapped_file_get_length (mapped);
  while (text < end)
    {
      const char *newline = memchr (text, '\n', end - text);
      const char *line_end = newline ? newline : end;
      gsize length = line_end - text;

      number++;
      if (length > 0 && text[length - 1] == '\r')
        length--;
      if (length > 0 && !line_func (text, length, number, data, error))
        {
          g_prefix_error (error, "%s:%u: ", path, number);
          return FALSE;
        }
      text = newline ? newline + 1 : end;
    }
  return TRUE;
}

static gboolean
parse_int (const char  *text,
           gsize        length,
           int         *value,
           GError     **error)
{
  g_autofree char *copy = g_strndup (text, length);
  gint64 number;

  if (!g_ascii_string_to_signed (copy, 10, 0, G_MAXINT, &number, NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "“%s” is not a label number (0 or more)", copy);
      return FALSE;
    }
  if (number >= KILN_LABELS_MAX_CLASSES)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "label number %s is too large: Kiln numbers classes 0 to at most %d",
                   copy, KILN_LABELS_MAX_CLASSES - 1);
      return FALSE;
    }
  *value = (int) number;
  return TRUE;
}

static gboolean
parse_label_line (const char  *line,
                  gsize        length,
                  guint        number,
                  gpointer     data,
                  GError     **error)
{
  KilnLabelSet *set = data;
  gsize space = length;
  g_autofree char *path = NULL;
  int label;

  while (space > 0 && line[space - 1] != ' ' && line[space - 1] != '\t')
    space--;
  if (space <= 1)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "expected “path label”, found no space before a label");
      return FALSE;
    }
  if (!parse_int (line + space, length - space, &label, error))
    return FALSE;
  path = unescape (line, space - 1);
  if (path == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "a backslash in the path must be followed by \\, n or r");
      return FALSE;
    }
  kiln_label_set_add (set, path, label);
  return TRUE;
}

static gboolean
parse_class_line (const char  *line,
                  gsize        length,
                  guint        number,
                  gpointer     data,
                  GError     **error)
{
  KilnLabelSet *set = data;
  const char *space = memchr (line, ' ', length);
  char *name;
  int index;

  if (space == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "expected “index name”");
      return FALSE;
    }
  if (!parse_int (line, space - line, &index, error))
    return FALSE;
  name = unescape (space + 1, length - (space + 1 - line));
  if (name == NULL || *name == '\0')
    {
      g_free (name);
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "class %d has no valid name", index);
      return FALSE;
    }
  if ((guint) index >= set->classes->len)
    g_ptr_array_set_size (set->classes, index + 1);
  if (set->classes->pdata[index] != NULL)
    {
      g_free (name);
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "class %d is defined twice", index);
      return FALSE;
    }
  set->classes->pdata[index] = name;
  return TRUE;
}

KilnLabelSet *
kiln_labels_read (const char  *label_file,
                  const char  *class_file,
                  GError     **error)
{
  g_autoptr(KilnLabelSet) set = kiln_label_set_new ();
  int max_label = -1;

  g_return_val_if_fail (label_file != NULL, NULL);

  if (!for_each_line (label_file, parse_label_line, set, error))
    return NULL;
  for (guint i = 0; i < set->labels->len; i++)
    max_label = MAX (max_label, g_array_index (set->labels, int, i));

  if (class_file != NULL)
    {
      if (!for_each_line (class_file, parse_class_line, set, error))
        return NULL;
      for (guint i = 0; i < set->classes->len; i++)
        if (set->classes->pdata[i] == NULL)
          {
            g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                         "%s: class %u is missing; indices must run from 0 without gaps",
                         class_file, i);
            return NULL;
          }
      if (max_label >= (int) set->classes->len)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s uses label %d but %s defines only %u classes",
                       label_file, max_label, class_file, set->classes->len);
          return NULL;
        }
    }
  else
    for (int i = 0; i <= max_label; i++)
      g_ptr_array_add (set->classes, g_strdup_printf ("%d", i));

  return g_steal_pointer (&set);
}

/* IDX import ------------------------------------------------------------- */

/* Opens @path, decompressing gzip on the fly when it starts with 1f 8b. */
static GInputStream *
open_idx (const char    *path,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GFileInputStream) raw = g_file_read (file, cancellable, &local_error);
  g_autoptr(GBufferedInputStream) buffered = NULL;
  const guint8 *head;
  gsize available;

  if (raw == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  buffered = G_BUFFERED_INPUT_STREAM (g_buffered_input_stream_new_sized (G_INPUT_STREAM (raw),
                                                                         1 << 16));
  if (g_buffered_input_stream_fill (buffered, 2, cancellable, &local_error) < 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: %s", path, local_error->message);
      return NULL;
    }
  head = g_buffered_input_stream_peek_buffer (buffered, &available);
  if (available >= 2 && head[0] == 0x1f && head[1] == 0x8b)
    {
      g_autoptr(GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      return g_converter_input_stream_new (G_INPUT_STREAM (buffered), G_CONVERTER (gunzip));
    }
  return G_INPUT_STREAM (g_steal_pointer (&buffered));
}

static gboolean
read_exactly (GInputStream  *stream,
              const char    *path,
              void          *buffer,
              gsize          size,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize got = 0;

  if (!g_input_stream_read_all (stream, buffer, size, &got, cancellable, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: %s", path, local_error->message);
      return FALSE;
    }
  if (got != size)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s is truncated: it ends %" G_GSIZE_FORMAT " bytes early", path, size - got);
      return FALSE;
    }
  return TRUE;
}

/* Reads an IDX header of unsigned bytes with @n_dims dimensions. */
static gboolean
read_idx_header (GInputStream  *stream,
                 const char    *path,
                 guint          n_dims,
                 guint32       *dims,
                 GCancellable  *cancellable,
                 GError       **error)
{
  guint8 magic[4];
  guint8 raw[4 * 3];

  if (!read_exactly (stream, path, magic, 4, cancellable, error))
    return FALSE;
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != n_dims)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s is not an IDX file of unsigned bytes with %u dimensions "
                   "(magic %02x %02x %02x %02x; expected 00 00 08 %02x)",
                   path, n_dims, magic[0], magic[1], magic[2], magic[3], n_dims);
      return FALSE;
    }
  if (!read_exactly (stream, path, raw, 4 * n_dims, cancellable, error))
    return FALSE;
  for (guint i = 0; i < n_dims; i++)
    dims[i] = ((guint32) raw[4 * i] << 24) | ((guint32) raw[4 * i + 1] << 16)
              | ((guint32) raw[4 * i + 2] << 8) | raw[4 * i + 3];
  return TRUE;
}

static void
put_be32 (guint8  *p,
          guint32  v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
append_chunk (GByteArray   *png,
              const char   *type,
              const guint8 *data,
              guint32       length)
{
  guint8 word[4];
  uLong crc;

  put_be32 (word, length);
  g_byte_array_append (png, word, 4);
  g_byte_array_append (png, (const guint8 *) type, 4);
  if (length > 0)
    g_byte_array_append (png, data, length);
  crc = crc32 (0, (const Bytef *) type, 4);
  /* crc32 (crc, NULL, 0) restarts instead of passing @crc through. */
  if (length > 0)
    crc = crc32 (crc, data, length);
  put_be32 (word, (guint32) crc);
  g_byte_array_append (png, word, 4);
}

/* An 8-bit gray PNG of @pixels. @rows and @compressed are scratch space;
 * @zs is one deflate stream reset per image, since setting one up costs
 * more than compressing a 28 × 28 image. */
static gboolean
encode_gray_png (const guint8 *pixels,
                 guint32       width,
                 guint32       height,
                 z_stream     *zs,
                 GByteArray   *png,
                 GByteArray   *rows,
                 GByteArray   *compressed)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
  guint8 ihdr[13] = { 0 };

  g_byte_array_set_size (rows, 0);
  for (guint32 y = 0; y < height; y++)
    {
      static const guint8 no_filter = 0;
      g_byte_array_append (rows, &no_filter, 1);
      g_byte_array_append (rows, pixels + (gsize) y * width, width);
    }
  g_byte_array_set_size (compressed, deflateBound (zs, rows->len));
  if (deflateReset (zs) != Z_OK)
    return FALSE;
  zs->next_in = rows->data;
  zs->avail_in = rows->len;
  zs->next_out = compressed->data;
  zs->avail_out = compressed->len;
  if (deflate (zs, Z_FINISH) != Z_STREAM_END)
    return FALSE;

  put_be32 (ihdr, width);
  put_be32 (ihdr + 4, height);
  ihdr[8] = 8;   /* bit depth */
  ihdr[9] = 0;   /* gray */
  g_byte_array_set_size (png, 0);
  g_byte_array_append (png, signature, 8);
  append_chunk (png, "IHDR", ihdr, 13);
  append_chunk (png, "IDAT", compressed->data, zs->total_out);
  append_chunk (png, "IEND", NULL, 0);
  return TRUE;
}

static void
z_stream_free (z_stream *zs)
{
  deflateEnd (zs);
  g_free (zs);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (z_stream, z_stream_free)

KilnLabelSet *
kiln_labels_import_idx (const char         *images_file,
                        const char         *labels_file,
                        const char * const *classes,
                        const char         *out_root,
                        const char         *prefix,
                        guint               limit,
                        KilnProgressFunc    progress,
                        gpointer            user_data,
                        GCancellable       *cancellable,
                        GError            **error)
{
  g_autoptr(KilnLabelSet) set = kiln_label_set_new ();
  g_autoptr(GInputStream) images = NULL;
  g_autoptr(GInputStream) labels = NULL;
  g_autoptr(GByteArray) png = g_byte_array_new ();
  g_autoptr(GByteArray) rows = g_byte_array_new ();
  g_autoptr(GByteArray) compressed = g_byte_array_new ();
  g_autofree guint8 *label_values = NULL;
  g_autofree guint8 *pixels = NULL;
  g_auto(GStrv) folders = NULL;
  g_autoptr(z_stream) zs = g_new0 (z_stream, 1);
  guint32 image_dims[3], label_dims[1];
  guint n_classes, count;
  gsize image_size;

  g_return_val_if_fail (images_file != NULL && labels_file != NULL && out_root != NULL, NULL);

  if (prefix == NULL)
    prefix = "";
  if (deflateInit (zs, 6) != Z_OK)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "zlib could not start: out of memory");
      return NULL;
    }
  images = open_idx (images_file, cancellable, error);
  if (images == NULL)
    return NULL;
  labels = open_idx (labels_file, cancellable, error);
  if (labels == NULL)
    return NULL;
  if (!read_idx_header (images, images_file, 3, image_dims, cancellable, error)
      || !read_idx_header (labels, labels_file, 1, label_dims, cancellable, error))
    return NULL;
  if (image_dims[0] != label_dims[0])
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s holds %u images but %s holds %u labels; give the matching pair",
                   images_file, image_dims[0], labels_file, label_dims[0]);
      return NULL;
    }
  if (image_dims[1] == 0 || image_dims[2] == 0 || image_dims[1] > 4096 || image_dims[2] > 4096)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s: images of %u × %u pixels are not plausible", images_file,
                   image_dims[2], image_dims[1]);
      return NULL;
    }

  count = limit > 0 ? MIN (limit, image_dims[0]) : image_dims[0];
  label_values = g_malloc (MAX (count, 1));
  if (!read_exactly (labels, labels_file, label_values, count, cancellable, error))
    return NULL;

  if (classes != NULL)
    n_classes = g_strv_length ((char **) classes);
  else
    {
      n_classes = 0;
      for (guint i = 0; i < count; i++)
        n_classes = MAX (n_classes, (guint) label_values[i] + 1);
    }
  for (guint c = 0; c < n_classes; c++)
    {
      const char *name = classes ? classes[c] : NULL;

      if (name != NULL && (*name == '\0' || strchr (name, '/') != NULL
                           || g_str_equal (name, ".") || g_str_equal (name, "..")))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "“%s” cannot be a class folder name; use a name without '/'", name);
          return NULL;
        }
      g_ptr_array_add (set->classes, name ? g_strdup (name) : g_strdup_printf ("%u", c));
    }

  folders = g_new0 (char *, n_classes + 1);
  for (guint c = 0; c < n_classes; c++)
    {
      folders[c] = g_build_filename (out_root, set->classes->pdata[c], NULL);
      if (g_mkdir_with_parents (folders[c], 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create %s: %s",
                       folders[c], g_strerror (saved));
          return NULL;
        }
    }

  image_size = (gsize) image_dims[1] * image_dims[2];
  pixels = g_malloc (image_size);
  for (guint i = 0; i < count; i++)
    {
      guint label = label_values[i];
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;
      g_autoptr(GError) local_error = NULL;

      if (label >= n_classes)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s: image %u has label %u but only %u class names were given",
                       labels_file, i, label, n_classes);
          return NULL;
        }
      if (!read_exactly (images, images_file, pixels, image_size, cancellable, error)
          || !encode_gray_png (pixels, image_dims[2], image_dims[1], zs, png, rows, compressed))
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, KILN_ERROR, KILN_ERROR_FAILED, "Could not encode image %u", i);
          return NULL;
        }
      name = g_strdup_printf ("%s%05u.png", prefix, i);
      path = g_build_filename (folders[label], name, NULL);
      /* Temporary file + rename: a killed import leaves no half PNG. */
      if (!g_file_set_contents (path, (const char *) png->data, png->len, &local_error))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
          return NULL;
        }
      g_ptr_array_add (set->paths, g_strconcat (set->classes->pdata[label], "/", name, NULL));
      g_array_append_val (set->labels, label);
      if (progress != NULL && ((i + 1) % 256 == 0 || i + 1 == count))
        progress (i + 1, count, user_data);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          return NULL;
        }
    }
  return g_steal_pointer (&set);
}

KilnLabelSet *
kiln_labels_map_to_classes (const KilnLabelSet *set,
                            GPtrArray          *classes,
                            GError            **error)
{
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) missing = g_string_new (NULL);
  g_autofree int *to = g_new (int, MAX (set->classes->len, 1));

  for (guint c = 0; c < classes->len; c++)
    g_hash_table_insert (index, classes->pdata[c], GUINT_TO_POINTER (c + 1));
  for (guint c = 0; c < set->classes->len; c++)
    {
      to[c] = (int) GPOINTER_TO_UINT (g_hash_table_lookup (index, set->classes->pdata[c])) - 1;
      if (to[c] < 0)
        g_string_append_printf (missing, "%s“%s”", missing->len ? ", " : "", (char *) set->classes->pdata[c]);
    }
  if (missing->len > 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "The model knows no class named %s; its classes are the %u of its class file", missing->str,
                   classes->len);
      return NULL;
    }
  KilnLabelSet *out = kiln_label_set_new ();
  for (guint c = 0; c < classes->len; c++)
    g_ptr_array_add (out->classes, g_strdup (classes->pdata[c]));
  for (guint i = 0; i < set->paths->len; i++)
    {
      int label = g_array_index (set->labels, int, i);
      kiln_label_set_add (out, set->paths->pdata[i], label >= 0 && (guint) label < set->classes->len ? to[label] : -1);
    }
  return out;
}

guint
kiln_labels_count_missing (const KilnLabelSet *set,
                           const char         *root,
                           char              **first_missing)
{
  guint missing = 0;

  if (first_missing)
    *first_missing = NULL;
  for (guint i = 0; i < set->paths->len; i++)
    {
      g_autofree char *path = g_build_filename (root, set->paths->pdata[i], NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        continue;
      if (missing++ == 0 && first_missing)
        *first_missing = g_steal_pointer (&path);
    }
  return missing;
}
