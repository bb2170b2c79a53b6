/* JSON written by Kiln parses back, whatever doubles it holds. */
#include "kiln-json-text.h"

static void
test_exponent_doubles_round_trip (void)
{
  const double values[] = { 1e-08, 1e+20, 5e-324, 0.1, -3e-7, 1.5e-8, 2.0, 0.0 };
  g_autoptr(JsonArray) array = json_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    json_array_add_double_element (array, values[i]);
  /* Strings that look like the bug must stay as they are. */
  json_array_add_string_element (array, "1e5.0 and \"2e-08.0\"");
  g_autoptr(JsonNode) node = json_node_init_array (json_node_alloc (), array);

  for (int pretty = 0; pretty < 2; pretty++)
    {
      g_autofree char *text = kiln_json_to_text (node, pretty);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
      g_assert_no_error (error);
      JsonArray *back = json_node_get_array (json_parser_get_root (parser));
      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        g_assert_cmpfloat (json_array_get_double_element (back, i), ==, values[i]);
      g_assert_cmpstr (json_array_get_string_element (back, G_N_ELEMENTS (values)), ==, "1e5.0 and \"2e-08.0\"");
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-text/exponent-doubles", test_exponent_doubles_round_trip);
  return g_test_run ();
}
