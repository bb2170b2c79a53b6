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
  /* What a run that names no device would use, and why. */
  const char *source = NULL;
  g_autofree char *fallback = kiln_run_device_get_default (&source);
  g_autoptr(GError) choice_error = NULL;
  g_autoptr(KilnBackend) chosen = kiln_backend_new (fallback, &choice_error);
  guint64 total = 0, free_bytes = 0;
  gboolean has_memory = chosen && kiln_backend_get_memory (chosen, &total, &free_bytes);

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
      json_builder_set_member_name (builder, "default_device");
      json_builder_add_string_value (builder, chosen ? kiln_backend_get_name (chosen) : NULL);
      json_builder_set_member_name (builder, "default_from");
      json_builder_add_string_value (builder, source);
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, chosen ? kiln_backend_get_choice_reason (chosen)
                                                     : choice_error->message);
      if (has_memory)
        {
          json_builder_set_member_name (builder, "memory_total");
          json_builder_add_int_value (builder, (gint64) total);
          json_builder_set_member_name (builder, "memory_free");
          json_builder_add_int_value (builder, (gint64) free_bytes);
        }
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }

  g_print (_("cpu: %u threads available\n"), g_get_num_processors ());
  if (n_cuda > 0)
    g_print ("cuda: %s", description);
  else
    g_print (_("cuda: unavailable: %s\n"), error->message);
  if (chosen == NULL)
    {
      g_print (_("default device (%s): %s\n"), source, choice_error->message);
      return 1;
    }
  g_print (_("default device (%s): %s — %s\n"), source, kiln_backend_get_name (chosen),
           kiln_backend_get_choice_reason (chosen));
  if (has_memory)
    {
      g_autofree char *f = g_format_size_full (free_bytes, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *t = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);
      g_print (_("memory on %s: %s free of %s\n"), kiln_backend_get_name (chosen), f, t);
    }
  return 0;
}
