#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "kiln-cli.h"
#include "kiln-core.h"
#include "kiln-backend-module.h"

int
kiln_cli_devices (int argc, char **argv)
{
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;

  if (!kiln_cli_parse ("devices", NULL, _("List the compute backends and devices that answer."),
                       entries, &argc, &argv))
    return 2;

  int n_cuda = kiln_backend_module_probe_cuda (&description, &error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "cpu");
      json_builder_add_int_value (builder, g_get_num_processors ());
      json_builder_set_member_name (builder, "cuda_devices");
      json_builder_add_int_value (builder, n_cuda);
      json_builder_set_member_name (builder, "cuda_status");
      json_builder_add_string_value (builder, n_cuda > 0 ? description : error->message);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }

  g_print (_("cpu: %u threads available\n"), g_get_num_processors ());
  if (n_cuda > 0)
    g_print ("cuda: %s", description);
  else
    g_print (_("cuda: unavailable: %s\n"), error->message);
  return 0;
}
