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

/* C×H×W as the rest of kiln-cli writes shapes; "—" for a row without one. */
static char *
format_dims (KilnCalcRow *row)
{
  int c, h, w;

  if (!kiln_calc_row_has_output (row))
    return g_strdup ("—");
  kiln_calc_row_get_output (row, &c, &h, &w);
  return g_strdup_printf ("%d×%d×%d", c, h, w);
}

static void
print_table (KilnNetCalc *calc)
{
  KilnNetSpec *spec = kiln_net_calc_get_spec (calc);
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
      KilnCalcRow *row = kiln_net_calc_get_row (calc, i);
      g_autofree char *output = format_dims (row);
      g_autofree char *params = kiln_format_count (kiln_calc_row_get_params (row));
      g_autofree char *macs = kiln_format_count (kiln_calc_row_get_macs (row));
      g_autofree char *bytes = g_format_size_full (kiln_calc_row_get_activation_bytes (row), G_FORMAT_SIZE_IEC_UNITS);

      print_cell (line, kiln_calc_row_get_name (row), name_width, FALSE);
      print_cell (line, kiln_layer_type_to_string (kiln_calc_row_get_layer_type (row)), 13, FALSE);
      print_cell (line, output, 14, FALSE);
      print_cell (line, params, 13, TRUE);
      print_cell (line, macs, 15, TRUE);
      print_cell (line, bytes, 10, TRUE);
      end_line (line);
    }

  g_autofree char *params = kiln_format_count (kiln_net_calc_get_total_params (calc));
  g_autofree char *macs = kiln_format_count (kiln_net_calc_get_total_macs (calc));
  g_autofree char *bytes = g_format_size_full (kiln_net_calc_get_total_activation_bytes (calc), G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *weights = g_format_size_full (kiln_net_calc_get_total_params (calc) * sizeof (float),
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

/* The rows that differ at the compare size, side by side, with why a row
 * at the new size does not tile its input. */
static void
print_compare (KilnNetCalc *calc)
{
  KilnNetSpec *spec = kiln_net_calc_get_spec (calc);
  guint n = kiln_net_spec_get_n_layers (spec);
  int name_width = (int) g_utf8_strlen (_("Layer"), -1);
  g_autoptr(GString) line = g_string_new (NULL);
  int c, h, w, nc, nh, nw;

  kiln_net_spec_get_input (spec, &c, &h, &w);
  kiln_net_calc_get_compare (calc, &nc, &nh, &nw);
  g_autofree char *before = g_strdup_printf ("%d×%d×%d", c, h, w);
  g_autofree char *after = g_strdup_printf ("%d×%d×%d", nc, nh, nw);

  g_print ("\n");
  if (kiln_net_calc_get_n_changed (calc) == 0)
    {
      g_print (_("At %s instead of %s no layer changes.\n"), after, before);
      return;
    }
  g_print (g_dngettext (GETTEXT_PACKAGE, "At %s instead of %s, %u layer changes:\n",
                        "At %s instead of %s, %u layers change:\n", kiln_net_calc_get_n_changed (calc)),
           after, before, kiln_net_calc_get_n_changed (calc));
  for (guint i = 0; i < n; i++)
    name_width = MAX (name_width, (int) g_utf8_strlen (kiln_net_spec_get_layer (spec, i)->name, -1));
  print_cell (line, _("Layer"), name_width, FALSE);
  print_cell (line, _("Type"), 13, FALSE);
  print_cell (line, before, 14, FALSE);
  print_cell (line, after, 14, FALSE);
  end_line (line);
  for (guint i = 0; i < n; i++)
    {
      KilnCalcRow *row = kiln_net_calc_get_row (calc, i);
      KilnCalcRow *other = kiln_calc_row_get_compare (row);
      g_autofree char *old_dims = format_dims (row);
      g_autofree char *new_dims = format_dims (other);
      const char *why = kiln_calc_row_get_message (other);

      if (!kiln_calc_row_get_changed (row))
        continue;
      print_cell (line, kiln_calc_row_get_name (row), name_width, FALSE);
      print_cell (line, kiln_layer_type_to_string (kiln_calc_row_get_layer_type (row)), 13, FALSE);
      print_cell (line, old_dims, 14, FALSE);
      print_cell (line, new_dims, 14, FALSE);
      if (why)
        print_cell (line, why, 0, FALSE);
      end_line (line);
    }
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

static const char *
fit_name (KilnCalcFit fit)
{
  static const char *const names[] = {
    [KILN_CALC_FIT_WHOLE] = "whole",
    [KILN_CALC_FIT_ROUNDED] = "rounded",
    [KILN_CALC_FIT_MISMATCH] = "mismatch",
    [KILN_CALC_FIT_FAILED] = "failed",
    [KILN_CALC_FIT_UNREACHED] = "unreached",
  };
  return (guint) fit < G_N_ELEMENTS (names) ? names[fit] : "unknown";
}

/* One calculator row; @key names the output member. */
static void
add_row_json (JsonBuilder *builder, KilnCalcRow *row, const char *key)
{
  int c, h, w;

  kiln_calc_row_get_output (row, &c, &h, &w);
  add_dims (builder, key, c, h, w);
  add_string (builder, "fit", fit_name (kiln_calc_row_get_fit (row)));
  if (kiln_calc_row_get_arithmetic (row))
    add_string (builder, "arithmetic", kiln_calc_row_get_arithmetic (row));
  if (kiln_calc_row_get_message (row))
    add_string (builder, "message", kiln_calc_row_get_message (row));
}

static void
add_layers_json (JsonBuilder *builder, KilnNetCalc *calc)
{
  KilnNetSpec *spec = kiln_net_calc_get_spec (calc);
  int c, h, w;

  kiln_net_spec_get_input (spec, &c, &h, &w);
  add_string (builder, "name", kiln_net_spec_get_name (spec));
  add_dims (builder, "input", c, h, w);
  json_builder_set_member_name (builder, "layers");
  json_builder_begin_array (builder);
  for (guint i = 0; i < kiln_net_spec_get_n_layers (spec); i++)
    {
      KilnCalcRow *row = kiln_net_calc_get_row (calc, i);

      json_builder_begin_object (builder);
      add_string (builder, "name", kiln_calc_row_get_name (row));
      add_string (builder, "type", kiln_layer_type_to_string (kiln_calc_row_get_layer_type (row)));
      add_row_json (builder, row, "output");
      add_int (builder, "params", kiln_calc_row_get_params (row));
      add_int (builder, "macs", kiln_calc_row_get_macs (row));
      add_int (builder, "activation_bytes", kiln_calc_row_get_activation_bytes (row));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  add_int (builder, "total_params", kiln_net_calc_get_total_params (calc));
  add_int (builder, "total_macs", kiln_net_calc_get_total_macs (calc));
  add_int (builder, "total_activation_bytes", kiln_net_calc_get_total_activation_bytes (calc));
}

/* Compare mode: the rows that change, at the second size. */
static void
add_compare_rows_json (JsonBuilder *builder, KilnNetCalc *calc)
{
  int c, h, w;

  kiln_net_calc_get_compare (calc, &c, &h, &w);
  add_dims (builder, "compare_input", c, h, w);
  json_builder_set_member_name (builder, "compare_layers");
  json_builder_begin_array (builder);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (calc)); i++)
    {
      KilnCalcRow *row = kiln_net_calc_get_row (calc, i);

      if (!kiln_calc_row_get_changed (row))
        continue;
      json_builder_begin_object (builder);
      add_string (builder, "name", kiln_calc_row_get_name (row));
      add_row_json (builder, kiln_calc_row_get_compare (row), "new_output");
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
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

/* The calculator's error and what it does downstream, as one message:
 * "conv1: … not a whole number; use input 227×227 …; with floor pooling,
 * fc6 then receives 6,400 inputs …". Returns @error. */
static GError *
calc_error (const char *message, const char *downstream, GError **error)
{
  if (downstream)
    g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE, "%s; %s", message, downstream);
  else
    g_set_error_literal (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_SHAPE, message);
  return *error;
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
  int classes = 0, c, h, w, new_c, new_h, new_w;
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
  g_autoptr(KilnNetCalc) calc = NULL;
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

  kiln_net_spec_get_input (spec, &c, &h, &w);
  if (input)
    {
      if (!parse_dims (input, &c, &h, &w, &error))
        return fail (as_json, error);
      kiln_net_spec_set_input (spec, c, h, w);
    }
  new_c = c;
  new_h = h;
  new_w = w;

  if (save && !kiln_net_spec_save (spec, save, &error))
    return fail (as_json, error);

  if (compare && !parse_dims (compare, &new_c, &new_h, &new_w, &error))
    return fail (as_json, error);

  calc = kiln_net_calc_new (spec);
  if (kiln_net_calc_get_error (calc))
    return fail (as_json, calc_error (kiln_net_calc_get_error (calc), kiln_net_calc_get_downstream (calc), &error));

  if (compare)
    {
      kiln_net_calc_set_compare (calc, new_c, new_h, new_w);
      /* The weights report needs both sizes to build; the rows do not. */
      if (kiln_net_calc_get_compare_error (calc) == NULL)
        changes = kiln_net_spec_compare_input (spec, new_c, new_h, new_w, &error);
      else
        {
          calc_error (kiln_net_calc_get_compare_error (calc), kiln_net_calc_get_compare_downstream (calc), &error);
          g_prefix_error (&error, _("At %d×%d×%d: "), new_c, new_h, new_w);
        }
    }

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      json_builder_begin_object (builder);
      add_layers_json (builder, calc);
      if (compare)
        add_compare_rows_json (builder, calc);
      if (changes)
        add_changes_json (builder, changes);
      if (error)
        add_string (builder, "error", error->message);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return error ? kiln_cli_fail ("calc", error) : 0;
    }

  print_table (calc);
  if (compare)
    print_compare (calc);
  if (error)
    return kiln_cli_fail ("calc", error);
  if (changes)
    {
      guint n_changed = 0;

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
