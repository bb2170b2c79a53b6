/* Device choice: the names, what "auto" picks and the reason it gives, a
 * named CUDA device that does not answer being an error (never a silent
 * fallback), and the device-memory query with its KILN_DEVICE_MEMORY_LIMIT
 * hook. A fake CUDA module (fake-cuda/) stands in for the real one. */
#include <string.h>

#include "kiln-backend-cpu.h"
#include "kiln-backend-module.h"
#include "kiln-engine-error.h"
#include "kiln-run-device.h"

static void
assert_contains (const char *text, const char *part)
{
  if (text == NULL || strstr (text, part) == NULL)
    g_error ("“%s” does not contain “%s”", text ? text : "(null)", part);
}

static void
test_parse (void)
{
  KilnDeviceKind kind;
  int index;
  g_autoptr(GError) error = NULL;

  g_assert_true (kiln_device_parse ("cpu", &kind, &index, NULL));
  g_assert_cmpint (kind, ==, KILN_DEVICE_CPU);
  g_assert_true (kiln_device_parse ("auto", &kind, &index, NULL));
  g_assert_cmpint (kind, ==, KILN_DEVICE_AUTO);
  g_assert_true (kiln_device_parse ("cuda", &kind, &index, NULL));
  g_assert_cmpint (kind, ==, KILN_DEVICE_CUDA);
  g_assert_cmpint (index, ==, -1);
  g_assert_true (kiln_device_parse ("cuda:3", &kind, &index, NULL));
  g_assert_cmpint (kind, ==, KILN_DEVICE_CUDA);
  g_assert_cmpint (index, ==, 3);

  g_assert_false (kiln_device_parse ("cuda:x", &kind, &index, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
  assert_contains (error->message, "cuda:0");
  g_clear_error (&error);
  g_assert_false (kiln_device_parse ("tpu", &kind, &index, &error));
  assert_contains (error->message, "use cpu, cuda, cuda:N or auto");
}

/* Whatever this machine has, auto gives a backend and says why. */
static void
test_auto_here (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) backend = kiln_backend_new ("auto", &error);

  g_assert_no_error (error);
  assert_contains (kiln_backend_get_choice_reason (backend), "auto chose ");
  g_test_message ("here: %s", kiln_backend_get_choice_reason (backend));
  g_autoptr(KilnBackend) cpu = kiln_backend_new ("cpu", &error);
  g_assert_cmpstr (kiln_backend_get_name (cpu), ==, "cpu");
  g_assert_cmpstr (kiln_backend_get_choice_reason (cpu), ==, "cpu, as asked");
}

static void
use_fake (const char *mode)
{
  const char *dir = g_getenv ("KILN_FAKE_CUDA_DIR");
  if (dir == NULL)
    g_error ("KILN_FAKE_CUDA_DIR is unset: run this through meson test (it names tests/engine/fake-cuda's build folder)");
  g_setenv ("KILN_BACKEND_DIR", dir, TRUE);
  g_setenv ("FAKE_CUDA_MODE", mode, TRUE);
}

static void
test_auto_picks_answering_cuda (void)
{
  g_autoptr(GError) error = NULL;
  use_fake ("answers");

  g_autoptr(KilnBackend) any = kiln_backend_new ("auto", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (any), ==, "cuda:0");
  assert_contains (kiln_backend_get_choice_reason (any), "auto chose cuda:0 (Fake GPU A");
  assert_contains (kiln_backend_get_choice_reason (any), "first CUDA device that answers");

  g_autoptr(KilnBackend) second = kiln_backend_new ("cuda:1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (second), ==, "cuda:1");
  assert_contains (kiln_backend_get_choice_reason (second), "cuda:1 (Fake GPU B, 16.0 GiB), as asked");

  g_assert_null (kiln_backend_new ("cuda:2", &error));
  assert_contains (error->message, "cuda:2 does not exist");
  assert_contains (error->message, "cuda:0 to cuda:1");
}

/* A device that cannot tell its free memory: the run's size is not
 * checked, and the reason says so. */
static void
test_unknown_memory_is_said (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_preset ("lenet", 10, &error);
  KilnTrainerOptions options;
  g_autofree char *reason = NULL;
  use_fake ("no-memory");

  kiln_trainer_options_init (&options);
  g_autofree char *device = kiln_run_device_check ("cuda", spec, &options, NULL, &reason, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (device, ==, "cuda:0");
  assert_contains (reason, "cuda:0 cannot tell its free memory, so the run's size was not checked");
  kiln_trainer_options_clear (&options);
}

/* A device that fails to start lets the next one answer. */
static void
test_auto_skips_failing_device (void)
{
  g_autoptr(GError) error = NULL;
  use_fake ("first-broken");

  g_autoptr(KilnBackend) any = kiln_backend_new ("auto", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (any), ==, "cuda:1");
  assert_contains (kiln_backend_get_choice_reason (any), "auto chose cuda:1 (Fake GPU B");
  /* Named, it is an error all the same. */
  g_assert_null (kiln_backend_new ("cuda:0", &error));
  assert_contains (error->message, "cuda:0 could not create a context");
}

typedef struct {
  const char *mode;
  const char *reason;
} FallbackCase;

static const FallbackCase fallbacks[] = {
  { "no-driver", "no NVIDIA driver answers" },
  { "old-driver", "supports CUDA 11.4, this Kiln needs 13.0" },
  { "no-device", "reports no device" },
  { "broken", "could not create a context" },
};

/* Each cause gives its own reason; auto uses the CPU, "cuda" is an error. */
static void
test_fallback (gconstpointer data)
{
  const FallbackCase *c = data;
  g_autoptr(GError) error = NULL;
  use_fake (c->mode);

  g_autoptr(KilnBackend) any = kiln_backend_new ("auto", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (any), ==, "cpu");
  assert_contains (kiln_backend_get_choice_reason (any), "auto chose the CPU: ");
  assert_contains (kiln_backend_get_choice_reason (any), c->reason);
  g_assert_null (strchr (kiln_backend_get_choice_reason (any), '\n'));

  g_assert_null (kiln_backend_new ("cuda", &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_BACKEND);
  assert_contains (error->message, "cuda was asked for but cannot be used");
  assert_contains (error->message, c->reason);
  assert_contains (error->message, "use the cpu or auto device");
}

static void
test_env_default (void)
{
  g_autoptr(GError) error = NULL;
  use_fake ("answers");

  g_setenv ("KILN_DEVICE", "cpu", TRUE);
  g_autoptr(KilnBackend) backend = kiln_backend_new (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (backend), ==, "cpu");
  /* A name given outright wins over the environment. */
  g_autoptr(KilnBackend) named = kiln_backend_new ("cuda", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kiln_backend_get_name (named), ==, "cuda:0");

  g_setenv ("KILN_DEVICE", "gpu", TRUE);
  g_assert_null (kiln_backend_new (NULL, &error));
  assert_contains (error->message, "KILN_DEVICE: Unknown device “gpu”");
  g_unsetenv ("KILN_DEVICE");
}

static void
test_open_error_reasons (void)
{
  const char *path = "/usr/lib/kiln/libkiln-backend-cuda.so";
  g_autofree char *cudnn = kiln_backend_module_explain_open_error (
      path, "libcudnn.so.9: cannot open shared object file: No such file or directory");
  g_autofree char *cudart = kiln_backend_module_explain_open_error (
      path, "libcudart.so.13: cannot open shared object file: No such file or directory");
  g_autofree char *other = kiln_backend_module_explain_open_error (path, "undefined symbol: foo");

  assert_contains (cudnn, "cuDNN 9 is not installed");
  assert_contains (cudnn, "libcudnn.so.9 missing");
  assert_contains (cudart, "CUDA runtime is not installed");
  assert_contains (other, path);
  assert_contains (other, "undefined symbol: foo");
}

static void
test_cpu_memory (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) cpu = kiln_backend_new ("cpu", &error);
  guint64 total = 0, free_bytes = 0;

  g_assert_true (kiln_backend_get_memory (cpu, &total, &free_bytes));
  g_assert_cmpuint (total, >, 64 << 20);
  g_assert_cmpuint (free_bytes, >, 0);
  g_assert_cmpuint (free_bytes, <=, total);
}

/* The limit is read once per process: checked in a child. */
static void
test_memory_limit (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  g_setenv ("KILN_DEVICE_MEMORY_LIMIT", "1M", TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) cpu = kiln_backend_new ("cpu", &error);
  guint64 total = 0, free0 = 0, free1 = 0;

  g_assert_true (kiln_backend_get_memory (cpu, &total, &free0));
  g_assert_cmpuint (total, ==, 1 << 20);
  KilnShape half = { 1, 1, 256, 512 };   /* 512 KiB */
  KilnShape more = { 1, 1, 300, 512 };   /* 600 KiB */
  KilnTensor *a = kiln_tensor_new (cpu, &half, &error);
  g_assert_no_error (error);
  g_assert_true (kiln_backend_get_memory (cpu, NULL, &free1));
  g_assert_cmpuint (free0 - free1, ==, 512 << 10);
  g_assert_null (kiln_tensor_new (cpu, &more, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY);
  assert_contains (error->message, "KILN_DEVICE_MEMORY_LIMIT");
  g_clear_error (&error);
  kiln_tensor_free (a);
  g_assert_true (kiln_backend_get_memory (cpu, NULL, &free1));
  g_assert_cmpuint (free1, ==, free0);
  KilnTensor *b = kiln_tensor_new (cpu, &more, &error);
  g_assert_no_error (error);
  kiln_tensor_free (b);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("KILN_DEVICE");
  g_test_add_func ("/engine/device/parse", test_parse);
  g_test_add_func ("/engine/device/auto-here", test_auto_here);
  g_test_add_func ("/engine/device/open-error-reasons", test_open_error_reasons);
  g_test_add_func ("/engine/device/cpu-memory", test_cpu_memory);
  g_test_add_func ("/engine/device/memory-limit", test_memory_limit);
  g_test_add_func ("/engine/device/auto-picks-answering-cuda", test_auto_picks_answering_cuda);
  for (guint i = 0; i < G_N_ELEMENTS (fallbacks); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/device/fallback/%s", fallbacks[i].mode);
      g_test_add_data_func (path, &fallbacks[i], test_fallback);
    }
  g_test_add_func ("/engine/device/auto-skips-failing-device", test_auto_skips_failing_device);
  g_test_add_func ("/engine/device/unknown-memory-is-said", test_unknown_memory_is_said);
  g_test_add_func ("/engine/device/env-default", test_env_default);
  return g_test_run ();
}
