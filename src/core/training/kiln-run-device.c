#include "config.h"

#include "kiln-run-device.h"

#include <gio/gio.h>

#include "kiln-backend.h"
#include "kiln-error.h"

#define SETTINGS_ID "org.kiln.Kiln"

char *
kiln_run_device_get_default (const char **source)
{
  const char *env = g_getenv ("KILN_DEVICE");
  const char *from = "default";
  char *device = NULL;

  if (env != NULL && env[0] != '\0')
    {
      from = "KILN_DEVICE";
      device = g_strdup (env);
    }
  else
    {
      /* The schema may not be installed (kiln-cli on a server, a build
       * tree): g_settings_new() would abort, so look it up first. */
      GSettingsSchemaSource *schemas = g_settings_schema_source_get_default ();
      g_autoptr(GSettingsSchema) schema = schemas ? g_settings_schema_source_lookup (schemas, SETTINGS_ID, TRUE)
                                                  : NULL;
      if (schema != NULL && g_settings_schema_has_key (schema, "device"))
        {
          g_autoptr(GSettings) settings = g_settings_new (SETTINGS_ID);
          g_autofree char *value = g_settings_get_string (settings, "device");
          if (value[0] != '\0' && g_strcmp0 (value, "auto") != 0)
            {
              from = "Preferences";
              device = g_steal_pointer (&value);
            }
        }
    }
  if (source)
    *source = from;
  return device ? device : g_strdup ("auto");
}

char *
kiln_run_device_check (const char *requested, KilnNetSpec *spec, const KilnTrainerOptions *options,
                       KilnNetMemory *memory, char **reason, GError **error)
{
  const char *source = NULL;     /* NULL: named by the caller */
  g_autofree char *fallback = NULL;
  g_autoptr(GError) local = NULL;

  if (requested == NULL)
    requested = fallback = kiln_run_device_get_default (&source);
  g_autoptr(KilnBackend) backend = kiln_backend_new (requested, &local);
  if (backend == NULL)
    {
      if (source == NULL)
        g_set_error (error, KILN_ERROR, KILN_ERROR_BACKEND, "%s", local->message);
      else
        g_set_error (error, KILN_ERROR, KILN_ERROR_BACKEND, "%s (the device was named by %s)",
                     local->message, source);
      return NULL;
    }

  KilnNetMemoryOptions memory_options = { .training = TRUE, .optimizer = options->optimizer };
  KilnNetMemory m;
  if (!kiln_net_memory_estimate (spec, options->batch_size, &memory_options, &m, error))
    return NULL;
  if (memory)
    *memory = m;

  guint64 total = 0, free_bytes = 0;
  const char *name = kiln_backend_get_name (backend);
  gboolean known = kiln_backend_get_memory (backend, &total, &free_bytes);
  if (known && m.total > free_bytes)
    {
      int fits = kiln_net_memory_largest_batch (spec, options->batch_size, &memory_options, free_bytes);
      g_autofree char *need = kiln_net_memory_format (&m);
      g_autofree char *have = g_format_size_full (free_bytes, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *of = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);
      if (fits > 0)
        g_set_error (error, KILN_ERROR, KILN_ERROR_OUT_OF_MEMORY,
                     "%s at batch %d needs %s; %s has %s free of %s. The largest batch that fits is %d: "
                     "train with --batch %d (or free memory on the device)",
                     kiln_net_spec_get_name (spec), options->batch_size, need, name, have, of, fits, fits);
      else
        g_set_error (error, KILN_ERROR, KILN_ERROR_OUT_OF_MEMORY,
                     "%s at batch %d needs %s; %s has %s free of %s, too little even for batch 1: "
                     "use a smaller network or another device",
                     kiln_net_spec_get_name (spec), options->batch_size, need, name, have, of);
      return NULL;
    }

  if (reason)
    {
      const char *why = kiln_backend_get_choice_reason (backend);
      g_autofree char *named = source == NULL || g_str_equal (source, "default") ? g_strdup (why)
                               : g_strdup_printf ("%s (named by %s)", why, source);
      /* Say so rather than let a skipped check pass for a passed one. */
      *reason = known ? g_steal_pointer (&named)
                      : g_strdup_printf ("%s; %s cannot tell its free memory, so the run's size was not checked",
                                         named, name);
    }
  return g_strdup (name);
}
