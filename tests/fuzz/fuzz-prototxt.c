/* libFuzzer target for prototxt text (Caffe's NetParameter in protobuf
 * text format, as in deploy.prototxt) through kiln_caffe_import_from_data
 * with an empty model: the text alone must give a spec or a GError, never
 * a spec without an error's absence or a crash (the sanitizers watch). */
#include <stdint.h>

#include "kiln-caffe.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(KilnNetSpec) spec = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GError) error = NULL;

  if (kiln_caffe_import_from_data ((const guint8 *) "", 0, "fuzz.caffemodel", (const char *) data, size,
                                   "fuzz.prototxt", &spec, &weights, &error))
    g_assert (spec != NULL && weights != NULL && error == NULL);
  else
    g_assert (spec == NULL && error != NULL);
  return 0;
}
