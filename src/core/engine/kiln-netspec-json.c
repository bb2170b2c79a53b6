/* kiln-netspec-json.c: KilnNetSpec to and from JSON.
 *
 * Loading trusts nothing: every member is type-checked against a table of
 * the fields each layer type has, and the layers go through
 * kiln_net_spec_add_layer(), which checks values and inputs. */
#include "config.h"

#include <inttypes.h>

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>

#include "kiln-engine-error.h"
#include "kiln-netspec.h"
#include "kiln-json-text.h"

#define FORMAT_NAME     "kiln-netspec"
#define FORMAT_VERSION  1
#define MAX_LAYERS      100000
#define MAX_FILE_SIZE   (64 * 1024 * 1024)

typedef enum {
  FIELD_INT,
  FIELD_BOOL,
  FIELD_FLOAT,
  FIELD_PAIR,      /* int or [h, w] over two consecutive ints */
  FIELD_PADS,      /* int, [h, w] or [top, left, bottom, right] */
  FIELD_ROUNDING,  /* "floor" or "ceil" */
  FIELD_PAD_MODE,  /* "constant", "edge" or "reflect" */
} FieldKind;

#define T(x) (1u << KILN_LAYER_##x)
#define WINDOWED (T (CONVOLUTION) | T (MAX_POOL) | T (AVG_POOL))

static const struct {
  const char *name;
  FieldKind kind;
  guint types;
  gsize offset;
} fields[] = {
  { "num_output", FIELD_INT, T (CONVOLUTION) | T (INNER_PRODUCT), G_STRUCT_OFFSET (KilnLayerSpec, num_output) },
  { "bias", FIELD_BOOL, T (CONVOLUTION) | T (INNER_PRODUCT), G_STRUCT_OFFSET (KilnLayerSpec, bias) },
  { "kernel", FIELD_PAIR, WINDOWED, G_STRUCT_OFFSET (KilnLayerSpec, kernel_h) },
  { "stride", FIELD_PAIR, WINDOWED, G_STRUCT_OFFSET (KilnLayerSpec, stride_h) },
  { "pad", FIELD_PADS, WINDOWED | T (PAD), G_STRUCT_OFFSET (KilnLayerSpec, pad_top) },
  { "mode", FIELD_PAD_MODE, T (PAD), G_STRUCT_OFFSET (KilnLayerSpec, pad_mode) },
  { "value", FIELD_FLOAT, T (PAD), G_STRUCT_OFFSET (KilnLayerSpec, pad_value) },
  { "dilation", FIELD_PAIR, T (CONVOLUTION), G_STRUCT_OFFSET (KilnLayerSpec, dilation_h) },
  { "group", FIELD_INT, T (CONVOLUTION), G_STRUCT_OFFSET (KilnLayerSpec, group) },
  { "rounding", FIELD_ROUNDING, T (MAX_POOL) | T (AVG_POOL), G_STRUCT_OFFSET (KilnLayerSpec, rounding) },
  { "count_include_pad", FIELD_BOOL, T (AVG_POOL), G_STRUCT_OFFSET (KilnLayerSpec, count_include_pad) },
  { "local_size", FIELD_INT, T (LRN), G_STRUCT_OFFSET (KilnLayerSpec, local_size) },
  { "alpha", FIELD_FLOAT, T (LRN), G_STRUCT_OFFSET (KilnLayerSpec, alpha) },
  { "beta", FIELD_FLOAT, T (LRN), G_STRUCT_OFFSET (KilnLayerSpec, beta) },
  { "k", FIELD_FLOAT, T (LRN), G_STRUCT_OFFSET (KilnLayerSpec, k) },
  { "ratio", FIELD_FLOAT, T (DROPOUT), G_STRUCT_OFFSET (KilnLayerSpec, ratio) },
  { "epsilon", FIELD_FLOAT, T (BATCH_NORM), G_STRUCT_OFFSET (KilnLayerSpec, epsilon) },
  { "momentum", FIELD_FLOAT, T (BATCH_NORM), G_STRUCT_OFFSET (KilnLayerSpec, momentum) },
  { "axis", FIELD_INT, T (CONCAT) | T (FLATTEN), G_STRUCT_OFFSET (KilnLayerSpec, axis) },
  { "frozen", FIELD_BOOL, ~0u, G_STRUCT_OFFSET (KilnLayerSpec, frozen) },
};

#define FIELD_PTR(type, layer, offset) ((type *) G_STRUCT_MEMBER_P ((layer), (offset)))

/* The double nearest the shortest decimal that reads back as the same
 * float: json-glib prints 17 digits, so 5e-4f comes out as
 * 0.00050000000000000001 rather than float's 0.00050000002374872565. */
static double
shortest_double (float value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  double result = value;

  for (int digits = 6; digits <= 9; digits++)
    {
      g_autofree char *format = g_strdup_printf ("%%.%dg", digits);
      result = g_ascii_strtod (g_ascii_formatd (buffer, sizeof buffer, format, value), NULL);
      if ((float) result == value)
        break;
    }
  return result;
}

static void
add_int_array (JsonBuilder *builder, const int *values, guint n)
{
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    json_builder_add_int_value (builder, values[i]);
  json_builder_end_array (builder);
}

static void
add_layer (JsonBuilder         *builder,
           const KilnLayerSpec *layer)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, layer->name);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, kiln_layer_type_to_string (layer->type));
  if (layer->inputs && layer->inputs[0])
    {
      json_builder_set_member_name (builder, "inputs");
      json_builder_begin_array (builder);
      for (guint i = 0; layer->inputs[i]; i++)
        json_builder_add_string_value (builder, layer->inputs[i]);
      json_builder_end_array (builder);
    }

  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      gsize offset = fields[i].offset;

      if (!(fields[i].types & (1u << layer->type)))
        continue;
      json_builder_set_member_name (builder, fields[i].name);
      switch (fields[i].kind)
        {
        case FIELD_INT:
          json_builder_add_int_value (builder, *FIELD_PTR (int, layer, offset));
          break;
        case FIELD_BOOL:
          json_builder_add_boolean_value (builder, *FIELD_PTR (gboolean, layer, offset));
          break;
        case FIELD_FLOAT:
          json_builder_add_double_value (builder, shortest_double (*FIELD_PTR (float, layer, offset)));
          break;
        case FIELD_PAIR:
          add_int_array (builder, FIELD_PTR (int, layer, offset), 2);
          break;
        case FIELD_PADS:
          add_int_array (builder, FIELD_PTR (int, layer, offset), 4);
          break;
        case FIELD_ROUNDING:
          json_builder_add_string_value (builder,
                                         *FIELD_PTR (KilnRounding, layer, offset) == KILN_ROUND_CEIL ? "ceil" : "floor");
          break;
        case FIELD_PAD_MODE:
          json_builder_add_string_value (builder, kiln_pad_mode_to_string (*FIELD_PTR (KilnPadMode, layer, offset)));
          break;
        default:
          g_assert_not_reached ();
        }
    }
  json_builder_end_object (builder);
}

JsonNode *
kiln_net_spec_to_json (KilnNetSpec *self)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), NULL);

  g_autoptr(JsonBuilder) builder = json_builder_new ();
  int c, h, w;

  kiln_net_spec_get_input (self, &c, &h, &w);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, FORMAT_NAME);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, FORMAT_VERSION);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, kiln_net_spec_get_name (self));
  json_builder_set_member_name (builder, "input");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channels");
  json_builder_add_int_value (builder, c);
  json_builder_set_member_name (builder, "height");
  json_builder_add_int_value (builder, h);
  json_builder_set_member_name (builder, "width");
  json_builder_add_int_value (builder, w);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "exact_fit");
  json_builder_add_boolean_value (builder, kiln_net_spec_get_exact_fit (self));
  json_builder_set_member_name (builder, "layers");
  json_builder_begin_array (builder);
  for (guint i = 0; i < kiln_net_spec_get_n_layers (self); i++)
    add_layer (builder, kiln_net_spec_get_layer (self, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* ---- Loading ------------------------------------------------------------ */

static gboolean
read_int (JsonNode *node, int lo, int hi, int *out)
{
  gint64 value;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  value = json_node_get_int (node);
  if (value < lo || value > hi)
    return FALSE;
  *out = (int) value;
  return TRUE;
}

static gboolean
read_ints (JsonNode *node, int *out, guint n_out)
{
  JsonArray *array;
  guint n;
  int values[4];

  if (read_int (node, G_MININT, G_MAXINT, &values[0]))
    {
      for (guint i = 0; i < n_out; i++)
        out[i] = values[0];
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n != 2 && n != n_out)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!read_int (json_array_get_element (array, i), G_MININT, G_MAXINT, &values[i]))
      return FALSE;
  if (n == n_out)
    memcpy (out, values, n * sizeof (int));
  else   /* [h, w] for pads: top = bottom = h, left = right = w */
    {
      out[0] = out[2] = values[0];
      out[1] = out[3] = values[1];
    }
  return TRUE;
}

static const char *
field_expectation (FieldKind kind)
{
  switch (kind)
    {
    case FIELD_INT: return _("an integer");
    case FIELD_BOOL: return _("true or false");
    case FIELD_FLOAT: return _("a finite number");
    case FIELD_PAIR: return _("an integer or [height, width]");
    case FIELD_PADS: return _("an integer, [height, width] or [top, left, bottom, right]");
    case FIELD_ROUNDING: return _("“floor” or “ceil”");
    case FIELD_PAD_MODE: return _("“constant”, “edge” or “reflect”");
    default: return "?";
    }
}

static gboolean
read_field (guint          i,
            JsonNode      *node,
            KilnLayerSpec *layer)
{
  gsize offset = fields[i].offset;

  switch (fields[i].kind)
    {
    case FIELD_INT:
      return read_int (node, G_MININT, G_MAXINT, FIELD_PTR (int, layer, offset));
    case FIELD_BOOL:
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
        return FALSE;
      *FIELD_PTR (gboolean, layer, offset) = json_node_get_boolean (node);
      return TRUE;
    case FIELD_FLOAT:
      {
        double value;
        if (!JSON_NODE_HOLDS_VALUE (node)
            || (json_node_get_value_type (node) != G_TYPE_DOUBLE
                && json_node_get_value_type (node) != G_TYPE_INT64))
          return FALSE;
        value = json_node_get_double (node);
        if (!isfinite (value) || fabs (value) > G_MAXFLOAT)
          return FALSE;
        *FIELD_PTR (float, layer, offset) = (float) value;
        return TRUE;
      }
    case FIELD_PAIR:
      return read_ints (node, FIELD_PTR (int, layer, offset), 2);
    case FIELD_PADS:
      return read_ints (node, FIELD_PTR (int, layer, offset), 4);
    case FIELD_ROUNDING:
      {
        const char *text = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                         ? json_node_get_string (node) : NULL;
        if (g_strcmp0 (text, "floor") == 0)
          *FIELD_PTR (KilnRounding, layer, offset) = KILN_ROUND_FLOOR;
        else if (g_strcmp0 (text, "ceil") == 0)
          *FIELD_PTR (KilnRounding, layer, offset) = KILN_ROUND_CEIL;
        else
          return FALSE;
        return TRUE;
      }
    case FIELD_PAD_MODE:
      {
        const char *text = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                         ? json_node_get_string (node) : NULL;
        return kiln_pad_mode_from_string (text, FIELD_PTR (KilnPadMode, layer, offset));
      }
    default:
      return FALSE;
    }
}

static const char *
get_string_member (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
read_layer (KilnNetSpec *spec,
            guint        index,
            JsonNode    *node,
            GError     **error)
{
  g_auto(KilnLayerSpec) layer = { 0 };
  g_autoptr(GList) members = NULL;
  JsonObject *object;
  const char *name, *type_name;
  KilnLayerType type;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                   _("Layer %u is not a JSON object"), index + 1);
      return FALSE;
    }
  object = json_node_get_object (node);
  name = get_string_member (object, "name");
  type_name = get_string_member (object, "type");
  if (name == NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                   _("Layer %u has no “name” string"), index + 1);
      return FALSE;
    }
  if (type_name == NULL || !kiln_layer_type_from_string (type_name, &type))
    {
      g_autoptr(GString) known = g_string_new (NULL);
      for (guint t = 0; t < KILN_LAYER_N_TYPES; t++)
        g_string_append_printf (known, "%s%s", t ? ", " : "", kiln_layer_type_to_string (t));
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   _("%s: unknown layer type “%s”; known types are %s"),
                   name, type_name ? type_name : "", known->str);
      return FALSE;
    }

  kiln_layer_spec_init (&layer, type, name);
  members = json_object_get_members (object);
  for (const GList *l = members; l; l = l->next)
    {
      const char *member = l->data;
      JsonNode *value = json_object_get_member (object, member);
      guint f;

      if (g_str_equal (member, "name") || g_str_equal (member, "type"))
        continue;
      if (g_str_equal (member, "inputs"))
        {
          g_autoptr(GStrvBuilder) inputs = g_strv_builder_new ();
          JsonArray *array = JSON_NODE_HOLDS_ARRAY (value) ? json_node_get_array (value) : NULL;
          guint n = array ? json_array_get_length (array) : 0;

          for (guint i = 0; i < n; i++)
            {
              JsonNode *element = json_array_get_element (array, i);
              if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
                {
                  array = NULL;
                  break;
                }
              g_strv_builder_add (inputs, json_node_get_string (element));
            }
          if (array == NULL || n == 0)
            {
              g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                           _("%s: “inputs” must be a non-empty array of layer names"), name);
              return FALSE;
            }
          layer.inputs = g_strv_builder_end (inputs);
          continue;
        }
      for (f = 0; f < G_N_ELEMENTS (fields); f++)
        if (g_str_equal (member, fields[f].name))
          break;
      if (f == G_N_ELEMENTS (fields) || !(fields[f].types & (1u << type)))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                       _("%s: a %s layer has no field “%s”"),
                       name, kiln_layer_type_to_string (type), member);
          return FALSE;
        }
      if (!read_field (f, value, &layer))
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                       _("%s: “%s” must be %s"), name, member, field_expectation (fields[f].kind));
          return FALSE;
        }
    }

  return kiln_net_spec_add_layer (spec, &layer, error);
}

static gboolean
check_members (JsonObject         *object,
               const char         *where,
               const char *const  *allowed,
               GError            **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (const GList *l = members; l; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                     _("Unknown field “%s” in %s"), (const char *) l->data, where);
        return FALSE;
      }
  return TRUE;
}

KilnNetSpec *
kiln_net_spec_new_from_json (JsonNode *node,
                             GError  **error)
{
  static const char *const top_fields[] = { "format", "version", "name", "input", "exact_fit", "layers", NULL };
  static const char *const input_fields[] = { "channels", "height", "width", NULL };
  g_autoptr(KilnNetSpec) spec = NULL;
  JsonObject *root, *input;
  JsonNode *member;
  JsonArray *layers;
  const char *format, *name;
  int version = 0, c = 0, h = 0, w = 0;

  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT, _("A net spec must be a JSON object"));
      return NULL;
    }
  root = json_node_get_object (node);
  format = get_string_member (root, "format");
  if (g_strcmp0 (format, FORMAT_NAME) != 0)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                   _("Not a Kiln net spec: “format” must be “%s”"), FORMAT_NAME);
      return NULL;
    }
  member = json_object_get_member (root, "version");
  if (member == NULL || !read_int (member, 1, G_MAXINT, &version) || version > FORMAT_VERSION)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED,
                   _("Net spec version %d is not supported; this Kiln reads version %d"),
                   version, FORMAT_VERSION);
      return NULL;
    }
  if (!check_members (root, _("the net spec"), top_fields, error))
    return NULL;

  name = get_string_member (root, "name");
  member = json_object_get_member (root, "input");
  input = member && JSON_NODE_HOLDS_OBJECT (member) ? json_node_get_object (member) : NULL;
  if (name == NULL || input == NULL
      || !check_members (input, "“input”", input_fields, NULL)
      || !json_object_has_member (input, "channels") || !json_object_has_member (input, "height")
      || !json_object_has_member (input, "width")
      || !read_int (json_object_get_member (input, "channels"), 1, G_MAXINT, &c)
      || !read_int (json_object_get_member (input, "height"), 1, G_MAXINT, &h)
      || !read_int (json_object_get_member (input, "width"), 1, G_MAXINT, &w))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                   _("A net spec needs a “name” string and an “input” of positive integers "
                     "{“channels”, “height”, “width”}"));
      return NULL;
    }

  spec = kiln_net_spec_new (name, c, h, w);
  member = json_object_get_member (root, "exact_fit");
  if (member)
    {
      if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_BOOLEAN)
        {
          g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT, _("“exact_fit” must be true or false"));
          return NULL;
        }
      kiln_net_spec_set_exact_fit (spec, json_node_get_boolean (member));
    }

  member = json_object_get_member (root, "layers");
  layers = member && JSON_NODE_HOLDS_ARRAY (member) ? json_node_get_array (member) : NULL;
  if (layers == NULL || json_array_get_length (layers) == 0 || json_array_get_length (layers) > MAX_LAYERS)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                   _("“layers” must be an array of 1 to %d layers"), MAX_LAYERS);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (layers); i++)
    if (!read_layer (spec, i, json_array_get_element (layers, i), error))
      return NULL;

  return g_steal_pointer (&spec);
}

gboolean
kiln_net_spec_save (KilnNetSpec *self,
                    const char  *path,
                    GError     **error)
{
  g_return_val_if_fail (KILN_IS_NET_SPEC (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  g_autoptr(JsonNode) root = kiln_net_spec_to_json (self);
  g_autofree char *text = kiln_json_to_text (root, TRUE);
  g_autofree char *contents = g_strconcat (text, "\n", NULL);
  g_autoptr(GError) local_error = NULL;

  if (!g_file_set_contents_full (path, contents, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local_error))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_IO,
                   _("Could not save the net spec: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

KilnNetSpec *
kiln_net_spec_new_from_file (const char  *path,
                             GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  GStatBuf st;
  KilnNetSpec *spec;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ENGINE_ERROR, saved == ENOENT ? KILN_ENGINE_ERROR_NOT_FOUND : KILN_ENGINE_ERROR_IO,
                   _("%s: %s"), path, g_strerror (saved));
      return NULL;
    }
  if (st.st_size > MAX_FILE_SIZE)
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                   _("%s: %" PRId64 " bytes is too large for a net spec (at most %d)"),
                   path, (gint64) st.st_size, MAX_FILE_SIZE);
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, contents, length, &local_error))
    {
      g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_CORRUPT,
                   _("%s: not valid JSON: %s"), path, local_error->message);
      return NULL;
    }
  spec = kiln_net_spec_new_from_json (json_parser_get_root (parser), &local_error);
  if (spec == NULL)
    {
      g_set_error (error, KILN_ENGINE_ERROR, local_error->code, "%s: %s", path, local_error->message);
      return NULL;
    }
  return spec;
}
