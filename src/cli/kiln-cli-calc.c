/* kiln-cli calc: the layer-size calculator. Shapes, parameters, MACs and
 * activation memory of a preset or a spec file, and what a new input size
 * would change. */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "kiln-cli.h"
#include "kiln-core.h"

/* "3x227x227", "227x227" (channels kept) or "227"; × works as well as x. */
static gboolean
parse_dims (const char *text,
            int        *channels,
            int        *height,
            int        *width,
            GError    **error)
{
  g_autofree char *normal = g_strdup (text);
  g_auto(GStrv) parts = NULL;
  gint64 values[3];
  guint n;

  g_strstrip (normal);
  for (char *p = strstr (normal, "×"); p; p = strstr (p, "×"))
    {
      /* × is two bytes in UTF-8: turn it into "x " and drop the space below. */
      p[0] = 'x';
      p[1] = ' ';
    }
  g_strdelimit (normal, "X", 'x');
  parts = g_strsplit (normal, "x", -1);
  n = g_strv_length (parts);
  if (n < 1 || n > 3)
    goto bad;
  for (guint i = 0; i < n; i++)
    {
      g_strstrip (parts[i]);
      if (!g_ascii_string_to_signed (parts[i], 10, 1, G_MAXINT, &values[i], NULL))
        goto bad;
    }
  if (n == 3)
    {
      *channels = (int) values[0];
      *height = (int) values[1];
      *width = (int) values[2];
    }
  else
    {
      *height = (int) values[0];
      *width = (int) values[n - 1];
    }
  return TRUE;

bad:
  g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
               _("“%s” is not a size; write C×H×W, H×W or N, e.g. 3x227x227"), text);
  return FALSE;
}

/* 62378344 → "62,378,344" whatever the locale, so output is stable. */
static char *
format_count (gint64 value)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, value);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      g_string_append_c (out, digits[i]);
      if (digits[i] != '-' && (len - i - 1) % 3 == 0 && i + 1 < len)
        g_string_append_c (out, ',');
    }
  return g_string_free (out, FALSE);
}

/* printf pads by bytes; × and other UTF-8 would shift the columns. */
static void
print_cell (GString *line, const char *text, int width, gboolean right)
{
  int pad = MAX (width - (int) g_utf8_strlen (text, -1), 0);

  if (right)
    g_string_append_printf (line, "%*s%s ", pad, "", text);
  else
    g_string_append_printf (line, "%s%*s ", text, pad, "");
}

static void
end_line (GString *line)
{
  g_print ("%s\n", g_strchomp (line->str));
  g_string_truncate (line, 0);
}

static void
print_table (KilnNetSpec *spec)
{
  guint n = kiln_net_spec_get_n_layers (spec);
  int name_width = (int) g_utf8_strlen (_("Layer"), -1);
  g_autoptr(GString) line = g_string_new (NULL);
  int c, h, w;

  for (guint i = 0; i < n; i++)
    name_width = MAX (name_width, (int) g_utf8_strlen (kiln_net_spec_get_layer (spec, i)->name, -1));
  kiln_net_spec_get_input (spec, &c, &h, &w);

  print_cell (line, _("Layer"), name_width, FALSE);
  print_cell (line, _("Type"), 13, FALSE);
  print_cell (line, _("Output"), 14, FALSE);
  print_cell (line, _("Params"), 13, TRUE);
  print_cell (line, _("MACs"), 15, TRUE);
  print_cell (line, _("Memory"), 10, TRUE);
  end_line (line);

  g_autofree char *input = g_strdup_printf ("%d×%d×%d", c, h, w);
  g_autofree char *input_bytes = g_format_size_full ((guint64) c * h * w * sizeof (float), G_FORMAT_SIZE_IEC_UNITS);
  print_cell (line, KILN_NET_SPEC_INPUT_NAME, name_width, FALSE);
  print_cell (line, _("Input"), 13, FALSE);
  print_cell (line, input, 14, FALSE);
  print_cell (line, "", 13, TRUE);
  print_cell (line, "", 15, TRUE);
  print_cell (line, input_bytes, 10, TRUE);
  end_line (line);

  for (guint i = 0; i < n; i++)
    {
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (spec, i);
      const KilnLayerShape *shape = kiln_net_spec_get_shape (spec, i);
      g_autofree char *output = g_strdup_printf ("%d×%d×%d", shape->c, shape->h, shape->w);
      g_autofree char *params = format_count (shape->params);
      g_autofree char *macs = format_count (shape->macs);
      g_autofree char *bytes = g_format_size_full (shape->activation_bytes, G_FORMAT_SIZE_IEC_UNITS);

      print_cell (line, layer->name, name_width, FALSE);
      print_cell (line, kiln_layer_type_to_string (layer->type), 13, FALSE);
      print_cell (line, output, 14, FALSE);
      print_cell (line, params, 13, TRUE);
      print_cell (line, macs, 15, TRUE);
      print_cell (line, bytes, 10, TRUE);
      end_line (line);
    }

  g_autofree char *params = format_count (kiln_net_spec_get_total_params (spec));
  g_autofree char *macs = format_count (kiln_net_spec_get_total_macs (spec));
  g_autofree char *bytes = g_format_size_full (kiln_net_spec_get_total_activation_bytes (spec), G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *weights = g_format_size_full (kiln_net_spec_get_total_params (spec) * sizeof (float),
                                                 G_FORMAT_SIZE_IEC_UNITS);
  print_cell (line, _("Total"), name_width, FALSE);
  print_cell (line, "", 13, FALSE);
  print_cell (line, "", 14, FALSE);
  print_cell (line, params, 13, TRUE);
  print_cell (line, macs, 15, TRUE);
  print_cell (line, bytes, 10, TRUE);
  end_line (line);
  g_print (_("Weights: %s as float32; activations: %s per sample (forward, outputs only)\n"), weights, bytes);
}

static void
add_int (JsonBuilder *builder, const char *member, gint64 value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, value);
}

static void
add_string (JsonBuilder *builder, const char *member, const char *value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, value);
}

static void
add_dims (JsonBuilder *builder, const char *member, int c, int h, int w)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  json_builder_add_int_value (builder, c);
  json_builder_add_int_value (builder, h);
  json_builder_add_int_value (builder, w);
  json_builder_end_array (builder);
}

static void
add_layers_json (JsonBuilder *builder, KilnNetSpec *spec)
{
  int c, h, w;

  kiln_net_spec_get_input (spec, &c, &h, &w);
  add_string (builder, "name", kiln_net_spec_get_name (spec));
  add_dims (builder, "input", c, h, w);
  json_builder_set_member_name (builder, "layers");
  json_builder_begin_array (builder);
  for (guint i = 0; i < kiln_net_spec_get_n_layers (spec); i++)
    {
      const KilnLayerSpec *layer = kiln_net_spec_get_layer (spec, i);
      const KilnLayerShape *shape = kiln_net_spec_get_shape (spec, i);

      json_builder_begin_object (builder);
      add_string (builder, "name", layer->name);
      add_string (builder, "type", kiln_layer_type_to_string (layer->type));
      add_dims (builder, "output", shape->c, shape->h, shape->w);
      add_int (builder, "params", shape->params);
      add_int (builder, "macs", shape->macs);
      add_int (builder, "activation_bytes", shape->activation_bytes);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_int (builder, "total_params", kiln_net_spec_get_total_params (spec));
  add_int (builder, "total_macs", kiln_net_spec_get_total_macs (spec));
  add_int (builder, "total_activation_bytes", kiln_net_spec_get_total_activation_bytes (spec));
}

static void
add_changes_json (JsonBuilder *builder, GPtrArray *changes)
{
  json_builder_set_member_name (builder, "compare");
  json_builder_begin_array (builder);
  for (guint i = 0; i < changes->len; i++)
    {
      const KilnLayerChange *change = g_ptr_array_index (changes, i);

      json_builder_begin_object (builder);
      add_string (builder, "name", change->name);
      add_dims (builder, "old_output", change->old_c, change->old_h, change->old_w);
      add_dims (builder, "new_output", change->new_c, change->new_h, change->new_w);
      json_builder_set_member_name (builder, "weights_change");
      json_builder_add_boolean_value (builder, change->weights_change);
      add_int (builder, "old_fan_in", change->old_fan_in);
      add_int (builder, "new_fan_in", change->new_fan_in);
      add_int (builder, "old_params", change->old_params);
      add_int (builder, "new_params", change->new_params);
      add_string (builder, "description", change->description);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

/* Errors go to stderr; with --json a {"error": …} object also goes to
 * stdout so scripts always get something to parse. */
static int
fail (gboolean as_json, GError *error)
{
  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      json_builder_begin_object (builder);
      add_string (builder, "error", error->message);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
    }
  return kiln_cli_fail ("calc", error);
}

int
kiln_cli_calc (int argc, char **argv)
{
  g_autofree char *preset = NULL, *spec_path = NULL, *input = NULL, *compare = NULL, *save = NULL;
  gboolean as_json = FALSE, list = FALSE;
  int classes = 0, new_c, new_h, new_w;
  const GOptionEntry entries[] = {
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset, N_("A built-in network (see --list)"), N_("NAME") },
    { "spec", 's', 0, G_OPTION_ARG_FILENAME, &spec_path, N_("A net spec JSON file"), N_("FILE") },
    { "input", 'i', 0, G_OPTION_ARG_STRING, &input, N_("Input size instead of the net's own"), N_("C×H×W") },
    { "classes", 'n', 0, G_OPTION_ARG_INT, &classes, N_("Number of classes for a preset"), N_("N") },
    { "compare", 'c', 0, G_OPTION_ARG_STRING, &compare, N_("Report what a new input size changes"), N_("H×W") },
    { "save", 0, 0, G_OPTION_ARG_FILENAME, &save, N_("Write the spec as JSON"), N_("FILE") },
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list, N_("List the presets"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(GError) error = NULL;

  if (!kiln_cli_parse ("calc", NULL,
                       _("Show each layer's output size, parameters, multiply-adds and memory."),
                       entries, &argc, &argv))
    return 2;

  if (list)
    {
      for (const char *const *name = kiln_net_spec_list_presets (); *name; name++)
        g_print ("%s\n", *name);
      return 0;
    }
  if ((preset == NULL) == (spec_path == NULL) || argc > 1)
    {
      g_printerr ("%s\n", _("kiln-cli calc: give one of --preset NAME or --spec FILE"));
      return 2;
    }

  spec = preset ? kiln_net_spec_new_preset (preset, classes, &error)
                : kiln_net_spec_new_from_file (spec_path, &error);
  if (spec == NULL)
    return fail (as_json, error);

  if (input)
    {
      int c, h, w;
      kiln_net_spec_get_input (spec, &c, &h, &w);
      if (!parse_dims (input, &c, &h, &w, &error))
        return fail (as_json, error);
      kiln_net_spec_set_input (spec, c, h, w);
    }

  if (save && !kiln_net_spec_save (spec, save, &error))
    return fail (as_json, error);

  if (!kiln_net_spec_infer_shapes (spec, &error))
    return fail (as_json, error);

  kiln_net_spec_get_input (spec, &new_c, &new_h, &new_w);
  if (compare)
    {
      if (!parse_dims (compare, &new_c, &new_h, &new_w, &error))
        return fail (as_json, error);
      changes = kiln_net_spec_compare_input (spec, new_c, new_h, new_w, &error);
      if (changes == NULL)
        {
          g_prefix_error (&error, _("At %d×%d×%d: "), new_c, new_h, new_w);
          return fail (as_json, error);
        }
    }

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      json_builder_begin_object (builder);
      add_layers_json (builder, spec);
      if (changes)
        add_changes_json (builder, changes);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }

  print_table (spec);
  if (changes)
    {
      int c, h, w;
      guint n_changed = 0;

      kiln_net_spec_get_input (spec, &c, &h, &w);
      g_print ("\n");
      g_print (_("Resizing the input from %d×%d×%d to %d×%d×%d:\n"), c, h, w, new_c, new_h, new_w);
      for (guint i = 0; i < changes->len; i++)
        {
          const KilnLayerChange *change = g_ptr_array_index (changes, i);
          n_changed += change->weights_change;
          g_print ("  %s\n", change->description);
        }
      if (n_changed == 0)
        g_print ("%s\n", _("Every layer keeps its weights."));
      else
        g_print (g_dngettext (GETTEXT_PACKAGE, "%u layer needs new weights.\n",
                              "%u layers need new weights.\n", n_changed), n_changed);
    }
  return 0;
}
