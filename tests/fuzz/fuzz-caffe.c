/* libFuzzer target for the Caffe readers: the bytes as a .caffemodel, as a
 * deploy.prototxt (over an empty model) and as a mean .binaryproto. Whatever
 * the bytes, the result is a spec or a GError; sanitizers catch the rest.
 *
 * Built only with clang (tests/fuzz/meson.build): CC=clang-14 meson setup
 * _build-fuzz; then mkdir corpus && _build-fuzz/tests/fuzz/fuzz-caffe
 * -max_total_time=60 corpus tests/fixtures/caffe */
#include <stdint.h>

#include "kiln-caffe.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
import (const guint8 *model, gsize model_length, const char *text, gsize text_length)
{
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;

  if (!kiln_caffe_import_from_data (model, model_length, "fuzz.caffemodel", text, text_length,
                                    "fuzz.prototxt", &spec, &weights, &error))
    g_assert (error != NULL && spec == NULL);
  else
    g_assert (spec != NULL && weights != NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  int c, h, w;

  import (data, size, NULL, 0);
  import ((const guint8 *) "", 0, (const char *) data, size);
  g_free (kiln_caffe_load_mean_from_data (data, size, "fuzz.binaryproto", &c, &h, &w, &error));
  return 0;
}
