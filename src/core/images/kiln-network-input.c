/* kiln-network-input.c: see kiln-network-input.h. */
#include "config.h"

#include "kiln-batch-loader.h"
#include "kiln-network-input.h"

float *
kiln_network_input_load (const char          *path,
                         const KilnImageSpec *spec,
                         const float         *mean,
                         float                scale,
                         GError             **error)
{
  gsize size;
  g_autofree guint8 *pixels = NULL;
  float *tensor;

  g_return_val_if_fail (path != NULL && spec != NULL, NULL);

  size = kiln_image_spec_size (spec);
  pixels = g_malloc (size);
  if (!kiln_image_load_u8 (path, spec, pixels, NULL, error))
    return NULL;
  tensor = g_new (float, size);
  /* The batch loader's own conversion, so the preview cannot drift from
   * what training feeds. */
  kiln_batch_loader_convert_sample (pixels, spec->channels, spec->height, spec->width,
                                    spec->height, spec->width, 0, 0, FALSE, mean,
                                    scale != 0 ? scale : KILN_NETWORK_INPUT_DEFAULT_SCALE, tensor);
  return tensor;
}

GdkPixbuf *
kiln_network_input_render (const float         *tensor,
                           const KilnImageSpec *spec,
                           const float         *mean,
                           float                scale,
                           gboolean             centered)
{
  g_autofree float *mid = NULL;

  g_return_val_if_fail (tensor != NULL && spec != NULL, NULL);

  if (scale == 0)
    scale = KILN_NETWORK_INPUT_DEFAULT_SCALE;
  if (centered)
    {
      gsize n = kiln_image_spec_size (spec);

      mid = g_new (float, n);
      for (gsize i = 0; i < n; i++)
        mid[i] = 128.0f;
      mean = mid;
    }
  return kiln_image_from_f32 (tensor, spec->channels, spec->height, spec->width, mean, scale);
}
