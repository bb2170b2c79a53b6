/* BatchNorm layer: scale and shift (learnable), running mean and variance
 * (updated by the forward pass in training). Starts as the identity on
 * unit-variance data: scale 1, shift 0, mean 0, variance 1. */
#include "config.h"

#include "kiln-layer.h"

static void
batch_norm_init_params (KilnLayer *self, GRand *rand, float *const *host)
{
  int c = self->param_shapes[0].c;
  for (int i = 0; i < c; i++)
    {
      host[0][i] = 1.f;
      host[1][i] = 0.f;
      host[2][i] = 0.f;
      host[3][i] = 1.f;
    }
}

const KilnLayerClass kiln_layer_batch_norm_class = {
  .init_params = batch_norm_init_params,
};
