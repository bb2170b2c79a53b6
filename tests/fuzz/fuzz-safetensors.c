/* libFuzzer target for the safetensors reader: any bytes must give either a
 * KilnSafetensors whose every tensor lies inside the input, or a GError.
 *
 * Built only with clang (tests/fuzz/meson.build). Run:
 *   mkdir -p corpus && ./fuzz-safetensors corpus ../tests/fixtures */
#include <stddef.h>
#include <stdint.h>

#include "kiln-error.h"
#include "kiln-safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnSafetensors) st = kiln_safetensors_new_from_bytes (bytes, &error);

  if (st == NULL)
    {
      /* Every failure is reported, never silent. */
      if (error == NULL || error->domain != KILN_ERROR)
        __builtin_trap ();
      return 0;
    }

  for (guint i = 0; i < kiln_safetensors_get_n_tensors (st); i++)
    {
      const KilnSafetensorsTensor *t = kiln_safetensors_get_tensor_at (st, i);
      const guint8 *p = t->data;
      guint8 sum = 0;

      if (p < data || t->n_bytes > size || p + t->n_bytes > data + size)
        __builtin_trap ();
      /* Touch every byte so ASan sees any read outside the input. */
      for (gsize b = 0; b < t->n_bytes; b++)
        sum ^= p[b];
      (void) sum;
      if (kiln_safetensors_get_tensor (st, t->name) != t)
        __builtin_trap ();
    }
  g_free (kiln_safetensors_get_metadata_keys (st));
  return 0;
}
