/* kiln-protobuf.c: checked decoding of protobuf files (ONNX, Caffe).
 *
 * Defence in three layers: the file size is capped before anything is
 * mapped; a wire-format walk checks every tag, wire type and length and
 * bounds message nesting (protobuf-c recurses without a limit) before
 * protobuf-c sees the bytes; and protobuf-c allocates through a budget, so
 * structures that expand small input into large allocations stop early. */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <gio/gio.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-protobuf.h"

/* Deeper than any real model (If/Loop subgraphs nest a few levels). */
#define MAX_MESSAGE_DEPTH 64
/* What protobuf-c may allocate beyond a multiple of the input size. */
#define BUDGET_BASE ((gsize) 64 << 20)
#define BUDGET_PER_INPUT_BYTE 4

/* ---- The budget allocator ---------------------------------------------- */


/* A size header in front of every block; 16 bytes keep malloc's alignment. */
#define BLOCK_HEADER 16

static void *
budget_alloc (void *data, size_t size)
{
  KilnProtobufBudget *budget = data;
  guint8 *block;

  if (size > budget->limit - budget->used || size > G_MAXSIZE - BLOCK_HEADER)
    {
      budget->exceeded = TRUE;
      return NULL;
    }
  block = g_try_malloc (size + BLOCK_HEADER);
  if (block == NULL)
    {
      budget->exceeded = TRUE;
      return NULL;
    }
  *(gsize *) block = size;
  budget->used += size;
  return block + BLOCK_HEADER;
}

static void
budget_free (void *data, void *pointer)
{
  KilnProtobufBudget *budget = data;
  guint8 *block;

  if (pointer == NULL)
    return;
  block = (guint8 *) pointer - BLOCK_HEADER;
  budget->used -= *(gsize *) block;
  g_free (block);
}

static void
budget_init (KilnProtobufBudget *budget, ProtobufCAllocator *allocator, gsize input_length)
{
  gsize limit = BUDGET_BASE;

  if (input_length <= (G_MAXSIZE - limit) / BUDGET_PER_INPUT_BYTE)
    limit += input_length * BUDGET_PER_INPUT_BYTE;
  else
    limit = G_MAXSIZE;
  budget->used = 0;
  budget->limit = limit;
  budget->exceeded = FALSE;
  allocator->alloc = budget_alloc;
  allocator->free = budget_free;
  allocator->allocator_data = budget;
}

/* ---- Wire-format walk --------------------------------------------------- */

static gboolean
read_varint (const guint8 *data, gsize length, gsize *pos, guint64 *value)
{
  guint64 v = 0;

  for (guint shift = 0; shift < 64; shift += 7)
    {
      if (*pos >= length)
        return FALSE;
      guint8 byte = data[(*pos)++];
      v |= (guint64) (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0)
        {
          *value = v;
          return TRUE;
        }
    }
  return FALSE;
}

static int
expected_wire_type (ProtobufCType type)
{
  switch (type)
    {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
      return 0;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 1;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return 5;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
    default:
      return 2;
    }
}

/* Checks one message's bytes; `offset` is where they start in the file, for
 * messages that point at the bad byte. */
static gboolean
wire_check (const guint8                     *data,
            gsize                             length,
            gsize                             offset,
            const ProtobufCMessageDescriptor *desc,
            guint                             depth,
            const char                       *format,
            GString                          *problem)
{
  gsize pos = 0;

  if (depth > MAX_MESSAGE_DEPTH)
    {
      g_string_printf (problem, _("messages nest more than %d deep at byte %zu"),
                       MAX_MESSAGE_DEPTH, offset);
      return FALSE;
    }

  while (pos < length)
    {
      gsize field_start = pos;
      guint64 tag, value;

      if (!read_varint (data, length, &pos, &tag))
        {
          g_string_printf (problem, _("a field tag in %s at byte %zu is cut off"),
                           desc->short_name, offset + field_start);
          return FALSE;
        }
      guint64 number = tag >> 3;
      int wire_type = tag & 7;
      if (number == 0 || number > 536870911)
        {
          g_string_printf (problem, _("%s has a field number %" PRIu64 " at byte %zu"),
                           desc->short_name, number, offset + field_start);
          return FALSE;
        }
      const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field (desc, (unsigned) number);

      switch (wire_type)
        {
        case 0:
          if (!read_varint (data, length, &pos, &value))
            goto truncated;
          break;
        case 1:
          if (length - pos < 8)
            goto truncated;
          pos += 8;
          break;
        case 5:
          if (length - pos < 4)
            goto truncated;
          pos += 4;
          break;
        case 2:
          if (!read_varint (data, length, &pos, &value))
            goto truncated;
          if (value > length - pos)
            {
              g_string_printf (problem,
                               _("%s.%s at byte %zu claims %" PRIu64
                               " bytes but only %zu follow"),
                               desc->short_name, field ? field->name : "(unknown field)",
                               offset + field_start, value, length - pos);
              return FALSE;
            }
          if (field && field->type == PROTOBUF_C_TYPE_MESSAGE &&
              !wire_check (data + pos, value, offset + pos, field->descriptor, depth + 1, format, problem))
            return FALSE;
          pos += value;
          break;
        default:
          g_string_printf (problem, _("%s field %" PRIu64 " at byte %zu has wire type %d, which %s never uses"),
                           desc->short_name, number, offset + field_start, wire_type, format);
          return FALSE;
        }

      if (field)
        {
          int expected = expected_wire_type (field->type);
          /* Repeated numbers may come packed (length-delimited). */
          gboolean packed_ok = field->label == PROTOBUF_C_LABEL_REPEATED && wire_type == 2;
          if (wire_type != expected && !packed_ok)
            {
              g_string_printf (problem, _("%s.%s at byte %zu has wire type %d where %d belongs"),
                               desc->short_name, field->name, offset + field_start,
                               wire_type, expected);
              return FALSE;
            }
        }
      continue;

    truncated:
      g_string_printf (problem, _("%s.%s at byte %zu is cut off at the end of the data"),
                       desc->short_name, field ? field->name : "(unknown field)",
                       offset + field_start);
      return FALSE;
    }
  return TRUE;
}

ProtobufCMessage *
kiln_protobuf_unpack (const ProtobufCMessageDescriptor *desc,
                      const guint8                     *data,
                      gsize                             length,
                      const char                       *display_name,
                      const char                       *format,
                      ProtobufCAllocator               *allocator,
                      KilnProtobufBudget               *budget,
                      GError                          **error)
{
  g_autoptr(GString) problem = g_string_new (NULL);
  ProtobufCMessage *message;

  if (!wire_check (data, length, 0, desc, 0, format, problem))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   _("%s is not a valid %s %s: %s. The file is truncated, damaged or not %s; "
                   "export or download it again"),
                   display_name, format, desc->short_name, problem->str, format);
      return NULL;
    }

  budget_init (budget, allocator, length);
  message = protobuf_c_message_unpack (desc, allocator, length, data);
  if (message == NULL)
    {
      if (budget->exceeded)
        g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                     _("%s: decoding this %zu-byte %s would need more than %zu MiB of memory; the file is hostile or damaged"),
                     display_name, length, desc->short_name, budget->limit >> 20);
      else
        g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                     _("%s is not a valid %s %s (protobuf decoding failed); "
                     "export or download it again"), display_name, format, desc->short_name);
    }
  return message;
}

GMappedFile *
kiln_protobuf_map_file (const char *path, const char *hint, GError **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;
  GMappedFile *mapped;

  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_SIZE,
                            G_FILE_QUERY_INFO_NONE, NULL, &local_error);
  if (info == NULL)
    {
      g_set_error (error, KILN_ERROR,
                   g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ?
                   KILN_ERROR_NOT_FOUND : KILN_ERROR_IO,
                   _("Cannot read %s: %s"), path, local_error->message);
      return NULL;
    }
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   _("%s is not a regular file; %s"), path, hint);
      return NULL;
    }
  if (g_file_info_get_size (info) > KILN_PROTOBUF_MAX_FILE_SIZE)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_UNSUPPORTED,
                   _("%s is %" PRId64 " bytes; protobuf files cannot exceed 2 GiB. "
                   "(ONNX models this large keep their weights as external data, which Kiln does not read)"),
                   path, g_file_info_get_size (info));
      return NULL;
    }
  if (g_file_info_get_size (info) == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, _("%s is empty"), path);
      return NULL;
    }

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, _("Cannot read %s: %s"), path, local_error->message);
      return NULL;
    }
  return mapped;
}


/* ---- Text format --------------------------------------------------------- */

/* Deeper than any real prototxt (layer { convolution_param { weight_filler } }). */
#define MAX_TEXT_DEPTH 32

typedef struct {
  const char *text;
  gsize length;
  gsize pos;
  guint line;
  const char *display_name;
  GError **error;
} TextParser;

G_GNUC_PRINTF (2, 3)
static gboolean
text_error (TextParser *p, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (p->error, KILN_ERROR, KILN_ERROR_CORRUPT, _("%s, line %u: %s"), p->display_name, p->line, message);
  return FALSE;
}

static void
skip_space (TextParser *p)
{
  while (p->pos < p->length)
    {
      char c = p->text[p->pos];
      if (c == '#')
        {
          while (p->pos < p->length && p->text[p->pos] != '\n')
            p->pos++;
        }
      else if (c == '\n')
        {
          p->line++;
          p->pos++;
        }
      else if (g_ascii_isspace (c) || c == '\0')
        p->pos++;
      else
        break;
    }
}

static gboolean
peek (TextParser *p, char c)
{
  skip_space (p);
  return p->pos < p->length && p->text[p->pos] == c;
}

static gboolean
accept (TextParser *p, char c)
{
  if (!peek (p, c))
    return FALSE;
  p->pos++;
  return TRUE;
}

/* An identifier, number or bare word: letters, digits, _ . + - */
static char *
read_word (TextParser *p)
{
  gsize start;

  skip_space (p);
  start = p->pos;
  while (p->pos < p->length &&
         (g_ascii_isalnum (p->text[p->pos]) || strchr ("_.+-", p->text[p->pos]) != NULL))
    p->pos++;
  if (p->pos == start)
    return NULL;
  return g_strndup (p->text + start, p->pos - start);
}

/* A quoted string ("…" or '…'; adjacent strings join) with C escapes. */
static char *
read_string (TextParser *p)
{
  GString *s;

  if (!peek (p, '"') && !peek (p, '\''))
    return NULL;
  s = g_string_new (NULL);

  while (peek (p, '"') || peek (p, '\''))
    {
      char quote = p->text[p->pos++];
      for (;;)
        {
          if (p->pos >= p->length || p->text[p->pos] == '\n')
            {
              g_string_free (s, TRUE);
              text_error (p, _("a string is not closed"));
              return NULL;
            }
          char c = p->text[p->pos++];
          if (c == quote)
            break;
          if (c == '\\' && p->pos < p->length)
            {
              c = p->text[p->pos++];
              c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
            }
          g_string_append_c (s, c);
        }
    }
  return g_string_free (s, FALSE);
}

static gboolean parse_message (TextParser *p, const ProtobufCMessageDescriptor *desc, ProtobufCMessage *msg,
                               guint depth, char close);
static gboolean skip_message (TextParser *p, guint depth, char close);

/* Skips one value of an undeclared field: a block, a list or a scalar. */
static gboolean
skip_value (TextParser *p, guint depth)
{
  if (accept (p, '{'))
    return skip_message (p, depth + 1, '}');
  if (accept (p, '<'))
    return skip_message (p, depth + 1, '>');
  if (accept (p, '['))
    {
      while (!accept (p, ']'))
        {
          gsize start = p->pos;
          if (!skip_value (p, depth))
            return FALSE;
          accept (p, ',');
          if (p->pos == start)
            return text_error (p, _("a [ … ] list holds something that is not a value"));
        }
      return TRUE;
    }
  if (peek (p, '"') || peek (p, '\''))
    {
      g_autofree char *s = read_string (p);
      return s != NULL;
    }
  g_autofree char *word = read_word (p);
  if (word == NULL)
    return text_error (p, _("a value is missing"));
  return TRUE;
}

static gboolean
skip_message (TextParser *p, guint depth, char close)
{
  if (depth > MAX_TEXT_DEPTH)
    return text_error (p, _("blocks nest more than %d deep"), MAX_TEXT_DEPTH);
  while (!accept (p, close))
    {
      g_autofree char *name = read_word (p);
      if (name == NULL)
        return text_error (p, p->pos >= p->length ? _("the file ends inside a block") : _("a field name is missing"));
      accept (p, ':');
      if (!skip_value (p, depth))
        return FALSE;
      if (!accept (p, ','))
        accept (p, ';');
    }
  return TRUE;
}

static gsize
scalar_size (ProtobufCType type)
{
  switch (type)
    {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof (gpointer);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof (ProtobufCBinaryData);
    default:
      return 4;
    }
}

/* Where the next value of `field` goes: a new slot of a repeated field, or
 * the field itself (its has_ flag set). */
static gpointer
field_slot (ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
  guint8 *base = (guint8 *) msg;
  gsize size = scalar_size (field->type);

  if (field->label == PROTOBUF_C_LABEL_REPEATED)
    {
      gsize *n = (gsize *) (base + field->quantifier_offset);
      guint8 **array = (guint8 **) (base + field->offset);
      *array = g_realloc (*array, (*n + 1) * size);
      memset (*array + *n * size, 0, size);
      return *array + (*n)++ * size;
    }
  if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE && field->quantifier_offset)
    *(protobuf_c_boolean *) (base + field->quantifier_offset) = TRUE;
  return base + field->offset;
}

static gboolean
parse_scalar (TextParser *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
  if (field->type == PROTOBUF_C_TYPE_STRING)
    {
      char *s = read_string (p);
      if (s == NULL)
        return p->error && *p->error ? FALSE : text_error (p, _("%s needs a quoted string"), field->name);
      char **slot = field_slot (msg, field);
      if (*slot && *slot != field->default_value)
        g_free (*slot);
      *slot = s;
      return TRUE;
    }

  g_autofree char *word = read_word (p);
  if (word == NULL)
    return text_error (p, _("%s needs a value"), field->name);
  char *end = NULL;
  gpointer slot;

  switch (field->type)
    {
    case PROTOBUF_C_TYPE_BOOL:
      if (!g_str_equal (word, "true") && !g_str_equal (word, "false") &&
          !g_str_equal (word, "1") && !g_str_equal (word, "0"))
        return text_error (p, _("%s is a boolean but reads “%s”"), field->name, word);
      *(protobuf_c_boolean *) field_slot (msg, field) = word[0] == 't' || word[0] == '1';
      return TRUE;
    case PROTOBUF_C_TYPE_ENUM:
      {
        const ProtobufCEnumValue *value =
          protobuf_c_enum_descriptor_get_value_by_name (field->descriptor, word);
        if (value == NULL)
          return text_error (p, _("%s has no value %s"), field->name, word);
        *(int *) field_slot (msg, field) = value->value;
        return TRUE;
      }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
      {
        double v = g_ascii_strtod (word, &end);
        if (end == word || *end != '\0')
          return text_error (p, _("%s is a number but reads “%s”"), field->name, word);
        slot = field_slot (msg, field);
        if (field->type == PROTOBUF_C_TYPE_FLOAT)
          *(float *) slot = (float) v;
        else
          *(double *) slot = v;
        return TRUE;
      }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FIXED64:
      {
        guint64 v;
        if (!g_ascii_string_to_unsigned (word, 10, 0, field->type == PROTOBUF_C_TYPE_UINT32 ||
                                         field->type == PROTOBUF_C_TYPE_FIXED32 ? G_MAXUINT32 : G_MAXUINT64,
                                         &v, NULL))
          return text_error (p, _("%s needs a whole number ≥ 0 but reads “%s”"), field->name, word);
        slot = field_slot (msg, field);
        if (scalar_size (field->type) == 8)
          *(guint64 *) slot = v;
        else
          *(guint32 *) slot = (guint32) v;
        return TRUE;
      }
    default:
      {
        gint64 v;
        gboolean wide = scalar_size (field->type) == 8;
        if (!g_ascii_string_to_signed (word, 10, wide ? G_MININT64 : G_MININT32, wide ? G_MAXINT64 : G_MAXINT32,
                                       &v, NULL))
          return text_error (p, _("%s needs a whole number but reads “%s”"), field->name, word);
        slot = field_slot (msg, field);
        if (wide)
          *(gint64 *) slot = v;
        else
          *(gint32 *) slot = (gint32) v;
        return TRUE;
      }
    }
}

static gboolean
parse_value (TextParser *p, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field, guint depth)
{
  if (field->type == PROTOBUF_C_TYPE_MESSAGE)
    {
      char close = accept (p, '{') ? '}' : accept (p, '<') ? '>' : '\0';
      if (close == '\0')
        return text_error (p, _("%s needs a { … } block"), field->name);
      ProtobufCMessage **slot = field_slot (msg, field);
      const ProtobufCMessageDescriptor *desc = field->descriptor;
      if (*slot == NULL)
        {
          *slot = g_malloc0 (desc->sizeof_message);
          desc->message_init (*slot);
        }
      return parse_message (p, desc, *slot, depth + 1, close);
    }
  if (field->type == PROTOBUF_C_TYPE_BYTES)
    return skip_value (p, depth);
  return parse_scalar (p, msg, field);
}

static gboolean
parse_message (TextParser *p, const ProtobufCMessageDescriptor *desc, ProtobufCMessage *msg, guint depth, char close)
{
  if (depth > MAX_TEXT_DEPTH)
    return text_error (p, _("blocks nest more than %d deep"), MAX_TEXT_DEPTH);
  for (;;)
    {
      skip_space (p);
      if (close ? accept (p, close) : p->pos >= p->length)
        return TRUE;
      g_autofree char *name = read_word (p);
      if (name == NULL && p->pos >= p->length)
        return text_error (p, _("the file ends inside a block"));
      if (name == NULL)
        return text_error (p, _("a field name is missing before “%c”"), p->text[p->pos]);
      const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field_by_name (desc, name);
      gboolean colon = accept (p, ':');

      if (field == NULL)
        {
          /* Fields Kiln does not read (fillers, learning rates, …). */
          if (!skip_value (p, depth))
            return FALSE;
        }
      else if (field->label == PROTOBUF_C_LABEL_REPEATED && colon && accept (p, '['))
        {
          while (!accept (p, ']'))
            {
              gsize start = p->pos;
              if (p->pos >= p->length)
                return text_error (p, _("a [ … ] list is not closed"));
              if (!parse_value (p, msg, field, depth))
                return FALSE;
              accept (p, ',');
              if (p->pos == start)
                return text_error (p, _("a [ … ] list holds something that is not a value"));
            }
        }
      else if (!parse_value (p, msg, field, depth))
        return FALSE;
      if (!accept (p, ','))
        accept (p, ';');
    }
}

ProtobufCMessage *
kiln_protobuf_parse_text (const ProtobufCMessageDescriptor *desc,
                          const char                       *text,
                          gsize                             length,
                          const char                       *display_name,
                          GError                          **error)
{
  TextParser p = { .text = text, .length = length, .line = 1, .display_name = display_name, .error = error };
  ProtobufCMessage *msg = g_malloc0 (desc->sizeof_message);

  desc->message_init (msg);
  if (!parse_message (&p, desc, msg, 0, '\0'))
    {
      protobuf_c_message_free_unpacked (msg, NULL);
      return NULL;
    }
  return msg;
}
