/* libFuzzer target for net specs as users hand-edit them: JSON text to a
 * KilnNetSpec, shape inference, the calculator's rows, and the round trip
 * back to JSON. Whatever the text, the result is a spec or a GError. */
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "kiln-net-calc.h"
#include "kiln-netspec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) size, NULL))
    return 0;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_from_json (json_parser_get_root (parser), NULL);
  if (spec == NULL)
    return 0;
  if (kiln_net_spec_infer_shapes (spec, NULL))
    {
      g_autoptr(JsonNode) again = kiln_net_spec_to_json (spec);
      g_autoptr(KilnNetSpec) reread = kiln_net_spec_new_from_json (again, NULL);
      g_assert_nonnull (reread);
    }
  g_autoptr(KilnNetCalc) calc = kiln_net_calc_new (spec);
  (void) g_list_model_get_n_items (G_LIST_MODEL (calc));
  return 0;
}
