/* Convolution and InnerProduct layers: a weight and an optional bias.
 * Weights start He-normal (std √(2 / fan-in), for ReLU nets), biases at 0. */
#include "config.h"

#include <math.h>

#include "kiln-layer.h"

static void
conv_init_params (KilnLayer *self, GRand *rand, float *const *host)
{
  const KilnShape *w = &self->param_shapes[0];
  gint64 fan_in = (gint64) w->c * w->h * w->w;
  gint64 n = kiln_shape_n_elements (w);
  double std = sqrt (2.0 / (double) MAX (fan_in, 1));

  for (gint64 i = 0; i < n; i++)
    host[0][i] = (float) kiln_layer_gaussian (rand, std);
  /* host[1], the bias, stays 0. */
}

const KilnLayerClass kiln_layer_conv_class = {
  .init_params = conv_init_params,
};
