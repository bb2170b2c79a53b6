#include "kiln-test-backends.h"

static const char *const candidates[] = { "cpu", "cuda" };

void
kiln_test_backends_add (const char *prefix, const char *name, GTestDataFunc func)
{
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *path = g_strdup_printf ("/%s/%s/%s", prefix, candidates[i], name);
      g_test_add_data_func (path, candidates[i], func);
    }
}

typedef struct {
  KilnBackend *backend;
  char *why_not;
} Opened;

KilnBackend *
kiln_test_backend_get (const char *device)
{
  static GHashTable *opened;

  if (opened == NULL)
    opened = g_hash_table_new (g_str_hash, g_str_equal);
  Opened *o = g_hash_table_lookup (opened, device);
  if (o == NULL)
    {
      g_autoptr(GError) error = NULL;
      o = g_new0 (Opened, 1);
      o->backend = kiln_backend_new (device, &error);
      if (o->backend == NULL)
        o->why_not = g_strdup_printf ("%s does not answer here: %s", device, error->message);
      g_hash_table_insert (opened, g_strdup (device), o);
    }
  if (o->backend == NULL)
    g_test_skip (o->why_not);
  return o->backend;
}

KilnBackend *
kiln_test_backend_reference (void)
{
  static KilnBackend *reference;

  if (reference == NULL)
    {
      g_autoptr(GError) error = NULL;
      /* The thread count is read when a CPU backend is made. */
      g_autofree char *saved = g_strdup (g_getenv ("KILN_NUM_THREADS"));
      g_setenv ("KILN_NUM_THREADS", "1", TRUE);
      reference = kiln_backend_new ("cpu", &error);
      if (saved)
        g_setenv ("KILN_NUM_THREADS", saved, TRUE);
      else
        g_unsetenv ("KILN_NUM_THREADS");
      g_assert_no_error (error);
    }
  return reference;
}
